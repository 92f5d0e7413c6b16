r"""Graph neural networks: one spec, a finite network and its infinite-width kernels.

:class:`GNN` (built by :func:`gnn`) is the message-passing network of Xu et al.,
How Neural Networks Extrapolate, ICLR 2021 (arXiv 2009.11848, Section 4). With node
representations :math:`h^{(0)}_u = x_u` and :math:`\ell = 1..L`:

.. math::
    h^{(\ell)}_u = \operatorname{AGG}_{v \in N(u)} \operatorname{MLP}_\ell
        \big([h^{(\ell-1)}_u, h^{(\ell-1)}_v, w_{uv}]\big), \qquad
    f(G) = W_{\text{out}} \operatorname{READOUT}_u h^{(L)}_u + b_{\text{out}},

AGG and READOUT each in {sum, mean, max, min} over real nodes only. Every
:math:`\operatorname{MLP}_\ell` is Dense(width) -> ReLU -> Dense(width): by default no ReLU
after its output layer. ``message_relu=True`` adds one, :math:`\operatorname{MLP}_\ell(\cdot)
= \operatorname{relu}(W_2 \operatorname{relu}(z) + b_2)`, as the paper's official code does
(its graph MLPs end in a ReLU); such a spec has no closed-form kernel here (the extra
arc-cosine map is not implemented), only Monte Carlo and empirical kernels.

**Parameterization.** NTK parameterization (neural-tangents conventions, ``W``, ``b``
standard normal). The first dense layer of each message MLP acts on the concatenation
``[h_u, h_v, w_uv]`` with *each group normalized by its own size* and the groups averaged:

.. math::
    z_{uv} = \frac{\sigma_w}{\sqrt{g}} \Big( \frac{W_a h_u}{\sqrt{d}} + \frac{W_b h_v}{\sqrt{d}}
        + W_c\, w_{uv} \Big) + \sigma_b b,

``g = 3`` with edge weights, else ``2`` (the weight group is dropped). This is a dense layer on
``[h_u, h_v, w_uv]`` written as the sum of its blocks (``W_a``, ``W_b``, ``W_c``); a plain
``1/sqrt(2d + 1)`` normalization would make the single edge-weight channel vanish as the
width ``d`` grows, so the infinitely wide network could not see edge weights after layer 1.

**Kernels.** For sum or mean aggregation *and* readout the NNGP and NTK have a closed form
(the graph NTK recursion of Du et al., NeurIPS 2019, arXiv 1905.13192, for messages computed
per edge): with :math:`\Sigma, \Theta` the node-level kernels between graphs G and G',
:math:`K_z` the kernel of the edge pre-activations, :math:`\kappa_1, \kappa_0` the arc-cosine
kernels of ReLU and :math:`P` the aggregation pattern (adjacency, row-normalized for mean),

.. math::
    K_z(uv, u'v') &= \tfrac{\sigma_w^2}{g}\big(\Sigma(u, u') + \Sigma(v, v') + w_{uv} w'_{u'v'}\big)
        + \sigma_b^2, \quad
    T_z = \tfrac{\sigma_w^2}{g}\big(\Theta(u, u') + \Theta(v, v')\big) + K_z, \\
    K_m &= \sigma_w^2 \kappa_1(K_z) + \sigma_b^2, \quad
    T_m = K_m + \sigma_w^2\, T_z\, \kappa_0(K_z), \\
    \Sigma^{+}(u, u') &= \textstyle\sum_{v, v'} P_{uv} P'_{u'v'} K_m(uv, u'v'), \quad
    \Theta^{+}(u, u') = \textstyle\sum_{v, v'} P_{uv} P'_{u'v'} T_m(uv, u'v').

The readout sums (or averages) over node pairs and the output layer adds
:math:`\sigma_w^2 \Sigma_G + \sigma_b^2` (to the NTK as well). Each pair of graphs costs
:math:`O(E E')` per layer (edge-pair covariances are needed because the ReLU acts on each
message before aggregation): the recursion runs over edge lists of whole blocks of graphs at
once, NNGP and NTK in one pass, only the pairs ``i <= j`` of a block with itself, at 2-4 ns per
edge pair per layer on 2 CPU cores (31 ms per pair of 100-node Erdős–Rényi graphs with
p = 0.3; ``benchmarks/bench_graph_kernels.py``). Cosines within ``COS_SNAP_EPS`` float64
epsilons of 1 are taken as 1, as in :mod:`ntkx.graphs.gin`: there the angle is not determined
by the float inputs, and without the snap an edge of a graph and the same edge of an
isomorphic copy (whose variances were summed in another order) differ by ~sqrt(eps), which
gave duplicate graphs a spurious kernel eigenvalue and a ridge-free fit 2% off its training
labels. The Monte Carlo estimate (``method="monte_carlo"``) scales like the finite network.
neural-tangents' ``stax.Aggregate`` computes :math:`\sum_v P_{uv} h_v` on node features, i.e. the
aggregate-then-MLP network of Du et al.; it has no rule for per-edge messages, so the recursion
above is written out (and tested against stax on each edge and against Monte Carlo).

For max or min aggregation or readout there is no closed form: use
``ntkx.kernel(net, x, method="monte_carlo", key=...)`` (mean over finite networks with its
standard error) and :func:`ntkx.monte_carlo_convergence`.

Example:
    >>> import jax
    >>> import ntkx
    >>> from ntkx.graphs.sampling import max_degree_dataset
    >>> data = max_degree_dataset(3, "general", 5, 7, seed=0)
    >>> net = ntkx.gnn(depth=1, aggregation="sum", readout="sum", width=16)
    >>> ntkx.kernel(net, data.batch, dtype="float64").shape
    (3, 3)
    >>> net.apply(net.init(jax.random.key(0), 1), data.batch).shape
    (3, 1)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, ClassVar, Final, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, Float, PRNGKeyArray

from ntkx.core.arccos import COS_SNAP_EPS, arccos
from ntkx.core.protocol import (
    KernelPair,
    Params,
    check_key,
    checked_apply,
    partition_layers,
    validate_common_fields,
)
from ntkx.core.validation import check_bool, check_choice, check_positive_int
from ntkx.graphs.batch import GraphArchitecture, GraphBatch

__all__ = ["AGGREGATIONS", "GNN", "gnn"]

AGGREGATIONS: Final = ("sum", "mean", "max", "min")
CLOSED_FORM: Final = ("sum", "mean")


@dataclasses.dataclass(frozen=True, eq=True)
class GNN(GraphArchitecture):
    r"""A message-passing GNN, finite or infinitely wide (final class; see the module doc).

    The fields, names and defaults follow :class:`ntkx.MLP`:

    Attributes:
        depth: number of message-passing layers ``L``.
        aggregation: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"`` over neighbours.
        readout: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"`` over nodes.
        width: width of the message MLPs and of the node representations.
        W_std, b_std: weight and bias standard deviations (``b_std=None``: no biases).
        parameterization: ``"ntk"`` (default; parameters standard normal, the factors
            ``W_std / sqrt(fan_in)`` and ``b_std`` in the forward pass) or ``"standard"``
            (the factors folded into the parameters at initialization, as PyTorch's layers,
            the paper's code). Both give the same function at initialization; they differ in how
            gradient steps move it. Infinite-width kernels need ``"ntk"``.
        trainable: ``"all"``, ``"first"`` (the first dense layer of the first message MLP) or
            ``"last"`` (the readout layer only: the NTK equals the NNGP).
        edge_weights: feed ``w_uv`` (the adjacency value) to every message MLP.
        out_dim: number of outputs.
        message_relu: apply ReLU to each message MLP's output, ``relu(W_2 relu(z) + b_2)``,
            before aggregating (the official code of Xu et al. does; default False). Messages
            are then computed edge by edge for every aggregation, and there is no closed-form
            kernel (``has_closed_form`` is False; use ``method="monte_carlo"``).

    Parameters (``init``) are a list of dense layers ``(W, b)`` (``b`` is ``None`` without
    biases), as neural-tangents lays out an MLP: for each message-passing layer ``l`` the first
    dense layer at index ``2 l`` (``W`` of shape ``(2 d [+ 1], width)``, the rows acting on
    ``h_u``, ``h_v`` and ``w_uv``) and the second at ``2 l + 1``; the readout layer last.

    Inputs are :class:`ntkx.GraphBatch` es. The closed-form kernel exists for sum/mean
    aggregation and readout; every spec in NTK parameterization has Monte Carlo kernels.
    """

    depth: int = 2
    aggregation: str = "sum"
    readout: str = "sum"
    width: int = 512
    W_std: float = 1.0
    b_std: float | None = None
    parameterization: str = "ntk"
    trainable: str = "all"
    edge_weights: bool = False
    out_dim: int = 1
    message_relu: bool = False

    #: Two closed-form tiles at once (engine host threads, CPU only): 2-layer sum/sum kernel,
    #: float64, 2-core CPU, load ~0, best of 4 alternated calls, ms per pair with 1 / 2
    #: threads: 120 graphs of 20-29 nodes 0.316 / 0.246, 32 of 50 nodes 3.28 / 2.77, 12 of 100
    #: nodes 46.6 / 36.1 (1.18-1.29x).
    tile_threads: ClassVar[int] = 2

    def __post_init__(self) -> None:
        validate_common_fields(self)
        check_choice("aggregation", self.aggregation, AGGREGATIONS)
        check_choice("readout", self.readout, AGGREGATIONS)
        for name in ("edge_weights", "message_relu"):
            check_bool(name, getattr(self, name))
            object.__setattr__(self, name, bool(getattr(self, name)))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("GNN is final; compose it instead of subclassing.")

    @property
    def has_closed_form(self) -> bool:
        """True when aggregation and readout are both sum or mean and ``message_relu`` is off."""
        return (
            self.aggregation in CLOSED_FORM
            and self.readout in CLOSED_FORM
            and not self.message_relu
        )

    def why_not(self, method: str) -> str:
        if self.parameterization == "ntk" and self.message_relu:
            return (
                "message_relu=True has no closed-form kernel (the ReLU after the message MLP's "
                "output layer needs another arc-cosine map, not implemented); use "
                "method='monte_carlo'"
            )
        return super().why_not(method)

    # ------------------------------------------------------------------ protocol

    def init(self, key: PRNGKeyArray, input_dim: int) -> Params:
        """Parameters for node features of size ``input_dim``: ``2 depth + 1`` dense layers."""
        input_dim = check_positive_int("input_dim", input_dim)
        check_key("key", key)
        keys = jax.random.split(key, self.depth + 1)
        params: Params = []
        d, n = input_dim, self.width
        has_b = self.b_std is not None
        for i in range(self.depth):
            k = jax.random.split(keys[i], 6)
            blocks = [jax.random.normal(k[0], (d, n)), jax.random.normal(k[1], (d, n))]
            if self.edge_weights:
                blocks.append(jax.random.normal(k[3], (1, n)))
            b1 = jax.random.normal(k[4], (n,)) if has_b else None
            b2 = jax.random.normal(k[5], (n,)) if has_b else None
            params.append((jnp.concatenate(blocks), b1))
            params.append((jax.random.normal(k[2], (n, n)), b2))
            d = n
        k = jax.random.split(keys[-1], 2)
        b_out = jax.random.normal(k[1], (self.out_dim,)) if has_b else None
        params.append((jax.random.normal(k[0], (n, self.out_dim)), b_out))
        if self.parameterization == "standard":
            # The scale factors move from the forward pass into the parameters: the same
            # distribution of functions at initialization, a different gradient geometry.
            params = [
                (w * _row_scales(self, i, w.shape[0])[:, None], None if b is None else b * sb)
                for i, ((w, b), sb) in enumerate(zip(params, self._bias_scales(), strict=True))
            ]
        return params

    @checked_apply
    def apply(self, params: Params, x: GraphBatch) -> Float[Array, "B out"]:
        """Outputs ``(B, out_dim)`` of the finite network on a :class:`GraphBatch` (jit-able)."""
        return _apply(self, params, x)

    def kernel_fn(self, x1: GraphBatch, x2: GraphBatch) -> KernelPair:
        """Closed-form NTK and NNGP ``(B1, B2)`` between two graph batches (sum/mean only)."""
        if not self.has_closed_form or self.parameterization != "ntk":
            raise ValueError(f"this GNN has no closed-form kernel ({self.why_not('closed_form')}).")
        return _kernel_blocks(self, x1, x2)

    def pair_workspace_bytes(self, x1: GraphBatch, x2: GraphBatch, itemsize: int) -> int:
        """Temporary memory per pair of graphs while :meth:`kernel_fn` runs (tile planning).

        A tile of ``b1 x b2`` graphs padded to ``N`` nodes holds about ten ``(b1 N, b2 N)``
        node-kernel matrices, the edge lists of both blocks (about 25 ``N^2`` words per graph)
        and a fixed ~3 MB of edge-pair blocks. XLA's buffer assignment
        (``compile().memory_analysis()``) measured 11-19 ``N^2`` words per pair in float64 and
        15-22 in float32 (whose edge indices stay 4 bytes) for ``N`` = 29-100 and 4-40 graphs per
        side; this figure, ``20 N^2`` words plus the fixed part spread over 16 pairs, bounds
        every tile of at least 4 x 4 graphs.
        """
        n = max(np.shape(x1.features)[1], np.shape(x2.features)[1])
        return itemsize * (20 * n * n + _ROWS * _COLS)

    def trainable_layers(self, params: Params | None = None) -> tuple[int, ...]:
        """Indices of the trained dense layers (``2 depth`` is the readout)."""
        if self.trainable == "first":
            return (0,)
        if self.trainable == "last":
            return (2 * self.depth,)
        return tuple(range(2 * self.depth + 1))

    def partition(self, params: Params) -> tuple[Params, Params]:
        return partition_layers(list(params), self.trainable_layers())

    # ------------------------------------------------------------------ scales

    def _bias_scales(self) -> list[float]:
        b = 0.0 if self.b_std is None else self.b_std
        return [b] * (2 * self.depth + 1)


def gnn(
    depth: int = 2,
    aggregation: str = "sum",
    readout: str = "sum",
    width: int = 512,
    W_std: float = 1.0,
    b_std: float | None = None,
    parameterization: str = "ntk",
    trainable: str = "all",
    *,
    edge_weights: bool = False,
    out_dim: int = 1,
    message_relu: bool = False,
) -> GNN:
    """Build a :class:`GNN` specification (validated; ValueError on bad settings).

    The arguments follow :func:`ntkx.mlp` (``depth`` counts message-passing layers).
    Paper settings: max degree ``gnn(2, "sum", "max", 256, b_std=0.1)``; shortest path
    ``gnn(3, "min", "min", 256, b_std=0.1, edge_weights=True)``.

    Example:
        >>> import ntkx
        >>> ntkx.gnn(3, "min", "min", edge_weights=True).kernel_methods
        ('monte_carlo', 'empirical')
    """
    return GNN(
        depth=depth,
        aggregation=aggregation,
        readout=readout,
        width=width,
        W_std=W_std,
        b_std=b_std,
        parameterization=parameterization,
        trainable=trainable,
        edge_weights=edge_weights,
        out_dim=out_dim,
        message_relu=message_relu,
    )


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


def _row_scales(spec: GNN, index: int, rows: int) -> np.ndarray:
    """NTK-parameterization factor of every input row of dense layer ``index``.

    First dense layer of a message MLP: ``W_std / sqrt(g) / sqrt(d)`` on the rows of ``h_u``
    and ``h_v``, ``W_std / sqrt(g)`` on the edge-weight row (``g`` groups); other layers
    ``W_std / sqrt(fan_in)``.
    """
    if index < 2 * spec.depth and index % 2 == 0:
        c = spec.W_std / math.sqrt(3 if spec.edge_weights else 2)
        d = (rows - 1) // 2 if spec.edge_weights else rows // 2
        scales = np.full(rows, c / math.sqrt(d))
        if spec.edge_weights:
            scales[-1] = c
        return scales
    return np.full(rows, spec.W_std / math.sqrt(rows))


#: Max/min aggregation (any aggregation with ``message_relu``) computes messages on an edge
#: list of this many slots per ``B N^2`` node pairs of a batch (``B`` graphs padded to ``N``
#: nodes) when the batch's edges fit, else on every node pair (a static capacity keeps the
#: shapes fixed under ``jax.jit``).
EDGE_SLOTS: Final = 0.5


def _apply(spec: GNN, params: Params, x: GraphBatch) -> Array:
    feats, adj, mask = (jnp.asarray(v) for v in x.astuple())
    dtype = feats.dtype
    m = mask.astype(dtype)
    pair = m[:, :, None] * m[:, None, :]
    adj = adj.astype(dtype) * pair  # padding never sends or receives messages
    h = feats * m[:, :, None]
    if spec.aggregation in CLOSED_FORM and not spec.message_relu:
        h = _message_passing(spec, params, h, adj, edges=False)
    else:
        # Max/min (and an output ReLU) do not commute with the message MLP's second dense
        # layer, so every message goes through it: O(pairs width^2). On the B N^2 node pairs
        # (dense) most of that work is on non-edges; on an edge list it is O(E width^2). Same
        # numbers up to float rounding (the matmuls see other row counts); the dense form runs
        # when the edges overflow the list's static capacity.
        b, n, _ = adj.shape
        cap = max(1, math.ceil(EDGE_SLOTS * b * n * n))
        fits = jnp.sum(adj > 0) <= cap
        h = lax.cond(
            fits,
            functools.partial(_message_passing, spec, params, edges=cap),
            functools.partial(_message_passing, spec, params, edges=False),
            h,
            adj,
        )
    pooled = _reduce(h, m[..., None], spec.readout, axis=1)
    ntk_param = spec.parameterization == "ntk"
    b_scale = 0.0 if spec.b_std is None else spec.b_std
    w, b = params[-1]
    y = pooled @ w * (spec.W_std / math.sqrt(w.shape[0]) if ntk_param else 1.0)
    if b is not None:
        y = y + (b_scale if ntk_param else 1.0) * b[None, :]
    return y


def _message_passing(spec: GNN, params: Params, h: Array, adj: Array, edges: int | bool) -> Array:
    """The ``depth`` message-passing layers on node states ``h`` (B, N, d) (zero on padding)
    and the masked weighted adjacency ``adj`` (B, N, N); ``edges``: the capacity of the edge
    list (messages on edges only; every edge must fit) or False (every node pair)."""
    dtype = h.dtype
    a = (adj > 0).astype(dtype)
    b, n, d = h.shape
    if edges:
        # Directed edges (graph g, u -> v) in row-major order, so sorted by the receiving node
        # g N + u; empty slots go to the extra segment b N, which is dropped.
        flat = a.reshape(-1) > 0
        (idx,) = jnp.nonzero(flat, size=edges, fill_value=b * n * n)
        real = idx < b * n * n
        src = jnp.where(real, idx // n, b * n)  # receiver g N + u (segment id)
        recv = jnp.minimum(src, b * n - 1)
        send = jnp.where(real, (idx // (n * n)) * n + idx % n, 0)  # sender g N + v
        w_e = jnp.where(real, adj.reshape(-1)[jnp.minimum(idx, b * n * n - 1)], 0.0)
        segment = {"min": jax.ops.segment_min, "max": jax.ops.segment_max}.get(
            spec.aggregation, jax.ops.segment_sum
        )
        deg = jnp.sum(a, axis=-1).reshape(b * n, 1)
        has = deg > 0
    ntk_param = spec.parameterization == "ntk"
    b_scale = 0.0 if spec.b_std is None else spec.b_std
    for i in range(spec.depth):
        (w1, b1), (w2, b2) = params[2 * i], params[2 * i + 1]
        if w1.shape[0] != (2 * d + 1 if spec.edge_weights else 2 * d):
            raise ValueError(
                f"params layer {2 * i} has {w1.shape[0]} input rows; expected "
                f"{2 * d + int(spec.edge_weights)} for node features of size {d} "
                "(use net.init(key, input_dim) with the batch's feature size)."
            )
        sc = _row_scales(spec, 2 * i, w1.shape[0]) if ntk_param else np.ones(w1.shape[0])
        s_self, s_nbr = (float(sc[0]), float(sc[d])) if ntk_param else (1.0, 1.0)
        hs = h @ w1[:d] * s_self
        hn = h @ w1[d : 2 * d] * s_nbr
        s2 = spec.W_std / math.sqrt(w2.shape[0]) if ntk_param else 1.0
        bs = b_scale if ntk_param else 1.0
        if edges:
            z = hs.reshape(b * n, -1)[recv] + hn.reshape(b * n, -1)[send]
            if spec.edge_weights:
                z = z + w_e[:, None] * (float(sc[-1]) * w1[2 * d])[None, :]
            if b1 is not None:
                z = z + (b_scale if ntk_param else 1.0) * b1[None, :]
            msg = jax.nn.relu(z) @ w2 * s2
            if b2 is not None:
                msg = msg + bs * b2[None, :]
            if spec.message_relu:
                msg = jax.nn.relu(msg)
            red = segment(msg, src, num_segments=b * n + 1, indices_are_sorted=True)[: b * n]
            if spec.aggregation == "mean":
                red = red / jnp.maximum(deg, 1.0)
            h = jnp.where(has, red, 0.0).reshape(b, n, -1)
            d = w2.shape[1]
            continue
        z = hs[:, :, None, :] + hn[:, None, :, :]
        if spec.edge_weights:
            z = z + adj[..., None] * (float(sc[-1]) * w1[2 * d])[None, None, None, :]
        if b1 is not None:
            z = z + (b_scale if ntk_param else 1.0) * b1[None, None, None, :]
        r = jax.nn.relu(z)
        if spec.aggregation in CLOSED_FORM and not spec.message_relu:
            # Dense(W2) is linear, so it commutes with the sum: apply it after aggregating.
            s = jnp.einsum("buv,buvk->buk", a, r) @ w2 * s2
            deg = jnp.sum(a, axis=-1)[..., None]
            if b2 is not None:
                s = s + deg * (bs * b2)[None, None, :]
            h = s / jnp.maximum(deg, 1.0) if spec.aggregation == "mean" else s
        else:
            msg = r @ w2 * s2
            if b2 is not None:
                msg = msg + bs * b2[None, None, None, :]
            if spec.message_relu:
                msg = jax.nn.relu(msg)
            h = _reduce(msg, a[..., None], spec.aggregation, axis=2)
        d = w2.shape[1]
    return h


# --------------------------------------------------------------------------- closed form
#
# Edge-list form of the recursion, one block of graphs at a time. A block of B graphs padded
# to N nodes is one graph of B N nodes (their disjoint union): the node kernels of every pair of
# graphs in two blocks form one (B1 N, B2 N) matrix, and a layer of the recursion for all the
# pairs is one pass over the pairs of edges of the two unions, with no edge pair between padded
# nodes and no padding per pair. The edges are listed in row-major order (sorted by source),
# real edges first, in arrays of a static capacity, and visited in blocks of _ROWS x _COLS
# edges with dynamic trip counts (lax.fori_loop up to the real edge counts).
#
# K_z(uv, u'v') = K_z(vu, v'u') (and so are T_z and the variances), so the directed edge pairs
# come in twos with equal message kernels: the ReLU maps are evaluated once per (edge uv of G
# with u <= v, directed edge u'v' of G') and the result is added into both (u, u') and (v, v').
#
# Summation order: each node pair (u, u') accumulates its edge pairs in edge order (scatter-adds
# in index order, rows before columns), whatever the block boundaries; so a graph's self-kernel
# computed alone equals, bit for bit, its entry in a kernel with itself, an edge paired with
# itself meets a cosine of exactly 1, and the self-kernel entries of the NTK are exact (an
# error eps in that cosine costs sqrt(eps) in arccos).

#: Cosines at least ``1 - _SNAP`` are taken as 1 (the snap of :mod:`ntkx.graphs.gin`).
_SNAP: Final = COS_SNAP_EPS * float(np.finfo(np.float64).eps)

_ROWS: Final = 256  # edges of the first union per block (one direction of each edge)
_COLS: Final = 128  # directed edges of the second union per block


class _Edges(NamedTuple):
    """Directed edges ``uv`` of a union of graphs, sorted by ``u``; padding past ``count``."""

    src: Array  # (cap,) int32 u (node index in the union)
    dst: Array  # (cap,) int32 v
    w: Array  # (cap,) edge weight w_uv (0 on padding)
    into_src: Array  # (cap,) int32 where the (u, u') term goes: u, or the spare row on padding
    into_dst: Array  # (cap,) int32 where the (v, v') term goes: v, or the spare row on padding
    #                  (and on the loops of half lists, whose pairs are all listed already)
    graph: Array  # (cap,) int32 graph of each edge (the last graph on padding)
    start: Array  # (B + 1,) int32: graph b has the edges start[b] .. start[b + 1] - 1
    count: Array  # () int32 number of real edges


class _Union(NamedTuple):
    """A block of graphs as one graph of ``B N`` nodes."""

    x: Array  # (B N, F) features, zero on padded nodes
    r: Array  # (B, N) readout weights
    scale: Array  # (B N,) aggregation weight of every neighbour: 1 (sum) or 1 / degree (mean)
    half: _Edges  # one direction of each edge (u <= v)
    full: _Edges  # both directions


def _edge_list(a: Array, w: Array, loops: bool) -> _Edges:
    """Edges of the patterns ``a`` (B, N, N), row-major; ``loops``: pair loops' reverses."""
    b, n, _ = a.shape
    block = max(_ROWS, _COLS)
    cap = -(-b * n * n // block) * block
    flat = a.reshape(-1)
    count = jnp.sum(flat, dtype=jnp.int32)
    # Padding points at the last node of the last graph, which keeps the sources sorted.
    (idx,) = jnp.nonzero(flat, size=cap, fill_value=b * n * n - 1)
    g, u, v = idx // (n * n), (idx // n) % n, idx % n
    real = jnp.arange(cap) < count
    src, dst = (g * n + u).astype(jnp.int32), (g * n + v).astype(jnp.int32)
    spare = b * n
    per_graph = jnp.sum(a, axis=(1, 2), dtype=jnp.int32)
    return _Edges(
        src=src,
        dst=dst,
        w=jnp.where(real, w[g, u, v], 0.0),
        into_src=jnp.where(real, src, spare),
        into_dst=jnp.where(real if loops else real & (u != v), dst, spare),
        graph=g.astype(jnp.int32),
        start=jnp.concatenate([jnp.zeros(1, jnp.int32), jnp.cumsum(per_graph, dtype=jnp.int32)]),
        count=count,
    )


def _union(spec: GNN, feats: Array, adj: Array, mask: Array) -> _Union:
    """Edge lists, masked features and readout weights of a block of graphs."""
    b, n, f = feats.shape
    m = mask.astype(feats.dtype)
    w = adj * (m[:, :, None] * m[:, None, :])
    a = w > 0
    if spec.aggregation == "mean":
        scale = 1.0 / jnp.maximum(jnp.sum(a, axis=2, dtype=feats.dtype), 1.0)
    else:
        scale = jnp.ones((b, n), feats.dtype)
    r = m if spec.readout == "sum" else m / jnp.sum(m, axis=1, keepdims=True)
    return _Union(
        x=(feats * m[:, :, None]).reshape(b * n, f),
        r=r,
        scale=scale.reshape(b * n),
        half=_edge_list(jnp.triu(a), w, loops=False),
        full=_edge_list(a, w, loops=True),
    )


def _pre_activation(spec: GNN, s_u: Array, s_v: Array, w1: Array, w2: Array) -> Array:
    """``K_z = c (Sigma(u, u') + Sigma(v, v') + w w') + b^2`` (one expression for the cross
    kernels and the variances, so that an edge with itself gives bitwise the same number)."""
    total = s_u + s_v
    if spec.edge_weights:
        total = total + w1 * w2
    k = spec.W_std**2 / (3 if spec.edge_weights else 2) * total
    return k if spec.b_std is None else k + spec.b_std**2


def _layer(
    spec: GNN,
    ua: _Union,
    ub: _Union,
    s: Array,
    t: Array,
    va: Array,
    vb: Array,
    own: tuple[bool | Array, bool],
    pairs: str | Array,
) -> tuple[Array, Array]:
    """One message-passing layer of the kernel recursion between two unions of graphs.

    ``s, t``: node NNGP / NTK ``(Na, Nb)``; ``va, vb``: node variances; ``own``: whether the
    layer's first dense layer (a bool, or a 0/1 scalar array) and second dense layer are
    trained; ``pairs``: which pairs of graphs (i, j) are computed: ``"diagonal"`` (i == j, for
    self-kernels of one union with itself) or a boolean array, True for ``i <= j`` (one union
    with itself), False for all. Entries of other pairs are partial; returns the next ``(s, t)``.
    """
    ga, gb = ua.half, ub.full
    n_a, n_b = s.shape
    rows, cols = _ROWS, _COLS
    cz = spec.W_std**2 / (3 if spec.edge_weights else 2)
    c1 = spec.W_std**2 / (2 * math.pi)
    b2 = 0.0 if spec.b_std is None else spec.b_std**2
    # NNGP and NTK terms travel as the real and imaginary parts of one complex array: one
    # loop then computes both from their shared terms (two float arrays cost 25% more).
    ctype = lax.complex(s[:1, :1], s[:1, :1]).dtype

    def edge_terms(e: _Edges, v: Array) -> tuple[Array, ...]:
        v_u, v_v = v[e.src], v[e.dst]
        q = _pre_activation(spec, v_u, v_v, e.w, e.w)
        ok = q > 0
        rsq = jnp.where(ok, lax.rsqrt(jnp.where(ok, q, 1.0)), 0.0)
        return v_u, v_v, rsq, jnp.sqrt(q)  # variances of u and v, 1 / sqrt(q), sqrt(q)

    va_u, va_v, ra, na = edge_terms(ga, va)
    vb_u, vb_v, rb, nb = edge_terms(gb, vb)

    def column_block(j: Array, carry: tuple[Array, Array]) -> tuple[Array, Array]:
        sl = functools.partial(lax.dynamic_slice_in_dim, start_index=j * cols, slice_size=cols)
        src_b, dst_b, w_b = sl(gb.src), sl(gb.dst), sl(gb.w)
        vb_u_c, vb_v_c, rb_c, nb_c = sl(vb_u)[None, :], sl(vb_v)[None, :], sl(rb), sl(nb)
        s_src, s_dst = s[:, src_b], s[:, dst_b]  # (Na, cols)
        t_src, t_dst = t[:, src_b], t[:, dst_b]
        # Rows of the graphs paired with this block's columns (graphs first .. last).
        first = gb.graph[j * cols]
        last = gb.graph[jnp.minimum((j + 1) * cols, gb.count) - 1]
        if isinstance(pairs, str):
            lo, hi = ga.start[first], ga.start[last + 1]
        else:
            lo, hi = 0, jnp.where(pairs, ga.start[last + 1], ga.count)

        def row_block(i: Array, acc: tuple[Array, Array]) -> tuple[Array, Array]:
            sl_a = functools.partial(
                lax.dynamic_slice_in_dim, start_index=i * rows, slice_size=rows
            )
            src_a, dst_a, w_a = sl_a(ga.src), sl_a(ga.dst), sl_a(ga.w)
            va_u_c, va_v_c, ra_c, na_c = (
                sl_a(va_u)[:, None],
                sl_a(va_v)[:, None],
                sl_a(ra),
                sl_a(na),
            )
            s_u, s_v = s_src[src_a], s_dst[dst_a]  # Sigma(u, u'), Sigma(v, v')
            kz = _pre_activation(spec, s_u, s_v, w_a[:, None], w_b[None, :])
            cos = kz * ra_c[:, None] * rb_c[None, :]
            # Two edges with the same variances, cross kernels and weights: the cosine is exactly
            # 1 (the product of reciprocal roots may miss it by an ulp, which arccos would turn
            # into an error of sqrt(ulp)). Compared on the inputs, not on computed numbers that
            # the compiler may round differently in different places.
            same = (s_u == va_u_c) & (s_u == vb_u_c) & (s_v == va_v_c) & (s_v == vb_v_c)
            if spec.edge_weights:
                same = same & (w_a[:, None] == w_b[None, :])
            # Cosines within COS_SNAP_EPS float64 epsilons of 1 are 1 as well: there the angle
            # is not determined by the float inputs, and the same edge of two isomorphic graphs
            # (variances summed in another order) must give the same kernel value as an edge
            # with itself, or a duplicate graph adds a spurious eigenvalue of ~sqrt(eps).
            cos = jnp.clip(jnp.where(same, 1.0, cos), -1.0, 1.0)
            cos = jnp.where(cos >= 1.0 - _SNAP, 1.0, cos)
            phi = arccos(-cos)  # pi - theta
            sin = jnp.sqrt((1.0 - cos) * (1.0 + cos))
            km = c1 * (na_c[:, None] * nb_c[None, :]) * (sin + phi * cos) + b2
            tz = cz * (t_src[src_a] + t_dst[dst_a])
            if own[0] is True:
                tz = tz + kz
            elif own[0] is not False:
                tz = tz + own[0] * kz
            tm = c1 * tz * phi
            if own[1]:
                tm = km + tm
            both = lax.complex(km, tm)
            to_u, to_v = acc
            to_u = to_u.at[sl_a(ga.into_src)].add(both, indices_are_sorted=True)
            to_v = to_v.at[sl_a(ga.into_dst)].add(both)
            return to_u, to_v

        zero = jnp.zeros((n_a + 1, cols), ctype)  # a spare row for padding
        to_u, to_v = lax.fori_loop(lo // rows, -(-hi // rows), row_block, (zero, zero))
        # Columns into their nodes, in edge order (u' for the first term, v' for the second).
        new_u, new_v = carry
        return (
            new_u.at[sl(gb.into_src)].add(to_u.T, indices_are_sorted=True),
            new_v.at[sl(gb.into_dst)].add(to_v.T),
        )

    zero = jnp.zeros((n_b + 1, n_a + 1), ctype)
    new_u, new_v = lax.fori_loop(0, -(-gb.count // cols), column_block, (zero, zero))
    total = (new_u + new_v)[:n_b, :n_a].T * (ua.scale[:, None] * ub.scale[None, :])
    return total.real, total.imag


def _layers(
    spec: GNN,
    ua: _Union,
    ub: _Union,
    count: int,
    pairs: str | Array,
    variances: tuple[Array, Array] | None,
    own_diagonal: Array | bool,
) -> tuple[Array, Array, Array]:
    """The first ``count`` layers of the recursion between two unions (one lax.scan).

    ``variances``: the node variances ``(depth, N)`` of each union; where ``own_diagonal`` is
    True (one union with itself) they are the diagonal of the kernel being computed instead.
    Returns the node NNGP and NTK and the variances entering each layer, ``(count + 1, Na)``.
    """
    s = ua.x @ ub.x.T / ua.x.shape[-1]
    t = jnp.zeros_like(s)
    every = spec.trainable == "all"
    # The first dense layer of each message MLP: trained in every layer, or only in the first.
    first = [every or (spec.trainable == "first" and layer == 0) for layer in range(count)]
    own0 = first[0] if len(set(first)) == 1 else None

    def variance(carry_s: Array, layer_v: Array) -> Array:
        if own_diagonal is True:
            return jnp.diagonal(carry_s)
        if own_diagonal is False:
            return layer_v
        return jnp.where(own_diagonal, jnp.diagonal(carry_s), layer_v)

    def step(
        carry: tuple[Array, Array], xs: tuple[Array, ...]
    ) -> tuple[tuple[Array, Array], Array]:
        s, t = carry
        va_l, vb_l, own0_l = xs
        va, vb = variance(s, va_l), variance(s, vb_l)
        own = (own0 if own0 is not None else own0_l, every)
        s, t = _layer(spec, ua, ub, s, t, va, vb, own, pairs)
        return (s, t), jnp.diagonal(s) if own_diagonal is True else jnp.zeros(0, s.dtype)

    if variances is None:
        variances = (jnp.zeros((count, 1), s.dtype),) * 2
    flags = jnp.asarray(first, s.dtype)
    (s, t), diagonals = lax.scan(step, (s, t), (variances[0][:count], variances[1][:count], flags))
    return s, t, diagonals


def _self_variances(spec: GNN, g: _Union) -> Array:
    """Node variances ``(depth, B N)`` entering each layer (from each graph's self-kernel).

    The same :func:`_layer` as the cross kernels: an edge paired with itself then meets ``K_z``
    equal to its variance bit for bit (cosine exactly 1).
    """
    x = g.x
    first = jnp.diagonal(x @ x.T / x.shape[-1])[None]
    if spec.depth == 1:
        return first
    _, _, diagonals = _layers(spec, g, g, spec.depth - 1, "diagonal", None, True)
    return jnp.concatenate([first, diagonals])


def _pad_nodes(x: GraphBatch, n: int) -> tuple[Array, Array, Array]:
    feats, adj, mask = (jnp.asarray(v) for v in x.astuple())
    extra = n - feats.shape[1]
    if extra:
        feats = jnp.pad(feats, ((0, 0), (0, extra), (0, 0)))
        adj = jnp.pad(adj, ((0, 0), (0, extra), (0, extra)))
        mask = jnp.pad(mask, ((0, 0), (0, extra)))
    return feats, adj, mask


def _kernel_blocks(spec: GNN, x1: GraphBatch, x2: GraphBatch) -> KernelPair:
    n = max(np.shape(x1.features)[1], np.shape(x2.features)[1])
    a1, a2 = _pad_nodes(x1, n), _pad_nodes(x2, n)
    b1, b2 = len(x1), len(x2)
    g1, g2 = _union(spec, *a1), _union(spec, *a2)

    def self_variances() -> tuple[Array, Array]:
        # One graph at a time: a block's diagonal pairs are few, its node arrays long.
        both = tuple(jnp.concatenate(pair) for pair in zip(a1, a2, strict=True))
        v = lax.map(lambda one: _self_variances(spec, _union(spec, *(a[None] for a in one))), both)
        v = jnp.moveaxis(v, 1, 0).reshape(spec.depth, -1)
        return v[:, : b1 * n], v[:, b1 * n :]

    square = all(u.shape == v.shape for u, v in zip(a1, a2, strict=True))
    if square:
        # The engine's diagonal tiles pass the same block twice: then only the pairs i <= j are
        # computed, and the variances are the diagonal of the kernel itself.
        same = jnp.all(jnp.stack([jnp.all(u == v) for u, v in zip(a1, a2, strict=True)]))
        zeros = jnp.zeros((spec.depth, b1 * n), g1.x.dtype)
        v1, v2 = lax.cond(same, lambda: (zeros, zeros), self_variances)
    else:
        same = jnp.asarray(False)
        v1, v2 = self_variances()
    s, t, _ = _layers(spec, g1, g2, spec.depth, same, (v1, v2), same if square else False)
    sg = jnp.einsum("iu,iujv,jv->ij", g1.r, s.reshape(b1, n, b2, n), g2.r)
    tg = jnp.einsum("iu,iujv,jv->ij", g1.r, t.reshape(b1, n, b2, n), g2.r)
    if square:
        lower = jnp.tril(jnp.ones((b1, b1), bool), -1) & same
        sg = jnp.where(lower, sg.T, sg)
        tg = jnp.where(lower, tg.T, tg)
    bias = 0.0 if spec.b_std is None else spec.b_std**2
    nngp = spec.W_std**2 * sg + bias
    ntk = (nngp if spec.trainable != "first" else 0.0) + spec.W_std**2 * tg
    return KernelPair(ntk=ntk, nngp=nngp)
