r"""One vectorized arccos, and the arc-cosine maps of the ReLU family, with proven error bounds.

XLA's float64 ``arccos``/``atan2`` on CPU are scalar libm calls (15-30 ns per element,
measured); everything here is a short chain of multiplies, adds, selects and square roots that
XLA vectorizes and fuses into the surrounding elementwise loop (about 1.5 ns per element).

**arccos.** For a float ``c`` in ``[-1, 1]`` with ``a = |c|``:

* ``a <= 1/2``: :math:`\arccos c = \pi/2 - \operatorname{asin}(c)`;
* ``a > 1/2``: with :math:`y = \sqrt{(1 - a)/2}`, :math:`\arccos c = 2 \operatorname{asin}(y)`
  for ``c > 0`` and :math:`\pi - 2 \operatorname{asin}(y)` for ``c < 0`` (half-angle identity;
  ``1 - a`` and the halving are exact in floating point, Sterbenz).

In both cases the asin argument satisfies ``|y| <= 1/2`` and
:math:`\operatorname{asin}(y) = y + y t\, g(t)` with :math:`t = y^2 \in [0, 1/4]` and
:math:`g(t) = (\operatorname{asin}\sqrt t - \sqrt t)/t^{3/2} = \sum_{m \ge 1}
\binom{2m}{m} t^{m-1} / (4^m (2m+1))`, a series with positive coefficients. ``g`` is replaced by
its polynomial interpolant ``p`` at the Chebyshev nodes of ``[0, 1/4]`` (computed in 60-digit
arithmetic; ``tests/test_arccos.py`` recomputes the coefficients), evaluated by Estrin's scheme:
degree 12 in float64, degree 5 in float32.

**Error bound of arccos (proof).** ``u`` is the unit roundoff (``2^-53`` in float64, ``2^-24``
in float32); every operation is IEEE round-to-nearest, so ``fl(x op y) = (x op y)(1 + d)`` with
``|d| <= u``, the square root is correctly rounded, and scaling by powers of 2 is exact.

1. *Interpolation.* The interpolation error at ``n + 1`` Chebyshev nodes of ``[0, 1/4]`` is
   :math:`|g - p| \le \max|g^{(n+1)}| / (n+1)! \cdot 2 (1/16)^{n+1}`, and since every derivative of
   ``g`` has positive Taylor coefficients, :math:`\max_{[0, 1/4]} g^{(n+1)} = g^{(n+1)}(1/4)`.
   This gives ``|g - p| <= 8.7e-17`` (degree 12) and ``<= 8.8e-9`` (degree 5), i.e. at most
   ``0.2 u`` relative to ``asin`` (the error enters multiplied by ``t <= 1/4``).
2. *Evaluation.* Estrin's scheme puts at most 12 roundings (the coefficients' own included) on
   any path (9 for degree 5), so :math:`|\hat p - p| \le \gamma_{12} \sum_i |p_i| t^i \le
   12.1 u \cdot 0.189 = 2.29 u`. The computed ``asin(y) = y + (y t) p`` then has relative error
   at most ``u`` (the final sum) ``+ 2.29 u / 4`` (evaluation, times ``t <= 1/4``) ``+ 0.2 u``
   (item 1) ``+ 0.06 u`` (``t = fl(y^2)``, through ``(t g)' <= 0.22``) ``+ 0.1 u`` (the two
   products, ``|y t g| <= 0.047 |y|``): ``2.0 u`` in float64 (``1.6 u`` in float32).
3. *Argument.* For ``a > 1/2``, ``y = fl(sqrt(v))`` has relative error ``u``, which moves
   ``asin`` by at most ``u y / sqrt(1 - y^2) <= 1.11 u asin(y)`` on ``[0, 1/2]``: ``3.1 u``.
4. *Assembly.* ``2 asin(y)`` (``c > 1/2``) is exact doubling: ``3.1 u``. ``pi/2 - s``
   (``a <= 1/2``): the constant (``u``, absolute), ``s`` (``2 u * pi/6``) and the rounding
   (``u theta``) give ``2.05 u / theta + u <= 3.0 u`` with ``theta >= pi/3``. ``pi - 2 s``
   (``c < -1/2``): the constant (``2 u``), ``2 s`` (``3.1 u * pi/3``) and the rounding give
   ``5.3 u / theta + u <= 3.6 u`` with ``theta >= 2 pi/3``. (float32: at most ``3.4 u``.)

Hence :math:`|\widehat{\arccos}(c) - \arccos c| \le 4 u \arccos c` for every float ``c`` in
``[-1, 1]`` (``4.4e-16`` relative in float64, ``2.4e-7`` in float32), exact at ``c = 1``
(``theta = 0``); measured at most ``2.2 u`` (float64) and ``2.4 u`` (float32). The same holds
for :math:`\pi - \arccos c = \arccos(-c)`, computed from the same branches (``pi/2 + s``,
``pi - 2 s``, ``2 s``: no cancellation near ``c = -1``). A fused multiply-add, where the
compiler contracts one, removes a rounding and keeps every bound. tests/test_arccos.py checks
the bounds against ``arccos`` in 80-bit ``long double`` (itself checked against mpmath) on
dense grids that include ``+-1``, ``0``, ``+-1/2`` and their float neighbours, cosines within
a few ulps of ``+-1``, and subnormals, and recomputes the coefficients and item 1 with mpmath.

**The ReLU arc-cosine maps** (Cho & Saul 2009). For centred Gaussian ``(u, v)`` with variances
``q, q'`` and correlation ``c = cos(theta)``:
:math:`E[\mathrm{relu}(u)\,\mathrm{relu}(v)] = \sqrt{q q'}\, J_1(c)` and
:math:`E[\mathrm{relu}'(u)\,\mathrm{relu}'(v)] = J_0(c)`, where

.. math::
    J_1(c) = \frac{\sin\theta + (\pi - \theta) c}{2 \pi}, \qquad
    J_0(c) = \frac{\pi - \theta}{2 \pi}, \qquad \sin\theta = \sqrt{(1 - c)(1 + c)}.

:func:`relu_maps` clips ``c`` to ``[-1, 1]`` and takes cosines within ``COS_SNAP_EPS = 64``
float64 epsilons of 1 as 1: there the angle is not determined by the float inputs (a rounding
error ``eps`` in ``c`` moves it by ``sqrt(2 eps)``), and identical inputs get exactly
``J1 = J0 = 1/2``. Where the true cosine is that close to 1 this changes ``J0`` by at most
``sqrt(128 eps) / (2 pi) = 2.7e-8``, the size of the rounding effect there anyway. (In float32
only cosines that round to 1 are snapped.) Error bound for a given float ``c`` away from the
snap: ``sin`` has relative error ``<= 2.5 u`` (one of ``1 -+ c`` is exact, the other and the
product are rounded, the square root halves that and rounds), ``pi - theta`` ``<= 4 u``, the
constant ``1/(2 pi)`` and the product ``u`` each; so :math:`|\hat J_0 - J_0| \le 6 u J_0` and
:math:`|\hat J_1 - J_1| \le \tfrac{u}{2\pi}(2.5 + 5 \pi + \pi) + u \le 5 u` (absolute;
``J1 <= 1/2``); measured ``3.3 u`` and ``1.04 u``. ``fl(pi) * fl(1/(2 pi))`` is exactly ``1/2``
in both dtypes, so ``c = 1`` gives ``J1 = J0 = 1/2`` exactly.

**The ReLU family** ``phi(x) = b max(x, 0) + a min(x, 0)`` (ReLU: ``a = 0, b = 1``; leaky ReLU:
``a = alpha, b = 1``; ABReLU ``(a, b)``). Write ``phi(x) = b relu(x) - a relu(-x)``; since
``(-u, -v)`` has the law of ``(u, v)`` and ``(u, -v)`` has correlation ``-c``,

.. math::
    E[\phi(u)\phi(v)] &= (a^2 + b^2) \sqrt{q q'} J_1(c) - 2 a b \sqrt{q q'} J_1(-c), \\
    E[\phi'(u)\phi'(v)] &= (a^2 + b^2) J_0(c) + 2 a b J_0(-c),

and :math:`J_1(c) - J_1(-c) = c/2` (the ``sin`` terms cancel, :math:`(\pi - \theta) c + \theta c =
\pi c`), :math:`J_0(c) + J_0(-c) = 1/2`. Hence the linear combinations of :func:`relu_family_maps`:

.. math::
    E[\phi(u)\phi(v)] / \sqrt{q q'} = (a - b)^2 J_1(c) + a b\, c, \qquad
    E[\phi'(u)\phi'(v)] = (a - b)^2 J_0(c) + a b,

the ReLU arc-cosine kernel plus the linear kernel (``a = b``: the identity, kernel ``c``). On
the diagonal (``c = 1``) the first is ``(a^2 + b^2)/2``, the second moment of ``phi`` over
``q``. These are neural-tangents' ``ABRelu`` formulas in another arrangement
(``factor * sqrt(q q' - k^2) + dot_sigma * k`` with ``factor = (a - b)^2/(2 pi)``).

**Two copies of one map (``copy``).** XLA on CPU keeps an "expensive" operation (here
``sqrt``) that feeds two fused outputs in a full-size temporary instead of recomputing it in
each. Callers that compute the NTK and the NNGP of one tile as two outputs pass ``copy=0`` for
one and ``copy=1`` for the other: every square root is then taken as
:math:`\sqrt{4^k v} / 2^k`, the same number (scaling by powers of 2 is exact) but no longer a
shared subexpression, so each output is one fused loop over the Gram matrix and no full-size
temporary is stored. The two copies may still differ by an ulp where the compiler contracts a
multiply and an add into one fused multiply-add differently (measured: ``J1`` near ``c = -1``);
a fused multiply-add only removes a rounding, so the bounds above hold for both.
"""

from __future__ import annotations

from typing import Final

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

__all__ = ["COS_SNAP_EPS", "arccos", "relu_family_maps", "relu_maps"]

#: Cosines within this many float64 epsilons of 1 are rounded to 1 by :func:`relu_maps`.
COS_SNAP_EPS: Final = 64

#: ``g(t) = (asin(sqrt t) - sqrt t) / t^(3/2)``: monomial coefficients (in ``t``) of its
#: degree-12 interpolant at the Chebyshev nodes of ``[0, 1/4]`` (60-digit arithmetic).
ASIN_COEFFS_F64: Final = (
    0.16666666666666669,
    0.07499999999998433,
    0.04464285714635543,
    0.030381944138531247,
    0.02237217294214989,
    0.017352392720869973,
    0.013971212973552933,
    0.011479177415184906,
    0.01032281435018578,
    0.005457506718640358,
    0.01740087944269402,
    -0.014851887071247204,
    0.028757851367421566,
)
#: The same for float32: degree 5 (interpolation error <= 8.8e-9 <= 0.15 u_32).
ASIN_COEFFS_F32: Final = (
    0.16666666337430908,
    0.07500094543497424,
    0.04459940152851218,
    0.03110066273549457,
    0.017149238357677253,
    0.03369084720283012,
)


def _coefficients(dtype: np.dtype) -> tuple[float, ...]:
    return ASIN_COEFFS_F32 if np.dtype(dtype) == np.float32 else ASIN_COEFFS_F64


def _estrin(t: Array, coeffs: tuple[float, ...]) -> Array:
    """``sum_i coeffs[i] t^i`` by Estrin's scheme (pairs, then pairs of pairs: short chains)."""
    terms: list[Array | float] = list(coeffs)
    power = t
    while len(terms) > 1:
        terms = [
            terms[i] + terms[i + 1] * power if i + 1 < len(terms) else terms[i]
            for i in range(0, len(terms), 2)
        ]
        power = power * power
    return terms[0]  # type: ignore[return-value]


def _sqrt(v: Array, copy: int) -> Array:
    """``sqrt(v)``, taken as ``sqrt(4^copy v) / 2^copy`` (the same number; see the module doc)."""
    if copy == 0:
        return jnp.sqrt(v)
    return jnp.sqrt(v * float(4**copy)) * float(2.0**-copy)


def _asin_parts(c: Array, copy: int) -> tuple[Array, Array]:
    """``(small, s)``: ``|c| <= 1/2``, and ``asin`` of ``c`` (small) or of ``sqrt((1 - |c|)/2)``."""
    a = jnp.abs(c)
    small = a <= 0.5
    y = jnp.where(small, c, _sqrt((1.0 - a) * 0.5, copy))
    t = y * y
    return small, y + y * t * _estrin(t, _coefficients(c.dtype))


def arccos(c: Array, *, copy: int = 0) -> Array:
    """``arccos(c)`` for ``c`` in ``[-1, 1]``, relative error ``<= 4 u`` (proof: module doc).

    Example:
        >>> import numpy as np
        >>> bool(abs(float(arccos(np.float32(0.3))) - np.arccos(0.3)) < 1e-6)
        True
    """
    c = jnp.asarray(c)
    small, s = _asin_parts(c, copy)
    return jnp.where(small, 0.5 * jnp.pi - s, jnp.where(c > 0, 2.0 * s, jnp.pi - 2.0 * s))


def _arccos_complement(c: Array, copy: int) -> Array:
    """``pi - arccos(c) = arccos(-c)``, from the same polynomial (no cancellation at ``-1``)."""
    small, s = _asin_parts(c, copy)
    return jnp.where(small, 0.5 * jnp.pi + s, jnp.where(c > 0, jnp.pi - 2.0 * s, 2.0 * s))


def _clean(c: Array) -> Array:
    """``c`` clipped to ``[-1, 1]``, and 1 within ``COS_SNAP_EPS`` float64 epsilons of 1."""
    snap = COS_SNAP_EPS * float(np.finfo(np.float64).eps)  # in float32: only c >= 1
    c = jnp.clip(jnp.asarray(c), -1.0, 1.0)
    return jnp.where(c >= 1.0 - snap, 1.0, c)


def _maps(c: Array, copy: int) -> tuple[Array, Array]:
    rest = _arccos_complement(c, copy)
    sin = _sqrt((1.0 - c) * (1.0 + c), copy)
    scale = 0.5 / jnp.pi
    return (sin + rest * c) * scale, rest * scale


def relu_maps(c: Array, *, copy: int = 0) -> tuple[Array, Array]:
    """ReLU's arc-cosine maps on unit variances: ``(J1(c), J0(c))`` (Cho & Saul 2009).

    For pre-activations with variances ``q, q'`` and covariance ``k = c sqrt(q q')``:
    ``E[relu(u) relu(v)] = sqrt(q q') J1(c)`` and ``E[relu'(u) relu'(v)] = J0(c)``, with
    ``J1 = (sin t + (pi - t) c) / (2 pi)``, ``J0 = (pi - t) / (2 pi)``, ``t = arccos c``.
    Cosines are clipped to ``[-1, 1]``, and those within ``COS_SNAP_EPS`` float64 epsilons of 1
    are taken as 1; the sine is ``sqrt((1 - c)(1 + c))`` (no cancellation). Errors ``<= 5 u``
    absolute (``J1``) and ``<= 6 u`` relative (``J0``); both exactly 1/2 at ``c = 1`` (module doc).
    """
    return _maps(_clean(c), copy)


def relu_family_maps(c: Array, a: float, b: float, *, copy: int = 0) -> tuple[Array, Array]:
    """Dual maps of ``phi(x) = b max(x, 0) + a min(x, 0)`` on unit variances.

    Returns ``(E[phi(u) phi(v)], E[phi'(u) phi'(v)])`` for unit-variance ``u, v`` with
    correlation ``c``: ``((a - b)^2 J1(c) + a b c, (a - b)^2 J0(c) + a b)`` (derivation in the
    module doc), with ``c`` clipped and snapped as in :func:`relu_maps`. ReLU (``a = 0``,
    ``b = 1``) gives :func:`relu_maps` itself.
    """
    c = _clean(c)
    j1, j0 = _maps(c, copy)
    if a == 0.0 and b == 1.0:
        return j1, j0
    w, ab = (a - b) ** 2, a * b
    return w * j1 + ab * c, w * j0 + ab
