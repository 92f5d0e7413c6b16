"""The built-in demo: an infinitely wide ReLU network extrapolates a quadratic linearly.

Trains the NTK predictor of a two-layer ReLU MLP (with bias) on ``y = x^2``
for ``x`` in ``[-1, 1]`` and evaluates it on ``[-5, 5]``. Inside the support it
fits the parabola; outside it the prediction becomes a straight line (Xu et al.,
arXiv 2009.11848, Theorem 1), so its error grows with the distance from the
support. Prints the numbers and writes ``demo.json`` and ``demo.png``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ntkx.core.solvers import kernel_regression
from ntkx.core.validation import check_out_dir
from ntkx.feedforward.mlp import mlp
from ntkx.plotting import plot_fit_1d
from ntkx.runner import save_json

__all__ = ["main", "run_demo"]


def _line_fit_r2(x: np.ndarray, y: np.ndarray) -> float:
    design = np.stack([x, np.ones_like(x)], axis=1)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    total = np.sum((y - y.mean()) ** 2)
    return float(1.0 - np.sum(resid**2) / total)


def run_demo(n_train: int = 64, seed: int = 0) -> dict:
    """Compute the demo's numbers (no files written)."""
    rng = np.random.default_rng(seed)
    x_train = np.sort(rng.uniform(-1.0, 1.0, size=n_train))[:, None]
    y_train = x_train[:, 0] ** 2
    net = mlp(depth=2, activation="relu", W_std=np.sqrt(2.0), b_std=1.0)
    model = kernel_regression(net, x_train, y_train, dtype="float64")
    x_test = np.linspace(-5.0, 5.0, 401)[:, None]
    pred = model.predict(x_test)
    target = x_test[:, 0] ** 2
    inside = np.abs(x_test[:, 0]) <= 1.0
    right = x_test[:, 0] >= 2.0
    left = x_test[:, 0] <= -2.0
    rel = np.abs(pred - target) / np.maximum(np.abs(target), 1e-12)
    return {
        "architecture": "mlp(depth=2, relu, W_std=sqrt(2), b_std=1.0), NTK, ridge 0",
        "target": "y = x^2",
        "train_support": [-1.0, 1.0],
        "n_train": n_train,
        "seed": seed,
        "solve_path": model.diagnostics.path,
        "condition_number": model.diagnostics.condition_number,
        "max_abs_error_inside_support": float(np.max(np.abs(pred - target)[inside])),
        "r2_of_line_fit_x_in_[2,5]": _line_fit_r2(x_test[right, 0], pred[right]),
        "r2_of_line_fit_x_in_[-5,-2]": _line_fit_r2(x_test[left, 0], pred[left]),
        "median_relative_error_outside_|x|>2": float(np.median(rel[right | left])),
        "x_test": x_test[:, 0].tolist(),
        "prediction": pred.tolist(),
    }


def _plot(result: dict, path: Path) -> str:
    x = np.asarray(result["x_test"])
    return plot_fit_1d(
        x,
        x**2,
        result["prediction"],
        path,
        support=(-1.0, 1.0),
        target_label="target $x^2$",
        prediction_label="NTK predictor (2-layer ReLU)",
        title="Infinitely wide ReLU net: linear outside the training support",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``ntkx demo``: print the demo's numbers, write JSON and a PNG.

    Returns the exit status: 0 on success, 2 on bad arguments (``--help``: 0).
    """
    parser = argparse.ArgumentParser(prog="ntkx demo", description=__doc__)
    parser.add_argument("--out", default="results/demo", help="output directory")
    parser.add_argument("--n-train", type=int, default=64, help="training points (>= 2)")
    parser.add_argument("--seed", type=int, default=0)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed help or the error
        return exc.code if isinstance(exc.code, int) else 2
    if args.n_train < 2:
        print(
            f"ntkx demo: error: --n-train={args.n_train} is not allowed; expected at least 2.",
            file=sys.stderr,
        )
        return 2
    try:
        out = check_out_dir("--out", args.out)  # before the work, not after it
    except ValueError as err:
        print(f"ntkx demo: error: {err}", file=sys.stderr)
        return 2
    result = run_demo(n_train=args.n_train, seed=args.seed)
    save_json(out / "demo.json", result)
    _plot(result, out / "demo.png")
    for key, value in result.items():
        if key not in ("x_test", "prediction"):
            print(f"{key:40s} {value}")
    print(f"wrote {out / 'demo.json'} and {out / 'demo.png'}", file=sys.stderr)
    return 0
