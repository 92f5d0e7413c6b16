"""The kernel engine: which kernel of which network (``get``), computed how (``method``).

One call, :func:`kernel`, for every architecture and every batch type:

* ``"closed_form"`` — the infinite-width kernel from the architecture's pure
  ``kernel_fn`` (neural-tangents' ``stax`` rules for MLPs and user networks,
  ntkx's graph recursion for GNNs);
* ``"monte_carlo"`` — the mean of empirical kernels of ``n_samples`` finite
  networks of the spec's width drawn at initialization, with its standard error
  (a :class:`KernelEstimate`); the same ``key`` always gives the same networks,
  so kernels of different inputs computed with one key are consistent;
* ``"empirical"`` — the kernel of one finite network at given ``params``.

``get`` is ``"ntk"``, ``"nngp"`` or ``("ntk", "nngp")``; the last returns a
:class:`KernelPair` of both, computed in one pass.

Everything goes through one tiler: the ``(n1, n2)`` matrix is computed in tiles
of about 1000 x 1000 points (fewer for graphs, by the architecture's
:meth:`~ntkx.core.protocol.Architecture.pair_workspace_bytes`), only the upper
triangle of tiles when ``x2`` is None, written into NumPy arrays or ``out=``
(e.g. a ``np.memmap``); memory is checked before any work starts. The engine
only calls the architecture protocol (:mod:`ntkx.core.protocol`); it knows no
concrete network. Precision and dtypes: :mod:`ntkx.core.numerics`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import math
import os
import threading
from collections.abc import Callable
from typing import Any, Final, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ntkx import _compat
from ntkx.core.numerics import (
    InsufficientMemoryError,
    available_memory_bytes,
    check_memory,
    precision_context,
    resolve_dtype,
)
from ntkx.core.progress import progress_bar
from ntkx.core.protocol import (
    GETS,
    KERNEL_METHODS,
    Architecture,
    KernelPair,
    Params,
    cast_floats,
    check_params,
    num_points,
    pad_batch,
)
from ntkx.core.validation import check_choice, check_positive_int

_nt = _compat.neural_tangents()

__all__ = [
    "InsufficientMemoryError",
    "KernelEstimate",
    "MonteCarloConvergence",
    "MonteCarloDual",
    "default_block_size",
    "empirical_kernel",
    "kernel",
    "kernel_matrix",
    "kernel_tiles",
    "monte_carlo_convergence",
    "monte_carlo_kernel",
]

#: Target points per tile side when the memory plan allows it.
TARGET_BLOCK: Final = 1000
#: Workspace budget of one tile (bytes): 16 temporaries of 1000 x 1000 float64.
TILE_BUDGET: Final = 16 * TARGET_BLOCK * TARGET_BLOCK * 8
#: Compiled functions kept per process (keyed by spec value, dtype and options).
CACHE_SIZE: Final = 32
#: Most memory (bytes) the Jacobians of a finite network's kernel may take when they are kept
#: for the whole call (:func:`empirical_kernel`, :func:`monte_carlo_kernel`); also at most a
#: quarter of the memory available. Above it every tile computes its Jacobians afresh.
JACOBIAN_BUDGET: Final = 2 * 2**30


class KernelEstimate(NamedTuple):
    """A Monte Carlo kernel estimate.

    Attributes:
        mean: the estimate, ``(n1, n2)``.
        stderr: its elementwise standard error, ``(n1, n2)`` (sample standard
            deviation over networks divided by ``sqrt(n_samples)``; ``inf`` for
            one sample).
        n_samples: number of independent finite networks averaged.
        width: their hidden width.
    """

    mean: np.ndarray
    stderr: np.ndarray
    n_samples: int
    width: int


# ---------------------------------------------------------------------- planning


def default_block_size(n: int, per_pair_bytes: int = 16 * 8, budget: int | None = None) -> int:
    """Points per tile side for ``n`` points: about :data:`TARGET_BLOCK`, splitting ``n`` evenly.

    The side is ``min(1000, sqrt(budget / per_pair_bytes))`` (``budget`` defaults to
    :data:`TILE_BUDGET`; architectures may ask for less, ``Architecture.tile_budget_bytes``)
    rounded so that
    ``n`` splits into equal tiles (``ceil(n / ceil(n / side))``): no tile is mostly
    padding, and tile sizes are rarely powers of two. Measured on this project's
    2-core CPU (n = 8000, d = 16, ReLU NTK, float32): 1000-point tiles 0.45 s,
    1024-point tiles 0.71 s (power-of-two strides make the transposed tile copies
    thrash the cache), 2000 points 0.66 s, 8000 points 1.5 s.
    """
    budget = TILE_BUDGET if budget is None else budget
    side = max(1, min(TARGET_BLOCK, math.isqrt(max(budget // max(per_pair_bytes, 1), 1))))
    return -(-n // -(-n // side))


def _gets(get: Any) -> tuple[str, ...]:
    if isinstance(get, str):
        check_choice("get", get, GETS)
        return (get,)
    try:
        gets = tuple(get)
    except TypeError:
        raise ValueError(
            f"get={get!r} is not allowed; expected 'ntk', 'nngp' or ('ntk', 'nngp')."
        ) from None
    if not gets or len(set(gets)) != len(gets):
        raise ValueError(f"get={get!r} is not allowed; expected 'ntk', 'nngp' or ('ntk', 'nngp').")
    for g in gets:
        check_choice("get", g, GETS)
    return gets


def _check_net(net: Any, method: str) -> None:
    if not isinstance(net, Architecture):
        raise TypeError(
            f"net has type {type(net).__name__}; expected an ntkx architecture (ntkx.mlp, "
            "ntkx.gnn, or ntkx.from_stax(init_fn, apply_fn, kernel_fn))."
        )
    check_choice("method", method, KERNEL_METHODS)
    if method not in net.kernel_methods:
        raise ValueError(
            f"method={method!r} is not allowed for this network ({net.why_not(method)}); "
            f"expected one of {list(net.kernel_methods)}."
        )


class _Plan(NamedTuple):
    x1: Any
    x2: Any
    symmetric: bool
    n1: int
    n2: int
    b1: int
    b2: int
    dtype: np.dtype
    #: Tiles are computed on ``x1[order1]`` and ``x2[order2]`` and written back to the original
    #: rows and columns (None: the given order); ``trim`` prepares one tile of inputs.
    order1: np.ndarray | None = None
    order2: np.ndarray | None = None
    trim: Callable[[Any], Any] | None = None
    #: Tiles computed at once, each from its own host thread (:func:`_thread_count`).
    threads: int = 1


def _plan(
    net: Architecture,
    x1: Any,
    x2: Any,
    dtype: Any,
    block_size: int | None,
    n_results: int,
    have_out: bool,
    what: str,
) -> _Plan:
    np_dtype = resolve_dtype(dtype)
    x1 = net.check_inputs("x1", x1)
    symmetric = x2 is None
    x2 = x1 if symmetric else net.check_inputs("x2", x2, dim=net.input_dim(x1))
    n1, n2 = num_points(x1), num_points(x2)
    per_pair = net.pair_workspace_bytes(x1, x2, np_dtype.itemsize)
    if block_size is None:
        budget = net.tile_budget_bytes
        b1 = default_block_size(n1, per_pair, budget)
        b2 = default_block_size(n2, per_pair, budget)
    else:
        block = check_positive_int("block_size", block_size)
        b1, b2 = min(block, n1), min(block, n2)
    itemsize = 8 if what == "monte_carlo" else np_dtype.itemsize
    threads = _thread_count(net) if what == "closed-form" else 1
    check_memory(
        f"a ({n1}, {n2}) {np_dtype.name} {what} kernel",
        {
            "result": 0 if have_out else n_results * n1 * n2 * itemsize,
            "workspace": per_pair * b1 * b2 * threads,
        },
        "Use fewer points, dtype='float32', a smaller block_size, or pass "
        "out=np.memmap(...) to write the matrix to disk.",
    )
    x1 = cast_floats(x1, np_dtype, to_jax=False)
    x2 = x1 if symmetric else cast_floats(x2, np_dtype, to_jax=False)
    if what != "closed-form":  # finite networks: one shape per call (one compilation)
        return _Plan(x1, x2, symmetric, n1, n2, b1, b2, np_dtype)
    order1 = net.tile_order(x1)
    order2 = order1 if symmetric else net.tile_order(x2)
    return _Plan(
        x1, x2, symmetric, n1, n2, b1, b2, np_dtype, order1, order2, net.trim_tile, threads
    )


def _thread_count(net: Architecture) -> int:
    """Host threads for closed-form tiles: ``net.tile_threads`` on a CPU backend, capped by
    the usable cores; 1 on accelerators (one device queue: host threads add nothing)."""
    if jax.default_backend() != "cpu":
        return 1
    wanted = check_positive_int("tile_threads", net.tile_threads)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(wanted, cores or 1))


def _tiles(plan: _Plan) -> list[tuple[int, int]]:
    return [
        (i, j)
        for i in range(0, plan.n1, plan.b1)
        for j in range(i if plan.symmetric else 0, plan.n2, plan.b2)
    ]


def _fill(
    plan: _Plan,
    block_fn: Callable[[Any, Any], KernelPair],
    gets: tuple[str, ...],
    results: dict[str, np.ndarray],
    bar: Any,
    pre: tuple[Any, Any] | None = None,
) -> dict[str, int]:
    """Compute every tile of ``block_fn`` into ``results`` (one array per ``get``).

    ``pre``: the per-input results of :meth:`Architecture.precompute` for ``plan.x1`` and
    ``plan.x2`` (:func:`_precompute`); each tile's rows of them are passed to ``block_fn`` after
    its two inputs.

    Returns the number of non-finite entries written per ``get`` (each tile is checked while
    it is in cache: a min and a max, which propagate NaN and infinities, and a count only for
    a tile that has any). With an input order (:meth:`Architecture.tile_order`) tile ``(i, j)``
    holds rows ``order1[i:i + b1]`` and columns ``order2[j:j + b2]``. Symmetric mode writes the
    upper triangle of tiles and mirrors it; a diagonal tile is made exactly symmetric in place
    (its own upper triangle mirrored: ``kernel_fn(xa, xa)`` can differ from its transpose by
    an ulp).
    """
    bad = dict.fromkeys(gets, 0)
    lock = threading.Lock()
    trim = plan.trim or (lambda x: x)
    strip = 128  # rows per strip when a diagonal tile mirrors its upper triangle in place

    def dispatch(i: int, j: int) -> tuple[Any, Any, bool, int, int, Any]:
        rows: Any = slice(i, min(i + plan.b1, plan.n1))
        cols: Any = slice(j, min(j + plan.b2, plan.n2))
        if plan.order1 is not None:
            rows = plan.order1[rows]
        if plan.order2 is not None:
            cols = plan.order2[cols]
        diagonal = plan.symmetric and i == j
        xa = plan.x1[rows]
        xb = xa if diagonal else plan.x2[cols]
        na, nb = num_points(xa), num_points(xb)
        ta = cast_floats(pad_batch(trim(xa), plan.b1), plan.dtype)
        tb = ta if diagonal else cast_floats(pad_batch(trim(xb), plan.b2), plan.dtype)
        args = (ta, tb)
        if pre is not None:
            pa = _take(pre[0], rows, plan.b1)
            args += (pa, pa if diagonal else _take(pre[1], cols, plan.b2))
        return rows, cols, diagonal, na, nb, block_fn(*args)

    def write(rows: Any, cols: Any, diagonal: bool, na: int, nb: int, pair: Any) -> None:
        for g in gets:
            tile = np.asarray(getattr(pair, g))[:na, :nb]
            if not (np.isfinite(tile.min()) and np.isfinite(tile.max())):
                count = int(tile.size - np.count_nonzero(np.isfinite(tile)))
                with lock:
                    bad[g] += count if diagonal or not plan.symmetric else 2 * count
            out = results[g]
            if isinstance(rows, slice) and isinstance(cols, slice):
                out[rows, cols] = tile
                if diagonal:  # mirror the upper triangle in place, strip by strip
                    view = out[rows, cols]
                    for r in range(0, na, strip):
                        e = min(r + strip, na)
                        block = view[r:e, r:e]
                        block[...] = np.triu(block) + np.triu(block, 1).T
                        view[e:, r:e] = view[r:e, e:].T
                elif plan.symmetric:
                    out[cols, rows] = tile.T
            else:
                if diagonal:
                    tile = np.triu(tile) + np.triu(tile, 1).T
                out[np.ix_(rows, cols)] = tile
                if plan.symmetric and not diagonal:
                    out[np.ix_(cols, rows)] = tile.T
        with lock:
            bar.update(1)

    tiles = _tiles(plan)
    threads = min(plan.threads, len(tiles))
    if threads <= 1:
        # One tile ahead: jax computes tile k + 1 (dispatch is asynchronous) while NumPy
        # copies tile k, so the copies and checks overlap the kernel's arithmetic.
        pending = None
        for i, j in tiles:
            job = dispatch(i, j)
            if pending is not None:
                write(*pending)
            pending = job
        if pending is not None:
            write(*pending)
        return bad

    # Several tiles at once: each thread dispatches its tile and waits for it, so tiles whose
    # XLA work runs on one core (the GIN's batched products) overlap.
    def work(tile: tuple[int, int]) -> None:
        # jax's x64 and matmul-precision settings are thread-local: enter them again here.
        with precision_context(plan.dtype):
            write(*dispatch(*tile))

    with concurrent.futures.ThreadPoolExecutor(threads, "ntkx-tile") as pool:
        futures = [pool.submit(work, t) for t in tiles]
        try:
            for f in futures:
                f.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return bad


def _take(tree: Any, index: Any, size: int) -> Any:
    """Rows ``index`` of every leaf of ``tree``, padded to ``size`` rows (as the tile inputs)."""
    rows = jax.tree_util.tree_map(lambda leaf: leaf[index], tree)
    return jax.tree_util.tree_map(jnp.asarray, pad_batch(rows, size))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _precompute_fn(net: Architecture, dtype_name: str) -> Callable:
    del dtype_name  # part of the cache key
    return jax.jit(net.precompute)


def _precompute(plan: _Plan, net: Architecture) -> tuple[Any, Any] | None:
    """``net.precompute`` of every input of ``plan.x1`` and ``plan.x2`` (NumPy leaves, given
    order), or None when the architecture precomputes nothing (its default); call it inside
    the dtype's :func:`~ntkx.core.numerics.precision_context`."""
    first = cast_floats(plan.x1[:1], plan.dtype)
    if jax.eval_shape(net.precompute, first) is None:
        return None
    return _per_input(plan, _precompute_fn(net, plan.dtype.name))


def _per_input(plan: _Plan, fn: Callable[[Any], Any], bar: Any = None) -> tuple[Any, Any]:
    """``fn`` of every input of ``plan.x1`` and ``plan.x2`` (a pytree of NumPy leaves whose
    leading axis is the input), for :func:`_fill`'s ``pre``.

    Computed in chunks of one tile side (``plan.b1``, ``plan.b2``; the last chunk padded), so
    that it needs no more memory than a tile and compiles one shape; each leaf is allocated
    once and filled chunk by chunk (no second copy). ``bar`` advances once per chunk.
    """

    def side(x: Any, block: int) -> Any:
        total = num_points(x)
        whole = None
        for i in range(0, total, block):
            chunk = x[i : i + block]
            n = num_points(chunk)
            got = jax.tree_util.tree_map(
                lambda leaf, n=n: np.asarray(leaf)[:n],
                fn(cast_floats(pad_batch(chunk, block), plan.dtype)),
            )
            if whole is None:
                whole = jax.tree_util.tree_map(
                    lambda leaf: np.empty((total, *leaf.shape[1:]), leaf.dtype), got
                )
            for w, g in zip(
                jax.tree_util.tree_leaves(whole), jax.tree_util.tree_leaves(got), strict=True
            ):
                w[i : i + n] = g
            if bar is not None:
                bar.update(1)
        return whole

    pre1 = side(plan.x1, plan.b1)
    return pre1, (pre1 if plan.symmetric else side(plan.x2, plan.b2))


def _progress_bar(total: int, desc: str, enabled: bool | None) -> Any:
    """The engine's tile bar: always (True), never (False), or once a call passes 5 s (None);
    only on a terminal (:mod:`ntkx.core.progress`)."""
    return progress_bar(total=total, desc=f"[ntkx] {desc}", enabled=enabled)


def _check_finite(bad: dict[str, int], dtype: np.dtype, what: str) -> None:
    """Raise if any kernel has non-finite entries (``bad``: their count per kernel, from
    :func:`_fill`)."""
    for g, count in bad.items():
        if count:
            advice = (
                "try dtype='float64' or a smaller W_std"
                if dtype == np.float32
                else "the network's outputs overflow even float64: use a smaller W_std, b_std "
                "or depth, or rescale the inputs"
            )
            raise FloatingPointError(
                f"the {what} {g} kernel has {count} non-finite entries for finite inputs in "
                f"{dtype.name} ({advice})."
            )


def _outputs(
    plan: _Plan, gets: tuple[str, ...], out: Any, dtype: np.dtype
) -> dict[str, np.ndarray]:
    if out is None:
        return {g: np.empty((plan.n1, plan.n2), dtype) for g in gets}
    outs = out if isinstance(out, tuple) else (out,)
    if len(outs) != len(gets):
        raise ValueError(
            f"out has {len(outs)} array(s); expected one per kernel in get={gets} "
            "(a KernelPair of arrays for get=('ntk', 'nngp'))."
        )
    for o in outs:
        if not hasattr(o, "shape") or o.shape != (plan.n1, plan.n2) or o.dtype != dtype:
            raise ValueError(
                f"out has shape {getattr(o, 'shape', None)} and dtype {getattr(o, 'dtype', None)};"
                f" expected ({plan.n1}, {plan.n2}) {dtype} (a writable array, e.g. np.memmap)."
            )
    return dict(zip(gets, outs, strict=True))


# ---------------------------------------------------------------------- compiled blocks


@functools.lru_cache(maxsize=CACHE_SIZE)
def _closed_form_fn(
    net: Architecture, dtype_name: str, gets: tuple[str, ...] = ("ntk", "nngp")
) -> Callable:
    """``kernel_fn`` compiled to return only the kernels in ``gets`` (the others are None).

    XLA then drops the work of a kernel that is not asked for (measured: the depth-2 ReLU NTK
    alone is one fused loop over the tile instead of two).
    """
    del dtype_name  # part of the cache key: x64 tracing differs per dtype

    def block(a: Any, b: Any, *pre: Any) -> KernelPair:
        ntk, nngp = net.kernel_fn(a, b, *pre)  # pre: Architecture.precompute of a and b, or ()
        return KernelPair(ntk if "ntk" in gets else None, nngp if "nngp" in gets else None)

    return jax.jit(block)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _empirical_fn(
    net: Architecture, gets: tuple[str, ...], implementation: int, dtype_name: str
) -> Callable:
    del dtype_name

    def apply_trainable(trainable: Params, x: Any, frozen: Params) -> Array:
        return net.apply(net.combine(trainable, frozen), x)

    ntk_fn = _nt.empirical_ntk_fn(
        apply_trainable, trace_axes=(), vmap_axes=0, implementation=implementation
    )

    def both(params: Params, a: Any, b: Any) -> KernelPair:
        ntk = nngp = None
        if "ntk" in gets:
            trainable, frozen = net.partition(params)
            full = ntk_fn(a, b, trainable, frozen=frozen)  # (n1, n2, k, k)
            ntk = jnp.mean(jnp.diagonal(full, axis1=-2, axis2=-1), axis=-1)
        if "nngp" in gets:
            fa, fb = net.apply(params, a), net.apply(params, b)
            nngp = fa @ fb.T / fa.shape[-1]
        return KernelPair(ntk, nngp)

    return jax.jit(both)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _jacobian_fn(net: Architecture, gets: tuple[str, ...], dtype_name: str) -> Callable:
    """``(params, x) -> (J, f)`` for a chunk of ``b`` inputs: the Jacobians of the outputs with
    respect to the trainable parameters, flattened to ``(b, k P)`` (None without ``"ntk"``
    in ``gets``), and the outputs ``(b, k)``. Each input goes through the network alone
    (vmap over inputs, as neural-tangents' ``vmap_axes=0``), so a chunk's padding rows never
    change the other rows."""
    del dtype_name  # part of the cache key

    def rows(params: Params, x: Any) -> tuple[Array | None, Array]:
        f = net.apply(params, x)
        if "ntk" not in gets:
            return None, f
        trainable, frozen = net.partition(params)

        def one(tr: Params, xi: Any) -> Array:
            single = jax.tree_util.tree_map(lambda leaf: leaf[None], xi)
            return net.apply(net.combine(tr, frozen), single)[0]

        jac = jax.vmap(jax.jacrev(one), in_axes=(None, 0))(trainable, x)
        leaves = [leaf.reshape(*leaf.shape[:2], -1) for leaf in jax.tree_util.tree_leaves(jac)]
        j = jnp.concatenate(leaves, axis=-1)  # (b, k, P)
        return j.reshape(j.shape[0], -1), f

    return jax.jit(rows)


def _keeps_jacobians(
    net: Architecture, params: Params, plan: _Plan, gets: tuple[str, ...], implementation: int
) -> bool:
    """Whether a finite network's kernel keeps every input's Jacobian for the whole call.

    A tile ``(i, j)`` of neural-tangents' empirical kernel computes the Jacobians of both of
    its blocks, so over ``T`` tiles each input's Jacobian is computed about ``sqrt(T)`` times
    (55 tiles for 150 graphs of 20-39 nodes: 11x the work). Kept instead, each is computed once
    (:func:`_per_input`) and each tile is a product ``J1 J2^T`` (:func:`_contraction_fn`).
    Only for Jacobian contraction (implementation 1), more than one tile, and Jacobians
    within :data:`JACOBIAN_BUDGET`.
    """
    if implementation != 1 or len(_tiles(plan)) <= 1:
        return False
    trainable, _ = net.partition(params)
    n_params = sum(int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(trainable))
    first = cast_floats(plan.x1[:1], plan.dtype)
    k = int(jax.eval_shape(net.apply, params, first).shape[-1])
    rows = plan.n1 + (0 if plan.symmetric else plan.n2)
    need = rows * k * (n_params + 1 if "ntk" in gets else 1) * plan.dtype.itemsize
    return need <= min(JACOBIAN_BUDGET, available_memory_bytes() // 4)


def _chunks(plan: _Plan) -> int:
    """Jacobian passes of kept Jacobians (:func:`_per_input`: one per chunk of a tile side)."""
    first = -(-plan.n1 // plan.b1)
    return first if plan.symmetric else first + -(-plan.n2 // plan.b2)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _contraction_fn(gets: tuple[str, ...], dtype_name: str) -> Callable:
    """A tile of kept Jacobians (:func:`_jacobian_fn`'s ``(J, f)`` rows, passed by
    :func:`_fill` as ``pre``): NTK ``J1 J2^T / k``, NNGP ``f1 f2^T / k``."""
    del dtype_name  # part of the cache key

    def block(a: Any, b: Any, pa: Any, pb: Any) -> KernelPair:
        del a, b  # the inputs themselves: their Jacobians and outputs are in pa, pb
        (ja, fa), (jb, fb) = pa, pb
        k = fa.shape[-1]
        return KernelPair(
            ja @ jb.T / k if "ntk" in gets else None, fa @ fb.T / k if "nngp" in gets else None
        )

    return jax.jit(block)


def _finite_fill(
    net: Architecture,
    params: Params,
    plan: _Plan,
    gets: tuple[str, ...],
    implementation: int,
    keep: bool,
    results: dict[str, np.ndarray],
    bar: Any,
) -> dict[str, int]:
    """Every entry of a finite network's kernel at ``params`` (cast to the plan's dtype),
    kept Jacobians (``keep``, :func:`_keeps_jacobians`) or tile by tile; call it inside the
    dtype's :func:`~ntkx.core.numerics.precision_context`."""
    params = cast_floats(params, plan.dtype)
    if keep:
        jac = functools.partial(_jacobian_fn(net, gets, plan.dtype.name), params)
        pre = _per_input(plan, jac, bar)
        return _fill(plan, _contraction_fn(gets, plan.dtype.name), gets, results, bar, pre)
    fn = _empirical_fn(net, gets, implementation, plan.dtype.name)
    return _fill(plan, functools.partial(fn, params), gets, results, bar)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _jitted_init(net: Architecture, input_dim: int, x64: bool) -> Callable:
    """``key -> params``, compiled once per spec, input size and x64 mode.

    Same random draws as the eager ``net.init`` (jit does not change threefry's
    bits), about 5x faster per call at width 1024, which Monte Carlo kernels need.
    """
    del x64  # part of the cache key
    return jax.jit(lambda key: net.init(key, input_dim))


# ---------------------------------------------------------------------- the three methods


def _pack(gets: tuple[str, ...], values: dict[str, Any], single: bool) -> Any:
    if single:
        return values[gets[0]]
    return KernelPair(ntk=values.get("ntk"), nngp=values.get("nngp"))


def kernel_matrix(
    net: Architecture,
    x1: Any,
    x2: Any = None,
    get: str | tuple[str, ...] = "ntk",
    *,
    dtype: str | None = None,
    block_size: int | None = None,
    out: Any = None,
    progress: bool | None = None,
) -> Float[np.ndarray, "n1 n2"] | KernelPair:
    """Closed-form infinite-width kernel: :func:`kernel` with ``method="closed_form"``.

    Example:
        >>> import numpy as np, ntkx
        >>> x = np.eye(3)
        >>> k = ntkx.kernel_matrix(ntkx.mlp(), x, dtype="float64")
        >>> bool(np.allclose(k, k.T))
        True
    """
    _check_net(net, "closed_form")
    gets = _gets(get)
    plan = _plan(net, x1, x2, dtype, block_size, len(gets), out is not None, "closed-form")
    results = _outputs(plan, gets, out, plan.dtype)
    with precision_context(plan.dtype):
        wanted = tuple(sorted(gets)) if net.compile_per_kernel else ("nngp", "ntk")
        fn = _closed_form_fn(net, plan.dtype.name, wanted)
        pre = _precompute(plan, net)
        with _progress_bar(len(_tiles(plan)), "kernel tiles", progress) as bar:
            bad = _fill(plan, fn, gets, results, bar, pre)
    _check_finite(bad, plan.dtype, "closed-form")
    return _pack(gets, results, isinstance(get, str))


def empirical_kernel(
    net: Architecture,
    params: Params,
    x1: Any,
    x2: Any = None,
    get: str | tuple[str, ...] = "ntk",
    *,
    implementation: int = 1,
    dtype: str | None = None,
    block_size: int | None = None,
    out: Any = None,
    progress: bool | None = None,
) -> Float[np.ndarray, "n1 n2"] | KernelPair:
    r"""Kernel of one finite network at ``params``: :func:`kernel` with ``method="empirical"``.

    NTK: :math:`\Theta(x, x') = \sum_{\theta \in \text{trainable}} \partial_\theta f(x) \cdot
    \partial_\theta f(x')`, averaged over the output units. NNGP:
    :math:`f(x) \cdot f(x') / k` over the ``k`` outputs. ``implementation`` is
    neural-tangents' empirical-NTK implementation, 1 (Jacobian contraction) or 2
    (NTK-vector products); implementation 3 fails on every jax and is refused. With
    implementation 1 over several tiles, every input's Jacobian is computed once and kept for
    the call when the Jacobians fit :data:`JACOBIAN_BUDGET` (else each tile computes its own).
    """
    _check_net(net, "empirical")
    gets = _gets(get)
    check_choice("implementation", implementation, _compat.SAFE_NTK_IMPLEMENTATIONS)
    plan = _plan(net, x1, x2, dtype, block_size, len(gets), out is not None, "empirical")
    _check_params(net, params, plan)
    results = _outputs(plan, gets, out, plan.dtype)
    with precision_context(plan.dtype):
        keep = _keeps_jacobians(net, cast_floats(params, plan.dtype), plan, gets, implementation)
        units = len(_tiles(plan)) + (_chunks(plan) if keep else 0)
        desc = "empirical kernel " + ("Jacobian chunks + tiles" if keep else "tiles")
        with _progress_bar(units, desc, progress) as bar:
            bad = _finite_fill(net, params, plan, gets, implementation, keep, results, bar)
    _check_finite(bad, plan.dtype, "empirical")
    return _pack(gets, results, isinstance(get, str))


def _check_params(net: Architecture, params: Any, plan: _Plan) -> None:
    check_params(net, params, plan.x1[:1])
    for leaf in jax.tree_util.tree_leaves(params):
        if not np.isfinite(np.asarray(leaf)).all():
            raise ValueError("params contain non-finite values; expected finite parameters.")


def monte_carlo_kernel(
    net: Architecture,
    key: PRNGKeyArray,
    x1: Any,
    x2: Any = None,
    get: str | tuple[str, ...] = "ntk",
    *,
    n_samples: int = 64,
    implementation: int = 1,
    dtype: str | None = None,
    block_size: int | None = None,
    progress: bool | None = None,
) -> KernelEstimate | KernelPair:
    """Monte Carlo kernel: :func:`kernel` with ``method="monte_carlo"``.

    Averages :func:`empirical_kernel` over ``n_samples`` independent
    initializations (``jax.random.split(key, n_samples)``) of the finite network
    of width ``net.width``. The estimate has two errors: sampling error (reported
    as ``stderr``) and the finite-width bias, O(1/width) for these networks.
    Sums are accumulated in float64 whatever ``dtype`` the networks run in. With
    implementation 1, every input's Jacobian is computed once per network and kept for the
    call when the Jacobians fit :data:`JACOBIAN_BUDGET` (else each tile computes its own).
    """
    _check_net(net, "monte_carlo")
    gets = _gets(get)
    n_samples = check_positive_int("n_samples", n_samples)
    check_choice("implementation", implementation, _compat.SAFE_NTK_IMPLEMENTATIONS)
    keys = _check_key(key, n_samples)
    plan = _plan(net, x1, x2, dtype, block_size, 3 * len(gets), False, "monte_carlo")
    total = {g: np.zeros((plan.n1, plan.n2)) for g in gets}
    total_sq = {g: np.zeros((plan.n1, plan.n2)) for g in gets}
    sample = {g: np.empty((plan.n1, plan.n2), plan.dtype) for g in gets}
    # Parameters are drawn in jax's default precision (as net.init(key, d) would draw them)
    # and then cast, so that a key gives the same networks whatever dtype the kernel uses.
    init = _jitted_init(net, net.input_dim(plan.x1), bool(jax.config.jax_enable_x64))
    with precision_context(plan.dtype):
        keep = _keeps_jacobians(
            net, cast_floats(init(keys[0]), plan.dtype), plan, gets, implementation
        )
    units = n_samples * (len(_tiles(plan)) + (_chunks(plan) if keep else 0))
    desc = "Monte Carlo kernel " + ("Jacobian chunks + tiles" if keep else "tiles")
    with _progress_bar(units, desc, progress) as bar:
        for k in keys:
            drawn = init(k)
            with precision_context(plan.dtype):
                bad = _finite_fill(net, drawn, plan, gets, implementation, keep, sample, bar)
            _check_finite(bad, plan.dtype, "Monte Carlo sample")
            for g in gets:
                s = sample[g].astype(np.float64)
                total[g] += s
                total_sq[g] += s * s
    estimates = {}
    for g in gets:
        mean = total[g] / n_samples
        if n_samples > 1:
            var = np.maximum(total_sq[g] / n_samples - mean**2, 0.0) * n_samples / (n_samples - 1)
            stderr = np.sqrt(var / n_samples)
        else:
            stderr = np.full_like(mean, np.inf)
        estimates[g] = KernelEstimate(mean, stderr, n_samples, int(net.width))
    return _pack(gets, estimates, isinstance(get, str))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _dual_fns(net: Architecture, get: str, dtype_name: str) -> tuple[Callable, Callable]:
    """``(pull, push)`` of :class:`MonteCarloDual` for one network ``params``, both from the
    engine's own rows (:func:`_jacobian_fn`: each input's Jacobian ``J`` by reverse mode, and
    the outputs ``f``):

    * NTK: ``pull(params, x, a)`` is ``V[c, t] = sum_i J_c(x_i)^T a[i, t]`` ``(k, kt, P)``,
      ``push(params, V, x)`` is ``sum_c J_c(x) V[c, t] / k``, so ``push(pull(X, a), x) =
      K(x, X) a`` for this network's ``K = J J^T / k``;
    * NNGP: ``pull`` is ``W = f(X)^T a`` ``(k, kt)``, ``push`` is ``f(x) W / k``.

    Reverse mode on purpose: a forward-mode push (one JVP along V) is cheaper on paper, but
    XLA's CPU backend returned NaN or wrong numbers for it through masked max readouts under
    vmap + jit (2026-11-29, jax 0.10.2; eager JVPs were right).
    """
    rows = _jacobian_fn(net, (get,), dtype_name)

    def pull(params: Params, x: Any, a: Array) -> Array:
        j, f = rows(params, x)
        if get == "nngp":
            return f.T @ a
        return jnp.einsum("bcp,bt->ctp", j.reshape(*f.shape, -1), a)

    def push(params: Params, v: Array, x: Any) -> Array:
        j, f = rows(params, x)
        k = f.shape[-1]
        if get == "nngp":
            return f @ v / k
        return jnp.einsum("bcp,ctp->bt", j.reshape(*f.shape, -1), v) / k

    return jax.jit(pull), jax.jit(push)


class MonteCarloDual:
    r"""Predictions :math:`\bar K(x, X)\,\alpha` of a Monte Carlo kernel without its
    test/train matrix (final class).

    For the mean of ``n_samples`` empirical kernels (the networks of
    :func:`monte_carlo_kernel` with the same ``key``), linearity gives

    .. math::
        \bar K(x, X)\,\alpha = \frac{1}{S}\sum_s \frac{1}{k}\sum_c J_{s,c}(x)
        \Big(\sum_i J_{s,c}(x_i)^\top \alpha_i\Big),

    so each sample keeps one parameter-sized vector per output and target column (one pass
    of Jacobians over the training set, at construction) and a prediction needs only the new
    inputs' Jacobians, contracted with those vectors: no training Jacobian is recomputed and
    no ``(m, n)`` kernel is formed. NNGP: ``f_s(x) f_s(X)^\top \alpha / k`` the same way.
    Equal to ``kernel(..., method="monte_carlo").mean @ alpha`` up to rounding (tested).

    Args:
        net: the architecture.
        key: the Monte Carlo key (``jax.random.split(key, n_samples)`` draws the networks).
        x_train: ``n`` training inputs.
        alpha: ``(n, kt)`` dual coefficients.
        get: ``"ntk"`` or ``"nngp"``.
        n_samples: networks averaged.
        dtype: the networks' dtype (as the kernel's); sums over samples are float64.
        block_size: inputs per Jacobian pass (default: the engine's tile side for these inputs).

    Memory: ``n_samples * (k * kt + 1)`` parameter vectors.
    """

    def __init__(
        self,
        net: Architecture,
        key: PRNGKeyArray,
        x_train: Any,
        alpha: Float[np.ndarray, "n kt"],
        get: str = "ntk",
        *,
        n_samples: int,
        dtype: str | None = None,
        block_size: int | None = None,
    ) -> None:
        _check_net(net, "monte_carlo")
        check_choice("get", get, GETS)
        n_samples = check_positive_int("n_samples", n_samples)
        plan = _plan(net, x_train, None, dtype, block_size, 0, False, "monte_carlo")
        alpha = np.asarray(alpha, np.float64)
        if alpha.shape[:1] != (plan.n1,) or alpha.ndim != 2:
            raise ValueError(
                f"alpha has shape {alpha.shape}; expected ({plan.n1}, kt), one row per "
                "training input."
            )
        self.net, self.get, self.dtype, self.block_size = net, get, plan.dtype, block_size
        self._pull, self._push = _dual_fns(net, get, plan.dtype.name)
        init = _jitted_init(net, net.input_dim(plan.x1), bool(jax.config.jax_enable_x64))
        a = alpha.astype(plan.dtype)
        self._samples: list[tuple[Params, Array]] = []
        # drawn in jax's default precision, then cast: monte_carlo_kernel's networks
        drawn = [init(k) for k in _check_key(key, n_samples)]
        with precision_context(plan.dtype):
            for params in drawn:
                params = cast_floats(params, plan.dtype)
                total = None
                for i in range(0, plan.n1, plan.b1):
                    n = min(plan.b1, plan.n1 - i)
                    rows = np.zeros((plan.b1, a.shape[1]), plan.dtype)  # padding rows: 0
                    rows[:n] = a[i : i + n]
                    x = cast_floats(pad_batch(plan.x1[i : i + n], plan.b1), plan.dtype)
                    part = self._pull(params, x, rows)
                    total = part if total is None else total + part
                self._samples.append((params, total))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("MonteCarloDual is final; compose it instead of subclassing.")

    @staticmethod
    def fits(net: Architecture, x_train: Any, kt: int, n_samples: int, dtype: Any) -> bool:
        """Whether the kept vectors, ``n_samples (k kt + 1) P`` numbers, fit in
        :data:`JACOBIAN_BUDGET` (and a quarter of the free memory); shapes only, no compute."""
        x = net.check_inputs("x_train", x_train)
        d = net.input_dim(x)
        params = jax.eval_shape(lambda: net.init(jax.random.key(0), d))
        n_params = sum(math.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(params))
        first = jax.tree_util.tree_map(lambda leaf: np.asarray(leaf)[:1], x)
        k = int(jax.eval_shape(net.apply, params, first).shape[-1])
        need = n_samples * (k * kt + 1) * n_params * resolve_dtype(dtype).itemsize
        return need <= min(JACOBIAN_BUDGET, available_memory_bytes() // 4)

    def __call__(self, x: Any) -> Float[np.ndarray, "m kt"]:
        """``(m, kt)``: the mean kernel between ``x`` and the training inputs times alpha."""
        plan = _plan(self.net, x, None, self.dtype, self.block_size, 0, False, "monte_carlo")
        out: np.ndarray | None = None
        with precision_context(plan.dtype):
            for params, v in self._samples:
                parts = []
                for i in range(0, plan.n1, plan.b1):
                    n = min(plan.b1, plan.n1 - i)
                    xc = cast_floats(pad_batch(plan.x1[i : i + n], plan.b1), plan.dtype)
                    parts.append(np.asarray(self._push(params, v, xc))[:n])
                got = np.concatenate(parts).astype(np.float64)
                if not np.isfinite(got).all():
                    _check_finite({self.get: int((~np.isfinite(got)).sum())}, plan.dtype,
                                  "Monte Carlo prediction")  # fmt: skip
                out = got if out is None else out + got
        assert out is not None
        return out / len(self._samples)


def _check_key(key: Any, n: int) -> Any:
    try:
        return jax.random.split(key, n)
    except Exception:  # jax raises TypeError/ValueError with internal detail
        raise ValueError(
            f"key={key!r} is not allowed; expected a jax PRNG key such as jax.random.key(0)."
        ) from None


def kernel(
    net: Architecture,
    x1: Any,
    x2: Any = None,
    get: str | tuple[str, ...] = "ntk",
    method: str = "closed_form",
    *,
    key: PRNGKeyArray | None = None,
    params: Params | None = None,
    n_samples: int = 64,
    implementation: int = 1,
    dtype: str | None = None,
    block_size: int | None = None,
    out: Any = None,
    progress: bool | None = None,
) -> np.ndarray | KernelEstimate | KernelPair:
    """Which kernel (``get``) of ``net``, computed how (``method``), between ``x1`` and ``x2``.

    Args:
        net: any architecture (:func:`ntkx.mlp`, :func:`ntkx.gnn`, :func:`ntkx.from_stax`).
        x1: a batch of ``n1`` inputs: an array ``(n1, d)``, or a :class:`ntkx.GraphBatch`.
        x2: a batch of ``n2`` inputs of the same kind, or ``None`` for ``x1`` (only the
            upper triangle of tiles is computed).
        get: ``"ntk"``, ``"nngp"`` or ``("ntk", "nngp")`` (a :class:`KernelPair`, one pass).
        method: ``"closed_form"`` (the infinite-width kernel), ``"monte_carlo"`` (needs
            ``key``; returns :class:`KernelEstimate`) or ``"empirical"`` (needs ``params``).
        n_samples: networks averaged by ``"monte_carlo"``.
        implementation: empirical-NTK implementation (1 or 2).
        dtype: ``"float32"``, ``"float64"`` or ``None`` (jax's default).
        block_size: points per tile side (default: planned from memory, about 1000 for MLPs).
        out: a writable ``(n1, n2)`` array of ``dtype`` (e.g. ``np.memmap``) to fill instead
            of allocating (``"closed_form"`` and ``"empirical"``).
        progress: a progress bar over tiles on stderr: ``True`` always, ``False`` never,
            ``None`` (default) once the call has run for 5 s.

    Returns:
        The ``(n1, n2)`` matrix (a :class:`KernelEstimate` for Monte Carlo), or a
        :class:`KernelPair` of them for ``get=("ntk", "nngp")``.

    Example:
        >>> import numpy as np, ntkx
        >>> x = np.array([[1.0, 0.0], [0.6, 0.8]])
        >>> both = ntkx.kernel(ntkx.mlp(), x, get=("ntk", "nngp"), dtype="float64")
        >>> bool(np.all(both.ntk >= both.nngp))  # the NTK adds the hidden layer's gradient
        True
    """
    check_choice("method", method, KERNEL_METHODS)
    if method == "closed_form":
        return kernel_matrix(
            net, x1, x2, get, dtype=dtype, block_size=block_size, out=out, progress=progress
        )
    if method == "monte_carlo":
        if key is None:
            raise ValueError("key=None is not allowed for method='monte_carlo'; pass a PRNG key.")
        if out is not None:
            raise ValueError(
                "out is not allowed for method='monte_carlo' (it returns mean+stderr)."
            )
        return monte_carlo_kernel(
            net,
            key,
            x1,
            x2,
            get,
            n_samples=n_samples,
            implementation=implementation,
            dtype=dtype,
            block_size=block_size,
            progress=progress,
        )
    if params is None:
        raise ValueError("params=None is not allowed for method='empirical'; pass net.init(...).")
    return empirical_kernel(
        net,
        params,
        x1,
        x2,
        get,
        implementation=implementation,
        dtype=dtype,
        block_size=block_size,
        out=out,
        progress=progress,
    )


class MonteCarloConvergence(NamedTuple):
    """Error of Monte Carlo kernels against a reference, by width and number of samples.

    Attributes:
        widths: ``(W,)`` widths tried.
        n_samples: ``(S,)`` sample counts (running means over one sequence of networks).
        rel_error: ``(W, S)`` Frobenius relative error ``||K_mc - K_ref|| / ||K_ref||``.
        rel_stderr: ``(W, S)`` ``||stderr|| / ||K_ref||`` (the sampling part of the error).
        reference: ``"closed_form"``, or ``"monte_carlo"`` (an independent estimate at the
            largest width with ``2 max(n_samples)`` networks, for networks without a closed
            form).
    """

    widths: np.ndarray
    n_samples: np.ndarray
    rel_error: np.ndarray
    rel_stderr: np.ndarray
    reference: str


def monte_carlo_convergence(
    net: Architecture,
    key: PRNGKeyArray,
    x1: Any,
    x2: Any = None,
    get: str = "ntk",
    *,
    n_samples: tuple[int, ...] = (2, 4, 8, 16),
    widths: tuple[int, ...] = (64, 256),
    dtype: str | None = "float64",
) -> MonteCarloConvergence:
    """How the Monte Carlo kernel approaches the infinite-width kernel (error vs samples, width).

    The error at small sample counts is dominated by sampling noise (``~ 1/sqrt(samples)``),
    at large counts by the finite-width bias (``~ 1/width``). ``net`` must be a dataclass
    spec with a ``width`` field (:func:`ntkx.mlp`, :func:`ntkx.gnn`).
    """
    _check_net(net, "monte_carlo")
    check_choice("get", get, GETS)
    counts = sorted({check_positive_int("n_samples", s) for s in n_samples})
    ws = [check_positive_int("widths", w) for w in widths]
    if not counts or not ws:
        raise ValueError("n_samples and widths must be non-empty sequences of positive ints.")
    if not dataclasses.is_dataclass(net) or "width" not in {
        f.name for f in dataclasses.fields(net)
    }:
        raise TypeError(f"net has type {type(net).__name__}; expected a spec with a width field.")
    k_ref, k_samples = jax.random.split(key)
    if "closed_form" in net.kernel_methods:
        ref, kind = kernel_matrix(net, x1, x2, get, dtype=dtype), "closed_form"
    else:
        big = dataclasses.replace(net, width=max(ws))
        ref = monte_carlo_kernel(big, k_ref, x1, x2, get, n_samples=2 * counts[-1], dtype=dtype)
        ref, kind = ref.mean, "monte_carlo"
    scale = np.linalg.norm(ref)
    err = np.empty((len(ws), len(counts)))
    serr = np.empty_like(err)
    dim = net.input_dim(net.check_inputs("x1", x1))
    for wi, w in enumerate(ws):
        spec = dataclasses.replace(net, width=w)
        keys = jax.random.split(jax.random.fold_in(k_samples, w), counts[-1])
        stack = np.stack(
            [empirical_kernel(spec, spec.init(k, dim), x1, x2, get, dtype=dtype) for k in keys]
        ).astype(np.float64)
        for si, s in enumerate(counts):
            mean = stack[:s].mean(0)
            err[wi, si] = np.linalg.norm(mean - ref) / scale
            sd = stack[:s].std(0, ddof=1) / np.sqrt(s) if s > 1 else np.full_like(mean, np.inf)
            serr[wi, si] = np.linalg.norm(sd) / scale
    return MonteCarloConvergence(np.asarray(ws), np.asarray(counts), err, serr, kind)


# ---------------------------------------------------------------------- matrix-free use


class KernelTiles(NamedTuple):
    """One kernel as pure tile functions, for products that never store the matrix.

    The kernel is ``K(a, b) = mean_s fn(operands[s], a, b)``: one operand (``None``) for
    ``"closed_form"``, the cast parameters of the one network for ``"empirical"``, and of
    each of the ``n_samples`` networks for ``"monte_carlo"`` (the same networks
    :func:`monte_carlo_kernel` draws from the same key). ``fn`` is the engine's own
    compiled block function (traceable inside ``jax.jit`` / ``jax.shard_map``).

    Attributes:
        fn: ``(operand, a, b) -> (na, nb)`` kernel tile, ``a`` and ``b`` batches whose
            floating leaves have ``dtype``.
        operands: NumPy pytrees, one per network averaged.
        x: the validated inputs, floating leaves cast to ``dtype`` (NumPy leaves).
        dtype: working dtype of the tiles.
        block: planned points per tile side (as :func:`kernel` would tile ``x``).
        get: ``"ntk"`` or ``"nngp"``.
    """

    fn: Callable[[Any, Any, Any], Array]
    operands: list[Any]
    x: Any
    dtype: np.dtype
    block: int
    get: str


@functools.lru_cache(maxsize=CACHE_SIZE)
def _tile_fn(net: Architecture, get: str, method: str, implementation: int, dtype_name: str):
    if method == "closed_form":
        block = _closed_form_fn(net, dtype_name)
        return lambda operand, a, b: getattr(block(a, b), get)
    block = _empirical_fn(net, (get,), implementation, dtype_name)
    return lambda operand, a, b: getattr(block(operand, a, b), get)


def kernel_tiles(
    net: Architecture,
    x: Any,
    get: str = "ntk",
    method: str = "closed_form",
    *,
    key: PRNGKeyArray | None = None,
    params: Params | None = None,
    n_samples: int = 64,
    implementation: int = 1,
    dtype: str | None = None,
    block_size: int | None = None,
) -> KernelTiles:
    """The kernel :func:`kernel` would compute on ``x``, as tile functions (:class:`KernelTiles`).

    Same arguments and checks as :func:`kernel` (one ``get``); nothing is computed
    except the Monte Carlo networks' parameters. Used by :class:`ntkx.KernelOperator`.

    Example:
        >>> import numpy as np, ntkx
        >>> from ntkx.core.kernels import kernel_tiles
        >>> t = kernel_tiles(ntkx.mlp(), np.eye(3), dtype="float64")
        >>> with jax.enable_x64(True):
        ...     tile = np.asarray(t.fn(t.operands[0], t.x, t.x))
        >>> bool(np.allclose(tile, ntkx.kernel(ntkx.mlp(), np.eye(3), dtype="float64")))
        True
    """
    _check_net(net, method)
    check_choice("get", get, GETS)
    check_choice("implementation", implementation, _compat.SAFE_NTK_IMPLEMENTATIONS)
    plan = _plan(net, x, None, dtype, block_size, 0, True, method.replace("_", "-"))
    if method == "closed_form":
        operands: list[Any] = [None]
    elif method == "empirical":
        if params is None:
            raise ValueError(
                "params=None is not allowed for method='empirical'; pass net.init(...)."
            )
        _check_params(net, params, plan)
        operands = [cast_floats(params, plan.dtype, to_jax=False)]
    else:
        if key is None:
            raise ValueError("key=None is not allowed for method='monte_carlo'; pass a PRNG key.")
        keys = _check_key(key, check_positive_int("n_samples", n_samples))
        init = _jitted_init(net, net.input_dim(plan.x1), bool(jax.config.jax_enable_x64))
        operands = [cast_floats(init(k), plan.dtype, to_jax=False) for k in keys]
    fn = _tile_fn(net, get, method, implementation, plan.dtype.name)
    return KernelTiles(fn, operands, plan.x1, plan.dtype, plan.b1, get)
