"""Independent float64 references for the tests (NumPy/SciPy only; never imports ntkx or nt).

Everything here is written from the published formulas, in neural-tangents' conventions
(input kernel ``x . x' / d``, weights ``W_std``, biases ``b_std``):

* NNGP recursion: ``Sigma^1 = W^2 x.x'/d + b^2``, ``Sigma^{l+1} = W^2 E[phi(u) phi(v)] + b^2``
  with ``(u, v) ~ N(0, [[Sigma_11, Sigma_12], [Sigma_12, Sigma_22]])``.
* NTK recursion (Jacot et al. 2018; Arora et al. 2019), NTK parameterization:
  ``Theta^1 = Sigma^1``, ``Theta^{l+1} = Sigma^{l+1} + W^2 Theta^l E[phi'(u) phi'(v)]``.
  Standard parameterization (Sohl-Dickstein et al. 2020, arXiv 2001.07301), layer
  ``z = W h + b`` with ``W ~ N(0, W^2 / fan_in)``: the gradient with respect to ``W`` gives
  ``fan_in * E[h h']`` and the bias gives ``1``, so
  ``Theta^{l+1} = fan_in * E[phi phi] + 1[bias] + W^2 Theta^l E[phi' phi']`` (``E[h h'] = x.x'/d``
  and ``fan_in = d`` at the input).
* A frozen (untrained) layer contributes no own term: ``Theta^{l+1} = W^2 Theta^l E[phi' phi']``.

Gaussian expectations ("dual activations"):

* ReLU family ``phi(x) = b max(x, 0) + a min(x, 0)`` (ReLU: a=0, b=1; leaky ReLU: a=alpha, b=1):
  with ``r = sqrt(Sigma_11 Sigma_22)`` and the angle ``theta``, the arc-cosine kernel of degree 1
  (Cho & Saul 2009) ``k(theta) = r (sin theta + (pi - theta) cos theta) / (2 pi)`` gives
  ``E[phi phi] = (a^2 + b^2) k(theta) - 2 a b k(pi - theta)`` and
  ``E[phi' phi'] = ((a^2 + b^2)(pi - theta) + 2 a b theta) / (2 pi)``.
* erf (Williams 1997): ``E = (2/pi) arcsin(2 S12 / sqrt((1 + 2 S11)(1 + 2 S22)))``,
  ``E' = (4/pi) / sqrt((1 + 2 S11)(1 + 2 S22) - 4 S12^2)``.
* sin, cos: ``E[cos w] = exp(-Var(w)/2)`` with ``w = u -+ v``.
* x^2: Isserlis: ``E[u^2 v^2] = S11 S22 + 2 S12^2``, ``E[2u 2v] = 4 S12``.
* Anything else (gelu): two-dimensional Gauss-Hermite quadrature.

Numerical care, so that the reference is accurate to rounding everywhere, including for
identical or nearly parallel inputs: the first-layer angle is ``2 atan2(|u - v|, |u + v|)`` of
the unit vectors ``u, v`` of ``(W x / sqrt(d), b)``; for the ReLU family the *gap*
``g = sqrt(S11 S22) - S12 >= 0`` is propagated in closed form from layer to layer (every term
non-negative, so no cancellation) and the next angle is ``2 arcsin(sqrt(g / (2 r)))``. The
textbook route through ``arccos(S12 / r)`` loses about half the digits (error ~ sqrt(eps)) when
``theta`` is near 0, because ``d arccos(c)/dc`` diverges at ``c = 1``.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable

import numpy as np
import scipy.special

__all__ = [
    "RELU_FAMILY",
    "SMOOTH",
    "activation",
    "activation_derivative",
    "dual_polar",
    "dual_quadrature",
    "duals",
    "first_layer_angles",
    "mlp_kernels",
    "relu_two_layer_first",
]

RELU_FAMILY = ("relu", "leaky_relu", "abrelu")
SMOOTH = ("erf", "sin", "cos", "quadratic", "gelu")


def first_layer_angles(z1: np.ndarray, z2: np.ndarray) -> np.ndarray:
    """Angles between the rows of ``z1`` and ``z2``: ``2 atan2(|u - v|, |u + v|)`` of unit vectors.

    Accurate to a few ulps for every angle, including 0 and pi (unlike ``arccos`` of the cosine).
    """
    u = z1 / np.linalg.norm(z1, axis=1, keepdims=True)
    v = z2 / np.linalg.norm(z2, axis=1, keepdims=True)
    diff = np.linalg.norm(u[:, None, :] - v[None, :, :], axis=-1)
    summ = np.linalg.norm(u[:, None, :] + v[None, :, :], axis=-1)
    return 2.0 * np.arctan2(diff, summ)


def _sin_minus_t_cos(t: np.ndarray) -> np.ndarray:
    """``sin t - t cos t`` (>= 0 on [0, pi]) without cancellation near 0.

    Series ``sum_k (-1)^(k+1) 2k t^(2k+1) / (2k+1)!`` for ``t < 0.5`` (terms up to k = 12:
    truncation below 1e-30 relative), the direct formula otherwise.
    """
    t = np.asarray(t, dtype=np.float64)
    series = np.zeros_like(t)
    for k in range(12, 0, -1):
        series += (-1) ** (k + 1) * 2 * k * t ** (2 * k + 1) / math.factorial(2 * k + 1)
    return np.where(t < 0.5, series, np.sin(t) - t * np.cos(t))


def _one_minus_cos(t: np.ndarray) -> np.ndarray:
    return 2.0 * np.sin(t / 2.0) ** 2


def _relu_family_step(
    a: float,
    b: float,
    q1: np.ndarray,
    q2: np.ndarray,
    s: np.ndarray,
    gap: np.ndarray,
    theta: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One activation of the ReLU family: returns (E11, E22, E12, Edot12, r, h).

    ``h = (a^2 + b^2) r / 2 - E12 >= 0`` is the post-activation gap, computed without cancellation.
    """
    del s, gap  # the angle carries all the information needed
    r = np.sqrt(q1 * q2)
    c2 = a * a + b * b
    cross = r * _sin_minus_t_cos(theta) / (2 * np.pi)  # k(pi - theta) = r (sin t - t cos t)/(2 pi)
    # r/2 - k(theta) = r (pi (1 - cos t) - (sin t - t cos t)) / (2 pi) >= 0
    half_minus_k = r * (np.pi * _one_minus_cos(theta) - _sin_minus_t_cos(theta)) / (2 * np.pi)
    k_theta = r * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
    e12 = c2 * k_theta - 2 * a * b * cross
    h = c2 * half_minus_k + 2 * a * b * cross
    edot = (c2 * (np.pi - theta) + 2 * a * b * theta) / (2 * np.pi)
    return c2 * q1 / 2, c2 * q2 / 2, e12, edot, r, h


def _erf_duals(q1, q2, s):
    den = (1 + 2 * q1) * (1 + 2 * q2)
    e12 = 2 / np.pi * np.arcsin(2 * s / np.sqrt(den))
    edot = 4 / np.pi / np.sqrt(den - 4 * s * s)
    return e12, edot


def _sin_duals(q1, q2, s):
    minus = np.exp(-(q1 + q2 - 2 * s) / 2)  # E[cos(u - v)]
    plus = np.exp(-(q1 + q2 + 2 * s) / 2)  # E[cos(u + v)]
    return (minus - plus) / 2, (minus + plus) / 2  # E[sin sin], E[cos cos]


def _cos_duals(q1, q2, s):
    e_sin, e_cos = _sin_duals(q1, q2, s)
    return e_cos, e_sin  # (cos)' = -sin, and the two minus signs cancel


def _quadratic_duals(q1, q2, s):
    return q1 * q2 + 2 * s * s, 4 * s


def _gelu(x: np.ndarray) -> np.ndarray:
    return x * _std_normal_cdf(x)


def _gelu_prime(x: np.ndarray) -> np.ndarray:
    return _std_normal_cdf(x) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _std_normal_cdf(x: np.ndarray) -> np.ndarray:
    return scipy.special.ndtr(x)


def dual_quadrature(
    phi: Callable[[np.ndarray], np.ndarray],
    q1: np.ndarray,
    q2: np.ndarray,
    s: np.ndarray,
    n_nodes: int = 160,
) -> np.ndarray:
    """``E[phi(u) phi(v)]`` for ``(u, v) ~ N(0, [[q1, s], [s, q2]])`` by Gauss-Hermite quadrature.

    ``u = sqrt(q1) g1``, ``v = sqrt(q2) (c g1 + sqrt(1 - c^2) g2)`` with ``c = s / sqrt(q1 q2)`` and
    independent standard normals ``g1, g2`` integrated with ``n_nodes``-point probabilists'
    Gauss-Hermite rules. Spectrally accurate for smooth ``phi``; slow (algebraic) for kinks.
    """
    q1, q2, s = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (q1, q2, s)))
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    weights = weights / math.sqrt(2 * math.pi)
    c = np.clip(s / np.sqrt(q1 * q2), -1.0, 1.0)[..., None, None]
    g1 = nodes[:, None]
    g2 = nodes[None, :]
    u = np.sqrt(q1)[..., None, None] * g1
    v = np.sqrt(q2)[..., None, None] * (c * g1 + np.sqrt(1 - c * c) * g2)
    w = weights[:, None] * weights[None, :]
    return np.sum(w * phi(u) * phi(v), axis=(-2, -1))


def dual_polar(
    phi: Callable[[np.ndarray], np.ndarray], degree: int, q1: float, q2: float, s: float
) -> float:
    """``E[phi(u) phi(v)]`` for a positively homogeneous ``phi`` of ``degree`` 0 or 1 (ReLU family).

    In polar coordinates ``(g1, g2) = R (cos w, sin w)``, ``phi(u) phi(v) = R^(2 degree) F(w)``,
    so the expectation is ``E[R^(2 degree)] / (2 pi) * int_0^(2 pi) F(w) dw`` with
    ``E[R^0] = 1`` and ``E[R^2] = 2``. ``F`` is smooth between the four angles where ``u`` or
    ``v`` changes sign; each piece is integrated by 24-point Gauss-Legendre (exact to rounding:
    on a piece ``F`` is a trigonometric polynomial of degree <= 2).
    """
    c = s / math.sqrt(q1 * q2)
    sc = math.sqrt(max(1.0 - c * c, 0.0))
    kinks = [math.pi / 2, 3 * math.pi / 2]
    base = math.atan2(-c, sc)  # c cos w + sc sin w = 0 at w = base and base + pi
    kinks += [base % (2 * math.pi), (base + math.pi) % (2 * math.pi)]
    edges = np.unique(np.concatenate([[0.0, 2 * math.pi], np.asarray(kinks)]))
    nodes, weights = np.polynomial.legendre.leggauss(24)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        w = (hi - lo) / 2 * nodes + (hi + lo) / 2
        u = math.sqrt(q1) * np.cos(w)
        v = math.sqrt(q2) * (c * np.cos(w) + sc * np.sin(w))
        total += (hi - lo) / 2 * float(np.sum(weights * phi(u) * phi(v)))
    moment = 2.0 if degree == 1 else 1.0
    return moment * total / (2 * math.pi)


def _gelu_duals(q1, q2, s, n_nodes=160):
    return (
        dual_quadrature(_gelu, q1, q2, s, n_nodes),
        dual_quadrature(_gelu_prime, q1, q2, s, n_nodes),
    )


_SMOOTH_DUALS = {
    "erf": _erf_duals,
    "sin": _sin_duals,
    "cos": _cos_duals,
    "quadratic": _quadratic_duals,
}


def _relu_slopes(activation: str, activation_params: tuple[float, ...]) -> tuple[float, float]:
    if activation == "relu":
        return 0.0, 1.0
    if activation == "leaky_relu":
        return float(activation_params[0]), 1.0
    return float(activation_params[0]), float(activation_params[1])


def mlp_kernels(
    x1: np.ndarray,
    x2: np.ndarray | None = None,
    *,
    depth: int,
    activation: str = "relu",
    W_std: float = 1.0,
    b_std: float | None = None,
    trainable: str = "all",
    parameterization: str = "ntk",
    width: int | None = None,
    activation_params: tuple[float, ...] = (),
    quadrature_nodes: int = 160,
) -> tuple[np.ndarray, np.ndarray]:
    """Infinite-width ``(nngp, ntk)`` of an MLP with ``depth`` weight layers, float64 ``(n1, n2)``.

    ``trainable``: "all", "first" (only the first weight layer and its bias) or "last" (only the
    readout). ``width`` is needed for ``parameterization="standard"`` (its NTK scales with it).
    ``quadrature_nodes``: Gauss-Hermite nodes per dimension for activations without a closed form
    (gelu); 160 resolves the ``Phi(x)`` transition of gelu to ~1e-15 for variances up to about 4.
    """
    x1 = np.asarray(x1, np.float64)
    x2 = x1 if x2 is None else np.asarray(x2, np.float64)
    d = x1.shape[1]
    w2 = W_std**2
    bias = b_std is not None
    b2 = b_std**2 if bias else 0.0
    standard = parameterization == "standard"
    if standard and width is None:
        raise ValueError("width is required for the standard parameterization")

    def trained(layer: int) -> bool:
        if trainable == "all":
            return True
        if trainable == "first":
            return layer == 0
        return layer == depth - 1

    # First dense layer, from explicit vectors z = (W x / sqrt(d), b): Sigma^1 = z . z'.
    def augment(x: np.ndarray) -> np.ndarray:
        cols = [W_std * x / math.sqrt(d)]
        if bias:
            cols.append(np.full((x.shape[0], 1), b_std))
        return np.concatenate(cols, axis=1)

    z1, z2 = augment(x1), augment(x2)
    q1 = np.sum(z1 * z1, axis=1)[:, None]
    q2 = np.sum(z2 * z2, axis=1)[None, :]
    s = z1 @ z2.T
    theta = first_layer_angles(z1, z2)
    r = np.sqrt(q1 * q2)
    gap = r * _one_minus_cos(theta)
    own0 = (x1 @ x2.T + (1.0 if bias else 0.0)) if standard else s
    ntk = own0 if trained(0) else np.zeros_like(s)

    for layer in range(1, depth):
        if activation in RELU_FAMILY:
            a, b = _relu_slopes(activation, activation_params)
            e11, e22, e12, edot, r_old, h = _relu_family_step(a, b, q1, q2, s, gap, theta)
            del r_old
        else:
            if activation == "gelu":
                duals = functools.partial(_gelu_duals, n_nodes=quadrature_nodes)
            else:
                duals = _SMOOTH_DUALS[activation]
            e12, edot = duals(q1, q2, s)
            e11, _ = duals(q1, q1, q1)
            e22, _ = duals(q2, q2, q2)
            h = None
        s_new = w2 * e12 + b2
        q1_new, q2_new = w2 * e11 + b2, w2 * e22 + b2
        if trained(layer):
            own = (width * e12 + (1.0 if bias else 0.0)) if standard else s_new
        else:
            own = 0.0
        ntk = own + w2 * edot * ntk
        if h is not None:
            # gap' = sqrt(q1' q2') - s' = b^2 (sqrt(A1) - sqrt(A2))^2 / (sqrt(q1'q2') + sqrt(A1 A2)
            # + b^2) + W^2 h, with A_i = W^2 e_ii; every term is non-negative.
            a1, a2 = w2 * e11, w2 * e22
            r_new = np.sqrt(q1_new * q2_new)
            mismatch = b2 * (np.sqrt(a1) - np.sqrt(a2)) ** 2 / (r_new + np.sqrt(a1 * a2) + b2)
            gap = mismatch + w2 * h
            theta = 2 * np.arcsin(np.sqrt(np.clip(gap / (2 * r_new), 0.0, 1.0)))
        q1, q2, s = q1_new, q2_new, s_new
    return s, ntk


def relu_two_layer_first(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """The paper's official kernel divided by d: ``<x, x'> (pi - theta) / (2 pi d)``.

    The first-layer-only NTK of the bias-free two-layer ReLU net (W_std = 1); ``theta`` from
    ``arccos`` of the cosine (fine away from theta = 0; see the module docstring).
    """
    x1 = np.asarray(x1, np.float64)
    x2 = np.asarray(x2, np.float64)
    dot = x1 @ x2.T
    norms = np.linalg.norm(x1, axis=1)[:, None] * np.linalg.norm(x2, axis=1)[None, :]
    theta = np.arccos(np.clip(dot / norms, -1.0, 1.0))
    return dot * (np.pi - theta) / (2 * np.pi * x1.shape[1])


def activation(name: str, params: tuple[float, ...] = ()) -> Callable[[np.ndarray], np.ndarray]:
    """The activation ``phi`` as a NumPy function (for quadrature checks of the dual formulas)."""
    if name in RELU_FAMILY:
        a, b = _relu_slopes(name, params)
        return lambda x: b * np.maximum(x, 0) + a * np.minimum(x, 0)
    return {
        "erf": scipy.special.erf,
        "sin": np.sin,
        "cos": np.cos,
        "quadratic": np.square,
        "gelu": _gelu,
    }[name]


def activation_derivative(
    name: str, params: tuple[float, ...] = ()
) -> Callable[[np.ndarray], np.ndarray]:
    """``phi'`` as a NumPy function."""
    if name in RELU_FAMILY:
        a, b = _relu_slopes(name, params)
        return lambda x: np.where(x > 0, b, a)
    return {
        "erf": lambda x: 2 / math.sqrt(math.pi) * np.exp(-np.square(x)),
        "sin": np.cos,
        "cos": lambda x: -np.sin(x),
        "quadratic": lambda x: 2 * x,
        "gelu": _gelu_prime,
    }[name]


def duals(
    name: str,
    q1: np.ndarray,
    q2: np.ndarray,
    s: np.ndarray,
    params: tuple[float, ...] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """The reference's ``(E[phi(u) phi(v)], E[phi'(u) phi'(v)])`` for one covariance.

    The ReLU family takes its angle from ``arccos`` here (only used away from ``theta = 0``).
    """
    q1, q2, s = (np.asarray(v, np.float64) for v in (q1, q2, s))
    if name in RELU_FAMILY:
        a, b = _relu_slopes(name, params)
        theta = np.arccos(np.clip(s / np.sqrt(q1 * q2), -1.0, 1.0))
        _, _, e12, edot, _, _ = _relu_family_step(a, b, q1, q2, s, s, theta)
        return e12, edot
    if name == "gelu":
        return _gelu_duals(q1, q2, s)
    return _SMOOTH_DUALS[name](q1, q2, s)
