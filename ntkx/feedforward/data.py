r"""Data for the feedforward extrapolation experiments: targets, training geometries, test sets.

The paper (Xu et al., "How Neural Networks Extrapolate", ICLR 2021,
arXiv 2009.11848, Section 3) trains on a bounded *training support* and asks
what the network does outside it. This module provides

* **targets** (:func:`make_target`, :func:`target_from_callable`): linear
  :math:`\beta^\top x + b`, quadratic :math:`x^\top A x`, cos
  :math:`\sum_i \cos(2\pi x_i)` (or :math:`\pi x_i`, as in the official code),
  sqrt :math:`\sum_i \sqrt{x_i}` on the positive orthant, l1 :math:`\|x\|_1`,
  and any user callable; coefficients are drawn from a seed and recorded;
* **training geometries** (:class:`Geometry`, :func:`geometry`,
  :func:`training_set`): cube :math:`[-r, r]^d`, sphere of radius ``r``, ball
  of radius ``r`` (``"ball"`` is uniform in volume; ``"ball_radius_uniform"``
  draws the radius uniformly, as the official code does), an orthogonal basis
  and its negatives (``"basis"``, a Haar-random rotation, Lemma 1), and
  restricted directions (the first ``k`` coordinates of one sign, or
  coordinates held at constants): the paper's ``"all"``, ``"fix1"`` and
  ``"negd"`` training sets (Theorem 2);
* **test sets** (:func:`test_set`): a ball or cube of a larger radius, from
  which points inside the training support are *excluded by default* (the
  official code does not exclude them), with the count recorded;
* **rays** (:func:`rays`) for the directional-linearity protocol.

The *support region* used for "inside the support", distances and ray exits is
convex and contains the training points: the (restricted) cube itself; for a
sphere or ball the (restricted) ball; for the basis the cross-polytope
:math:`\{x : \|Q^\top x\|_1 \le r\}` (the convex hull of the :math:`2d` points).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Final, NamedTuple

import numpy as np
from jaxtyping import Float

from ntkx.core.validation import (
    as_inputs,
    check_choice,
    check_finite_number,
    check_positive_int,
)

__all__ = [
    "GEOMETRY_KINDS",
    "TARGETS",
    "TRAINING_SETS",
    "Geometry",
    "Rays",
    "Target",
    "TestSet",
    "geometry",
    "make_target",
    "rays",
    "target_from_callable",
    "test_set",
    "training_set",
    "unit_directions",
]

TARGETS: Final = ("linear", "quadratic", "cos", "sqrt", "l1")
GEOMETRY_KINDS: Final = ("cube", "sphere", "ball", "ball_radius_uniform", "basis")
#: The paper's restricted-direction training sets (Theorem 2, Figure 4).
TRAINING_SETS: Final = ("all", "fix1", "negd")
COS_FREQUENCIES: Final = {"2pi": 2.0 * np.pi, "pi": np.pi}
TEST_SHAPES: Final = ("ball", "cube")
#: Rejection sampling of test points gives up after this many rounds.
MAX_REJECTION_ROUNDS: Final = 200


# --------------------------------------------------------------------------- targets


@dataclasses.dataclass(frozen=True, eq=False)
class Target:
    """A regression target ``g: R^d -> R`` with the coefficients that define it.

    Call it on ``(n, d)`` inputs to get ``(n,)`` labels. ``domain`` is ``"all"``
    or ``"positive_orthant"`` (sqrt); evaluating outside the domain raises
    ValueError. ``coefficients`` holds the drawn coefficients (JSON-ready lists).
    """

    name: str
    dim: int
    fn: Callable[[np.ndarray], np.ndarray]
    coefficients: dict[str, Any]
    domain: str = "all"
    seed: int | None = None

    def __call__(self, x: Float[np.ndarray, "n d"]) -> Float[np.ndarray, " n"]:
        x = as_inputs("x", x, dim=self.dim).astype(np.float64)
        if self.domain == "positive_orthant" and (x < 0).any():
            raise ValueError(
                f"x has {int((x < 0).sum())} negative coordinate(s) (min {x.min():.3g}); the "
                f"{self.name!r} target is defined on the positive orthant only."
            )
        y = np.asarray(self.fn(x), dtype=np.float64)
        if y.shape != (x.shape[0],):
            y = y.reshape(-1) if y.size == x.shape[0] else y
        if y.shape != (x.shape[0],):
            raise ValueError(
                f"target {self.name!r} returned shape {np.shape(y)}; expected ({x.shape[0]},)."
            )
        if not np.isfinite(y).all():
            raise ValueError(f"target {self.name!r} returned non-finite labels.")
        return y

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (name, dim, domain, seed, coefficients)."""
        return {
            "name": self.name,
            "dim": self.dim,
            "domain": self.domain,
            "seed": self.seed,
            "coefficients": self.coefficients,
        }


def make_target(
    name: str,
    dim: int,
    *,
    seed: int = 0,
    coef_range: float = 1.0,
    bias_range: float = 0.0,
    frequency: str = "2pi",
) -> Target:
    r"""One of the paper's targets, with coefficients drawn from ``seed``.

    * ``"linear"``: :math:`\beta^\top x + b`, :math:`\beta \sim U[-a, a]^d`,
      :math:`b \sim U[-b_r, b_r]` (``a = coef_range``, ``b_r = bias_range``;
      ``bias_range=0`` gives the pure :math:`\beta^\top x` of Lemma 1).
    * ``"quadratic"``: :math:`x^\top A x`, :math:`A \sim U[-a, a]^{d \times d}`
      (not symmetrised, as in the official code; only its symmetric part matters).
    * ``"cos"``: :math:`\sum_i \cos(\omega x_i)` with ``frequency`` ``"2pi"``
      (the paper's text) or ``"pi"`` (the official code).
    * ``"sqrt"``: :math:`\sum_i \sqrt{x_i}` on the positive orthant.
    * ``"l1"``: :math:`\|x\|_1`.

    Example:
        >>> import numpy as np
        >>> from ntkx.feedforward.data import make_target
        >>> g = make_target("l1", 2)
        >>> g(np.array([[1.0, -2.0]])).tolist()
        [3.0]
    """
    check_choice("name", name, TARGETS)
    dim = check_positive_int("dim", dim)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed={seed!r} is not allowed; expected an integer.")
    coef_range = check_finite_number("coef_range", coef_range, minimum=0.0, strict=True)
    bias_range = check_finite_number("bias_range", bias_range, minimum=0.0)
    check_choice("frequency", frequency, COS_FREQUENCIES)
    rng = np.random.default_rng(seed)
    if name == "linear":
        beta = rng.uniform(-coef_range, coef_range, size=dim)
        bias = float(rng.uniform(-bias_range, bias_range)) if bias_range > 0 else 0.0
        return Target(
            name,
            dim,
            lambda x: x @ beta + bias,
            {"beta": beta.tolist(), "bias": bias},
            seed=int(seed),
        )
    if name == "quadratic":
        a = rng.uniform(-coef_range, coef_range, size=(dim, dim))
        return Target(
            name,
            dim,
            lambda x: np.einsum("ni,ij,nj->n", x, a, x),
            {"A": a.tolist()},
            seed=int(seed),
        )
    if name == "cos":
        omega = COS_FREQUENCIES[frequency]
        return Target(
            name,
            dim,
            lambda x: np.cos(omega * x).sum(axis=1),
            {"frequency": frequency, "omega": omega},
            seed=int(seed),
        )
    if name == "sqrt":
        return Target(
            name, dim, lambda x: np.sqrt(x).sum(axis=1), {}, "positive_orthant", int(seed)
        )
    return Target(name, dim, lambda x: np.abs(x).sum(axis=1), {}, seed=int(seed))


def target_from_callable(
    fn: Callable[[np.ndarray], np.ndarray],
    dim: int,
    *,
    name: str = "custom",
    domain: str = "all",
) -> Target:
    """Wrap a user function ``(n, d) -> (n,)`` as a :class:`Target`.

    Example:
        >>> import numpy as np
        >>> from ntkx.feedforward.data import target_from_callable
        >>> g = target_from_callable(lambda x: x[:, 0] ** 3, 2, name="cube0")
        >>> g(np.array([[2.0, 5.0]])).tolist()
        [8.0]
    """
    if not callable(fn):
        raise ValueError(f"fn={fn!r} is not allowed; expected a callable (n, d) -> (n,).")
    check_choice("domain", domain, ("all", "positive_orthant"))
    return Target(name, check_positive_int("dim", dim), fn, {}, domain)


# --------------------------------------------------------------------------- geometry


@dataclasses.dataclass(frozen=True)
class Geometry:
    r"""A training geometry (the distribution of training inputs) and its support region.

    Attributes:
        kind: ``"cube"`` (uniform on :math:`[-r, r]^d`), ``"sphere"`` (uniform on
            the sphere of radius ``r``), ``"ball"`` (uniform in the volume of the
            ball of radius ``r``), ``"ball_radius_uniform"`` (a uniform direction
            times a radius uniform in ``[0, r]``: the official code's "ball",
            denser near the centre), ``"basis"`` (the :math:`2d` points
            :math:`\pm r Q e_i`, ``Q`` Haar-random from ``rotation_seed``).
        dim: input dimension ``d``.
        radius: ``r > 0``.
        n_signed: the first ``n_signed`` coordinates are restricted to one sign
            (cube: ``[0, r]`` or ``[-r, 0]``; sphere/ball: the distribution is
            reflected into that orthant, which keeps it uniform there).
        sign: ``+1`` or ``-1``, the sign of the restricted coordinates.
        fixed: ``((index, value), ...)`` coordinates held at a constant (cube only;
            the paper's ``"fix1"`` is ``((0, 0.1),)``).
        rotation_seed: seed of the basis rotation ``Q``.
    """

    kind: str
    dim: int
    radius: float = 1.0
    n_signed: int = 0
    sign: int = 1
    fixed: tuple[tuple[int, float], ...] = ()
    rotation_seed: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        check_choice("kind", self.kind, GEOMETRY_KINDS)
        set_(self, "dim", check_positive_int("dim", self.dim))
        set_(self, "radius", check_finite_number("radius", self.radius, minimum=0.0, strict=True))
        if isinstance(self.n_signed, bool) or not isinstance(self.n_signed, int | np.integer):
            raise ValueError(f"n_signed={self.n_signed!r} is not allowed; expected an integer.")
        if not 0 <= self.n_signed <= self.dim:
            raise ValueError(
                f"n_signed={self.n_signed} is not allowed; expected 0 <= n_signed <= "
                f"dim={self.dim}."
            )
        check_choice("sign", self.sign, (1, -1))
        fixed = tuple((int(i), float(v)) for i, v in self.fixed)
        for i, v in fixed:
            if not 0 <= i < self.dim:
                raise ValueError(
                    f"fixed index {i} is not allowed; expected 0 <= index < dim={self.dim}."
                )
            check_finite_number(f"fixed value for index {i}", v)
            if i < self.n_signed:
                raise ValueError(
                    f"fixed index {i} is also sign-restricted (n_signed={self.n_signed}); "
                    "expected disjoint coordinates."
                )
        if len({i for i, _ in fixed}) != len(fixed):
            raise ValueError(f"fixed={self.fixed!r} repeats an index; expected distinct indices.")
        if fixed and self.kind != "cube":
            raise ValueError(
                f"fixed={self.fixed!r} is not allowed for kind={self.kind!r}; fixed coordinates "
                "are supported for kind='cube' only."
            )
        if self.n_signed and self.kind == "basis":
            raise ValueError("n_signed is not allowed for kind='basis' (the basis is symmetric).")
        set_(self, "fixed", fixed)

    # ---- sampling

    def rotation(self) -> np.ndarray:
        """The Haar-random orthogonal ``Q`` of ``kind="basis"`` (``(d, d)``)."""
        rng = np.random.default_rng(self.rotation_seed)
        q, r = np.linalg.qr(rng.standard_normal((self.dim, self.dim)))
        return q * np.sign(np.diag(r))  # sign fix makes Q Haar-distributed

    @property
    def n_points(self) -> int | None:
        """Number of distinct points of a finite support (``2d`` for the basis), else None."""
        return 2 * self.dim if self.kind == "basis" else None

    def sample(self, n: int | None, seed: int = 0) -> Float[np.ndarray, "n d"]:
        """Draw ``n`` training inputs ``(n, d)`` (``"basis"``: ``n`` is ``None`` or ``2d``)."""
        d, r = self.dim, self.radius
        if self.kind == "basis":
            if n is not None and n != 2 * d:
                raise ValueError(
                    f"n={n} is not allowed for kind='basis'; the basis support has exactly "
                    f"2 * dim = {2 * d} points (pass n=None)."
                )
            q = self.rotation()
            return r * np.concatenate([q.T, -q.T], axis=0)
        if n is None:
            raise ValueError(f"n=None is only allowed for kind='basis'; got kind={self.kind!r}.")
        n = check_positive_int("n", n)
        rng = np.random.default_rng(seed)
        if self.kind == "cube":
            x = rng.uniform(-r, r, size=(n, d))
        else:
            g = rng.standard_normal((n, d))
            u = g / np.linalg.norm(g, axis=1, keepdims=True)
            if self.kind == "sphere":
                rad = np.full((n, 1), r)
            elif self.kind == "ball":
                rad = r * rng.uniform(size=(n, 1)) ** (1.0 / d)
            else:  # ball_radius_uniform
                rad = r * rng.uniform(size=(n, 1))
            x = u * rad
        k = self.n_signed
        if k:
            x[:, :k] = self.sign * np.abs(x[:, :k])
        for i, v in self.fixed:
            x[:, i] = v
        return x

    # ---- the support region

    def _box(self) -> tuple[np.ndarray, np.ndarray]:
        r = self.radius
        lo, hi = np.full(self.dim, -r), np.full(self.dim, r)
        k = self.n_signed
        if k:
            if self.sign > 0:
                lo[:k] = 0.0
            else:
                hi[:k] = 0.0
        for i, v in self.fixed:
            lo[i] = hi[i] = v
        return lo, hi

    def describe_region(self) -> str:
        """A sentence naming the convex support region used to exclude test points."""
        if self.kind == "cube":
            return "the (restricted) training cube"
        if self.kind == "basis":
            return "the cross-polytope {x : ||Q^T x||_1 <= r}, the convex hull of the basis points"
        return "the (sign-restricted) ball of the training radius, which contains the training hull"

    def distance(self, x: Float[np.ndarray, "n d"]) -> Float[np.ndarray, " n"]:
        """Euclidean distance from each row of ``x`` to the support region (0 inside)."""
        x = as_inputs("x", x, dim=self.dim).astype(np.float64)
        if self.kind == "cube":
            lo, hi = self._box()
            return np.linalg.norm(x - np.clip(x, lo, hi), axis=1)
        if self.kind == "basis":
            y = x @ self.rotation()  # coordinates in the basis Q
            return np.linalg.norm(y - _project_l1_ball(y, self.radius), axis=1)
        # Ball intersected with a sign cone: project onto the cone, then scale
        # onto the ball (exact for a closed convex cone and a ball at its apex).
        p = x.copy()
        k = self.n_signed
        if k:
            p[:, :k] = np.maximum(self.sign * p[:, :k], 0.0) * self.sign
        norm = np.linalg.norm(p, axis=1, keepdims=True)
        scale = np.minimum(1.0, self.radius / np.maximum(norm, 1e-300))
        return np.linalg.norm(x - p * scale, axis=1)

    def contains(self, x: Float[np.ndarray, "n d"], *, atol: float = 1e-9) -> np.ndarray:
        """Boolean mask: rows of ``x`` inside the support region (up to ``atol * r``)."""
        return self.distance(x) <= atol * self.radius

    def exit_distance(
        self, directions: Float[np.ndarray, "m d"], base: Float[np.ndarray, " d"] | None = None
    ) -> Float[np.ndarray, " m"]:
        r"""For rays :math:`b + t v`, the largest :math:`t \ge 0` with the point in the region.

        Rays whose intersection with the region has zero length (they miss it, or
        touch it in one point: from the origin, most rays for ``"fix1"`` and
        ``"negd"``) get the exit distance from the unrestricted shape (the cube
        :math:`[-r, r]^d` or the ball of radius ``r``) instead.
        """
        v = as_inputs("directions", directions, dim=self.dim).astype(np.float64)
        b = np.zeros(self.dim) if base is None else _as_point("base", base, self.dim)
        if self.kind == "cube":
            lo, hi = self._box()
            t_hi = _box_exit(b, v, lo, hi)
            fallback = _box_exit(
                b, v, np.full(self.dim, -self.radius), np.full(self.dim, self.radius)
            )
            return np.where(np.isfinite(t_hi), t_hi, fallback)
        if self.kind == "basis":
            return _convex_exit_bisect(self, b, v)
        t_hi = _ball_exit(b, v, self.radius)
        k = self.n_signed
        if k:
            # half-spaces sign * x_i >= 0 for i < k: each gives an interval in t
            lo_t = np.zeros(v.shape[0])
            up_t = t_hi.copy()
            for i in range(k):
                s_b, s_v = self.sign * b[i], self.sign * v[:, i]
                with np.errstate(divide="ignore", invalid="ignore"):
                    root = -s_b / s_v
                up_t = np.where(s_v < 0, np.minimum(up_t, root), up_t)
                lo_t = np.where(s_v > 0, np.maximum(lo_t, root), lo_t)
                up_t = np.where((s_v == 0) & (s_b < 0), -np.inf, up_t)
            ok = up_t > lo_t + 1e-12 * (1 + np.abs(lo_t))
            return np.where(ok & np.isfinite(up_t), up_t, _ball_exit(b, v, self.radius))
        return t_hi

    def describe(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "kind": self.kind,
            "dim": self.dim,
            "radius": self.radius,
            "n_signed": self.n_signed,
            "sign": self.sign,
            "fixed": [list(f) for f in self.fixed],
            "rotation_seed": self.rotation_seed,
            "support_region": self.describe_region(),
        }


def geometry(kind: str, dim: int, radius: float = 1.0, **kwargs: Any) -> Geometry:
    """Build a :class:`Geometry` (validated).

    Example:
        >>> from ntkx.feedforward.data import geometry
        >>> g = geometry("sphere", 3, 2.0)
        >>> g.sample(4, seed=0).shape
        (4, 3)
    """
    return Geometry(kind=kind, dim=dim, radius=radius, **kwargs)


def training_set(name: str, dim: int, radius: float = 5.0, *, fix_value: float = 0.1) -> Geometry:
    """The paper's restricted-direction training sets for the linear target (Theorem 2).

    * ``"all"``: the cube :math:`[-r, r]^d` (covers all directions);
    * ``"fix1"``: the cube with the first coordinate fixed at ``fix_value`` (0.1);
    * ``"negd"``: all ``d`` coordinates negative, :math:`[-r, 0]^d`.

    Example:
        >>> from ntkx.feedforward.data import training_set
        >>> training_set("fix1", 4).fixed
        ((0, 0.1),)
    """
    check_choice("name", name, TRAINING_SETS)
    if name == "all":
        return Geometry("cube", dim, radius)
    if name == "fix1":
        return Geometry("cube", dim, radius, fixed=((0, fix_value),))
    return Geometry("cube", dim, radius, n_signed=dim, sign=-1)


# --------------------------------------------------------------------------- helpers


def _as_point(name: str, p: Any, dim: int) -> np.ndarray:
    arr = np.asarray(p, dtype=np.float64)
    if arr.shape != (dim,) or not np.isfinite(arr).all():
        raise ValueError(
            f"{name} has shape {np.shape(p)}; expected a finite point of shape ({dim},)."
        )
    return arr


def _box_exit(b: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """sup{t >= 0 : lo <= b + t v <= hi} per row of ``v``; +inf where the ray misses the box."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (lo - b) / v
        t2 = (hi - b) / v
    tmin = np.where(v != 0, np.minimum(t1, t2), -np.inf)
    tmax = np.where(v != 0, np.maximum(t1, t2), np.inf)
    inside_fixed = (b >= lo - 1e-12) & (b <= hi + 1e-12)
    tmax = np.where((v == 0) & ~inside_fixed, -np.inf, tmax)
    t_lo = np.maximum(tmin.max(axis=1), 0.0)
    t_hi = tmax.min(axis=1)
    # a ray that meets the box in at most one point (or never) has no exit of its own
    return np.where(t_hi > t_lo + 1e-12 * (1 + np.abs(t_lo)), t_hi, np.inf)


def _ball_exit(b: np.ndarray, v: np.ndarray, r: float) -> np.ndarray:
    """sup{t >= 0 : |b + t v| <= r} per nonzero row of ``v``; 0 where the ray misses the ball."""
    a = np.sum(v * v, axis=1)
    bv = v @ b
    c = b @ b - r * r
    disc = bv * bv - a * c
    root = (-bv + np.sqrt(np.maximum(disc, 0.0))) / a
    return np.where(disc >= 0, np.maximum(root, 0.0), 0.0)


def _convex_exit_bisect(geom: Geometry, b: np.ndarray, v: np.ndarray) -> np.ndarray:
    m = v.shape[0]
    lo = np.zeros(m)
    scale = geom.radius + np.linalg.norm(b)
    hi = np.full(m, 2.0 * scale / np.min(np.linalg.norm(v, axis=1)) + 1.0)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        inside = geom.distance(b + mid[:, None] * v) <= 1e-13 * scale
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    return lo


def _project_l1_ball(y: np.ndarray, r: float) -> np.ndarray:
    """Row-wise Euclidean projection onto {z : ||z||_1 <= r} (Duchi et al. 2008)."""
    a = np.abs(y)
    outside = a.sum(axis=1) > r
    out = y.copy()
    if not outside.any():
        return out
    ao = a[outside]
    u = -np.sort(-ao, axis=1)
    css = np.cumsum(u, axis=1)
    k = np.arange(1, y.shape[1] + 1)
    cond = u - (css - r) / k > 0
    rho = y.shape[1] - 1 - np.argmax(cond[:, ::-1], axis=1)
    theta = (css[np.arange(ao.shape[0]), rho] - r) / (rho + 1)
    out[outside] = np.sign(y[outside]) * np.maximum(ao - theta[:, None], 0.0)
    return out


def unit_directions(
    n: int, dim: int, *, seed: int = 0, positive_orthant: bool = False
) -> Float[np.ndarray, "n d"]:
    """``n`` uniformly random unit vectors in ``R^dim`` (optionally in the positive orthant)."""
    n, dim = check_positive_int("n", n), check_positive_int("dim", dim)
    g = np.random.default_rng(seed).standard_normal((n, dim))
    if positive_orthant:
        g = np.abs(g)
    return g / np.linalg.norm(g, axis=1, keepdims=True)


# --------------------------------------------------------------------------- test sets


class TestSet(NamedTuple):
    """Test inputs and how they relate to the training support.

    Attributes:
        x: ``(n, d)`` test inputs.
        distance: ``(n,)`` distance of each to the training support region.
        excluded_inside_support: whether points inside the support were excluded.
        n_rejected: number of drawn points rejected for lying inside the support.
        n_inside: number of returned points inside the support (0 when excluded).
        shape: ``"ball"`` or ``"cube"``; radius: the test radius.
        support_region: description of the region used.
    """

    __test__ = False  # not a pytest class

    x: np.ndarray
    distance: np.ndarray
    excluded_inside_support: bool
    n_rejected: int
    n_inside: int
    shape: str
    radius: float
    support_region: str

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (without the points)."""
        return {
            "n": int(self.x.shape[0]),
            "shape": self.shape,
            "radius": self.radius,
            "excluded_inside_support": self.excluded_inside_support,
            "n_rejected": self.n_rejected,
            "n_inside": self.n_inside,
            "support_region": self.support_region,
            "distance_min": float(self.distance.min()),
            "distance_max": float(self.distance.max()),
        }


def test_set(
    train: Geometry,
    n: int,
    radius: float,
    *,
    shape: str = "ball",
    seed: int = 1,
    exclude_support: bool = True,
    positive_orthant: bool = False,
) -> TestSet:
    """Test inputs uniform in a ball (in volume) or cube of ``radius`` around the origin.

    By default points inside ``train``'s support region are rejected and redrawn
    (the official code keeps them); the result records whether they were
    excluded and how many were rejected. ``positive_orthant`` reflects the points
    into the positive orthant (for the sqrt target).

    Example:
        >>> from ntkx.feedforward.data import geometry, test_set
        >>> ts = test_set(geometry("cube", 2, 1.0), 100, 3.0, seed=0)
        >>> bool((ts.distance > 0).all()), ts.excluded_inside_support
        (True, True)
    """
    if not isinstance(train, Geometry):
        raise ValueError(
            f"train={train!r} is not allowed; expected an ntkx.feedforward.data.Geometry."
        )
    n = check_positive_int("n", n)
    radius = check_finite_number("radius", radius, minimum=0.0, strict=True)
    check_choice("shape", shape, TEST_SHAPES)
    d = train.dim
    rng = np.random.default_rng(seed)
    kept: list[np.ndarray] = []
    have = rejected = 0
    for _ in range(MAX_REJECTION_ROUNDS):
        m = max(2 * (n - have), 64)
        if shape == "cube":
            x = rng.uniform(-radius, radius, size=(m, d))
        else:
            g = rng.standard_normal((m, d))
            x = g / np.linalg.norm(g, axis=1, keepdims=True)
            x *= radius * rng.uniform(size=(m, 1)) ** (1.0 / d)
        if positive_orthant:
            x = np.abs(x)
        if exclude_support:
            inside = train.contains(x)
            rejected += int(inside.sum())
            x = x[~inside]
        kept.append(x)
        have += x.shape[0]
        if have >= n:
            break
    else:
        raise ValueError(
            f"could not draw {n} test points outside the training support: after "
            f"{MAX_REJECTION_ROUNDS} rounds only {have} of the points drawn from the {shape} of "
            f"radius {radius} lay outside {train.describe_region()}; use a larger test radius."
        )
    x = np.concatenate(kept)[:n]
    dist = train.distance(x)
    n_inside = int((dist <= 1e-9 * train.radius).sum())
    return TestSet(
        x, dist, bool(exclude_support), rejected, n_inside, shape, radius, train.describe_region()
    )


test_set.__test__ = False  # type: ignore[attr-defined]  # a data function, not a pytest test


# --------------------------------------------------------------------------- rays


class Rays(NamedTuple):
    r"""Rays :math:`x(t) = b + t v` sampled outside the training support.

    Attributes:
        points: ``(m, p, d)`` points on ``m`` rays, ``p`` per ray.
        t: ``(m, p)`` the ray parameters (distance from ``base`` along the unit ``v``).
        directions: ``(m, d)`` unit directions.
        base: ``(d,)`` the common base point ``b``.
        start: ``(m,)`` first parameter, ``start_factor`` times the exit distance.
        exit: ``(m,)`` exit distance of each ray from the support region.
    """

    points: np.ndarray
    t: np.ndarray
    directions: np.ndarray
    base: np.ndarray
    start: np.ndarray
    exit: np.ndarray


def rays(
    train: Geometry,
    n_rays: int,
    length: float,
    *,
    n_points: int = 100,
    seed: int = 0,
    base: Float[np.ndarray, " d"] | None = None,
    start_factor: float = 1.1,
    positive_orthant: bool = False,
) -> Rays:
    """The paper's ray protocol: random unit directions, each ray starting at
    ``start_factor`` (1.1) times the distance at which it leaves the support
    region and running ``length`` further, ``n_points`` (100) evenly spaced points.

    The paper uses ``length = 10 x`` the largest test coordinate; ``base`` other than
    the origin makes the test non-trivial for positively homogeneous predictors.

    Example:
        >>> from ntkx.feedforward.data import geometry, rays
        >>> r = rays(geometry("cube", 2, 1.0), 3, 10.0)
        >>> r.points.shape, bool((r.start >= 1.1).all())
        ((3, 100, 2), True)
    """
    if not isinstance(train, Geometry):
        raise ValueError(
            f"train={train!r} is not allowed; expected an ntkx.feedforward.data.Geometry."
        )
    n_rays = check_positive_int("n_rays", n_rays)
    n_points = check_positive_int("n_points", n_points)
    if n_points < 3:
        raise ValueError(f"n_points={n_points} is not allowed; expected at least 3 points per ray.")
    length = check_finite_number("length", length, minimum=0.0, strict=True)
    start_factor = check_finite_number("start_factor", start_factor, minimum=1.0)
    b = np.zeros(train.dim) if base is None else _as_point("base", base, train.dim)
    v = unit_directions(n_rays, train.dim, seed=seed, positive_orthant=positive_orthant)
    exit_t = train.exit_distance(v, b)
    start = start_factor * exit_t
    frac = np.linspace(0.0, 1.0, n_points)
    t = start[:, None] + length * frac[None, :]
    points = b[None, None, :] + t[:, :, None] * v[:, None, :]
    return Rays(points, t, v, b, start, exit_t)
