r"""The ``nbody`` experiment: does the representation decide whether an interaction network
extrapolates? (Xu et al., ICLR 2021, arXiv 2009.11848, Section 5 "representation matters").

:data:`NBODY` is an :class:`ntkx.runner.Experiment`; :func:`run_nbody_experiment` runs one
:class:`NBodyConfig`. Data (:mod:`ntkx.graphs.nbody`): three bodies under the paper's gravity,
``n_train`` training frames (minimum pairwise distance > 30), and ``n_test`` frames per test
split: ``in_distribution``, ``mass`` (every mass doubled), ``distance`` (maximum pairwise
distance in (1, 20)) and ``mass_distance`` (both). For each representation (``raw``: body
states only; ``physics``: plus the edge feature :math:`G m_s (x_s - x_r) / \max(d, 1)^3`) the
predictor is the infinitely wide :func:`ntkx.interaction_network` (relation MLP of ``depth``
layers, object MLP of ``object_depth``) trained to convergence: ridge-free
:func:`ntkx.kernel_regression` with its closed-form NTK, on one item per (frame, receiver).

**Finite networks** (``method="finite"``): the same specs at ``width`` trained by
:func:`ntkx.train_adam` on the same items and targets (``epochs``, ``batch_size``,
``learning_rate`` halved every ``epochs / 4``; weight decay 1e-5); the paper trains 2,000 epochs
at learning rate 0.005, batch 32.

**Model form.** ``residual=True`` (default): the network predicts the velocity *change* and
the next velocity is :math:`\hat v' = v + f(\text{items})` (a skip connection from the
receiver's velocity). ``residual=False`` predicts :math:`v'` itself, as the paper's network does;
the kernel predictor then has to learn the identity on ``v`` from a few thousand items, and
its error is larger than that of copying ``v``, which hides the representation's effect
(measured with the defaults, 1,000 frames: in distribution raw 3.07%, physics 2.83%, copying
1.93%; masses x2 and distances < 20: raw 23.3%, physics 14.3%, copying 16.4%).

**Scaling.** Inputs and targets are divided by constants from the training frames (root mean
square of the masses, of the position coordinates, of the velocity coordinates, of the edge
features, of the targets); a fixed linear map, so the target stays linear in the aggregated
physics feature.

**Metrics** (percent; :func:`ntkx.metrics.vector_mape`): per representation
``train_mape``, ``test_mape`` (the combined split ``mass_distance``), ``split_mape`` per split,
``split_change_mape`` (the error relative to the true change ``v' - v``), ``split_body_median``
(median change error per body; body 0 is the heavy centre), ``mass_sweep_mape`` (test frames
with every mass times each of ``mass_factors``) and ``distance_bin_mape`` (in-distribution and
distance test frames binned by their minimum pairwise distance). Also ``copy_velocity_mape``
(predicting ``v' = v``: the floor any useful model must beat; also per mass factor and
distance bin), ``ratio_raw_over_physics`` per split, and ``trajectories``: ``rollout_steps``
steps of two scenes (one of the training kind, one close encounter) simulated and rolled out by
each model from the same start. With an output
directory the runner writes ``result.json`` and ``trajectories.png``, ``error_vs_mass.png``,
``error_vs_distance.png``.

The command ``ntkx nbody [--quick] --out DIR`` is :func:`nbody_main`.

Example:
    >>> cfg = NBodyConfig(quick=True)
    >>> cfg.n_train, cfg.n_test, cfg.residual
    (100, 40, True)
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Sequence
from typing import Any, Final

import jax
import numpy as np

from ntkx.core.solvers import kernel_regression
from ntkx.core.training import train_adam
from ntkx.core.validation import (
    check_bool,
    check_choice,
    check_finite_number,
    check_nonnegative_int,
    check_positive_int,
)
from ntkx.graphs.interaction import InteractionNetwork, interaction_network
from ntkx.graphs.nbody import (
    CLOSE_START_DISTANCE,
    DT,
    REPRESENTATIONS,
    SPLITS,
    STATE_DIM,
    TRAIN_MIN_DISTANCE,
    NBodyFrames,
    edge_features,
    interaction_items,
    nbody_split,
    orbit_scenes,
    simulate,
)
from ntkx.metrics import vector_mape
from ntkx.plotting import plot_nbody_error_vs_distance, plot_nbody_error_vs_mass, plot_trajectories
from ntkx.runner import Experiment, RunContext, cli_main, run_experiment

__all__ = [
    "NBODY",
    "QUICK",
    "NBodyConfig",
    "fit_predictor",
    "nbody_main",
    "run_nbody_experiment",
]

TEST_SPLITS: Final = SPLITS[1:]
#: The split whose MAPE is each representation's ``test_mape``: masses and distances both out.
HEADLINE_SPLIT: Final = "mass_distance"
DEFAULTS: Final[dict[str, Any]] = {
    "n_train": 1000,
    "n_test": 500,
    "rollout_steps": 200,
    "epochs": 200,
}
QUICK: Final[dict[str, Any]] = {"n_train": 100, "n_test": 40, "rollout_steps": 40, "epochs": 20}
METHODS: Final = ("kernel", "finite")
#: Bin edges (minimum pairwise distance of a frame) for ``distance_bin_mape``.
DISTANCE_BINS: Final = (1.0, 3.0, 10.0, 20.0, 30.0, 60.0, 120.0, 1000.0)


@dataclasses.dataclass(frozen=True)
class NBodyConfig:
    """n-body extrapolation: raw against physics-aligned features (arXiv 2009.11848, Sec. 5)."""

    n_train: int | None = None
    """training frames (3 items each; default 1000, quick 100)"""
    n_test: int | None = None
    """frames per test split and per mass factor (default 500, quick 40)"""
    residual: bool = True
    """predict the velocity change and add the current velocity (a skip connection)"""
    depth: int = 4
    """dense layers of the relation MLP (the paper: 4)"""
    object_depth: int = 2
    """dense layers of the object MLP (the paper: 2)"""
    b_std: float = 0.1
    """bias standard deviation of every dense layer"""
    ridge: float = 0.0
    """absolute ridge of the kernel regression (on scaled targets)"""
    method: str = "kernel"
    """kernel: closed-form NTK predictor; finite: networks of width `width` trained by Adam"""
    width: int = 128
    """finite networks: hidden width of both MLPs (the paper: 128)"""
    epochs: int | None = None
    """finite networks: Adam epochs (default 200, quick 20), learning rate halved 4 times"""
    learning_rate: float = 1e-3
    """finite networks: initial Adam learning rate"""
    batch_size: int = 32
    """finite networks: minibatch size in items (the paper: 32)"""
    mass_factors: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
    """every mass times these for the error-against-mass sweep (training: 1)"""
    rollout_steps: int | None = None
    """steps of the trajectory rollouts (default 200, quick 40)"""
    seed: int = 0
    """data from default_rng([seed, k]) for split k"""
    quick: bool = False
    """small sizes for a smoke test, applied only to the fields not given"""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        check_bool("quick", self.quick)
        check_bool("residual", self.residual)
        check_choice("method", self.method, METHODS)
        for name in ("n_train", "n_test", "rollout_steps", "epochs"):
            if getattr(self, name) is None:
                set_(self, name, (QUICK if self.quick else DEFAULTS)[name])
            set_(self, name, check_positive_int(name, getattr(self, name)))
        for name in ("depth", "object_depth", "width", "batch_size"):
            set_(self, name, check_positive_int(name, getattr(self, name)))
        set_(self, "b_std", check_finite_number("b_std", self.b_std, minimum=0.0))
        set_(self, "ridge", check_finite_number("ridge", self.ridge, minimum=0.0))
        set_(
            self,
            "learning_rate",
            check_finite_number("learning_rate", self.learning_rate, minimum=0.0, strict=True),
        )
        factors = self.mass_factors
        if isinstance(factors, int | float):
            factors = (factors,)
        if not factors:
            raise ValueError(f"mass_factors={factors!r} is not allowed; expected factors > 0.")
        set_(
            self,
            "mass_factors",
            tuple(
                check_finite_number(f"mass_factors[{i}]", f, minimum=0.0, strict=True)
                for i, f in enumerate(factors)
            ),
        )
        check_nonnegative_int("seed", self.seed)

    def network(self, representation: str) -> InteractionNetwork:
        """The spec for one representation (2 senders, 5 state features, 2 or 0 edge ones)."""
        check_choice("representation", representation, REPRESENTATIONS)
        edge_dim = 2 if representation == "physics" else 0
        return interaction_network(
            2, STATE_DIM, edge_dim, self.depth, self.object_depth, self.width, b_std=self.b_std
        )


class _Scaler:
    """Constant scales from the training frames (see the module docstring)."""

    def __init__(self, train: NBodyFrames, residual: bool):
        s = train.states()
        rms = lambda a: float(np.sqrt(np.mean(np.square(a))))  # noqa: E731
        m, x, v = rms(s[..., 0]), rms(s[..., 1:3]), rms(s[..., 3:5])
        self.state = np.array([m, x, x, v, v])
        self.edge = rms(edge_features(train.masses, train.positions))
        self.residual = residual
        self.target = rms(train.targets - self.base(train))

    def base(self, frames: NBodyFrames) -> np.ndarray:
        """What the model adds to its output: the current velocities (residual) or 0."""
        v = frames.velocities.reshape(-1, 2)
        return v if self.residual else np.zeros_like(v)

    def items(self, frames: NBodyFrames, representation: str) -> np.ndarray:
        return self.scale(frames.items(representation), representation)

    def scale(self, items: np.ndarray, representation: str) -> np.ndarray:
        """Items (:func:`interaction_items` layout, two senders) divided by their scales."""
        edge = [self.edge] * 2 if representation == "physics" else []
        sender = np.concatenate([self.state, edge])
        return items / np.concatenate([self.state, sender, sender])


class _Model:
    """A fitted predictor on scaled items: ``predict(items) -> scaled outputs`` and a record."""

    def __init__(self, config: NBodyConfig, rep: str, train: NBodyFrames, scaler: _Scaler):
        net = config.network(rep)
        x = scaler.items(train, rep)
        y = (train.targets - scaler.base(train)) / scaler.target
        self.scaler, self.rep = scaler, rep
        if config.method == "kernel":
            model = kernel_regression(net, x, y, config.ridge, dtype="float64")
            self.predict_items: Callable[[np.ndarray], np.ndarray] = model.predict
            self.info: dict[str, Any] = {"solve_path": model.diagnostics.path}
            return
        params = net.init(jax.random.key(config.seed), net.item_dim)
        res = train_adam(
            net,
            params,
            x,
            y,
            key=jax.random.key(config.seed + 1),
            learning_rate=config.learning_rate,
            epochs=config.epochs,
            batch_size=config.batch_size,
            lr_halving_every=max(1, config.epochs // 4),
        )
        apply = jax.jit(net.apply)
        self.predict_items = lambda items: np.asarray(apply(res.params, items), np.float64)
        losses = np.asarray(res.losses)
        self.info = {"final_loss": float(losses[-1]), "epochs": int(config.epochs)}

    def __call__(self, frames: NBodyFrames) -> np.ndarray:
        """Next velocities ``(n B, 2)`` of every (frame, receiver) item."""
        out = self.predict_items(self.scaler.items(frames, self.rep))
        return out * self.scaler.target + self.scaler.base(frames)


def fit_predictor(
    config: NBodyConfig, representation: str, train: NBodyFrames
) -> Callable[[NBodyFrames], np.ndarray]:
    """The predictor of ``config.network(representation)`` fitted on ``train`` (the NTK
    predictor, or with ``method="finite"`` a network trained by Adam), as a function
    ``frames -> next velocities (n B, 2)`` (scaling and residual as in the module doc).

    Example:
        >>> from ntkx.graphs.nbody import nbody_split
        >>> train = nbody_split("train", 10, seed=0, n_scenes=4)
        >>> predict = fit_predictor(NBodyConfig(depth=1, object_depth=1), "physics", train)
        >>> predict(train).shape
        (30, 2)
    """
    check_choice("representation", representation, REPRESENTATIONS)
    return _Model(config, representation, train, _Scaler(train, config.residual))


def _body_median(frames: NBodyFrames, pred: np.ndarray) -> list[float]:
    v = frames.velocities.reshape(-1, 2)
    rel = np.linalg.norm(pred - frames.targets, axis=1) / np.linalg.norm(frames.targets - v, axis=1)
    return (100 * np.median(rel.reshape(len(frames), -1), axis=0)).tolist()


def _distance_bins(frames: Sequence[NBodyFrames], preds: Sequence[np.ndarray]) -> dict[str, Any]:
    lo = np.concatenate([f.item_frame(f.min_distance) for f in frames])
    truth = np.concatenate([f.targets for f in frames])
    pred = np.concatenate(preds)
    mape, count = [], []
    for a, b in itertools.pairwise(DISTANCE_BINS):
        sel = (lo > a) & (lo <= b)
        count.append(int(sel.sum()))
        mape.append(vector_mape(truth[sel], pred[sel]) if sel.any() else None)
    return {"mape": mape, "items": count}


def _rollout(model: _Model, init: tuple[np.ndarray, ...], steps: int) -> np.ndarray:
    """Positions ``(S, steps + 1, B, 2)`` from iterating the model's next velocity."""
    m, x, v = init
    out = [x]
    for _ in range(steps):
        states = np.concatenate([m[..., None], x, v], axis=-1)
        edges = edge_features(m, x) if model.rep == "physics" else None
        items = model.scaler.scale(interaction_items(states, edges), model.rep)
        step = model.predict_items(items) * model.scaler.target
        v = step.reshape(v.shape) + (v if model.scaler.residual else 0.0)
        x = x + v * DT
        out.append(x)
    return np.stack(out, axis=1)


def _run(config: NBodyConfig, ctx: RunContext) -> dict[str, Any]:
    with ctx.stage("data"):
        train = nbody_split("train", config.n_train, [config.seed, 0])
        tests = {
            s: nbody_split(s, config.n_test, [config.seed, k + 1])
            for k, s in enumerate(TEST_SPLITS)
        }
        sweep = [
            nbody_split("in_distribution", config.n_test, [config.seed, 10 + k], mass_factor=f)
            for k, f in enumerate(config.mass_factors)
        ]
        rng = np.random.default_rng([config.seed, 99])
        scenes = [orbit_scenes(1, rng), orbit_scenes(1, rng, distance_range=CLOSE_START_DISTANCE)]
        init = tuple(np.concatenate(parts) for parts in zip(*scenes, strict=True))
        truth = simulate(*init, config.rollout_steps).positions
    scaler = _Scaler(train, config.residual)
    ctx.log(f"{len(train)} training frames ({3 * len(train)} items), {config.n_test} per test set")
    metrics: dict[str, Any] = {
        "model": (
            "closed-form NTK predictor (ridge-free kernel regression)"
            if config.method == "kernel"
            else f"finite networks of width {config.width} trained by Adam ({config.epochs} "
            f"epochs, batch {config.batch_size}, learning rate {config.learning_rate:g} halved "
            "4 times)"
        )
        + f" of interaction_network(depth={config.depth}, object_depth={config.object_depth}, "
        f"b_std={config.b_std})",
        "headline_split": HEADLINE_SPLIT,
        "residual": config.residual,
        "data": {
            name: {
                "frames": len(f),
                "min_distance": [float(f.min_distance.min()), float(f.min_distance.max())],
                "max_distance": [float(f.max_distance.min()), float(f.max_distance.max())],
                "center_mass": float(f.masses[:, 0].max()),
            }
            for name, f in {"train": train, **tests}.items()
        },
        "copy_velocity_mape": {
            s: vector_mape(f.targets, f.velocities.reshape(-1, 2)) for s, f in tests.items()
        },
        "copy_velocity_mass_sweep_mape": [
            vector_mape(f.targets, f.velocities.reshape(-1, 2)) for f in sweep
        ],
        "copy_velocity_distance_bin_mape": _distance_bins(
            [tests["in_distribution"], tests["distance"]],
            [f.velocities.reshape(-1, 2) for f in (tests["in_distribution"], tests["distance"])],
        ),
        "mass_factors": list(config.mass_factors),
        "distance_bins": list(DISTANCE_BINS),
        "train_min_distance": TRAIN_MIN_DISTANCE,
        "trajectories": {"true": truth.tolist()},
    }
    for rep in REPRESENTATIONS:
        with ctx.stage(f"fit_{rep}"):
            model = _Model(config, rep, train, scaler)
            preds = {s: model(f) for s, f in tests.items()}
            row: dict[str, Any] = {
                "train_mape": vector_mape(train.targets, model(train)),
                "split_mape": {s: vector_mape(f.targets, preds[s]) for s, f in tests.items()},
                "split_change_mape": {
                    s: vector_mape(f.targets, preds[s], reference=f.velocities.reshape(-1, 2))
                    for s, f in tests.items()
                },
                "split_body_median": {s: _body_median(f, preds[s]) for s, f in tests.items()},
                "mass_sweep_mape": [vector_mape(f.targets, model(f)) for f in sweep],
                "distance_bin_mape": _distance_bins(
                    [tests["in_distribution"], tests["distance"]],
                    [preds["in_distribution"], preds["distance"]],
                ),
                **model.info,
            }
            row["test_mape"] = row["split_mape"][HEADLINE_SPLIT]
        with ctx.stage(f"rollout_{rep}"):
            metrics["trajectories"][rep] = _rollout(model, init, config.rollout_steps).tolist()
        metrics[rep] = row
        ctx.checkpoint(rep, row)
        ctx.log(
            f"{rep}: train MAPE {row['train_mape']:.3g}%, test MAPE "
            + ", ".join(f"{s} {v:.3g}%" for s, v in row["split_mape"].items())
        )
    raw, phys = metrics["raw"]["split_mape"], metrics["physics"]["split_mape"]
    metrics["ratio_raw_over_physics"] = {s: raw[s] / phys[s] for s in TEST_SPLITS}
    return metrics


def _plot(metrics: dict[str, Any], ctx: RunContext) -> dict[str, str]:
    """The runner's ``plot``: PNGs from the metrics alone (so also from a saved result.json)."""
    assert ctx.out_dir is not None

    def label(rep: str) -> str:
        return f"{rep} features (train MAPE {metrics[rep]['train_mape']:.2g}%)"

    traj = metrics["trajectories"]
    copy = "no model: copy the current velocity"
    return {
        "trajectories": plot_trajectories(
            np.asarray(traj["true"]),
            {f"{rep} features": np.asarray(traj[rep]) for rep in REPRESENTATIONS},
            ctx.out_dir / "trajectories.png",
            scene_titles=["training kind (start 10-100 from the centre)", "close encounter"],
            dt=DT,
        ),
        "error_vs_mass": plot_nbody_error_vs_mass(
            metrics["mass_factors"],
            {
                **{label(rep): metrics[rep]["mass_sweep_mape"] for rep in REPRESENTATIONS},
                copy: metrics["copy_velocity_mass_sweep_mape"],
            },
            ctx.out_dir / "error_vs_mass.png",
        ),
        "error_vs_distance": plot_nbody_error_vs_distance(
            metrics["distance_bins"],
            {
                **{
                    label(rep): metrics[rep]["distance_bin_mape"]["mape"] for rep in REPRESENTATIONS
                },
                copy: metrics["copy_velocity_distance_bin_mape"]["mape"],
            },
            ctx.out_dir / "error_vs_distance.png",
            train_min=metrics["train_min_distance"],
        ),
    }


#: The ``nbody`` experiment for :mod:`ntkx.runner`.
NBODY: Final = Experiment(
    "nbody",
    NBodyConfig,
    _run,
    _plot,
    "n-body extrapolation of interaction networks, raw against physics-aligned features "
    "(arXiv 2009.11848, Section 5): writes result.json, trajectories.png, error_vs_mass.png and "
    "error_vs_distance.png into --out.",
)


def run_nbody_experiment(
    config: NBodyConfig, out_dir: str | os.PathLike[str] | None = None, *, progress: bool = True
) -> dict[str, Any]:
    """Run one configuration (:func:`ntkx.runner.run_experiment` of :data:`NBODY`)."""
    return run_experiment(NBODY, config, out_dir, progress=progress)


def nbody_main(argv: Sequence[str] | None = None) -> int:
    """``ntkx nbody``: flags from :class:`NBodyConfig`, ``--out DIR``, ``--quiet``; returns the
    exit status (0 success, 2 bad arguments, 130 Ctrl-C)."""
    return cli_main(NBODY, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(nbody_main())
