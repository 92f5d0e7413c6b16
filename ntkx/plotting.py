"""Plots for the extrapolation experiments (matplotlib, Agg; files, never windows).

Each function draws one figure, writes it to ``path`` (PNG) and returns the path:

* :func:`plot_ray` — predictions along one ray against the target, with the
  training support's exit marked;
* :func:`plot_extrapolation_curve` — error against distance from the training
  support, NTK predictor and finite networks on one plot;
* :func:`plot_r2_histogram` — the distribution of :math:`1 - R^2` over rays (log
  scale: values cluster at 1, so :math:`R^2` itself is unreadable);
* :func:`plot_width_sweep` — finite-to-NTK prediction gap against width;
* :func:`plot_fit_1d` — a one-dimensional fit against its target (``ntkx demo``);
* :func:`plot_error_vs_size` — graph test error against test graph size, one line per
  architecture (``ntkx graph``);
* :func:`plot_series_grid` — curves grouped into panels by title (``proofs_check --plot``,
  ``ntkx reproduce``);
* :func:`plot_per_family` — graph test error per test family, one marker per
  architecture (``ntkx graph``);
* :func:`plot_trajectories`, :func:`plot_nbody_error_vs_mass`,
  :func:`plot_nbody_error_vs_distance` — n-body paths and rollouts, and next-velocity error
  against mass and distance (``ntkx nbody``).

Every figure has a title wrapped to fit (:func:`set_wrapped_title`), axis labels with units
and its legend below the axes, never over the data (:func:`legend_below`); :func:`save_figure`
writes it. The figures are built with :class:`matplotlib.figure.Figure` directly, so the
global pyplot backend is never touched.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "legend_below",
    "plot_error_vs_size",
    "plot_extrapolation_curve",
    "plot_fit_1d",
    "plot_nbody_error_vs_distance",
    "plot_nbody_error_vs_mass",
    "plot_per_family",
    "plot_r2_histogram",
    "plot_ray",
    "plot_series_grid",
    "plot_trajectories",
    "plot_width_sweep",
    "save_figure",
    "set_wrapped_title",
]

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]


def _field(obj: Any, name: str) -> Any:
    """``obj[name]`` for a mapping (e.g. a curve read back from JSON), else ``obj.name``."""
    return obj[name] if isinstance(obj, Mapping) else getattr(obj, name)


def set_wrapped_title(ax: Any, title: str, width: int = 60) -> None:
    """A title wrapped to fit the axes (long configuration strings included)."""
    ax.set_title(textwrap.fill(title, width), fontsize=10)


def legend_below(ax: Any) -> None:
    """The legend outside the axes, below them, so it never covers data."""
    handles, _ = ax.get_legend_handles_labels()
    ncol = 1 if len(handles) <= 2 else 2
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, frameon=False)


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> str:
    """Write ``fig`` as a PNG (120 dpi, cropped to its content, legends below included)."""
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=120, bbox_inches="tight")  # keeps the legends placed below the axes
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
    """Target and predictions against the position ``t`` along one ray, in two panels.

    Left: everything, on the target's scale (how far the predictions are from a non-linear
    target). Right: the predictions only, on their own scale (a quadratic target would
    otherwise flatten them into one line and hide the NTK predictor under the networks):
    straight lines there are the paper's linear extrapolation. The first prediction
    (the NTK predictor) is drawn solid and on top.
    """
    fig = Figure(figsize=(11.0, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    target = np.asarray(target, float)
    for k, ax in enumerate(axes):
        if k == 0 and np.isfinite(target).any():
            ax.plot(t, target, color="black", lw=2.5, label="target", zorder=1)
        for i, (label, values) in enumerate(predictions.items()):
            ax.plot(
                t,
                values,
                color=_COLORS[i % len(_COLORS)],
                lw=2.4 if i == 0 else 1.4,
                ls="-" if i == 0 else "--",
                label=label,
                zorder=3 if i == 0 else 2,
            )
        if exit_distance is not None:
            ax.axvline(exit_distance, color="gray", ls=":", lw=1.2, label="leaves training support")
        ax.set_xlabel("distance t along the ray (input units; x = base + t v)")
        ax.set_ylabel("output (target units)")
        ax.grid(alpha=0.3)
    axes[0].set_title("target and predictions", fontsize=9)
    axes[1].set_title("predictions only (own scale): linear outside the support", fontsize=9)
    legend_below(axes[0])
    fig.suptitle(textwrap.fill(title, 100), fontsize=11)
    return save_figure(fig, path)


def plot_extrapolation_curve(
    curves: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    metric: str = "mape_median",
    title: str = "Error against distance from the training support",
) -> str:
    """One line per predictor: ``metric`` of each curve against distance.

    A curve is a :class:`ntkx.metrics.Curve` or its ``describe()`` dict (as in ``result.json``).
    """
    labels = {
        "mape_median": "median absolute percentage error (%)",
        "mape_mean": "mean absolute percentage error (%)",
        "mse": "mean squared error",
    }
    if metric not in labels:
        raise ValueError(f"metric={metric!r} is not allowed; expected one of {sorted(labels)}.")
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for i, (label, curve) in enumerate(curves.items()):
        ax.plot(
            _field(curve, "centers"),
            _field(curve, metric),
            marker="o",
            ms=4,
            color=_COLORS[i % len(_COLORS)],
            label=label,
        )
    ax.set_yscale("log")
    ax.set_xlabel("distance from the training support (input units)")
    ax.set_ylabel(labels[metric])
    set_wrapped_title(ax, title)
    ax.grid(alpha=0.3, which="both")
    legend_below(ax)
    return save_figure(fig, path)


def plot_r2_histogram(
    r2: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    threshold: float = 0.99,
    title: str = "Directional linearity outside the support",
) -> str:
    """Histogram of ``log10(1 - R^2)`` per predictor (values below 1e-16 are put at 1e-16).

    Outlined (step) histograms of the fraction of rays per bin, so that every predictor stays
    visible where they overlap and entries with different numbers of rays compare; the
    legend, with each predictor's median :math:`R^2` and number of rays, sits below the
    axes. Pool several seeds into one entry by concatenating their values.
    """
    fig = Figure(figsize=(7.0, 4.6), layout="constrained")
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
            weights=np.full(len(vals), 1.0 / len(vals)),  # fractions: pooled seeds compare
            histtype="step",
            lw=1.8,
            color=_COLORS[i % len(_COLORS)],
            label=f"{label}: median R² = {med:.6f} ({len(vals)} rays)",
        )
    ax.axvline(np.log10(1 - threshold), color="black", ls="--", lw=1.2, label=f"R² = {threshold}")
    ax.set_xlabel("log10(1 − R²) per ray (dimensionless; left = more linear)")
    ax.set_ylabel("fraction of rays")
    set_wrapped_title(ax, title)
    legend_below(ax)
    return save_figure(fig, path)


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
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
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
    ax.set_xlabel("hidden width (units per layer)")
    ax.set_ylabel("relative RMS gap to the NTK predictor (dimensionless)")
    set_wrapped_title(ax, title)
    ax.grid(alpha=0.3, which="both")
    legend_below(ax)
    return save_figure(fig, path)


def plot_fit_1d(
    x: Sequence[float],
    target: Sequence[float],
    prediction: Sequence[float],
    path: str | os.PathLike[str],
    *,
    support: tuple[float, float] | None = None,
    target_label: str = "target",
    prediction_label: str = "prediction",
    title: str = "Fit and extrapolation",
) -> str:
    """A one-dimensional prediction against its target, with the training support shaded."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    if support is not None:
        ax.axvspan(*support, color="0.9", label="training support")
    ax.plot(x, target, "k--", lw=1.2, label=target_label)
    ax.plot(x, prediction, color=_COLORS[0], lw=2, label=prediction_label)
    ax.set_xlabel("x (input units)")
    ax.set_ylabel("f(x) (target units)")
    set_wrapped_title(ax, title)
    legend_below(ax)
    return save_figure(fig, path)


def _positive(values: Sequence[float], floor: float) -> np.ndarray:
    """Values for a log axis: ``floor`` in place of anything at or below it."""
    return np.maximum(np.asarray(values, float), floor)


def plot_error_vs_size(
    size_bins: Sequence[Sequence[int]],
    errors: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    train_sizes: Sequence[int] | None = None,
    ylabel: str = "test MAPE (%)",
    title: str = "Error against test graph size",
    floor: float = 1e-12,
) -> str:
    """Error against the test graph size (bin centre), one line per architecture, log scale.

    ``size_bins`` are ``(min, max)`` node counts; ``errors[name][i]`` is the error on bin
    ``i``. Values below ``floor`` (e.g. an exact fit) are drawn at ``floor``. The training
    sizes, if given, are shaded.
    """
    centers = [0.5 * (lo + hi) for lo, hi in size_bins]
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    if train_sizes is not None:
        lo, hi = train_sizes
        ax.axvspan(lo, hi, color="0.9", label="training sizes")
    for i, (name, vals) in enumerate(errors.items()):
        ax.plot(
            centers,
            _positive(vals, floor),
            marker="o",
            color=_COLORS[i % len(_COLORS)],
            label=name,
        )
    ax.set_yscale("log")
    ax.set_xlabel("test graph size (nodes, bin centre)")
    ax.set_ylabel(ylabel)
    set_wrapped_title(ax, title)
    ax.grid(alpha=0.3, which="both")
    legend_below(ax)
    return save_figure(fig, path)


def plot_per_family(
    families: Sequence[str],
    errors: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    xlabel: str = "test graph family",
    ylabel: str = "test MAPE (%)",
    title: str = "Error per test graph family",
    floor: float = 1e-12,
) -> str:
    """Error per test family, one marker per architecture (side by side), log scale.

    Markers, not bars: a bar on a log axis has no meaningful base, so its length says
    nothing. ``errors[name][i]`` is the error on ``families[i]``; values below ``floor``
    are drawn at ``floor``. Long titles are wrapped so that they fit the figure.
    """
    names = list(errors)
    fig = Figure(figsize=(max(6.4, 1.0 + 1.1 * len(families)), 4.2), layout="constrained")
    ax = fig.add_subplot()
    pos = np.arange(len(families), dtype=float)
    step = 0.6 / max(len(names), 1)
    for i, name in enumerate(names):
        offset = (i - (len(names) - 1) / 2) * step
        ax.plot(
            pos + offset,
            _positive(errors[name], floor),
            ls="none",
            marker="o",
            ms=7,
            color=_COLORS[i % len(_COLORS)],
            label=name,
        )
    ax.set_xticks(pos, list(families))
    ax.set_xlim(-0.5, len(families) - 0.5)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    set_wrapped_title(ax, title)
    ax.grid(alpha=0.3, which="both", axis="y")
    legend_below(ax)
    return save_figure(fig, path)


# ---------------------------------------------------------------------- n-body (ntkx nbody)


def plot_trajectories(
    true: np.ndarray,
    predicted: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
    *,
    scene_titles: Sequence[str] | None = None,
    dt: float | None = None,
    title: str = "n-body trajectories: simulation and model rollouts",
) -> str:
    """Bodies' paths ``(S, T, B, 2)`` in the plane, one panel per scene: the simulation
    (solid) and each model's rollout from the same start (dashed/dotted); a circle marks the
    start, colours are bodies, line styles the source."""
    true = np.asarray(true, float)
    n_scenes, steps, n_bodies = true.shape[:3]
    fig = Figure(figsize=(5.2 * n_scenes, 5.6), layout="constrained")
    styles = ["--", ":", "-."]
    for k in range(n_scenes):
        ax = fig.add_subplot(1, n_scenes, k + 1)
        for b in range(n_bodies):
            color = _COLORS[b % len(_COLORS)]
            ax.plot(*true[k, :, b].T, "-", color=color, lw=1.8)
            ax.plot(*true[k, 0, b], "o", color=color, ms=5)
            for j, pos in enumerate(predicted.values()):
                ax.plot(*np.asarray(pos, float)[k, :, b].T, styles[j % 3], color=color, lw=1.2)
        # legend entries in black: line style = source (colours are bodies)
        ax.plot([], [], "-", color="k", lw=1.8, label="simulation")
        for j, name in enumerate(predicted):
            ax.plot([], [], styles[j % 3], color="k", lw=1.2, label=f"rollout, {name}")
        sub = scene_titles[k] if scene_titles is not None else f"scene {k}"
        span = f", {steps - 1} steps" + (f" of dt = {dt:g}" if dt is not None else "")
        set_wrapped_title(ax, sub + span, 45)
        ax.set_xlabel("x (simulation length units)")
        ax.set_ylabel("y (simulation length units)")
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(alpha=0.3)
        legend_below(ax)
    fig.suptitle(textwrap.fill(title + " (colours: bodies; body 0 the heavy centre)", 90))
    return save_figure(fig, path)


def plot_nbody_error_vs_mass(
    mass_factors: Sequence[float],
    errors: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    title: str = "n-body: next-velocity error against the mass scale",
    floor: float = 1e-6,
) -> str:
    """Test MAPE against the factor multiplying every mass (training: 1, marked), log y."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.axvline(1.0, color="0.6", ls=":", label="training masses (factor 1)")
    for i, (name, vals) in enumerate(errors.items()):
        color = _COLORS[i % len(_COLORS)]
        ax.plot(mass_factors, _positive(vals, floor), marker="o", color=color, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("mass factor (every mass x factor; dimensionless)")
    ax.set_ylabel("test MAPE of the next velocity (%)")
    set_wrapped_title(ax, title)
    ax.grid(alpha=0.3, which="both")
    legend_below(ax)
    return save_figure(fig, path)


def plot_nbody_error_vs_distance(
    bin_edges: Sequence[float],
    errors: Mapping[str, Sequence[float | None]],
    path: str | os.PathLike[str],
    *,
    train_min: float | None = None,
    title: str = "n-body: next-velocity error against the closest pair's distance",
    floor: float = 1e-6,
) -> str:
    """Test MAPE per bin of the frame's minimum pairwise distance (geometric bin centres, log
    axes); empty bins (None) are skipped; the training range (distance > ``train_min``) shaded."""
    edges = np.asarray(bin_edges, float)
    centers = np.sqrt(edges[:-1] * edges[1:])
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    if train_min is not None:
        ax.axvspan(train_min, edges[-1], color="0.9", label="training distances")
    for i, (name, vals) in enumerate(errors.items()):
        v = np.array([np.nan if e is None else e for e in vals], float)
        ok = np.isfinite(v)
        color = _COLORS[i % len(_COLORS)]
        ax.plot(centers[ok], _positive(v[ok], floor), marker="o", color=color, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("minimum pairwise distance in the frame (simulation length units, bin centre)")
    ax.set_ylabel("test MAPE of the next velocity (%)")
    set_wrapped_title(ax, title)
    ax.grid(alpha=0.3, which="both")
    legend_below(ax)
    return save_figure(fig, path)


#: How :func:`plot_series_grid` draws a series by its ``style``.
_SERIES_STYLES = {
    "solid": {"fmt": "o-"},
    "failed": {"fmt": "x:"},
    "dashed": {"fmt": "--", "color": "0.4"},
}


def plot_series_grid(
    series: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    title: str,
    cols: int = 3,
) -> int:
    """Curves in a grid of panels, one panel per distinct ``series["title"]``; returns the
    number of panels (0: nothing to draw, no file written).

    A series is ``{"title", "x", "y"}`` plus optional ``label``, ``xlabel``, ``ylabel``,
    ``logx``, ``logy`` and ``style``: ``"solid"`` (default, a measured curve), ``"failed"``
    (a measured curve whose check failed, dotted) or ``"dashed"`` (a reference, grey). A
    series without axis labels (e.g. a reference) keeps the labels of its panel's others.
    """
    panels: dict[str, list[Mapping[str, Any]]] = {}
    for s in series:
        panels.setdefault(s["title"], []).append(s)
    if not panels:
        return 0
    n = len(panels)
    cols = min(cols, n)
    rows = -(-n // cols)
    fig = Figure(figsize=(5.6 * cols, 5.0 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (panel, curves) in zip(axes.flat, panels.items(), strict=False):
        for s in curves:
            style = dict(_SERIES_STYLES[s.get("style", "solid")])
            fmt = style.pop("fmt")
            ax.plot(s["x"], s["y"], fmt, markersize=3, alpha=0.85, label=s.get("label"), **style)
            if s.get("xlabel"):
                ax.set_xlabel(s["xlabel"])
            if s.get("ylabel"):
                ax.set_ylabel(s["ylabel"])
            if s.get("logx"):
                ax.set_xscale("log")
            if s.get("logy"):
                ax.set_yscale("log")
        set_wrapped_title(ax, panel, width=50)
        if any(s.get("label") for s in curves):
            legend_below(ax)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(textwrap.fill(title, 100), fontsize=11)
    save_figure(fig, path)
    return n
