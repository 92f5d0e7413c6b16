"""Graph families, task labels, padded batches and the max-degree spanning rank."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse.csgraph

from ntkx.graphs.sampling import (
    FAMILIES,
    batch_graphs,
    max_degree_dataset,
    max_degree_label,
    sample_graph,
    shortest_path_dataset,
    shortest_path_label,
    spanning_rank,
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
