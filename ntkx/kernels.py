"""Kernels: which kernel (NTK or NNGP of an architecture) and how it is computed.

One call, :func:`kernel`, separates the two questions: ``get`` picks the kernel,
``method`` picks the computation:

* ``"closed_form"`` — the infinite-width kernel from neural-tangents' ``stax``
  rules, computed in blocks so memory stays bounded (:func:`kernel_matrix`);
* ``"monte_carlo"`` — the average of empirical kernels over ``n_samples``
  finite networks of the spec's width drawn at initialization, with its
  standard error (:func:`monte_carlo_kernel`);
* ``"empirical"`` — the kernel of one finite network at given parameters
  (:func:`empirical_kernel`).

Precision: every kernel computation runs under
``jax.default_matmul_precision("highest")``, so that on GPUs float32 products
are not silently done in TF32 (measured on an H200: a 3.5e-3 relative error in
the float32 NTK, against 6.6e-5 on a CPU).

dtype: ``"float32"`` or ``"float64"``; ``None`` follows jax (float64 when
``jax_enable_x64`` is on). ``"float64"`` works without enabling x64 globally:
the computation runs inside ``jax.enable_x64(True)``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ntkx import _compat
from ntkx._validation import check_choice, check_positive_int

if TYPE_CHECKING:
    from ntkx.architectures import Architecture, Params

_nt = _compat.neural_tangents()

__all__ = [
    "GETS",
    "METHODS",
    "InsufficientMemoryError",
    "KernelEstimate",
    "available_memory_bytes",
    "empirical_kernel",
    "kernel",
    "kernel_matrix",
    "monte_carlo_kernel",
    "precision_context",
]

GETS: Final = ("ntk", "nngp")
METHODS: Final = ("closed_form", "monte_carlo", "empirical")
DTYPES: Final = ("float32", "float64")
#: Fraction of the available memory a kernel request may plan to use.
MEMORY_FRACTION: Final = 0.8


class InsufficientMemoryError(MemoryError, ValueError):
    """A kernel request that cannot fit in memory (raised before any work starts)."""


class KernelEstimate(NamedTuple):
    """A Monte Carlo kernel estimate.

    Attributes:
        mean: the estimate, ``(n1, n2)``.
        stderr: its elementwise standard error, ``(n1, n2)`` (sample standard
            deviation over networks divided by ``sqrt(n_samples)``).
        n_samples: number of independent finite networks averaged.
        width: their hidden width.
    """

    mean: np.ndarray
    stderr: np.ndarray
    n_samples: int
    width: int


def resolve_dtype(dtype: str | None) -> np.dtype:
    """``None`` -> jax's default float; else check ``dtype`` is float32/float64."""
    if dtype is None:
        return np.dtype("float64" if jax.config.jax_enable_x64 else "float32")
    check_choice("dtype", str(np.dtype(dtype)) if _is_dtype(dtype) else dtype, DTYPES)
    return np.dtype(dtype)


def _is_dtype(dtype: Any) -> bool:
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True


@contextlib.contextmanager
def precision_context(dtype: np.dtype) -> Iterator[None]:
    """Full-precision matmuls, and x64 enabled when ``dtype`` is float64."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(jax.default_matmul_precision("highest"))
        if dtype == np.float64 and not jax.config.jax_enable_x64:
            stack.enter_context(jax.enable_x64(True))
        yield


def available_memory_bytes() -> int:
    """Memory available to this process now (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")  # pragma: no cover


def _check_memory(n1: int, n2: int, block: int, dtype: np.dtype, have_out: bool) -> None:
    itemsize = dtype.itemsize
    result = 0 if have_out else n1 * n2 * itemsize
    # neural-tangents keeps about a dozen (block, block) temporaries alive per block.
    workspace = 16 * block * block * itemsize
    need = result + workspace
    have = available_memory_bytes()
    if need > MEMORY_FRACTION * have:
        raise InsufficientMemoryError(
            f"a ({n1}, {n2}) {dtype.name} kernel matrix needs about {need / 2**30:.2f} GiB "
            f"({result / 2**30:.2f} GiB result + {workspace / 2**30:.2f} GiB workspace) but only "
            f"{have / 2**30:.2f} GiB is available ({MEMORY_FRACTION:.0%} may be used). Use fewer "
            "points, dtype='float32', a smaller block_size, or pass out=np.memmap(...) "
            "to write the matrix to disk."
        )


_BLOCK_FNS: dict[tuple[int, str, str], Callable] = {}


def _block_fn(net: Architecture, get: str, dtype: np.dtype) -> Callable:
    key = (id(net.layers[2]), get, dtype.name)
    fn = _BLOCK_FNS.get(key)
    if fn is None:
        kernel_fn = net.layers[2]
        fn = jax.jit(lambda a, b: kernel_fn(a, b, get))
        _BLOCK_FNS[key] = fn
    return fn


#: Target rows per tile when ``block_size`` is not given.
TARGET_BLOCK: Final = 1000


def default_block_size(n: int) -> int:
    """Rows per tile for ``n`` points: about :data:`TARGET_BLOCK`, splitting ``n`` evenly.

    ``ceil(n / ceil(n / 1000))``: no tile is mostly padding, and tile sizes are
    rarely powers of two. Measured on this project's 2-core CPU (n = 8000,
    d = 16, ReLU NTK, float32): 1000-row tiles 0.45 s, 1024-row tiles 0.71 s
    (power-of-two strides make the transposed tile copies thrash the cache),
    2000 rows 0.66 s, 8000 rows 1.5 s (temporaries fall out of cache). The
    workspace is about 16 tiles' worth (128 MiB in float64).
    """
    return -(-n // -(-n // TARGET_BLOCK))


def _pad(x: np.ndarray, size: int) -> np.ndarray:
    if x.shape[0] == size:
        return x
    # Pad with copies of the first row, never zeros: a zero input has an
    # undefined angle. Padded rows are dropped after the block is computed.
    filler = np.broadcast_to(x[:1], (size - x.shape[0], *x.shape[1:]))
    return np.concatenate([x, filler], axis=0)


def kernel_matrix(
    net: Architecture,
    x1: Float[Array, "n1 d"],
    x2: Float[Array, "n2 d"] | None = None,
    get: str = "ntk",
    *,
    dtype: str | None = None,
    block_size: int | None = None,
    out: np.ndarray | None = None,
    progress: bool = False,
) -> Float[np.ndarray, "n1 n2"]:
    """Closed-form infinite-width kernel of ``net`` between ``x1`` and ``x2``.

    The ``(n1, n2)`` matrix is computed in ``(block_size, block_size)`` tiles by a
    jit-compiled neural-tangents ``kernel_fn`` and written into a NumPy array
    (or ``out``); with ``x2=None`` only the upper triangle of tiles is computed
    and mirrored. Memory is checked before any work starts: a request that
    cannot fit raises :class:`InsufficientMemoryError` saying how much it needs.

    Args:
        net: an architecture, e.g. :func:`ntkx.mlp`.
        x1: ``(n1, d)`` inputs.
        x2: ``(n2, d)`` inputs, or ``None`` for ``x1``.
        get: ``"ntk"`` or ``"nngp"``.
        dtype: ``"float32"``, ``"float64"`` or ``None`` (jax's default).
        block_size: rows per tile (default: about 1000, see :func:`default_block_size`).
        out: optional writable ``(n1, n2)`` array of the right dtype (e.g. a
            ``np.memmap``) to fill instead of allocating.
        progress: print a progress line per tile row to stderr.

    Returns:
        The kernel matrix as a NumPy array of ``dtype``.

    Example:
        >>> import numpy as np, ntkx
        >>> x = np.eye(3)
        >>> k = ntkx.kernel_matrix(ntkx.mlp(), x, dtype="float64")
        >>> bool(np.allclose(k, k.T))
        True
    """
    check_choice("get", get, GETS)
    np_dtype = resolve_dtype(dtype)
    x1 = net.check_inputs("x1", x1)
    symmetric = x2 is None
    x2 = x1 if symmetric else net.check_inputs("x2", x2, dim=x1.shape[1])
    n1, n2 = x1.shape[0], x2.shape[0]
    if block_size is None:
        b1, b2 = default_block_size(n1), default_block_size(n2)
    else:
        block = check_positive_int("block_size", block_size)
        b1, b2 = min(block, n1), min(block, n2)
    if out is not None and (out.shape != (n1, n2) or out.dtype != np_dtype):
        raise ValueError(
            f"out has shape {out.shape} and dtype {out.dtype}; expected ({n1}, {n2}) {np_dtype}."
        )
    _check_memory(n1, n2, max(b1, b2), np_dtype, out is not None)
    result = np.empty((n1, n2), np_dtype) if out is None else out

    starts1 = range(0, n1, b1)
    start_time = time.perf_counter()
    with precision_context(np_dtype):
        fn = _block_fn(net, get, np_dtype)
        xa_all = np.asarray(x1, np_dtype)
        xb_all = np.asarray(x2, np_dtype)
        for i in starts1:
            xa = xa_all[i : i + b1]
            xa_pad = jnp.asarray(_pad(xa, b1))
            for j in range(i if symmetric else 0, n2, b2):
                xb = xb_all[j : j + b2]
                tile = np.asarray(fn(xa_pad, jnp.asarray(_pad(xb, b2))))
                tile = tile[: xa.shape[0], : xb.shape[0]]
                if symmetric and j == i:
                    # neural-tangents' tile of (xa, xa) can differ from its transpose by an ulp;
                    # keep the upper triangle so that the matrix is exactly symmetric.
                    tile = np.triu(tile) + np.triu(tile, 1).T
                result[i : i + xa.shape[0], j : j + xb.shape[0]] = tile
                if symmetric and j != i:
                    result[j : j + xb.shape[0], i : i + xa.shape[0]] = tile.T
            if progress:
                elapsed = time.perf_counter() - start_time
                print(
                    f"[ntkx] kernel rows {min(i + b1, n1)}/{n1} ({elapsed:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    if not np.isfinite(result).all():
        bad = int((~np.isfinite(result)).sum())
        raise FloatingPointError(
            f"the {get} kernel has {bad} non-finite entries for finite inputs; the network's "
            f"kernel overflows {np_dtype.name} (try dtype='float64' or smaller W_std)."
        )
    return result


_EMPIRICAL_FNS: dict[tuple[Any, str, int], Callable] = {}


def _empirical_fn(net: Architecture, get: str, implementation: int) -> Callable:
    key = (net, get, implementation)
    if key not in _EMPIRICAL_FNS:
        _EMPIRICAL_FNS[key] = _make_empirical_fn(net, get, implementation)
    return _EMPIRICAL_FNS[key]


def _make_empirical_fn(net: Architecture, get: str, implementation: int) -> Callable:
    trainable_apply = net.layers[1]
    if get == "nngp":

        def nngp(params: Params, a: Array, b: Array) -> Array:
            fa, fb = trainable_apply(params, a), trainable_apply(params, b)
            return fa @ fb.T / fa.shape[-1]

        return jax.jit(nngp)

    def apply_trainable(trainable: Params, x: Array, frozen: Params) -> Array:
        return trainable_apply(net.combine(trainable, frozen), x)

    ntk_fn = _nt.empirical_ntk_fn(
        apply_trainable, trace_axes=(), vmap_axes=0, implementation=implementation
    )

    def ntk(params: Params, a: Array, b: Array) -> Array:
        trainable, frozen = net.partition(params)
        full = ntk_fn(a, b, trainable, frozen=frozen)  # (n1, n2, k, k)
        return jnp.mean(jnp.diagonal(full, axis1=-2, axis2=-1), axis=-1)

    return jax.jit(ntk)


def empirical_kernel(
    net: Architecture,
    params: Params,
    x1: Float[Array, "n1 d"],
    x2: Float[Array, "n2 d"] | None = None,
    get: str = "ntk",
    *,
    implementation: int = 1,
    dtype: str | None = None,
) -> Float[np.ndarray, "n1 n2"]:
    r"""Kernel of one finite network at ``params``.

    NTK: :math:`\Theta(x, x') = \sum_{\theta \in \text{trainable}} \partial_\theta f(x) \cdot
    \partial_\theta f(x')`, averaged over the output units. NNGP:
    :math:`f(x) \cdot f(x') / k` over the ``k`` outputs (one sample of the
    output covariance). ``implementation`` is neural-tangents' empirical-NTK
    implementation, 1 (Jacobian contraction) or 2 (NTK-vector products);
    implementation 3 fails on every jax and is refused.
    """
    check_choice("get", get, GETS)
    check_choice("implementation", implementation, _compat.SAFE_NTK_IMPLEMENTATIONS)
    np_dtype = resolve_dtype(dtype)
    x1 = net.check_inputs("x1", x1)
    x2 = x1 if x2 is None else net.check_inputs("x2", x2, dim=x1.shape[1])
    with precision_context(np_dtype):
        fn = _empirical_fn(net, get, implementation)
        cast = jax.tree_util.tree_map(lambda p: jnp.asarray(p, np_dtype), params)
        value = np.asarray(fn(cast, jnp.asarray(x1, np_dtype), jnp.asarray(x2, np_dtype)), np_dtype)
    if not np.isfinite(value).all():
        bad = int((~np.isfinite(value)).sum())
        raise FloatingPointError(
            f"the empirical {get} kernel has {bad} non-finite entries for finite inputs; the "
            f"network overflows {np_dtype.name} (try dtype='float64' or smaller W_std), or "
            "params contain non-finite values."
        )
    return value


def monte_carlo_kernel(
    net: Architecture,
    key: PRNGKeyArray,
    x1: Float[Array, "n1 d"],
    x2: Float[Array, "n2 d"] | None = None,
    get: str = "ntk",
    *,
    n_samples: int = 64,
    implementation: int = 1,
    dtype: str | None = None,
) -> KernelEstimate:
    """Monte Carlo estimate of the infinite-width kernel, with its standard error.

    Averages :func:`empirical_kernel` over ``n_samples`` independent
    initializations of the finite network (width ``net.width``). The estimate
    has two errors: sampling error (reported as ``stderr``) and the finite-width
    bias, which is O(1/width) for the NTK and NNGP of these networks.
    """
    n_samples = check_positive_int("n_samples", n_samples)
    x1 = net.check_inputs("x1", x1)
    x2 = x1 if x2 is None else net.check_inputs("x2", x2, dim=x1.shape[1])
    d = x1.shape[1]
    total = None
    total_sq = None
    for k in jax.random.split(key, n_samples):
        sample = empirical_kernel(
            net,
            net.init(k, d),
            x1,
            x2,
            get,
            implementation=implementation,
            dtype=dtype,
        ).astype(np.float64)
        total = sample if total is None else total + sample
        total_sq = sample**2 if total_sq is None else total_sq + sample**2
    assert total is not None and total_sq is not None
    mean = total / n_samples
    if n_samples > 1:
        var = np.maximum(total_sq / n_samples - mean**2, 0.0) * n_samples / (n_samples - 1)
        stderr = np.sqrt(var / n_samples)
    else:
        stderr = np.full_like(mean, np.inf)
    width = getattr(net, "width", 0)
    return KernelEstimate(mean=mean, stderr=stderr, n_samples=n_samples, width=int(width))


def kernel(
    net: Architecture,
    x1: Float[Array, "n1 d"],
    x2: Float[Array, "n2 d"] | None = None,
    get: str = "ntk",
    method: str = "closed_form",
    *,
    key: PRNGKeyArray | None = None,
    params: Params | None = None,
    n_samples: int = 64,
    dtype: str | None = None,
    **kwargs: Any,
) -> np.ndarray | KernelEstimate:
    """Which kernel (``get``) of ``net``, computed how (``method``), in one call.

    ``"closed_form"`` returns the matrix (:func:`kernel_matrix`);
    ``"monte_carlo"`` needs ``key`` and returns a :class:`KernelEstimate`;
    ``"empirical"`` needs ``params`` and returns the matrix of that network.
    """
    check_choice("method", method, METHODS)
    if method == "closed_form":
        return kernel_matrix(net, x1, x2, get, dtype=dtype, **kwargs)
    if method == "monte_carlo":
        if key is None:
            raise ValueError("key=None is not allowed for method='monte_carlo'; pass a PRNG key.")
        return monte_carlo_kernel(net, key, x1, x2, get, n_samples=n_samples, dtype=dtype, **kwargs)
    if params is None:
        raise ValueError("params=None is not allowed for method='empirical'; pass net.init(...).")
    return empirical_kernel(net, params, x1, x2, get, dtype=dtype, **kwargs)
