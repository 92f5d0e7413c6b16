"""Finite networks approach the NTK predictor as width grows (the regime of Theorem 1).

Networks of the same ``ntkx.mlp`` spec are trained by full-batch gradient
descent (NTK parameterization, half the stability limit) on a quadratic
target on the sphere (d = 8, r = 1) and compared with the infinite-width
prediction of the *same* run (``ntkx.core.training.linearized_gd_prediction``: the
limiting NTK, the same learning rate and steps, the network's own initial
outputs). The relative RMS gap is measured on fresh training-geometry points
("on support") and on a test ball of radius 5 outside the support.

Claims checked (exit status 1 and a message on stderr if one fails): the
mean gap off the support at the largest width is below half the gap at the
smallest, and the fitted power-law exponent (gap ~ width^-p) is positive on
and off the support. Theory (Lee et al. 2019, arXiv 1902.06720) suggests
p -> 1/2 asymptotically; the measured p is printed.

Run:  python examples/feedforward_width_sweep.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ntkx.feedforward.experiment import CurveConfig, width_sweep
from ntkx.plotting import plot_width_sweep
from ntkx.runner import save_json

#: Claimed: the off-support gap at the largest width is below this fraction of the smallest's.
MAX_GAP_RATIO = 0.5


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
    parser.add_argument("--out", default=None, help="directory for result.json and a PNG")
    args = parser.parse_args(argv)
    if args.quick:
        widths, seeds, n_train, steps = (64, 2048), (0, 1), 32, 100
    else:
        widths, seeds, n_train, steps = (64, 256, 1024, 4096, 8192), (0, 1, 2), 128, 500
    config = CurveConfig(
        target="quadratic",
        geometry="sphere",
        dim=8,
        train_radius=1.0,
        test_radius=5.0,
        b_std=1.0,
        sweep_widths=widths,
        sweep_seeds=seeds,
        sweep_n_train=n_train,
        sweep_steps=steps,
    )
    result = width_sweep(config, progress=True)
    mean = {k: np.asarray(v) for k, v in result["mean_relative_gap"].items()}
    for region in ("on_support", "off_support"):
        fit = result["fitted"][region]
        print(
            f"{region:11s}: relative gap {np.round(mean[region], 4).tolist()} for widths "
            f"{list(widths)}; fitted exponent {fit['exponent']:.2f}"
        )
    claims: list[dict] = []
    ratio = mean["off_support"][-1] / mean["off_support"][0]
    text = f"off-support gap at width {widths[-1]} / at width {widths[0]} < {MAX_GAP_RATIO}"
    claim(claims, text, ratio, ratio < MAX_GAP_RATIO)
    for region in ("on_support", "off_support"):
        exponent = result["fitted"][region]["exponent"]
        claim(claims, f"{region}: fitted exponent p of gap ~ width^-p > 0", exponent, exponent > 0)
    result["claims"] = claims
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        save_json(os.path.join(args.out, "width_sweep.json"), result)  # strict JSON
        gaps = {k.replace("_", " "): np.asarray(v) for k, v in result["relative_gap"].items()}
        plot_width_sweep(widths, gaps, os.path.join(args.out, "width_sweep.png"))
    conclude(claims)
    return result


if __name__ == "__main__":
    main()
