"""Exact linear extrapolation from an orthogonal basis and its negatives (Lemma 1).

Xu et al., ICLR 2021 (arXiv 2009.11848), Lemma 1: if the target is
g(x) = beta^T x and the training inputs are an orthogonal basis {x_i} and their
negatives {-x_i}, the two-layer bias-free ReLU NTK predictor equals beta^T x on
all of R^d, however far from the 2d training points.

Setup (the paper's): d = 32, basis radius 5 (a Haar-random rotation), test ball
of radius 20, beta ~ U[-20, 20]^d. Claims checked (exit status 1 and a message on
stderr if one fails):

* bias-free NTK, all layers trained and first layer only (the official code's
  kernel): max relative error over the test ball below 1e-9 (float64 rounding);
* with bias (b_std = 1) it is *not* exact: relative error above 1e-2.

Run:  python examples/feedforward_orthogonal_basis.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import ntkx
from ntkx.runner import save_json

#: Claimed bounds on the max relative error: exact (float64 rounding) without bias, not with.
EXACT_TOL = 1e-9
MIN_ERROR_WITH_BIAS = 1e-2


def claim(claims: list[dict], text: str, value: float, holds: bool) -> None:
    """Record one checked claim with its measured value."""
    claims.append({"claim": text, "value": float(value), "holds": bool(holds)})


def conclude(claims: list[dict]) -> None:
    """Exit with status 1 (messages on stderr) unless every claim holds."""
    failed = [c for c in claims if not c["holds"]]
    for c in failed:
        print(f"CLAIM FAILED: {c['claim']} (measured {c['value']:.4g})", file=sys.stderr)
    if failed or not claims:
        raise SystemExit(1)
    print(f"all {len(claims)} claims hold")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--out", default=None, help="directory for result.json")
    args = parser.parse_args(argv)
    d = 8 if args.quick else 32
    geom = ntkx.geometry("basis", d, 5.0, rotation_seed=0)
    target = ntkx.make_target("linear", d, seed=0, coef_range=20.0)
    x = geom.sample(None)
    tests = ntkx.test_set(geom, 256 if args.quick else 2048, 20.0, shape="ball", seed=1)
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
    claims: list[dict] = []
    for label in ("no bias, all layers", "no bias, first layer"):
        claim(claims, f"{label}: max relative error < {EXACT_TOL}", k[label], k[label] < EXACT_TOL)
    label = "bias 1.0, all layers"
    text = f"{label}: max relative error > {MIN_ERROR_WITH_BIAS} (not exact)"
    claim(claims, text, k[label], k[label] > MIN_ERROR_WITH_BIAS)
    results["claims"] = claims
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        save_json(os.path.join(args.out, "orthogonal_basis.json"), results)  # strict JSON
    conclude(claims)
    return results


if __name__ == "__main__":
    main()
