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

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

import networkx as nx
import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from ntkx.core.validation import (
    check_bool,
    check_choice,
    check_finite_number,
    check_positive_int,
    check_positive_range,
)
from ntkx.graphs.batch import GraphBatch, batch_graphs, check_graph, weighted_adjacency

__all__ = [
    "FAMILIES",
    "GRAPH_FORMATS",
    "GraphData",
    "SpanningReport",
    "choose_source_target",
    "max_degree_dataset",
    "max_degree_label",
    "read_graphs",
    "sample_graph",
    "shortest_path_dataset",
    "shortest_path_label",
    "shortest_path_targets",
    "spanning_rank",
    "write_graphs",
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
#: Family name recorded for graphs given by the caller (``graphs=...``) without a
#: ``graph.graph["family"]`` attribute.
CUSTOM: Final = "custom"
#: Relative tolerance for two path lengths to tie (see :func:`shortest_path_targets`).
TIE_RTOL: Final = 1e-12
#: File formats of :func:`read_graphs` / :func:`write_graphs`, by file-name ending.
GRAPH_FORMATS: Final = {".graphml": "graphml", ".g6": "graph6", ".graph6": "graph6"}


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


def _relabelled(graph: nx.Graph) -> tuple[nx.Graph, dict[Any, int]]:
    """A copy of ``graph`` with nodes ``0 .. n - 1`` in ``graph.nodes`` order, and the map."""
    mapping = {node: k for k, node in enumerate(graph.nodes)}
    if all(type(node) is int and node == k for node, k in mapping.items()):
        return graph.copy(), mapping
    return nx.relabel_nodes(graph, mapping, copy=True), mapping


def _given_graphs(
    graphs: Sequence[nx.Graph], fixed: dict[str, Any]
) -> list[tuple[nx.Graph, dict[Any, int]]]:
    """Check caller-given graphs (and that the sampling arguments were left out)."""
    given = [name for name, value in fixed.items() if value is not None]
    if given:
        raise ValueError(
            f"{', '.join(given)} given together with graphs; expected either graphs=... or "
            "n_graphs, families, n_min and n_max (the graphs are then sampled), not both."
        )
    if isinstance(graphs, nx.Graph) or not isinstance(graphs, Sequence) or len(graphs) == 0:
        raise ValueError(
            f"graphs={graphs!r} is not allowed; expected a non-empty sequence of networkx graphs."
        )
    out = []
    for i, g in enumerate(graphs):
        check_graph(f"graphs[{i}]", g)
        out.append(_relabelled(g))
    return out


def _sampling_args(
    n_graphs: int | None, families: Sequence[str] | str | None, n_min: int | None,
    n_max: int | None,
) -> tuple[int, Sequence[str] | str, int, int]:  # fmt: skip
    missing = [
        name
        for name, value in (
            ("n_graphs", n_graphs), ("families", families), ("n_min", n_min), ("n_max", n_max)
        )
        if value is None
    ]  # fmt: skip
    if missing:
        raise ValueError(
            f"{', '.join(missing)} missing; expected n_graphs, families, n_min and n_max (to "
            "sample graphs) or graphs=... (your own networkx graphs)."
        )
    return check_positive_int("n_graphs", n_graphs), families, n_min, n_max  # type: ignore[return-value]


def _integer_nodes(graph: nx.Graph) -> nx.Graph:
    """``graph`` itself when its nodes are already ``0 .. n - 1`` in order, else relabelled."""
    if all(type(node) is int and node == k for k, node in enumerate(graph.nodes)):
        return graph
    return nx.convert_node_labels_to_integers(graph)


def _family_of(graph: nx.Graph) -> str:
    return str(graph.graph.get("family", CUSTOM))


def max_degree_dataset(
    n_graphs: int | None = None,
    families: Sequence[str] | str | None = None,
    n_min: int | None = None,
    n_max: int | None = None,
    *,
    graphs: Sequence[nx.Graph] | None = None,
    features: str = "identical",
    feature_range: float = 5.0,
    feature_dim: int = 3,
    pad_to: int | None = None,
    p: float | None = None,
    seed: int | np.random.Generator | None = 0,
) -> GraphData:
    """Max-degree dataset: label = the largest node degree of each graph.

    Either sampled (``n_graphs`` graphs with ``n_min..n_max`` nodes, inclusive; graph ``i`` from
    ``families[i % len(families)]``) or your own graphs (``graphs=[...]``: any simple undirected
    networkx graphs with at least one edge, connected or not; nodes are relabelled
    ``0 .. n - 1`` in ``graph.nodes`` order and the family recorded is
    ``graph.graph.get("family", "custom")``; the inputs are not modified).

    Args:
        features: ``"identical"`` (every node feature is ``[1.0]``) or ``"random"``
            (``feature_dim`` features ``U[-feature_range, feature_range]``).
        pad_to: padded node count (default: largest graph).

    Example:
        >>> import networkx as nx
        >>> data = max_degree_dataset(graphs=[nx.star_graph(4), nx.path_graph(5)])
        >>> data.labels.tolist(), data.family.tolist()
        ([4.0, 2.0], ['custom', 'custom'])
    """
    check_choice("features", features, ("identical", "random"))
    feature_range = check_finite_number("feature_range", feature_range, minimum=0.0, strict=True)
    feature_dim = check_positive_int("feature_dim", feature_dim)
    rng = _rng(seed)
    out, feats, labels, fam = [], [], [], []

    def add(g: nx.Graph, family: str) -> None:
        k = g.number_of_nodes()
        if features == "identical":
            feats.append(np.ones((k, 1)))
        else:
            feats.append(rng.uniform(-feature_range, feature_range, (k, feature_dim)))
        out.append(g)
        labels.append(float(max_degree_label(g)))
        fam.append(family)

    if graphs is not None:
        pairs = _given_graphs(
            graphs, {"n_graphs": n_graphs, "families": families, "n_min": n_min, "n_max": n_max}
        )
        for (g, _), orig in zip(pairs, graphs, strict=True):
            add(g, _family_of(orig))
    else:
        n_graphs, families, n_min, n_max = _sampling_args(n_graphs, families, n_min, n_max)
        sizes = _sizes(rng, n_graphs, n_min, n_max)
        fams = _families(families, n_min)
        for i, n in enumerate(sizes):
            family = fams[i % len(fams)]
            add(_integer_nodes(sample_graph(family, int(n), rng, p=p)), family)
    batch = batch_graphs(out, feats, n_max=pad_to)
    return GraphData(batch, np.asarray(labels), np.asarray(fam), tuple(out))


def shortest_path_targets(
    graph: nx.Graph,
    source: Any,
    *,
    max_hops: int | None = 3,
    unique: bool = True,
    weight: str | None = "weight",
) -> list[tuple[Any, float, int]]:
    r"""The eligible targets of a shortest-path task from ``source``, with distance and hops.

    A node :math:`t \ne s` reachable from the source is eligible when its shortest path has at
    most ``max_hops`` edges (``None``: any number) and, with ``unique=True``, it is the only
    shortest path (the paper's setting: a unique shortest path of at most 3 edges). One
    Dijkstra from the source (SciPy) gives the distances :math:`d`; an edge :math:`(u, v)` is
    *tight* when :math:`d_u + w_{uv} = d_v` (up to a relative :data:`TIE_RTOL` = 1e-12, so that
    two paths whose lengths differ only by rounding count as a tie); the tight edges form the
    shortest-path DAG, in which the number of shortest paths
    :math:`\sigma_v = \sum_{u \to v} \sigma_u` and the fewest edges on a shortest path
    :math:`h_v = \min_{u \to v} h_u + 1` follow in order of distance. Cost:
    one Dijkstra plus :math:`O(n^2)` array work, for dense graphs too.

    Args:
        graph: a simple undirected networkx graph; edge weights in the attribute ``weight``
            (positive, finite; every edge needs one) or ``None`` for weight 1.
        source: a node of ``graph``.
        max_hops: largest number of edges on the (fewest-edge) shortest path, or ``None``.
        unique: keep only targets with exactly one shortest path.
        weight: the edge attribute of the weights, or ``None``.

    Returns:
        ``[(target, distance, hops), ...]`` in order of increasing distance (ties in
        ``graph.nodes`` order); ``hops`` is the fewest edges on a shortest path.

    Example:
        >>> import networkx as nx
        >>> g = nx.Graph()
        >>> g.add_weighted_edges_from([(0, 1, 1.0), (1, 2, 1.0), (0, 2, 2.0), (2, 3, 1.0)])
        >>> shortest_path_targets(g, 0)  # node 2 has two shortest paths, so 3 has too
        [(1, 1.0, 1)]
        >>> shortest_path_targets(g, 0, unique=False)
        [(1, 1.0, 1), (2, 2.0, 1), (3, 3.0, 2)]
    """
    check_graph("graph", graph)
    if source not in graph:
        raise ValueError(f"source={source!r} is not a node of the graph.")
    hops_limit = None if max_hops is None else check_positive_int("max_hops", max_hops)
    check_bool("unique", unique)
    nodes = list(graph.nodes)
    index = {node: k for k, node in enumerate(nodes)}
    adj = weighted_adjacency("graph", graph, index, weight)
    s = index[source]
    dist = scipy.sparse.csgraph.dijkstra(scipy.sparse.csr_matrix(adj), directed=False, indices=s)
    n = len(nodes)
    reach = np.isfinite(dist)
    order = np.argsort(np.where(reach, dist, np.inf), kind="stable")
    scale = np.maximum(1.0, np.where(reach, dist, 0.0))
    # tight[u, v]: edge (u, v) lies on a shortest path from the source to v
    with np.errstate(invalid="ignore"):
        gap = dist[:, None] + adj - dist[None, :]
    tight = (adj > 0) & reach[:, None] & (np.abs(gap) <= TIE_RTOL * scale[None, :])
    count = np.zeros(n)  # number of shortest paths, capped at 2 (only "one or more" matters)
    hops = np.full(n, np.iinfo(np.int64).max // 2, dtype=np.int64)
    count[s], hops[s] = 1.0, 0
    for v in order:
        if v == s or not reach[v]:
            continue
        preds = tight[:, v]
        count[v] = min(2.0, count[preds].sum())
        hops[v] = hops[preds].min() + 1
    out = []
    for v in order:
        if v == s or not reach[v]:
            continue
        if hops_limit is not None and hops[v] > hops_limit:
            continue
        if unique and count[v] > 1:
            continue
        out.append((nodes[v], float(dist[v]), int(hops[v])))
    return out


def choose_source_target(
    graph: nx.Graph,
    seed: int | np.random.Generator | None = 0,
    *,
    source: Any = None,
    max_hops: int | None = 3,
    unique: bool = True,
    weight: str | None = "weight",
) -> tuple[Any, Any, float]:
    """Pick a (source, target) pair of a shortest-path task; return it with the distance.

    The source is ``source`` if given, else the first node, in a uniformly random order,
    that has an eligible target (:func:`shortest_path_targets`); the target is uniform among
    that source's eligible targets.

    Raises:
        ValueError: no node (or not the given ``source``) has an eligible target; the message
            says to relax ``max_hops`` or ``unique``.

    Example:
        >>> import networkx as nx
        >>> g = nx.path_graph(5)
        >>> nx.set_edge_attributes(g, 2.0, "weight")
        >>> s, t, d = choose_source_target(g, seed=0)
        >>> d == 2.0 * abs(s - t) and 1 <= abs(s - t) <= 3
        True
    """
    rng = _rng(seed)
    nodes = list(graph.nodes)
    sources = [source] if source is not None else [nodes[k] for k in rng.permutation(len(nodes))]
    for s in sources:
        found = shortest_path_targets(graph, s, max_hops=max_hops, unique=unique, weight=weight)
        if found:
            t, d, _ = found[int(rng.integers(len(found)))]
            return s, t, d
    where = f"source={source!r}" if source is not None else "any source"
    raise ValueError(
        f"no target within max_hops={max_hops} with unique={unique} from {where} in the graph; "
        "relax max_hops or unique (or give another graph)."
    )


def _draw_weights(g: nx.Graph, rng: np.random.Generator, lo: float, hi: float) -> None:
    """Edge weights ``U[lo, hi]`` in ``g.edges`` order (one vectorised draw)."""
    w = rng.uniform(lo, hi, g.number_of_edges())
    nx.set_edge_attributes(g, dict(zip(g.edges, w.tolist(), strict=True)), "weight")


def shortest_path_dataset(
    n_graphs: int | None = None,
    families: Sequence[str] | str | None = None,
    n_min: int | None = None,
    n_max: int | None = None,
    *,
    graphs: Sequence[nx.Graph] | None = None,
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
    are stored in the adjacency. The target is chosen by :func:`choose_source_target`: uniform
    among the nodes whose shortest path from the source has at most ``max_hops`` edges
    (``None``: any number) and, with ``unique=True``, is the only shortest path.

    Sampled graphs (``n_graphs``, ``families``, ``n_min``, ``n_max``): weights
    ``U[weight_range]``; a graph whose random source has no eligible target is redrawn (with a
    new source). ``expander`` uses ``p = 0.6`` unless ``p`` is given (as in the paper's
    shortest-path experiments).

    Your own graphs (``graphs=[...]``, simple undirected networkx graphs; the inputs are not
    modified): if every edge has a ``"weight"`` attribute those weights are used, if no edge has
    one they are drawn ``U[weight_range]`` (a mix is an error); a graph with both
    ``graph.graph["source"]`` and ``graph.graph["target"]`` keeps that pair (the target need
    only be reachable), otherwise :func:`choose_source_target` picks one (ValueError when no
    node has an eligible target). Nodes are relabelled ``0 .. n - 1`` in ``graph.nodes`` order
    (``graph.graph["source"]``/``["target"]`` of the returned graphs use the new labels).

    Example:
        >>> import networkx as nx
        >>> g = nx.cycle_graph(6)
        >>> g.graph.update(source=0, target=2)
        >>> data = shortest_path_dataset(graphs=[g], weight_range=(2.0, 2.0))
        >>> data.labels.tolist(), data.batch.features[0, :3, 1:].tolist()
        ([4.0], [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    """
    lo, hi = check_positive_range("weight_range", weight_range)
    feature_range = check_finite_number("feature_range", feature_range, minimum=0.0, strict=True)
    hops = None if max_hops is None else check_positive_int("max_hops", max_hops)
    check_bool("unique", unique)
    rng = _rng(seed)
    out, feats, labels, fam = [], [], [], []

    def add(g: nx.Graph, family: str, source: int, target: int, dist: float) -> None:
        k = g.number_of_nodes()
        f = np.zeros((k, 3))
        f[:, 0] = rng.uniform(-feature_range, feature_range, k)
        f[source, 1] = 1.0
        f[target, 2] = 1.0
        g.graph["source"], g.graph["target"] = source, target
        out.append(g)
        feats.append(f)
        labels.append(float(dist))
        fam.append(family)

    if graphs is not None:
        pairs = _given_graphs(
            graphs, {"n_graphs": n_graphs, "families": families, "n_min": n_min, "n_max": n_max}
        )
        for i, ((g, mapping), orig) in enumerate(zip(pairs, graphs, strict=True)):
            has = [w is not None for *_, w in g.edges(data="weight")]
            if any(has) and not all(has):
                raise ValueError(
                    f"graphs[{i}] has a 'weight' on {sum(has)} of its {len(has)} edges; expected "
                    "weights on every edge (used as given) or on none (drawn U[weight_range])."
                )
            if not any(has):
                _draw_weights(g, rng, lo, hi)
            given = {k: orig.graph.get(k) for k in ("source", "target")}
            if all(v is not None for v in given.values()):
                for k, v in given.items():
                    if v not in mapping:
                        raise ValueError(
                            f"graphs[{i}].graph[{k!r}]={v!r} is not a node of graphs[{i}]."
                        )
                source, target = mapping[given["source"]], mapping[given["target"]]
                if source == target:
                    raise ValueError(
                        f"graphs[{i}] has source == target == {given['source']!r}; expected two "
                        "different nodes."
                    )
                dist = shortest_path_label(g, source, target)
            else:
                try:
                    source, target, dist = choose_source_target(
                        g, rng, max_hops=hops, unique=unique
                    )
                except ValueError as err:
                    raise ValueError(f"graphs[{i}]: {err}") from None
            add(g, _family_of(orig), source, target, dist)
    else:
        n_graphs, families, n_min, n_max = _sampling_args(n_graphs, families, n_min, n_max)
        sizes = _sizes(rng, n_graphs, n_min, n_max)
        fams = _families(families, n_min)
        for i, n in enumerate(sizes):
            family = fams[i % len(fams)]
            q = p if p is not None else (0.6 if family == "expander" else None)
            for _ in range(MAX_RESAMPLES):
                g = _integer_nodes(sample_graph(family, int(n), rng, p=q))
                _draw_weights(g, rng, lo, hi)
                source = int(rng.integers(g.number_of_nodes()))
                found = shortest_path_targets(g, source, max_hops=hops, unique=unique)
                if found:
                    break
            else:
                raise ValueError(
                    f"no (source, target) pair within max_hops={max_hops} with unique={unique} "
                    f"in {MAX_RESAMPLES} {family!r} graphs; relax max_hops or unique."
                )
            target, dist, _ = found[int(rng.integers(len(found)))]
            add(g, family, source, target, dist)
    batch = batch_graphs(out, feats, n_max=pad_to, weight="weight")
    return GraphData(batch, np.asarray(labels), np.asarray(fam), tuple(out))


def _format(name: str, path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in GRAPH_FORMATS:
        raise ValueError(
            f"{name}={os.fspath(path)!r} is not allowed: unknown file type {suffix or '(none)'!r}; "
            f"expected one of {sorted(GRAPH_FORMATS)} (GraphML: weights and source/target "
            "attributes; graph6: unweighted, one graph per line)."
        )
    return GRAPH_FORMATS[suffix]


def read_graphs(path: str | os.PathLike[str], *, name: str = "path") -> list[nx.Graph]:
    """Read every graph of a GraphML (``.graphml``) or graph6 (``.g6``, ``.graph6``) file.

    * **GraphML** (networkx's reader, all ``<graph>`` elements of the file, not only the
      first): carries edge weights (edge attribute ``weight``) and per-graph attributes such as
      ``source`` / ``target`` for :func:`shortest_path_dataset`. Node ids that are all integers
      are read as ints (GraphML stores them as strings), and ``source`` / ``target`` are mapped
      to the node with the same id.
    * **graph6** (one graph per line, nodes ``0 .. n - 1``): no weights, so shortest-path
      weights are drawn ``U[weight_range]``.

    The graphs must be simple and undirected, each with at least one edge (checked here, with
    the file and the graph's position in the message). :func:`write_graphs` writes both formats.

    Raises:
        ValueError: naming ``name``: a missing or unreadable file, an unknown ending, a parse
            error, no graph, or a graph that is directed, a multigraph, has self-loops or no
            edges.

    Example:
        >>> import networkx as nx, tempfile, pathlib
        >>> g = nx.path_graph(3)
        >>> nx.set_edge_attributes(g, 2.5, "weight")
        >>> g.graph.update(source=0, target=2)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.graphml"
        >>> _ = write_graphs(path, [g, nx.cycle_graph(4)])
        >>> first, second = read_graphs(path)
        >>> first.graph["source"], sorted(first.edges(data="weight"))
        (0, [(0, 1, 2.5), (1, 2, 2.5)])
        >>> second.graph.get("source"), second.number_of_edges()
        (None, 4)
    """
    fmt = _format(name, path)
    where = f"{name}={os.fspath(path)!r}"
    if not Path(path).is_file():
        raise ValueError(f"{where} is not allowed: no such file; expected a {fmt} file.")
    try:
        if fmt == "graph6":
            lines = [ln.strip() for ln in Path(path).read_bytes().splitlines()]
            graphs = [nx.from_graph6_bytes(ln) for ln in lines if ln]
        else:
            from networkx.readwrite.graphml import GraphMLReader

            graphs = [_int_nodes(g) for g in GraphMLReader()(path=os.fspath(path))]
    except (OSError, ValueError, TypeError, KeyError, nx.NetworkXError) as err:
        raise ValueError(f"{where} could not be read as {fmt}: {err}") from None
    except Exception as err:  # the XML parser's own errors (ParseError and friends)
        raise ValueError(f"{where} could not be read as {fmt}: {err}") from None
    if not graphs:
        raise ValueError(f"{where} holds no graph; expected at least one.")
    for i, g in enumerate(graphs):
        check_graph(f"{name} graph {i}", g)
    return graphs


def _int_nodes(g: nx.Graph) -> nx.Graph:
    """GraphML ids are strings: read all-integer ids as ints, and map source/target to ids."""
    ids = [str(v) for v in g.nodes]
    try:
        as_int = [int(v) for v in ids]
    except ValueError:
        as_int = None
    if as_int is not None and [str(v) for v in as_int] == ids:
        g = nx.relabel_nodes(g, dict(zip(g.nodes, as_int, strict=True)), copy=True)
    by_id = {str(v): v for v in g.nodes}
    for key in ("source", "target"):
        if key in g.graph and str(g.graph[key]) in by_id:
            g.graph[key] = by_id[str(g.graph[key])]
    for key in ("node_default", "edge_default"):
        g.graph.pop(key, None)
    return g


def write_graphs(path: str | os.PathLike[str], graphs: Sequence[nx.Graph]) -> Path:
    """Write ``graphs`` to one GraphML (``.graphml``) or graph6 (``.g6``) file; return the path.

    GraphML keeps edge weights and graph attributes (all ``<graph>`` elements in one file, as
    :func:`read_graphs` reads them); graph6 keeps only the structure (nodes relabelled
    ``0 .. n - 1`` in ``graph.nodes`` order, one graph per line). See :func:`read_graphs`.
    """
    fmt = _format("path", path)
    if isinstance(graphs, nx.Graph) or len(graphs) == 0:
        raise ValueError(
            f"graphs={graphs!r} is not allowed; expected a non-empty sequence of networkx graphs."
        )
    for i, g in enumerate(graphs):
        check_graph(f"graphs[{i}]", g)
    path = Path(path)
    if fmt == "graph6":
        lines = [
            nx.to_graph6_bytes(nx.convert_node_labels_to_integers(g), header=False).strip()
            for g in graphs
        ]
        path.write_bytes(b"\n".join(lines) + b"\n")
    else:
        from networkx.readwrite.graphml import GraphMLWriter

        writer = GraphMLWriter()
        writer.add_graphs(list(graphs))
        writer.dump(path)
    return path


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
