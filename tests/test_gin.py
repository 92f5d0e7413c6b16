"""GIN spec (Du et al.'s GNTK network): closed form against the independent Kronecker-form
reference of Du et al.'s code, finite network against a loop forward pass, padding invariance,
Monte Carlo, trainable layers, refusals and validation, the solver.

``tests/gntk_reference.py`` is plain NumPy + scipy.sparse, written from the paper in the
Kronecker form of the authors' code; it imports neither ntkx nor jax. Both sides run in
float64, so the closed forms must agree to 1e-10 relative up to the one constant the GIN
docstring states: ntkx's NTK and NNGP are the reference's divided by the feature count F
(ntkx's input kernel is x.x'/F, theirs x.x').
"""

from __future__ import annotations

import math

import gntk_reference as gntk_reference_module
import jax
import numpy as np
import pytest
from gntk_reference import gntk_reference
from graph_reference import random_graph

import ntkx
from ntkx.core.numerics import precision_context
from ntkx.core.protocol import cast_floats
from ntkx.graphs.batch import GraphBatch
from ntkx.graphs.gin import GIN, gin

TOL = 1e-10
F = 3  # node features


def _random_graph(rng, n, weighted=False):
    return random_graph(rng, n, weighted=weighted, n_features=F)


def _pad(graphs, n_max, rng=None):
    """A GraphBatch of ``(features, adjacency)`` pairs padded to ``n_max`` nodes.

    With ``rng``, padded nodes get garbage (finite) features: they must never contribute.
    """
    feats = np.zeros((len(graphs), n_max, F))
    adj = np.zeros((len(graphs), n_max, n_max))
    mask = np.zeros((len(graphs), n_max), bool)
    for i, (x, a) in enumerate(graphs):
        n = x.shape[0]
        feats[i, :n], adj[i, :n, :n], mask[i, :n] = x, a, True
        if rng is not None:
            feats[i, n:] = 7 * rng.normal(size=(n_max - n, F))
    return GraphBatch(feats, adj, mask)


def _rel(got, want):
    return float(np.max(np.abs(np.asarray(got) - np.asarray(want))) / np.max(np.abs(want)))


@pytest.fixture(scope="module")
def graphs():
    rng = np.random.default_rng(2024)
    g1 = [_random_graph(rng, n) for n in (3, 5, 8, 6)]
    g2 = [_random_graph(rng, n) for n in (7, 4, 8)] + [g1[1]]  # one graph on both sides
    return g1, g2


# --------------------------------------------------------------------------- Du et al.

# (depth, mlp_depth, jumping_knowledge, neighbor_scale): depths 1-4 twice each, mlp_depth 1-3,
# jumping knowledge on and off and both scalings each four times.
SETTINGS = [
    (1, 1, False, "uniform"),
    (1, 3, True, "degree"),
    (2, 2, False, "uniform"),
    (2, 2, True, "degree"),
    (3, 1, False, "degree"),
    (3, 3, True, "uniform"),
    (4, 2, False, "degree"),
    (4, 1, True, "uniform"),
]


@pytest.mark.parametrize(("depth", "mlp_depth", "jk", "scale"), SETTINGS)
def test_closed_form_equals_du_et_al_kronecker_reference(graphs, depth, mlp_depth, jk, scale):
    g1, g2 = graphs
    net = gin(depth, mlp_depth, W_std=math.sqrt(2.0), jumping_knowledge=jk, neighbor_scale=scale)
    kw = dict(num_layers=depth + 1, num_mlp_layers=mlp_depth, jk=jk, scale=scale)
    ntk_ref, nngp_ref = gntk_reference(g1, g2, **kw)
    ntk_sym_ref, nngp_sym_ref = gntk_reference(g1, g1, **kw)
    b1, b2 = _pad(g1, 8), _pad(g2, 8)
    cross = ntkx.kernel(net, b1, b2, ("ntk", "nngp"), dtype="float64")
    sym = ntkx.kernel(net, b1, get=("ntk", "nngp"), dtype="float64")
    # The one constant: ntkx = reference / F (input kernel x.x'/F against x.x').
    for got, want in ((cross.ntk, ntk_ref), (cross.nngp, nngp_ref), (sym.ntk, ntk_sym_ref),
                      (sym.nngp, nngp_sym_ref)):  # fmt: skip
        assert _rel(F * got, want) <= TOL
    # Equivalently: features scaled by sqrt(F) give the reference's numbers exactly.
    scaled = GraphBatch(b2.features * math.sqrt(F), b2.adjacency, b2.mask)
    both = ntkx.kernel(net, _pad([(x * math.sqrt(F), a) for x, a in g1], 8), scaled,
                       ("ntk", "nngp"), dtype="float64")  # fmt: skip
    assert _rel(both.ntk, ntk_ref) <= TOL and _rel(both.nngp, nngp_ref) <= TOL


def test_tiles_sorted_by_size_and_trimmed_equal_the_reference():
    # The engine groups graphs into tiles by node count (GIN.tile_order) and pads
    # each tile only to its largest graph rounded up to NODE_QUANTUM = 4 nodes (trim_tile). With
    # block_size=3 and the sizes below, x1 (padded to 16) is sorted into tiles of at most 3, 9
    # and 12 nodes, computed padded to 4, 12 and 12 nodes; x2 (padded to 14) is one tile kept at
    # 14. Every entry must still equal the Kronecker reference at the place of its graphs
    # (1e-10 relative, the module's tolerance): a wrong permutation or a trimmed real node
    # would move values between entries or change them.
    g1, g2, net, kw = _two_sets(11, (3, 4, 9, 3, 12, 4, 10, 3), (5, 11, 3), mlp_depth=1)
    b1, b2 = _pad(g1, 16), _pad(g2, 14)
    trimmed = [net.trim_tile(b1[net.tile_order(b1)[i : i + 3]]) for i in (0, 3, 6)]
    assert [t.features.shape[1] for t in trimmed] == [4, 12, 12]
    assert net.trim_tile(b2).features.shape[1] == 14
    sym = ntkx.kernel(net, b1, get=("ntk", "nngp"), dtype="float64", block_size=3)
    cross = ntkx.kernel(net, b1, b2, ("ntk", "nngp"), dtype="float64", block_size=3)
    _assert_reference(sym, cross, g1, g2, kw)
    np.testing.assert_array_equal(sym.ntk, sym.ntk.T)  # mirrored tiles: exactly symmetric


def _two_sets(seed, sizes1, sizes2, mlp_depth):
    """Two lists of random graphs, ``gin(2, mlp_depth)`` with Du et al.'s settings and the
    matching reference keywords."""
    rng = np.random.default_rng(seed)
    g1 = [_random_graph(rng, n) for n in sizes1]
    g2 = [_random_graph(rng, n) for n in sizes2]
    kw = dict(num_layers=3, num_mlp_layers=mlp_depth, jk=False, scale="uniform")
    return g1, g2, gin(2, mlp_depth, W_std=math.sqrt(2.0)), kw


def _assert_reference(sym, cross, g1, g2, kw):
    """``sym`` (g1 with itself) and ``cross`` (g1 against g2) equal the Kronecker reference
    up to the constant F, at the module's tolerance."""
    refs = (gntk_reference(g1, g1, **kw), gntk_reference(g1, g2, **kw))
    for got, want in zip((sym, cross), refs, strict=True):
        assert _rel(F * got.ntk, want[0]) <= TOL and _rel(F * got.nngp, want[1]) <= TOL


def test_precomputed_self_variances_equal_the_reference():
    # GIN.precompute (the engine computes it once per call and passes each tile's rows to
    # kernel_fn; the agreement tests above go through that path) against the reference's
    # per-ReLU variances of each graph with itself, diag(Sigma) in Du et al.'s scaling. ntkx's
    # pre-activation variance is W_std^2 Sigma with its Sigma = the reference's / F: the one
    # constant is 2 / F. Tolerance: the module's 1e-10 (both float64). Padded nodes hold 0.
    rng = np.random.default_rng(5)
    g = [_random_graph(rng, n) for n in (3, 6, 9)]
    for scale in ("uniform", "degree"):
        net = gin(3, 2, W_std=math.sqrt(2.0), neighbor_scale=scale)
        settings = gntk_reference_module.reference_settings(4, 2, False, scale)
        with precision_context(np.dtype(np.float64)):
            got = np.asarray(net.precompute(cast_floats(_pad(g, 11), np.float64)))
        assert got.shape == (3, 6, 11)
        for i, graph in enumerate(g):
            prepared = gntk_reference_module.prepare_graph(graph)
            want = np.array(gntk_reference_module.self_variances(prepared, settings))
            n = graph[0].shape[0]
            assert _rel(got[i, :, :n] * F / 2, want) <= TOL
            assert np.all(got[i, :, n:] == 0.0)


def test_the_reference_comparison_can_fail(graphs):
    # A wrong scaling, a wrong jumping-knowledge set of layers or a missing factor is far outside
    # the tolerance, so the agreement above is not vacuous.
    g1, _ = graphs
    b1 = _pad(g1, 8)
    net = gin(2, 2, W_std=math.sqrt(2.0), neighbor_scale="degree", jumping_knowledge=True)
    ntk = ntkx.kernel(net, b1, dtype="float64")
    ref = lambda **kw: gntk_reference(g1, g1, num_layers=3, num_mlp_layers=2, **kw)[0]  # noqa: E731
    assert _rel(F * ntk, ref(jk=True, scale="degree")) <= TOL
    assert _rel(F * ntk, ref(jk=True, scale="uniform")) > 0.1
    assert _rel(F * ntk, ref(jk=False, scale="degree")) > 0.1
    assert _rel(ntk, ref(jk=True, scale="degree")) > 0.1


def test_mean_aggregation_is_sum_with_degree_scaling_and_weights_are_ignored(graphs):
    rng = np.random.default_rng(5)
    g1, _ = graphs
    weighted = [(x, a * (1.0 + rng.uniform(size=a.shape) * (a + a.T > 0))) for x, a in g1]
    weighted = [(x, (a + a.T) / 2) for x, a in weighted]  # symmetric weights on the same edges
    degree = ntkx.kernel(gin(2, 2, neighbor_scale="degree", b_std=0.3), _pad(g1, 8),
                         get=("ntk", "nngp"), dtype="float64")  # fmt: skip
    mean = ntkx.kernel(gin(2, 2, aggregation="mean", b_std=0.3), _pad(weighted, 8),
                       get=("ntk", "nngp"), dtype="float64")  # fmt: skip
    assert _rel(mean.ntk, degree.ntk) <= 1e-13 and _rel(mean.nngp, degree.nngp) <= 1e-13


# --------------------------------------------------------------------------- finite network


def _loop_forward(net: GIN, params, x, adj) -> np.ndarray:
    """The network written out node by node in NumPy (one graph, no padding)."""
    p = [(np.asarray(w, float), None if b is None else np.asarray(b, float)) for w, b in params]
    ntk_param = net.parameterization == "ntk"

    def dense(layer, v):
        w, b = layer
        out = v @ w * (net.W_std / math.sqrt(w.shape[0]) if ntk_param else 1.0)
        return out if b is None else out + (net.b_std if ntk_param else 1.0) * b

    def pool(h):
        n = h.shape[0]
        rows = [h[u] for u in range(n)]
        return {"sum": sum(rows), "mean": sum(rows) / n, "max": np.max(rows, 0),
                "min": np.min(rows, 0)}[net.readout]  # fmt: skip

    n = x.shape[0]
    h = np.asarray(x, float)
    pooled = [pool(h)] if net.jumping_knowledge else []
    for step in range(net.depth):
        new = []
        for u in range(n):
            hood = [v for v in range(n) if adj[u, v] > 0 and v != u]
            if net.self_loops:
                hood.append(u)
            if not hood:
                agg = np.zeros(h.shape[1])
            elif net.aggregation == "sum":
                c = 1.0 / len(hood) if net.neighbor_scale == "degree" else 1.0
                agg = sum(c * h[v] for v in hood)
            elif net.aggregation == "mean":
                agg = sum(h[v] for v in hood) / len(hood)
            else:
                agg = (np.max if net.aggregation == "max" else np.min)([h[v] for v in hood], 0)
            for r in range(net.mlp_depth):
                agg = np.maximum(dense(p[step * net.mlp_depth + r], agg), 0.0)
            new.append(agg)
        h = np.stack(new)
        if net.jumping_knowledge or step == net.depth - 1:
            pooled.append(pool(h))
    return sum(dense(p[net.num_dense + i], g) for i, g in enumerate(pooled))


FINITE = [
    dict(depth=2, mlp_depth=2),
    dict(depth=2, mlp_depth=1, neighbor_scale="degree", jumping_knowledge=True, b_std=0.4),
    dict(depth=3, mlp_depth=2, aggregation="mean", readout="max", b_std=0.2, out_dim=2),
    dict(depth=1, mlp_depth=3, aggregation="max", readout="min", self_loops=False),
    dict(depth=2, mlp_depth=2, aggregation="min", readout="mean", jumping_knowledge=True,
         parameterization="standard", b_std=0.3),
]  # fmt: skip


@pytest.mark.parametrize("kw", FINITE)
def test_finite_network_matches_loop_forward_pass(kw):
    rng = np.random.default_rng(11)
    graph = _random_graph(rng, 6)
    net = gin(width=7, W_std=1.3, **kw)
    with precision_context(np.dtype("float64")):
        params = cast_floats(net.init(jax.random.key(3), F), np.dtype("float64"))
        got = np.asarray(jax.jit(net.apply)(params, cast_floats(_pad([graph], 9, rng), np.float64)))
    want = _loop_forward(net, params, *graph)
    np.testing.assert_allclose(got[0], want, rtol=1e-12, atol=1e-12)


def test_padding_never_contributes(graphs):
    rng = np.random.default_rng(3)
    g1, _ = graphs
    net = gin(2, 1, width=16, b_std=0.3, jumping_knowledge=True, neighbor_scale="degree")
    tight, loose = _pad(g1, 8), _pad(g1, 13, rng)
    with precision_context(np.dtype("float64")):
        params = cast_floats(net.init(jax.random.key(0), F), np.dtype("float64"))
        apply = jax.jit(net.apply)
        out_t = np.asarray(apply(params, cast_floats(tight, np.float64)))
        out_l = np.asarray(apply(params, cast_floats(loose, np.float64)))
    np.testing.assert_allclose(out_l, out_t, rtol=1e-12, atol=1e-12)
    k_t = ntkx.kernel(net, tight, get=("ntk", "nngp"), dtype="float64")
    k_l = ntkx.kernel(net, loose, get=("ntk", "nngp"), dtype="float64")
    assert _rel(k_l.ntk, k_t.ntk) <= 1e-12 and _rel(k_l.nngp, k_t.nngp) <= 1e-12


# --------------------------------------------------------------------------- infinite width


@pytest.mark.parametrize(
    ("kw", "gets"),
    [
        (dict(depth=2, mlp_depth=2, b_std=0.3), (("ntk", 24, 1),)),
        (
            dict(
                depth=2,
                mlp_depth=1,
                b_std=0.3,
                jumping_knowledge=True,
                trainable="first",
                neighbor_scale="degree",
            ),
            (("ntk", 24, 1), ("nngp", 32, 64)),
        ),
    ],
)
def test_closed_form_matches_monte_carlo(graphs, kw, gets):
    # The reference test checks the recursion is computed right; this one checks it is the
    # limit of the finite network, trainable layers included (Monte Carlo differentiates only
    # the partition's trainable layers). The empirical NNGP f f^T / k averages over k outputs.
    g1, _ = graphs
    batch = _pad(g1, 8)
    for get, n, out_dim in gets:
        net = gin(width=512, out_dim=out_dim, **kw)
        exact = ntkx.kernel(net, batch, get=get, dtype="float64")
        est = ntkx.kernel(net, batch, get=get, method="monte_carlo", key=jax.random.key(7),
                          n_samples=n, dtype="float64", progress=False)  # fmt: skip
        # Normwise band: 3 standard errors (the error norm exceeds 3 ||stderr|| with
        # probability < 0.3% even for fully correlated entries) plus 3% for the O(1/width)
        # finite-width bias. Measured: error 1-4% of the norm, stderr 2-4%.
        scale = np.linalg.norm(exact)
        band = 3 * np.linalg.norm(est.stderr) + 0.03 * scale
        assert np.linalg.norm(est.mean - exact) <= band, (get, est.mean, exact)
        # The band stays below 20% of the kernel, so a 1.2x error of the recursion would fail.
        assert band < 0.2 * scale, (get, band / scale)


def test_trainable_layers_change_only_the_ntk(graphs):
    g1, _ = graphs
    batch = _pad(g1, 8)
    kernels = {
        t: ntkx.kernel(
            gin(2, 1, trainable=t, b_std=0.2, jumping_knowledge=True),
            batch,
            get=("ntk", "nngp"),
            dtype="float64",
        )
        for t in ("all", "first", "last")
    }
    np.testing.assert_allclose(kernels["last"].ntk, kernels["last"].nngp, rtol=1e-14)
    for t in ("first", "last"):
        np.testing.assert_allclose(kernels[t].nngp, kernels["all"].nngp, rtol=1e-14)
    assert np.all(kernels["first"].ntk < kernels["all"].ntk)
    net = gin(2, 2, trainable="first", jumping_knowledge=True)
    assert net.trainable_layers() == (0,)
    assert gin(2, 2, trainable="last", jumping_knowledge=True).trainable_layers() == (4, 5, 6)
    assert gin(2, 2, trainable="all").trainable_layers() == (0, 1, 2, 3, 4)


def test_max_readout_and_standard_parameterization_refuse_the_closed_form(graphs):
    g1, _ = graphs
    batch = _pad(g1, 8)
    net = gin(2, 2, readout="max", width=16)
    assert net.kernel_methods == ("monte_carlo", "empirical")
    with pytest.raises(ValueError, match="method='monte_carlo'"):
        ntkx.kernel(net, batch)
    with pytest.raises(ValueError, match="method='monte_carlo'"):
        net.kernel_fn(batch, batch)
    est = ntkx.kernel(net, batch, method="monte_carlo", key=jax.random.key(0), n_samples=2)
    assert est.mean.shape == (4, 4) and np.isfinite(est.mean).all()
    std = gin(2, 2, parameterization="standard", width=16)
    assert std.kernel_methods == ("empirical",)
    with pytest.raises(ValueError, match="parameterization='ntk'"):
        ntkx.kernel(std, batch)


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        (dict(depth=0), "depth"),
        (dict(mlp_depth=0), "mlp_depth"),
        (dict(mlp_depth=1.5), "mlp_depth"),
        (dict(aggregation="median"), "aggregation"),
        (dict(readout="attention"), "readout"),
        (dict(neighbor_scale="symmetric"), "neighbor_scale"),
        (dict(neighbor_scale="degree", aggregation="mean"), "neighbor_scale"),
        (dict(self_loops="yes"), "self_loops"),
        (dict(jumping_knowledge=1), "jumping_knowledge"),
        (dict(width=0), "width"),
        (dict(W_std=0.0), "W_std"),
        (dict(b_std=-1.0), "b_std"),
        (dict(parameterization="mup"), "parameterization"),
        (dict(trainable="middle"), "trainable"),
        (dict(out_dim=0), "out_dim"),
    ],
)
def test_validation_errors_name_the_argument(kw, name):
    with pytest.raises(ValueError, match=name):
        gin(**kw)


def test_bad_inputs_and_params_are_refused(graphs):
    g1, _ = graphs
    batch = _pad(g1, 8)
    net = gin(2, 2, width=8)
    with pytest.raises(ValueError, match="x1"):
        ntkx.kernel(net, np.ones((4, 3)))
    with pytest.raises(ValueError, match="input rows"):
        net.apply(net.init(jax.random.key(0), F + 1), batch)
    with pytest.raises(ValueError, match="layers"):
        net.apply(net.init(jax.random.key(0), F)[:-1], batch)
    with pytest.raises(TypeError, match="final"):
        type("Sub", (GIN,), {})


def test_kernel_regression_interpolates_through_the_shared_solver(graphs):
    g1, g2 = graphs
    train, test = _pad(g1, 8), _pad(g2, 8)
    y = np.array([0.5, -1.0, 2.0, 0.25])
    reg = ntkx.kernel_regression(gin(2, 2, b_std=0.1), train, y, dtype="float64")
    np.testing.assert_allclose(np.ravel(reg.predict(train)), y, atol=1e-8)
    assert np.isfinite(reg.predict(test)).all()


def test_workspace_estimate_bounds_xla_memory():
    # pair_workspace_bytes plans the engine's tiles: it must not underestimate the compiled
    # kernel's temporaries, nor overstate them grossly (tiles would shrink for nothing).
    rng = np.random.default_rng(0)
    for kw, (b, n) in ((dict(depth=3, mlp_depth=2, b_std=0.1, jumping_knowledge=True), (3, 20)),
                       (dict(depth=1, mlp_depth=1, trainable="last"), (6, 12))):  # fmt: skip
        net = gin(**kw)
        batch = _pad([_random_graph(rng, n) for _ in range(b)], n)
        with precision_context(np.dtype("float64")):
            x = cast_floats(batch, np.dtype("float64"))
            compiled = jax.jit(net.kernel_fn).lower(x, x).compile()
            stats = compiled.memory_analysis()
        if stats is None:
            pytest.skip("XLA reports no memory analysis on this backend")
        estimate = net.pair_workspace_bytes(batch, batch, 8) * b * b
        assert stats.temp_size_in_bytes <= estimate <= 6 * max(stats.temp_size_in_bytes, 1)


def test_fast_arccos_is_accurate():
    from ntkx.graphs.gin import _arccos

    c = np.concatenate([np.linspace(-1.0, 1.0, 200001), 1 - np.logspace(-16, 0, 400),
                        -1 + np.logspace(-16, 0, 400)])  # fmt: skip
    with precision_context(np.dtype("float64")):
        got = np.asarray(jax.jit(_arccos)(jax.numpy.asarray(c)))
    assert np.max(np.abs(got - np.arccos(c))) <= 5e-16


def test_default_tiles_use_the_gins_cache_budget() -> None:
    """120 graphs padded to 29 nodes: a pair of graphs needs (12 * 29^2 + 16 * 58) * 8 =
    88,160 bytes of workspace (pair_workspace_bytes' formula), so the GIN's 48 MiB budget gives a
    side of isqrt(50,331,648 // 88,160) = 23 graphs, split evenly: ceil(120 / 23) = 6 tiles of
    20 (the engine's memory budget, 128 MB, would give 38 -> 4 tiles of 30; a plain MLP keeps
    it). Hand numbers, no kernel computed."""
    from ntkx.core.kernels import _plan

    feats = np.zeros((120, 29, 3))
    adj = np.zeros((120, 29, 29))
    adj[:, 0, 1] = adj[:, 1, 0] = 1.0
    batch = GraphBatch(feats, adj, np.ones((120, 29), dtype=bool))
    net = gin(2, mlp_depth=2)
    assert net.pair_workspace_bytes(batch, batch, 8) == 88_160
    plan = _plan(net, batch, None, "float64", None, 2, False, "closed-form")
    assert (plan.b1, plan.b2) == (20, 20)
    mlp_plan = _plan(ntkx.mlp(), np.zeros((2500, 3)), None, "float64", None, 1, False, "x")
    assert mlp_plan.b1 == 834  # 1000-point target, split evenly: ceil(2500 / 1000) = 3 tiles


def test_threaded_tiles_equal_one_thread_and_the_reference(monkeypatch) -> None:
    """The engine computes the GIN's tiles from several host threads (GIN.tile_threads). Forced
    to 3 threads whatever the machine's cores, on 8 graphs in tiles of 2 (10 symmetric tiles,
    8 cross tiles): bitwise equal to one thread (tiles are independent, each written to its own
    rows and columns), exactly symmetric, and equal to the Kronecker reference at 1e-10 in
    float64. jax's x64 switch is thread-local, so a worker that forgot to enter it would
    compute in float32 (~1e-7 relative error), far outside the tolerance."""
    from ntkx.core import kernels as engine

    g1, g2, net, kw = _two_sets(7, (3, 7, 5, 9, 4, 6, 8, 3), (5, 4, 8), mlp_depth=2)
    b1, b2 = _pad(g1, 9), _pad(g2, 8)
    runs = {}
    for threads in (1, 3):
        monkeypatch.setattr(engine, "_thread_count", lambda net, t=threads: t)
        runs[threads] = (
            ntkx.kernel(net, b1, get=("ntk", "nngp"), dtype="float64", block_size=2),
            ntkx.kernel(net, b1, b2, ("ntk", "nngp"), dtype="float64", block_size=2),
        )
    for one, three in zip(runs[1], runs[3], strict=True):
        np.testing.assert_array_equal(three.ntk, one.ntk)
        np.testing.assert_array_equal(three.nngp, one.nngp)
    sym, cross = runs[3]
    np.testing.assert_array_equal(sym.ntk, sym.ntk.T)
    _assert_reference(sym, cross, g1, g2, kw)


def test_an_error_in_a_tile_thread_reaches_the_caller(monkeypatch) -> None:
    # A failing tile in a worker thread is raised in the caller (not lost in the pool), and the
    # remaining tiles are cancelled.
    from ntkx.core import kernels as engine

    calls = []
    real = engine._closed_form_fn

    def failing(net, dtype_name, wanted):
        fn = real(net, dtype_name, wanted)

        def block(*args):
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("tile 3 failed")
            return fn(*args)

        return block

    monkeypatch.setattr(engine, "_thread_count", lambda net: 2)
    monkeypatch.setattr(engine, "_closed_form_fn", failing)
    rng = np.random.default_rng(8)
    batch = _pad([_random_graph(rng, n) for n in (3, 4, 5, 6, 3, 4, 5, 6)], 6)
    with pytest.raises(RuntimeError, match="tile 3 failed"):
        ntkx.kernel(gin(1, 1), batch, dtype="float64", block_size=1)
    assert len(calls) < 36  # 36 symmetric tiles of one graph: the rest were cancelled


def test_tile_thread_count(monkeypatch) -> None:
    # tile_threads is capped by the usable cores, is 1 on accelerators, and a bad value is
    # refused by name.
    from ntkx.core import kernels as engine

    net = gin(1, 1)
    assert net.tile_threads == 2 and ntkx.mlp().tile_threads == 1
    monkeypatch.setattr(engine.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert engine._thread_count(net) == 1
    monkeypatch.setattr(engine.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert engine._thread_count(net) == 2
    monkeypatch.setattr(engine.jax, "default_backend", lambda: "gpu")
    assert engine._thread_count(net) == 1
    monkeypatch.setattr(engine.jax, "default_backend", lambda: "cpu")
    monkeypatch.setattr(GIN, "tile_threads", 0)
    with pytest.raises(ValueError, match="tile_threads=0"):
        engine._thread_count(net)
