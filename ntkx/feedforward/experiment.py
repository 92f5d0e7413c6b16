r"""The ``curve`` experiment: one feedforward extrapolation configuration, every number.

:func:`run_curve` takes a :class:`CurveConfig` (target, training geometry,
dimension, radii, architecture, widths, seeds, trainer) and

1. draws the training set, an out-of-support test set (points inside the
   training support excluded by default) and rays outside the support;
2. fits the NTK predictor of the spec (:func:`ntkx.core.solvers.kernel_regression`)
   and, for each width and seed, trains the finite network *of the same spec*
   (:func:`ntkx.core.training.train_adam` or :func:`ntkx.core.training.train_gd`);
3. measures, for every predictor: directional linearity (R^2 along rays through
   the origin and from an off-origin base point), out-of-support MSE and the three
   MAPE variants, the binned extrapolation curve, and (for the NTK predictor) the
   convergence of the directional slope (Theorem 1 of arXiv 2009.11848);
4. optionally sweeps the width: finite networks trained by full-batch gradient
   descent against the NTK-regime prediction of the *same* run
   (:func:`ntkx.core.training.linearized_gd_prediction`, with the network's own
   initial outputs), on and off the training support;
5. writes ``result.json`` (every number, the config and the seeds) and PNG plots
   into ``out_dir``.

The command ``ntkx curve`` is :func:`curve_main`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import jax
import numpy as np

from ntkx.core.validation import check_choice, check_finite_number, check_positive_int
from ntkx.feedforward.mlp import ACTIVATIONS, MLP, mlp
from ntkx.feedforward.data import (
    GEOMETRY_KINDS,
    TARGETS,
    TRAINING_SETS,
    Geometry,
    Target,
    geometry,
    make_target,
    rays,
    test_set,
    training_set,
    unit_directions,
)
from ntkx.metrics import (
    directional_linearity,
    error_report,
    extrapolation_curve,
    is_positively_homogeneous,
    prediction_gap,
    slope_convergence,
)
from ntkx.plotting import (
    plot_extrapolation_curve,
    plot_r2_histogram,
    plot_ray,
    plot_width_sweep,
)
from ntkx.core.solvers import kernel_regression
from ntkx.core.training import linearized_gd_prediction, stable_learning_rate, train_adam, train_gd

__all__ = ["CurveConfig", "curve_main", "fit_power_law", "run_curve", "width_sweep"]

TRAINERS: Final = ("adam", "gd")
#: ``geometry`` accepts a geometry kind or one of the paper's named training sets.
GEOMETRY_CHOICES: Final = (*GEOMETRY_KINDS, *TRAINING_SETS)


def _log(enabled: bool, message: str, start: float) -> None:
    if enabled:
        print(
            f"[ntkx curve {time.perf_counter() - start:7.1f} s] {message}",
            file=sys.stderr,
            flush=True,
        )


def _ints(name: str, values: Sequence[int], *, allow_empty: bool = False) -> tuple[int, ...]:
    out = tuple(values)
    if not out and not allow_empty:
        raise ValueError(f"{name}=() is not allowed; expected at least one value.")
    for v in out:
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise ValueError(f"{name} contains {v!r}; expected integers.")
    return tuple(int(v) for v in out)


@dataclasses.dataclass(frozen=True)
class CurveConfig:
    """One configuration of the ``curve`` experiment (validated at construction).

    Data: ``target`` (:data:`ntkx.feedforward.data.TARGETS`), ``geometry`` (a geometry kind
    or ``"all"``/``"fix1"``/``"negd"``), ``dim``, ``train_radius``, ``n_train``
    (ignored for ``"basis"``: ``2 dim`` points), test set of ``n_test`` points in a
    ``test_shape`` of ``test_radius`` (``exclude_support``: drop points inside the
    training support). Architecture: ``depth``, ``activation``, ``b_std``,
    ``W_std``, ``trainable`` (one :func:`ntkx.mlp` spec for kernel and networks),
    ``ridge`` of the kernel regression. Finite networks: one per width in
    ``widths`` and seed in ``seeds``, trained by ``trainer`` (Adam: ``epochs``,
    ``learning_rate``, ``batch_size``, ``weight_decay``, ``lr_halving_every``;
    GD: ``gd_steps`` at half the NTK stability limit). Rays: ``n_rays`` of
    ``ray_points`` points, ``ray_length`` (default ``10 * test_radius``).
    Width sweep: ``sweep_widths`` (empty: none), ``sweep_seeds``,
    ``sweep_n_train``, ``sweep_steps``.
    """

    target: str = "quadratic"
    geometry: str = "sphere"
    dim: int = 8
    train_radius: float = 1.0
    n_train: int = 1000
    test_radius: float = 5.0
    test_shape: str = "ball"
    n_test: int = 1024
    exclude_support: bool = True
    target_seed: int = 0
    data_seed: int = 0
    coef_range: float = 1.0
    bias_range: float = 0.0
    cos_frequency: str = "2pi"
    depth: int = 2
    activation: str = "relu"
    b_std: float | None = 1.0
    W_std: float = 1.0
    trainable: str = "all"
    ridge: float = 0.0
    widths: tuple[int, ...] = (256,)
    seeds: tuple[int, ...] = (0,)
    trainer: str = "adam"
    epochs: int = 200
    learning_rate: float = 1e-3
    batch_size: int = 64
    weight_decay: float = 1e-5
    lr_halving_every: int | None = 50
    gd_steps: int = 2000
    n_rays: int = 500
    ray_points: int = 100
    ray_length: float | None = None
    bins: int = 10
    sweep_widths: tuple[int, ...] = ()
    sweep_seeds: tuple[int, ...] = (0, 1)
    sweep_n_train: int = 128
    sweep_steps: int = 500

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        check_choice("target", self.target, TARGETS)
        check_choice("geometry", self.geometry, GEOMETRY_CHOICES)
        check_choice("trainer", self.trainer, TRAINERS)
        check_choice("test_shape", self.test_shape, ("ball", "cube"))
        check_choice("activation", self.activation, ACTIVATIONS)
        for name in ("dim", "n_train", "n_test", "depth", "epochs", "batch_size", "gd_steps"):
            set_(self, name, check_positive_int(name, getattr(self, name)))
        for name in ("n_rays", "ray_points", "bins", "sweep_n_train", "sweep_steps"):
            set_(self, name, check_positive_int(name, getattr(self, name)))
        for name in ("train_radius", "test_radius", "learning_rate", "W_std", "coef_range"):
            set_(self, name, check_finite_number(name, getattr(self, name), minimum=0, strict=True))
        for name in ("weight_decay", "ridge", "bias_range"):
            set_(self, name, check_finite_number(name, getattr(self, name), minimum=0.0))
        if self.b_std is not None:
            set_(self, "b_std", check_finite_number("b_std", self.b_std, minimum=0.0))
        if self.ray_length is not None:
            set_(
                self,
                "ray_length",
                check_finite_number("ray_length", self.ray_length, minimum=0, strict=True),
            )
        if self.lr_halving_every is not None:
            set_(
                self,
                "lr_halving_every",
                check_positive_int("lr_halving_every", self.lr_halving_every),
            )
        set_(self, "widths", _ints("widths", self.widths, allow_empty=True))
        set_(self, "seeds", _ints("seeds", self.seeds))
        set_(self, "sweep_widths", _ints("sweep_widths", self.sweep_widths, allow_empty=True))
        set_(self, "sweep_seeds", _ints("sweep_seeds", self.sweep_seeds))
        for name in ("widths", "sweep_widths"):
            for w in getattr(self, name):
                check_positive_int(f"{name} entry", w)
        if self.test_radius <= self.train_radius:
            raise ValueError(
                f"test_radius={self.test_radius} is not allowed; expected a radius larger than "
                f"train_radius={self.train_radius} (the test set lies outside the support)."
            )
        if self.target == "sqrt" and self.geometry in ("basis", "fix1", "negd"):
            raise ValueError(
                f"geometry={self.geometry!r} is not allowed for target='sqrt', which is defined "
                "on the positive orthant; expected cube, sphere, ball or ball_radius_uniform."
            )
        self.spec(256)  # validates the architecture fields

    def spec(self, width: int) -> MLP:
        """The :func:`ntkx.mlp` spec at ``width`` (the kernel does not depend on width)."""
        return mlp(
            depth=self.depth,
            activation=self.activation,
            width=width,
            W_std=self.W_std,
            b_std=self.b_std,
            trainable=self.trainable,
        )

    def make_geometry(self) -> Geometry:
        """The training geometry (positive orthant for the sqrt target)."""
        if self.geometry in TRAINING_SETS:
            return training_set(self.geometry, self.dim, self.train_radius)
        signed = self.dim if self.target == "sqrt" else 0
        return geometry(self.geometry, self.dim, self.train_radius, n_signed=signed, sign=1)

    def make_target(self) -> Target:
        """The target function with its seeded coefficients."""
        return make_target(
            self.target,
            self.dim,
            seed=self.target_seed,
            coef_range=self.coef_range,
            bias_range=self.bias_range,
            frequency=self.cos_frequency,
        )


def fit_power_law(x: Sequence[float], y: Sequence[float]) -> dict[str, float]:
    """Least-squares fit ``y = C x^(-p)`` in log-log space: ``{"exponent": p, "prefactor": C}``."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if lx.size < 2 or not (np.isfinite(lx).all() and np.isfinite(ly).all()):
        raise ValueError("fit_power_law needs at least two positive finite points.")
    slope, intercept = np.polyfit(lx, ly, 1)
    return {"exponent": float(-slope), "prefactor": float(np.exp(intercept))}


def _apply_fn(net: MLP, params: Any) -> Callable[[np.ndarray], np.ndarray]:
    apply = jax.jit(net.apply)

    def predict(x: np.ndarray) -> np.ndarray:
        out = [np.asarray(apply(params, x[i : i + 8192])) for i in range(0, x.shape[0], 8192)]
        return np.concatenate(out)[:, 0].astype(np.float64)

    return predict


def width_sweep(
    config: CurveConfig,
    *,
    progress: bool = True,
    start: float | None = None,
) -> dict[str, Any]:
    r"""Gap between finite networks trained by gradient descent and their NTK-regime prediction.

    For each width in ``config.sweep_widths`` and seed in ``config.sweep_seeds``:
    draw ``sweep_n_train`` training points, initialize the network of that width,
    run ``sweep_steps`` steps of :func:`ntkx.core.training.train_gd` at half the
    stability limit of the infinite-width NTK, and compare its outputs with
    :func:`ntkx.core.training.linearized_gd_prediction` for the same learning rate,
    steps and initial outputs (the infinite-width prediction of this very run).
    The relative RMS gap is reported on fresh points from the training geometry
    ("on support") and on the out-of-support test set ("off support"); theory
    (Lee et al. 2019, arXiv 1902.06720) expects it to shrink like
    :math:`\text{width}^{-1/2}`, and the fitted exponent is reported.
    """
    start = time.perf_counter() if start is None else start
    geom, target = config.make_geometry(), config.make_target()
    n = None if geom.kind == "basis" else config.sweep_n_train
    x = geom.sample(n, seed=config.data_seed + 101)
    y = target(x)
    on = geom.sample(None if geom.kind == "basis" else 256, seed=config.data_seed + 102)
    off = test_set(
        geom,
        256,
        config.test_radius,
        shape=config.test_shape,
        seed=config.data_seed + 103,
        positive_orthant=config.target == "sqrt",
    ).x
    k = config.spec(1).kernel(x, dtype="float64")
    lr = 0.5 * stable_learning_rate(k)
    widths = config.sweep_widths
    gaps = {"on_support": np.zeros((len(config.sweep_seeds), len(widths))), "off_support": None}
    gaps["off_support"] = np.zeros_like(gaps["on_support"])
    final_losses = np.zeros_like(gaps["on_support"])
    for j, width in enumerate(widths):
        net = config.spec(width)
        for i, seed in enumerate(config.sweep_seeds):
            p0 = net.init(jax.random.key(seed), config.dim)
            res = train_gd(
                net,
                p0,
                x,
                y,
                learning_rate=lr,
                steps=config.sweep_steps,
                record_every=config.sweep_steps,
            )
            final_losses[i, j] = res.losses[-1]
            f0, f1 = _apply_fn(net, p0), _apply_fn(net, res.params)
            for region, pts in (("on_support", on), ("off_support", off)):
                ref = linearized_gd_prediction(
                    net,
                    x,
                    y,
                    pts,
                    learning_rate=lr,
                    steps=config.sweep_steps,
                    f0_train=f0(x),
                    f0_test=f0(pts),
                )
                gaps[region][i, j] = prediction_gap(f1(pts), ref)[1]
        _log(
            progress,
            f"width sweep: width {width} done "
            f"(off-support gap {gaps['off_support'][:, j].mean():.3g})",
            start,
        )
    return {
        "widths": list(widths),
        "seeds": list(config.sweep_seeds),
        "n_train": int(x.shape[0]),
        "steps": config.sweep_steps,
        "learning_rate": lr,
        "time": lr * config.sweep_steps,
        "final_train_loss": final_losses.tolist(),
        "relative_gap": {k: v.tolist() for k, v in gaps.items()},
        "mean_relative_gap": {k: v.mean(axis=0).tolist() for k, v in gaps.items()},
        "fitted": {
            k: (fit_power_law(widths, v.mean(axis=0)) if len(widths) >= 2 else None)
            for k, v in gaps.items()
        },
    }


def run_curve(
    config: CurveConfig,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
) -> dict[str, Any]:
    """Run one configuration; return the result dict and, with ``out_dir``, write
    ``result.json`` and the PNG plots there (see the module docstring).

    Example:
        >>> from ntkx.feedforward.experiment import CurveConfig, run_curve
        >>> cfg = CurveConfig(target="l1", dim=2, n_train=64, n_test=64, widths=(32,),
        ...                   epochs=5, n_rays=10)
        >>> res = run_curve(cfg, progress=False)
        >>> res["ntk"]["linearity_origin"]["median"] > 0.99
        True
    """
    start = time.perf_counter()
    geom, target = config.make_geometry(), config.make_target()
    orthant = config.target == "sqrt"
    n = None if geom.kind == "basis" else config.n_train
    x = geom.sample(n, seed=config.data_seed)
    y = target(x)
    tests = test_set(
        geom,
        config.n_test,
        config.test_radius,
        shape=config.test_shape,
        seed=config.data_seed + 1,
        exclude_support=config.exclude_support,
        positive_orthant=orthant,
    )
    y_test = target(tests.x)
    length = 10.0 * config.test_radius if config.ray_length is None else config.ray_length
    ray_sets = {
        "origin": rays(
            geom,
            config.n_rays,
            length,
            n_points=config.ray_points,
            seed=config.data_seed + 2,
            positive_orthant=orthant,
        ),
    }
    base = (
        0.5
        * config.train_radius
        * unit_directions(1, config.dim, seed=config.data_seed + 3, positive_orthant=orthant)[0]
    )
    if not geom.contains(base[None])[0]:  # e.g. fix1, negd: use a point of the support
        base = (
            0.5 * geom.sample(None)[0]
            if geom.kind == "basis"
            else geom.sample(1, seed=config.data_seed + 3)[0]
        )
    ray_sets["off_origin"] = rays(
        geom,
        config.n_rays,
        length,
        n_points=config.ray_points,
        seed=config.data_seed + 2,
        base=base,
        positive_orthant=orthant,
    )
    _log(
        progress,
        f"data: {x.shape[0]} training points, {config.n_test} test points "
        f"({tests.n_rejected} inside the support rejected)",
        start,
    )

    def evaluate(predict: Callable[[np.ndarray], np.ndarray], homogeneous: bool) -> dict:
        pred = predict(tests.x)
        out: dict[str, Any] = {
            "errors": error_report(y_test, pred).describe(),
            "curve": extrapolation_curve(tests.distance, y_test, pred, bins=config.bins),
            "train_mse": float(np.mean((predict(x) - y) ** 2)),
        }
        for name, rs in ray_sets.items():
            out[f"linearity_{name}"] = directional_linearity(predict, rs, homogeneous=homogeneous)
        return out

    # ---- NTK predictor
    spec = config.spec(max(config.widths, default=256))
    homogeneous = is_positively_homogeneous(spec)
    model = kernel_regression(spec, x, y, config.ridge, dtype="float64")
    ntk = evaluate(model.predict, homogeneous)
    ntk["diagnostics"] = model.diagnostics._asdict()
    directions = unit_directions(3, config.dim, seed=config.data_seed + 4, positive_orthant=orthant)
    ts = np.geomspace(1.0, 1000.0, 13) * max(config.train_radius, 1e-3)
    ntk["slope_convergence"] = [
        slope_convergence(model.predict, v, ts, h=config.train_radius).describe()
        for v in directions
    ]
    _log(
        progress,
        f"NTK predictor: median R^2 {ntk['linearity_origin'].median:.6f} (origin), "
        f"{ntk['linearity_off_origin'].median:.6f} (off origin); "
        f"MAPE {ntk['errors']['mape_median_per_batch']}",
        start,
    )

    # ---- finite networks
    finite: list[dict[str, Any]] = []
    for width in config.widths:
        net = config.spec(width)
        for seed in config.seeds:
            p0 = net.init(jax.random.key(seed), config.dim)
            if config.trainer == "adam":
                res = train_adam(
                    net,
                    p0,
                    x,
                    y,
                    key=jax.random.key(10_000 + seed),
                    learning_rate=config.learning_rate,
                    epochs=config.epochs,
                    batch_size=config.batch_size,
                    weight_decay=config.weight_decay,
                    lr_halving_every=config.lr_halving_every,
                    progress=progress,
                )
                lr = config.learning_rate
            else:
                lr = 0.5 * stable_learning_rate(spec.kernel(x, dtype="float64"))
                res = train_gd(
                    net,
                    p0,
                    x,
                    y,
                    learning_rate=lr,
                    steps=config.gd_steps,
                    record_every=max(1, config.gd_steps // 100),
                )
            predict = _apply_fn(net, res.params)
            entry = evaluate(predict, homogeneous)
            entry.update(
                width=width,
                seed=seed,
                learning_rate=lr,
                losses=res.losses.tolist(),
                predict=predict,
            )
            gap = prediction_gap(predict(tests.x), model.predict(tests.x))
            entry["gap_to_ntk_off_support"] = {"rms": gap[0], "relative": gap[1]}
            finite.append(entry)
            _log(
                progress,
                f"width {width} seed {seed}: loss {res.losses[-1]:.4g}, median R^2 "
                f"{entry['linearity_origin'].median:.6f}, MAPE "
                f"{entry['errors']['mape_median_per_batch']}",
                start,
            )

    sweep = width_sweep(config, progress=progress, start=start) if config.sweep_widths else None

    result = {
        "config": dataclasses.asdict(config),
        "target": target.describe(),
        "geometry": geom.describe(),
        "test_set": tests.describe(),
        "rays": {
            "length": length,
            "n_points": config.ray_points,
            "start_factor": 1.1,
            "off_origin_base": ray_sets["off_origin"].base.tolist(),
        },
        "positively_homogeneous": homogeneous,
        "ntk": _jsonable(ntk),
        "finite": [_jsonable({k: v for k, v in e.items() if k != "predict"}) for e in finite],
        "finite_summary": _finite_summary(finite),
        "width_sweep": sweep,
        "seconds": time.perf_counter() - start,
    }
    if out_dir is not None:
        result["files"] = _write_outputs(
            out_dir,
            result,
            config,
            target,
            model,
            ntk,
            finite,
            ray_sets["off_origin" if homogeneous else "origin"],
            sweep,
        )
        _log(progress, f"wrote {result['files']}", start)
    return result


def _finite_summary(finite: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for width in sorted({e["width"] for e in finite}):
        rows = [e for e in finite if e["width"] == width]
        per_batch = [e["errors"]["mape_median_per_batch"] for e in rows]
        out[str(width)] = {
            "n_seeds": len(rows),
            "median_r2_origin": [e["linearity_origin"].median for e in rows],
            "median_r2_off_origin": [e["linearity_off_origin"].median for e in rows],
            "mape_median_per_batch": per_batch,
            "mape_mean": [e["errors"]["mape_mean"] for e in rows],
            "mse": [e["errors"]["mse"] for e in rows],
        }
    return out


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "describe") and callable(obj.describe):
        return _jsonable(obj.describe())
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return str(obj)  # "inf" (e.g. a condition number); JSON has no inf
    return obj


def _write_outputs(
    out_dir: str | os.PathLike[str],
    result: dict[str, Any],
    config: CurveConfig,
    target: Target,
    model: Any,
    ntk: dict[str, Any],
    finite: list[dict[str, Any]],
    ray_set: Any,
    sweep: dict[str, Any] | None,
) -> dict[str, str]:
    os.makedirs(out_dir, exist_ok=True)
    files: dict[str, str] = {}
    label = f"{config.target} target, {config.geometry} r={config.train_radius}, d={config.dim}"
    # one ray: the target and every predictor
    pts, t = ray_set.points[0], ray_set.t[0]
    preds = {"NTK predictor": model.predict(pts)}
    for e in finite[:4]:
        preds[f"width {e['width']} seed {e['seed']}"] = e["predict"](pts)
    files["ray"] = plot_ray(
        t,
        target(pts),
        preds,
        os.path.join(out_dir, "ray.png"),
        exit_distance=float(ray_set.exit[0]),
        title=f"Along one ray ({label})",
    )
    curves = {"NTK predictor": ntk["curve"]}
    curves.update({f"width {e['width']} seed {e['seed']}": e["curve"] for e in finite[:6]})
    files["curve"] = plot_extrapolation_curve(
        curves, os.path.join(out_dir, "curve.png"), title=f"Extrapolation error ({label})"
    )
    r2 = {
        "NTK (origin rays)": ntk["linearity_origin"].r2,
        "NTK (off-origin rays)": ntk["linearity_off_origin"].r2,
    }
    for e in finite[:2]:
        r2[f"width {e['width']} seed {e['seed']} (origin rays)"] = e["linearity_origin"].r2
    files["r2_histogram"] = plot_r2_histogram(
        r2, os.path.join(out_dir, "r2_histogram.png"), title=f"R² along rays ({label})"
    )
    if sweep is not None and len(sweep["widths"]) >= 1:
        gaps = {k.replace("_", " "): np.asarray(v) for k, v in sweep["relative_gap"].items()}
        files["width_sweep"] = plot_width_sweep(
            sweep["widths"],
            gaps,
            os.path.join(out_dir, "width_sweep.png"),
            title=f"GD-trained net vs NTK ({label})",
        )
    path = os.path.join(out_dir, "result.json")
    files["json"] = path
    result = dict(result, files=files)
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1, allow_nan=False)
    return files


# --------------------------------------------------------------------------- CLI


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers"
        ) from None


def _optional_float(text: str) -> float | None:
    if text.lower() in ("none", "null", ""):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'none'") from None


def _parser() -> argparse.ArgumentParser:
    d = CurveConfig()
    p = argparse.ArgumentParser(
        prog="ntkx curve",
        description="Feedforward extrapolation for one configuration: NTK predictor and finite "
        "networks of the same spec; writes result.json and PNG plots (Xu et al., ICLR 2021).",
    )
    a = p.add_argument
    a("--out", required=True, help="output directory for result.json and the PNG plots")
    a("--target", default=d.target, choices=TARGETS)
    a(
        "--geometry",
        default=d.geometry,
        choices=GEOMETRY_CHOICES,
        help="training geometry (a kind, or the paper's all/fix1/negd training sets)",
    )
    a("--dim", type=int, default=d.dim)
    a("--train-radius", type=float, default=d.train_radius)
    a("--n-train", type=int, default=d.n_train)
    a("--test-radius", type=float, default=d.test_radius)
    a("--test-shape", default=d.test_shape, choices=("ball", "cube"))
    a("--n-test", type=int, default=d.n_test)
    a(
        "--include-support",
        action="store_true",
        help="keep test points inside the training support (the official code's behaviour)",
    )
    a("--target-seed", type=int, default=d.target_seed)
    a("--data-seed", type=int, default=d.data_seed)
    a("--coef-range", type=float, default=d.coef_range)
    a("--bias-range", type=float, default=d.bias_range)
    a("--cos-frequency", default=d.cos_frequency, choices=("2pi", "pi"))
    a("--depth", type=int, default=d.depth)
    a("--activation", default=d.activation, choices=sorted(ACTIVATIONS))
    a("--b-std", type=_optional_float, default=d.b_std, help="bias std, or 'none' for no bias")
    a("--W-std", type=float, default=d.W_std)
    a("--trainable", default=d.trainable, choices=("all", "first", "last"))
    a("--ridge", type=float, default=d.ridge)
    a("--widths", type=_int_list, default=d.widths, help="comma-separated, e.g. 128,256")
    a("--seeds", type=_int_list, default=d.seeds, help="comma-separated network seeds")
    a("--trainer", default=d.trainer, choices=TRAINERS)
    a("--epochs", type=int, default=d.epochs)
    a("--lr", type=float, default=d.learning_rate, help="Adam learning rate")
    a("--batch-size", type=int, default=d.batch_size)
    a("--weight-decay", type=float, default=d.weight_decay)
    a("--lr-halving-every", type=_optional_float, default=d.lr_halving_every)
    a("--gd-steps", type=int, default=d.gd_steps)
    a("--n-rays", type=int, default=d.n_rays)
    a("--ray-points", type=int, default=d.ray_points)
    a(
        "--ray-length",
        type=_optional_float,
        default=None,
        help="length of each ray (default 10 x test radius)",
    )
    a("--bins", type=int, default=d.bins)
    a(
        "--sweep-widths",
        type=_int_list,
        default=d.sweep_widths,
        help="widths of the GD width sweep, e.g. 64,256,1024,4096 (default: no sweep)",
    )
    a("--sweep-seeds", type=_int_list, default=d.sweep_seeds)
    a("--sweep-n-train", type=int, default=d.sweep_n_train)
    a("--sweep-steps", type=int, default=d.sweep_steps)
    a("--quiet", action="store_true", help="no progress on stderr")
    return p


def curve_main(argv: list[str] | None = None) -> int:
    """``ntkx curve``: parse ``argv``, run :func:`run_curve`, print a summary; 0 on success.

    Bad settings print the ValueError's message and return 2.
    """
    args = _parser().parse_args(argv)
    halving = args.lr_halving_every
    try:
        config = CurveConfig(
            target=args.target,
            geometry=args.geometry,
            dim=args.dim,
            train_radius=args.train_radius,
            n_train=args.n_train,
            test_radius=args.test_radius,
            test_shape=args.test_shape,
            n_test=args.n_test,
            exclude_support=not args.include_support,
            target_seed=args.target_seed,
            data_seed=args.data_seed,
            coef_range=args.coef_range,
            bias_range=args.bias_range,
            cos_frequency=args.cos_frequency,
            depth=args.depth,
            activation=args.activation,
            b_std=args.b_std,
            W_std=args.W_std,
            trainable=args.trainable,
            ridge=args.ridge,
            widths=args.widths,
            seeds=args.seeds,
            trainer=args.trainer,
            epochs=args.epochs,
            learning_rate=args.lr,
            batch_size=args.batch_size,
            weight_decay=args.weight_decay,
            lr_halving_every=None if halving is None else int(halving),
            gd_steps=args.gd_steps,
            n_rays=args.n_rays,
            ray_points=args.ray_points,
            ray_length=args.ray_length,
            bins=args.bins,
            sweep_widths=args.sweep_widths,
            sweep_seeds=args.sweep_seeds,
            sweep_n_train=args.sweep_n_train,
            sweep_steps=args.sweep_steps,
        )
    except ValueError as err:
        print(f"ntkx curve: error: {err}", file=sys.stderr)
        return 2
    result = run_curve(config, args.out, progress=not args.quiet)
    ntk = result["ntk"]
    print(
        f"NTK predictor: median R^2 {ntk['linearity_origin']['median']:.6f} (rays from origin), "
        f"{ntk['linearity_off_origin']['median']:.6f} (off origin); out-of-support MAPE "
        f"(median per batch) {ntk['errors']['mape_median_per_batch']}"
    )
    for width, s in result["finite_summary"].items():
        print(
            f"width {width}: median R^2 {s['median_r2_origin']}, MAPE {s['mape_median_per_batch']}"
        )
    if result["width_sweep"] is not None:
        print(
            f"width sweep {result['width_sweep']['widths']}: mean relative gap "
            f"{result['width_sweep']['mean_relative_gap']}"
        )
    print(f"wrote {result['files']['json']}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(curve_main())
