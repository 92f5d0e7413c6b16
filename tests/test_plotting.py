"""Every figure ntkx writes: non-empty, titled (and the title fits), labelled axes, and a legend
that does not cover the data. Rendered on small data; the Figure is captured at save time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

import ntkx.plotting as plotting
from proofs_check import make_result
from proofs_check._framework import write_plots

RNG = np.random.default_rng(0)
T = np.linspace(0.0, 50.0, 40)
CURVE = {"centers": [1.0, 2.0, 3.0], "mape_median": [1.0, 5.0, 20.0]}


def _calls(tmp: Path) -> dict[str, Any]:
    return {
        "ray": lambda: plotting.plot_ray(
            T, T**2, {"NTK predictor": 0.3 * T + 1, "width 64 seed 0": 0.5 * T}, tmp / "ray.png",
            exit_distance=1.0, title="Along one ray (quadratic target, sphere r=1.0, d=8) " * 3,
        ),
        "curve": lambda: plotting.plot_extrapolation_curve(
            {"NTK predictor": CURVE, "net": CURVE}, tmp / "curve.png"
        ),
        "r2": lambda: plotting.plot_r2_histogram(
            {f"width 64 seed {i}": 1 - 10 ** RNG.uniform(-6, -2, 50) for i in range(3)},
            tmp / "r2.png",
        ),
        "sweep": lambda: plotting.plot_width_sweep(
            [32, 64, 128], {"on support": RNG.uniform(0.1, 1, (2, 3))}, tmp / "sweep.png"
        ),
        "fit": lambda: plotting.plot_fit_1d(T, T**2, T, tmp / "fit.png", support=(0.0, 1.0)),
        "size": lambda: plotting.plot_error_vs_size(
            [(20, 30), (30, 50)], {"max": [1.0, 2.0], "sum": [10.0, 80.0]}, tmp / "size.png",
            train_sizes=(20, 30), title="max_degree, per-edge GNN (kernel): " * 4,
        ),
        "family": lambda: plotting.plot_per_family(
            ["general", "ladder", "tree", "4regular"], {"max": [1, 2, 3, 4], "sum": [9, 8, 7, 6]},
            tmp / "family.png",
        ),
        "trajectories": lambda: plotting.plot_trajectories(
            RNG.normal(size=(2, 20, 3, 2)).cumsum(axis=1),
            {"physics": RNG.normal(size=(2, 20, 3, 2)).cumsum(axis=1)}, tmp / "traj.png", dt=0.001,
        ),
        "nbody_mass": lambda: plotting.plot_nbody_error_vs_mass(
            [1.0, 2.0, 4.0], {"raw": [5.0, 40.0, 90.0], "physics": [1.0, 1.2, 1.5]},
            tmp / "mass.png",
        ),
        "nbody_distance": lambda: plotting.plot_nbody_error_vs_distance(
            [1.0, 5.0, 20.0, 100.0], {"raw": [80.0, None, 5.0], "physics": [2.0, 1.0, 1.0]},
            tmp / "dist.png", train_min=30.0,
        ),
    }  # fmt: skip


def _boxes_overlap(a: Any, b: Any) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _check_figure(fig: Figure, path: Path) -> None:
    image = imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0.05  # not a blank canvas
    renderer = fig.canvas.get_renderer()
    fig_box = fig.bbox  # pixels
    used = [ax for ax in fig.axes if ax.axison]
    assert used
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    sup_box = fig._suptitle.get_window_extent(renderer) if suptitle else None
    for ax in used:
        assert ax.get_title() or suptitle, "every panel has a title"
        if sup_box is not None and ax.get_title():
            assert not _boxes_overlap(sup_box, ax.title.get_window_extent(renderer))
        assert ax.get_xlabel() and ax.get_ylabel(), "both axes are labelled"
        title_box = ax.title.get_window_extent(renderer)
        assert title_box.x0 >= fig_box.x0 - 1 and title_box.x1 <= fig_box.x1 + 1  # it fits
        assert title_box.width <= 1.05 * max(ax.get_window_extent(renderer).width, 1) or (
            not ax.get_title()
        ), "the title is not wider than its panel"
        legend = ax.get_legend()
        if legend is not None:
            assert not _boxes_overlap(
                legend.get_window_extent(renderer), ax.get_window_extent(renderer)
            ), "the legend does not cover the data"


@pytest.mark.parametrize("name", list(_calls(Path("."))))
def test_every_figure_is_titled_labelled_and_readable(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    figures: list[Figure] = []
    real = plotting.save_figure

    def capture(fig: Figure, path: Any) -> str:
        figures.append(fig)
        return real(fig, path)

    monkeypatch.setattr(plotting, "save_figure", capture)
    path = Path(_calls(tmp_path)[name]())
    assert path.is_file() and len(figures) == 1
    _check_figure(figures[0], path)


def test_ray_plot_shows_the_predictions_on_their_own_scale(tmp_path: Path, monkeypatch: Any):
    """The quadratic target (up to 2500) must not flatten the predictions (up to 16): the
    second panel's y-range is the predictions', so the NTK line spans most of its height."""
    figures: list[Figure] = []
    real = plotting.save_figure
    monkeypatch.setattr(plotting, "save_figure", lambda f, p: figures.append(f) or real(f, p))
    ntk = 0.3 * T + 1
    plotting.plot_ray(T, T**2, {"NTK predictor": ntk, "net": 0.25 * T}, tmp_path / "r.png")
    left, right = figures[0].axes[:2]
    lo, hi = right.get_ylim()
    assert (ntk.max() - ntk.min()) / (hi - lo) > 0.6
    lo, hi = left.get_ylim()
    assert hi >= (T**2).max()  # the left panel still shows the whole target


def test_r2_histogram_counts_every_seed(tmp_path: Path, monkeypatch: Any) -> None:
    figures: list[Figure] = []
    real = plotting.save_figure
    monkeypatch.setattr(plotting, "save_figure", lambda f, p: figures.append(f) or real(f, p))
    r2 = {f"seed {i}": 1 - 10 ** RNG.uniform(-6, -2, 20 + i) for i in range(3)}
    plotting.plot_r2_histogram(r2, tmp_path / "h.png")
    labels = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    assert [lab.split(":")[0] for lab in labels[:3]] == ["seed 0", "seed 1", "seed 2"]
    assert all(f"({20 + i} rays)" in labels[i] for i in range(3))


def test_proofs_check_figure(tmp_path: Path, monkeypatch: Any) -> None:
    figures: list[Figure] = []
    real = plotting.save_figure
    monkeypatch.setattr(plotting, "save_figure", lambda f, p: figures.append(f) or real(f, p))
    series = {"title": "rate of " * 12, "x": [1, 2, 4], "y": [1.0, 0.5, 0.25], "logx": True,
              "xlabel": "t", "ylabel": "|slope - beta|", "label": "measured"}  # fmt: skip
    ref = dict(series, y=[1.0, 0.5, 0.25], label="t^-1", xlabel="", ylabel="")
    r = make_result("C", "c.one", "d", 0.1, 1.0, "<", seed=0, reason="r",
                    details={"series": [series], "reference": [ref]})  # fmt: skip
    path = tmp_path / "checks.png"
    assert write_plots([r], str(path)) == 1
    _check_figure(figures[0], path)
