r"""Metrics of extrapolation: directional linearity, slope convergence, out-of-support error.

After Xu et al., "How Neural Networks Extrapolate", ICLR 2021 (arXiv 2009.11848):

* :func:`ray_rsquared` / :func:`directional_linearity` — the paper's protocol
  for Theorem 1: along each ray outside the training support, the :math:`R^2`
  of a least-squares line (with intercept) through :math:`f(x) - f(x_0)`
  against the position :math:`\|x - x_0\|` on the ray; mean, median and the
  fraction above 0.99. For a *bias-free ReLU* network or NTK predictor,
  :math:`f(t v) = t f(v)` exactly (positive homogeneity), so along rays through
  the origin :math:`R^2 = 1` trivially; :func:`is_positively_homogeneous`
  tells when, and :class:`Linearity` records it. With bias, or from other base
  points, linearity is the real content of Theorem 1.
* :func:`slope_convergence` — Theorem 1's rate: the directional slope
  :math:`\beta_v` and the gap :math:`|(f(x_0 + h v) - f(x_0))/h - \beta_v|`
  for :math:`x_0 = t v`, with a fitted power-law exponent (the theorem bounds the
  gap by :math:`O(1/t)`).
* Out-of-support error: :func:`mse`; three MAPE variants named plainly,
  :func:`mape_median_per_batch` (the paper's feedforward code: 100 x the median
  absolute percentage error within each batch of 64, averaged over the full
  batches), :func:`mape_mean` (the paper's graph code) and :func:`mape_median`
  (the plain overall median); :func:`error_report` gives all of them.
* :func:`extrapolation_curve` — error against distance from the training
  support, binned.

Labels near zero make percentage errors meaningless: by default a label with
:math:`|y| \le` ``zero_tol`` :math:`\cdot \max|y|` raises ValueError;
``zero_labels="exclude"`` drops those points instead and the count is reported.
:func:`mape_median_per_batch` defaults to the official code's semantics instead:
``median="lower"`` (``torch.median``) and ``zero_labels="keep"`` (the unguarded
division, whose huge or infinite APEs the per-batch median ranks last).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, NamedTuple

import numpy as np
from jaxtyping import Float

from ntkx.core.validation import check_choice, check_finite_number, check_positive_int

__all__ = [
    "DEFAULT_ZERO_TOL",
    "Curve",
    "ErrorReport",
    "Linearity",
    "SlopeConvergence",
    "directional_linearity",
    "error_report",
    "extrapolation_curve",
    "is_positively_homogeneous",
    "mape_mean",
    "mape_median",
    "mape_median_per_batch",
    "mse",
    "prediction_gap",
    "ray_rsquared",
    "slope_convergence",
    "vector_mape",
]

#: Labels with ``|y| <= DEFAULT_ZERO_TOL * max|y|`` count as zero for MAPE.
DEFAULT_ZERO_TOL: Final = 1e-8
ZERO_LABELS: Final = ("raise", "exclude")
#: ``mape_median_per_batch(median=...)``: torch's lower median or NumPy's mean of the middle two.
MEDIANS: Final = ("lower", "mean")
#: Activations whose bias-free networks (and NTKs) are positively homogeneous of degree 1.
HOMOGENEOUS_ACTIVATIONS: Final = ("relu", "leaky_relu", "abrelu")


def _pair(name_true: str, y_true: Any, name_pred: str, y_pred: Any) -> tuple[np.ndarray, ...]:
    a = np.asarray(y_true, dtype=np.float64)
    b = np.asarray(y_pred, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if b.ndim == 2 and b.shape[1] == 1:
        b = b[:, 0]
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"{name_true} has shape {np.shape(y_true)} and {name_pred} has shape "
            f"{np.shape(y_pred)}; expected two non-empty vectors of the same length (n,)."
        )
    for name, arr in ((name_true, a), (name_pred, b)):
        if not np.isfinite(arr).all():
            raise ValueError(
                f"{name} contains {int((~np.isfinite(arr)).sum())} non-finite value(s); "
                "expected finite values only."
            )
    return a, b


def _nonzero(y_true: np.ndarray, zero_labels: str, zero_tol: float) -> tuple[np.ndarray, int]:
    check_choice("zero_labels", zero_labels, ZERO_LABELS)
    zero_tol = check_finite_number("zero_tol", zero_tol, minimum=0.0)
    scale = float(np.max(np.abs(y_true)))
    zero = np.abs(y_true) <= zero_tol * scale
    n_zero = int(zero.sum())
    if n_zero and zero_labels == "raise":
        first = int(np.argmax(zero))
        raise ValueError(
            f"y_true has {n_zero} label(s) with |y| <= {zero_tol:g} * max|y| (first at index "
            f"{first}: {y_true[first]!r}); percentage errors divide by the label. Pass "
            "zero_labels='exclude' to drop them (the count is reported), or use mse."
        )
    if n_zero == y_true.size:
        raise ValueError("every label is (near) zero; percentage errors are undefined.")
    return ~zero, n_zero


def _ape(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return np.abs(y_pred - y_true) / np.abs(y_true)


def mse(y_true: Float[np.ndarray, " n"], y_pred: Float[np.ndarray, " n"]) -> float:
    r"""Mean squared error :math:`\frac1n \sum (\hat y - y)^2`."""
    a, b = _pair("y_true", y_true, "y_pred", y_pred)
    return float(np.mean((b - a) ** 2))


def mape_mean(
    y_true: Float[np.ndarray, " n"],
    y_pred: Float[np.ndarray, " n"],
    *,
    zero_labels: str = "raise",
    zero_tol: float = DEFAULT_ZERO_TOL,
) -> float:
    r"""Mean absolute percentage error, :math:`100 \cdot \mathrm{mean}\,|\hat y - y| / |y|`.

    The variant of the paper's *graph* code. Example:

    >>> from ntkx.metrics import mape_mean
    >>> mape_mean([1.0, 2.0], [1.1, 2.0])
    5.000000000000004
    """
    a, b = _pair("y_true", y_true, "y_pred", y_pred)
    keep, _ = _nonzero(a, zero_labels, zero_tol)
    return float(100.0 * np.mean(_ape(a[keep], b[keep])))


def vector_mape(
    v_true: Float[np.ndarray, "n dim"],
    v_pred: Float[np.ndarray, "n dim"],
    *,
    reference: Float[np.ndarray, "n dim"] | None = None,
) -> float:
    r"""``100 mean_i ||v_pred_i - v_true_i|| / ||v_true_i - ref_i||`` over items, in percent.

    The percentage error of vector-valued predictions (the paper's n-body metric, with the
    next-step velocities as the vectors). ``reference=None``: the relative error of the vectors.
    ``reference=v`` (the current velocities): the relative error of the predicted *change*
    ``v_pred - v`` against ``v_true - v`` (the same numerator), which copying ``v`` cannot make
    small.

    Example:
        >>> import numpy as np
        >>> from ntkx.metrics import vector_mape
        >>> vector_mape(np.array([[3.0, 4.0]]), np.array([[3.0, 4.5]]))  # 0.5 / 5
        10.0
    """
    a = np.asarray(v_true, dtype=np.float64)
    b = np.asarray(v_pred, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(
            f"v_pred has shape {b.shape}; expected the shape of v_true {a.shape}, (n, dim)."
        )
    ref = np.zeros_like(a) if reference is None else np.asarray(reference, dtype=np.float64)
    if ref.shape != a.shape:
        raise ValueError(f"reference has shape {ref.shape}; expected {a.shape} (as v_true).")
    denom = np.linalg.norm(a - ref, axis=-1)
    if (denom <= 0).any():
        raise ValueError(
            f"v_true has {int((denom <= 0).sum())} item(s) with a zero "
            f"{'velocity' if reference is None else 'velocity change'}; percentage errors divide "
            "by it."
        )
    return float(100.0 * np.mean(np.linalg.norm(b - a, axis=-1) / denom))


def mape_median(
    y_true: Float[np.ndarray, " n"],
    y_pred: Float[np.ndarray, " n"],
    *,
    zero_labels: str = "raise",
    zero_tol: float = DEFAULT_ZERO_TOL,
) -> float:
    r"""Median absolute percentage error over all points, :math:`100 \cdot \mathrm{median}\,|\hat y
    - y|/|y|`."""
    a, b = _pair("y_true", y_true, "y_pred", y_pred)
    keep, _ = _nonzero(a, zero_labels, zero_tol)
    return float(100.0 * np.median(_ape(a[keep], b[keep])))


def mape_median_per_batch(
    y_true: Float[np.ndarray, " n"],
    y_pred: Float[np.ndarray, " n"],
    *,
    batch_size: int = 64,
    median: str = "lower",
    zero_labels: str = "keep",
    zero_tol: float = DEFAULT_ZERO_TOL,
) -> float:
    r"""The paper's feedforward MAPE: 100 x the median APE within each batch, averaged.

    .. math:: \mathrm{MAPE} = \frac{100}{B} \sum_{b=1}^{B}
       \operatorname{median}_{i \in \text{batch } b} \frac{|\hat y_i - y_i|}{|y_i|},
       \qquad B = \lfloor n / \text{batch\_size} \rfloor

    Points are taken in the given order in consecutive batches of ``batch_size``
    (64); the last partial batch is dropped, as the official code averages over full
    batches. Needs at least ``batch_size`` points.

    Args:
        y_true, y_pred: ``(n,)`` (or ``(n, 1)``) labels and predictions.
        batch_size: points per batch.
        median: ``"lower"`` (default; ``torch.median``, which the official code
            calls, returns the lower of the two middle values of an even count) or
            ``"mean"`` (NumPy's median, the mean of the two middle values).
        zero_labels: ``"keep"`` (default; the official formula, which divides by
            ``|y|`` unguarded: a near-zero label gives a huge APE, an exact zero an
            infinite one, and the per-batch median ranks it last, so it moves the
            median by one rank; ``0/0`` counts as 0), ``"raise"`` (ValueError on
            ``|y| <= zero_tol * max|y|``) or ``"exclude"`` (drop those points
            *before* batching).
        zero_tol: relative threshold of ``"raise"``/``"exclude"``.

    Raises:
        ValueError: fewer than ``batch_size`` points, or (``"keep"``) a batch whose
            median is infinite (more than half of its labels exactly zero).

    Example:
        >>> from ntkx.metrics import mape_median_per_batch
        >>> y, p = [1.0, 1.0, 1.0, 1.0], [1.1, 1.3, 1.0, 1.2]  # APEs 10, 30, 0, 20 %
        >>> round(mape_median_per_batch(y, p, batch_size=4), 9)  # lower median: 10
        10.0
        >>> round(mape_median_per_batch(y, p, batch_size=4, median="mean"), 9)
        15.0
    """
    a, b = _pair("y_true", y_true, "y_pred", y_pred)
    batch_size = check_positive_int("batch_size", batch_size)
    check_choice("median", median, MEDIANS)
    check_choice("zero_labels", zero_labels, (*ZERO_LABELS, "keep"))
    if zero_labels == "keep":
        zero_tol = check_finite_number("zero_tol", zero_tol, minimum=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ape = np.abs(b - a) / np.abs(a)
        ape[(a == 0) & (b == 0)] = 0.0
    else:
        keep, _ = _nonzero(a, zero_labels, zero_tol)
        ape = _ape(a[keep], b[keep])
    n_full = ape.size // batch_size
    if n_full == 0:
        raise ValueError(
            f"mape_median_per_batch needs at least batch_size={batch_size} points with non-zero "
            f"labels; got {ape.size}. Use a smaller batch_size or mape_median."
        )
    batches = np.sort(ape[: n_full * batch_size].reshape(n_full, batch_size), axis=1)
    if median == "lower":
        per_batch = batches[:, (batch_size - 1) // 2]
    else:
        per_batch = 0.5 * (batches[:, (batch_size - 1) // 2] + batches[:, batch_size // 2])
    if not np.isfinite(per_batch).all():
        first = int(np.argmax(~np.isfinite(per_batch)))
        raise ValueError(
            f"batch {first} of y_true has so many zero labels that its median percentage error "
            "is infinite; expected at most half zero labels per batch, or "
            "zero_labels='exclude'."
        )
    return float(100.0 * np.mean(per_batch))


class ErrorReport(NamedTuple):
    """Out-of-support error of one predictor.

    Attributes:
        mse: mean squared error.
        mape_median_per_batch: the paper's feedforward MAPE (percent; torch's lower
            median by default), or None when fewer than ``batch_size`` points.
        mape_mean: the paper's graph MAPE (percent).
        mape_median: overall median APE (percent).
        n: number of points; n_zero_labels_excluded: dropped from the MAPEs.
        batch_size: batch size of ``mape_median_per_batch``.
    """

    mse: float
    mape_median_per_batch: float | None
    mape_mean: float
    mape_median: float
    n: int
    n_zero_labels_excluded: int
    batch_size: int

    def describe(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return self._asdict()


def error_report(
    y_true: Float[np.ndarray, " n"],
    y_pred: Float[np.ndarray, " n"],
    *,
    batch_size: int = 64,
    zero_labels: str = "exclude",
    zero_tol: float = DEFAULT_ZERO_TOL,
    median: str = "lower",
) -> ErrorReport:
    """MSE and the three MAPE variants in one report (near-zero labels excluded and counted).

    ``median`` is that of :func:`mape_median_per_batch` (``"lower"``: torch's).
    """
    a, b = _pair("y_true", y_true, "y_pred", y_pred)
    keep, n_zero = _nonzero(a, zero_labels, zero_tol)
    kw = {"zero_labels": "raise", "zero_tol": 0.0}
    ak, bk = a[keep], b[keep]
    per_batch = (
        mape_median_per_batch(ak, bk, batch_size=batch_size, median=median, **kw)
        if ak.size >= batch_size
        else None
    )
    return ErrorReport(
        mse=mse(a, b),
        mape_median_per_batch=per_batch,
        mape_mean=mape_mean(ak, bk, **kw),
        mape_median=mape_median(ak, bk, **kw),
        n=int(a.size),
        n_zero_labels_excluded=n_zero,
        batch_size=int(batch_size),
    )


def prediction_gap(a: Float[np.ndarray, " n"], b: Float[np.ndarray, " n"]) -> tuple[float, float]:
    r"""``(rms, relative)``: :math:`\sqrt{\mathrm{mean}(a - b)^2}` and that divided by
    :math:`\sqrt{\mathrm{mean}\, b^2}` (``b`` is the reference)."""
    x, y = _pair("a", a, "b", b)
    rms = float(np.sqrt(np.mean((x - y) ** 2)))
    scale = float(np.sqrt(np.mean(y**2)))
    if scale == 0.0:
        raise ValueError("b is identically zero; the relative gap is undefined.")
    return rms, rms / scale


# --------------------------------------------------------------------------- linearity


def is_positively_homogeneous(net: Any) -> bool:
    r"""Whether ``net`` (an :func:`ntkx.mlp` spec) has :math:`f(c x) = c f(x)` for :math:`c > 0`.

    True for bias-free MLPs with a positively homogeneous activation (ReLU, leaky
    ReLU, ABReLU), of any depth: then the finite network, its NNGP and NTK, and
    hence the kernel-regression predictor are all positively homogeneous of
    degree 1, and linearity along rays through the origin holds trivially.
    """
    activation = getattr(net, "activation", None)
    b_std = getattr(net, "b_std", 1.0)
    return activation in HOMOGENEOUS_ACTIVATIONS and (b_std is None or b_std == 0.0)


def ray_rsquared(
    values: Float[np.ndarray, "m p"], t: Float[np.ndarray, "m p"]
) -> Float[np.ndarray, " m"]:
    r"""Per row, :math:`R^2` of a least-squares line with intercept of ``values`` on ``t``.

    :math:`R^2 = 1 - \mathrm{SS}_{res} / \mathrm{SS}_{tot}`. The paper regresses
    :math:`f(x) - f(x_0)` on :math:`x - x_0 = (t - t_0) v`; with an intercept the
    shift by :math:`f(x_0)` and :math:`t_0` does not change :math:`R^2`. A row that is
    constant (up to ``1e-12`` relative to its magnitude) is exactly linear with slope
    0 and gets :math:`R^2 = 1`.
    """
    f = np.asarray(values, dtype=np.float64)
    s = np.asarray(t, dtype=np.float64)
    if f.ndim != 2 or f.shape != s.shape or f.shape[1] < 3:
        raise ValueError(
            f"values has shape {np.shape(values)} and t has shape {np.shape(t)}; expected the "
            "same (n_rays, n_points) shape with n_points >= 3."
        )
    if not (np.isfinite(f).all() and np.isfinite(s).all()):
        raise ValueError("values and t must be finite.")
    fc = f - f.mean(axis=1, keepdims=True)
    sc = s - s.mean(axis=1, keepdims=True)
    sxx = np.sum(sc * sc, axis=1)
    if (sxx <= 0).any():
        raise ValueError("t is constant along some ray; expected distinct positions.")
    sxy = np.sum(sc * fc, axis=1)
    ss_tot = np.sum(fc * fc, axis=1)
    ss_res = np.maximum(ss_tot - sxy**2 / sxx, 0.0)
    magnitude = np.max(np.abs(f), axis=1)
    constant = ss_tot <= (1e-12 * np.maximum(magnitude, 1e-300)) ** 2 * f.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - ss_res / ss_tot
    return np.where(constant, 1.0, r2)


class Linearity(NamedTuple):
    """Directional linearity of a predictor along rays outside the training support.

    Attributes:
        r2: ``(m,)`` R^2 per ray.
        mean, median: of ``r2``.
        fraction_above: fraction of rays with ``r2 > threshold``.
        threshold: 0.99 by default.
        n_rays: number of rays.
        through_origin: whether the rays' base point is the origin.
        trivially_linear: the predictor is positively homogeneous and the rays
            pass through the origin, so ``r2 == 1`` up to rounding by homogeneity
            alone (Theorem 1 is then not what is being tested).
    """

    r2: np.ndarray
    mean: float
    median: float
    fraction_above: float
    threshold: float
    n_rays: int
    through_origin: bool
    trivially_linear: bool

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (the per-ray values included)."""
        out = self._asdict()
        out["r2"] = self.r2.tolist()
        out["min"] = float(self.r2.min())
        return out


def directional_linearity(
    predict: Callable[[np.ndarray], np.ndarray],
    rays: Any,
    *,
    threshold: float = 0.99,
    homogeneous: bool = False,
) -> Linearity:
    """R^2 of ``predict`` along :class:`ntkx.feedforward.data.Rays` (the paper's protocol).

    Args:
        predict: maps ``(k, d)`` inputs to ``(k,)`` (or ``(k, 1)``) outputs.
        rays: from :func:`ntkx.feedforward.data.rays`.
        threshold: R^2 threshold for ``fraction_above`` (0.99).
        homogeneous: whether ``predict`` is positively homogeneous (see
            :func:`is_positively_homogeneous`); sets ``trivially_linear`` for rays
            through the origin.

    Example:
        >>> import numpy as np
        >>> from ntkx.feedforward.data import geometry, rays
        >>> from ntkx.metrics import directional_linearity
        >>> ray_set = rays(geometry("cube", 2), 8, 5.0)
        >>> lin = directional_linearity(lambda x: np.abs(x).sum(1), ray_set)
        >>> round(lin.median, 12)
        1.0
    """
    threshold = check_finite_number("threshold", threshold)
    m, p, d = rays.points.shape
    values = np.asarray(predict(rays.points.reshape(m * p, d)), dtype=np.float64)
    values = values.reshape(m, p)
    if not np.isfinite(values).all():
        raise FloatingPointError("predict returned non-finite values along the rays.")
    r2 = ray_rsquared(values, rays.t)
    origin = bool(np.all(rays.base == 0))
    return Linearity(
        r2=r2,
        mean=float(r2.mean()),
        median=float(np.median(r2)),
        fraction_above=float(np.mean(r2 > threshold)),
        threshold=threshold,
        n_rays=int(m),
        through_origin=origin,
        trivially_linear=bool(origin and homogeneous),
    )


class SlopeConvergence(NamedTuple):
    r"""Convergence of the directional slope (Theorem 1).

    Attributes:
        t: ``(k,)`` distances of :math:`x_0 = b + t v`.
        gap: ``(k,)`` :math:`|(f(x_0 + h v) - f(x_0))/h - \beta_v|`.
        beta: the limiting slope :math:`\beta_v` (estimated far out, see
            :func:`slope_convergence`).
        h: the step.
        exponent: fitted :math:`p` in ``gap ~ C t^{-p}`` (None when fewer than 3
            gaps lie above ``noise_floor``: the slope has converged to rounding,
            e.g. exactly for homogeneous predictors or beyond a ReLU net's last kink).
        prefactor: fitted :math:`C` (None likewise).
        n_fitted: number of points used in the fit.
        noise_floor: rounding level below which gaps are not fitted.
    """

    t: np.ndarray
    gap: np.ndarray
    beta: float
    h: float
    exponent: float | None
    prefactor: float | None
    n_fitted: int
    noise_floor: float

    def describe(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = self._asdict()
        out["t"] = self.t.tolist()
        out["gap"] = self.gap.tolist()
        return out


def slope_convergence(
    predict: Callable[[np.ndarray], np.ndarray],
    direction: Float[np.ndarray, " d"],
    ts: Float[np.ndarray, " k"],
    *,
    h: float = 1.0,
    base: Float[np.ndarray, " d"] | None = None,
    t_far: float | None = None,
    eps: float = float(np.finfo(np.float64).eps),
) -> SlopeConvergence:
    r"""Gap between the finite-difference slope at distance ``t`` and the limiting slope.

    :math:`\beta_v` is estimated as :math:`(f(b + 2T v) - f(b + T v)) / T` at
    :math:`T =` ``t_far`` (default ``1e4 * max(ts)``): if
    :math:`f(b + t v) = \beta_v t + c + a/t + o(1/t)` this is off by
    :math:`O(1/T^2)`, far below the gaps at ``ts``. The rounding level of each
    gap, ``noise_floor`` :math:`\approx 8 \epsilon \max|f| / h`, is where the fit
    stops (``eps`` is the predictor's machine epsilon; pass float32's for
    float32 networks).
    """
    v = np.asarray(direction, dtype=np.float64).reshape(-1)
    if v.size == 0 or not np.isfinite(v).all() or np.linalg.norm(v) == 0:
        raise ValueError(f"direction={direction!r} is not allowed; expected a nonzero vector.")
    v = v / np.linalg.norm(v)
    ts = np.asarray(ts, dtype=np.float64).reshape(-1)
    if ts.size < 1 or not np.isfinite(ts).all() or (ts <= 0).any():
        raise ValueError(f"ts={ts!r} is not allowed; expected positive finite distances.")
    h = check_finite_number("h", h, minimum=0.0, strict=True)
    b = np.zeros_like(v) if base is None else np.asarray(base, dtype=np.float64).reshape(-1)
    if b.shape != v.shape:
        raise ValueError(f"base has shape {b.shape}; expected {v.shape}.")
    far = 1e4 * float(ts.max()) if t_far is None else check_finite_number("t_far", t_far)
    pts = np.concatenate(
        [
            b + ts[:, None] * v,
            b + (ts[:, None] + h) * v,
            (b + far * v)[None],
            (b + 2 * far * v)[None],
        ]
    )
    f = np.asarray(predict(pts), dtype=np.float64).reshape(-1)
    if f.shape != (pts.shape[0],) or not np.isfinite(f).all():
        raise FloatingPointError("predict returned non-finite or wrongly shaped values.")
    k = ts.size
    beta = (f[-1] - f[-2]) / far
    gap = np.abs((f[k : 2 * k] - f[:k]) / h - beta)
    floor = 8.0 * eps * (np.abs(f[: 2 * k]).max() / h + abs(beta))
    fit = gap > floor
    exponent = prefactor = None
    if fit.sum() >= 3:
        slope, intercept = np.polyfit(np.log(ts[fit]), np.log(gap[fit]), 1)
        exponent, prefactor = float(-slope), float(np.exp(intercept))
    return SlopeConvergence(
        ts, gap, float(beta), h, exponent, prefactor, int(fit.sum()), float(floor)
    )


# --------------------------------------------------------------------------- curves


class Curve(NamedTuple):
    """Error against distance from the training support, binned.

    Attributes:
        edges: ``(b + 1,)`` bin edges in distance; centers: ``(b,)`` mean distance per bin.
        counts: ``(b,)`` points per bin (empty bins are dropped).
        mse: ``(b,)`` mean squared error per bin.
        mape_mean, mape_median: ``(b,)`` percentage errors per bin (near-zero labels
            excluded, count in ``n_zero_labels_excluded``).
    """

    edges: np.ndarray
    centers: np.ndarray
    counts: np.ndarray
    mse: np.ndarray
    mape_mean: np.ndarray
    mape_median: np.ndarray
    n_zero_labels_excluded: int

    def describe(self) -> dict[str, Any]:
        """JSON-ready dict of lists."""
        return {
            k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self._asdict().items()
        }


def extrapolation_curve(
    distance: Float[np.ndarray, " n"],
    y_true: Float[np.ndarray, " n"],
    y_pred: Float[np.ndarray, " n"],
    *,
    bins: int | Float[np.ndarray, " b1"] = 10,
    zero_tol: float = DEFAULT_ZERO_TOL,
) -> Curve:
    """Bin test points by distance from the training support and compute errors per bin.

    ``bins`` is a number of equal-count (quantile) bins, or explicit edges. Bins
    without a point with a non-zero label are dropped from the result.
    """
    a, b = _pair("y_true", y_true, "y_pred", y_pred)
    dist = np.asarray(distance, dtype=np.float64).reshape(-1)
    if dist.shape != a.shape or not np.isfinite(dist).all() or (dist < 0).any():
        raise ValueError(
            f"distance has shape {np.shape(distance)}; expected {a.shape} finite values >= 0."
        )
    if isinstance(bins, int | np.integer) and not isinstance(bins, bool):
        nb = check_positive_int("bins", bins)
        edges = np.quantile(dist, np.linspace(0, 1, nb + 1))
        edges = np.unique(edges)
        if edges.size < 2:
            edges = np.array([dist.min(), dist.max() + 1e-12])
    else:
        edges = np.asarray(bins, dtype=np.float64).reshape(-1)
        if edges.size < 2 or not np.isfinite(edges).all() or (np.diff(edges) <= 0).any():
            raise ValueError(f"bins={bins!r} is not allowed; expected increasing finite edges.")
    keep, n_zero = _nonzero(a, "exclude", zero_tol)
    which = np.clip(np.searchsorted(edges, dist, side="right") - 1, 0, edges.size - 2)
    inside = (dist >= edges[0]) & (dist <= edges[-1])
    centers, counts, mses, means, medians, used = [], [], [], [], [], []
    for i in range(edges.size - 1):
        sel = inside & (which == i)
        if not sel.any():
            continue
        sk = sel & keep
        if not sk.any():  # only (near-)zero labels: no percentage error; drop the bin
            continue
        ape = 100.0 * _ape(a[sk], b[sk])
        centers.append(dist[sel].mean())
        counts.append(int(sel.sum()))
        mses.append(np.mean((a[sel] - b[sel]) ** 2))
        means.append(ape.mean())
        medians.append(np.median(ape))
        used.append(i)
    return Curve(
        edges=edges,
        centers=np.array(centers),
        counts=np.array(counts),
        mse=np.array(mses),
        mape_mean=np.array(means),
        mape_median=np.array(medians),
        n_zero_labels_excluded=n_zero,
    )
