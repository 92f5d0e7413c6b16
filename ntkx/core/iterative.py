r"""Matrix-free kernel regression: preconditioned conjugate gradients, sharded over devices.

The dense solver (:mod:`ntkx.core.solvers`) stores the ``n x n`` kernel and
factorizes it: ``O(n^2)`` memory, ``O(n^3)`` time. Here the system

.. math::
    A \alpha = y, \qquad A = K(X, X) + \operatorname{diag}(\lambda), \quad
    A \in \mathbb{R}^{n \times n},\; y, \alpha \in \mathbb{R}^{n \times k},

is solved by preconditioned conjugate gradients (PCG), which only needs products
``A v``. Each product is computed tile by tile from the kernel engine's own block
functions (:func:`ntkx.core.kernels.kernel_tiles`: closed form, Monte Carlo or
empirical, for every architecture) and never stored: ``O(n k + b^2)`` memory for
tiles of ``b`` points, ``O(n^2)`` kernel evaluations per product. This is the
method of Adlam et al. 2023 (arXiv 2303.05420), who solved neural-tangents
kernel systems with millions of points this way.

**PCG** (Saad, *Iterative Methods for Sparse Linear Systems*, Alg. 9.1), for each
column of ``y`` independently, from :math:`\alpha_0 = 0`, :math:`r_0 = y`,
:math:`z_0 = P^{-1} r_0`, :math:`p_0 = z_0`:

.. math::
    a_j = \frac{r_j^\top z_j}{p_j^\top A p_j},\quad
    \alpha_{j+1} = \alpha_j + a_j p_j,\quad r_{j+1} = r_j - a_j A p_j,\quad
    z_{j+1} = P^{-1} r_{j+1},\quad
    p_{j+1} = z_{j+1} + \frac{r_{j+1}^\top z_{j+1}}{r_j^\top z_j} p_j.

It stops when every column's relative residual ``||A alpha - y|| / ||y||`` is at
most ``tol``, checked on the true residual (one extra product; if the recursive
residual has drifted, CG restarts from the current ``alpha``), or after
``max_iter`` products, which is reported (a :class:`ConvergenceWarning` and
``diagnostics.result == "max_iter"``), never silent.

**Preconditioner** ``P = L L^T + D`` with a rank-``r`` factor ``L`` (``n x r``) and
the diagonal ``D = diag(K - L L^T) + diag(lambda)`` (what ``L`` leaves of the
kernel's diagonal, plus the ridge), which needs only the kernel's diagonal and
``r`` of its columns:

* ``"pivoted_cholesky"`` (default): the greedy pivoted partial Cholesky factor
  (Harbrecht, Peters, Schneider 2012; the GPyTorch preconditioner of Gardner et al.
  2018, arXiv 1809.11165): each step takes the point with the largest remaining
  diagonal as pivot;
* ``"nystrom"``: the Nyström factor on ``r`` uniformly drawn points, as in Falkon
  (Rudi, Carratino, Rosasco 2017, arXiv 1705.10958):
  ``L = K(X, S) K(S, S)^{-1/2}``;
* ``None``: plain CG.

``P^{-1}`` is applied through the Woodbury identity in its symmetric form: with
``U = D^{-1/2} L = Q S W^T`` (thin SVD),

.. math::
    P^{-1} = D^{-1/2} (I + U U^\top)^{-1} D^{-1/2}
           = D^{-1/2} \left(Q \operatorname{diag}\tfrac{1}{1 + s_i^2} Q^\top
             + (I - Q Q^\top)\right) D^{-1/2},

``O(n r)`` per application, without the cancellation of the textbook
``D^{-1} - D^{-1} L (I + L^T D^{-1} L)^{-1} L^T D^{-1}``. With ``r = n`` and a
positive ridge, ``P = A`` exactly and PCG converges in one iteration.

**Symmetric products.** ``K(X, X)`` is symmetric, so ``K v`` is computed from one
triangle of tiles: with ``B`` row blocks, step ``s = 0 .. B // 2`` pairs block ``i`` with
block ``j = (i + s) mod B``, and the one tile ``K_ij`` gives ``K_ij v_j`` to block ``i`` and
``K_ij^T v_i`` to block ``j`` (not at ``s = 0``, nor at ``s = B / 2`` when ``B`` is even,
where block ``j`` computes ``K_ji`` itself): ``B (B // 2 + 1)`` tiles instead of ``B^2``, the
same number for every block row. Products with other rows (predictions) compute every tile.

**Devices.** The row tiles of every product are spread over all jax devices with
``jax.shard_map`` over a one-axis :class:`jax.sharding.Mesh` (``"rows"``): each
device computes the tiles of its row blocks (at every step of the pairing above; the
transposed parts of a step are gathered from all devices and added in one fixed order, so
any number of devices gives bitwise the same sums). On a
CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=4`` makes 4 devices. On
several hosts, call ``jax.distributed.initialize()`` first in every process (same
program, same inputs on every host); ``jax.devices()`` then lists every host's
devices, the mesh spans them and results are gathered with
``jax.experimental.multihost_utils.process_allgather`` (not tested in this
project: it has one host).
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Float

from ntkx.core.kernels import CACHE_SIZE, KernelTiles, kernel_tiles
from ntkx.core.numerics import precision_context
from ntkx.core.progress import progress_bar
from ntkx.core.protocol import Architecture, cast_floats, num_points, pad_batch
from ntkx.core.validation import check_choice, check_finite_number, check_positive_int

__all__ = [
    "CGDiagnostics",
    "ConvergenceWarning",
    "KernelOperator",
    "LowRankPreconditioner",
    "conjugate_gradients",
    "low_rank_preconditioner",
]

#: Default relative residual tolerance, per dtype of the kernel tiles: 1e-8 for float64
#: (predictions then agree with a dense solve to about ``cond * 1e-8``); 1e-5 for float32
#: (a float32 product has a relative error of ~1e-6, so a smaller residual is unreachable).
DEFAULT_TOL: Final = {np.dtype("float64"): 1e-8, np.dtype("float32"): 1e-5}
DEFAULT_MAX_ITER: Final = 1000
#: Preconditioner rank by default: ``clip(n // 8, DEFAULT_RANK, MAX_DEFAULT_RANK)``
#: (:func:`default_rank`). Measured (d = 16, depth-2 ReLU NTK with bias, ridge 1e-2, float64,
#: tol 1e-8, 2-core CPU): at n = 8,000 rank 100 took 135 iterations (60 s in all), rank 1,000
#: 37 (41 s, 30 s of it setup), rank 3,000 22 (165 s, setup 154 s); at n = 100,000 rank 1,000
#: converged in 81 iterations (rank 100: 109, 135, 171 iterations at n = 4,000-16,000, growing).
DEFAULT_RANK: Final = 100
MAX_DEFAULT_RANK: Final = 1000
PRECONDITIONERS: Final = ("pivoted_cholesky", "nystrom", None)
_AXIS: Final = "rows"


class ConvergenceWarning(RuntimeWarning):
    """CG stopped at ``max_iter`` products before reaching ``tol``."""


# ---------------------------------------------------------------------- the operator


def _leading(x: Any) -> int:
    return jax.tree_util.tree_leaves(x)[0].shape[0]


def _symmetric_local(fn: Callable, n_blocks: int) -> Callable:
    r"""One device's share of the symmetric product ``K(X, X) v`` (see :class:`KernelOperator`).

    The ``B = n_blocks`` row blocks are paired cyclically: at step ``s = 0 .. B // 2`` row
    block ``i`` computes the one tile ``K_ij``, ``j = (i + s) mod B``, and adds ``K_ij v_j``
    to block ``i`` and, for ``0 < s < B / 2``, ``K_ij^T v_i`` to block ``j`` (at ``s = B / 2``,
    ``B`` even, ``K_ji`` is computed by row ``j`` itself, so the transpose is not used). Every
    unordered pair of blocks is computed once (twice for the ``B / 2`` pairs of the last step
    when ``B`` is even): ``B (B // 2 + 1)`` tiles instead of ``B^2``. Each step's transposed
    parts are gathered from all devices and rolled by ``s`` blocks, so block ``j`` sums
    ``direct_0, direct_1 + transposed_1, ...`` in the same order on any number of devices.
    Rows beyond ``B`` (devices' padding) compute a tile whose parts are dropped.
    """

    def local(operand: Any, rows: Any, cols: Any, v: Array) -> Array:
        r_local = _leading(rows)
        first = jax.lax.axis_index(_AXIS) * r_local
        ids = first + jnp.arange(r_local)
        v_rows = jax.lax.dynamic_slice_in_dim(v, first, r_local)
        padding = v.shape[0] - n_blocks  # whole tiles of padding after the B blocks

        def step(acc: Array, s: Array) -> tuple[Array, None]:
            def one(args: tuple[Any, Array, Array]) -> tuple[Array, Array]:
                xr, vr, i = args
                j = jax.lax.rem(i + s, n_blocks)
                xc = jax.tree_util.tree_map(
                    lambda c: jax.lax.dynamic_index_in_dim(c, j, keepdims=False), cols
                )
                tile = fn(operand, xr, xc)
                vj = jax.lax.dynamic_index_in_dim(v, j, keepdims=False)
                return tile @ vj, (vr.T @ tile).T  # no transposed copy of the tile

            direct, transposed = jax.lax.map(one, (rows, v_rows, ids))
            use = (s > 0) & (2 * s != n_blocks)
            transposed = jnp.where(use, transposed, jnp.zeros_like(transposed))
            every = jax.lax.all_gather(transposed, _AXIS, tiled=True)[:n_blocks]
            every = jnp.roll(every, s, axis=0)  # block i's part lands on block i + s
            every = jnp.pad(every, ((0, padding), (0, 0), (0, 0)))
            mine = jax.lax.dynamic_slice_in_dim(every, first, r_local)
            return acc + direct + mine, None

        acc = jnp.zeros(v_rows.shape, v.dtype)
        return jax.lax.scan(step, acc, jnp.arange(n_blocks // 2 + 1))[0]

    return local


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compiled(fn: Callable, kind: str, devices: tuple[Any, ...], n_blocks: int = 0) -> Callable:
    """The sharded, jit-compiled row-tile map of one tile function.

    ``kind``: ``"matvec"`` ``(operand, rows (R, b, ...), cols (C, c, ...), v (C, c, k))
    -> (R, b, k)``; ``"symmetric"`` the same with ``cols = rows`` (all of them, ``R``
    tiles of which the first ``n_blocks`` hold points): ``K(X, X) v`` from the tiles of one
    triangle (:func:`_symmetric_local`); ``"columns"`` ``(operand, rows, z (m, ...))
    -> (R, b, m)``; ``"diagonal"`` ``(operand, rows) -> (R, b)``. ``rows`` is split over
    the devices.
    """
    mesh = Mesh(np.asarray(devices, dtype=object), (_AXIS,))

    if kind == "matvec":

        def local(operand: Any, rows: Any, cols: Any, v: Array) -> Array:
            def one(xr: Any) -> Array:
                def body(acc: Array, cv: tuple[Any, Array]) -> tuple[Array, None]:
                    xc, vc = cv
                    return acc + fn(operand, xr, xc) @ vc, None

                acc = jnp.zeros((_leading(xr), v.shape[-1]), v.dtype)
                return jax.lax.scan(body, acc, (cols, v))[0]

            return jax.lax.map(one, rows)

        specs: tuple[Any, ...] = (P(), P(_AXIS), P(), P())
    elif kind == "symmetric":
        local = _symmetric_local(fn, n_blocks)
        specs = (P(), P(_AXIS), P(), P())
    elif kind == "columns":

        def local(operand: Any, rows: Any, z: Any) -> Array:
            return jax.lax.map(lambda xr: fn(operand, xr, z), rows)

        specs = (P(), P(_AXIS), P())
    else:

        def local(operand: Any, rows: Any) -> Array:
            return jax.lax.map(lambda xr: jnp.diagonal(fn(operand, xr, xr)), rows)

        specs = (P(), P(_AXIS))
    sharded = jax.shard_map(local, mesh=mesh, in_specs=specs, out_specs=P(_AXIS), check_vma=False)
    return jax.jit(sharded)


def _to_host(arr: Array) -> np.ndarray:
    if jax.process_count() > 1:  # pragma: no cover - multi-host only
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(arr, tiled=True))
    return np.asarray(arr)


class KernelOperator:
    r"""``A = K(X, X) + diag(ridge)`` as a matrix-free operator, sharded over jax devices.

    Products ``A V`` are computed tile by tile with the kernel engine's block
    functions (:func:`ntkx.core.kernels.kernel_tiles`) and never stored: the rows
    are split into ``B`` blocks of ``b`` points (``n_blocks``; padded with empty tiles to
    ``R = n_tiles``, a multiple of the number of devices), each device maps over its row
    tiles, ``(A V)_r = sum_c K(X_r, X_c) V_c``. With ``symmetric=True`` (default) only the
    tiles of one triangle are computed and each off-diagonal one is used twice (``K_rc V_c``
    and ``K_rc^T V_r``; module docstring): ``B (B // 2 + 1)`` tiles instead of ``B^2``.
    Tiles are computed in the kernel's dtype; vectors in and out are float64 NumPy arrays.

    Args:
        net: any architecture.
        x: ``n`` inputs (``(n, d)`` array or graph batch).
        get, method, key, params, n_samples, implementation, dtype, block_size: as for
            :func:`ntkx.kernel` (one ``get``).
        ridge: ``0``, a number, or an ``(n,)`` array added to the diagonal (``>= 0``).
        devices: jax devices to shard over (default: all of ``jax.devices()``).
        symmetric: compute ``K(X, X) V`` from one triangle of tiles (``True``) or from every
            tile (``False``; the same result up to round-off, about twice the kernel work).

    Example:
        >>> import numpy as np, ntkx
        >>> x = np.random.default_rng(0).normal(size=(50, 3))
        >>> op = ntkx.KernelOperator(ntkx.mlp(), x, dtype="float64", ridge=0.1)
        >>> dense = ntkx.kernel(ntkx.mlp(), x, dtype="float64") + 0.1 * np.eye(50)
        >>> v = np.ones((50, 1))
        >>> bool(np.allclose(op.matvec(v), dense @ v, rtol=1e-12))
        True
    """

    def __init__(
        self,
        net: Architecture,
        x: Any,
        get: str = "ntk",
        method: str = "closed_form",
        *,
        key: Any = None,
        params: Any = None,
        n_samples: int = 64,
        implementation: int = 1,
        dtype: str | None = None,
        block_size: int | None = None,
        ridge: float | np.ndarray = 0.0,
        devices: Sequence[Any] | None = None,
        symmetric: bool = True,
    ):
        if not isinstance(symmetric, bool):
            raise TypeError(f"symmetric={symmetric!r} is not allowed; expected True or False.")
        self.symmetric = symmetric
        self.tiles: KernelTiles = kernel_tiles(
            net,
            x,
            get,
            method,
            key=key,
            params=params,
            n_samples=n_samples,
            implementation=implementation,
            dtype=dtype,
            block_size=block_size,
        )
        self.net = net
        self.n = num_points(self.tiles.x)
        self.dtype = self.tiles.dtype
        self.ridge = _check_ridge(ridge, self.n)
        self.devices = tuple(jax.devices() if devices is None else devices)
        if not self.devices:
            raise ValueError("devices=() is not allowed; expected at least one jax device.")
        self.mesh = Mesh(np.asarray(self.devices, dtype=object), (_AXIS,))
        self.symmetric = symmetric
        self.n_tiles, self.block, rows = self._tile(self.tiles.x)
        self.n_blocks = -(-self.n // self.block)  # tiles holding points; the rest is padding
        with precision_context(self.dtype):
            self._rows = self._put(rows, P(_AXIS))
            self._cols = self._put(rows, P())
            self._operands = [self._put(o, P()) for o in self.tiles.operands]
        self.n_matvecs = 0
        self.matvec_seconds = 0.0

    # -- layout
    def _tile(self, x: Any) -> tuple[int, int, Any]:
        # The tiling depends on n and the planned block only; the devices add whole tiles of
        # padding (zero weight), so every device count sums the same tiles in the same order.
        n, nd = num_points(x), len(self.devices)
        tiles = -(-n // min(self.tiles.block, n))
        block = -(-n // tiles)
        tiles = -(-tiles // nd) * nd
        padded = pad_batch(x, tiles * block)
        return (
            tiles,
            block,
            jax.tree_util.tree_map(
                lambda leaf: np.asarray(leaf).reshape(tiles, block, *np.shape(leaf)[1:]), padded
            ),
        )

    def _put(self, tree: Any, spec: P) -> Any:
        return jax.device_put(tree, NamedSharding(self.mesh, spec))

    def _vector_tiles(self, v: np.ndarray) -> np.ndarray:
        out = np.zeros((self.n_tiles * self.block, v.shape[1]), self.dtype)
        out[: self.n] = v
        return out.reshape(self.n_tiles, self.block, v.shape[1])

    def _mean(self, call: Callable[[Any], Array]) -> np.ndarray:
        total = None
        for operand in self._operands:
            part = _to_host(call(operand)).astype(np.float64)
            total = part if total is None else total + part
        assert total is not None
        return total / len(self._operands)

    # -- products
    def kernel_matvec(self, v: Float[np.ndarray, "n k"], x_rows: Any = None) -> np.ndarray:
        """``K(x_rows, X) v``, ``(m, k)`` (``x_rows=None``: ``X``, without the ridge)."""
        v = np.asarray(v, np.float64)
        if v.ndim != 2 or v.shape[0] != self.n:
            raise ValueError(f"v has shape {v.shape}; expected ({self.n}, k).")
        kind, n_blocks = "matvec", 0
        if x_rows is None:
            rows, m = self._rows, self.n
            if self.symmetric:
                kind, n_blocks = "symmetric", self.n_blocks
        else:
            m = num_points(x_rows)
            rows_np = self._tile(cast_floats(x_rows, self.dtype, to_jax=False))[2]
        start = time.perf_counter()
        with precision_context(self.dtype):
            if x_rows is not None:
                rows = self._put(rows_np, P(_AXIS))
            vt = self._put(self._vector_tiles(v), P())
            fn = _compiled(self.tiles.fn, kind, self.devices, n_blocks)
            out = self._mean(lambda op: fn(op, rows, self._cols, vt))
        self.matvec_seconds += time.perf_counter() - start
        self.n_matvecs += 1
        return out.reshape(-1, v.shape[1])[:m]

    def matvec(self, v: Float[np.ndarray, "n k"]) -> Float[np.ndarray, "n k"]:
        """``A v = K(X, X) v + ridge * v`` for ``v`` of shape ``(n, k)`` (float64)."""
        return self.kernel_matvec(v) + self.ridge[:, None] * np.asarray(v, np.float64)

    def columns(self, idx: Sequence[int] | np.ndarray) -> Float[np.ndarray, "n m"]:
        """Kernel columns ``K(X, X[idx])``, ``(n, m)`` (without the ridge)."""
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        z = jax.tree_util.tree_map(lambda leaf: np.asarray(leaf)[idx], self.tiles.x)
        with precision_context(self.dtype):
            fn = _compiled(self.tiles.fn, "columns", self.devices)
            zd = self._put(z, P())
            out = self._mean(lambda op: fn(op, self._rows, zd))
        return out.reshape(-1, idx.size)[: self.n]

    def diagonal(self) -> Float[np.ndarray, " n"]:
        """The kernel's diagonal ``K(x_i, x_i)``, ``(n,)`` (without the ridge)."""
        with precision_context(self.dtype):
            fn = _compiled(self.tiles.fn, "diagonal", self.devices)
            out = self._mean(lambda op: fn(op, self._rows))
        return out.reshape(-1)[: self.n]


def _check_ridge(ridge: Any, n: int) -> np.ndarray:
    if np.ndim(ridge) == 0:
        value = check_finite_number("ridge", ridge, minimum=0.0)
        return np.full(n, value)
    arr = np.asarray(ridge, dtype=np.float64)
    if arr.shape != (n,) or not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(
            f"ridge has shape {arr.shape}; expected a number >= 0 or a finite (n={n},) array "
            "of values >= 0."
        )
    return arr


# ---------------------------------------------------------------------- the preconditioner


class LowRankPreconditioner(NamedTuple):
    r"""``P = L L^T + diag(d)`` applied through the Woodbury identity (module docstring).

    Attributes:
        kind: ``"pivoted_cholesky"`` or ``"nystrom"``.
        rank: columns of ``L`` kept (``r``).
        factor: ``L``, ``(n, r)``.
        shift: ``d``, ``(n,)``, positive.
        pivots: the ``r`` points whose kernel columns built ``L``.
        basis: ``Q``, ``(n, r)``, left singular vectors of ``U = D^{-1/2} L``.
        gains: ``1 / (1 + s_i^2)``, ``(r,)``, from its singular values.
    """

    kind: str
    rank: int
    factor: np.ndarray
    shift: np.ndarray
    pivots: np.ndarray
    basis: np.ndarray
    gains: np.ndarray

    def apply(self, r: Float[np.ndarray, "n k"]) -> Float[np.ndarray, "n k"]:
        """``P^{-1} r`` for ``r`` of shape ``(n, k)``."""
        scale = 1.0 / np.sqrt(self.shift)[:, None]
        y = r * scale
        coef = self.basis.T @ y
        out = y - self.basis @ coef + self.basis @ (self.gains[:, None] * coef)
        return out * scale

    def matrix(self) -> np.ndarray:
        """The dense ``P`` (for tests and small problems only)."""
        return self.factor @ self.factor.T + np.diag(self.shift)


def _pivoted_cholesky(
    diag: np.ndarray, column: Callable[[int], np.ndarray], rank: int
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy pivoted partial Cholesky of a PSD matrix from its diagonal and columns.

    Stops after ``rank`` steps or when the largest remaining diagonal entry is below
    ``n * eps * max(diag)`` (the rest is round-off). Returns ``(L (n, m), pivots (m,))``.
    """
    n = diag.shape[0]
    remaining = diag.astype(np.float64).copy()
    factor = np.zeros((n, rank))
    pivots: list[int] = []
    floor = n * np.finfo(np.float64).eps * max(float(diag.max()), 0.0)
    for m in progress_bar(range(rank), desc="[ntkx] preconditioner columns", enabled=None):
        p = int(np.argmax(remaining))
        if not remaining[p] > floor:
            break
        col = column(p) - factor[:, :m] @ factor[p, :m]
        factor[:, m] = col / math.sqrt(remaining[p])
        remaining -= factor[:, m] ** 2
        remaining[p] = 0.0
        pivots.append(p)
    m = len(pivots)
    return factor[:, :m], np.asarray(pivots, dtype=np.int64)


def _nystrom(
    op_columns: Callable[[np.ndarray], np.ndarray], n: int, rank: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    idx = np.sort(np.random.default_rng(seed).choice(n, size=rank, replace=False))
    c = op_columns(idx)
    w = 0.5 * (c[idx] + c[idx].T)
    evals, evecs = np.linalg.eigh(w)
    keep = evals > w.shape[0] * np.finfo(np.float64).eps * max(float(evals[-1]), 0.0)
    factor = c @ (evecs[:, keep] / np.sqrt(evals[keep]))
    return factor, idx


def low_rank_preconditioner(
    diagonal: Float[np.ndarray, " n"],
    columns: Callable[[np.ndarray], np.ndarray],
    rank: int,
    ridge: float | np.ndarray = 0.0,
    *,
    kind: str = "pivoted_cholesky",
    seed: int = 0,
) -> LowRankPreconditioner:
    r"""A rank-``rank`` preconditioner ``P = L L^T + diag(K - L L^T) + diag(ridge)``.

    Needs only the kernel's diagonal ``(n,)`` and a function returning kernel columns
    ``K[:, idx]`` ``(n, len(idx))``; ``rank`` columns are requested (one at a time for
    ``"pivoted_cholesky"``, all at once for ``"nystrom"``, whose points are drawn with
    ``numpy.random.default_rng(seed)``). The shift ``diag(K - L L^T) + ridge`` is
    floored at ``n * eps * max(diag K)`` so that ``P`` is positive definite.

    Example:
        >>> import numpy as np
        >>> from ntkx.core.iterative import low_rank_preconditioner
        >>> k = np.array([[2.0, 1.0], [1.0, 2.0]])
        >>> pre = low_rank_preconditioner(np.diag(k), lambda i: k[:, i], rank=2, ridge=0.5)
        >>> bool(np.allclose(pre.apply(np.eye(2)), np.linalg.inv(k + 0.5 * np.eye(2))))
        True
    """
    check_choice("kind", kind, PRECONDITIONERS[:2])
    diag = np.asarray(diagonal, dtype=np.float64)
    n = diag.shape[0]
    rank = min(check_positive_int("rank", rank), n)
    ridge_vec = _check_ridge(ridge, n)
    if kind == "pivoted_cholesky":
        factor, pivots = _pivoted_cholesky(diag, lambda p: columns(np.array([p]))[:, 0], rank)
    else:
        factor, pivots = _nystrom(columns, n, rank, seed)
    floor = n * np.finfo(np.float64).eps * max(float(diag.max()), 0.0)
    shift = np.maximum(diag - np.einsum("ij,ij->i", factor, factor), 0.0) + ridge_vec
    shift = np.maximum(shift, floor if floor > 0 else np.finfo(np.float64).tiny)
    u = factor / np.sqrt(shift)[:, None]
    basis, s, _ = scipy.linalg.svd(u, full_matrices=False, check_finite=False)
    gains = 1.0 / (1.0 + s**2)
    return LowRankPreconditioner(kind, factor.shape[1], factor, shift, pivots, basis, gains)


# ---------------------------------------------------------------------- conjugate gradients


class CGResult(NamedTuple):
    """Output of :func:`conjugate_gradients`.

    Attributes:
        x: the solution, ``(n, k)``.
        iterations: products with ``A`` spent in the iterations (the final check is not
            counted).
        residual: the true relative residual ``max_j ||A x_j - b_j|| / ||b_j||``.
        history: ``max_j`` relative residual after each iteration (recursive residual;
            index 0 is the start, 1.0).
        converged: ``residual <= tol``.
    """

    x: np.ndarray
    iterations: int
    residual: float
    history: tuple[float, ...]
    converged: bool


def _relative(r: np.ndarray, bnorm: np.ndarray) -> np.ndarray:
    rn = np.linalg.norm(r, axis=0)
    return np.where(bnorm > 0, rn / np.where(bnorm > 0, bnorm, 1.0), 0.0)


def conjugate_gradients(
    matvec: Callable[[np.ndarray], np.ndarray],
    b: Float[np.ndarray, "n k"],
    *,
    precondition: Callable[[np.ndarray], np.ndarray] | None = None,
    tol: float = 1e-8,
    max_iter: int = DEFAULT_MAX_ITER,
    progress: bool | None = None,
) -> CGResult:
    r"""Preconditioned conjugate gradients for ``A x = b``, ``A`` symmetric positive definite.

    Every column of ``b`` ``(n, k)`` is solved independently (its own step sizes) with
    one product ``matvec(V)`` ``(n, k) -> (n, k)`` per iteration, until every column has
    ``||A x - b|| / ||b|| <= tol``, checked on the true residual (one more product; CG
    restarts from ``x`` if the recursive residual drifted), or ``max_iter`` products
    were spent. ``precondition(R)`` applies ``P^{-1}``. Recurrences: see the module
    docstring. Does not warn; :func:`ntkx.kernel_regression` does. ``progress``: a bar over
    iterations with the current relative residual (:mod:`ntkx.core.progress`; ``None``: once
    the solve has run for 5 s).

    Example:
        >>> import numpy as np
        >>> from ntkx.core.iterative import conjugate_gradients
        >>> a = np.array([[4.0, 1.0], [1.0, 3.0]])
        >>> res = conjugate_gradients(lambda v: a @ v, np.array([[1.0], [2.0]]))
        >>> bool(np.allclose(res.x[:, 0], np.linalg.solve(a, [1.0, 2.0]))), res.iterations
        (True, 2)
    """
    b = np.asarray(b, dtype=np.float64)
    tol = check_finite_number("tol", tol, minimum=0.0, strict=True)
    max_iter = check_positive_int("max_iter", max_iter)
    apply_p = precondition if precondition is not None else (lambda r: r)
    bnorm = np.linalg.norm(b, axis=0)
    x = np.zeros_like(b)
    r = b.copy()
    history = [1.0 if bnorm.any() else 0.0]
    rel = _relative(r, bnorm)
    with progress_bar(total=max_iter, desc="[ntkx] CG iterations", enabled=progress) as bar:
        iterations = 0
        while True:
            z = apply_p(r)
            p = z.copy()
            rz = np.einsum("ij,ij->j", r, z)
            while rel.max() > tol and iterations < max_iter:
                active = rel > tol
                ap = matvec(p)
                iterations += 1
                pap = np.einsum("ij,ij->j", p, ap)
                step = np.where(active & (pap > 0), rz / np.where(pap > 0, pap, 1.0), 0.0)
                x += step * p
                r -= step * ap
                rel = _relative(r, bnorm)
                history.append(float(rel.max()))
                bar.update(1)
                bar.set_postfix_str(f"residual {history[-1]:.2e} (tol {tol:.0e})", refresh=False)
                if rel.max() <= tol:
                    break
                z = apply_p(r)
                rz_new = np.einsum("ij,ij->j", r, z)
                beta = np.where(active & (rz != 0), rz_new / np.where(rz != 0, rz, 1.0), 0.0)
                p = z + beta * p
                rz = rz_new
            r = b - matvec(x)  # the true residual (not counted as an iteration)
            rel = _relative(r, bnorm)
            if rel.max() <= tol or iterations >= max_iter:
                break
    residual = float(rel.max())
    return CGResult(x, iterations, residual, tuple(history), residual <= tol)


# ---------------------------------------------------------------------- diagnostics


class CGDiagnostics(NamedTuple):
    """How a kernel system was solved by conjugate gradients (``solver="cg"``).

    Attributes:
        result: ``"converged"`` or ``"max_iter"`` (stopped before reaching ``tol``).
        iterations: products with the kernel spent by CG.
        residual: final true ``max_j ||(K + ridge) alpha_j - y_j|| / ||y_j||``.
        residual_history: the same (recursive residual) after each iteration.
        tol: the tolerance asked for.
        max_iter: the iteration limit.
        preconditioner: ``"pivoted_cholesky"``, ``"nystrom"`` or ``None``.
        preconditioner_rank: rank of the preconditioner's factor actually built.
        n_train: training points given.
        n_unique: after merging exact duplicates.
        n_devices: jax devices the products were sharded over.
        seconds_per_matvec: mean wall time of one product.
        setup_seconds: time to build the preconditioner (diagonal and columns included).
        kernel_method: ``"closed_form"`` or ``"monte_carlo"``.
        n_samples: networks averaged for a Monte Carlo kernel (0 otherwise).
        solver: ``"cg"``.
        path: ``"cg"`` (same field as :class:`ntkx.SolveDiagnostics`).
        condition_number: ``None`` (not estimated).
    """

    result: str
    iterations: int
    residual: float
    residual_history: tuple[float, ...]
    tol: float
    max_iter: int
    preconditioner: str | None
    preconditioner_rank: int
    n_train: int
    n_unique: int
    n_devices: int
    seconds_per_matvec: float
    setup_seconds: float
    kernel_method: str = "closed_form"
    n_samples: int = 0
    solver: str = "cg"
    path: str = "cg"
    condition_number: float | None = None


def default_rank(n: int) -> int:
    """The preconditioner rank used when none is given: ``n // 8`` clipped to
    ``[DEFAULT_RANK, MAX_DEFAULT_RANK]`` = ``[100, 1000]`` (measurements: :data:`DEFAULT_RANK`).

    Example:
        >>> from ntkx.core.iterative import default_rank
        >>> default_rank(400), default_rank(4000), default_rank(100_000)
        (100, 500, 1000)
    """
    return int(min(max(n // 8, DEFAULT_RANK), MAX_DEFAULT_RANK))


def solve_cg(
    op: KernelOperator,
    y: np.ndarray,
    *,
    tol: float | None,
    max_iter: int | None,
    preconditioner: str | None,
    rank: int | None,
    n_train: int,
) -> tuple[np.ndarray, CGDiagnostics]:
    """Solve ``op alpha = y`` by PCG; warn (:class:`ConvergenceWarning`) if not converged."""
    check_choice("preconditioner", preconditioner, PRECONDITIONERS)
    tol = DEFAULT_TOL[op.dtype] if tol is None else tol
    tol = check_finite_number("tol", tol, minimum=0.0, strict=True)
    max_iter = DEFAULT_MAX_ITER if max_iter is None else check_positive_int("max_iter", max_iter)
    rank = default_rank(op.n) if rank is None else check_positive_int("preconditioner_rank", rank)
    start = time.perf_counter()
    pre = None
    if preconditioner is not None:
        pre = low_rank_preconditioner(
            op.diagonal(), op.columns, min(rank, op.n), op.ridge, kind=preconditioner
        )
    setup = time.perf_counter() - start
    res = conjugate_gradients(
        op.matvec,
        y,
        precondition=None if pre is None else pre.apply,
        tol=tol,
        max_iter=max_iter,
    )
    result = "converged" if res.converged else "max_iter"
    if not res.converged:
        warnings.warn(
            f"conjugate gradients stopped after max_iter={max_iter} iterations with relative "
            f"residual {res.residual:.3g} > tol={tol:g}; the predictions are not those of the "
            "exact solve. Raise max_iter or preconditioner_rank, add ridge, or use "
            "solver='dense' (see .diagnostics.residual_history).",
            ConvergenceWarning,
            stacklevel=3,
        )
    diag = CGDiagnostics(
        result=result,
        iterations=res.iterations,
        residual=res.residual,
        residual_history=res.history,
        tol=tol,
        max_iter=max_iter,
        preconditioner=preconditioner,
        preconditioner_rank=0 if pre is None else pre.rank,
        n_train=n_train,
        n_unique=op.n,
        n_devices=len(op.devices),
        seconds_per_matvec=op.matvec_seconds / max(op.n_matvecs, 1),
        setup_seconds=setup,
    )
    return res.x, diag
