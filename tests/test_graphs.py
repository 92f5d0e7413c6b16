"""Graph families, task labels, padded batches and the max-degree spanning rank."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse.csgraph

from ntkx.graphs.batch import GraphBatch, check_graph_batch
from ntkx.graphs.sampling import (
    FAMILIES,
    batch_graphs,
    choose_source_target,
    max_degree_dataset,
    max_degree_label,
    read_graphs,
    sample_graph,
    shortest_path_dataset,
    shortest_path_label,
    shortest_path_targets,
    spanning_rank,
    write_graphs,
)


@pytest.mark.parametrize("family", FAMILIES)
def test_families_are_connected_with_requested_size(family):
    rng = np.random.default_rng(0)
    for n in (7, 12):
        g = sample_graph(family, n, rng)
        assert nx.is_connected(g)
        expected = 2 * (n // 2) if family == "ladder" else n
        assert g.number_of_nodes() == expected
    degrees = {d for _, d in sample_graph(family, 12, rng).degree()}
    known = {"complete": {11}, "cycle": {2}, "4regular": {4}, "path": {1, 2}, "star": {1, 11}}
    if family in known:
        assert degrees == known[family]


def test_sample_graph_rejects_bad_arguments():
    with pytest.raises(ValueError, match="family"):
        sample_graph("hypercube", 5)
    with pytest.raises(ValueError, match="n_nodes"):
        sample_graph("4regular", 4)
    with pytest.raises(ValueError, match="p="):
        sample_graph("general", 5, p=1.5)


def test_max_degree_labels_match_adjacency_row_sums():
    data = max_degree_dataset(12, ["general", "tree", "star"], 8, 15, seed=3)
    # Independent reference: row sums of the padded 0/1 adjacency.
    deg = (np.asarray(data.batch.adjacency) > 0).sum(-1)
    np.testing.assert_array_equal(data.labels, deg.max(-1))
    sizes = data.batch.num_nodes
    assert sizes.min() >= 8 and sizes.max() <= 15
    np.testing.assert_array_equal(data.batch.features[..., 0], data.batch.mask.astype(float))
    assert list(data.family[:3]) == ["general", "tree", "star"]


def test_max_degree_random_features_range_and_empty_graph_rejected():
    data = max_degree_dataset(5, "general", 6, 6, features="random", feature_range=10.0, seed=0)
    f = data.batch.features
    assert f.shape == (5, 6, 3) and np.abs(f).max() <= 10.0 and np.abs(f).max() > 5.0
    with pytest.raises(ValueError, match="empty"):
        max_degree_label(nx.Graph())


def test_shortest_path_labels_match_floyd_warshall_and_filters():
    data = shortest_path_dataset(10, ["general", "cycle"], 8, 14, weight_range=(1, 10), seed=1)
    for b in range(10):
        adj = np.asarray(data.batch.adjacency[b])
        feats = np.asarray(data.batch.features[b])
        n = int(data.batch.mask[b].sum())
        src, tgt = np.flatnonzero(feats[:, 1]), np.flatnonzero(feats[:, 2])
        assert len(src) == 1 and len(tgt) == 1 and src[0] != tgt[0]
        # Independent reference: scipy's Floyd-Warshall on the weighted adjacency.
        dist = scipy.sparse.csgraph.floyd_warshall(adj[:n, :n], directed=False)
        assert data.labels[b] == pytest.approx(dist[src[0], tgt[0]], rel=1e-12)
        w = adj[adj > 0]
        assert w.min() >= 1.0 and w.max() <= 10.0
        assert np.abs(feats[:n, 0]).max() <= 5.0
        g = data.graphs[b]
        paths = list(nx.all_shortest_paths(g, int(src[0]), int(tgt[0]), weight="weight"))
        assert len(paths) == 1 and len(paths[0]) - 1 <= 3


def test_shortest_path_unreachable_and_empty_are_errors_not_inf():
    g = nx.Graph()
    g.add_edge(0, 1, weight=1.0)
    g.add_edge(2, 3, weight=1.0)
    with pytest.raises(ValueError, match="not reachable"):
        shortest_path_label(g, 0, 3)
    with pytest.raises(ValueError, match="empty"):
        shortest_path_label(nx.Graph(), 0, 1)
    h = nx.path_graph(3)
    nx.set_edge_attributes(h, 2.5, "weight")
    assert shortest_path_label(h, 0, 2) == 5.0


def test_batch_graphs_pads_and_validates():
    g1, g2 = nx.path_graph(3), nx.complete_graph(4)
    batch = batch_graphs([g1, g2], [np.ones((3, 2)), 2 * np.ones((4, 2))], n_max=6)
    assert batch.features.shape == (2, 6, 2) and batch.adjacency.shape == (2, 6, 6)
    np.testing.assert_array_equal(batch.num_nodes, [3, 4])
    assert batch.adjacency[0, 3:].sum() == 0 and batch.features[0, 3:].sum() == 0
    np.testing.assert_array_equal(batch.adjacency[1, :4, :4], 1 - np.eye(4))
    assert batch.select([1]).features.shape == (1, 6, 2)
    with pytest.raises(ValueError, match="features\\[0\\] has 2 rows"):
        batch_graphs([g1], [np.ones((2, 2))])
    with pytest.raises(ValueError, match="n_max"):
        batch_graphs([g2], [np.ones((4, 2))], n_max=3)
    with pytest.raises(ValueError, match="no edges"):
        batch_graphs([nx.empty_graph(3)], [np.ones((3, 1))])


def test_spanning_rank_hand_computed_rows():
    graphs = [nx.path_graph(3), nx.star_graph(3), nx.complete_graph(3), nx.path_graph(4)]
    rep = spanning_rank(graphs)
    # (max deg, min deg, max deg * #max, min deg * #min), written out by hand:
    expected = np.array([[2, 1, 2, 2], [3, 1, 3, 3], [2, 2, 6, 6], [2, 1, 4, 2]], float)
    np.testing.assert_array_equal(rep.vectors, expected)
    # By hand: subtract row 0 from rows 1 and 3 and twice row 0 from row 2, then expand along
    # column 1 (only row 0 is nonzero there): det = -det([[1,1,1],[-2,2,2],[0,2,0]]) = 8 != 0.
    assert np.linalg.det(expected) == pytest.approx(8.0)
    assert rep.rank == 4 and rep.satisfied


@pytest.mark.parametrize("family", ["complete", "cycle", "4regular", "ladder"])
def test_single_degree_families_fail_the_spanning_condition(family):
    data = max_degree_dataset(12, family, 6, 12, seed=0)
    rep = spanning_rank(data.graphs)
    # Ladders have degrees {2, 3} but constant max/min degree: rows (3, 2, 3 (n-4), 8).
    assert rep.rank <= 3 and not rep.satisfied
    if family in ("complete", "cycle", "4regular"):
        assert rep.rank == 2


def _multigraph() -> nx.MultiGraph:
    g = nx.MultiGraph()
    g.add_edge(0, 1, weight=1.0)
    g.add_edge(0, 1, weight=3.0)  # parallel edge: no single weight or degree
    g.add_edge(1, 2, weight=2.0)
    return g


def _path_with_loop() -> nx.Graph:
    g = nx.path_graph(4)
    g.add_edge(1, 1)
    return g


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda g: max_degree_label(g), "graph"),
        (lambda g: shortest_path_label(g, 0, 2), "graph"),
        (lambda g: batch_graphs([nx.path_graph(2), g], [np.ones((2, 1)), np.ones((3, 1))]),
         "graphs\\[1\\]"),
        (lambda g: spanning_rank([g]), "graphs\\[0\\]"),
    ],
)  # fmt: skip
def test_multigraphs_and_self_loops_are_refused_everywhere(call, name):
    # One rule for labels and adjacency alike: graphs are simple. A multigraph's parallel
    # edges (weights 1 and 3) would give the label 1.0 and the adjacency 3.0; a self-loop
    # counts twice in networkx's degree and once in an adjacency entry.
    with pytest.raises(ValueError, match=f"{name} is a networkx multigraph.*MultiGraph"):
        call(_multigraph())
    with pytest.raises(ValueError, match=f"{name} has 1 self-loop\\(s\\) \\(first at node 1\\)"):
        call(_path_with_loop())


def test_simple_graph_labels_agree_with_adjacency_by_hand():
    # The same hand-built graphs once simple: label and adjacency agree. Star with centre 0 and
    # leaves 1-3, plus the edge 2-3: degrees (3, 1, 2, 2), max 3 = largest adjacency row sum.
    g = nx.star_graph(3)
    g.add_edge(2, 3)
    batch = batch_graphs([g], [np.ones((4, 1))])
    assert max_degree_label(g) == 3 == (np.asarray(batch.adjacency[0]) > 0).sum(1).max()
    # Weighted triangle 0-1 (1), 1-2 (2), 0-2 (5): distance 0 -> 2 is 1 + 2 = 3, and the
    # adjacency holds each weight once.
    h = nx.Graph()
    h.add_weighted_edges_from([(0, 1, 1.0), (1, 2, 2.0), (0, 2, 5.0)])
    a = np.asarray(batch_graphs([h], [np.ones((3, 1))], weight="weight").adjacency[0])
    assert shortest_path_label(h, 0, 2) == 3.0
    np.testing.assert_array_equal(a, [[0, 1, 5], [1, 0, 2], [5, 2, 0]])


def test_graph_batch_with_a_self_loop_is_refused():
    batch = batch_graphs([nx.path_graph(3)], [np.ones((3, 1))])
    adj = np.array(batch.adjacency)
    adj[0, 2, 2] = 1.0
    with pytest.raises(ValueError, match=r"x\.adjacency has a nonzero diagonal.*graph 0, node 2"):
        check_graph_batch("x", GraphBatch(batch.features, adj, batch.mask))


def _reference_targets(g, source, max_hops, unique):
    """Independent reference: networkx's enumeration of all shortest paths per target."""
    out = {}
    for t in g.nodes:
        if t == source or not nx.has_path(g, source, t):
            continue
        paths = list(nx.all_shortest_paths(g, source, t, weight="weight"))
        hops = min(len(q) - 1 for q in paths)
        if (max_hops is None or hops <= max_hops) and (not unique or len(paths) == 1):
            out[t] = (nx.shortest_path_length(g, source, t, weight="weight"), hops)
    return out


@pytest.mark.parametrize("weights", ["uniform", "integer", "none"])
def test_shortest_path_targets_match_networkx_enumeration(weights):
    # Integer and unit weights make many ties (several shortest paths, where uniqueness and the
    # fewest-hops rule matter); the reference enumerates every shortest path with networkx.
    rng = np.random.default_rng(5)
    for trial in range(6):
        g = nx.gnp_random_graph(14, 0.25, seed=trial)
        g.add_edge(0, 13)  # keep the source's component non-trivial
        for u, v in g.edges:
            g[u][v]["weight"] = {"uniform": rng.uniform(1, 5), "integer": float(rng.integers(1, 4)),
                                 "none": 1.0}[weights]  # fmt: skip
        for max_hops, unique in ((3, True), (None, True), (2, False), (None, False)):
            got = shortest_path_targets(g, 0, max_hops=max_hops, unique=unique)
            ref = _reference_targets(g, 0, max_hops, unique)
            assert sorted(t for t, _, _ in got) == sorted(ref)
            for t, d, h in got:
                # equal sums of the same edge weights, added in path order by both: 1e-12
                assert d == pytest.approx(ref[t][0], rel=1e-12) and h == ref[t][1]
            assert [d for _, d, _ in got] == sorted(d for _, d, _ in got)


def test_choose_source_target_and_its_errors():
    g = nx.path_graph(6)
    nx.set_edge_attributes(g, 1.5, "weight")
    for seed in range(5):
        s, t, d = choose_source_target(g, seed)
        assert 1 <= abs(s - t) <= 3 and d == pytest.approx(1.5 * abs(s - t), rel=1e-15)
    s, t, d = choose_source_target(g, 0, source=0, max_hops=1)
    assert (s, t, d) == (0, 1, 1.5)
    lonely = nx.Graph([(0, 1)])
    lonely.add_node(2)  # an isolated source reaches no target
    with pytest.raises(
        ValueError, match="no target within max_hops=3 with unique=True from source=2"
    ):
        choose_source_target(lonely, 0, source=2, weight=None)
    with pytest.raises(ValueError, match="source=7 is not a node"):
        choose_source_target(g, 0, source=7)


def test_max_degree_dataset_on_given_graphs():
    star, path = nx.star_graph(4), nx.path_graph(["a", "b", "c"])
    star.graph["family"] = "my-stars"
    data = max_degree_dataset(graphs=[star, path])
    # by hand: the star's centre has 4 neighbours, a path's middle node 2
    np.testing.assert_array_equal(data.labels, [4.0, 2.0])
    assert data.family.tolist() == ["my-stars", "custom"]
    assert list(data.graphs[1].nodes) == [0, 1, 2] and list(path.nodes) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="n_graphs given together with graphs"):
        max_degree_dataset(3, graphs=[star])
    with pytest.raises(ValueError, match="families, n_min, n_max missing"):
        max_degree_dataset(3)
    with pytest.raises(ValueError, match=r"graphs=.* is not allowed; expected a non-empty"):
        max_degree_dataset(graphs=star)


def test_shortest_path_dataset_on_given_graphs():
    # weights given on every edge are kept; a given (source, target) is kept
    g = nx.Graph()
    g.add_weighted_edges_from([("s", "x", 1.0), ("x", "t", 2.0), ("s", "t", 4.0)])
    g.graph.update(source="s", target="t")
    # no weights: drawn U[2, 2] = 2 per edge; no source/target: chosen (unique, <= 3 hops)
    h = nx.path_graph(5)
    data = shortest_path_dataset(graphs=[g, h], weight_range=(2.0, 2.0), seed=1)
    assert data.labels[0] == 3.0  # s-x-t = 1 + 2 beats the direct edge 4 (by hand)
    f0 = np.asarray(data.batch.features[0])
    assert f0[0, 1] == 1.0 and f0[2, 2] == 1.0 and f0[:, 1:].sum() == 2.0
    s, t = data.graphs[1].graph["source"], data.graphs[1].graph["target"]
    assert data.labels[1] == 2.0 * abs(s - t) and 1 <= abs(s - t) <= 3
    np.testing.assert_array_equal(np.unique(data.batch.adjacency[1]), [0.0, 2.0])
    assert "weight" not in h.edges[0, 1] and g.graph["source"] == "s"  # inputs unmodified
    partial = nx.path_graph(3)
    partial.edges[0, 1]["weight"] = 1.0
    with pytest.raises(ValueError, match=r"graphs\[0\] has a 'weight' on 1 of its 2 edges"):
        shortest_path_dataset(graphs=[partial])
    bad = nx.path_graph(3)
    bad.graph.update(source=0, target=9)
    with pytest.raises(ValueError, match=r"graphs\[0\].graph\['target'\]=9 is not a node"):
        shortest_path_dataset(graphs=[bad])
    with pytest.raises(ValueError, match=r"graphs\[0\] is a networkx multigraph"):
        shortest_path_dataset(graphs=[_multigraph()])


@pytest.mark.parametrize("suffix", [".graphml", ".g6"])
def test_read_graphs_round_trip(tmp_path, suffix):
    g = nx.Graph()
    g.add_weighted_edges_from([(0, 1, 1.25), (1, 2, 3.5), (2, 3, 2.0)])
    g.graph.update(source=0, target=3)
    graphs = [g, nx.complete_graph(4), nx.star_graph(5)]
    path = write_graphs(tmp_path / f"set{suffix}", graphs)
    back = read_graphs(path)
    assert len(back) == 3
    for a, b in zip(graphs, back, strict=True):
        assert sorted(a.edges) == sorted(b.edges) and sorted(a.nodes) == sorted(b.nodes)
    if suffix == ".graphml":  # GraphML keeps weights and the source/target pair
        assert sorted(back[0].edges(data="weight")) == [(0, 1, 1.25), (1, 2, 3.5), (2, 3, 2.0)]
        data = shortest_path_dataset(graphs=back[:1])
        assert data.labels[0] == 1.25 + 3.5 + 2.0


def test_read_graphs_errors(tmp_path):
    with pytest.raises(ValueError, match=r"train=.*unknown file type '\.txt'"):
        read_graphs(tmp_path / "g.txt", name="train")
    with pytest.raises(ValueError, match=r"train=.*no such file"):
        read_graphs(tmp_path / "g.graphml", name="train")
    (tmp_path / "bad.graphml").write_text("<graphml><graph><node id=")
    with pytest.raises(ValueError, match="could not be read as graphml"):
        read_graphs(tmp_path / "bad.graphml")
    nx.write_graphml(nx.DiGraph([(0, 1)]), tmp_path / "d.graphml")
    with pytest.raises(ValueError, match=r"path graph 0=.*expected an undirected"):
        read_graphs(tmp_path / "d.graphml")
    multi = nx.MultiGraph([(0, 1), (0, 1), (1, 2)])
    nx.write_graphml(multi, tmp_path / "m.graphml")
    with pytest.raises(ValueError, match="path graph 0 is a networkx multigraph"):
        read_graphs(tmp_path / "m.graphml")
    (tmp_path / "e.g6").write_text("\n")
    with pytest.raises(ValueError, match="holds no graph"):
        read_graphs(tmp_path / "e.g6")
