"""Graphs and graph-algorithm tasks: families, labels, padded batches, the max-degree condition.

Everything here is exact and deterministic given a seed: graphs come from networkx, labels from
exact graph algorithms (never a network), and batches of graphs of different sizes are stored
as padded dense arrays with a node mask (:class:`GraphBatch`), the input format of
:class:`ntkx.GNN`.

Tasks (Xu et al., How Neural Networks Extrapolate, ICLR 2021, arXiv 2009.11848, Section 4):

* **max degree** — label :math:`\\max_u \\deg(u)`; node features identical (all ones, the setting
  of the paper's max-degree theorem) or uniform random (3-dim, ``U[-r, r]``).
* **shortest path** — weighted graphs with edge weights ``U[lo, hi]``; node features
  ``[U(-r, r), is_source, is_target]``; label the weighted distance from source to target. By
  default (as in the paper) the target is within ``max_hops = 3`` hops of the source and the
  shortest path is unique and has at most ``max_hops`` edges.

Families (connected graphs only): ``general`` (Erdos-Renyi, edge probability drawn from
{0.1, ..., 0.9}, resampled until connected), ``expander`` (dense Erdos-Renyi, p = 0.8 by default),
``complete``, ``path``, ``cycle``, ``tree`` (uniform random labelled tree), ``ladder``
(``n // 2`` rungs, so ``2 (n // 2)`` nodes), ``4regular`` (random 4-regular) and ``star``.

Example:
    >>> import numpy as np
    >>> from ntkx.graphs.sampling import max_degree_dataset
    >>> data = max_degree_dataset(4, ["general"], 10, 12, seed=0)
    >>> data.batch.features.shape[0], data.labels.shape
    (4, (4,))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

import networkx as nx
import numpy as np

from ntkx.core.validation import check_choice, check_finite_number, check_positive_int
from ntkx.graphs.batch import GraphBatch, batch_graphs, check_graph

__all__ = [
    "FAMILIES",
    "GraphData",
    "SpanningReport",
    "max_degree_dataset",
    "max_degree_label",
    "sample_graph",
    "shortest_path_dataset",
    "shortest_path_label",
    "spanning_rank",
]

FAMILIES: Final = (
    "general",
    "expander",
    "complete",
    "path",
    "cycle",
    "tree",
    "ladder",
    "4regular",
    "star",
)
#: Smallest number of nodes each family is defined for (connected, at least one edge).
MIN_NODES: Final = {
    "general": 2,
    "expander": 2,
    "complete": 2,
    "path": 2,
    "cycle": 3,
    "tree": 2,
    "ladder": 2,
    "4regular": 5,
    "star": 2,
}
GENERAL_P: Final = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
MAX_RESAMPLES: Final = 1000


class GraphData(NamedTuple):
    """A task dataset: a padded batch, exact labels and per-graph metadata.

    Attributes:
        batch: the graphs, :class:`GraphBatch`.
        labels: exact labels ``(B,)``.
        family: family name of each graph, ``(B,)``.
        graphs: the networkx graphs (edge attribute ``"weight"`` for shortest path).
    """

    batch: GraphBatch
    labels: np.ndarray
    family: np.ndarray
    graphs: tuple[nx.Graph, ...]


class SpanningReport(NamedTuple):
    """The max-degree spanning condition for a training set (paper, Theorem 4 / Section 4).

    Attributes:
        rank: rank of the ``(n, 4)`` matrix of rows
            ``(g, g', g N_max, g' N_min)`` (``g`` max degree, ``g'`` min degree, ``N_max``,
            ``N_min`` the number of nodes attaining them).
        vectors: that matrix.
        satisfied: ``rank == 4`` (the vectors span R^4).
    """

    rank: int
    vectors: np.ndarray
    satisfied: bool


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _sub_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def sample_graph(
    family: str,
    n_nodes: int,
    seed: int | np.random.Generator | None = None,
    *,
    p: float | None = None,
) -> nx.Graph:
    """A connected graph of ``family`` with ``n_nodes`` nodes (``ladder``: ``2 (n // 2)``).

    Args:
        family: one of :data:`FAMILIES`.
        n_nodes: number of nodes (at least :data:`MIN_NODES` of the family).
        seed: an int or a NumPy generator.
        p: edge probability for ``general`` (default: drawn from {0.1, ..., 0.9} for each
            graph) and ``expander`` (default 0.8).

    Raises:
        ValueError: bad arguments, or no connected graph after 1000 resamples.
    """
    check_choice("family", family, FAMILIES)
    n = check_positive_int("n_nodes", n_nodes)
    if n < MIN_NODES[family]:
        raise ValueError(
            f"n_nodes={n_nodes} is not allowed for family={family!r}; expected at least "
            f"{MIN_NODES[family]} nodes (a connected graph with at least one edge)."
        )
    if p is not None:
        p = check_finite_number("p", p, minimum=0.0, strict=True)
        if p > 1:
            raise ValueError(f"p={p} is not allowed; expected an edge probability in (0, 1].")
    rng = _rng(seed)
    if family == "complete":
        return nx.complete_graph(n)
    if family == "path":
        return nx.path_graph(n)
    if family == "cycle":
        return nx.cycle_graph(n)
    if family == "star":
        return nx.star_graph(n - 1)
    if family == "ladder":
        return nx.ladder_graph(n // 2)
    if family == "tree":
        return nx.random_labeled_tree(n, seed=_sub_seed(rng))
    for _ in range(MAX_RESAMPLES):
        if family == "4regular":
            g = nx.random_regular_graph(4, n, seed=_sub_seed(rng))
        else:
            if family == "general":
                q = float(rng.choice(GENERAL_P)) if p is None else p
            else:
                q = 0.8 if p is None else p
            g = nx.gnp_random_graph(n, q, seed=_sub_seed(rng))
        if nx.is_connected(g):
            return g
    raise ValueError(
        f"no connected {family!r} graph with n_nodes={n} and p={p} after {MAX_RESAMPLES} "
        "draws; use a larger edge probability p."
    )


def max_degree_label(graph: nx.Graph) -> int:
    """The largest node degree of ``graph`` (ValueError for an empty or edgeless graph)."""
    check_graph("graph", graph)
    return max(d for _, d in graph.degree())


def shortest_path_label(graph: nx.Graph, source: int, target: int, weight: str = "weight") -> float:
    """Weighted distance from ``source`` to ``target`` (Dijkstra; weights must be positive).

    Raises:
        ValueError: empty graph, a node not in the graph, a non-positive or non-finite weight,
            or a target not reachable from the source (never returns ``inf``).
    """
    check_graph("graph", graph)
    for name, node in (("source", source), ("target", target)):
        if node not in graph:
            raise ValueError(f"{name}={node!r} is not a node of the graph.")
    for u, v, w in graph.edges(data=weight, default=1.0):
        if not (np.isfinite(w) and w > 0):
            raise ValueError(
                f"edge ({u}, {v}) has weight {w!r}; expected finite positive edge weights."
            )
    try:
        return float(nx.shortest_path_length(graph, source, target, weight=weight))
    except nx.NetworkXNoPath:
        raise ValueError(
            f"target={target!r} is not reachable from source={source!r}; the shortest-path "
            "label would be infinite. Use connected graphs or a reachable target."
        ) from None


def _sizes(rng: np.random.Generator, n_graphs: int, n_min: int, n_max: int) -> np.ndarray:
    n_min = check_positive_int("n_min", n_min)
    n_max = check_positive_int("n_max", n_max)
    if n_max < n_min:
        raise ValueError(f"n_max={n_max} is not allowed; expected n_max >= n_min={n_min}.")
    return rng.integers(n_min, n_max + 1, size=n_graphs)  # both ends inclusive


def _families(families: Sequence[str] | str, n_min: int) -> list[str]:
    fams = [families] if isinstance(families, str) else list(families)
    if not fams:
        raise ValueError(f"families is empty; expected at least one of {list(FAMILIES)}.")
    for f in fams:
        check_choice("families", f, FAMILIES)
        if n_min < MIN_NODES[f]:
            raise ValueError(
                f"n_min={n_min} is not allowed for family {f!r}; expected n_min >= "
                f"{MIN_NODES[f]} (its smallest connected graph with an edge)."
            )
    return fams


def max_degree_dataset(
    n_graphs: int,
    families: Sequence[str] | str,
    n_min: int,
    n_max: int,
    *,
    features: str = "identical",
    feature_range: float = 5.0,
    feature_dim: int = 3,
    pad_to: int | None = None,
    p: float | None = None,
    seed: int | np.random.Generator | None = 0,
) -> GraphData:
    """Max-degree dataset: graphs with ``n_min..n_max`` nodes (inclusive), label = max degree.

    Graph ``i`` is drawn from ``families[i % len(families)]``.

    Args:
        features: ``"identical"`` (every node feature is ``[1.0]``) or ``"random"``
            (``feature_dim`` features ``U[-feature_range, feature_range]``).
        pad_to: padded node count (default: largest graph).
    """
    n_graphs = check_positive_int("n_graphs", n_graphs)
    check_choice("features", features, ("identical", "random"))
    feature_range = check_finite_number("feature_range", feature_range, minimum=0.0, strict=True)
    feature_dim = check_positive_int("feature_dim", feature_dim)
    rng = _rng(seed)
    sizes = _sizes(rng, n_graphs, n_min, n_max)
    fams = _families(families, n_min)
    graphs, feats, labels, fam = [], [], [], []
    for i, n in enumerate(sizes):
        family = fams[i % len(fams)]
        g = sample_graph(family, int(n), rng, p=p)
        g = nx.convert_node_labels_to_integers(g)
        graphs.append(g)
        k = g.number_of_nodes()
        if features == "identical":
            feats.append(np.ones((k, 1)))
        else:
            feats.append(rng.uniform(-feature_range, feature_range, (k, feature_dim)))
        labels.append(float(max_degree_label(g)))
        fam.append(family)
    batch = batch_graphs(graphs, feats, n_max=pad_to)
    return GraphData(batch, np.asarray(labels), np.asarray(fam), tuple(graphs))


def _unique_short_path_targets(
    g: nx.Graph, source: int, max_hops: int, unique: bool
) -> list[tuple[int, float]]:
    dist, paths = nx.single_source_dijkstra(g, source, weight="weight")
    out = []
    for t, d in dist.items():
        if t == source:
            continue
        if len(paths[t]) - 1 > max_hops:
            continue
        if unique:
            count = 0
            for _ in nx.all_shortest_paths(g, source, t, weight="weight"):
                count += 1
                if count > 1:
                    break
            if count > 1:
                continue
        out.append((t, float(d)))
    return out


def shortest_path_dataset(
    n_graphs: int,
    families: Sequence[str] | str,
    n_min: int,
    n_max: int,
    *,
    weight_range: tuple[float, float] = (1.0, 5.0),
    feature_range: float = 5.0,
    max_hops: int | None = 3,
    unique: bool = True,
    pad_to: int | None = None,
    p: float | None = None,
    seed: int | np.random.Generator | None = 0,
) -> GraphData:
    """Shortest-path dataset: weighted graphs, a (source, target) pair each, label = distance.

    Node features are ``[U(-feature_range, feature_range), is_source, is_target]``; edge weights
    are ``U[weight_range]`` and stored in the adjacency. The target is drawn uniformly among the
    nodes whose shortest path from the source has at most ``max_hops`` edges (``None``: any
    node) and, with ``unique=True``, is the only shortest path. Graphs without such a target are
    redrawn (the source too). ``expander`` uses ``p = 0.6`` unless ``p`` is given (as in the
    paper's shortest-path experiments).
    """
    n_graphs = check_positive_int("n_graphs", n_graphs)
    lo = check_finite_number("weight_range[0]", weight_range[0], minimum=0.0, strict=True)
    hi = check_finite_number("weight_range[1]", weight_range[1], minimum=lo)
    feature_range = check_finite_number("feature_range", feature_range, minimum=0.0, strict=True)
    hops = 10**9 if max_hops is None else check_positive_int("max_hops", max_hops)
    rng = _rng(seed)
    sizes = _sizes(rng, n_graphs, n_min, n_max)
    fams = _families(families, n_min)
    graphs, feats, labels, fam = [], [], [], []
    for i, n in enumerate(sizes):
        family = fams[i % len(fams)]
        q = p if p is not None else (0.6 if family == "expander" else None)
        for _ in range(MAX_RESAMPLES):
            g = nx.convert_node_labels_to_integers(sample_graph(family, int(n), rng, p=q))
            for u, v in g.edges:
                g[u][v]["weight"] = float(rng.uniform(lo, hi))
            source = int(rng.integers(g.number_of_nodes()))
            candidates = _unique_short_path_targets(g, source, hops, unique)
            if candidates:
                break
        else:
            raise ValueError(
                f"no (source, target) pair within max_hops={max_hops} with unique={unique} in "
                f"{MAX_RESAMPLES} {family!r} graphs; relax max_hops or unique."
            )
        target, dist = candidates[int(rng.integers(len(candidates)))]
        k = g.number_of_nodes()
        f = np.zeros((k, 3))
        f[:, 0] = rng.uniform(-feature_range, feature_range, k)
        f[source, 1] = 1.0
        f[target, 2] = 1.0
        g.graph["source"], g.graph["target"] = source, target
        graphs.append(g)
        feats.append(f)
        labels.append(dist)
        fam.append(family)
    batch = batch_graphs(graphs, feats, n_max=pad_to, weight="weight")
    return GraphData(batch, np.asarray(labels), np.asarray(fam), tuple(graphs))


def spanning_rank(graphs: Sequence[nx.Graph], *, tol: float | None = None) -> SpanningReport:
    r"""Rank of the max-degree spanning vectors of a training set.

    For each graph the row :math:`(g, g', g N^{\max}, g' N^{\min})` with :math:`g` / :math:`g'`
    the max / min degree and :math:`N^{\max}` / :math:`N^{\min}` the number of nodes attaining
    them. The paper's max-degree theorem (arXiv 2009.11848, Theorem 4) says a one-layer
    max-readout GNN in the NTK regime with identical node features learns max degree when these
    vectors span R^4. Families with one degree (cycles, 4-regular, complete graphs) give
    ``g = g'`` and ``N^{\max} = N^{\min} = n``: the rows lie in a 2-dimensional space. Complete
    graphs fail the condition although the paper reports good extrapolation from them.

    ``tol`` is NumPy's ``matrix_rank`` tolerance (default: its SVD-based default).
    """
    if len(graphs) == 0:
        raise ValueError("graphs is empty; expected at least one graph.")
    rows = []
    for i, g in enumerate(graphs):
        check_graph(f"graphs[{i}]", g)
        deg = np.array([d for _, d in g.degree()])
        gmax, gmin = deg.max(), deg.min()
        rows.append([gmax, gmin, gmax * np.sum(deg == gmax), gmin * np.sum(deg == gmin)])
    vectors = np.asarray(rows, dtype=np.float64)
    rank = int(np.linalg.matrix_rank(vectors, tol=tol))
    return SpanningReport(rank, vectors, rank == 4)
