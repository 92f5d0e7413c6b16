"""ntkx.core.iterative (matrix-free PCG) against independent linear algebra and exact cases.

All comparisons are in float64. References: the kernel materialised by ``ntkx.kernel`` and
solved by ``numpy.linalg.solve``; a plain-numpy pivoted Cholesky and Nystrom written here; the
dense Cholesky solver. Tolerances are stated next to each check. The recurring one: CG stops at
a relative residual ``tol``, so its solution differs from the exact one by at most
``cond(A) * tol`` relatively; predictions ``K(x, X) alpha`` are much closer (the error lies
mostly along small eigenvalues, which ``K`` damps), measured ~1e-8 at ``tol = 1e-8``.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import warnings

import jax
import numpy as np
import pytest

import ntkx
from ntkx.core import solvers as solvers_module
from ntkx.core.iterative import conjugate_gradients, low_rank_preconditioner
from ntkx.graphs.sampling import shortest_path_dataset

EPS = np.finfo(np.float64).eps
NET = ntkx.mlp(depth=2, b_std=0.1)
# Default tests share one problem size (and so jax's compiled functions): 150 points, d = 4,
# tiles of 75 (two row tiles).
N, D, BLOCK = 150, 4, 75


def _data(n: int, d: int = 16, k: int = 1, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, k)), 2.0 * rng.normal(size=(50, d))


# --- the operator ------------------------------------------------------------------------------


def test_operator_products_equal_the_materialised_kernel():
    # Reference: ntkx.kernel's dense matrix (engine tiles, one summation order) times v in
    # numpy. The operator sums other tiles in another order: each entry of K v differs by at
    # most ~ n eps sum_j |K_ij v_j| (n = 150), checked with 4x margin.
    x, _, xt = _data(N, D)
    rng = np.random.default_rng(1)
    ridge = rng.uniform(0, 0.5, size=N)
    k = ntkx.kernel(NET, x, dtype="float64")
    v = rng.normal(size=(N, 2))
    bound = 4 * N * EPS * (np.abs(k) @ np.abs(v)) + 4 * EPS * np.abs(ridge[:, None] * v)
    # Two row tiles of 75 (the sum over column tiles), and the default single tile.
    tiled = ntkx.KernelOperator(NET, x, dtype="float64", ridge=ridge, block_size=BLOCK)
    op = ntkx.KernelOperator(NET, x, dtype="float64", ridge=ridge)
    assert (tiled.n_tiles, tiled.block, op.n_tiles, op.block) == (2, 75, 1, 150)
    for operator in (tiled, op):
        assert (np.abs(operator.matvec(v) - (k @ v + ridge[:, None] * v)) <= bound).all()
    k_test = ntkx.kernel(NET, xt, x, dtype="float64")
    assert (
        np.abs(op.kernel_matvec(v, x_rows=xt) - k_test @ v)
        <= 4 * N * EPS * (np.abs(k_test) @ np.abs(v))
    ).all()
    # Diagonal and columns are single kernel entries: the same formula on the same inputs, but
    # other tile shapes (XLA fuses differently), so they agree to a few ulps of the inner
    # products they are computed from, i.e. of max |K| (entries near 0 come from cancellation).
    scale = 8 * EPS * np.abs(k).max()
    np.testing.assert_allclose(op.diagonal(), np.diag(k), rtol=0, atol=scale)
    for j in (3, 0, 149):
        np.testing.assert_allclose(op.columns([j])[:, 0], k[:, j], rtol=0, atol=scale)


@pytest.mark.parametrize(
    ("block", "blocks"),
    [(40, 4), (32, 5), (200, 1)],  # even and odd block counts (both ragged), one block
)
def test_symmetric_product_equals_numpy_reference(block, blocks):
    # Reference: the plain-numpy NTK of tests/references.py (never calls ntkx) times v in
    # numpy, 3 right-hand sides, n = 157 (last tile ragged). The symmetric product uses each
    # off-diagonal tile twice (K_ij v_j and K_ij^T v_i); the full product computes every tile.
    # Both must equal K v up to (i) the kernel entries' own error, <= 1e-12 of max |K|
    # (tests/test_kernels.py: measured <= 7e-16 of the scale) and (ii) summation round-off,
    # <= n eps sum_j |K_ij v_j|; checked as 4 n eps |K| |v| + 1e-12 max|K| sum_j |v_j|.
    import references as ref

    n = 157
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, D))
    v = rng.normal(size=(n, 3))
    _, k = ref.mlp_kernels(x, depth=2, b_std=0.1)
    want = k @ v
    bound = 4 * n * EPS * (np.abs(k) @ np.abs(v)) + 1e-12 * np.abs(k).max() * np.abs(v).sum(0)
    sym = ntkx.KernelOperator(NET, x, dtype="float64", block_size=block)
    full = ntkx.KernelOperator(NET, x, dtype="float64", block_size=block, symmetric=False)
    assert (sym.n_blocks, sym.symmetric, full.symmetric) == (blocks, True, False)
    assert n % sym.block != 0 or blocks == 1  # a ragged last tile (or a single tile)
    for op in (sym, full):
        err = np.abs(op.kernel_matvec(v) - want)
        assert (err <= bound).all(), (err / bound).max()
    with pytest.raises(TypeError, match="symmetric"):
        ntkx.KernelOperator(NET, x, symmetric="yes")


# --- conjugate gradients -----------------------------------------------------------------------


def test_conjugate_gradients_solves_spd_systems_with_several_right_hand_sides():
    # A random SPD matrix with condition number 1e4, reference numpy.linalg.solve; the error
    # bound of a solve stopped at residual tol is cond * tol = 1e-4 * ... -> 1e-4 * 1e-10 here.
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(80, 80)))
    a = (q * np.logspace(0, 4, 80)) @ q.T
    b = rng.normal(size=(80, 3))
    b[:, 1] = 0.0  # a zero column is solved by x = 0 and must not stall the others
    res = conjugate_gradients(lambda v: a @ v, b, tol=1e-10, max_iter=500)
    assert res.converged and res.residual <= 1e-10
    ref = np.linalg.solve(a, b)
    assert np.abs(res.x - ref).max() <= 1e4 * 1e-10 * np.abs(ref).max()
    assert (res.x[:, 1] == 0).all()
    # Exact arithmetic needs at most n = 80 iterations; round-off may add some, not 5x.
    assert res.iterations < 400
    assert res.history[0] == 1.0 and len(res.history) == res.iterations + 1
    # The reported residual is the true one.
    true = np.linalg.norm(a @ res.x - b, axis=0)[[0, 2]] / np.linalg.norm(b, axis=0)[[0, 2]]
    assert res.residual == pytest.approx(true.max(), rel=1e-6)


def test_conjugate_gradients_exact_on_a_diagonal_matrix_with_two_eigenvalues():
    # Exact case: A with two distinct eigenvalues -> CG terminates in 2 iterations (its Krylov
    # space has dimension 2), to round-off (1e-14).
    a = np.diag([1.0] * 5 + [3.0] * 5)
    b = np.arange(1.0, 11.0)[:, None]
    res = conjugate_gradients(lambda v: a @ v, b, tol=1e-12)
    assert res.iterations == 2
    np.testing.assert_allclose(res.x[:, 0], b[:, 0] / np.diag(a), rtol=1e-14)


# --- preconditioners ---------------------------------------------------------------------------


def _reference_pivoted_cholesky(k: np.ndarray, rank: int) -> tuple[np.ndarray, list[int]]:
    """Textbook pivoted Cholesky on the full matrix (Schur complements), Harbrecht et al. 2012."""
    s = k.astype(np.float64).copy()
    n = len(k)
    factor = np.zeros((n, rank))
    pivots = []
    for m in range(rank):
        p = int(np.argmax(np.diag(s)))
        factor[:, m] = s[:, p] / np.sqrt(s[p, p])
        s = s - np.outer(factor[:, m], factor[:, m])
        pivots.append(p)
    return factor, pivots


def test_pivoted_cholesky_equals_plain_numpy_reference():
    # Same algorithm, different arithmetic order (Schur complement vs column updates):
    # agreement to ~1e-12 relative to max K (rank 30, errors grow slowly with the rank).
    x, _, _ = _data(N, D)
    k = ntkx.kernel(NET, x, dtype="float64")
    pre = low_rank_preconditioner(np.diag(k), lambda idx: k[:, idx], rank=30, ridge=0.05)
    ref, pivots = _reference_pivoted_cholesky(k, 30)
    assert pre.pivots.tolist() == pivots
    np.testing.assert_allclose(pre.factor, ref, rtol=0, atol=1e-12 * np.abs(k).max())
    # P = L L^T + diag(K - L L^T) + ridge, and apply() is its inverse (Woodbury): against
    # numpy.linalg.solve on the dense P; cond(P) <= ~1e4 here, so ~1e-12 relative.
    p_dense = ref @ ref.T + np.diag(np.diag(k) - np.sum(ref**2, axis=1) + 0.05)
    np.testing.assert_allclose(pre.matrix(), p_dense, rtol=0, atol=1e-12 * np.abs(k).max())
    r = np.random.default_rng(0).normal(size=(N, 2))
    ref_solve = np.linalg.solve(p_dense, r)
    np.testing.assert_allclose(
        pre.apply(r), ref_solve, rtol=0, atol=1e-10 * np.abs(ref_solve).max()
    )


def test_nystrom_equals_plain_numpy_formula():
    # L L^T = K[:, S] K[S, S]^{-1} K[S, :] on the points S drawn with default_rng(seed)
    # (K[S, S] is well conditioned for 20 random points: agreement ~1e-12 relative).
    x, _, _ = _data(N, D, seed=5)
    k = ntkx.kernel(NET, x, dtype="float64")
    pre = low_rank_preconditioner(np.diag(k), lambda i: k[:, i], 20, 0.1, kind="nystrom", seed=4)
    s = np.sort(np.random.default_rng(4).choice(N, size=20, replace=False))
    assert pre.pivots.tolist() == s.tolist()
    low = k[:, s] @ np.linalg.solve(k[np.ix_(s, s)], k[s, :])
    np.testing.assert_allclose(pre.factor @ pre.factor.T, low, atol=1e-11 * np.abs(k).max())


def test_full_rank_preconditioner_converges_in_one_iteration():
    # Exact property: with rank n and a positive ridge, P = K + ridge I = A, so P^{-1} A = I
    # and PCG converges in one iteration (to round-off, residual ~1e-12 << tol).
    # (Nystrom with all points is the same P; its formula is checked above.)
    x, y, _ = _data(N, D, k=2)
    model = ntkx.kernel_regression(
        NET, x, y, 1e-3, dtype="float64", solver="cg", preconditioner_rank=N
    )
    assert model.diagnostics.iterations == 1 and model.diagnostics.preconditioner_rank == N


# --- kernel regression -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("ridge", [0.0, 0.1])
def test_cg_predictions_equal_the_dense_solve_at_1500_points(ridge):
    # (~15 s; the default tests use 150 points, the n = 4000 case is below.) Predictions agree
    # to 1e-6 relative (measured ~2e-8: tol = 1e-8 times a small amplification).
    x, y, xt = _data(1500, k=2)
    dense = ntkx.kernel_regression(NET, x, y, ridge, dtype="float64", solver="dense")
    cg = ntkx.kernel_regression(NET, x, y, ridge, dtype="float64", solver="cg")
    diag = cg.diagnostics
    assert isinstance(diag, ntkx.CGDiagnostics) and diag.solver == "cg"
    assert diag.result == "converged" and diag.residual <= 1e-8
    # default rank: 1500 // 8 = 187 (in [100, 1000])
    assert diag.preconditioner == "pivoted_cholesky" and diag.preconditioner_rank == 187
    assert len(diag.residual_history) == diag.iterations + 1
    pd, pc = dense.predict(xt), cg.predict(xt)
    assert np.linalg.norm(pc - pd) / np.linalg.norm(pd) <= 1e-6
    assert cg.operator is not None and dense.operator is None
    assert dense.diagnostics.solver == "dense"


@pytest.mark.parametrize("ridge", [0.0, 0.01])
def test_cg_predictions_equal_numpy_solve_and_dense_and_preconditioner_saves_iterations(ridge):
    # Independent reference: numpy.linalg.solve on the materialised kernel (+ ridge), predicted
    # with the materialised test kernel; and the dense Cholesky solver. 1e-6 relative (the
    # issue's criterion; measured ~1e-9 to 1e-8 at tol = 1e-8).
    x, y, xt = _data(N, D, k=2, seed=7)
    k = ntkx.kernel(NET, x, dtype="float64")
    ref = ntkx.kernel(NET, xt, x, dtype="float64") @ np.linalg.solve(k + ridge * np.eye(N), y)
    dense = ntkx.kernel_regression(NET, x, y, ridge, dtype="float64", solver="dense")
    assert dense.diagnostics.solver == "dense" and dense.operator is None
    runs = {}
    for pre in ("pivoted_cholesky", "nystrom", None):
        model = ntkx.kernel_regression(
            NET, x, y, ridge, dtype="float64", solver="cg", preconditioner=pre,
            preconditioner_rank=20,
        )  # fmt: skip
        diag = model.diagnostics
        assert isinstance(diag, ntkx.CGDiagnostics) and diag.solver == "cg"
        assert diag.result == "converged" and diag.residual <= 1e-8
        assert diag.preconditioner == pre and diag.preconditioner_rank == (20 if pre else 0)
        assert len(diag.residual_history) == diag.iterations + 1
        pred = model.predict(xt)
        assert np.linalg.norm(pred - ref) / np.linalg.norm(ref) <= 1e-6
        assert np.linalg.norm(pred - dense.predict(xt)) / np.linalg.norm(ref) <= 1e-6
        runs[pre] = diag.iterations
    # Measured on this data (rank 20 of 150): see the printed counts; the preconditioner must
    # save at least a third of the iterations.
    print(ridge, runs)
    assert runs["pivoted_cholesky"] < 2 / 3 * runs[None]
    assert runs["nystrom"] < 2 / 3 * runs[None]


def test_duplicates_are_merged_like_the_dense_solver():
    # The dense solver merges exact duplicates (labels averaged, ridge / multiplicity); CG gets
    # the same system, so the predictions agree to 1e-6 relative.
    x, y, xt = _data(N, D, k=2, seed=9)
    x = np.concatenate([x, x[:20]])
    y = np.concatenate([y, y[:20] + 1.0])
    dense = ntkx.kernel_regression(NET, x, y, 0.05, dtype="float64", solver="dense")
    cg = ntkx.kernel_regression(NET, x, y, 0.05, dtype="float64", solver="cg")
    assert cg.diagnostics.n_train == N + 20 and cg.diagnostics.n_unique == N
    pd = dense.predict(xt)
    assert np.linalg.norm(cg.predict(xt) - pd) / np.linalg.norm(pd) <= 1e-6


def _graph_batch(n: int, seed: int):
    return shortest_path_dataset(n, ["general", "path"], 3, 5, seed=seed).batch


SLOW = pytest.mark.slow  # graph kernels and Monte Carlo networks compile for 8-30 s each


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("gnn", marks=SLOW),
        pytest.param("gin", marks=SLOW),
        "from_stax",
        pytest.param("mlp_monte_carlo", marks=SLOW),
        pytest.param("gnn_monte_carlo", marks=SLOW),
        pytest.param("nngp", marks=SLOW),
    ],
)
def test_cg_works_for_every_architecture_through_the_engine(case):
    # Every kernel comes from the engine's own block functions: CG must reproduce the dense
    # solver's predictions (same kernels, same Monte Carlo networks from one key) to 1e-6.
    import neural_tangents as nt

    kw: dict = {"dtype": "float64", "ridge": 1e-3}
    if case.startswith("gnn") or case == "gin":
        net = ntkx.gnn(depth=1) if case.startswith("gnn") else ntkx.gin(2, 1, b_std=0.1)
        x, xt = _graph_batch(24, 1), _graph_batch(6, 2)
    else:
        net = NET
        x, _, xt = _data(N, D, seed=3)
    if case == "from_stax":
        s = nt.stax
        net = ntkx.from_stax(*s.serial(s.Dense(64), s.Erf(), s.Dense(1)), width=64)
    if case.endswith("monte_carlo"):
        net = ntkx.gnn(depth=1, width=32) if case.startswith("gnn") else ntkx.mlp(width=64)
        kw |= {"method": "monte_carlo", "key": jax.random.key(3), "n_samples": 3}
    if case == "nngp":
        kw["get"] = "nngp"
    y = np.stack([np.sin(np.arange(len(x))), np.cos(np.arange(len(x)))], axis=1)
    dense = ntkx.kernel_regression(net, x, y, solver="dense", **kw)
    cg = ntkx.kernel_regression(net, x, y, solver="cg", preconditioner_rank=5, **kw)
    assert cg.diagnostics.kernel_method == kw.get("method", "closed_form")
    pd = dense.predict(xt)
    assert np.linalg.norm(cg.predict(xt) - pd) / np.linalg.norm(pd) <= 1e-6


def test_non_convergence_warns_and_is_reported():
    x, y, _ = _data(N, D, k=2)
    with pytest.warns(ntkx.ConvergenceWarning, match="max_iter=2"):
        model = ntkx.kernel_regression(
            NET, x, y, dtype="float64", solver="cg", max_iter=2, preconditioner=None
        )
    d = model.diagnostics
    assert d.result == "max_iter" and d.iterations == 2 and d.residual > d.tol
    assert "residual=" in repr(model)


def test_auto_chooses_cg_when_the_dense_kernel_does_not_fit(monkeypatch):
    x, y, _ = _data(N, D, k=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ntkx.kernel_regression(NET, x, y, dtype="float64").diagnostics.solver == "dense"
    # 150^2 * (8 + 16) bytes = 540 kB: with (pretend) 500 kB available the dense solve cannot
    # fit (only the solver's estimate is patched; the engine's own memory check is not).
    monkeypatch.setattr(solvers_module, "available_memory_bytes", lambda: 500_000)
    assert ntkx.kernel_regression(NET, x, y, dtype="float64").diagnostics.solver == "cg"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"solver": "lu"}, "solver='lu'"),
        ({"tol": 0.0}, "tol=0.0"),
        ({"tol": float("nan")}, "tol=nan"),
        ({"max_iter": 0}, "max_iter=0"),
        ({"preconditioner": "jacobi"}, "preconditioner='jacobi'"),
        ({"preconditioner_rank": 0}, "preconditioner_rank=0"),
    ],
)
def test_bad_cg_options_raise_before_any_computation(kwargs, match, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("computed before checking the arguments")

    monkeypatch.setattr(solvers_module, "KernelOperator", boom)
    monkeypatch.setattr(solvers_module, "kernel", boom)
    x, y, _ = _data(10, 2)
    with pytest.raises(ValueError, match=match):
        ntkx.kernel_regression(NET, x, y, **kwargs)


def test_cg_refuses_a_precomputed_kernel_and_bad_ridge_vectors():
    with pytest.raises(ValueError, match="solver='cg' is not allowed for a precomputed"):
        ntkx.kernel_regression(np.eye(3), None, np.ones(3), solver="cg")
    with pytest.raises(ValueError, match=r"ridge has shape \(2,\)"):
        ntkx.KernelOperator(NET, np.ones((3, 2)), ridge=np.ones(2))
    with pytest.raises(ValueError, match="v has shape"):
        ntkx.KernelOperator(NET, np.ones((3, 2))).matvec(np.ones((4, 1)))


# --- devices -----------------------------------------------------------------------------------

_SHARDED = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np, ntkx
    from ntkx.core import iterative
    rng = np.random.default_rng(0)
    # Test points as many as training points: one compiled product per mesh (no preconditioner:
    # its diagonal and columns go through the same sharded map, checked in the main process).
    x, y, xt = rng.normal(size=(150, 4)), rng.normal(size=(150, 2)), rng.normal(size=(150, 4))
    net = ntkx.mlp(depth=2, b_std=0.1)
    out = {"devices": len(jax.devices())}
    for nd in (1, 2, 4):
        # 3 row tiles of 50: on 2 and 4 devices the symmetric products pad with a row tile of
        # no points, whose parts must be dropped.
        op = ntkx.KernelOperator(net, x, dtype="float64", ridge=0.01, block_size=50,
                                 devices=jax.devices()[:nd])
        alpha, diag = iterative.solve_cg(op, y, tol=1e-8, max_iter=500,
                                         preconditioner=None, rank=1, n_train=150)
        pred = op.kernel_matvec(alpha, x_rows=xt)
        out[nd] = {"pred": pred.tolist(), "iterations": diag.iterations,
                   "n_devices": diag.n_devices, "tiles": [op.n_blocks, op.n_tiles],
                   "sharding": str(op._rows.sharding.spec)}
    out["default_devices"] = len(ntkx.KernelOperator(net, x).devices)
    json.dump(out, sys.stdout)
    """
)


def test_sharded_products_equal_one_device():
    # One subprocess with 4 CPU devices (XLA_FLAGS), running on 1, 2 and 4 of them. The tiling
    # depends on n and the block only (devices add zero-weight padding tiles), so every device
    # sums the same tiles in the same order: the results are bitwise equal (tolerance 0). This
    # holds for the symmetric products of CG too (each step's transposed parts are gathered and
    # added in one order), also with a padding row tile (3 row tiles on 2 and 4 devices).
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    root = pathlib.Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-c", _SHARDED], env=env, cwd=root, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    assert out["devices"] == 4 and out["default_devices"] == 4
    one = np.asarray(out["1"]["pred"])
    for nd in ("2", "4"):
        assert out[nd]["n_devices"] == int(nd) and "rows" in out[nd]["sharding"]
        assert out[nd]["iterations"] == out["1"]["iterations"]
        np.testing.assert_array_equal(np.asarray(out[nd]["pred"]), one)
    assert [out[nd]["tiles"] for nd in ("1", "2", "4")] == [[3, 3], [3, 4], [3, 4]]


# --- publication size (slow) -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("ridge", [0.0, 1e-2])
def test_cg_equals_dense_at_4000_points(ridge):
    # The agreement criterion: 1e-6 relative on predictions, float64, n = 4000.
    x, y, xt = _data(4000, k=2, seed=11)
    dense = ntkx.kernel_regression(NET, x, y, ridge, dtype="float64", solver="dense")
    cg = ntkx.kernel_regression(NET, x, y, ridge, dtype="float64", solver="cg")
    assert cg.diagnostics.result == "converged"
    pd = dense.predict(xt)
    assert np.linalg.norm(cg.predict(xt) - pd) / np.linalg.norm(pd) <= 1e-6


@pytest.mark.slow
def test_hundred_thousand_points_under_4_gb():
    # n = 100,000, d = 16, depth-2 ReLU MLP with bias, ridge 1e-2, float64: the dense kernel
    # alone would be 80 GB. Runs benchmarks/bench_cg.py --large --rank 1000 (one place for the
    # recipe) in a subprocess; peak RSS of that whole process (jax included) must stay < 4 GiB
    # (measured 3.35 GiB, 81 iterations, 24 min on 2 cores: README "CG against dense").
    root = pathlib.Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "bench_cg.py"),
         "--large", "100000", "--rank", "1000"],
        cwd=root, capture_output=True, text=True, timeout=12 * 3600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    print(out)
    assert out["result"] == "converged" and out["residual"] <= 1e-8
    assert out["peak_rss_gib"] < 4.0
