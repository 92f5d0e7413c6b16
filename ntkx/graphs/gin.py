r"""The aggregate-then-MLP graph network of Du et al. and its graph neural tangent kernel.

:class:`GIN` (built by :func:`gin`) is the network behind the GNTK of Du, Hou, Poczos,
Salakhutdinov, Wang, Xu, "Graph Neural Tangent Kernel: Fusing Graph Neural Networks with Graph
Kernels", NeurIPS 2019 (arXiv 1905.13192, Section 4), a GIN (Xu et al., ICLR 2019). With node
representations :math:`h^{(0)}_u = x_u` and :math:`\ell = 1..L` (``depth``):

.. math::
    a^{(\ell)}_u = \operatorname{AGG}_{v \in \tilde N(u)} c_{uv}\, h^{(\ell-1)}_v, \qquad
    h^{(\ell)}_u = \operatorname{MLP}_\ell\big(a^{(\ell)}_u\big), \qquad
    f(G) = \operatorname{Dense}\big(\operatorname{READOUT}_u h^{(L)}_u\big),

* :math:`\tilde N(u)` is the neighbourhood of ``u`` plus ``u`` itself (``self_loops=True``,
  the paper's :math:`N(u) \cup \{u\}`, i.e. :math:`A + I`) or without it. Edges are the
  *pattern* ``adjacency > 0``: edge weights do not enter the network (as in Du et al., whose
  graphs are unweighted, and in :func:`ntkx.gnn` without ``edge_weights``).
* AGG is ``"sum"`` (with :math:`c_{uv}` from ``neighbor_scale``), ``"mean"``, ``"max"`` or
  ``"min"`` over :math:`\tilde N(u)`; a node with an empty :math:`\tilde N(u)` gets 0.
* ``neighbor_scale``: ``"uniform"`` :math:`c_{uv} = 1`, or ``"degree"``
  :math:`c_{uv} = c_u = 1 / |\tilde N(u)|`, which with self loops is Du et al.'s
  :math:`c_u = 1 / (|N(u)| + 1)` (their code: ``scale_mat = 1 / outer(rowsum(A + I), ...)``).
  It is the row-normalized :math:`A + I`, so ``aggregation="sum", neighbor_scale="degree"``
  is the same network as ``aggregation="mean"`` (``"degree"`` is only accepted with ``"sum"``).
  The symmetric GCN scaling :math:`1/\sqrt{(d_u + 1)(d_v + 1)}` is *not* what Du et al. use.
* :math:`\operatorname{MLP}_\ell` is ``mlp_depth`` layers Dense(width) -> ReLU (a ReLU after
  its last layer too, as in the paper); READOUT is sum/mean/max/min over real nodes; the output
  layer is Dense(out_dim) without ReLU.
* ``jumping_knowledge=True``: the readouts of *every* representation
  :math:`h^{(0)} = x, h^{(1)}, \dots, h^{(L)}` (layers ``0..L``, the input features included, as
  Du et al.'s ``jump_ntk`` starts from the raw feature kernel) each go through their *own* output
  layer and the outputs are summed: :math:`f(G) = \sum_{\ell=0}^{L}
  \operatorname{Dense}_\ell(\operatorname{READOUT}\, h^{(\ell)})`. This equals "concatenate,
  then one dense" up to each block's normalization, and it is the version whose kernels are the
  *sum of the per-layer kernels* (independent readout weights make the cross terms vanish).

Padded nodes never contribute: they are outside every :math:`\tilde N(u)` and every readout.

**Parameterization.** NTK parameterization with neural-tangents' conventions (``W``, ``b``
standard normal; a dense layer computes ``W_std / sqrt(fan_in) W x + b_std b``), so the input
kernel is ``x . x' / F`` for ``F`` node features. ``parameterization="standard"`` folds the
factors into the parameters at initialization (same function at init, other gradient geometry;
no infinite-width kernel).

**Kernels.** For sum/mean aggregation and sum/mean readout, with :math:`P` the aggregation
matrix of a graph (:math:`P_{uv} = c_{uv}` on :math:`\tilde N(u)`, 0 elsewhere) and
:math:`\Sigma, \Theta` the node-pair NNGP/NTK between graphs ``G`` and ``G'``
(:math:`N \times N'`), one step is

.. math::
    \Sigma_a = P \Sigma P'^\top, \quad \Theta_a = P \Theta P'^\top, \qquad
    K = \sigma_w^2 \Sigma_a + \sigma_b^2, \quad T = \sigma_w^2 \Theta_a + K,
    \qquad \Sigma \leftarrow \kappa_1(K), \quad \Theta \leftarrow \kappa_0(K)\, T

and then again ``K, T`` and the ReLU maps for each further MLP layer (on :math:`\Sigma,
\Theta` without aggregating). :math:`\kappa_1, \kappa_0` are the arc-cosine kernels of ReLU
(Cho & Saul 2009) with the variances :math:`K_{GG}(u, u)` and :math:`K_{G'G'}(u', u')` of each
graph's own self-kernel (the same recursion on the graph with itself). The input is
:math:`\Sigma^{(0)} = X X'^\top / F`, :math:`\Theta^{(0)} = 0`. The readout vector ``r`` (ones
or ones / N on real nodes) gives :math:`S = r^\top \Sigma^{(L)} r'`, :math:`T = r^\top
\Theta^{(L)} r'`, and the output layer gives ``NNGP = W_std^2 S + b_std^2`` and
``NTK = NNGP + W_std^2 T``. Untrained layers (``trainable``) drop their own ``+ K`` term.
Each step costs two matrix products, :math:`O(N^2 N' + N N'^2)` per pair of graphs (all pairs
of two blocks at once), not the :math:`O(N^2 N'^2)` of the Kronecker form
:math:`\operatorname{vec}(\Sigma_a) = (P \otimes P') \operatorname{vec}(\Sigma)` of Du et al.'s
code. Cosines within ``64 eps`` of 1 are rounded to 1: below that the angle is not determined
by the float inputs (a rounding error ``eps`` moves it by ``sqrt(2 eps)``), and snapping makes
the kernel of a graph with itself use exactly ``cos = 1`` however the sums were ordered
(measured: identical nodes land within 8 eps of 1 for graphs of up to 100 nodes, depth 4;
without the snap the NTK of such a pair is off by ~1e-11). Where the true cosine lies within
``64 eps`` of 1 this changes :math:`\kappa_0` by at most ``sqrt(128 eps) / (2 pi)`` (2.7e-8),
the size of the rounding error there anyway. ``eps`` is float64's: in float32 only cosines
that round to 1 are snapped (float32 kernels are accurate to ~1e-4 near ``cos = 1``).

**Relation to Du et al.'s GNTK.** With ``W_std = sqrt(2)`` (their :math:`c_\sigma = 2`),
``b_std=None``, ``aggregation="sum"``, ``readout="sum"``, ``self_loops=True`` and their
``num_layers = depth + 1`` (they count the input layer), ``num_mlp_layers = mlp_depth``,
``jk = jumping_knowledge``, ``scale = neighbor_scale``:

.. math::
    \text{ntkx NTK}(X, X') = \tfrac{1}{F}\, \text{GNTK}_{\text{code}}(X, X')
        = \tfrac{2}{F}\, \Theta_{\text{paper}}(X, X'),

where ``GNTK_code`` is the value their public numpy code returns (``np.sum(ntk) * 2``) and
:math:`\Theta_\text{paper} = \sum_{u, u'} \Theta^{(L, R)}_{uu'}` the paper's formula. The one
constant ``1 / F`` is ntkx's input convention ``x . x' / F`` against their raw ``x . x'``:
scaling the features by :math:`\sqrt F` makes ntkx's NTK equal to their code's value exactly.
The NNGP is ``2 / F`` times the paper's :math:`\sum_{u, u'} \Sigma^{(L, R)}_{uu'}` likewise.

For max or min aggregation or readout there is no closed form: use
``ntkx.kernel(net, x, method="monte_carlo", key=...)``.

Example:
    >>> import jax
    >>> import ntkx
    >>> from ntkx.graphs.gin import gin
    >>> from ntkx.graphs.sampling import max_degree_dataset
    >>> data = max_degree_dataset(3, "general", 5, 7, seed=0)
    >>> net = gin(depth=2, mlp_depth=2, width=16)
    >>> ntkx.kernel(net, data.batch, dtype="float64").shape
    (3, 3)
    >>> net.apply(net.init(jax.random.key(0), 1), data.batch).shape
    (3, 1)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, Final

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ntkx.core.arccos import arccos as _arccos  # noqa: F401  (tests/test_gin.py imports it here)
from ntkx.core.arccos import relu_maps as _angle_maps
from ntkx.core.protocol import (
    KernelPair,
    Params,
    check_key,
    checked_apply,
    partition_layers,
    validate_common_fields,
)
from ntkx.core.validation import check_choice, check_positive_int
from ntkx.graphs.batch import GraphArchitecture, GraphBatch

__all__ = ["AGGREGATIONS", "GIN", "NEIGHBOR_SCALES", "READOUTS", "gin"]

AGGREGATIONS: Final = ("sum", "mean", "max", "min")
READOUTS: Final = ("sum", "mean", "max", "min")
#: ``c_uv`` of sum aggregation: 1, or Du et al.'s ``1 / |N(u) + u|``.
NEIGHBOR_SCALES: Final = ("uniform", "degree")
CLOSED_FORM: Final = ("sum", "mean")
#: Engine tiles are padded to a multiple of this many nodes, at most the batch's own padding
#: (:meth:`GIN.trim_tile`): few distinct shapes to compile, little padding.
NODE_QUANTUM: Final = 4


@dataclasses.dataclass(frozen=True, eq=True)
class GIN(GraphArchitecture):
    r"""The GNTK network of Du et al. (2019), finite or infinitely wide (final; see the module doc).

    Attributes:
        depth: aggregation steps ``L`` (Du et al.'s ``num_layers - 1``).
        mlp_depth: Dense(width) -> ReLU layers after each aggregation (``num_mlp_layers``).
        aggregation: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"`` over the neighbourhood.
        readout: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"`` over real nodes.
        width: width of every hidden dense layer.
        W_std, b_std: weight and bias standard deviations (``b_std=None``: no biases).
        parameterization: ``"ntk"`` or ``"standard"`` (as :class:`ntkx.GNN`).
        trainable: ``"all"``; ``"first"`` (the first dense layer of the first MLP); ``"last"``
            (the output layer, every per-layer output layer with jumping knowledge: then the
            NTK equals the NNGP).
        self_loops: aggregate over :math:`N(u) \cup \{u\}` (Du et al.) or over :math:`N(u)`.
        neighbor_scale: ``"uniform"`` or ``"degree"`` (``1 / |N(u) + u|``; ``"sum"`` only).
        jumping_knowledge: read out layers ``0..L`` through their own output layers, summed.
        out_dim: number of outputs.

    Parameters (``init``) are a list of dense layers ``(W, b)`` (``b`` None without biases):
    index ``l * mlp_depth + r`` is MLP layer ``r`` of step ``l`` (``W`` of shape
    ``(F, width)`` at index 0, ``(width, width)`` after); then the output layer
    ``(width, out_dim)``, or with jumping knowledge ``depth + 1`` output layers, for
    :math:`h^{(0)}` (``(F, out_dim)``) to :math:`h^{(L)}`.
    """

    depth: int = 2
    mlp_depth: int = 2
    aggregation: str = "sum"
    readout: str = "sum"
    width: int = 512
    W_std: float = 1.0
    b_std: float | None = None
    parameterization: str = "ntk"
    trainable: str = "all"
    self_loops: bool = True
    neighbor_scale: str = "uniform"
    jumping_knowledge: bool = False
    out_dim: int = 1

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        validate_common_fields(self)
        set_(self, "mlp_depth", check_positive_int("mlp_depth", self.mlp_depth))
        check_choice("aggregation", self.aggregation, AGGREGATIONS)
        check_choice("readout", self.readout, READOUTS)
        check_choice("neighbor_scale", self.neighbor_scale, NEIGHBOR_SCALES)
        for name in ("self_loops", "jumping_knowledge"):
            value = getattr(self, name)
            if not isinstance(value, bool | np.bool_):
                raise ValueError(f"{name}={value!r} is not allowed; expected True or False.")
            set_(self, name, bool(value))
        if self.neighbor_scale == "degree" and self.aggregation != "sum":
            raise ValueError(
                f"neighbor_scale='degree' is not allowed with aggregation={self.aggregation!r}; "
                "expected aggregation='sum' (degree scaling divides the sum by the neighbourhood "
                "size: it is aggregation='mean')."
            )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("GIN is final; compose it instead of subclassing.")

    @property
    def has_closed_form(self) -> bool:
        """True when aggregation and readout are both sum or mean (NTK parameterization)."""
        return (
            self.aggregation in CLOSED_FORM
            and self.readout in CLOSED_FORM
            and self.parameterization == "ntk"
        )

    @property
    def num_dense(self) -> int:
        """Dense layers in the MLPs (``depth * mlp_depth``); the output layer(s) follow."""
        return self.depth * self.mlp_depth

    @property
    def readout_layers(self) -> tuple[int, ...]:
        """Representations read out: ``(depth,)``, or ``0..depth`` with jumping knowledge."""
        return tuple(range(self.depth + 1)) if self.jumping_knowledge else (self.depth,)

    # ------------------------------------------------------------------ protocol

    def init(self, key: PRNGKeyArray, input_dim: int) -> Params:
        """Parameters for node features of size ``input_dim`` (layout: class docstring)."""
        input_dim = check_positive_int("input_dim", input_dim)
        check_key("key", key)
        has_b = self.b_std is not None
        shapes = [(input_dim if i == 0 else self.width, self.width) for i in range(self.num_dense)]
        shapes += [
            (input_dim if layer == 0 else self.width, self.out_dim) for layer in self.readout_layers
        ]
        keys = jax.random.split(key, len(shapes))
        params: Params = []
        for k, (fan_in, fan_out) in zip(keys, shapes, strict=True):
            kw, kb = jax.random.split(k)
            w = jax.random.normal(kw, (fan_in, fan_out))
            b = jax.random.normal(kb, (fan_out,)) if has_b else None
            if self.parameterization == "standard":
                # The factors move from the forward pass into the parameters.
                w = w * (self.W_std / math.sqrt(fan_in))
                b = None if b is None else b * self.b_std
            params.append((w, b))
        return params

    @checked_apply
    def apply(self, params: Params, x: GraphBatch) -> Float[Array, "B out"]:
        """Outputs ``(B, out_dim)`` of the finite network on a :class:`GraphBatch` (jit-able)."""
        return _apply(self, params, x)

    def kernel_fn(
        self,
        x1: GraphBatch,
        x2: GraphBatch,
        pre1: Array | None = None,
        pre2: Array | None = None,
    ) -> KernelPair:
        """Closed-form NTK and NNGP ``(B1, B2)`` between two graph batches (sum/mean only).

        ``pre1``, ``pre2``: :meth:`precompute` of ``x1`` and ``x2``, possibly padded to more
        nodes than a trimmed tile has (only the first nodes are used); computed here if None.
        """
        if not self.has_closed_form:
            raise ValueError(f"this GIN has no closed-form kernel ({self.why_not('closed_form')}).")
        g1 = _graph_arrays(self, *x1.astuple())
        g2 = _graph_arrays(self, *x2.astuple())
        v1 = self.precompute(x1) if pre1 is None else pre1[..., : g1.p.shape[-1]]
        v2 = self.precompute(x2) if pre2 is None else pre2[..., : g2.p.shape[-1]]
        ntk, nngp = _cross_kernels(self, g1, g2, v1, v2)
        return KernelPair(ntk=ntk, nngp=nngp)

    def precompute(self, x: GraphBatch) -> Array:
        """Each graph's variances ``K_GG(u, u)`` before every ReLU, ``(B, depth * mlp_depth,
        N)`` (0 on padded nodes), for the engine to compute once per call instead of once per
        tile: 8% of a tile's time at 20 x 20 graphs of 29 nodes (measured, 2-core CPU).

        Trimming a tile (:meth:`trim_tile`) drops padded nodes only, so a trimmed tile's
        variances are the first entries of the untrimmed ones.
        """
        if not self.has_closed_form:
            raise ValueError(f"this GIN has no closed-form kernel ({self.why_not('closed_form')}).")
        g = _graph_arrays(self, *x.astuple())
        return jax.vmap(lambda p, ax: _self_variances(self, p, ax))(g.p, g.px)

    #: Tiles of about 48 MB of workspace (20 graphs of 29 nodes, 11 of 50, 6 of 100): measured
    #: on 120 graphs of 20-29 nodes (2-core CPU, float64, load ~1.7, other jobs paused), ms per
    #: pair by tile side 8: 0.0181, 12: 0.0163, 15: 0.0151, 20: 0.0147-0.0158, 24: 0.0203,
    #: 30 (the memory plan's side): 0.0171-0.0292, 40: 0.0255, 60: 0.0374; at 50 and 100 nodes
    #: sides 4-16 were within the run's noise of each other (0.071-0.088 and 0.46-0.48 ms).
    tile_budget_bytes: ClassVar[int | None] = 48 * 2**20

    #: Two tiles at once (engine host threads, CPU only): a tile's batched aggregation product
    #: runs on one core (~43 GFLOP/s, 0.9 of a tile's 4.5 ms at 20 graphs of 29 nodes, depth
    #: 2), so two threads keep both cores busy. 120 graphs of 20-29 nodes (2-core CPU, load ~0,
    #: best of 10): 1 thread 0.0130-0.0134 ms per pair, 2 threads 0.0116-0.0122, 3 the same as
    #: 2; with 2 threads the tile side 20 stayed best (12: 0.0150, 15: 0.0130, 24: 0.0164).
    tile_threads: ClassVar[int] = 2

    def pair_workspace_bytes(self, x1: GraphBatch, x2: GraphBatch, itemsize: int) -> int:
        """Temporary memory of :meth:`kernel_fn` per pair of graphs (engine tile planning).

        All node pairs of a tile are live at once: 12 scalars per node pair when the NTK is
        tracked (complex NNGP + i NTK arrays, the aggregation's intermediate and its
        transpose), 6 when only the NNGP is (``trainable="last"``). An upper bound of XLA's
        ``memory_analysis`` on CPU (measured 4-8 scalars per node pair, float64, depth 1-4,
        mlp_depth 1-3, 8-100 nodes); checked in the tests.
        """
        n1, n2 = np.shape(x1.features)[1], np.shape(x2.features)[1]
        per_node_pair = 6 if self.trainable == "last" else 12
        return (per_node_pair * n1 * n2 + 16 * (n1 + n2)) * itemsize

    def tile_order(self, x: GraphBatch) -> np.ndarray:
        """Graphs by node count (stable): each engine tile holds graphs of similar size."""
        return np.argsort(x.num_nodes, kind="stable")

    def trim_tile(self, x: GraphBatch) -> GraphBatch:
        """The tile padded only to its largest graph, rounded up to :data:`NODE_QUANTUM` nodes.

        Padded nodes are outside every neighbourhood and readout, so the kernels do not change;
        the work does (the node-pair recursion costs ``O(N^2 N')`` per pair of graphs: on 120
        graphs of 20-29 nodes sorted by size, tiles of 30 graphs need 22-29 nodes, not 29).
        Rounding bounds the number of distinct shapes, each compiled once per process: the
        sizes are the multiples of :data:`NODE_QUANTUM` at least one quantum below the batch's
        own padding, and that padding (20-29 nodes: 24 or 29). Measured on 120 graphs of 20-29
        nodes (CPU time, loaded 2-core machine): 0.027 against 0.030 ms per pair, 1.1x; with
        every tile at its exact maximum 0.024 ms but ten shapes to compile (32 s first call).
        The per-edge :class:`ntkx.GNN` keeps the given order (measured no faster sorted).
        """
        full = int(np.shape(x.features)[1])
        need = max(int(np.max(x.num_nodes, initial=1)), 1)
        keep = -(-need // NODE_QUANTUM) * NODE_QUANTUM
        if keep + NODE_QUANTUM > full:  # a size just below the full one: not worth a compile
            return x
        return GraphBatch(
            np.asarray(x.features)[:, :keep],
            np.asarray(x.adjacency)[:, :keep, :keep],
            np.asarray(x.mask)[:, :keep],
        )

    def trainable_layers(self, params: Params | None = None) -> tuple[int, ...]:
        """Indices of the trained dense layers (the output layers come after the MLPs)."""
        outputs = tuple(self.num_dense + i for i in range(len(self.readout_layers)))
        if self.trainable == "first":
            return (0,)
        if self.trainable == "last":
            return outputs
        return tuple(range(self.num_dense)) + outputs

    def partition(self, params: Params) -> tuple[Params, Params]:
        return partition_layers(list(params), self.trainable_layers())


def gin(
    depth: int = 2,
    mlp_depth: int = 2,
    aggregation: str = "sum",
    readout: str = "sum",
    width: int = 512,
    W_std: float = 1.0,
    b_std: float | None = None,
    parameterization: str = "ntk",
    trainable: str = "all",
    *,
    self_loops: bool = True,
    neighbor_scale: str = "uniform",
    jumping_knowledge: bool = False,
    out_dim: int = 1,
) -> GIN:
    """Build a :class:`GIN` specification (validated; ValueError naming the bad argument).

    Du et al.'s GNTK settings: ``gin(depth, mlp_depth, W_std=2 ** 0.5,
    neighbor_scale="uniform" or "degree", jumping_knowledge=True or False)`` (their
    ``num_layers = depth + 1``); see the module docstring for the constant ``1 / F``.

    Example:
        >>> from ntkx.graphs.gin import gin
        >>> gin(readout="max").kernel_methods
        ('monte_carlo', 'empirical')
    """
    return GIN(
        depth=depth,
        mlp_depth=mlp_depth,
        aggregation=aggregation,
        readout=readout,
        width=width,
        W_std=W_std,
        b_std=b_std,
        parameterization=parameterization,
        trainable=trainable,
        self_loops=self_loops,
        neighbor_scale=neighbor_scale,
        jumping_knowledge=jumping_knowledge,
        out_dim=out_dim,
    )


# --------------------------------------------------------------------------- shared pieces


def _neighbourhoods(spec: GIN, adj: Array, m: Array) -> Array:
    """0/1 ``(..., N, N)``: ``v`` in the aggregated neighbourhood of ``u`` (real nodes only)."""
    pair = m[..., :, None] * m[..., None, :]
    nbr = (adj > 0).astype(m.dtype) * pair
    if spec.self_loops:
        eye = jnp.eye(m.shape[-1], dtype=m.dtype).reshape((1,) * (pair.ndim - 2) + pair.shape[-2:])
        nbr = jnp.maximum(nbr, eye * pair)
    return nbr


def _pattern(spec: GIN, nbr: Array) -> Array:
    """The aggregation matrix ``P`` of sum/mean aggregation (``c_uv`` on the neighbourhood)."""
    if spec.aggregation == "mean" or spec.neighbor_scale == "degree":
        return nbr / jnp.maximum(jnp.sum(nbr, axis=-1, keepdims=True), 1.0)
    return nbr


def _readout_weights(spec: GIN, m: Array) -> Array:
    if spec.readout == "mean":
        return m / jnp.maximum(jnp.sum(m, axis=-1, keepdims=True), 1.0)
    return m


# --------------------------------------------------------------------------- finite network


def _reduce(values: Array, keep: Array, how: str, axis: int) -> Array:
    """Sum/mean/max/min of ``values`` over ``axis`` restricted to ``keep`` (0 if none kept)."""
    k = keep.astype(values.dtype)
    count = jnp.sum(k, axis=axis)
    if how in ("sum", "mean"):
        total = jnp.sum(values * k, axis=axis)
        return total if how == "sum" else total / jnp.maximum(count, 1.0)
    fill = -jnp.inf if how == "max" else jnp.inf
    picked = jnp.where(keep > 0, values, fill)
    red = jnp.max(picked, axis=axis) if how == "max" else jnp.min(picked, axis=axis)
    return jnp.where(count > 0, red, 0.0)


def _dense(spec: GIN, layer: tuple[Array, Array | None], x: Array) -> Array:
    w, b = layer
    y = x @ w
    if spec.parameterization == "ntk":
        y = y * (spec.W_std / math.sqrt(w.shape[0]))
    if b is None:
        return y
    b = b.reshape((1,) * (y.ndim - 1) + b.shape)
    return y + (spec.b_std * b if spec.parameterization == "ntk" else b)


def _apply(spec: GIN, params: Params, x: GraphBatch) -> Array:
    feats, adj, mask = (jnp.asarray(v) for v in x.astuple())
    dtype = feats.dtype
    m = mask.astype(dtype)
    if len(params) != spec.num_dense + len(spec.readout_layers):
        raise ValueError(
            f"params has {len(params)} layers; expected {spec.num_dense} MLP layers and "
            f"{len(spec.readout_layers)} output layer(s) (use net.init(key, input_dim))."
        )
    if params[0][0].shape[0] != feats.shape[-1]:
        raise ValueError(
            f"params layer 0 has {params[0][0].shape[0]} input rows; expected "
            f"{feats.shape[-1]} for node features of size {feats.shape[-1]} "
            "(use net.init(key, input_dim) with the batch's feature size)."
        )
    nbr = _neighbourhoods(spec, adj.astype(dtype), m)
    h = feats * m[..., None]
    pooled = []
    if spec.jumping_knowledge:
        pooled.append(_reduce(h, m[..., None], spec.readout, axis=1))
    for step in range(spec.depth):
        if spec.aggregation in CLOSED_FORM:
            a = _pattern(spec, nbr) @ h
        else:
            a = _reduce(h[:, None, :, :], nbr[..., None], spec.aggregation, axis=2)
        for r in range(spec.mlp_depth):
            a = jax.nn.relu(_dense(spec, params[step * spec.mlp_depth + r], a))
        h = a * m[..., None]  # padded nodes hold relu(bias) otherwise; keep them at zero
        if spec.jumping_knowledge or step == spec.depth - 1:
            pooled.append(_reduce(h, m[..., None], spec.readout, axis=1))
    outputs = [_dense(spec, params[spec.num_dense + i], g) for i, g in enumerate(pooled)]
    return sum(outputs[1:], outputs[0])


# --------------------------------------------------------------------------- closed form


@dataclasses.dataclass(frozen=True)
class _GraphArrays:
    """Per-graph arrays of one block: ``P (B, N, N)``, ``P X (B, N, F)``, readout ``r (B, N)``,
    ``r^T X (B, F)``."""

    p: Array
    px: Array
    r: Array
    rx: Array


def _graph_arrays(spec: GIN, feats: Array, adj: Array, mask: Array) -> _GraphArrays:
    m = mask.astype(feats.dtype)
    x = feats * m[..., None]
    p = _pattern(spec, _neighbourhoods(spec, adj.astype(feats.dtype), m))
    r = _readout_weights(spec, m)
    return _GraphArrays(p, p @ x, r, jnp.einsum("bn,bnf->bf", r, x))


def _roots(q: Array) -> tuple[Array, Array]:
    """``(sqrt(q), 1 / sqrt(q))`` with ``0`` for the inverse where ``q = 0``."""
    s = jnp.sqrt(q)
    return s, jnp.where(s > 0, 1.0 / jnp.where(s > 0, s, 1.0), 0.0)


def _self_variances(spec: GIN, p: Array, px: Array) -> Array:
    """Variances ``K_GG(u, u)`` before each ReLU, ``(depth * mlp_depth, N)``, for one graph."""
    w2 = spec.W_std**2
    b2 = 0.0 if spec.b_std is None else spec.b_std**2
    sigma = px @ px.T / px.shape[-1]
    out = []
    for step in range(spec.depth):
        if step > 0:
            sigma = p @ sigma @ p.T
        for _ in range(spec.mlp_depth):
            k = w2 * sigma + b2
            q = jnp.diagonal(k)
            out.append(q)
            s, r = _roots(q)
            j1, _ = _angle_maps(k * r[:, None] * r[None, :])
            sigma = s[:, None] * s[None, :] * j1
    return jnp.stack(out)


def _cross_kernels(
    spec: GIN, g1: _GraphArrays, g2: _GraphArrays, v1: Array, v2: Array
) -> tuple[Array, Array]:
    """``(ntk, nngp)``, ``(B1, B2)``, for all pairs of graphs of two blocks.

    Works on *normalized* node-pair kernels: before each ReLU the cosine
    ``C = K / sqrt(q q')`` and ``T / sqrt(q q')``, after it ``Sigma / sqrt(q q')`` and
    ``Theta / sqrt(q q')`` (``q, q'`` the variances of that pre-activation). The per-node
    factors ``1 / sqrt(q)`` and ``sqrt(q)`` are folded into the aggregation matrices and the
    readout weights, so the elementwise maps need no broadcasts (without biases consecutive
    variances of an MLP differ by the constant factor ``W_std^2 / 2``). Node pairs of all pairs
    of graphs live in one array (:class:`_Pairs`).

    Performance notes (XLA on CPU, measured): the NNGP and NTK travel as one complex array
    ``Sigma + i Theta``, so that each angle is computed once (XLA fuses an elementwise chain
    into every consumer: two real arrays cost twice the angles); the MLP layers of a step run
    in a ``lax.scan`` so that each layer's result is stored (one long fused chain of layers ran
    1.5-2x slower per layer).
    """
    w2 = spec.W_std**2
    b2 = 0.0 if spec.b_std is None else spec.b_std**2
    trained = set(spec.trainable_layers())
    has_theta = spec.trainable != "last"
    n_feat = g1.px.shape[-1]
    s1, r1 = _roots(jnp.swapaxes(v1, 0, 1))  # (stages, B1, N1)
    s2, r2 = _roots(jnp.swapaxes(v2, 0, 1))
    (b1, n1, _), (b2_, n2, _) = g1.px.shape, g2.px.shape
    ntk = nngp = 0.0

    def output(s: Array, t: Array | None, which: int) -> tuple[Array, Array]:
        k = w2 * s + b2
        own = k if spec.num_dense + which in trained else 0.0
        return (own if t is None else own + w2 * t), k

    which = 0
    if spec.jumping_knowledge:  # h^(0) = x: Sigma^(0) = X X'^T / F, Theta^(0) = 0
        s0 = jnp.einsum("af,bf->ab", g1.rx, g2.rx) / n_feat
        t_out, k_out = output(s0, None, which)
        ntk, nngp, which = ntk + t_out, nngp + k_out, which + 1

    layout = _Pairs(a_major=True)
    z: Array = jnp.zeros(())
    for step in range(spec.depth):
        first = step * spec.mlp_depth
        stages = range(first, first + spec.mlp_depth)
        if step == 0:
            # (P X)(P' X')^T / F, normalized: one (B1 N1, B2 N2) matrix product; Theta = 0.
            a = (g1.px * r1[0][..., None]).reshape(b1 * n1, n_feat)
            b = (g2.px * r2[0][..., None]).reshape(b2_ * n2, n_feat)
            z = (a @ b.T).reshape(b1, n1, b2_, n2) / n_feat
            if has_theta:
                z = jax.lax.complex(z, jnp.zeros_like(z))
        else:
            p1 = r1[first][:, :, None] * g1.p * s1[first - 1][:, None, :]
            p2 = r2[first][:, :, None] * g2.p * s2[first - 1][:, None, :]
            z = layout.aggregate(z, p1, p2)
            layout = layout.flipped()
        # Per MLP layer: C = alpha * S + beta, T = alpha * T_in + own * C, then the ReLU maps.
        own = jnp.asarray([float(i in trained) for i in stages], dtype=g1.px.dtype)
        if b2:  # alpha = W_std^2 (s_prev / s) (x) (s'_prev / s'), 1 after an aggregation
            f1 = jnp.stack(
                [s1[i - 1] * r1[i] if i > first else jnp.ones_like(s1[0]) for i in stages]
            )
            f2 = jnp.stack(
                [s2[i - 1] * r2[i] if i > first else jnp.ones_like(s2[0]) for i in stages]
            )
            xs = (own, f1, f2, r1[first : stages.stop], r2[first : stages.stop])
        else:  # alpha = W_std^2 from an aggregation, then 2 (= W_std^2 q / q_next), beta = 0
            xs = (own, jnp.asarray([w2] + [2.0] * (spec.mlp_depth - 1), dtype=g1.px.dtype))

        def layer(z: Array, x: tuple[Array, ...], layout: _Pairs = layout) -> tuple[Array, None]:
            if b2:
                own_r, f1, f2, e1, e2 = x
                alpha = w2 * layout.rows(f1) * layout.cols(f2)
                beta = b2 * layout.rows(e1) * layout.cols(e2)
            else:
                own_r, alpha = x
                beta = 0.0
            c = alpha * (jnp.real(z) if has_theta else z) + beta
            j1, j0 = _angle_maps(c)
            if not has_theta:
                return j1, None
            t = alpha * jnp.imag(z) + own_r * c
            return jax.lax.complex(j1, j0 * t), None

        z, _ = jax.lax.scan(layer, z, xs)
        if spec.jumping_knowledge or step == spec.depth - 1:
            last = stages.stop - 1
            g = layout.readout(z, g1.r * s1[last], g2.r * s2[last])
            t_g = jnp.imag(g) if has_theta else None
            t_out, k_out = output(jnp.real(g), t_g, which)
            ntk, nngp, which = ntk + t_out, nngp + k_out, which + 1
    return jnp.broadcast_to(ntk, (b1, b2_)), jnp.broadcast_to(nngp, (b1, b2_))


@dataclasses.dataclass(frozen=True)
class _Pairs:
    """Layout of node-pair arrays of all pairs of graphs of two blocks.

    ``a_major``: ``(B1, N1, B2, N2)``; otherwise ``(B2, N2, B1, N1)`` (each pair's node-pair
    matrix transposed). Either way the leading graph axis is the *major* side, and the left
    product ``P[a] Z[a]`` of that side is a batched product of ``(N, N) @ (N, B' N')``
    matrices, with no transpose of ``Z``.
    """

    a_major: bool

    def flipped(self) -> _Pairs:
        return _Pairs(not self.a_major)

    def rows(self, v: Array) -> Array:
        """A ``(B1, N1)`` array broadcast against node-pair arrays."""
        return v[:, :, None, None] if self.a_major else v[None, None, :, :]

    def cols(self, v: Array) -> Array:
        """A ``(B2, N2)`` array broadcast against node-pair arrays."""
        return v[None, None, :, :] if self.a_major else v[:, :, None, None]

    def readout(self, z: Array, w1: Array, w2: Array) -> Array:
        """``w1[a]^T Z[a, b] w2[b]``, ``(B1, B2)``: the contraction with the major side's
        weights as a batched product (no transpose of ``Z``), then a small weighted sum."""
        major, minor = (w1, w2) if self.a_major else (w2, w1)
        major, minor = major.astype(z.dtype), minor.astype(z.dtype)
        left = jnp.einsum("xn,xnym->xym", major, z)
        out = jnp.sum(left * minor[None, :, :], axis=-1)
        return out if self.a_major else out.T

    def aggregate(self, z: Array, p1: Array, p2: Array) -> Array:
        """``P1[a] Z[a, b] P2[b]^T`` in the *other* layout (``Z`` real, or complex
        ``Sigma + i Theta``: both parts aggregated).

        The major side's left product, one transpose that makes the other side major, and
        its left product. A complex ``Z`` is aggregated as one real array with a trailing axis
        of 2 (Sigma and Theta of a node pair side by side): one product of twice the width
        instead of two, one transpose instead of two (measured, 2-core CPU, float64, the
        aggregation alone on 20 x 20 graphs of 29 nodes: 2.4-2.9 ms against 3.6-3.8 ms for
        the two parts each aggregated with a right product; the whole depth-2 kernel of that
        tile 4.7-6.9 ms against 5.2-7.7 ms, 1.1x, same runs interleaved at load 2.3-2.6).
        """
        major, minor = (p1, p2) if self.a_major else (p2, p1)
        if jnp.iscomplexobj(z):
            s = jnp.stack([jnp.real(z), jnp.imag(z)], axis=-1)
            s = jnp.einsum("xnv,xvymc->xnymc", major, s)
            s = jnp.transpose(s, (2, 3, 0, 1, 4))
            s = jnp.einsum("ymw,ywxnc->ymxnc", minor, s)
            return jax.lax.complex(s[..., 0], s[..., 1])
        z = jnp.einsum("xnv,xvym->xnym", major, z)
        z = jnp.transpose(z, (2, 3, 0, 1))
        return jnp.einsum("ymw,ywxn->ymxn", minor, z)
