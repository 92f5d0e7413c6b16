"""Batches of graphs: the input type of graph networks (padded dense arrays with a node mask).

A :class:`GraphBatch` holds ``B`` graphs of up to ``N`` nodes: node features
``(B, N, F)``, a symmetric weighted adjacency ``(B, N, N)`` and a node mask
``(B, N)``. Like an array of inputs it has ``len(batch) == B`` and slicing
``batch[i:j]``, and it is a jax pytree (leaves share the leading axis ``B``),
so the kernel engine, the solvers and the trainers treat it as they treat an
``(n, d)`` array.

Example:
    >>> import networkx as nx, numpy as np
    >>> from ntkx.graphs.batch import batch_graphs
    >>> graphs = [nx.path_graph(3), nx.complete_graph(4)]
    >>> g = batch_graphs(graphs, [np.ones((3, 1)), np.ones((4, 1))])
    >>> len(g), g[1:].num_nodes.tolist()
    (2, [4])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import networkx as nx
import numpy as np
from jaxtyping import Array, Bool, Float

from ntkx.core.protocol import Architecture
from ntkx.core.validation import check_positive_int

__all__ = [
    "GraphArchitecture",
    "GraphBatch",
    "batch_graphs",
    "check_graph",
    "check_graph_batch",
    "weighted_adjacency",
]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class GraphBatch:
    """A batch of graphs of different sizes as padded dense arrays.

    Graph ``b`` has ``n_b = mask[b].sum()`` real nodes, stored first (indices ``0 .. n_b - 1``);
    padded rows and columns of ``features`` and ``adjacency`` are zero and ``mask`` is False there.

    Attributes:
        features: node features ``(B, N, F)``.
        adjacency: symmetric weighted adjacency ``(B, N, N)``; ``adjacency[b, u, v] > 0`` iff
            ``(u, v)`` is an edge, with the edge weight as value (``1`` for unweighted graphs).
            Graphs are simple: the diagonal is zero (no self-loops) and one entry holds one
            edge (no parallel edges; see :func:`check_graph`).
        mask: ``(B, N)`` booleans, True for real nodes.
    """

    features: Float[Array, "B N F"]
    adjacency: Float[Array, "B N N"]
    mask: Bool[Array, "B N"]

    def __len__(self) -> int:
        return int(np.shape(self.features)[0])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Refused: a batch of graphs is not one array (without this, ``np.asarray`` would
        recurse through ``batch[i]`` forever). Graph inputs go to graph networks."""
        raise TypeError(
            "a GraphBatch is not an array of points; graph inputs go to graph networks "
            "(ntkx.gnn, ntkx.gin)."
        )

    def __getitem__(self, index: slice | np.ndarray | Sequence[int]) -> GraphBatch:
        """The sub-batch of graphs ``index`` (a slice or an integer / boolean index array)."""
        if isinstance(index, int | np.integer):
            index = slice(int(index), int(index) + 1 or None)
        return GraphBatch(
            np.asarray(self.features)[index],
            np.asarray(self.adjacency)[index],
            np.asarray(self.mask)[index],
        )

    @property
    def num_graphs(self) -> int:
        """Number of graphs ``B`` (``len(batch)``)."""
        return len(self)

    @property
    def num_nodes(self) -> np.ndarray:
        """Real nodes per graph, ``(B,)``."""
        return np.asarray(self.mask).sum(axis=1)

    @property
    def feature_dim(self) -> int:
        """Features per node ``F``."""
        return int(np.shape(self.features)[-1])

    def select(self, index: slice | np.ndarray | Sequence[int]) -> GraphBatch:
        """The sub-batch of graphs ``index`` (same as ``batch[index]``)."""
        return self[index]

    def astuple(self) -> tuple[Any, Any, Any]:
        """``(features, adjacency, mask)``."""
        return self.features, self.adjacency, self.mask


def check_graph(name: str, graph: nx.Graph) -> None:
    """Validate one networkx input graph: undirected, simple, non-empty, at least one edge.

    The rule every graph entry point of ntkx shares (labels, batches, the spanning rank):
    graphs are *simple*. A multigraph (``nx.MultiGraph``) is refused, since its parallel
    edges have no single weight or degree that both the labels and the adjacency could use;
    a self-loop is refused, since networkx counts it twice in a degree while an adjacency
    entry counts it once. Collapse or drop them yourself first, by the rule your task needs,
    e.g. ``nx.Graph(g)`` (keeps one edge per pair, the data of the last one added) and
    ``g.remove_edges_from(nx.selfloop_edges(g))``.

    Raises:
        ValueError: naming ``name``, for anything but a non-empty simple undirected graph
            with at least one edge.
    """
    if not isinstance(graph, nx.Graph) or graph.is_directed():
        raise ValueError(f"{name}={graph!r} is not allowed; expected an undirected networkx graph.")
    if graph.is_multigraph():
        raise ValueError(
            f"{name} is a networkx multigraph ({type(graph).__name__}), which is not allowed: "
            "parallel edges have no single weight or degree shared by labels and adjacency. "
            "Expected a simple nx.Graph; collapse it by the rule you need first (e.g. keep the "
            "lightest edge per pair for shortest paths)."
        )
    loops = list(nx.selfloop_edges(graph))
    if loops:
        raise ValueError(
            f"{name} has {len(loops)} self-loop(s) (first at node {loops[0][0]!r}), which are "
            "not allowed: graphs must be simple (networkx counts a self-loop twice in a "
            "degree, an adjacency entry once). Remove them with "
            "g.remove_edges_from(nx.selfloop_edges(g))."
        )
    if graph.number_of_nodes() == 0:
        raise ValueError(f"{name} is an empty graph (no nodes); expected at least one edge.")
    if graph.number_of_edges() == 0:
        raise ValueError(f"{name} has no edges; expected at least one edge.")


def weighted_adjacency(
    name: str, graph: nx.Graph, index: dict[Any, int], weight: str | None
) -> np.ndarray:
    """Dense symmetric weights ``(n, n)`` of ``graph``, rows in ``index`` order.

    ``weight`` is the edge attribute of the weights (every edge needs a finite positive one;
    ValueError naming ``name`` otherwise) or ``None`` for weight 1.
    """
    n = len(index)
    adj = np.zeros((n, n))
    edges = list(graph.edges(data=weight, default=np.nan)) if weight else list(graph.edges)
    u = np.fromiter((index[e[0]] for e in edges), dtype=np.int64, count=len(edges))
    v = np.fromiter((index[e[1]] for e in edges), dtype=np.int64, count=len(edges))
    if weight:
        try:
            w = np.array([e[2] for e in edges], dtype=np.float64)
        except (TypeError, ValueError):
            w = np.full(len(edges), np.nan)
        bad = ~(np.isfinite(w) & (w > 0))
        if bad.any():
            k = int(np.argmax(bad))
            raise ValueError(
                f"{name} edge ({edges[k][0]}, {edges[k][1]}) has {weight}={edges[k][2]!r}; "
                "expected a finite positive weight on every edge."
            )
    else:
        w = np.ones(len(edges))
    adj[u, v] = adj[v, u] = w
    return adj


def batch_graphs(
    graphs: Sequence[nx.Graph],
    features: Sequence[np.ndarray],
    *,
    n_max: int | None = None,
    weight: str | None = None,
) -> GraphBatch:
    """Pad graphs of different sizes into one :class:`GraphBatch`.

    Nodes are relabelled ``0 .. n - 1`` in ``graph.nodes`` order.

    Args:
        graphs: simple undirected networkx graphs, each with at least one edge (no
            multigraphs, no self-loops: :func:`check_graph`).
        features: per graph an ``(n_nodes, F)`` array, rows in ``graph.nodes`` order.
        n_max: padded size (default: the largest graph); must be at least every graph's size.
        weight: edge attribute holding weights (positive, finite), or ``None`` for weight 1.
    """
    if len(graphs) == 0:
        raise ValueError("graphs is empty; expected at least one graph.")
    if len(features) != len(graphs):
        raise ValueError(
            f"features has {len(features)} entries; expected one per graph ({len(graphs)})."
        )
    sizes = []
    for i, g in enumerate(graphs):
        check_graph(f"graphs[{i}]", g)
        sizes.append(g.number_of_nodes())
    largest = max(sizes)
    n_pad = largest if n_max is None else check_positive_int("n_max", n_max)
    if n_pad < largest:
        raise ValueError(f"n_max={n_max} is not allowed; the largest graph has {largest} nodes.")
    feats = [np.asarray(f, dtype=np.float64) for f in features]
    dims = {f.shape[1] if f.ndim == 2 else -1 for f in feats}
    if len(dims) != 1 or -1 in dims:
        raise ValueError("features must all be 2-D (n_nodes, F) arrays with the same F.")
    (dim,) = dims
    b = len(graphs)
    x = np.zeros((b, n_pad, dim))
    adj = np.zeros((b, n_pad, n_pad))
    mask = np.zeros((b, n_pad), dtype=bool)
    for i, (g, f) in enumerate(zip(graphs, feats, strict=True)):
        n = sizes[i]
        if f.shape[0] != n:
            raise ValueError(
                f"features[{i}] has {f.shape[0]} rows; expected {n} (one per node of graphs[{i}])."
            )
        if not np.isfinite(f).all():
            raise ValueError(f"features[{i}] contains non-finite values; expected finite values.")
        index = {node: k for k, node in enumerate(g.nodes)}
        adj[i, :n, :n] = weighted_adjacency(f"graphs[{i}]", g, index, weight)
        x[i, :n] = f
        mask[i, :n] = True
    return GraphBatch(x, adj, mask)


def check_graph_batch(name: str, x: Any, dim: int | None = None) -> GraphBatch:
    """Validate a :class:`GraphBatch`; return it with NumPy leaves and padding zeroed."""
    if not isinstance(x, GraphBatch):
        raise ValueError(
            f"{name} has type {type(x).__name__}; expected an ntkx.GraphBatch "
            "(features (B, N, F), adjacency (B, N, N), mask (B, N))."
        )
    feats = np.asarray(x.features)
    adj = np.asarray(x.adjacency)
    mask = np.asarray(x.mask)
    if feats.ndim != 3 or 0 in feats.shape:
        raise ValueError(
            f"{name}.features has shape {feats.shape}; expected a non-empty (B, N, F) array."
        )
    b, n, f = feats.shape
    if adj.shape != (b, n, n):
        raise ValueError(
            f"{name}.adjacency has shape {adj.shape}; expected {(b, n, n)} to match "
            f"{name}.features {feats.shape}."
        )
    if mask.shape != (b, n):
        raise ValueError(
            f"{name}.mask has shape {mask.shape}; expected {(b, n)} to match {name}.features."
        )
    if dim is not None and f != dim:
        raise ValueError(
            f"{name}.features has {f} features per node; expected {dim} to match the other inputs."
        )
    for field, arr in (("features", feats), ("adjacency", adj)):
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise ValueError(f"{name}.{field} has dtype {arr.dtype}; expected real numbers.")
        if not np.isfinite(arr).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise ValueError(
                f"{name}.{field} contains non-finite values (first at index {bad}); expected "
                "finite values only."
            )
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{name}.mask contains values other than 0/1; expected booleans.")
        mask = mask.astype(bool)
    if (adj < 0).any():
        raise ValueError(f"{name}.adjacency has negative entries; expected weights >= 0.")
    if not np.array_equal(adj, np.swapaxes(adj, 1, 2)):
        raise ValueError(f"{name}.adjacency is not symmetric; expected undirected graphs.")
    sizes = mask.sum(axis=1)
    if (sizes == 0).any():
        raise ValueError(
            f"{name} graph {int(np.argmin(sizes))} is empty (mask all False); expected at least "
            "one node per graph."
        )
    if (np.diff(mask.astype(int), axis=1) > 0).any():
        raise ValueError(f"{name}.mask must list real nodes first (True then False per graph).")
    diag = np.diagonal(adj, axis1=1, axis2=2)
    if (diag != 0).any():
        b0, u0 = (int(i) for i in np.argwhere(diag != 0)[0])
        raise ValueError(
            f"{name}.adjacency has a nonzero diagonal (a self-loop at graph {b0}, node {u0}), "
            "which is not allowed: graphs must be simple (ntkx.gin adds self-loops itself with "
            "self_loops=True). Expected zeros on the diagonal."
        )
    pair = mask[:, :, None] & mask[:, None, :]
    if (adj[~pair] != 0).any():
        raise ValueError(f"{name}.adjacency has edges at padded nodes; expected zeros there.")
    edges = (adj > 0).sum(axis=(1, 2))
    if (edges == 0).any():
        raise ValueError(
            f"{name} graph {int(np.argmin(edges))} has no edges; expected at least one edge per "
            "graph."
        )
    feats = np.where(mask[:, :, None], feats, 0.0)
    return GraphBatch(feats, adj, mask)


class GraphArchitecture(Architecture):
    """What every graph network shares (abstract): :class:`GraphBatch` inputs, and closed-form
    kernels only for sum/mean aggregation and readout in the NTK parameterization.

    Subclasses are frozen dataclasses with ``parameterization``, ``aggregation`` and
    ``readout`` fields and a ``has_closed_form`` property.
    """

    parameterization: str
    aggregation: str
    readout: str
    #: NTK and NNGP come from one pass; one compilation serves get="ntk", "nngp" and both
    #: (a second one cost 12.6 s in tests/test_engine.py's gnn case, load 2.8).
    compile_per_kernel = False

    @property
    def has_closed_form(self) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def kernel_methods(self) -> tuple[str, ...]:
        if self.parameterization != "ntk":
            return ("empirical",)
        if self.has_closed_form:
            return ("closed_form", "monte_carlo", "empirical")
        return ("monte_carlo", "empirical")

    def why_not(self, method: str) -> str:
        if self.parameterization != "ntk":
            return (
                f"parameterization={self.parameterization!r} has no infinite-width kernel here "
                "(its NTK grows with the width); use parameterization='ntk'"
            )
        return (
            f"aggregation={self.aggregation!r}, readout={self.readout!r} has no closed-form "
            "kernel (only sum and mean do); use method='monte_carlo'"
        )

    def check_inputs(self, name: str, x: Any, dim: int | None = None) -> GraphBatch:
        """Validate a :class:`GraphBatch` (ValueError naming ``name``); zero its padded features."""
        return check_graph_batch(name, x, dim)

    def input_dim(self, x: GraphBatch) -> int:
        return x.feature_dim
