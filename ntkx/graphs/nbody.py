r"""Three bodies under Newtonian gravity: simulation, features and the out-of-range test sets.

The n-body task of Xu et al., How Neural Networks Extrapolate, ICLR 2021 (arXiv 2009.11848,
Section 5 and appendix C.7): predict each body's velocity at the next time step.

**Physics** (the paper's settings). Two dimensions, gravitational constant ``G = 1e5``; the
acceleration of receiver :math:`r` is

.. math::
    a_r = \sum_{s \ne r} G\, m_s \frac{x_s - x_r}{\max(\lVert x_s - x_r \rVert, 1)^3}

(the force :math:`G m_r m_s (x_s - x_r) / \max(d, 1)^3` divided by :math:`m_r`), and one
semi-implicit Euler step of ``dt = 0.001`` is :math:`v' = v + a\,dt`, :math:`x' = x + v'\,dt`.

**Scenes** (``"orbit"``): a centre body of mass 100 at rest at the origin; every other body with
mass ``U[0.02, 9]``, at distance ``U[10, 100]`` from the centre at a uniform angle, moving
tangentially (counter-clockwise) with speed :math:`G M_\text{centre} / (1000 r)` (the paper's
formula; circular only at ``r = 10``). 500 steps per scene. Every pair of consecutive frames is
one sample: the input is every body's state ``(m, x, y, vx, vy)`` at step ``t``, the target each
body's ``(vx, vy)`` at step ``t + 1``.

**Splits** (:data:`SPLITS`, :func:`nbody_split`). ``"train"`` and ``"in_distribution"``: frames
whose minimum pairwise distance exceeds 30 (the paper's training filter). Masses out of range
(``"mass"``): the centre mass and the other masses both doubled (so the initial speeds double
too), frames filtered as in training. Distances out of range (``"distance"``): frames whose
*maximum* pairwise distance lies in ``(1, 20)``; such frames are rare among the training scenes,
so they are drawn from scenes whose bodies start ``U[5, 15]`` from the centre (ntkx's choice, to
find them without simulating thousands of scenes; the paper filters its own scenes) and then
filtered. ``"mass_distance"``: both at once. Training frames have pairwise distances above 30,
so the distance test sets share no frame geometry with them.

**Representations** (:data:`REPRESENTATIONS`, :func:`edge_features`). ``"raw"``: the states only
(the paper's raw run feeds an all-zero edge feature; it carries nothing, so ntkx leaves it out).
``"physics"``: each ordered pair ``(r, s)`` also carries :math:`e_{rs} = G m_s (x_s - x_r) /
\max(d, 1)^3`, so that :math:`v'_r = v_r + dt \sum_s e_{rs}`: the target is *linear* in the
sum-aggregated edge feature and the receiver's state (linear algorithmic alignment).

**Items** (:func:`interaction_items`): one row per (frame, receiver), the layout of
:class:`ntkx.InteractionNetwork`: ``[state_r, state_s1, e_{r s1}, state_s2, e_{r s2}, ...]``
over the other bodies in index order.

**Metric** (:func:`ntkx.metrics.vector_mape`): ``100 mean ||v_hat - v|| / ||v||`` over
(frame, body) items, the relative error of the predicted velocity *vector* (a per-component
percentage error divides by components that pass through zero on every orbit). It can also score
the velocity *change* ``v' - v`` (``reference=``), which a model cannot get right by copying ``v``.

Example:
    >>> from ntkx.graphs.nbody import nbody_split
    >>> data = nbody_split("train", 20, seed=0, n_scenes=4)
    >>> data.items("physics").shape, data.targets.shape
    ((60, 19), (60, 2))
    >>> bool(data.min_distance.min() > 30.0)
    True
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import numpy as np
from jaxtyping import Float

from ntkx.core.validation import (
    check_choice,
    check_finite_number,
    check_positive_int,
    check_positive_range,
)

__all__ = [
    "DT",
    "REPRESENTATIONS",
    "SPLITS",
    "G",
    "NBodyFrames",
    "Trajectories",
    "accelerations",
    "edge_features",
    "interaction_items",
    "nbody_split",
    "orbit_scenes",
    "simulate",
]

#: The paper's gravitational constant and time step.
G: Final = 1e5
DT: Final = 1e-3
#: State of one body: mass, position (x, y), velocity (vx, vy).
STATE_DIM: Final = 5
REPRESENTATIONS: Final = ("raw", "physics")
SPLITS: Final = ("train", "in_distribution", "mass", "distance", "mass_distance")
#: Training frames keep a minimum pairwise distance above this (the paper's filter).
TRAIN_MIN_DISTANCE: Final = 30.0
#: Distance extrapolation: frames whose maximum pairwise distance is in this open interval.
CLOSE_MAX_DISTANCE: Final = (1.0, 20.0)
#: Start distances of the scenes searched for close frames (see the module docstring).
CLOSE_START_DISTANCE: Final = (5.0, 15.0)
#: Mass extrapolation: every mass times this.
MASS_FACTOR: Final = 2.0


class Trajectories(NamedTuple):
    """Simulated scenes.

    Attributes:
        masses: ``(S, B)``.
        positions: ``(S, T + 1, B, 2)``, the initial frame first.
        velocities: ``(S, T + 1, B, 2)``.
    """

    masses: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray


def _check_bodies(masses: Any, positions: Any) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(masses, dtype=np.float64)
    x = np.asarray(positions, dtype=np.float64)
    if x.ndim < 2 or x.shape[-1] != 2:
        raise ValueError(
            f"positions has shape {x.shape}; expected (..., n_bodies, 2) (2-D positions)."
        )
    if m.shape != x.shape[:-1]:
        raise ValueError(
            f"masses has shape {m.shape}; expected {x.shape[:-1]} (one mass per body of "
            f"positions {x.shape})."
        )
    if x.shape[-2] < 2:
        raise ValueError(f"positions has {x.shape[-2]} bodies; expected at least 2.")
    for name, arr in (("masses", m), ("positions", x)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains non-finite values; expected finite values only.")
    if (m <= 0).any():
        raise ValueError(f"masses has a value {m.min():g} <= 0; expected positive masses.")
    return m, x


def edge_features(
    masses: Float[np.ndarray, "... B"],
    positions: Float[np.ndarray, "... B 2"],
    gravity: float = G,
) -> Float[np.ndarray, "... B B 2"]:
    r"""The physics edge feature :math:`e_{rs} = G m_s (x_s - x_r) / \max(\lVert x_s - x_r
    \rVert, 1)^3` for every ordered pair, ``[..., r, s, :]`` (zero on the diagonal ``r = s``).

    Its sum over senders is the receiver's acceleration (:func:`accelerations`).

    Example:
        >>> import numpy as np
        >>> e = edge_features(np.array([1.0, 2.0]), np.array([[0.0, 0.0], [2.0, 0.0]]), 1.0)
        >>> e[0, 1].tolist(), e[1, 0].tolist()  # 1 * 2 * 2 / 2^3, 1 * 1 * (-2) / 2^3
        ([0.5, 0.0], [-0.25, 0.0])
    """
    m, x = _check_bodies(masses, positions)
    gravity = check_finite_number("gravity", gravity, minimum=0.0)
    diff = x[..., None, :, :] - x[..., :, None, :]  # [r, s] = x_s - x_r
    dist = np.maximum(np.linalg.norm(diff, axis=-1), 1.0)
    return gravity * m[..., None, :, None] * diff / dist[..., None] ** 3


def accelerations(
    masses: Float[np.ndarray, "... B"],
    positions: Float[np.ndarray, "... B 2"],
    gravity: float = G,
) -> Float[np.ndarray, "... B 2"]:
    r"""Every body's acceleration :math:`a_r = \sum_{s \ne r} e_{rs}` (:func:`edge_features`)."""
    return edge_features(masses, positions, gravity).sum(axis=-2)


def simulate(
    masses: Float[np.ndarray, "S B"],
    positions: Float[np.ndarray, "S B 2"],
    velocities: Float[np.ndarray, "S B 2"],
    n_steps: int,
    *,
    dt: float = DT,
    gravity: float = G,
) -> Trajectories:
    r"""Semi-implicit Euler: :math:`v_{t+1} = v_t + a(x_t)\,dt`, :math:`x_{t+1} = x_t +
    v_{t+1}\,dt`, for ``n_steps`` steps of every scene at once.

    Example:
        >>> import numpy as np
        >>> tr = simulate(np.ones((1, 2)), np.array([[[0.0, 0.0], [2.0, 0.0]]]),
        ...               np.zeros((1, 2, 2)), 1, dt=0.1, gravity=8.0)
        >>> tr.velocities[0, 1].tolist()  # a = 8 * 1 * (+-2) / 2^3 = +-2, v = a * 0.1
        [[0.2, 0.0], [-0.2, 0.0]]
    """
    m, x = _check_bodies(masses, positions)
    v = np.asarray(velocities, dtype=np.float64)
    if v.shape != x.shape:
        raise ValueError(f"velocities has shape {v.shape}; expected {x.shape} (as positions).")
    if not np.isfinite(v).all():
        raise ValueError("velocities contains non-finite values; expected finite values only.")
    n_steps = check_positive_int("n_steps", n_steps)
    dt = check_finite_number("dt", dt, minimum=0.0, strict=True)
    gravity = check_finite_number("gravity", gravity, minimum=0.0)
    xs = np.empty((*x.shape[:-2], n_steps + 1, *x.shape[-2:]))
    vs = np.empty_like(xs)
    xs[..., 0, :, :], vs[..., 0, :, :] = x, v
    for t in range(n_steps):
        v = v + accelerations(m, x, gravity) * dt
        x = x + v * dt
        xs[..., t + 1, :, :], vs[..., t + 1, :, :] = x, v
    return Trajectories(m, xs, vs)


def orbit_scenes(
    n_scenes: int,
    seed: Any = 0,
    *,
    n_bodies: int = 3,
    center_mass: float = 100.0,
    mass_range: tuple[float, float] = (0.02, 9.0),
    distance_range: tuple[float, float] = (10.0, 100.0),
    mass_factor: float = 1.0,
    gravity: float = G,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Initial states of ``"orbit"`` scenes: ``(masses (S, B), positions (S, B, 2),
    velocities (S, B, 2))``; body 0 is the centre.

    Masses are multiplied by ``mass_factor`` (the centre's too) before the speeds
    :math:`G M_\text{centre} / (1000 r)` are set. ``seed``: an int or a NumPy Generator.
    """
    n_scenes = check_positive_int("n_scenes", n_scenes)
    n_bodies = check_positive_int("n_bodies", n_bodies)
    if n_bodies < 2:
        raise ValueError(f"n_bodies={n_bodies} is not allowed; expected at least 2.")
    center_mass = check_finite_number("center_mass", center_mass, minimum=0.0, strict=True)
    mass_factor = check_finite_number("mass_factor", mass_factor, minimum=0.0, strict=True)
    m_lo, m_hi = check_positive_range("mass_range", mass_range)
    d_lo, d_hi = check_positive_range("distance_range", distance_range)
    rng = np.random.default_rng(seed)
    k = n_bodies - 1
    masses = np.concatenate(
        [np.full((n_scenes, 1), center_mass), rng.uniform(m_lo, m_hi, (n_scenes, k))], axis=1
    )
    masses = masses * mass_factor
    r = rng.uniform(d_lo, d_hi, (n_scenes, k))
    angle = rng.uniform(0.0, 2 * np.pi, (n_scenes, k))
    unit = np.stack([np.cos(angle), np.sin(angle)], axis=-1)
    tangent = np.stack([-np.sin(angle), np.cos(angle)], axis=-1)
    speed = gravity * masses[:, :1] / (1000.0 * r)
    positions = np.concatenate([np.zeros((n_scenes, 1, 2)), r[..., None] * unit], axis=1)
    velocities = np.concatenate([np.zeros((n_scenes, 1, 2)), speed[..., None] * tangent], axis=1)
    return masses, positions, velocities


class NBodyFrames(NamedTuple):
    """Samples of one split: frames at step ``t`` and every body's velocity at ``t + 1``.

    Attributes:
        masses: ``(n, B)``.
        positions, velocities: ``(n, B, 2)`` at step ``t``.
        targets: ``(n B, 2)``, each (frame, receiver) item's next velocity, frame-major (the
            rows of :meth:`items`).
        min_distance, max_distance: ``(n,)`` pairwise distances of each frame.
        scene, step: ``(n,)`` where each frame comes from.
        split: the split's name.
    """

    masses: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    targets: np.ndarray
    min_distance: np.ndarray
    max_distance: np.ndarray
    scene: np.ndarray
    step: np.ndarray
    split: str

    def __len__(self) -> int:
        return len(self.masses)

    def items(self, representation: str) -> np.ndarray:
        """Inputs ``(n B, D)`` of :class:`ntkx.InteractionNetwork` (:func:`interaction_items`)."""
        check_choice("representation", representation, REPRESENTATIONS)
        edges = edge_features(self.masses, self.positions) if representation == "physics" else None
        return interaction_items(self.states(), edges)

    def states(self) -> np.ndarray:
        """Body states ``(n, B, 5)``: ``(m, x, y, vx, vy)``."""
        return np.concatenate([self.masses[..., None], self.positions, self.velocities], axis=-1)

    def item_frame(self, values: np.ndarray) -> np.ndarray:
        """A per-frame array ``(n, ...)`` repeated for each item ``(n B, ...)``."""
        return np.repeat(np.asarray(values), self.masses.shape[1], axis=0)


def interaction_items(
    states: Float[np.ndarray, "n B F"], edges: Float[np.ndarray, "n B B E"] | None = None
) -> Float[np.ndarray, "nB D"]:
    """One row per (frame, receiver): ``[state_r, state_s, e_rs for each sender s != r]``.

    Senders are the other bodies in index order; ``D = F + (B - 1) (F + E)`` (``E = 0`` without
    edge features). Row ``i B + r`` is receiver ``r`` of frame ``i``.

    Example:
        >>> import numpy as np
        >>> s = np.arange(6.0).reshape(1, 3, 2)  # one frame, 3 bodies, 2 features
        >>> interaction_items(s)[1].tolist()  # receiver 1, then senders 0 and 2
        [2.0, 3.0, 0.0, 1.0, 4.0, 5.0]
    """
    s = np.asarray(states, dtype=np.float64)
    if s.ndim != 3 or s.shape[1] < 2 or s.shape[2] < 1:
        raise ValueError(
            f"states has shape {s.shape}; expected (n_frames, n_bodies >= 2, n_features)."
        )
    n, b, _ = s.shape
    if edges is not None:
        e = np.asarray(edges, dtype=np.float64)
        if e.ndim != 4 or e.shape[:3] != (n, b, b):
            raise ValueError(
                f"edges has shape {e.shape}; expected ({n}, {b}, {b}, n_edge_features) to match "
                f"states {s.shape}."
            )
    rows = []
    for r in range(b):
        parts = [s[:, r]]
        for q in range(b):
            if q != r:
                parts.append(s[:, q])
                if edges is not None:
                    parts.append(e[:, r, q])
        rows.append(np.concatenate(parts, axis=-1))
    return np.stack(rows, axis=1).reshape(n * b, -1)


def _pairwise_extremes(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b = positions.shape[-2]
    diff = positions[..., None, :, :] - positions[..., :, None, :]
    dist = np.linalg.norm(diff, axis=-1)
    iu = np.triu_indices(b, 1)
    pairs = dist[..., iu[0], iu[1]]
    return pairs.min(axis=-1), pairs.max(axis=-1)


def nbody_split(
    split: str,
    n_frames: int,
    seed: Any = 0,
    *,
    n_steps: int = 500,
    n_scenes: int = 100,
    max_rounds: int = 50,
    mass_factor: float | None = None,
) -> NBodyFrames:
    """``n_frames`` samples of one split (:data:`SPLITS`; see the module docstring).

    ``mass_factor`` (optional) replaces the split's mass factor (1, or 2 for the mass splits),
    for sweeps of error against mass.

    Scenes are simulated ``n_scenes`` at a time (``n_steps`` steps each) until enough frames pass
    the split's filter (at most ``max_rounds`` rounds, else ValueError); the frames are then
    drawn without replacement from all that passed. Deterministic given ``seed``.
    """
    check_choice("split", split, SPLITS)
    n_frames = check_positive_int("n_frames", n_frames)
    n_steps = check_positive_int("n_steps", n_steps)
    n_scenes = check_positive_int("n_scenes", n_scenes)
    max_rounds = check_positive_int("max_rounds", max_rounds)
    rng = np.random.default_rng(seed)
    factor = MASS_FACTOR if split in ("mass", "mass_distance") else 1.0
    if mass_factor is not None:
        factor = check_finite_number("mass_factor", mass_factor, minimum=0.0, strict=True)
    close = split in ("distance", "mass_distance")
    start = CLOSE_START_DISTANCE if close else (10.0, 100.0)
    kept: list[tuple[Trajectories, np.ndarray, np.ndarray]] = []
    count = 0
    for _ in range(max_rounds):
        init = orbit_scenes(n_scenes, rng, distance_range=start, mass_factor=factor)
        tr = simulate(*init, n_steps)
        lo, hi = _pairwise_extremes(tr.positions[:, :-1])  # (S, T): frames with a next step
        ok = (lo > CLOSE_MAX_DISTANCE[0]) & (hi < CLOSE_MAX_DISTANCE[1]) if close else (
            lo > TRAIN_MIN_DISTANCE
        )  # fmt: skip
        scene, step = np.nonzero(ok)
        kept.append((tr, scene, step))
        count += len(scene)
        if count >= n_frames:
            break
    else:
        raise ValueError(
            f"n_frames={n_frames} is not allowed for split={split!r}: only {count} frames passed "
            f"its filter in {max_rounds} rounds of {n_scenes} scenes; expected fewer frames or "
            "larger max_rounds."
        )
    offsets = np.cumsum([0] + [len(s) for _, s, _ in kept])
    pick = np.sort(rng.choice(count, size=n_frames, replace=False))
    out: dict[str, list[np.ndarray]] = {k: [] for k in NBodyFrames._fields[:-1]}
    for j, (tr, scene, step) in enumerate(kept):
        local = pick[(pick >= offsets[j]) & (pick < offsets[j + 1])] - offsets[j]
        sc, st = scene[local], step[local]
        x, v = tr.positions[sc, st], tr.velocities[sc, st]
        lo, hi = _pairwise_extremes(x)
        out["masses"].append(tr.masses[sc])
        out["positions"].append(x)
        out["velocities"].append(v)
        out["targets"].append(tr.velocities[sc, st + 1].reshape(-1, 2))
        out["min_distance"].append(lo)
        out["max_distance"].append(hi)
        out["scene"].append(sc + j * n_scenes)
        out["step"].append(st)
    return NBodyFrames(**{k: np.concatenate(v) for k, v in out.items()}, split=split)
