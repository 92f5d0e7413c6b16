"""One kernel engine and one solver entry for every architecture and batch type.

References: separate single-kernel calls for ``get=("ntk", "nngp")``; plain NumPy solves on
the engine's kernels for the Monte Carlo solver; hand-computed standard errors.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import ntkx
from ntkx.graphs.sampling import max_degree_dataset


@pytest.fixture(scope="module")
def graphs():
    train = max_degree_dataset(6, "general", 4, 6, seed=0, features="random")
    test = max_degree_dataset(4, "general", 5, 7, seed=1, features="random")
    return train, test


def _nets():
    return {
        "mlp": ntkx.mlp(depth=3, b_std=0.1, width=32),
        "gnn_sum": ntkx.gnn(2, "sum", "sum", 16, b_std=0.1),
        "gnn_max": ntkx.gnn(1, "sum", "max", 16, b_std=0.1),
    }


def _inputs(name, graphs):
    if name == "mlp":
        rng = np.random.default_rng(0)
        return rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    return graphs[0].batch, graphs[1].batch


@pytest.mark.parametrize("name", ["mlp", "gnn_sum", "gnn_max"])
def test_both_kernels_in_one_pass_equal_separate_calls(name, graphs):
    net = _nets()[name]
    x1, x2 = _inputs(name, graphs)
    key = jax.random.key(0)
    methods = ["empirical", "monte_carlo"] + (["closed_form"] if name != "gnn_max" else [])
    params = net.init(key, net.input_dim(net.check_inputs("x", x1)))
    for method in methods:
        kw = {"key": key, "n_samples": 2} if method == "monte_carlo" else {}
        if method == "empirical":
            kw = {"params": params}
        for a, b in ((x1, None), (x1, x2)):
            both = ntkx.kernel(net, a, b, ("ntk", "nngp"), method, dtype="float64", **kw)
            for get in ("ntk", "nngp"):
                one = ntkx.kernel(net, a, b, get, method, dtype="float64", **kw)
                got = getattr(both, get)
                if method == "monte_carlo":
                    np.testing.assert_allclose(got.mean, one.mean, rtol=1e-12)
                    np.testing.assert_allclose(got.stderr, one.stderr, rtol=1e-9, atol=1e-15)
                else:
                    np.testing.assert_allclose(got, one, rtol=1e-12)


@pytest.mark.parametrize("x2_is_none", [True, False])
def test_kept_jacobians_equal_per_tile_jacobians_and_are_computed_once(
    x2_is_none, graphs, monkeypatch
):
    """Finite-network kernels over several tiles keep every input's Jacobian for the call
    (kernels._keeps_jacobians) instead of recomputing both blocks' Jacobians in each tile.
    Reference: the same networks through neural-tangents' empirical NTK on one tile
    (block_size above n). Same Jacobians, other summation order: float64 rounding (1e-12)."""
    from ntkx.core import kernels

    net = ntkx.gnn(2, "min", "min", 16, b_std=0.1, edge_weights=True)  # no closed form
    x1, x2 = graphs[0].batch, (None if x2_is_none else graphs[1].batch)
    kw = {"key": jax.random.key(3), "n_samples": 2, "dtype": "float64"}
    inputs = []
    real_fn = kernels._jacobian_fn

    def counting_fn(*args):
        fn = real_fn(*args)

        def rows(params, x):
            inputs.append(len(x))
            return fn(params, x)

        return rows

    monkeypatch.setattr(kernels, "_jacobian_fn", counting_fn)
    kept = ntkx.kernel(net, x1, x2, ("ntk", "nngp"), "monte_carlo", block_size=2, **kw)
    n_inputs = len(x1) + (0 if x2 is None else len(x2))
    # each input once per network: chunks of 2 (the last padded to 2)
    assert sum(inputs) == 2 * sum(-(-len(x) // 2) * 2 for x in (x1, x2) if x is not None)
    assert sum(inputs) < 2 * n_inputs + 2 * 2
    one_tile = ntkx.kernel(net, x1, x2, ("ntk", "nngp"), "monte_carlo", block_size=64, **kw)
    assert len(inputs) == 2 * (-(-len(x1) // 2) + (0 if x2 is None else -(-len(x2) // 2)))
    for g in ("ntk", "nngp"):
        got, want = getattr(kept, g), getattr(one_tile, g)
        scale = np.abs(want.mean).max()
        np.testing.assert_allclose(got.mean, want.mean, rtol=1e-12, atol=1e-12 * scale)
        np.testing.assert_allclose(got.stderr, want.stderr, rtol=1e-9, atol=1e-12 * scale)
        if x2 is None:
            np.testing.assert_array_equal(got.mean, got.mean.T)
    # Over the budget, tiles compute their own Jacobians again: the same matrix.
    monkeypatch.setattr(kernels, "JACOBIAN_BUDGET", 0)
    calls = len(inputs)
    tiled = ntkx.kernel(net, x1, x2, "ntk", "monte_carlo", block_size=2, **kw)
    assert len(inputs) == calls  # the kept-Jacobian function was not used
    scale = np.abs(one_tile.ntk.mean).max()
    np.testing.assert_allclose(tiled.mean, one_tile.ntk.mean, rtol=1e-12, atol=1e-12 * scale)


@pytest.mark.parametrize("name", ["mlp", "gnn_sum"])
def test_tiles_do_not_change_the_matrix(name, graphs):
    net = _nets()[name]
    x1, x2 = _inputs(name, graphs)
    whole = ntkx.kernel(net, x1, x2, dtype="float64", block_size=100)
    tiled = ntkx.kernel(net, x1, x2, dtype="float64", block_size=2)
    np.testing.assert_allclose(tiled, whole, rtol=1e-13)
    sym = ntkx.kernel(net, x1, dtype="float64", block_size=3)
    np.testing.assert_array_equal(sym, sym.T)
    np.testing.assert_allclose(sym, ntkx.kernel(net, x1, x1, dtype="float64"), rtol=1e-9)


def test_monte_carlo_kernel_regression_uses_the_same_networks(graphs):
    train, test = graphs
    net = _nets()["gnn_max"]
    key = jax.random.key(5)
    model = ntkx.kernel_regression(
        net, train.batch, train.labels, 0.01, method="monte_carlo", key=key, n_samples=4,
        dtype="float64",
    )  # fmt: skip
    k_tt = ntkx.kernel(
        net, train.batch, method="monte_carlo", key=key, n_samples=4, dtype="float64"
    )
    k_st = ntkx.kernel(
        net, test.batch, train.batch, method="monte_carlo", key=key, n_samples=4, dtype="float64"
    )
    # Reference: a plain NumPy solve on the engine's Monte Carlo kernels.
    alpha = np.linalg.solve(k_tt.mean + 0.01 * np.eye(len(train.labels)), train.labels)
    np.testing.assert_allclose(model.predict(test.batch), k_st.mean @ alpha, rtol=1e-8)
    d = model.diagnostics
    assert d.kernel_method == "monte_carlo" and d.n_samples == 4
    rel = np.linalg.norm(k_tt.stderr) / np.linalg.norm(k_tt.mean)
    assert d.kernel_rel_stderr == pytest.approx(rel, rel=1e-12)
    assert 0 < rel < 1
    # A different key gives different networks, hence a different predictor.
    other = ntkx.kernel_regression(
        net, train.batch, train.labels, 0.01, method="monte_carlo", key=jax.random.key(6),
        n_samples=4, dtype="float64",
    )  # fmt: skip
    assert np.max(np.abs(other.predict(test.batch) - model.predict(test.batch))) > 1e-6


def test_precomputed_kernels_are_accepted(graphs):
    train, test = graphs
    net = _nets()["gnn_sum"]
    k_tt = ntkx.kernel(net, train.batch, dtype="float64")
    k_st = ntkx.kernel(net, test.batch, train.batch, dtype="float64")
    model = ntkx.kernel_regression(k_tt, None, train.labels, 0.1)
    ref = k_st @ np.linalg.solve(k_tt + 0.1 * np.eye(len(k_tt)), train.labels)
    np.testing.assert_allclose(model.predict_kernel(k_st), ref, rtol=1e-10)
    direct = ntkx.kernel_regression(net, train.batch, train.labels, 0.1, dtype="float64")
    np.testing.assert_allclose(direct.predict(test.batch), ref, rtol=1e-10)
    assert model.diagnostics.kernel_method == "precomputed"
    with pytest.raises(ValueError, match="precomputed kernel"):
        model.predict(test.batch)
    with pytest.raises(ValueError, match=r"expected a finite \(m, 6\)"):
        model.predict_kernel(k_st[:, :3])
    with pytest.raises(TypeError, match="x_train is given"):
        ntkx.kernel_regression(k_tt, train.batch, train.labels)


def test_engine_refusals_name_the_argument(graphs):
    train, _ = graphs
    net = _nets()["gnn_max"]
    with pytest.raises(ValueError, match=r"method='closed_form' is not allowed .*'monte_carlo'"):
        ntkx.kernel(net, train.batch)
    with pytest.raises(ValueError, match="key=None is not allowed"):
        ntkx.kernel_regression(net, train.batch, train.labels, method="monte_carlo")
    with pytest.raises(ValueError, match="key=3 is not allowed"):
        ntkx.kernel(net, train.batch, method="monte_carlo", key=3, n_samples=2)
    with pytest.raises(ValueError, match=r"get=\('ntk', 'ntk'\) is not allowed"):
        ntkx.kernel(ntkx.mlp(), np.eye(2), get=("ntk", "ntk"))
    with pytest.raises(ValueError, match="params do not fit"):
        ntkx.kernel(ntkx.mlp(), np.eye(3), method="empirical", params=ntkx.mlp().init(
            jax.random.key(0), 2))  # fmt: skip


@pytest.mark.parametrize("name", ["mlp2", "gnn_max"])
def test_monte_carlo_dual_equals_the_kernel_matrix_times_alpha(name, graphs, monkeypatch):
    """MonteCarloDual's predictions against the engine's Monte Carlo test/train kernel
    (Jacobian products J J^T / k, and f f^T / k) times the same alpha: one quantity, two
    computations, the same networks (same key). 2 outputs x 3 target columns for the MLP (the
    cross terms between outputs must not enter); 3 target columns through the GNN's max
    readout (where XLA computed wrong numbers for JVPs under vmap + jit; NaN in
    test_graph_experiments' quick max-degree kernel run); chunks of 2 with a padded last
    chunk. Float64 rounding: 1e-10. Then kernel_regression predicts through it, and without
    it (over the memory budget) through the kernel rows: the same numbers."""
    from ntkx.core import kernels
    from ntkx.core.kernels import MonteCarloDual

    net = ntkx.mlp(depth=3, b_std=0.1, width=32, out_dim=2) if name == "mlp2" else _nets()[name]
    x1, x2 = _inputs("mlp" if name == "mlp2" else name, graphs)
    key = jax.random.key(7)
    alpha = np.random.default_rng(1).normal(size=(num := len(x1), 3))
    gets = ("ntk", "nngp") if name == "mlp2" else ("ntk",)
    kw = {"key": key, "n_samples": 3, "dtype": "float64"}
    for get in gets:
        dual = MonteCarloDual(net, key, x1, alpha, get, n_samples=3, dtype="float64", block_size=2)
        for x in (x2, x1):  # test inputs, and the training inputs (odd count: padded chunk)
            want = ntkx.kernel(net, x, x1, get, "monte_carlo", **kw).mean @ alpha
            np.testing.assert_allclose(dual(x), want, rtol=1e-10, atol=1e-10 * np.abs(want).max())
    with pytest.raises(ValueError, match=r"alpha has shape \(2, 3\)"):
        MonteCarloDual(net, key, x1, alpha[:2], "ntk", n_samples=3)
    y = np.random.default_rng(2).normal(size=num)
    model = ntkx.kernel_regression(net, x1, y, 0.1, method="monte_carlo", **kw)
    got = model.predict(x2)
    assert model._dual is not None  # the dual path was taken
    monkeypatch.setattr(kernels, "JACOBIAN_BUDGET", 0)
    rows = ntkx.kernel_regression(net, x1, y, 0.1, method="monte_carlo", **kw)
    np.testing.assert_allclose(got, rows.predict(x2), rtol=1e-10, atol=1e-12)
    assert rows._dual is None
