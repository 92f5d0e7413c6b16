r"""The ``curve`` experiment: one feedforward extrapolation configuration, every number.

:data:`CURVE` is an :class:`ntkx.runner.Experiment`; :func:`run_curve` runs one
:class:`CurveConfig` (target, training geometry, dimension, radii, architecture,
widths, seeds, trainer) and

1. draws the training set, an out-of-support test set (points inside the
   training support excluded by default) and rays outside the support;
2. fits the NTK predictor of the spec (:func:`ntkx.kernel_regression`) and, for
   each width and seed, trains the finite network *of the same spec*
   (:func:`ntkx.train_adam` or :func:`ntkx.train_gd`);
3. measures, for every predictor: directional linearity (R^2 along rays through
   the origin and from an off-origin base point), out-of-support MSE and the three
   MAPE variants, the binned extrapolation curve, and (for the NTK predictor) the
   convergence of the directional slope (Theorem 1 of arXiv 2009.11848);
4. optionally sweeps the width (:func:`width_sweep`): finite networks trained by
   full-batch gradient descent against the NTK-regime prediction of the *same* run
   (:func:`ntkx.core.training.linearized_gd_prediction`, with the network's own
   initial outputs), on and off the training support;
5. returns the runner's record (``metrics`` holds every number; wall times only under
   ``timings``) and, with ``out_dir``, writes ``result.json`` and the PNG plots
   (:mod:`ntkx.plotting`) there.

Stages (``timings``): ``data_s``, ``ntk_s``, ``finite_s``, ``width_sweep_s``, ``plot_s``.
Ctrl-C keeps what is finished: the data description, the NTK predictor's metrics and
every finite network trained so far (``"interrupted": true`` in ``result.json``).

The command ``ntkx curve`` is :func:`curve_main`; its flags are the fields of
:class:`CurveConfig` (``--n-train 500``, ``--widths 128 256``, ``--b-std None``,
``--no-exclude-support``), plus ``--out DIR`` and ``--quiet``. For example::

    ntkx curve --out runs/quad --target quadratic --geometry sphere --dim 8 \
        --widths 256 --seeds 0 1 2 --sweep-widths 64 256 1024 4096
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any, Final

import jax
import numpy as np

from ntkx.core.kernels import kernel
from ntkx.core.solvers import kernel_regression
from ntkx.core.training import linearized_gd_prediction, stable_learning_rate, train_adam, train_gd
from ntkx.core.validation import check_choice, check_finite_number, check_positive_int
from ntkx.feedforward.data import (
    GEOMETRY_KINDS,
    TARGETS,
    TRAINING_SETS,
    Geometry,
    Target,
    TestSet,
    geometry,
    make_target,
    rays,
    test_set,
    training_set,
    unit_directions,
)
from ntkx.feedforward.mlp import ACTIVATIONS, INITIALIZATIONS, MLP, mlp
from ntkx.metrics import (
    directional_linearity,
    error_report,
    extrapolation_curve,
    is_positively_homogeneous,
    mape_median_per_batch,
    prediction_gap,
    slope_convergence,
)
from ntkx.plotting import (
    plot_extrapolation_curve,
    plot_r2_histogram,
    plot_ray,
    plot_width_sweep,
)
from ntkx.runner import Experiment, RunContext, cli_main, run_experiment, to_jsonable

__all__ = ["CURVE", "CurveConfig", "curve_main", "fit_power_law", "run_curve", "width_sweep"]

TRAINERS: Final = ("adam", "gd")
#: ``geometry`` accepts a geometry kind or one of the paper's named training sets.
GEOMETRY_CHOICES: Final = (*GEOMETRY_KINDS, *TRAINING_SETS)
#: Finite networks drawn in the ray plot, the curve plot and the R^2 histogram.
PLOTTED_NETWORKS: Final = {"ray": 4, "curve": 6}


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
    """Feedforward extrapolation for one configuration: the NTK predictor and finite networks
    of the same ntkx.mlp spec, trained inside a bounded support and measured outside it
    (Xu et al., ICLR 2021, arXiv 2009.11848, Section 3). Validated at construction
    (ValueError naming the field)."""

    target: str = "quadratic"
    """target function: linear, quadratic, cos, sqrt (positive orthant) or l1"""
    geometry: str = "sphere"
    """training geometry: cube, sphere, ball, ball_radius_uniform, basis, or the paper's
    training sets all, fix1, negd"""
    dim: int = 8
    """input dimension"""
    train_radius: float = 1.0
    """radius of the training support"""
    n_train: int = 1000
    """training points (ignored for geometry basis: 2 dim points)"""
    test_radius: float = 5.0
    """radius of the test region (larger than train_radius)"""
    test_shape: str = "ball"
    """test region: ball or cube"""
    n_test: int = 1024
    """test points"""
    exclude_support: bool = True
    """drop test points inside the training support (the official code keeps them)"""
    target_seed: int = 0
    """seed of the target's coefficients"""
    data_seed: int = 0
    """seed of the data: training set data_seed, test set + 1, rays + 2, off-origin base + 3,
    slope directions + 4, width-sweep sets + 101..103"""
    coef_range: float = 1.0
    """target coefficients are drawn from U[-coef_range, coef_range]"""
    bias_range: float = 0.0
    """target bias is drawn from U[-bias_range, bias_range]"""
    cos_frequency: str = "2pi"
    """frequency of the cos target: 2pi or pi"""
    depth: int = 2
    """layers of the MLP (hidden layers + 1)"""
    activation: str = "relu"
    """activation of the MLP"""
    b_std: float | None = 1.0
    """bias standard deviation, or None for a bias-free network"""
    W_std: float = 1.0
    """weight standard deviation"""
    parameterization: str = "ntk"
    """parameterization of the MLP: ntk or standard (the official code's)"""
    init: str = "gaussian"
    """initialization of the finite networks: gaussian, or torch (PyTorch's nn.Linear default,
    uniform +-1/sqrt(fan_in); needs parameterization standard and a b_std)"""
    trainable: str = "all"
    """trained layers: all, first or last"""
    ridge: float = 0.0
    """absolute ridge of the kernel regression"""
    widths: tuple[int, ...] = (256,)
    """widths of the finite networks (none: the NTK predictor only)"""
    seeds: tuple[int, ...] = (0,)
    """seeds of the finite networks, one network per width and seed: initialization
    jax.random.key(seed), Adam batches jax.random.key(10000 + seed)"""
    trainer: str = "adam"
    """trainer of the finite networks: adam or gd (full batch, half the NTK stability limit)"""
    epochs: int = 200
    """Adam epochs"""
    learning_rate: float = 1e-3
    """Adam learning rate"""
    batch_size: int = 64
    """Adam batch size"""
    weight_decay: float = 1e-5
    """Adam weight decay"""
    lr_halving_every: int | None = 50
    """halve the Adam learning rate every this many epochs (None: never)"""
    drop_last: bool = False
    """drop the last partial Adam batch of each epoch (the official code does)"""
    eval_epochs: tuple[int, ...] = ()
    """Adam epochs at which to record each finite network's test MSE and MAPE (its history)"""
    kernel: bool = True
    """fit the NTK predictor (--no-kernel: finite networks only)"""
    data: str | None = None
    """.npz file with external arrays x_train (n, dim), y_train (n,), x_test (m, dim), y_test
    (m,) (real numbers, finite); replaces the generated training and test sets (target,
    n_train, n_test, test_* and exclude_support are then unused; geometry and train_radius
    still define the rays and the distances of the extrapolation curve)"""
    gd_steps: int = 2000
    """gradient-descent steps (trainer gd)"""
    n_rays: int = 500
    """rays for the directional-linearity R^2"""
    ray_points: int = 100
    """points per ray"""
    ray_length: float | None = None
    """length of each ray (None: 10 x test_radius)"""
    bins: int = 10
    """distance bins of the extrapolation curve"""
    sweep_widths: tuple[int, ...] = ()
    """widths of the gradient-descent width sweep (none: no sweep)"""
    sweep_seeds: tuple[int, ...] = (0, 1)
    """seeds of the width sweep"""
    sweep_n_train: int = 128
    """training points of the width sweep"""
    sweep_steps: int = 500
    """gradient-descent steps of the width sweep"""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        check_choice("target", self.target, TARGETS)
        check_choice("geometry", self.geometry, GEOMETRY_CHOICES)
        check_choice("trainer", self.trainer, TRAINERS)
        check_choice("test_shape", self.test_shape, ("ball", "cube"))
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("parameterization", self.parameterization, ("ntk", "standard"))
        check_choice("init", self.init, INITIALIZATIONS)
        for name in ("kernel", "drop_last", "exclude_support"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"{name}={getattr(self, name)!r} is not allowed; expected True or False."
                )
        set_(self, "eval_epochs", _ints("eval_epochs", self.eval_epochs, allow_empty=True))
        for e in self.eval_epochs:
            if not 0 <= e <= self.epochs:
                raise ValueError(
                    f"eval_epochs contains {e}; expected epochs in [0, epochs={self.epochs}]."
                )
        if self.data is not None:
            if not isinstance(self.data, str | os.PathLike):
                raise ValueError(f"data={self.data!r} is not allowed; expected a .npz path.")
            set_(self, "data", os.fspath(self.data))
            load_data(self.data, self.dim)  # shapes, dtypes, finiteness: before any work
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
            parameterization=self.parameterization,
            trainable=self.trainable,
            init=self.init,
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


#: Arrays an external ``--data`` file must hold: name -> (rank, description).
DATA_KEYS: Final = {
    "x_train": (2, "(n, dim) training inputs"),
    "y_train": (1, "(n,) training labels"),
    "x_test": (2, "(m, dim) test inputs"),
    "y_test": (1, "(m,) test labels"),
}


def load_data(path: str | os.PathLike[str], dim: int) -> dict[str, np.ndarray]:
    """Read and validate an external data file for :class:`CurveConfig` ``data``.

    The ``.npz`` (``np.savez``) must hold :data:`DATA_KEYS`: ``x_train (n, dim)``,
    ``y_train (n,)`` (or ``(n, 1)``), ``x_test (m, dim)``, ``y_test (m,)``, real
    (integer or floating) and finite; other keys are ignored. Returned as float64.
    Raises ValueError naming the file, the key, what it holds and what is expected.
    """
    where = f"data={os.fspath(path)!r}"
    try:
        with np.load(path, allow_pickle=False) as f:
            raw = {k: f[k] for k in f.files}
    except (OSError, ValueError) as err:
        raise ValueError(
            f"{where} is not allowed: {err}; expected an .npz file (np.savez) with keys "
            f"{list(DATA_KEYS)}."
        ) from None
    missing = [k for k in DATA_KEYS if k not in raw]
    if missing:
        raise ValueError(
            f"{where} lacks {missing} (it has {sorted(raw)}); expected keys "
            + ", ".join(f"{k} {desc}" for k, (_, desc) in DATA_KEYS.items())
            + "."
        )
    out = {}
    for k, (rank, desc) in DATA_KEYS.items():
        a = raw[k]
        if rank == 1 and a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.dtype.kind not in "iuf":
            raise ValueError(f"{where}: {k} has dtype {a.dtype}; expected real numbers: {desc}.")
        if a.ndim != rank or a.shape[0] == 0 or (rank == 2 and a.shape[1] != dim):
            raise ValueError(
                f"{where}: {k} has shape {a.shape}; expected {desc} with dim={dim} (--dim)."
            )
        a = a.astype(np.float64)
        if not np.isfinite(a).all():
            raise ValueError(
                f"{where}: {k} has {int((~np.isfinite(a)).sum())} non-finite value(s); "
                "expected finite values."
            )
        out[k] = a
    for x, y in (("x_train", "y_train"), ("x_test", "y_test")):
        if out[x].shape[0] != out[y].shape[0]:
            raise ValueError(
                f"{where}: {x} has {out[x].shape[0]} rows but {y} has {out[y].shape[0]}; "
                "expected one label per input."
            )
    return out


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
    ctx: RunContext | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    r"""Gap between finite networks trained by gradient descent and their NTK-regime prediction.

    For each width in ``config.sweep_widths`` and seed in ``config.sweep_seeds``:
    draw ``sweep_n_train`` training points, initialize the network of that width,
    run ``sweep_steps`` steps of :func:`ntkx.train_gd` at half the stability limit
    of the infinite-width NTK, and compare its outputs with
    :func:`ntkx.core.training.linearized_gd_prediction` for the same learning rate,
    steps and initial outputs (the infinite-width prediction of this very run).
    The relative RMS gap is reported on fresh points from the training geometry
    ("on support") and on the out-of-support test set ("off support"); theory
    (Lee et al. 2019, arXiv 1902.06720) expects it to shrink like
    :math:`\text{width}^{-1/2}`, and the fitted exponent is reported.

    ``ctx`` (a :class:`ntkx.runner.RunContext`) receives log lines and the progress bar;
    without it one is made, showing them when ``progress`` is true.
    """
    ctx = RunContext("curve", progress=progress) if ctx is None else ctx
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
    k = kernel(config.spec(1), x, dtype="float64")
    lr = 0.5 * stable_learning_rate(k)
    widths = config.sweep_widths
    shape = (len(config.sweep_seeds), len(widths))
    gaps = {"on_support": np.zeros(shape), "off_support": np.zeros(shape)}
    final_losses = np.zeros(shape)
    for j, width in enumerate(ctx.progress(widths, desc="width sweep")):
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
        ctx.log(
            f"width sweep: width {width} done "
            f"(off-support gap {gaps['off_support'][:, j].mean():.3g})"
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


def _test_evaluator(
    net: MLP, x_test: np.ndarray, y_test: np.ndarray, batch_size: int
) -> Callable[[Any], dict[str, float]]:
    """``params -> {"test_mse", "test_mape_median_per_batch"}`` for ``train_adam(evaluate=)``."""

    def evaluate(params: Any) -> dict[str, float]:
        pred = _apply_fn(net, params)(x_test)
        out = {"test_mse": float(np.mean((pred - y_test) ** 2))}
        if y_test.size >= batch_size:
            out["test_mape_median_per_batch"] = mape_median_per_batch(
                y_test, pred, batch_size=batch_size
            )
        return out

    return evaluate


def _label(width: int, seed: int) -> str:
    return f"width {width} seed {seed}"


def _run(config: CurveConfig, ctx: RunContext) -> dict[str, Any]:
    """The runner's ``run``: every number of one configuration (JSON-ready)."""
    with ctx.stage("data"):
        geom, target = config.make_geometry(), config.make_target()
        orthant = config.target == "sqrt"
        if config.data is None:
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
        else:
            arrays = load_data(config.data, config.dim)
            x, y, y_test = arrays["x_train"], arrays["y_train"], arrays["y_test"]
            xt = arrays["x_test"]
            tests = TestSet(
                x=xt,
                distance=geom.distance(xt),
                excluded_inside_support=False,
                n_rejected=0,
                n_inside=int(geom.contains(xt).sum()),
                shape="file",
                radius=float(np.linalg.norm(xt, axis=1).max()),
                support_region=geom.describe_region(),
            )
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
        spec = config.spec(max(config.widths, default=256))
        homogeneous = is_positively_homogeneous(spec)
    # the ray drawn in the plot: off-origin when rays through the origin are trivially linear
    plotted = "off_origin" if homogeneous else "origin"
    ray_pts = ray_sets[plotted].points[0]
    external = config.data is not None
    metrics: dict[str, Any] = {
        "target": {"name": "file", "data": config.data} if external else target.describe(),
        "geometry": geom.describe(),
        "test_set": tests.describe(),
        "rays": {
            "length": length,
            "n_points": config.ray_points,
            "start_factor": 1.1,
            "off_origin_base": ray_sets["off_origin"].base.tolist(),
        },
        "positively_homogeneous": homogeneous,
        "ray_example": {
            "rays": plotted,
            "t": ray_sets[plotted].t[0],
            "exit_distance": float(ray_sets[plotted].exit[0]),
            "target": None if external else target(ray_pts),
            "predictions": {},
        },
    }
    kept_ray = ctx.restore("ray_example")  # --resume: predictions of the finished models
    if kept_ray is not None:
        metrics["ray_example"]["predictions"] = dict(kept_ray["predictions"])
    for name, value in metrics.items():
        ctx.checkpoint(name, value)
    ctx.log(
        f"data: {x.shape[0]} training points, {tests.x.shape[0]} test points "
        f"({tests.n_rejected} inside the support rejected)"
    )

    def evaluate(predict: Callable[[np.ndarray], np.ndarray], label: str) -> dict[str, Any]:
        pred = predict(tests.x)
        out: dict[str, Any] = {
            "errors": error_report(y_test, pred).describe(),
            "curve": extrapolation_curve(tests.distance, y_test, pred, bins=config.bins),
            "train_mse": float(np.mean((predict(x) - y) ** 2)),
        }
        for name, rs in ray_sets.items():
            out[f"linearity_{name}"] = directional_linearity(predict, rs, homogeneous=homogeneous)
        metrics["ray_example"]["predictions"][label] = predict(ray_pts)
        ctx.checkpoint("ray_example", metrics["ray_example"])
        return out

    # ---- NTK predictor
    finite: list[dict[str, Any]] = list(ctx.restore("finite", []))  # --resume: finished nets
    units = [(w, s) for w in config.widths for s in config.seeds]
    model = None
    metrics["ntk"] = ctx.restore("ntk") if config.kernel else None
    if metrics["ntk"] is not None:  # --resume: kept; refit only for the gaps of new nets
        ctx.checkpoint("ntk", metrics["ntk"])
        if len(finite) < len(units):
            with ctx.stage("ntk"):
                model = kernel_regression(spec, x, y, config.ridge, dtype="float64")
    elif config.kernel:
        with ctx.stage("ntk"):
            model = kernel_regression(spec, x, y, config.ridge, dtype="float64")
            ntk = evaluate(model.predict, "NTK predictor")
            ntk["diagnostics"] = model.diagnostics
            directions = unit_directions(
                3, config.dim, seed=config.data_seed + 4, positive_orthant=orthant
            )
            ts = np.geomspace(1.0, 1000.0, 13) * max(config.train_radius, 1e-3)
            ntk["slope_convergence"] = [
                slope_convergence(model.predict, v, ts, h=config.train_radius) for v in directions
            ]
        metrics["ntk"] = to_jsonable(ntk)
        ctx.checkpoint("ntk", metrics["ntk"])
        ctx.log(
            f"NTK predictor: median R^2 {ntk['linearity_origin'].median:.6f} (origin), "
            f"{ntk['linearity_off_origin'].median:.6f} (off origin); "
            f"MAPE {ntk['errors']['mape_median_per_batch']}"
        )

    # ---- finite networks
    metrics["finite"] = finite
    ctx.checkpoint("finite", finite)
    todo = units[len(finite) :]
    with ctx.stage("finite"):
        gd_lr = None
        if config.trainer == "gd" and todo:
            gd_lr = 0.5 * stable_learning_rate(kernel(spec, x, dtype="float64"))
        for width, seed in ctx.progress(todo, desc="finite networks"):
            net = config.spec(width)
            p0 = net.init(jax.random.key(seed), config.dim)
            if gd_lr is None:
                test_eval = _test_evaluator(net, tests.x, y_test, config.batch_size)
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
                    drop_last=config.drop_last,
                    eval_at=config.eval_epochs,
                    evaluate=test_eval if config.eval_epochs else None,
                    progress=ctx.verbose,
                )
                lr = config.learning_rate
            else:
                lr = gd_lr
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
            entry = evaluate(predict, _label(width, seed))
            entry.update(width=width, seed=seed, learning_rate=lr, losses=res.losses)
            entry["history"] = list(res.history)
            entry["gap_to_ntk_off_support"] = None
            if model is not None:
                gap = prediction_gap(predict(tests.x), model.predict(tests.x))
                entry["gap_to_ntk_off_support"] = {"rms": gap[0], "relative": gap[1]}
            finite.append(to_jsonable(entry))
            ctx.checkpoint("finite", finite)
            ctx.log(
                f"{_label(width, seed)}: loss {res.losses[-1]:.4g}, median R^2 "
                f"{entry['linearity_origin'].median:.6f}, MAPE "
                f"{entry['errors']['mape_median_per_batch']}"
            )
    metrics["finite_summary"] = _finite_summary(finite)
    for width, s in metrics["finite_summary"].items():
        ctx.log(
            f"width {width}: median R^2 {s['median_r2_origin']}, MAPE {s['mape_median_per_batch']}"
        )

    # ---- width sweep
    metrics["width_sweep"] = ctx.restore("width_sweep")
    if config.sweep_widths and metrics["width_sweep"] is None:
        with ctx.stage("width_sweep"):
            metrics["width_sweep"] = width_sweep(config, ctx=ctx)
        ctx.checkpoint("width_sweep", metrics["width_sweep"])
        ctx.log(
            f"width sweep {config.sweep_widths}: mean relative gap "
            f"{metrics['width_sweep']['mean_relative_gap']}"
        )
    return to_jsonable(metrics)


def _finite_summary(finite: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for width in sorted({e["width"] for e in finite}):
        rows = [e for e in finite if e["width"] == width]
        out[str(width)] = {
            "n_seeds": len(rows),
            "median_r2_origin": [e["linearity_origin"]["median"] for e in rows],
            "median_r2_off_origin": [e["linearity_off_origin"]["median"] for e in rows],
            "mape_median_per_batch": [e["errors"]["mape_median_per_batch"] for e in rows],
            "mape_mean": [e["errors"]["mape_mean"] for e in rows],
            "mse": [e["errors"]["mse"] for e in rows],
        }
    return out


def _plot(metrics: dict[str, Any], ctx: RunContext) -> dict[str, str]:
    """The runner's ``plot``: PNGs from the metrics alone (so also from a saved result.json)."""
    assert ctx.out_dir is not None
    out = ctx.out_dir
    t, g = metrics["target"], metrics["geometry"]
    label = f"{t['name']} target, {g['kind']} r={g['radius']}, d={g['dim']}"
    finite = metrics["finite"]
    files: dict[str, str] = {}
    ray = metrics["ray_example"]
    n_ray = 1 + PLOTTED_NETWORKS["ray"]
    target_on_ray = ray["target"] if ray["target"] is not None else np.full(len(ray["t"]), np.nan)
    files["ray"] = plot_ray(
        ray["t"],
        target_on_ray,
        dict(list(ray["predictions"].items())[:n_ray]),
        out / "ray.png",
        exit_distance=ray["exit_distance"],
        title=f"Along one ray ({label})",
    )
    ntk = metrics["ntk"]
    curves = {} if ntk is None else {"NTK predictor": ntk["curve"]}
    for e in finite[: PLOTTED_NETWORKS["curve"]]:
        curves[_label(e["width"], e["seed"])] = e["curve"]
    files["curve"] = plot_extrapolation_curve(
        curves, out / "curve.png", title=f"Extrapolation error ({label})"
    )
    r2 = {}
    if ntk is not None:
        r2["NTK (origin rays)"] = ntk["linearity_origin"]["r2"]
        r2["NTK (off-origin rays)"] = ntk["linearity_off_origin"]["r2"]
    by_width: dict[int, list[dict[str, Any]]] = {}
    for e in finite:  # every seed counts: the rays of a width's seeds are pooled
        by_width.setdefault(e["width"], []).append(e)
    for width, rows in by_width.items():
        seeds = ", ".join(str(e["seed"]) for e in rows)
        pooled = [v for e in rows for v in e["linearity_origin"]["r2"]]
        r2[f"width {width}, seeds {seeds} (origin rays)"] = pooled
    files["r2_histogram"] = plot_r2_histogram(
        r2, out / "r2_histogram.png", title=f"R² along rays ({label})"
    )
    sweep = metrics["width_sweep"]
    if sweep is not None and sweep["widths"]:
        gaps = {k.replace("_", " "): np.asarray(v) for k, v in sweep["relative_gap"].items()}
        files["width_sweep"] = plot_width_sweep(
            sweep["widths"],
            gaps,
            out / "width_sweep.png",
            title=f"GD-trained net vs NTK ({label})",
        )
    return files


#: The ``curve`` experiment for :mod:`ntkx.runner`.
CURVE: Final = Experiment(
    "curve",
    CurveConfig,
    _run,
    _plot,
    "Feedforward extrapolation for one configuration (arXiv 2009.11848, Section 3): the NTK "
    "predictor and finite networks of one ntkx.mlp spec; writes result.json and PNG plots "
    "(ray, curve, r2_histogram, width_sweep) into --out.",
)


def run_curve(
    config: CurveConfig,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
    resume: bool = False,
) -> dict[str, Any]:
    """Run one configuration: :func:`ntkx.runner.run_experiment` of :data:`CURVE`.

    Returns the record (``config``, ``metrics``, ``seeds``, ``timings``, ...; see
    :mod:`ntkx.runner`); with ``out_dir``, ``result.json`` and the PNG plots are written
    there and listed under ``files`` (relative to ``out_dir``). The units kept for
    ``resume=True`` (an interrupted run in ``out_dir``): the NTK predictor, each finished
    network (width, seed) and the width sweep.

    Example:
        >>> from ntkx.feedforward.experiment import CurveConfig, run_curve
        >>> cfg = CurveConfig(target="l1", dim=2, n_train=64, n_test=64, widths=(32,),
        ...                   epochs=5, n_rays=10)
        >>> res = run_curve(cfg, progress=False)
        >>> res["metrics"]["ntk"]["linearity_origin"]["median"] > 0.99
        True
    """
    return run_experiment(CURVE, config, out_dir, progress=progress, resume=resume)


def curve_main(argv: Sequence[str] | None = None) -> int:
    """``ntkx curve``: flags from :class:`CurveConfig`, ``--out DIR``, ``--resume``, ``--quiet``.

    Returns the exit status: 0 on success, 2 on bad arguments, 130 on Ctrl-C (the partial
    ``result.json`` is written; ``--resume`` with the same flags continues it).
    """
    return cli_main(CURVE, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(curve_main())
