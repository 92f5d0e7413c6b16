"""ntkx.core.solvers against independent linear algebra and exact cases.

All comparisons are in float64 (``dtype="float64"``). Tolerances are stated next to each check;
the recurring one is the backward-stability bound of a linear solve: a relative error of about
``condition_number * eps``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg

import ntkx
from ntkx.core.kernels import kernel_matrix
from ntkx.core.solvers import (
    gradient_flow,
    kernel_regression,
    nngp_posterior,
    solve_kernel_system,
)

EPS = np.finfo(np.float64).eps


def _data(n: int = 20, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=n)


# Lemma 1 (exact linear extrapolation) is a claim of the paper: it is checked in one place,
# proofs_check/lemma1_exact_linear.py, which tests/test_proofs_check.py runs.


# --- kernel regression -------------------------------------------------------------------------


def test_ridge_free_predictor_interpolates():
    # Backward-stable solve: |K alpha - y| <~ n eps |K| |alpha|; relative to |y| that is at most
    # ~ n * condition_number * eps. With the measured condition number this is far below 1e-8.
    x, y = _data(25, 4)
    model = kernel_regression(ntkx.mlp(depth=3, b_std=0.2), x, y, dtype="float64")
    diag = model.diagnostics
    assert diag.path == "cholesky" and diag.jitter == 0.0
    assert diag.n_train == diag.n_unique == 25
    bound = 25 * diag.condition_number * EPS
    assert bound < 1e-6
    np.testing.assert_allclose(
        model.predict(x), y, rtol=0, atol=max(bound, 1e-12) * np.abs(y).max()
    )


def test_ridge_matches_independent_solve():
    # (K + ridge I) alpha = y solved with scipy's generic LU solver on the kernel matrix: the
    # well-conditioned (ridge = 0.1) system makes both agree to ~1e-13 relative.
    net = ntkx.mlp(depth=2, b_std=0.3)
    x, y = _data(30, 3, seed=1)
    x_test = np.random.default_rng(2).normal(size=(7, 3))
    model = kernel_regression(net, x, y, ridge=0.1, dtype="float64")
    k = kernel_matrix(net, x, dtype="float64")
    alpha = scipy.linalg.solve(k + 0.1 * np.eye(30), y, assume_a="gen")
    want = kernel_matrix(net, x_test, x, dtype="float64") @ alpha
    np.testing.assert_allclose(model.predict(x_test), want, rtol=1e-11, atol=1e-12)
    # solve_kernel_system on the same matrix: the same alpha.
    alpha2, diag = solve_kernel_system(k, y, ridge=0.1)
    assert diag.path == "cholesky"
    np.testing.assert_allclose(alpha2, alpha, rtol=1e-11, atol=1e-12 * np.abs(alpha).max())


def test_multi_output_is_columnwise():
    net = ntkx.mlp(depth=2)
    x, y1 = _data(15, 3, seed=3)
    y2 = np.sin(x[:, 0])
    x_test = np.random.default_rng(4).normal(size=(5, 3))
    both = kernel_regression(net, x, np.stack([y1, y2], axis=1), dtype="float64").predict(x_test)
    assert both.shape == (5, 2)
    one = kernel_regression(net, x, y1, dtype="float64").predict(x_test)
    assert one.shape == (5,)
    np.testing.assert_allclose(both[:, 0], one, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("ridge", [0.0, 0.05])
def test_duplicates_give_the_deduplicated_predictor(ridge):
    # The paper's own data repeats points. Repeating a point m times with labels y_1..y_m is
    # the same least-squares problem as the point once with the mean label and weight m; the
    # result must equal (ridge = 0) the fit on the de-duplicated set with mean labels, and
    # (ridge > 0) an independent solve of the full, duplicated (K + ridge I) alpha = y, which is
    # well posed because of the ridge. The de-duplicated system is well conditioned: ~1e-10.
    net = ntkx.mlp(depth=2, b_std=0.1)
    x, y = _data(12, 3, seed=5)
    reps = np.array([3, 1, 2, 1, 1, 4, 1, 1, 2, 1, 1, 1])
    x_dup = np.repeat(x, reps, axis=0)
    rng = np.random.default_rng(6)
    y_dup = np.repeat(y, reps) + 0.1 * rng.normal(size=reps.sum())  # inconsistent labels
    perm = rng.permutation(reps.sum())
    x_dup, y_dup = x_dup[perm], y_dup[perm]
    x_test = rng.normal(size=(6, 3))
    model = kernel_regression(net, x_dup, y_dup, ridge=ridge, dtype="float64")
    assert model.diagnostics.n_train == reps.sum() and model.diagnostics.n_unique == 12
    if ridge == 0.0:
        y_mean = np.array([y_dup[np.all(x_dup == row, axis=1)].mean() for row in x])
        want = kernel_regression(net, x, y_mean, dtype="float64").predict(x_test)
    else:
        k = kernel_matrix(net, x_dup, dtype="float64")
        alpha = scipy.linalg.solve(k + ridge * np.eye(len(x_dup)), y_dup)
        want = kernel_matrix(net, x_test, x_dup, dtype="float64") @ alpha
    np.testing.assert_allclose(model.predict(x_test), want, rtol=1e-10, atol=1e-10)


def test_singular_kernel_gives_min_norm_least_squares():
    # Exact rank deficiency: a depth-1 (linear) network with bias has kernel
    # K = Phi Phi^T with features phi(x) = (W x / sqrt(d), b): rank d + 1 < n. With inconsistent
    # labels the ridge-free predictor must be the minimum-norm least-squares fit on the
    # features, computed here independently with numpy lstsq. The solver must notice the
    # singularity (jitter or eigh path). With jitter epsilon the jittered fit differs from the
    # least-squares one by ~epsilon / lambda_min+(K) (lambda_min+: smallest non-zero eigenvalue).
    d, n, w, b = 3, 40, 1.3, 0.4
    net = ntkx.mlp(depth=1, W_std=w, b_std=b)
    x, y = _data(n, d, seed=7)
    x_test = np.random.default_rng(8).normal(size=(9, d))

    def features(z):
        return np.concatenate([w * z / math.sqrt(d), np.full((len(z), 1), b)], axis=1)

    coef, *_ = np.linalg.lstsq(features(x), y, rcond=None)
    want = features(x_test) @ coef
    model = kernel_regression(net, x, y, dtype="float64")
    diag = model.diagnostics
    assert diag.path in ("cholesky+jitter", "eigh-pinv"), diag
    lam_plus = np.linalg.svd(features(x), compute_uv=False)[-1] ** 2
    tol = 10 * max(diag.jitter, 0.0) / lam_plus + 1e-9
    np.testing.assert_allclose(model.predict(x_test), want, rtol=0, atol=tol * np.abs(want).max())
    # The same through solve_kernel_system on the explicit kernel.
    k = features(x) @ features(x).T
    alpha, diag2 = solve_kernel_system(k, y)
    assert diag2.path in ("cholesky+jitter", "eigh-pinv")
    np.testing.assert_allclose(
        (features(x_test) @ features(x).T) @ alpha, want, rtol=0, atol=tol * np.abs(want).max()
    )


def test_exactly_singular_kernel_gives_min_norm_fit():
    # K = 1 1^T (n x n) is exactly singular (rank 1). Whatever path the solver takes, the
    # ridge-free fit must be the minimum-norm least-squares one: K K^+ y = the mean of y in
    # every entry. A jittered solve (K + eps I)^-1 y instead has |alpha| ~ |y - mean| / eps
    # ~ 1e14, and K alpha loses ~|alpha| * eps ~ 1e-2 to cancellation; 1e-9 is far below that.
    n = 5
    k = np.ones((n, n))
    y = np.arange(1.0, n + 1)
    alpha, diag = solve_kernel_system(k, y)
    assert diag.path in ("cholesky+jitter", "eigh-pinv")
    np.testing.assert_allclose(k @ alpha, np.full(n, y.mean()), rtol=0, atol=1e-9)


# --- gradient flow -----------------------------------------------------------------------------


def test_gradient_flow_matches_matrix_exponential():
    # neural-tangents' predict.gradient_descent_mse (predict.py, _make_expm1_fn) uses
    # expm1(-lambda * t / N) with N = y_train.size (= n for one output) and t scaled by the
    # learning rate: f_t(x) = K_xX K^{-1} (I - exp(-eta K t / n)) y from f_0 = 0. Computed here
    # with scipy's matrix exponential and a dense solve (no eigendecomposition); both sides are
    # smooth functions of a well-conditioned K: 1e-10.
    net = ntkx.mlp(depth=2, b_std=0.2)
    x, y = _data(16, 3, seed=9)
    x_test = np.random.default_rng(10).normal(size=(5, 3))
    k = kernel_matrix(net, x, dtype="float64")
    k_st = kernel_matrix(net, x_test, x, dtype="float64")
    n = len(y)
    times = np.array([0.0, 0.3, 2.0, 25.0])
    got = gradient_flow(net, x, y, x_test, times, dtype="float64")
    assert got.shape == (4, 5)
    for i, t in enumerate(times):
        want = k_st @ np.linalg.solve(k, (np.eye(n) - scipy.linalg.expm(-k * t / n)) @ y)
        np.testing.assert_allclose(got[i], want, rtol=1e-10, atol=1e-10 * np.abs(y).max())
    np.testing.assert_array_equal(got[0], np.zeros(5))  # t = 0: the mean initial output, 0
    # scalar t, and the learning rate only rescales time
    one = gradient_flow(net, x, y, x_test, 0.3, learning_rate=2.0, dtype="float64")
    np.testing.assert_allclose(one, gradient_flow(net, x, y, x_test, 0.6, dtype="float64"), 1e-12)


def test_gradient_flow_converges_to_kernel_regression():
    # As t -> inf, exp(-K t / n) -> 0 at rate exp(-lambda_min t / n); with t = 1e4 n / lambda_min
    # the remainder is e^-10000: what is left is solver rounding, ~condition * eps.
    net = ntkx.mlp(depth=2, b_std=0.2)
    x, y = _data(12, 3, seed=11)
    x_test = np.random.default_rng(12).normal(size=(4, 3))
    model = kernel_regression(net, x, y, dtype="float64")
    t_big = 1e4 * len(y) / model.diagnostics.min_eigenvalue
    got = gradient_flow(net, x, y, x_test, t_big, dtype="float64")
    tol = 100 * model.diagnostics.condition_number * EPS
    np.testing.assert_allclose(got, model.predict(x_test), rtol=0, atol=tol * np.abs(y).max())


def test_gradient_flow_two_outputs_time_normalisation():
    # With y of shape (n, k) the documented loss is the mean over all n k outputs, so N = n k.
    net = ntkx.mlp(depth=2)
    x, y1 = _data(10, 3, seed=13)
    y = np.stack([y1, -2 * y1], axis=1)
    x_test = np.random.default_rng(14).normal(size=(3, 3))
    k = kernel_matrix(net, x, dtype="float64")
    k_st = kernel_matrix(net, x_test, x, dtype="float64")
    t, n_total = 1.7, y.size
    want = k_st @ np.linalg.solve(k, (np.eye(10) - scipy.linalg.expm(-k * t / n_total)) @ y)
    got = gradient_flow(net, x, y, x_test, t, dtype="float64")
    assert got.shape == (3, 2)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# --- NNGP posterior ----------------------------------------------------------------------------


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_nngp_posterior_matches_hand_written_gp(noise):
    # GP posterior written out with a dense solve, on the NNGP from the independent reference:
    # mean = S_sX (S_XX + noise I)^{-1} y, var = S_ss - S_sX (S_XX + noise I)^{-1} S_Xs.
    # The kernels agree to ~1e-15 (NNGP: see test_architectures); the solve adds
    # ~condition * eps: 1e-9 relative to the prior variance.
    import references as ref

    net = ntkx.mlp(depth=3, b_std=0.3)
    x, y = _data(14, 4, seed=15)
    x_test = np.concatenate([np.random.default_rng(16).normal(size=(5, 4)), x[:2]])
    s_xx, _ = ref.mlp_kernels(x, depth=3, b_std=0.3)
    s_sx, _ = ref.mlp_kernels(x_test, x, depth=3, b_std=0.3)
    s_ss, _ = ref.mlp_kernels(x_test, depth=3, b_std=0.3)
    a = s_xx + noise * np.eye(len(x))
    want_mean = s_sx @ np.linalg.solve(a, y)
    want_var = np.diag(s_ss) - np.einsum("ij,ji->i", s_sx, np.linalg.solve(a, s_sx.T))
    mean, var = nngp_posterior(net, x, y, x_test, noise=noise, dtype="float64")
    assert mean.shape == var.shape == (7,)
    prior = np.diag(s_ss)
    np.testing.assert_allclose(mean, want_mean, rtol=0, atol=1e-9 * np.abs(y).max())
    np.testing.assert_allclose(var, np.maximum(want_var, 0), rtol=0, atol=1e-9 * prior.max())
    assert np.all(var >= 0) and np.all(var <= prior * (1 + 1e-12))
    if noise == 0.0:
        # noiseless: the posterior interpolates and has no variance at training inputs
        np.testing.assert_allclose(mean[5:], y[:2], atol=1e-9)
        np.testing.assert_allclose(var[5:], 0.0, atol=1e-9 * prior.max())


# --- bad input ---------------------------------------------------------------------------------


_X, _Y = _data(6, 3)
_BAD = [
    (lambda net: kernel_regression(net, _X, _Y, ridge=-1.0), r"ridge=-1\.0 .*>= 0"),
    (lambda net: kernel_regression(net, _X, _Y, ridge=float("nan")), r"ridge=nan "),
    (lambda net: kernel_regression(net, _X, _Y[:5]), r"y_train has shape \(5,\); expected \(6,\)"),
    (lambda net: kernel_regression(net, _X, np.full(6, np.nan)), r"y_train contains 6 non-fin"),
    (lambda net: kernel_regression(net, _X, _Y, get="cov"), r"get='cov' "),
    (lambda net: kernel_regression(net, _X, _Y, dtype="half"), r"dtype='float16' "),
    (lambda net: kernel_regression(net, _X[:, 0], _Y), r"x_train has shape \(6,\)"),
    (lambda net: kernel_regression(net, np.zeros((0, 3)), _Y[:0]), r"x_train has shape \(0, 3\)"),
    (lambda net: kernel_regression(net, _X, _Y).predict(np.ones((2, 4))), r"x has 4 features"),
    (lambda net: kernel_regression(net, _X, _Y).predict([[np.inf, 0, 0]]), r"x contains 1 non-"),
    (lambda net: gradient_flow(net, _X, _Y, _X, -1.0), r"t=-1\.0 "),
    (lambda net: gradient_flow(net, _X, _Y, _X, float("nan")), r"t=nan "),
    (lambda net: gradient_flow(net, _X, _Y, _X, np.ones((2, 2))), r"(?s)t=array.*1-D array"),
    (lambda net: gradient_flow(net, _X, _Y, _X[:, :2], 1.0), r"x_test has 2 features"),
    (lambda net: gradient_flow(net, _X, _Y, _X, 1.0, learning_rate=0), r"learning_rate=0 "),
    (lambda net: nngp_posterior(net, _X, _Y, _X, noise=-0.1), r"ridge=-0\.1 |noise=-0\.1 "),
    (lambda net: nngp_posterior(net, _X, _Y, np.ones((2, 5))), r"x_test has 5 features"),
    (lambda net: solve_kernel_system(np.ones((3, 2)), np.ones(3)), r"k_train_train has shape"),
    (lambda net: solve_kernel_system(np.full((2, 2), np.nan), np.ones(2)), r"k_train_train con"),
    (lambda net: solve_kernel_system(np.eye(2), np.ones(3)), r"y_train has shape \(3,\)"),
    (lambda net: solve_kernel_system(-np.eye(2), np.ones(2)), r"mean diagonal"),
]


@pytest.mark.parametrize(("call", "pattern"), _BAD)
def test_bad_input_raises_value_error(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call(ntkx.mlp(depth=2))
