r"""The architecture protocol: what every ntkx network provides, and nothing more.

An architecture is a frozen, validated specification (an abstract
:class:`Architecture` subclass: :class:`ntkx.MLP`, :class:`ntkx.GNN`, or a user
network wrapped by :func:`ntkx.from_stax`). It provides

* ``init(key, input_dim) -> params`` — the finite network's parameters, a list
  with one entry per layer (neural-tangents' layout: a dense layer is ``(W, b)``,
  a parameter-free layer ``()``);
* ``apply(params, x) -> (n, out_dim)`` — the finite network (jit-compatible);
* ``kernel_fn(x1, x2) -> KernelPair(ntk, nngp)`` — a *pure* jax function giving
  the infinite-width kernels between two blocks of inputs, both at once (with
  ``precompute(x)``, the per-input quantities it would recompute in every tile, it is
  also called as ``kernel_fn(x1, x2, pre1, pre2)``);
* ``check_inputs(name, x, dim=None)`` — validation of a batch of inputs, and
  ``input_dim(x)`` — its feature size;

and a few declarations the engine uses to plan work (:attr:`kernel_methods`,
:meth:`pair_workspace_bytes`, :meth:`partition`, and for closed-form tiles
:meth:`tile_order`, :meth:`trim_tile` and :meth:`precompute`: :class:`ntkx.GIN` groups
graphs of similar size, pads each tile only to its largest graph, and computes each graph's
self-variances once per call instead of once per tile). A *batch* of inputs is an
array ``(n, d)`` for feedforward networks or a :class:`ntkx.GraphBatch`; every
batch type supports ``len(x)``, slicing ``x[i:j]`` and integer-array indexing and
is a jax pytree whose leaves share the leading axis ``n``.

Specs never call the kernel engine (:mod:`ntkx.core.kernels`), and the engine
knows no concrete architecture: it only calls the methods above. This is what
lets one tiling, one Monte Carlo loop and one solver serve every network.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable
from typing import Any, ClassVar, Final, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ntkx.core.validation import check_choice, check_finite_number, check_positive_int

__all__ = [
    "GETS",
    "KERNEL_METHODS",
    "PARAMETERIZATIONS",
    "TRAINABLE",
    "Architecture",
    "KernelPair",
    "Params",
    "cast_floats",
    "check_key",
    "check_params",
    "num_points",
    "pad_batch",
    "partition_layers",
    "validate_common_fields",
]

Params = list[Any]
"""Parameters of a network: a list with one entry per layer (neural-tangents' layout)."""

#: The kernels every architecture has.
GETS: Final = ("ntk", "nngp")
#: How a kernel can be computed (see :func:`ntkx.kernel`).
KERNEL_METHODS: Final = ("closed_form", "monte_carlo", "empirical")
PARAMETERIZATIONS: Final = ("ntk", "standard")
#: Which layers are trained: all, the first weight layer only, or the readout only.
TRAINABLE: Final = ("all", "first", "last")


class KernelPair(NamedTuple):
    """The NTK and the NNGP of the same inputs, computed together.

    Attributes:
        ntk: neural tangent kernel :math:`\\Theta`.
        nngp: neural network Gaussian process kernel :math:`\\Sigma`.
    """

    ntk: Any
    nngp: Any


def validate_common_fields(spec: Any) -> None:
    """Check and normalise the fields every built-in spec has (call in ``__post_init__``).

    ``depth``, ``width``, ``out_dim`` positive integers; ``parameterization`` in
    :data:`PARAMETERIZATIONS`; ``trainable`` in :data:`TRAINABLE`; ``W_std > 0``;
    ``b_std`` ``None`` (no biases) or ``>= 0``.
    """
    set_ = object.__setattr__
    set_(spec, "depth", check_positive_int("depth", spec.depth))
    set_(spec, "width", check_positive_int("width", spec.width))
    set_(spec, "out_dim", check_positive_int("out_dim", spec.out_dim))
    check_choice("parameterization", spec.parameterization, PARAMETERIZATIONS)
    check_choice("trainable", spec.trainable, TRAINABLE)
    set_(spec, "W_std", check_finite_number("W_std", spec.W_std, minimum=0.0, strict=True))
    if spec.b_std is not None:
        set_(spec, "b_std", check_finite_number("b_std", spec.b_std, minimum=0.0))


def partition_layers(params: Params, keep: tuple[int, ...]) -> tuple[Params, Params]:
    """Split a per-layer parameter list into ``(trainable, frozen)`` lists of the same length.

    Entries not in a part are ``()``; :meth:`Architecture.combine` inverts this.
    """
    keep_set = set(keep)
    trainable = [p if i in keep_set else () for i, p in enumerate(params)]
    frozen = [() if i in keep_set else p for i, p in enumerate(params)]
    return trainable, frozen


class Architecture(abc.ABC):
    """Abstract base of every ntkx architecture (see the module docstring).

    Concrete architectures are frozen dataclasses (hashable by value, so the
    engine can cache compiled functions per spec) and final.

    Attributes every architecture has: ``width`` (hidden width of the finite
    network; Monte Carlo kernels use it), ``out_dim`` (outputs of ``apply``).
    """

    width: int
    out_dim: int

    # ------------------------------------------------------------------ the finite network

    @abc.abstractmethod
    def init(self, key: PRNGKeyArray, input_dim: int) -> Params:
        """Draw the finite network's parameters for inputs with ``input_dim`` features."""

    @abc.abstractmethod
    def apply(self, params: Params, x: Any) -> Float[Array, "n out"]:
        """Outputs ``(n, out_dim)`` of the finite network (jit-compatible)."""

    # ------------------------------------------------------------------ the infinite width

    @abc.abstractmethod
    def kernel_fn(self, x1: Any, x2: Any) -> KernelPair:
        """Infinite-width NTK and NNGP between two blocks of inputs, ``(n1, n2)`` each.

        A pure jax function (jit-compiled by the engine) of two *validated*
        batches whose floating leaves already have the working dtype. Raises
        ValueError when the architecture has no closed form (then
        ``"closed_form"`` is not in :attr:`kernel_methods`). An architecture whose
        :meth:`precompute` returns something also accepts ``kernel_fn(x1, x2, pre1, pre2)``
        with those per-input results for ``x1`` and ``x2`` (and computes them itself
        when called with two arguments).
        """

    def precompute(self, x: Any) -> Any:
        """Per-input quantities :meth:`kernel_fn` needs whatever the other input is.

        A pure jax function of a validated batch (working dtype) returning a pytree whose
        leaves have the batch's leading axis, or ``None`` (the default: nothing to
        precompute). The engine's closed form computes it once per call for each side, in
        chunks of one tile's inputs, and passes the rows of each tile as
        ``kernel_fn(x1, x2, pre1, pre2)``, so that quantities of one input (the GIN's
        self-variances of each graph) are not recomputed in every tile the input appears
        in. It is computed on the untrimmed batch: :meth:`kernel_fn` must accept it for a
        tile that :meth:`trim_tile` trimmed. The results must equal what ``kernel_fn(x1,
        x2)`` computes on its own.
        """
        del x
        return None

    @property
    def kernel_methods(self) -> tuple[str, ...]:
        """The ways :func:`ntkx.kernel` may compute this network's kernels.

        ``"closed_form"`` needs :meth:`kernel_fn`; ``"monte_carlo"`` needs an
        infinite-width limit of the finite network (NTK parameterization);
        ``"empirical"`` always works.
        """
        return KERNEL_METHODS

    def why_not(self, method: str) -> str:
        """A sentence saying why ``method`` is not in :attr:`kernel_methods` (for errors)."""
        return f"{type(self).__name__} does not support it"

    # ------------------------------------------------------------------ inputs

    @abc.abstractmethod
    def check_inputs(self, name: str, x: Any, dim: int | None = None) -> Any:
        """Validate a batch of inputs (ValueError naming ``name``); return it as NumPy leaves.

        ``dim``: the feature size the batch must have (to match other inputs).
        """

    def input_dim(self, x: Any) -> int:
        """Feature size of a validated batch (``x.shape[1]`` for arrays)."""
        return int(np.shape(x)[-1])

    def pair_workspace_bytes(self, x1: Any, x2: Any, itemsize: int) -> int:
        """Temporary memory per pair of inputs while :meth:`kernel_fn` runs (tile planning).

        Feedforward kernels keep about a dozen scalars per pair alive (measured for
        neural-tangents' ReLU recursion); graph kernels override this.
        """
        return 16 * itemsize

    #: Workspace of one tile the engine aims at (bytes; ``None``: the engine's
    #: :data:`ntkx.core.kernels.TILE_BUDGET`, a memory bound). An architecture whose kernel is
    #: faster on tiles that stay in cache sets a smaller, measured value (the GIN).
    tile_budget_bytes: ClassVar[int | None] = None

    #: Whether the engine compiles :meth:`kernel_fn` separately for one requested kernel, so
    #: that XLA drops the other's work (the ReLU MLP's NTK and NNGP are separate loops).
    #: Graph networks compute both in one pass and compile slowly: they set False.
    compile_per_kernel: bool = True

    #: How many tiles the engine's closed form computes at once on a CPU backend, each from
    #: its own host thread (capped by the cores; always 1 on accelerators). The default 1 suits
    #: kernels made of elementwise work, which XLA already spreads over the cores: two threads
    #: made the ReLU MLP's kernel 1.2-1.4x slower on 2 cores. The GIN and the per-edge GNN set
    #: 2: their batched products run on one core each, and two threads ran their benchmarks
    #: 1.1x and 1.2-1.3x faster.
    tile_threads: ClassVar[int] = 1

    def tile_order(self, x: Any) -> np.ndarray | None:
        """The order in which the engine groups the inputs of a validated batch into tiles.

        ``None`` (the default) keeps the given order. The engine computes tiles of the
        permuted batch and writes every entry back to its original row and column, so the
        returned matrices never depend on the order. The GIN sorts graphs by node count so
        that each tile holds graphs of similar size (see :meth:`trim_tile`).
        """
        del x
        return None

    def trim_tile(self, x: Any) -> Any:
        """One tile of inputs (a sub-batch) with the padding it does not need removed.

        The default returns ``x`` unchanged; the GIN drops node padding beyond the
        tile's largest graph. The result must give the same kernels as ``x``.
        """
        return x

    # ------------------------------------------------------------------ training

    def trainable_layers(self, params: Params) -> tuple[int, ...]:
        """Indices (into the parameter list) of the trained layers (default: all)."""
        return tuple(range(len(params)))

    def partition(self, params: Params) -> tuple[Params, Params]:
        """Split ``params`` into ``(trainable, frozen)`` lists (see :func:`partition_layers`)."""
        return partition_layers(list(params), self.trainable_layers(params))

    @staticmethod
    def combine(trainable: Params, frozen: Params) -> Params:
        """Inverse of :meth:`partition`."""
        return [t if t != () else f for t, f in zip(trainable, frozen, strict=True)]


# ---------------------------------------------------------------------- batches


def check_key(name: str, key: Any) -> Any:
    """``key`` if it is a jax PRNG key (new-style ``jax.random.key`` or legacy uint32 pair),
    else ValueError naming ``name`` (instead of jax's internal key-type error)."""
    try:
        jax.random.split(key, 1)
    except Exception:  # jax raises TypeError/ValueError with internal detail
        raise ValueError(
            f"{name}={key!r} is not allowed; expected a jax PRNG key such as jax.random.key(0)."
        ) from None
    return key


def check_params(net: Architecture, params: Any, x: Any, name: str = "params") -> Any:
    """The output shape of ``net.apply(params, x)`` (``jax.ShapeDtypeStruct``), traced without
    computing; ValueError naming ``name`` when the parameters do not fit the network and the
    inputs (e.g. drawn for another feature size), instead of jax's internal shape error."""
    try:
        return jax.eval_shape(net.apply, params, jax.tree_util.tree_map(jnp.asarray, x))
    except Exception as err:  # jax raises TypeError/ValueError with internal detail
        dim = net.input_dim(x)
        raise ValueError(
            f"{name} do not fit this network and inputs with {dim} features "
            f"({type(err).__name__}: {str(err).splitlines()[0][:200]}); expected "
            f"net.init(key, {dim})."
        ) from None


def _traced(*trees: Any) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(trees))


def checked_apply(apply: Callable[[Any, Params, Any], Any]) -> Callable[[Any, Params, Any], Any]:
    """Decorator for an architecture's ``apply(self, params, x)``: eager calls are checked.

    With concrete inputs (a direct call, not inside ``jax.jit``/``grad``/``vmap``), ``x``
    goes through ``self.check_inputs("x", x)`` first (non-finite values, wrong rank: a
    ValueError naming ``x`` instead of a NaN output), and a shape error inside ``apply``
    (parameters drawn for another feature size) becomes a ValueError naming ``params``.
    Traced calls run ``apply`` unchanged, so compiled training pays nothing.
    """

    @functools.wraps(apply)
    def wrapper(self: Any, params: Params, x: Any) -> Any:
        if _traced(params, x):
            return apply(self, params, x)
        self.check_inputs("x", x)
        try:
            return apply(self, params, x)
        except (TypeError, ValueError):
            check_params(self, params, x)  # raises the ValueError naming params ...
            raise  # ... or the error was something else: keep it

    return wrapper


def num_points(x: Any) -> int:
    """Number of inputs in a batch (``len`` of an array or a :class:`ntkx.GraphBatch`)."""
    return len(x)


def pad_batch(x: Any, size: int) -> Any:
    """Pad a batch (or any pytree whose leaves share the leading axis, such as the results of
    :meth:`Architecture.precompute`) to ``size`` inputs with copies of its first input
    (dropped by the caller).

    Copies, never zeros: a zero input has an undefined angle and an empty graph
    no nodes.
    """
    n = len(jax.tree_util.tree_leaves(x)[0])  # a batch, or per-input results (precompute)
    if n == size:
        return x

    def pad(leaf: Any) -> Any:
        leaf = np.asarray(leaf)
        filler = np.broadcast_to(leaf[:1], (size - n, *leaf.shape[1:]))
        return np.concatenate([leaf, filler], axis=0)

    return jax.tree_util.tree_map(pad, x)


def cast_floats(x: Any, dtype: np.dtype, *, to_jax: bool = True) -> Any:
    """Every floating leaf of a batch (or parameter pytree) cast to ``dtype``."""

    def cast(leaf: Any) -> Any:
        arr = np.asarray(leaf)
        if np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(dtype, copy=False)
        return jnp.asarray(arr) if to_jax else arr

    return jax.tree_util.tree_map(cast, x)
