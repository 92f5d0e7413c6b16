"""Plots for the extrapolation experiments (matplotlib, Agg; files, never windows).

Each function draws one figure, writes it to ``path`` (PNG) and returns the path:

* :func:`plot_ray` — predictions along one ray against the target, with the
  training support's exit marked;
* :func:`plot_extrapolation_curve` — error against distance from the training
  support, NTK predictor and finite networks on one plot;
* :func:`plot_r2_histogram` — the distribution of :math:`1 - R^2` over rays (log
  scale: values cluster at 1, so :math:`R^2` itself is unreadable);
* :func:`plot_width_sweep` — finite-to-NTK prediction gap against width.

The figures are built with :class:`matplotlib.figure.Figure` directly, so the
global pyplot backend is never touched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "plot_extrapolation_curve",
    "plot_r2_histogram",
    "plot_ray",
    "plot_width_sweep",
]

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]


def _save(fig: Figure, path: str | os.PathLike[str]) -> str:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return str(path)


def plot_ray(
    t: Sequence[float],
    target: Sequence[float],
    predictions: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    exit_distance: float | None = None,
    title: str = "Prediction along a ray",
) -> str:
    """Target and predictions against the position ``t`` along one ray."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    ax.plot(t, target, color="black", lw=2.5, label="target", zorder=1)
    for i, (label, values) in enumerate(predictions.items()):
        ax.plot(t, values, color=_COLORS[i % len(_COLORS)], lw=1.6, ls="--", label=label)
    if exit_distance is not None:
        ax.axvline(exit_distance, color="gray", ls=":", lw=1.2, label="leaves training support")
    ax.set_xlabel("distance t along the ray  (x = base + t v)")
    ax.set_ylabel("output")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_extrapolation_curve(
    curves: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    metric: str = "mape_median",
    title: str = "Error against distance from the training support",
) -> str:
    """One line per predictor: ``metric`` of each :class:`ntkx.metrics.Curve` against distance."""
    labels = {
        "mape_median": "median absolute percentage error (%)",
        "mape_mean": "mean absolute percentage error (%)",
        "mse": "mean squared error",
    }
    if metric not in labels:
        raise ValueError(f"metric={metric!r} is not allowed; expected one of {sorted(labels)}.")
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    for i, (label, curve) in enumerate(curves.items()):
        ax.plot(
            curve.centers,
            getattr(curve, metric),
            marker="o",
            ms=4,
            color=_COLORS[i % len(_COLORS)],
            label=label,
        )
    ax.set_yscale("log")
    ax.set_xlabel("distance from the training support")
    ax.set_ylabel(labels[metric])
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_r2_histogram(
    r2: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    threshold: float = 0.99,
    title: str = "Directional linearity outside the support",
) -> str:
    """Histogram of ``log10(1 - R^2)`` per predictor (values below 1e-16 are put at 1e-16)."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    all_vals = [np.log10(np.clip(1.0 - np.asarray(v, float), 1e-16, None)) for v in r2.values()]
    lo = min(float(v.min()) for v in all_vals)
    hi = max(float(v.max()) for v in all_vals)
    edges = np.linspace(min(lo, np.log10(1 - threshold)) - 0.5, max(hi, 0.0) + 0.5, 40)
    for i, (label, vals) in enumerate(zip(r2, all_vals, strict=True)):
        med = float(np.median(np.asarray(r2[label], float)))
        ax.hist(
            vals,
            bins=edges,
            alpha=0.55,
            color=_COLORS[i % len(_COLORS)],
            label=f"{label} (median R² = {med:.6f})",
        )
    ax.axvline(np.log10(1 - threshold), color="black", ls="--", lw=1.2, label=f"R² = {threshold}")
    ax.set_xlabel("log10(1 − R²) per ray   (left = more linear)")
    ax.set_ylabel("number of rays")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_width_sweep(
    widths: Sequence[int],
    gaps: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
    *,
    title: str = "Finite network vs NTK predictor",
    reference_exponent: float | None = 0.5,
) -> str:
    """Relative prediction gap against width, one line per region (mean over seeds, with each
    seed as a dot); a dotted ``width^-reference_exponent`` guide line."""
    w = np.asarray(widths, float)
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    for i, (label, g) in enumerate(gaps.items()):
        arr = np.atleast_2d(np.asarray(g, float))  # (seeds, widths)
        color = _COLORS[i % len(_COLORS)]
        for row in arr:
            ax.scatter(w, row, color=color, s=10, alpha=0.4)
        ax.plot(w, arr.mean(axis=0), marker="o", color=color, label=label)
    if reference_exponent is not None:
        first = np.mean([np.atleast_2d(np.asarray(g, float))[:, 0].mean() for g in gaps.values()])
        ax.plot(
            w,
            first * (w / w[0]) ** (-reference_exponent),
            color="gray",
            ls=":",
            label=f"∝ width^-{reference_exponent:g}",
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("hidden width")
    ax.set_ylabel("relative RMS gap to the NTK predictor")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, path)
