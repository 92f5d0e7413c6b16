"""Exact linear extrapolation from an orthogonal basis and its negatives (Lemma 1).

Xu et al., ICLR 2021 (arXiv 2009.11848), Lemma 1: if the target is
g(x) = beta^T x and the training inputs are an orthogonal basis {x_i} and their
negatives {-x_i}, the two-layer bias-free ReLU NTK predictor equals beta^T x on
all of R^d, however far from the 2d training points.

Setup (the paper's): d = 32, basis radius 5 (a Haar-random rotation), test ball
of radius 20, beta ~ U[-20, 20]^d. Verdicts (from ``proofs_check.lemma1_exact_linear``,
whose criteria hold the thresholds; one line each, exit status 1 and a message on
stderr if one fails):

* ``lemma1.exact``: bias-free NTK, all layers trained and first layer only (the
  official code's kernel): the worse max relative error over the test ball;
* ``lemma1.bias_breaks_exactness``: with bias (b_std = 1) it is *not* exact.

Run:  python examples/feedforward_orthogonal_basis.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import ntkx
from ntkx.runner import save_json
from proofs_check import report_verdicts
from proofs_check.lemma1_exact_linear import CRITERIA

#: The seed of the verdicts: rotation and target from seed 0, test points from seed 1.
SEED = 0


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--out", default=None, help="directory for orthogonal_basis.json")
    args = parser.parse_args(argv)
    d = 8 if args.quick else 32
    geom = ntkx.geometry("basis", d, 5.0, rotation_seed=SEED)
    target = ntkx.make_target("linear", d, seed=SEED, coef_range=20.0)
    x = geom.sample(None)
    tests = ntkx.test_set(geom, 256 if args.quick else 2048, 20.0, shape="ball", seed=SEED + 1)
    y_test = target(tests.x)
    results: dict = {"quick": args.quick, "dim": d, "test_set": tests.describe(), "kernels": {}}
    cases = {
        "no bias, all layers": ntkx.mlp(b_std=None, trainable="all"),
        "no bias, first layer": ntkx.mlp(b_std=None, trainable="first"),
        "bias 1.0, all layers": ntkx.mlp(b_std=1.0, trainable="all"),
    }
    for label, net in cases.items():
        model = ntkx.kernel_regression(net, x, target(x), dtype="float64")
        pred = model.predict(tests.x)
        rel = float(np.max(np.abs(pred - y_test)) / np.max(np.abs(y_test)))
        results["kernels"][label] = {"max_relative_error": rel, "solve": model.diagnostics.path}
        print(f"{label:22s}: max |f - beta^T x| / max |beta^T x| = {rel:.3g}")
    k = {label: v["max_relative_error"] for label, v in results["kernels"].items()}
    exact = {label: k[label] for label in ("no bias, all layers", "no bias, first layer")}
    setting = f"d={d}, basis radius 5, beta ~ U[-20, 20]^d, {len(y_test)} points in the ball r=20"
    verdicts = [
        CRITERIA["lemma1.exact"].judge(
            max(exact.values()),
            seed=SEED,
            description=f"bias-free NTK (all layers; first layer only): max relative error "
            f"|f - beta^T x| / max|beta^T x|, the worse of the two ({setting})",
            details={"relative_errors": exact},
        ),
        CRITERIA["lemma1.bias_breaks_exactness"].judge(
            k["bias 1.0, all layers"],
            seed=SEED,
            description=f"NTK with bias (b_std=1), all layers: max relative error ({setting})",
        ),
    ]
    results["verdicts"] = verdicts
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        save_json(os.path.join(args.out, "orthogonal_basis.json"), results)  # strict JSON
    report_verdicts(verdicts)
    return results


if __name__ == "__main__":
    main()
