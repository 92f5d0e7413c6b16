"""Function-class bounds behind the max-degree fitting recipes (benchmarks/graph_fit_recipes.py).

The README's claim that no 2-layer sum-readout GNN reaches 2% training MAPE on max degree with
500+ graphs rests on two facts checked here: the linear program ``best_mape`` returns the true
minimum (a hand case), and with identical node features every 2-layer sum/sum GNN's output lies
in the span of the ``c + sum_edges g(deg u, deg v)`` design (so that class bounds the GNN); a
3-layer GNN, which sees 2-hop degrees, does not (the check can fail).
"""

from __future__ import annotations

import jax
import networkx as nx
import numpy as np
import pytest
from scripts import load_script

import ntkx

recipes = load_script("benchmarks/graph_fit_recipes.py", "graph_fit_recipes")


def test_best_mape_hand_case() -> None:
    """A constant c on labels 1 and 2: mean(|c - 1| / 1, |c - 2| / 2) is smallest at c = 1,
    value (0 + 1/2) / 2 = 25%; with a free slope on x = y the fit is exact (0%)."""
    y = np.array([1.0, 2.0])
    assert recipes.best_mape([[1.0], [1.0]], y) == pytest.approx(25.0, abs=1e-9)
    assert recipes.best_mape([[1.0, 1.0], [1.0, 2.0]], y) == pytest.approx(0.0, abs=1e-9)


def _residual(design: np.ndarray, f: np.ndarray) -> float:
    """Relative least-squares residual of ``f`` in the column span of ``design``."""
    x = np.linalg.lstsq(design, f, rcond=None)[0]
    return float(np.linalg.norm(design @ x - f) / np.linalg.norm(f - f.mean()))


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_sum_readout_gnn_lies_in_the_degree_pair_class(depth: int) -> None:
    """40 small general graphs (5-7 nodes: at most 29 design columns, so the span is a proper
    subspace of R^40; measured rank 19): a random 1- or 2-layer sum/sum GNN (float64) is in the
    span to 1e-10 (measured 2.3e-15 and 2.4e-15: round-off); a 3-layer one is not (measured
    1.2e-3; > 1e-6 is six orders above round-off), so the inclusion test can fail."""
    data = ntkx.max_degree_dataset(40, "general", 5, 7, seed=3)
    _, edges = recipes.max_degree_design(data.graphs)
    assert np.linalg.matrix_rank(edges) < len(edges)
    net = ntkx.gnn(depth, "sum", "sum", 16, b_std=0.5)
    with jax.enable_x64(True):
        params = jax.tree_util.tree_map(
            lambda p: np.asarray(p, np.float64), net.init(jax.random.key(depth), 1)
        )
        batch = ntkx.GraphBatch(
            np.asarray(data.batch.features, np.float64),
            np.asarray(data.batch.adjacency, np.float64),
            data.batch.mask,
        )
        f = np.asarray(net.apply(params, batch))[:, 0]
    if depth < 3:
        assert _residual(edges, f) < 1e-10
    else:
        assert _residual(edges, f) > 1e-6


large = load_script("benchmarks/graph_max_degree_large.py")


def _float64(tree):
    return jax.tree_util.tree_map(lambda p: np.asarray(p, np.float64), tree)


@pytest.mark.parametrize("message_relu", [False, True])
def test_max_degree_probes_equal_the_network(message_relu: bool) -> None:
    """The algebra behind the README's max-degree diagnosis, against ``net.apply`` (float64,
    an independent evaluation): with identical features scaled by 10, a random 2-layer
    sum-aggregation max-readout GNN (b_std 0.5, so biases matter) gives on K_{d+1} the unit-by-
    unit formula of ``complete_graph_outputs``, and with the second message MLP's input
    weights set to zero it is ``A maxdeg + B mindeg + b`` on any graph (here 30 general graphs
    of 8-40 nodes and star graphs), with ``B = 0`` when a ReLU follows each message MLP.
    Tolerance 1e-9 relative: the same float64 arithmetic in another order. A wrong sign of
    ``B`` or a missing ReLU changes the outputs by O(1), so the checks can fail."""
    net = ntkx.gnn(2, "sum", "max", 16, b_std=0.5, message_relu=message_relu)
    with jax.enable_x64(True):
        params = _float64(net.init(jax.random.key(4), 1))
        degrees = (3, 9, 40)
        ks = ntkx.max_degree_dataset(graphs=[nx.complete_graph(d + 1) for d in degrees])
        batch = ntkx.GraphBatch(
            np.asarray(ks.batch.features, np.float64) * 10, ks.batch.adjacency, ks.batch.mask
        )
        direct = np.asarray(net.apply(params, batch))[:, 0]
        formula = large.complete_graph_outputs(large.diagonal_terms(net, params, 10.0), degrees)
        np.testing.assert_allclose(formula, direct, rtol=1e-9)
        assert np.isnan(large.constant_message_readout(net, params, 10.0)["A"])  # w3 != 0
        params[2] = (np.zeros_like(params[2][0]), params[2][1])
        lin = large.constant_message_readout(net, params, 10.0)
        data = ntkx.max_degree_dataset(30, "general", 8, 40, seed=5)
        batch = ntkx.GraphBatch(
            np.asarray(data.batch.features, np.float64) * 10, data.batch.adjacency, data.batch.mask
        )
        f = np.asarray(net.apply(params, batch))[:, 0]
    mindeg = np.array([min(d for _, d in g.degree()) for g in data.graphs], np.float64)
    want = lin["A"] * data.labels + lin["B"] * mindeg + lin["b"]
    np.testing.assert_allclose(want, f, rtol=1e-9)
    assert lin["check AB"] < 1e-9
    if message_relu:
        assert lin["B"] == 0
    else:  # this seed has both signs of m, so the min-degree channel is exercised
        assert lin["B"] != 0 and lin["A"] != 0
