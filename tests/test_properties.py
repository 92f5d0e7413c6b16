"""Property-based tests (hypothesis) of kernels, solvers and graph networks.

Each property is an identity the mathematics guarantees for *every* input, so hypothesis
draws the inputs (values; shapes come from small fixed sets so that each compiled kernel is
reused). Runs are derandomized (the same examples on every run, so CI is reproducible) and
without deadlines (the first example of a shape compiles). Example counts are in the
``settings`` of each test.

* symmetry (exact, by the engine's construction) and positive semi-definiteness of NTK and
  NNGP matrices (smallest eigenvalue >= -1e-10 of the largest, float64: a Gram matrix's
  rounding error is a few eps times its norm);
* degree-1 positive homogeneity of bias-free ReLU kernels in each argument (1e-12 relative:
  the maps see the same cosine, only the norms scale);
* node-permutation invariance of graph kernels and GNN outputs, and padding invariance;
* duplicate-merge equivalence of kernel regression against a plain NumPy solve of the full
  system;
* ``solve_kernel_system`` residuals on matrices of known spectrum.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ntkx
from ntkx.graphs.batch import GraphBatch

PROPS = settings(
    derandomize=True,
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False, width=64)

#: MLP specs covering the ReLU family and a smooth activation, with and without bias.
MLPS = [
    ntkx.mlp(2, "relu", b_std=None),
    ntkx.mlp(3, "relu", W_std=1.4, b_std=0.2),
    ntkx.mlp(2, "erf", W_std=1.2, b_std=0.1),
    ntkx.mlp(2, "leaky_relu", activation_params=(0.2,)),
]


def _nonzero_rows(x: np.ndarray) -> np.ndarray:
    # a zero input row makes every ReLU kernel entry with it zero: fine, but keep rows away
    # from the origin so that the homogeneity factor is well defined
    return x + np.where(np.linalg.norm(x, axis=1, keepdims=True) < 1e-3, 1.0, 0.0)


@PROPS
@given(
    spec=st.sampled_from(MLPS),
    x=arrays(np.float64, (7, 3), elements=finite),
    get=st.sampled_from(["ntk", "nngp"]),
)
def test_mlp_kernels_symmetric_and_psd(spec, x, get):
    k = ntkx.kernel(spec, _nonzero_rows(x), get=get, dtype="float64")
    assert np.array_equal(k, k.T)
    eig = np.linalg.eigvalsh(k)
    assert eig[0] >= -1e-10 * max(eig[-1], 1e-300)


@PROPS
@given(
    depth=st.integers(1, 3),
    x=arrays(np.float64, (5, 3), elements=finite),
    x2=arrays(np.float64, (4, 3), elements=finite),
    c=st.floats(0.05, 20.0),
)
def test_bias_free_relu_kernels_are_positively_homogeneous(depth, x, x2, c):
    net = ntkx.mlp(depth, "relu", W_std=1.3, b_std=None)
    x, x2 = _nonzero_rows(x), _nonzero_rows(x2)
    base = ntkx.kernel(net, x, x2, ("ntk", "nngp"), dtype="float64")
    scaled = ntkx.kernel(net, c * x, x2, ("ntk", "nngp"), dtype="float64")
    # The maps see the same cosine up to rounding. Where the inputs are (anti)parallel,
    # |cos| within 1e-6 of 1, an ulp in the cosine costs up to sqrt(eps) ~ 1e-8 in arccos
    # (measured 1.3e-9 on parallel inputs): 1e-7 there, 1e-12 elsewhere, relative to the
    # Cauchy-Schwarz scale sqrt(K(x, x) K(x', x')) (antiparallel inputs have K = 0 exactly).
    cos = (x @ x2.T) / np.outer(np.linalg.norm(x, axis=1), np.linalg.norm(x2, axis=1))
    rtol = np.where(np.abs(cos) > 1 - 1e-6, 1e-7, 1e-12)
    d1 = ntkx.kernel(net, x, get=("ntk", "nngp"), dtype="float64")
    d2 = ntkx.kernel(net, x2, get=("ntk", "nngp"), dtype="float64")
    for a, b, k1, k2 in zip(scaled, base, d1, d2, strict=True):
        scale = c * np.sqrt(np.outer(np.diag(k1), np.diag(k2)))
        assert np.all(np.abs(a - c * b) <= rtol * scale)


# --------------------------------------------------------------------------- graphs

N_NODES = 6


@st.composite
def graph_batches(draw, count: int = 3, weighted: bool = True) -> GraphBatch:
    """``count`` graphs of 3..N_NODES nodes (each with an edge), padded to N_NODES."""
    feats = np.zeros((count, N_NODES, 2))
    adj = np.zeros((count, N_NODES, N_NODES))
    mask = np.zeros((count, N_NODES), bool)
    for b in range(count):
        n = draw(st.integers(3, N_NODES))
        upper = draw(arrays(np.bool_, (n, n)))
        upper = np.triu(upper, 1)
        upper[0, 1] = True  # at least one edge
        w = draw(arrays(np.float64, (n, n), elements=st.floats(0.5, 3.0))) if weighted else 1.0
        a = np.where(upper, w, 0.0)
        adj[b, :n, :n] = a + a.T
        feats[b, :n] = draw(arrays(np.float64, (n, 2), elements=finite))
        mask[b, :n] = True
    return GraphBatch(feats, adj, mask)


def _permute(batch: GraphBatch, perm: np.ndarray) -> GraphBatch:
    """The same graphs with their real nodes reordered as ``perm`` orders them (padding stays
    last, as GraphBatch requires)."""
    f, a, m = (np.array(v) for v in batch.astuple())
    for b in range(len(f)):
        n = int(m[b].sum())
        order = np.concatenate([[p for p in perm if p < n], np.arange(n, len(perm))])
        f[b], a[b], m[b] = f[b][order], a[b][order][:, order], m[b][order]
    return GraphBatch(f, a, m)


def _pad(batch: GraphBatch, extra: int) -> GraphBatch:
    f, a, m = (np.asarray(v) for v in batch.astuple())
    return GraphBatch(
        np.pad(f, ((0, 0), (0, extra), (0, 0))),
        np.pad(a, ((0, 0), (0, extra), (0, extra))),
        np.pad(m, ((0, 0), (0, extra))),
    )


#: One closed form per graph network (each new shape compiles: 2 shapes per spec here).
GRAPH_KERNEL_NETS = [
    ntkx.gnn(2, "sum", "mean", b_std=0.1, edge_weights=True),
    ntkx.gin(2, 2, "mean", "sum", b_std=0.1, jumping_knowledge=True),
]


@settings(PROPS, max_examples=20)
@given(
    spec=st.sampled_from(GRAPH_KERNEL_NETS),
    batch=graph_batches(),
    other=graph_batches(),
    perm=st.permutations(range(N_NODES)),
)
def test_graph_kernels_psd_and_invariant_to_node_order_and_padding(spec, batch, other, perm):
    perm = np.asarray(perm)
    k = ntkx.kernel(spec, batch, get=("ntk", "nngp"), dtype="float64")
    for m in k:
        assert np.array_equal(m, m.T)
        eig = np.linalg.eigvalsh(m)
        assert eig[0] >= -1e-10 * eig[-1]
    cross = ntkx.kernel(spec, batch, other, ("ntk", "nngp"), dtype="float64")
    permuted = ntkx.kernel(spec, _permute(batch, perm), other, ("ntk", "nngp"), dtype="float64")
    padded = ntkx.kernel(spec, _pad(batch, 2), _pad(other, 2), ("ntk", "nngp"), dtype="float64")
    for a, b, c in zip(cross, permuted, padded, strict=True):
        # Reordering nodes reorders sums (a few ulps); an ulp in a ReLU cosine near 1 costs
        # sqrt(eps) ~ 1e-8 in its angle, so 1e-7 relative (a 5% error is far outside).
        np.testing.assert_allclose(b, a, rtol=1e-7)
        np.testing.assert_allclose(c, a, rtol=1e-7)


GNN_NETS = [
    ntkx.gnn(2, agg, ro, 16, b_std=0.1, edge_weights=True)
    for agg, ro in (("sum", "max"), ("min", "min"), ("mean", "sum"), ("max", "mean"))
] + [ntkx.gin(2, 2, "sum", "max", 16, b_std=0.1), ntkx.gin(1, 1, "max", "min", 16, b_std=0.1)]


@functools.cache
def _jitted_apply(spec):
    """``spec.apply`` compiled once per spec (the batches' shapes are fixed: 3 x N_NODES, or
    N_NODES + 3 padded)."""
    return jax.jit(spec.apply)


@settings(PROPS, max_examples=30)
@given(
    spec=st.sampled_from(GNN_NETS),
    batch=graph_batches(),
    perm=st.permutations(range(N_NODES)),
    seed=st.integers(0, 2**31 - 1),
)
def test_gnn_outputs_invariant_to_node_order_and_padding(spec, batch, perm, seed):
    with jax.enable_x64(True):
        params = spec.init(jax.random.key(seed), 2)
        params = jax.tree.map(lambda p: np.asarray(p, np.float64), params)
        apply = _jitted_apply(spec)  # eager dispatch of every small op cost ~3 s per example
        out = np.asarray(apply(params, batch))
        permuted = np.asarray(apply(params, _permute(batch, np.asarray(perm))))
        padded = np.asarray(apply(params, _pad(batch, 3)))
    # float64 sums in another order: 1e-12 relative to the output scale
    scale = np.abs(out).max() + 1e-300
    assert np.abs(permuted - out).max() <= 1e-12 * scale
    assert np.abs(padded - out).max() <= 1e-12 * scale


# --------------------------------------------------------------------------- solvers


@PROPS
@given(
    x=arrays(np.float64, (6, 2), elements=finite),
    y=arrays(np.float64, (6,), elements=finite),
    dup=st.lists(st.integers(0, 5), min_size=1, max_size=5),
    ridge=st.floats(1e-3, 1.0),
)
def test_duplicate_merge_equals_the_full_system(x, y, dup, ridge):
    # Training on repeated inputs: ntkx merges duplicates (labels averaged, ridge divided by
    # the multiplicity); the predictor must equal a plain NumPy solve of the full
    # (n + k)-point system, which is nonsingular for ridge > 0.
    x = _nonzero_rows(x) + np.arange(6)[:, None] * 1e-2  # distinct base points
    xs = np.concatenate([x, x[dup]])
    ys = np.concatenate([y, y[dup] + 0.5])
    net = MLPS[2]  # erf: a smooth kernel (no arccos), so the kernel values are exact to ulps
    x_test = x[:3] * 1.7 + 0.3
    model = ntkx.kernel_regression(net, xs, ys, ridge, dtype="float64")
    k = ntkx.kernel(net, xs, dtype="float64")
    k_test = ntkx.kernel(net, x_test, xs, dtype="float64")
    want = k_test @ np.linalg.solve(k + ridge * np.eye(len(xs)), ys)
    # cond(K + ridge I) <= (max eig + 1) / 1e-3 ~ 1e4 here: 1e-9 relative to the labels' scale
    np.testing.assert_allclose(model.predict(x_test), want, rtol=1e-9, atol=1e-9 * np.abs(ys).max())


@settings(PROPS, max_examples=200)
@given(
    n=st.integers(2, 30),
    log_cond=st.floats(0.0, 8.0),
    ridge=st.sampled_from([0.0, 1e-6, 0.1]),
    seed=st.integers(0, 2**31 - 1),
)
def test_solve_kernel_system_residual(n, log_cond, ridge, seed):
    # K = Q diag(lambda) Q^T with eigenvalues log-spaced over 10^log_cond: a backward-stable
    # solve has residual <= c n eps cond ||y||, with cond <= 1e8 here, so 1e-6 relative.
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam = np.logspace(0.0, -log_cond, n)
    k = (q * lam) @ q.T
    k = (k + k.T) / 2
    y = rng.normal(size=n)
    alpha, diag = ntkx.solve_kernel_system(k, y, ridge)
    residual = np.linalg.norm((k + ridge * np.eye(n)) @ alpha - y) / np.linalg.norm(y)
    assert residual <= 1e-6, (residual, diag.path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_properties_module_rejects_nonfinite_kernels(bad):
    # guard: the solver refuses what the properties above never draw
    k = np.eye(3)
    k[0, 0] = bad
    with pytest.raises(ValueError, match="k_train_train"):
        ntkx.solve_kernel_system(k, np.ones(3))
