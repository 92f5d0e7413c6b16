"""The closed-form GNN kernels against an independent plain-NumPy edge-loop reference.

``tests/graph_reference.py`` is written from the limit of the finite network with explicit
Python loops over edge lists (it imports neither ntkx nor jax). Both sides are float64, so the
only differences are summation order and rounding: the tolerance is 1e-10 relative.

Padding: both batches are padded to the same number of nodes. With different paddings the
per-graph variances can round differently by an ulp; for a graph that appears in both
batches the ReLU angle is then computed from a cosine of 1 - O(eps) instead of exactly 1,
which costs sqrt(eps) in the NTK (measured 1.8e-10 at depth 3 against a 40-digit evaluation).
"""

from __future__ import annotations

import numpy as np
import pytest
from graph_reference import gnn_kernel_numpy, gnn_kernel_reference, random_graph

import ntkx
from ntkx.graphs.batch import GraphBatch

TOL = 1e-10


def _random_graph(rng, n, weighted=True):
    return random_graph(rng, n, weighted=weighted, n_features=3)


def _pad(graphs, n_max):
    feats = np.zeros((len(graphs), n_max, 3))
    adj = np.zeros((len(graphs), n_max, n_max))
    mask = np.zeros((len(graphs), n_max), bool)
    for i, (x, a) in enumerate(graphs):
        n = x.shape[0]
        feats[i, :n], adj[i, :n, :n], mask[i, :n] = x, a, True
    return GraphBatch(feats, adj, mask)


@pytest.fixture(scope="module")
def graphs():
    rng = np.random.default_rng(1234)
    g1 = [_random_graph(rng, n) for n in (3, 5, 8, 4)]
    g2 = [_random_graph(rng, n) for n in (6, 8, 3)] + [g1[1]]  # one graph on both sides
    return g1, g2


# (depth, aggregation, readout, edge_weights, W_std, b_std): every value of every option
# appears, depths 1-3 with both aggregations and both readouts.
SETTINGS = [
    (1, "sum", "sum", True, 1.0, None),
    (1, "mean", "mean", False, 1.5, 0.3),
    (2, "sum", "mean", True, 1.5, 0.3),
    (2, "mean", "sum", False, 1.0, None),
    (2, "sum", "sum", False, 1.0, 0.3),
    (3, "mean", "mean", True, 1.0, 0.3),
    (3, "sum", "sum", True, 1.5, None),
    (3, "mean", "sum", False, 1.5, 0.3),
]


@pytest.mark.parametrize(("depth", "agg", "readout", "edge", "w_std", "b_std"), SETTINGS)
def test_closed_form_equals_edge_loop_reference(graphs, depth, agg, readout, edge, w_std, b_std):
    g1, g2 = graphs
    net = ntkx.gnn(depth, agg, readout, 16, W_std=w_std, b_std=b_std, edge_weights=edge)
    b1, b2 = _pad(g1, 8), _pad(g2, 8)
    kw = dict(depth=depth, aggregation=agg, readout=readout, edge_weights=edge, W_std=w_std,
              b_std=b_std)  # fmt: skip
    ntk_ref, nngp_ref = gnn_kernel_reference(g1, g2, **kw)
    ntk_sym_ref, nngp_sym_ref = gnn_kernel_reference(g1, g1, **kw)
    cross = ntkx.kernel(net, b1, b2, ("ntk", "nngp"), dtype="float64")
    sym = ntkx.kernel(net, b1, get=("ntk", "nngp"), dtype="float64", block_size=3)
    for got, want in ((cross.ntk, ntk_ref), (cross.nngp, nngp_ref), (sym.ntk, ntk_sym_ref),
                      (sym.nngp, nngp_sym_ref)):  # fmt: skip
        err = np.max(np.abs(got - want)) / np.max(np.abs(want))
        assert err <= TOL, err


@pytest.mark.parametrize(("depth", "agg", "readout", "edge", "w_std", "b_std"), SETTINGS[::2])
def test_vectorized_numpy_reference_equals_the_loops(
    graphs, depth, agg, readout, edge, w_std, b_std
):
    # The benchmark's plain-NumPy baseline (edge pairs as arrays) computes the same kernel as
    # the loops: float64 both, only summation order differs; but BLAS may round x_u . x_u in
    # a cross product differently from the self-product, and a cosine 1 - ulp costs sqrt(ulp)
    # in arccos for the shared graph's edges (measured 6.6e-12 relative): TOL = 1e-10.
    g1, g2 = graphs
    kw = dict(depth=depth, aggregation=agg, readout=readout, edge_weights=edge, W_std=w_std,
              b_std=b_std)  # fmt: skip
    for got, want in zip(gnn_kernel_numpy(g1, g2, **kw), gnn_kernel_reference(g1, g2, **kw),
                         strict=True):  # fmt: skip
        assert np.max(np.abs(got - want)) / np.max(np.abs(want)) <= TOL


def test_the_reference_catches_a_wrong_recursion(graphs):
    # The comparison can fail: a 1.2x NNGP or the plain 1/sqrt(2d + 1) normalization of the
    # first dense layer (which loses the edge weight as the width grows) are far outside 1e-10.
    import graph_reference

    g1, _ = graphs
    kw = dict(depth=2, aggregation="sum", readout="mean", edge_weights=True, W_std=1.5, b_std=0.3)
    ntk, nngp = gnn_kernel_reference(g1, g1, **kw)
    got = ntkx.kernel(ntkx.gnn(2, "sum", "mean", 16, W_std=1.5, b_std=0.3, edge_weights=True),
                      _pad(g1, 8), get=("ntk", "nngp"), dtype="float64")  # fmt: skip
    assert np.max(np.abs(1.2 * got.nngp - nngp)) / np.max(nngp) > 0.1
    original = graph_reference._group_coefficients

    def plain(layer, n_features, W_std, edge_weights):
        d = 3 if layer == 0 else None  # the features' size at the first layer
        if d is None:
            return original(layer, n_features, W_std, edge_weights)
        c = W_std * W_std * d / (2 * d + 1)
        return c, c, W_std * W_std / (2 * d + 1)

    graph_reference._group_coefficients = plain
    try:
        ntk_plain, _ = gnn_kernel_reference(g1, g1, **kw)
    finally:
        graph_reference._group_coefficients = original
    assert np.max(np.abs(got.ntk - ntk_plain)) / np.max(ntk) > 1e-3


def test_threaded_tiles_equal_the_reference(graphs, monkeypatch):
    # The engine computes the GNN's closed-form tiles from two host threads on CPU
    # (GNN.tile_threads = 2). Forced to 3 threads on tiles of one graph (10 symmetric tiles,
    # float64): equal to the edge-loop reference at TOL (a thread computing in float32, jax's
    # x64 switch being thread-local, would be ~1e-7 off) and bitwise equal to one thread.
    from ntkx.core import kernels as engine

    g1, _ = graphs
    net = ntkx.gnn(2, "sum", "sum", 16, b_std=0.3, edge_weights=True)
    got = {}
    for threads in (1, 3):
        monkeypatch.setattr(engine, "_thread_count", lambda net, t=threads: t)
        got[threads] = ntkx.kernel(net, _pad(g1, 8), get=("ntk", "nngp"), dtype="float64",
                                   block_size=1)  # fmt: skip
    ref = gnn_kernel_reference(g1, g1, depth=2, aggregation="sum", readout="sum",
                               edge_weights=True, W_std=1.0, b_std=0.3)  # fmt: skip
    assert net.tile_threads == 2
    for k, want in zip(("ntk", "nngp"), ref, strict=True):
        np.testing.assert_array_equal(getattr(got[3], k), getattr(got[1], k))
        assert np.max(np.abs(getattr(got[3], k) - want)) / np.max(np.abs(want)) <= TOL
