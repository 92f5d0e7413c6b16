"""The vectorized arccos and the ReLU-family arc-cosine maps (ntkx/core/arccos.py).

References: ``arccos`` in 80-bit ``long double`` (NumPy's ``np.longdouble`` on x86-64, 64-bit
significand: relative error ~1e-19, itself checked against mpmath at 40 digits below), and
mpmath for the polynomial and its interpolation bound. The grids are dense (400,001 equispaced
points) and contain the hard cases: +-1, 0, -0, +-1/2 and their float neighbours (the branch
switch), cosines within 1..300 ulps of +-1, geometric approaches to +-1, +-1/2 and 0, and
subnormals. Tolerances are the bounds proven in the module docstring, in units of the unit
roundoff ``u`` of the dtype: ``arccos`` and ``pi - arccos`` relative ``4 u``; ``J0`` relative
``6 u``; ``J1`` absolute ``5 u``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import references as ref

from ntkx.core import arccos as ac
from ntkx.core.numerics import precision_context

U = {"float32": 2.0**-24, "float64": 2.0**-53}
LD = np.longdouble
PI_LD = 4 * np.arctan(LD(1))

pytestmark = pytest.mark.skipif(
    np.finfo(np.longdouble).nmant < 63, reason="needs an 80-bit long double reference"
)


def _run(fn, c: np.ndarray, dtype: str):
    with precision_context(np.dtype(dtype)):
        out = jax.jit(fn)(jnp.asarray(c, dtype))
    return jax.tree_util.tree_map(np.asarray, out)


def _grid(dtype: str) -> np.ndarray:
    dt = np.dtype(dtype).type
    eps = np.finfo(dt).eps
    tiny = np.finfo(dt).smallest_subnormal
    points = [np.linspace(-1.0, 1.0, 400_001).astype(dt)]
    steps = np.arange(1, 301, dtype=dt)
    geo = np.logspace(np.log10(float(eps)) - 1, 0, 3000).astype(dt)
    for x0 in (1.0, 0.5, 0.0):
        for sign in (1.0, -1.0):
            centre = dt(sign * x0)
            points += [centre - geo, centre + geo]
            points += [centre - steps * dt(eps / 2), centre + steps * dt(eps)]
            below = above = centre
            for _ in range(50):  # float neighbours, one ulp at a time
                below, above = np.nextafter(below, dt(-2)), np.nextafter(above, dt(2))
                points.append(np.array([below, above], dt))
    subnormals = np.array([tiny, 7 * tiny, np.finfo(dt).smallest_normal / 3], dt)
    points += [subnormals, -subnormals, np.array([-1.0, -0.5, -0.0, 0.0, 0.5, 1.0], dt)]
    c = np.concatenate([np.asarray(p, dt) for p in points])
    return np.unique(c[(c >= -1) & (c <= 1)])


# --- the polynomial ------------------------------------------------------------------------------


def _g(t: mpmath.mpf) -> mpmath.mpf:
    if t == 0:
        return mpmath.mpf(1) / 6
    y = mpmath.sqrt(t)
    return (mpmath.asin(y) - y) / (t * y)


def _interpolant(degree: int) -> list[float]:
    """Monomial coefficients of the interpolant of g at the Chebyshev nodes of [0, 1/4]."""
    with mpmath.workdps(60):
        half = mpmath.mpf(1) / 8
        nodes = [
            half + half * mpmath.cos(mpmath.pi * (2 * k + 1) / (2 * (degree + 1)))
            for k in range(degree + 1)
        ]
        vandermonde = mpmath.matrix([[t**j for j in range(degree + 1)] for t in nodes])
        coeffs = mpmath.lu_solve(vandermonde, mpmath.matrix([_g(t) for t in nodes]))
        return [float(coeffs[j]) for j in range(degree + 1)]


def _derivative_bound(order: int, t: Fraction) -> float:
    """Upper bound of g^(order)(t), 0 <= t <= 1/4, from g's Taylor series (positive terms).

    g(t) = sum_{m>=1} C(2m, m) / (4^m (2m + 1)) t^(m-1); 400 terms in exact rationals, then the
    tail, bounded by a geometric series (term ratios are below (m + 1) t / (m + 1 - order) < 1/2
    once m > 2 order).
    """
    total, term = Fraction(0), Fraction(0)
    for m in range(order + 1, order + 401):
        coef = Fraction(math.comb(2 * m, m), 4**m * (2 * m + 1))
        term = coef * Fraction(math.perm(m - 1, order)) * t ** (m - 1 - order)
        total += term
    return float(total + 2 * term)  # the tail is below the last term times sum (1/2)^k


@pytest.mark.parametrize(("dtype", "degree"), [("float64", 12), ("float32", 5)])
def test_coefficients_are_the_chebyshev_interpolants(dtype, degree):
    coeffs = ac.ASIN_COEFFS_F64 if dtype == "float64" else ac.ASIN_COEFFS_F32
    assert len(coeffs) == degree + 1
    assert tuple(_interpolant(degree)) == coeffs


@pytest.mark.parametrize(("degree", "documented"), [(12, 8.7e-17), (5, 8.8e-9)])
def test_interpolation_error_bound(degree, documented):
    # |g - p| <= max g^(n+1) / (n+1)! * 2 (1/16)^(n+1) on [0, 1/4], the maximum at t = 1/4.
    bound = (
        _derivative_bound(degree + 1, Fraction(1, 4))
        / math.factorial(degree + 1)
        * 2
        * (1 / 16) ** (degree + 1)
    )
    assert bound <= documented
    coeffs = _interpolant(degree)
    with mpmath.workdps(40):
        worst = max(
            abs(sum(mpmath.mpf(a) * t**i for i, a in enumerate(coeffs)) - _g(t))
            for t in mpmath.linspace(0, mpmath.mpf(1) / 4, 1001)
        )
    assert worst <= bound, (worst, bound)  # the rounded coefficients stay within it


def test_long_double_reference_against_mpmath():
    c = _grid("float64")
    sample = np.concatenate([c[:: len(c) // 400], c[:60], c[-60:], c[np.abs(c) == 0.5]])
    got = np.arccos(sample.astype(LD))
    with mpmath.workdps(40):
        want = [mpmath.acos(mpmath.mpf(float(v))) for v in sample]
        err = max(
            abs(mpmath.mpf(float(g)) + mpmath.mpf(float(g - LD(float(g)))) - w) / max(w, 1e-300)
            for g, w in zip(got, want, strict=True)
        )
    assert err <= 4e-19, err


# --- arccos ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_arccos_within_the_proven_bound(dtype):
    c = _grid(dtype)
    exact = np.arccos(c.astype(LD))
    theta = _run(ac.arccos, c, dtype).astype(LD)
    rest = _run(lambda v: ac._arccos_complement(v, 0), c, dtype).astype(LD)
    nonzero = exact > 0
    err = np.abs(theta - exact)[nonzero] / exact[nonzero]
    exact_rest = np.arccos(-c.astype(LD))  # pi - arccos(c) without cancellation
    err_rest = np.abs(rest - exact_rest) / exact_rest.clip(min=LD(1e-300))
    assert float(err.max()) <= 4 * U[dtype], float(err.max()) / U[dtype]
    assert float(err_rest[c > -1].max()) <= 4 * U[dtype], float(err_rest.max()) / U[dtype]
    assert theta[c == 1][0] == 0 and rest[c == -1][0] == 0  # exact at the ends
    # measured here: float64 <= 2.2 u, float32 <= 2.4 u (the bound is a worst case)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_copies_agree(dtype):
    # sqrt(4^k v) / 2^k is sqrt(v) exactly; what can differ is the compiler's choice of fused
    # multiply-adds downstream (measured: J1 near c = -1, where sin and (pi - theta) c cancel,
    # differs by up to one ulp of 1/2 between copies). Both are within the proven bounds.
    c = _grid(dtype)
    base = _run(lambda v: (ac.arccos(v), *ac.relu_maps(v)), c, dtype)
    for copy in (1, 2):
        other = _run(lambda v, k=copy: (ac.arccos(v, copy=k), *ac.relu_maps(v, copy=k)), c, dtype)
        for x, y in zip(base, other, strict=True):
            assert np.max(np.abs(x - y)) <= 2 * U[dtype]


# --- the ReLU maps -----------------------------------------------------------------------------


def _maps_reference(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = c.astype(LD)
    rest = np.arccos(-c)  # pi - theta
    sin = np.sqrt((1 - c) * (1 + c))
    return (sin + rest * c) / (2 * PI_LD), rest / (2 * PI_LD)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_relu_maps_within_the_proven_bounds(dtype):
    c = _grid(dtype)
    j1, j0 = (v.astype(LD) for v in _run(ac.relu_maps, c, dtype))
    ref_j1, ref_j0 = _maps_reference(c)
    free = c < 1 - ac.COS_SNAP_EPS * np.finfo(np.float64).eps  # outside the snap
    err_j1 = np.abs(j1 - ref_j1)[free]
    err_j0 = (np.abs(j0 - ref_j0) / ref_j0.clip(min=LD(1e-300)))[free & (c > -1)]
    assert float(err_j1.max()) <= 5 * U[dtype], float(err_j1.max()) / U[dtype]
    assert float(err_j0.max()) <= 6 * U[dtype], float(err_j0.max()) / U[dtype]
    # The snap: every cosine within 64 float64 eps of 1 gives exactly 1/2 and 1/2.
    assert np.all(j1[~free] == 0.5) and np.all(j0[~free] == 0.5)
    # measured: J1 <= 1.04 u absolute, J0 <= 3.3 u relative (both dtypes)
    assert j1[c == -1][0] == 0 and j0[c == -1][0] == 0


def test_relu_maps_clip_and_snap():
    c = np.array([1.5, 1.0, 1 - 64 * 2.0**-52, 1 - 65 * 2.0**-52, -1.0, -3.0])
    j1, j0 = _run(ac.relu_maps, c, "float64")
    assert j1[0] == j1[1] == j1[2] == 0.5 and j0[0] == j0[1] == j0[2] == 0.5
    assert j0[3] < 0.5  # just outside the snap: the true map (theta = 1.8e-7)
    np.testing.assert_allclose(j0[3], 0.5 - math.sqrt(2 * 65 * 2.0**-52) / (2 * math.pi), 1e-7)
    assert j1[4] == j1[5] == 0.0 and j0[4] == j0[5] == 0.0


def test_arc_cosine_identities_used_in_the_derivation():
    # J1(c) - J1(-c) = c / 2 and J0(c) + J0(-c) = 1/2: what turns the ReLU family into
    # (a - b)^2 J + a b (linear part).
    c = np.linspace(-1, 1, 20001)
    j1, j0 = _run(ac.relu_maps, c, "float64")
    j1m, j0m = _run(ac.relu_maps, -c, "float64")
    assert np.max(np.abs(j1 - j1m - c / 2)) <= 1e-15
    assert np.max(np.abs(j0 + j0m - 0.5)) <= 1e-15


SLOPES = [(0.0, 1.0), (0.1, 1.0), (-0.3, 0.7), (0.5, 2.0), (2.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]


@pytest.mark.parametrize(("a", "b"), SLOPES)
def test_relu_family_maps_are_the_dual_activations(a, b):
    # Against the independent reference's (a^2 + b^2) k(theta) - 2 a b k(pi - theta) form
    # (tests/references.py, itself checked against polar quadrature in test_architectures.py),
    # and against that quadrature directly at a few cosines; unit variances.
    c = np.concatenate([np.linspace(-1, 1, 2001), [-0.999999, 0.999999]])
    e, edot = _run(lambda v: ac.relu_family_maps(v, a, b), c, "float64")
    want_e, want_edot = ref.duals("abrelu", np.ones_like(c), np.ones_like(c), c, (a, b))
    slope = max(abs(a), abs(b), 1.0)
    assert np.max(np.abs(e - want_e)) <= 2e-15 * slope**2
    assert np.max(np.abs(edot - want_edot)) <= 2e-15 * slope**2
    phi, dphi = ref.activation("abrelu", (a, b)), ref.activation_derivative("abrelu", (a, b))
    for i in (0, 300, 1000, 1500, 2000):
        assert abs(e[i] - ref.dual_polar(phi, 1, 1.0, 1.0, c[i])) <= 1e-13 * slope**2
        assert abs(edot[i] - ref.dual_polar(dphi, 0, 1.0, 1.0, c[i])) <= 1e-13 * slope**2
    # The diagonal: E(1) = (a^2 + b^2) / 2, the second moment of phi on unit variance.
    e1, edot1 = _run(lambda v: ac.relu_family_maps(v, a, b), np.array([1.0]), "float64")
    assert abs(e1[0] - (a * a + b * b) / 2) <= 4 * U["float64"] * slope**2
    assert abs(edot1[0] - ((a - b) ** 2 / 2 + a * b)) <= 4 * U["float64"] * slope**2


def test_relu_is_the_plain_maps():
    c = np.linspace(-1, 1, 101)
    got = _run(lambda v: ac.relu_family_maps(v, 0.0, 1.0), c, "float64")
    want = _run(ac.relu_maps, c, "float64")
    for x, y in zip(got, want, strict=True):
        np.testing.assert_array_equal(x, y)
