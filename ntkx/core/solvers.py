r"""Solvers: closed-form predictors of infinitely wide networks.

* :func:`kernel_regression` — the network trained to convergence by gradient
  descent on the squared loss (NTK regime): :math:`f(x) = \Theta(x, X)
  (\Theta(X, X) + \lambda I)^{-1} Y`, the mean predictor over initializations
  (Jacot et al. 2018; Lee et al. 2019, arXiv 1902.06720; the predictor of
  Xu et al., arXiv 2009.11848, Theorems 1-2).
* :func:`gradient_flow` — the same network after gradient-flow time ``t``,
  through neural-tangents' ``predict.gradient_descent_mse``.
* :func:`nngp_posterior` — the NNGP (Bayesian, last layer trained) posterior
  mean and variance.
* :func:`solve_kernel_system` — the linear solve itself, for a precomputed
  kernel (e.g. a Monte Carlo kernel of a GNN).

Ridge is absolute: ``ridge`` is added to the diagonal of the kernel matrix as
it is, so it equals scikit-learn's ``KernelRidge(alpha=ridge)`` on the same
kernel; neural-tangents' ``diag_reg`` (relative by default) corresponds to
``ridge = diag_reg * mean(diag K)``.

Ill-conditioned kernels are normal here (the paper's own data repeats
training points), so the solve is robust and says what it did:

1. exact duplicate training inputs are merged first (their labels averaged,
   the ridge divided by the multiplicity), which is exactly the same predictor
   as the full set, for any ridge;
2. Cholesky factorization; it is accepted if LAPACK's reciprocal condition
   estimate exceeds ``n * eps`` (the matrix is not singular to working
   precision, and Cholesky is backward stable);
3. otherwise Cholesky with escalating jitter, added relative to the mean
   diagonal, up to ``1e-8`` (float64) or ``1e-4`` (float32), accepted only if
   the jittered matrix is well conditioned (reciprocal condition above
   ``sqrt(eps)``). A jitter that merely makes the factorization succeed on a
   singular kernel is refused: the dual coefficients would be of order
   ``1/jitter`` and the prediction ``K alpha`` would lose about
   ``cond * eps`` to cancellation (measured: 1e-2 on ``K = 1 1^T``);
4. otherwise a symmetric eigendecomposition pseudo-inverse, discarding
   eigenvalues below ``n * eps * max eigenvalue`` (the minimum-norm
   least-squares solution).

The solve runs in float64 unless ``solve_dtype="float32"`` is asked for (a
float32 kernel is promoted: its entries carry float32 rounding, but the
factorization does not add float32 round-off on top, which matters because
these kernels are often ill-conditioned). It never depends on free memory: a
float64 solve that cannot fit raises :class:`ntkx.InsufficientMemoryError`.

Kernels come from the kernel engine (:func:`ntkx.kernel`) with any ``method``:
with ``method="monte_carlo"`` the train/train and test/train kernels come from
the same sampled networks (one ``key``), and the diagnostics report the
kernel's relative standard error. A precomputed training kernel (an array or a
:class:`ntkx.KernelEstimate`) is accepted in place of the network.

Before any factorization the kernel is checked for symmetry: the largest
``|K[i, j] - K[j, i]|`` may be at most ``SYMMETRY_RTOL`` (``1e-10`` for a
float64 kernel, ``1e-4`` for float32) times ``max |K|``, and the kernel is then
symmetrized (``(K + K^T) / 2``); anything larger raises ``ValueError`` (a
non-symmetric matrix is not a kernel, and Cholesky would silently read only one
triangle of it). Engine kernels are symmetric by construction; Monte Carlo and
user kernels may differ by the rounding of two summation orders, about
``m * eps`` relative for ``m`` summed terms, far below these tolerances.

Paper-size solves: the factorization, the condition estimate, the triangular
solves and the eigendecomposition run with scipy's bundled OpenBLAS limited to
one thread (``threadpoolctl``). Its multithreaded Cholesky (OpenBLAS 0.3.30)
segfaults at ``n >= 16,000``, and on a loaded machine the threads are several
times slower than one (``benchmarks/bench_solve.py``, README "Dense solves at
paper size").

What :class:`SolveDiagnostics` reports is chosen by ``diagnostics``:

* ``"cheap"`` (default): the condition number estimated from the Cholesky
  factor by LAPACK (``pocon``, ``1 / rcond`` in the 1-norm; the reciprocal
  estimate was computed anyway to accept the factorization) and the relative
  residual of the solve, ``||(K + ridge) alpha - y|| / ||y||`` (one
  matrix-vector product). The eigenvalues are ``None`` (exact on the
  ``eigh-pinv`` path, which computes them anyway).
* ``"full"``: as ``"cheap"``, plus the extreme eigenvalues of the regularized
  kernel (exact up to 512 points, Lanczos above), and the condition number is
  their ratio (2-norm).
* ``"none"``: path, jitter, sizes and rank only; the eigenvalues, the
  condition number and the residual are ``None``.

With ``"cheap"`` and ``"full"`` the residual also guards the Cholesky paths: a
factorization whose normwise backward error
``||r|| / (||A|| ||alpha|| + ||y||)`` exceeds ``BACKWARD_ERROR_FACTOR * n * eps``
is refused, like one with a small ``rcond``, and the next path is tried.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Final, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.sparse.linalg
import threadpoolctl
from jaxtyping import Array, Float

from ntkx import _compat
from ntkx.core.iterative import (
    PRECONDITIONERS,
    CGDiagnostics,
    KernelOperator,
    solve_cg,
)
from ntkx.core.kernels import KernelEstimate, MonteCarloDual, kernel
from ntkx.core.numerics import (
    MEMORY_FRACTION,
    available_memory_bytes,
    check_memory,
    precision_context,
    resolve_dtype,
)
from ntkx.core.protocol import GETS, KERNEL_METHODS, Architecture, num_points
from ntkx.core.validation import as_targets, check_choice, check_finite_number, check_positive_int

__all__ = [
    "KernelRegression",
    "SolveDiagnostics",
    "gradient_flow",
    "kernel_regression",
    "nngp_posterior",
    "solve_kernel_system",
]

_nt = _compat.neural_tangents()

#: Largest jitter tried, relative to the mean diagonal, per dtype.
MAX_RELATIVE_JITTER: Final = {np.dtype("float64"): 1e-8, np.dtype("float32"): 1e-4}
#: Matrices up to this size get exact extreme eigenvalues (``eigvalsh``);
#: larger ones get Lanczos estimates.
EXACT_EIGEN_MAX_N: Final = 512
#: Rows of test points per kernel block in ``predict``.
PREDICT_CHUNK: Final = 4096
#: Largest allowed ``max |K - K^T| / max |K|``, per dtype of the given kernel: about
#: 1e6 eps (float64) and 1e3 eps (float32), far above the rounding of two summation
#: orders of the same kernel entry, far below any real asymmetry.
SYMMETRY_RTOL: Final = {np.dtype("float64"): 1e-10, np.dtype("float32"): 1e-4}
#: A Cholesky solve is refused when its normwise backward error exceeds this times
#: ``n * eps`` (LAPACK's a-priori bound for Cholesky is a small multiple of ``n * eps``;
#: measured values are ~eps).
BACKWARD_ERROR_FACTOR: Final = 10.0
DIAGNOSTICS: Final = ("cheap", "full", "none")
#: ``kernel_regression(solver=...)``: ``"auto"`` is ``"dense"`` when the dense solve fits in
#: memory, else ``"cg"`` (:mod:`ntkx.core.iterative`).
SOLVERS: Final = ("auto", "dense", "cg")
#: Block size of the in-place symmetry check.
_SYMMETRY_BLOCK: Final = 1024
#: BLAS threads for the factorizations and triangular solves (``None``: the libraries'
#: default, all cores). One by default: the multithreaded Cholesky of scipy's OpenBLAS
#: 0.3.30 (and of numpy's 0.3.31, and jax's, which shares scipy's LAPACK) segfaulted at
#: ``n >= 16,000`` on this project's machine, one thread works at every size, and on a
#: loaded machine it is also faster (``benchmarks/bench_solve.py``). Set it to ``None``
#: only on a machine where ``bench_solve.py candidates`` shows no crash at your size.
LAPACK_THREADS: int | None = 1
_THREADS = threadpoolctl.ThreadpoolController()
#: Where the Cholesky factorization of a dense solve runs: ``"host"`` (SciPy's LAPACK on
#: ``LAPACK_THREADS``), ``"device"`` (jax's Cholesky on ``jax.devices()[0]``; the factor is
#: copied back for LAPACK's condition estimate and the triangular solves), or ``"auto"``
#: (default): ``"device"`` when jax's default backend is a GPU, the system has at least
#: ``DEVICE_CHOLESKY_MIN_N`` points and the matrix and its factor fit in the device's free
#: memory, else ``"host"``. Measured on an H100 (``benchmarks/gpu_h100.json``): n = 20,000,
#: float64, 0.073 s on the device against 60.5 s for one host thread. On a CPU backend
#: ``"device"`` runs jax's own CPU Cholesky (same LAPACK; one thread is not enforced there).
CHOLESKY_ON: str = "auto"
CHOLESKY_PLACES: Final = ("auto", "host", "device")
#: Below this many points ``"auto"`` factors on the host (the transfers cost more).
DEVICE_CHOLESKY_MIN_N: Final = 2048


def _one_lapack_thread() -> Any:
    """Context: every BLAS library (scipy's and numpy's OpenBLAS) on ``LAPACK_THREADS``."""
    return _THREADS.limit(limits=LAPACK_THREADS, user_api="blas")


class SolveDiagnostics(NamedTuple):
    """How a kernel system was solved.

    Which optional fields are filled depends on the ``diagnostics`` level of the solve
    (``None`` where not computed):

    ================== ========================= ===================== ==========
    field              ``"full"``                ``"cheap"`` (default) ``"none"``
    ================== ========================= ===================== ==========
    min/max_eigenvalue exact or Lanczos          ``None`` [#]_         ``None``
    condition_number   ``max / min`` eigenvalue  LAPACK estimate [#]_  ``None``
    residual           filled                    filled                ``None``
    ================== ========================= ===================== ==========

    .. [#] exact on the ``eigh-pinv`` path, which computes all eigenvalues anyway.
    .. [#] ``1 / rcond`` from ``pocon`` on the Cholesky factor: an estimate of the 1-norm
       condition number ``kappa_1`` (it is a lower bound of ``kappa_1``, usually within a
       factor of 3), and ``kappa_2 <= kappa_1 <= n kappa_2``; exact (2-norm) on ``eigh-pinv``.

    Attributes:
        path: ``"cholesky"``, ``"cholesky+jitter"`` or ``"eigh-pinv"``.
        jitter: absolute jitter added to the diagonal (0.0 if none).
        min_eigenvalue: smallest eigenvalue of the regularized kernel, or ``None``.
        max_eigenvalue: largest eigenvalue of the regularized kernel, or ``None``.
        condition_number: condition number of the regularized (and jittered) kernel
            (``inf`` if singular), or ``None``; see the table for which one.
        n_train: number of training points given.
        n_unique: number after merging exact duplicates.
        rank: numerical rank used by ``eigh-pinv`` (``n_unique`` otherwise).
        kernel_method: how the training kernel was computed (``"closed_form"``,
            ``"monte_carlo"``, ``"empirical"`` or ``"precomputed"``).
        n_samples: networks averaged for a Monte Carlo kernel (0 otherwise).
        kernel_rel_stderr: ``||stderr||_F / ||K||_F`` of a Monte Carlo training kernel
            (0.0 for exact kernels).
        residual: ``||(K + ridge) alpha - y||_F / ||y||_F`` of the solved system (after
            merging duplicates, without the jitter: the jitter's effect is included), or
            ``None``. On ``eigh-pinv`` it is the least-squares residual, which need not be
            small (inconsistent labels on a singular kernel).
        diagnostics: the level used, ``"cheap"``, ``"full"`` or ``"none"``.
        factored_on: where the Cholesky factorization ran, ``"host"`` or ``"device"``
            (:data:`CHOLESKY_ON`); ``"host"`` on ``eigh-pinv``.
        solver: ``"dense"`` (``kernel_regression(solver="cg")`` reports a
            :class:`ntkx.CGDiagnostics` instead).
    """

    path: str
    jitter: float
    min_eigenvalue: float | None
    max_eigenvalue: float | None
    condition_number: float | None
    n_train: int
    n_unique: int
    rank: int
    kernel_method: str = "precomputed"
    n_samples: int = 0
    kernel_rel_stderr: float = 0.0
    residual: float | None = None
    diagnostics: str = "cheap"
    solver: str = "dense"
    factored_on: str = "host"


def _cholesky_place(n: int, itemsize: int) -> str:
    """``"host"`` or ``"device"`` for an ``n x n`` factorization, from :data:`CHOLESKY_ON`."""
    place = check_choice("ntkx.core.solvers.CHOLESKY_ON", CHOLESKY_ON, CHOLESKY_PLACES)
    if place != "auto":
        return place
    if jax.default_backend() != "gpu" or n < DEVICE_CHOLESKY_MIN_N:
        return "host"
    stats = jax.devices()[0].memory_stats() or {}
    free = stats.get("bytes_limit", 0) - stats.get("bytes_in_use", 0)
    return "device" if 3 * n * n * itemsize <= free else "host"


def _device_cholesky(a: np.ndarray) -> tuple[np.ndarray, bool]:
    """Cholesky of the symmetric ``a`` by jax on the default device, as SciPy's
    ``cho_factor`` pair ``(c, lower)``: jax's row-major ``L`` read in Fortran order is
    ``U = L^T`` with ``a = U^T U`` (no copy). A failed factorization (jax fills the factor
    with NaN) raises :class:`numpy.linalg.LinAlgError`, as LAPACK's does."""
    with precision_context(a.dtype):
        lower = np.asarray(jax.scipy.linalg.cholesky(jnp.asarray(a), lower=True))
    if not np.isfinite(lower.diagonal()).all():
        raise np.linalg.LinAlgError("the device Cholesky factorization failed")
    return lower.T, False


class _Factorization:
    """A factorization of ``A`` that applies ``A^{-1}`` (or ``A^+``)."""

    def __init__(self, solve: Callable[[np.ndarray], np.ndarray]):
        self.solve = solve


def _extreme_eigenvalues(a: np.ndarray, inverse: Callable | None) -> tuple[float, float]:
    n = a.shape[0]
    if n <= EXACT_EIGEN_MAX_N or inverse is None:
        with _one_lapack_thread():
            evals = scipy.linalg.eigvalsh(a, check_finite=False)
        return float(evals[0]), float(evals[-1])
    op = scipy.sparse.linalg.aslinearoperator(a)
    lam_max = float(scipy.sparse.linalg.eigsh(op, k=1, which="LA", tol=1e-4)[0][0])
    inv_op = scipy.sparse.linalg.LinearOperator((n, n), matvec=inverse, dtype=a.dtype)
    inv_max = float(scipy.sparse.linalg.eigsh(inv_op, k=1, which="LA", tol=1e-4)[0][0])
    return 1.0 / inv_max, lam_max


def _cho_solver(factor: Any) -> Callable[[np.ndarray], np.ndarray]:
    def solve(b: np.ndarray) -> np.ndarray:
        with _one_lapack_thread():
            return scipy.linalg.cho_solve(factor, b, check_finite=False)

    return solve


def _factorize(
    a: np.ndarray, y: np.ndarray, n_train: int, level: str
) -> tuple[_Factorization, np.ndarray, SolveDiagnostics]:
    """Factorize the symmetric ``a`` (the first acceptable path) and solve ``a alpha = y``."""
    n = a.shape[0]
    dtype = a.dtype
    eps = float(np.finfo(dtype).eps)
    mean_diag = float(np.mean(np.diag(a)))
    if not mean_diag > 0:
        raise ValueError(
            f"the training kernel has mean diagonal {mean_diag}; expected a positive "
            "semi-definite kernel with a positive diagonal."
        )
    jitters = [0.0]
    rel = 100 * eps
    while rel <= MAX_RELATIVE_JITTER[dtype] * (1 + 1e-9):
        jitters.append(rel * mean_diag)
        rel *= 100
    anorm = float(np.abs(a).sum(axis=0).max())
    ynorm = float(np.linalg.norm(y))
    pocon = scipy.linalg.get_lapack_funcs("pocon", (a,))
    diagonal = a.diagonal().copy()
    place = _cholesky_place(n, a.dtype.itemsize)
    for jitter in jitters:
        try:
            a[np.diag_indices(n)] = diagonal + jitter
            with _one_lapack_thread():
                if place == "device":
                    factor = _device_cholesky(a)
                else:
                    factor = scipy.linalg.cho_factor(a, lower=True, check_finite=False)
                rcond, info = pocon(factor[0], anorm + jitter, uplo="L" if factor[1] else "U")
        except np.linalg.LinAlgError:
            continue
        finally:
            a[np.diag_indices(n)] = diagonal
        threshold = n * eps if jitter == 0.0 else np.sqrt(eps)
        if info != 0 or not rcond > threshold:
            continue
        solve = _cho_solver(factor)
        alpha = solve(y)
        residual = None
        if level != "none":
            r = a @ alpha - y  # the system asked for (no jitter) ...
            r_shift = r + jitter * alpha  # ... and the one factorized
            alpha_norm = float(np.linalg.norm(alpha))
            backward = float(np.linalg.norm(r_shift)) / ((anorm + jitter) * alpha_norm + ynorm)
            if not backward <= BACKWARD_ERROR_FACTOR * n * eps:
                continue
            residual = float(np.linalg.norm(r)) / ynorm if ynorm > 0 else 0.0
        lo = hi = cond = None
        if level == "full":
            a[np.diag_indices(n)] = diagonal + jitter
            try:
                lo, hi = _extreme_eigenvalues(a, solve)
            finally:
                a[np.diag_indices(n)] = diagonal
            cond = hi / lo if lo > 0 else float("inf")
        elif level == "cheap":
            cond = max(1.0, 1.0 / float(rcond))  # kappa >= 1; the estimate may round below
        diag = SolveDiagnostics(
            path="cholesky" if jitter == 0.0 else "cholesky+jitter",
            jitter=float(jitter),
            min_eigenvalue=lo,
            max_eigenvalue=hi,
            condition_number=cond,
            n_train=n_train,
            n_unique=n,
            rank=n,
            residual=residual,
            diagnostics=level,
            factored_on=place,
        )
        return _Factorization(solve), alpha, diag

    with _one_lapack_thread():
        evals, evecs = scipy.linalg.eigh(a, check_finite=False)
    cutoff = n * eps * max(float(evals[-1]), 0.0)
    keep = evals > cutoff
    inv = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0).astype(dtype)
    kept_vecs = evecs

    def pinv_solve(b: np.ndarray) -> np.ndarray:
        return (
            kept_vecs @ (inv[:, None] * (kept_vecs.T @ b))
            if b.ndim == 2
            else (kept_vecs @ (inv * (kept_vecs.T @ b)))
        )

    alpha = pinv_solve(y)
    lo, hi = float(evals[0]), float(evals[-1])
    residual = None
    if level != "none":
        residual = float(np.linalg.norm(a @ alpha - y)) / ynorm if ynorm > 0 else 0.0
    diag = SolveDiagnostics(
        path="eigh-pinv",
        jitter=0.0,
        min_eigenvalue=None if level == "none" else lo,
        max_eigenvalue=None if level == "none" else hi,
        condition_number=None if level == "none" else (hi / lo if lo > 0 else float("inf")),
        n_train=n_train,
        n_unique=n,
        rank=int(keep.sum()),
        residual=residual,
        diagnostics=level,
    )
    return _Factorization(pinv_solve), alpha, diag


def _check_kernel(name: str, k: Any) -> np.ndarray:
    k = np.asarray(k)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] == 0:
        raise ValueError(f"{name} has shape {k.shape}; expected a non-empty square (n, n) matrix.")
    if k.dtype not in (np.float32, np.float64):
        k = k.astype(np.float64)
    if not np.isfinite(k).all():
        raise ValueError(
            f"{name} contains {int((~np.isfinite(k)).sum())} non-finite value(s); "
            "expected a finite kernel matrix."
        )
    return k


def _symmetrize(name: str, a: np.ndarray, given: np.dtype) -> None:
    """Check ``max |a - a^T| <= rtol max |a|``, then set ``a = (a + a^T) / 2`` in place.

    Works block by block (no ``n x n`` temporary). Raises ``ValueError`` naming ``name``,
    the worst asymmetry and its position otherwise.
    """
    n = a.shape[0]
    rtol = SYMMETRY_RTOL[given]
    scale = float(np.abs(a).max())
    allowed = rtol * scale
    worst, where = 0.0, (0, 0)
    b = _SYMMETRY_BLOCK
    for i in range(0, n, b):
        for j in range(0, i + 1, b):
            upper_t = a[j : j + b, i : i + b].T
            diff = np.abs(a[i : i + b, j : j + b] - upper_t)
            k = int(np.argmax(diff))
            if diff.flat[k] > worst:
                worst = float(diff.flat[k])
                r, c = np.unravel_index(k, diff.shape)
                where = (i + int(r), j + int(c))
    if worst > allowed:
        raise ValueError(
            f"{name} is not symmetric: max |K[i, j] - K[j, i]| = {worst:.3g} at (i, j) = "
            f"{where}, {worst / scale:.3g} relative to max |K| = {scale:.3g}; allowed is "
            f"{rtol:g} relative (rounding of a {given.name} kernel). A kernel matrix must "
            "be symmetric; symmetrize it yourself ((K + K.T) / 2) only if the asymmetry is "
            "round-off."
        )
    if worst > 0:
        for i in range(0, n, b):
            for j in range(0, i + 1, b):
                avg = 0.5 * (a[i : i + b, j : j + b] + a[j : j + b, i : i + b].T)
                a[i : i + b, j : j + b] = avg
                a[j : j + b, i : i + b] = avg.T


SOLVE_DTYPES: Final = ("float64", "float32")


def _solve(
    k: np.ndarray,
    y: np.ndarray,
    ridge: float,
    counts: np.ndarray | None,
    n_train: int,
    solve_dtype: str = "float64",
    diagnostics: str = "cheap",
    name: str = "the training kernel",
) -> tuple[np.ndarray, _Factorization, SolveDiagnostics]:
    dtype = np.dtype(check_choice("solve_dtype", solve_dtype, SOLVE_DTYPES))
    level = check_choice("diagnostics", diagnostics, DIAGNOSTICS)
    n = k.shape[0]
    check_memory(
        f"a {dtype.name} solve of {n} points",
        {"matrix": n * n * dtype.itemsize, "factor": n * n * dtype.itemsize},
        "Use fewer training points or solve_dtype='float32'.",
    )
    a = np.array(k, dtype=dtype, copy=True, order="F")
    _symmetrize(name, a, np.dtype(k.dtype))
    if ridge:
        weights = 1.0 if counts is None else 1.0 / counts
        a[np.diag_indices_from(a)] += ridge * weights
    fact, alpha, diag = _factorize(a, y.astype(a.dtype), n_train, level)
    return alpha, fact, diag


def solve_kernel_system(
    k_train_train: Float[Array, "n n"],
    y_train: Float[Array, "n ..."],
    ridge: float = 0.0,
    *,
    solve_dtype: str = "float64",
    diagnostics: str = "cheap",
) -> tuple[np.ndarray, SolveDiagnostics]:
    """Solve ``(K + ridge I) alpha = y`` robustly (see the module docstring).

    Args:
        k_train_train: ``(n, n)`` symmetric positive semi-definite kernel (symmetric to
            ``SYMMETRY_RTOL`` relative to its largest entry, else ``ValueError``).
        y_train: ``(n,)`` or ``(n, k)`` targets.
        ridge: absolute ridge ``>= 0`` (scikit-learn's ``alpha``).
        solve_dtype: ``"float64"`` (default) or ``"float32"``.
        diagnostics: ``"cheap"`` (default: condition estimate from the Cholesky factor and
            the residual), ``"full"`` (plus extreme eigenvalues) or ``"none"``; see
            :class:`SolveDiagnostics`.

    Returns:
        ``(alpha, diagnostics)`` with ``alpha`` shaped like ``y_train``;
        predictions are ``k_test_train @ alpha``.

    Example:
        >>> import numpy as np
        >>> from ntkx.core.solvers import solve_kernel_system
        >>> alpha, diag = solve_kernel_system(np.eye(2), np.array([1.0, 2.0]))
        >>> alpha.tolist(), diag.path, diag.residual
        ([1.0, 2.0], 'cholesky', 0.0)
    """
    k = _check_kernel("k_train_train", k_train_train)
    ridge = check_finite_number("ridge", ridge, minimum=0.0)
    y = as_targets("y_train", y_train, k.shape[0])
    alpha, _, diag = _solve(
        k, y, ridge, None, k.shape[0], solve_dtype, diagnostics, "k_train_train"
    )
    return (alpha[:, 0] if np.ndim(y_train) == 1 else alpha), diag


def _merge_duplicates(x: Any, y: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray | None]:
    if not isinstance(x, np.ndarray):
        return x, y, None
    unique, inverse, counts = np.unique(x, axis=0, return_inverse=True, return_counts=True)
    if unique.shape[0] == x.shape[0]:
        return x, y, None
    inverse = inverse.reshape(-1)
    sums = np.zeros((unique.shape[0], y.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, y)
    return unique, sums / counts[:, None], counts.astype(np.float64)


class _KernelSource(NamedTuple):
    """How a :class:`KernelRegression` computes kernels: one engine call, fixed options."""

    net: Architecture | None
    get: str
    method: str
    dtype: np.dtype
    key: Any
    n_samples: int

    def __call__(self, x1: Any, x2: Any) -> tuple[np.ndarray, float]:
        """``(K(x1, x2), relative standard error)``; ``x2=None`` means ``x1``."""
        value = kernel(
            self.net,
            x1,
            x2,
            self.get,
            self.method,
            key=self.key,
            n_samples=self.n_samples,
            dtype=self.dtype.name,
        )
        if isinstance(value, KernelEstimate):
            scale = float(np.linalg.norm(value.mean))
            rel = float(np.linalg.norm(value.stderr)) / scale if scale > 0 else float("inf")
            return value.mean, rel
        return value, 0.0


class KernelRegression:
    r"""The trained infinitely wide network (final class; build with :func:`kernel_regression`).

    Attributes:
        net: the architecture whose kernel is used (``None`` for a precomputed kernel).
        get: ``"ntk"`` or ``"nngp"``.
        method: how kernels are computed (``"closed_form"``, ``"monte_carlo"``,
            ``"precomputed"``).
        ridge: the absolute ridge.
        x_train: training inputs after merging exact duplicates (``None`` if precomputed).
        alpha: dual coefficients, ``(n_unique, k)``.
        diagnostics: :class:`SolveDiagnostics` (``solver="dense"``) or
            :class:`ntkx.CGDiagnostics` (``solver="cg"``).
        operator: the matrix-free :class:`ntkx.KernelOperator` of a CG solve (``None`` for a
            dense one); predictions then go through it too, never storing a kernel matrix.
    """

    def __init__(
        self,
        source: _KernelSource | None,
        ridge: float,
        x_train: Any,
        alpha: np.ndarray,
        factorization: _Factorization | None,
        diagnostics: SolveDiagnostics | CGDiagnostics,
        squeeze: bool,
        operator: KernelOperator | None = None,
    ):
        self._source = source
        self.net = None if source is None else source.net
        self.get = "precomputed" if source is None else source.get
        self.method = "precomputed" if source is None else source.method
        self.dtype = None if source is None else source.dtype
        self.ridge = ridge
        self.x_train = x_train
        self.alpha = alpha
        self.diagnostics = diagnostics
        self._factorization = factorization
        self._squeeze = squeeze
        self.operator = operator
        self._dual: MonteCarloDual | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("KernelRegression is final; compose it instead of subclassing.")

    def _chunks(self, x: Any) -> list[Any]:
        n = num_points(x)
        return [x[i : i + PREDICT_CHUNK] for i in range(0, n, PREDICT_CHUNK)]

    def _k_test_train(self, x: Any) -> np.ndarray:
        assert self._source is not None
        return self._source(x, self.x_train)[0]

    def _check_test(self, name: str, x: Any) -> Any:
        if self._source is None:
            raise ValueError(
                "this model was fitted on a precomputed kernel, so it cannot compute kernels of "
                f"new {name}; use predict_kernel(k_test_train)."
            )
        return self.net.check_inputs(name, x, dim=self.net.input_dim(self.x_train))

    def predict(self, x: Any) -> Float[np.ndarray, "m ..."]:
        """Predictions at ``x``: ``(m,)`` if the targets were 1-D, else ``(m, k)``."""
        x = self._check_test("x", x)
        if self.operator is not None:
            out = self.operator.kernel_matvec(self.alpha, x_rows=x)
        elif self.method == "monte_carlo" and (dual := self._monte_carlo_dual()) is not None:
            out = dual(x)
        else:
            out = np.concatenate([self._k_test_train(c) @ self.alpha for c in self._chunks(x)])
        return out[:, 0] if self._squeeze else out

    def _monte_carlo_dual(self) -> MonteCarloDual | None:
        """The Monte Carlo predictor ``K(x, X) alpha`` without ``K(x, X)``, built at the
        first prediction (one Jacobian pass per network over the training inputs), then
        reused: a later ``predict`` computes no training Jacobian
        (:class:`ntkx.core.kernels.MonteCarloDual`). None when its vectors do not fit in
        memory (then the kernel rows are computed)."""
        src = self._source
        assert src is not None
        if self._dual is None and MonteCarloDual.fits(
            src.net, self.x_train, self.alpha.shape[1], src.n_samples, src.dtype
        ):
            self._dual = MonteCarloDual(
                src.net, src.key, self.x_train, self.alpha, src.get,
                n_samples=src.n_samples, dtype=src.dtype.name,
            )  # fmt: skip
        return self._dual

    def predict_kernel(self, k_test_train: Float[Array, "m n"]) -> Float[np.ndarray, "m ..."]:
        """Predictions from a precomputed ``(m, n_unique)`` test/train kernel."""
        k = np.asarray(
            k_test_train.mean if isinstance(k_test_train, KernelEstimate) else k_test_train
        )
        if k.ndim != 2 or k.shape[1] != self.alpha.shape[0] or not np.isfinite(k).all():
            raise ValueError(
                f"k_test_train has shape {k.shape}; expected a finite (m, {self.alpha.shape[0]}) "
                "matrix (one column per training point)."
            )
        out = k @ self.alpha
        return out[:, 0] if self._squeeze else out

    def __repr__(self) -> str:
        d = self.diagnostics
        return (
            f"KernelRegression(get={self.get!r}, method={self.method!r}, ridge={self.ridge}, "
            f"n_train={d.n_train}, n_unique={d.n_unique}, path={d.path!r}, "
            f"condition_number={_fmt(d.condition_number)}, residual={_fmt(d.residual)})"
        )


def _fmt(value: float | None) -> str:
    return "None" if value is None else f"{value:.3g}"


def _require_architecture(net: Any) -> None:
    if not isinstance(net, Architecture):
        raise TypeError(
            f"net has type {type(net).__name__}; expected an ntkx architecture (ntkx.mlp, "
            "ntkx.graphs.message_passing, or ntkx.from_stax(init_fn, apply_fn, kernel_fn))."
        )


def _source(net: Any, get: str, method: str, dtype: Any, key: Any, n_samples: int) -> _KernelSource:
    check_choice("get", get, GETS)
    check_choice("method", method, KERNEL_METHODS[:2])
    if method == "monte_carlo":
        if key is None:
            raise ValueError("key=None is not allowed for method='monte_carlo'; pass a PRNG key.")
        n_samples = check_positive_int("n_samples", n_samples)
    return _KernelSource(net, get, method, resolve_dtype(dtype), key, n_samples)


def kernel_regression(
    net: Architecture | np.ndarray | KernelEstimate,
    x_train: Any,
    y_train: Float[Array, "n ..."],
    ridge: float = 0.0,
    *,
    get: str = "ntk",
    method: str = "closed_form",
    n_samples: int = 64,
    key: Any = None,
    dtype: str | None = None,
    solve_dtype: str = "float64",
    diagnostics: str = "cheap",
    solver: str = "auto",
    tol: float | None = None,
    max_iter: int | None = None,
    preconditioner: str | None = "pivoted_cholesky",
    preconditioner_rank: int | None = None,
) -> KernelRegression:
    r"""Predictor of the infinitely wide ``net`` trained to convergence on ``(x_train, y_train)``.

    .. math::
        f(x) = K(x, X) (K(X, X) + \lambda I)^{-1} Y, \qquad K = \Theta \text{ (NTK) or }
        \Sigma \text{ (NNGP)}.

    With ``get="ntk"`` and ``ridge=0`` this is the mean output of the infinitely
    wide network trained by gradient descent on the squared loss to convergence
    (arXiv 1902.06720; the predictor of arXiv 2009.11848, Theorems 1-2 and
    Lemma 1). ``ridge`` is absolute (= scikit-learn's ``KernelRidge(alpha)``).

    Args:
        net: any architecture; or a precomputed ``(n, n)`` training kernel (an array or a
            :class:`ntkx.KernelEstimate`) with ``x_train=None`` (then predict with
            :meth:`KernelRegression.predict_kernel`).
        x_train: a batch of ``n`` training inputs (``(n, d)`` array or graph batch).
        y_train: ``(n,)`` or ``(n, k)`` targets.
        ridge: absolute ridge ``>= 0``.
        get: ``"ntk"`` or ``"nngp"``.
        method: ``"closed_form"`` or ``"monte_carlo"`` (train/train and test/train kernels
            from the same ``n_samples`` networks drawn from ``key``).
        dtype: kernel dtype, ``"float32"``, ``"float64"`` or ``None`` (jax's default).
        solve_dtype: dtype of the linear solve (default float64, whatever the kernel's).
        diagnostics: ``"cheap"`` (default), ``"full"`` or ``"none"``: what
            ``.diagnostics`` reports for a dense solve (see :class:`SolveDiagnostics`).
        solver: ``"dense"`` (store the kernel, Cholesky; see the module docstring),
            ``"cg"`` (matrix-free preconditioned conjugate gradients sharded over all jax
            devices, :mod:`ntkx.core.iterative`; ``.diagnostics`` is a
            :class:`ntkx.CGDiagnostics`), or ``"auto"`` (default): ``"dense"`` when the
            kernel and its factorization fit in memory, else ``"cg"``.
        tol: CG's relative residual ``||(K + ridge) alpha - y|| / ||y||`` to reach, per
            column of ``y`` (default ``1e-8`` for float64 kernels, ``1e-5`` for float32).
        max_iter: CG's iteration limit (default 1000); reaching it warns
            (:class:`ntkx.ConvergenceWarning`) and sets ``.diagnostics.result="max_iter"``.
        preconditioner: ``"pivoted_cholesky"`` (default), ``"nystrom"`` or ``None``.
        preconditioner_rank: rank of the CG preconditioner (kernel columns computed); default
            ``n // 8`` clipped to ``[100, 1000]`` (:func:`ntkx.core.iterative.default_rank`).

    Returns:
        A :class:`KernelRegression` with ``.predict(x)`` and ``.diagnostics``.

    Example:
        >>> import numpy as np, ntkx
        >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
        >>> model = ntkx.kernel_regression(ntkx.mlp(), x, x @ [2.0, -1.0], dtype="float64")
        >>> bool(np.allclose(model.predict([[4.0, 4.0]]), [4.0]))  # Lemma 1: exact
        True
    """
    ridge = check_finite_number("ridge", ridge, minimum=0.0)
    check_choice("solver", solver, SOLVERS)
    cg_options = _cg_options(tol, max_iter, preconditioner, preconditioner_rank)
    if not isinstance(net, Architecture):
        if solver == "cg":
            raise ValueError(
                "solver='cg' is not allowed for a precomputed kernel (it is already in memory); "
                "expected solver='dense' or 'auto', or an architecture with x_train."
            )
        return _precomputed_regression(net, x_train, y_train, ridge, solve_dtype, diagnostics)
    source = _source(net, get, method, dtype, key, n_samples)
    check_choice("diagnostics", diagnostics, DIAGNOSTICS)
    check_choice("solve_dtype", solve_dtype, SOLVE_DTYPES)
    x = net.check_inputs("x_train", x_train)
    n = num_points(x)
    y = as_targets("y_train", y_train, n)
    x_unique, y_unique, counts = _merge_duplicates(x, y.astype(np.float64))
    if solver == "cg" or (
        solver == "auto" and not _dense_fits(num_points(x_unique), source, solve_dtype)
    ):
        return _cg_regression(source, x_unique, y_unique, counts, ridge, n, y_train, cg_options)
    k, rel_stderr = source(x_unique, None)
    alpha, fact, diag = _solve(
        k, y_unique, ridge, counts, n, solve_dtype, diagnostics, f"the {get} training kernel"
    )
    diag = diag._replace(
        kernel_method=method,
        n_samples=source.n_samples if method == "monte_carlo" else 0,
        kernel_rel_stderr=rel_stderr,
    )
    return KernelRegression(
        source, ridge, x_unique, alpha, fact, diag, squeeze=np.ndim(y_train) == 1
    )


def _cg_options(tol: Any, max_iter: Any, preconditioner: Any, rank: Any) -> dict[str, Any]:
    """Check CG's options before any computation (also when the dense solver is chosen)."""
    if tol is not None:
        tol = check_finite_number("tol", tol, minimum=0.0, strict=True)
    if max_iter is not None:
        max_iter = check_positive_int("max_iter", max_iter)
    check_choice("preconditioner", preconditioner, PRECONDITIONERS)
    if rank is not None:
        rank = check_positive_int("preconditioner_rank", rank)
    return {"tol": tol, "max_iter": max_iter, "preconditioner": preconditioner, "rank": rank}


def _dense_fits(n: int, source: _KernelSource, solve_dtype: str) -> bool:
    """Whether the dense path's arrays (kernel, its solve copy and factor) fit in memory."""
    kernel_arrays = 4 * 8 if source.method == "monte_carlo" else source.dtype.itemsize
    need = n * n * (kernel_arrays + 2 * np.dtype(solve_dtype).itemsize)
    return need <= MEMORY_FRACTION * available_memory_bytes()


def _cg_regression(
    source: _KernelSource,
    x: Any,
    y: np.ndarray,
    counts: np.ndarray | None,
    ridge: float,
    n_train: int,
    y_train: Any,
    options: dict[str, Any],
) -> KernelRegression:
    ridge_vec = np.full(num_points(x), ridge) if counts is None else ridge / counts
    op = KernelOperator(
        source.net,
        x,
        source.get,
        source.method,
        key=source.key,
        n_samples=source.n_samples,
        dtype=source.dtype.name,
        ridge=ridge_vec,
    )
    alpha, diag = solve_cg(op, y, n_train=n_train, **options)
    diag = diag._replace(
        kernel_method=source.method,
        n_samples=source.n_samples if source.method == "monte_carlo" else 0,
    )
    return KernelRegression(
        source, ridge, x, alpha, None, diag, squeeze=np.ndim(y_train) == 1, operator=op
    )


def _precomputed_regression(
    k: Any, x_train: Any, y_train: Any, ridge: float, solve_dtype: str, diagnostics: str
) -> KernelRegression:
    if x_train is not None:
        raise TypeError(
            f"net has type {type(k).__name__} and x_train is given; expected an ntkx architecture "
            "with training inputs, or a precomputed (n, n) kernel with x_train=None."
        )
    rel, n_samples = 0.0, 0
    if isinstance(k, KernelEstimate):
        scale = float(np.linalg.norm(k.mean))
        rel = float(np.linalg.norm(k.stderr)) / scale if scale > 0 else float("inf")
        k, n_samples = k.mean, k.n_samples
    name = "net (a precomputed kernel)"
    k = _check_kernel(name, k)
    y = as_targets("y_train", y_train, k.shape[0])
    alpha, fact, diag = _solve(k, y, ridge, None, k.shape[0], solve_dtype, diagnostics, name)
    diag = diag._replace(kernel_method="precomputed", n_samples=n_samples, kernel_rel_stderr=rel)
    return KernelRegression(None, ridge, None, alpha, fact, diag, squeeze=np.ndim(y_train) == 1)


def gradient_flow(
    net: Architecture,
    x_train: Any,
    y_train: Float[Array, "n ..."],
    x_test: Any,
    t: float | Float[Array, " T"],
    *,
    get: str = "ntk",
    learning_rate: float = 1.0,
    dtype: str | None = None,
) -> np.ndarray:
    r"""Test predictions of the infinitely wide network after gradient-flow time ``t``.

    Starts from the mean initial output ``f_0 = 0`` and follows neural-tangents'
    ``predict.gradient_descent_mse`` on the loss
    :math:`L = \frac{1}{2 N} \sum (f(X) - Y)^2` with ``N = y_train.size`` (the
    mean over all training outputs) and learning rate ``learning_rate``:

    .. math::
        f_t(x) = K(x, X) K^{-1} \left(I - e^{-\eta K t / N}\right) Y.

    As ``t -> inf`` this is :func:`kernel_regression` with ``ridge=0``.

    Returns:
        ``(m,)`` / ``(m, k)`` predictions for scalar ``t``; ``(T, m)`` /
        ``(T, m, k)`` for an array of times.
    """
    _require_architecture(net)
    source = _source(net, get, "closed_form", dtype, None, 1)
    learning_rate = check_finite_number("learning_rate", learning_rate, minimum=0.0, strict=True)
    xtr = net.check_inputs("x_train", x_train)
    xte = net.check_inputs("x_test", x_test, dim=net.input_dim(xtr))
    y = as_targets("y_train", y_train, num_points(xtr))
    times = np.asarray(t, dtype=np.float64)
    if times.ndim > 1 or not np.isfinite(times).all() or (times < 0).any():
        raise ValueError(f"t={t!r} is not allowed; expected a time >= 0 or a 1-D array of them.")
    k_tt, _ = source(xtr, None)
    k_st, _ = source(xte, xtr)
    np_dtype = source.dtype
    with precision_context(np_dtype):
        predict_fn = _nt.predict.gradient_descent_mse(
            k_tt, y.astype(np_dtype), learning_rate=learning_rate, trace_axes=(-1,)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # neural-tangents broadcasts ranks internally (t of shape (T,) against
            # (n, k) outputs): allow it here even when the caller's jax raises on it.
            with jax.numpy_rank_promotion("allow"):
                _, fx_test = predict_fn(times.astype(np_dtype), 0.0, 0.0, k_st)
    out = np.asarray(fx_test, np_dtype)
    return out[..., 0] if np.ndim(y_train) == 1 else out


def nngp_posterior(
    net: Architecture,
    x_train: Any,
    y_train: Float[Array, " n"],
    x_test: Any,
    noise: float = 0.0,
    *,
    dtype: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""NNGP posterior mean and variance at ``x_test`` (Bayesian infinitely wide network).

    .. math::
        \mu(x) = \Sigma(x, X)(\Sigma(X, X) + \sigma^2 I)^{-1} Y, \quad
        v(x) = \Sigma(x, x) - \Sigma(x, X)(\Sigma(X, X) + \sigma^2 I)^{-1}\Sigma(X, x).

    ``noise`` is the observation noise variance :math:`\sigma^2` (absolute, ``>= 0``).
    The variance is of the latent function (add ``noise`` for a new
    observation) and is clipped at 0 against round-off.

    Returns:
        ``(mean, variance)``: mean ``(m,)`` or ``(m, k)``, variance ``(m,)``.
    """
    noise = check_finite_number("noise", noise, minimum=0.0)
    model = kernel_regression(
        net, x_train, y_train, ridge=noise, get="nngp", dtype=dtype, solver="dense"
    )
    xte = model._check_test("x_test", x_test)
    means, variances = [], []
    for chunk in model._chunks(xte):
        k_st = model._k_test_train(chunk)
        means.append(k_st @ model.alpha)
        k_ss = _kernel_diagonal(model._source, chunk)
        reduction = np.einsum("ij,ji->i", k_st, model._factorization.solve(k_st.T))
        variances.append(np.maximum(k_ss - reduction, 0.0))
    mean = np.concatenate(means)
    return (mean[:, 0] if model._squeeze else mean), np.concatenate(variances)


def _kernel_diagonal(source: _KernelSource, x: Any) -> np.ndarray:
    """``K(x_i, x_i)`` through blocks of 512 inputs (their diagonal tiles)."""
    block = 512
    parts = [np.diag(source(x[i : i + block], None)[0]) for i in range(0, num_points(x), block)]
    return np.concatenate(parts)
