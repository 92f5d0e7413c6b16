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
    model = kernel_regression(net, x, y, dtype="float64", diagnostics="full")
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
    (lambda net: nngp_posterior(net, _X, _Y, _X, noise=-0.1), r"noise=-0\.1 "),
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


# --- diagnostics levels, symmetry, residual ---------------------------------------------------


def _known_spectrum(n: int, evals: np.ndarray, seed: int = 0) -> np.ndarray:
    """``Q diag(evals) Q^T`` with a Haar-random orthogonal ``Q``, exactly symmetrized."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    q *= np.sign(np.diag(r))
    k = (q * evals) @ q.T
    return 0.5 * (k + k.T)


_SPECTRA = {
    "geometric-1e6": np.geomspace(1e-6, 1.0, 200),
    "two-clusters-1e4": np.r_[np.full(100, 1e-4), np.full(100, 1.0)],
    "one-small-1e8": np.r_[1e-8, np.linspace(0.5, 2.0, 199)],
    "flat-1": np.linspace(1.0, 1.5, 200),
}


@pytest.mark.parametrize("name", sorted(_SPECTRA))
def test_diagnostics_levels_fill_what_they_promise(name):
    evals = _SPECTRA[name]
    k = _known_spectrum(len(evals), evals, seed=len(name))
    y = np.random.default_rng(1).normal(size=len(evals))
    kappa = evals.max() / evals.min()  # kappa_2, exact by construction
    exact = np.linalg.eigvalsh(k)  # numpy's own LAPACK, independent of the solver's scipy
    # "full": exact extreme eigenvalues for n <= 512. eigvalsh is backward stable: absolute
    # error ~ n eps lambda_max, i.e. 200 * 2.2e-16 / 1e-8 ~ 5e-6 relative for the smallest
    # eigenvalue of the worst spectrum; 1e-5 relative allows that.
    _, full = solve_kernel_system(k, y, diagnostics="full")
    assert full.diagnostics == "full" and full.path == "cholesky"
    np.testing.assert_allclose(full.min_eigenvalue, exact[0], rtol=1e-5)
    np.testing.assert_allclose(full.max_eigenvalue, exact[-1], rtol=1e-12)
    np.testing.assert_allclose(full.condition_number, exact[-1] / exact[0], rtol=1e-5)
    # "cheap": LAPACK's pocon estimates the 1-norm condition number kappa_1 = |K|_1 |K^-1|_1
    # from below, in practice within a factor of 3 (Higham, "Accuracy and Stability of
    # Numerical Algorithms", 2002, section 15.3; Hager-Higham estimator): checked against the
    # exact kappa_1 (numpy's inverse) within a factor of 10. It is not the 2-norm condition
    # number: kappa_2 <= kappa_1 <= n kappa_2 (the two-cluster spectrum has kappa_1 ~ 40
    # kappa_2), so against kappa_2 from eigvalsh the estimate lies in [kappa_2 / 10, n kappa_2].
    _, cheap = solve_kernel_system(k, y)
    assert cheap.diagnostics == "cheap"
    assert cheap.min_eigenvalue is None and cheap.max_eigenvalue is None
    kappa_1 = np.linalg.cond(k, 1)
    assert kappa_1 / 10 <= cheap.condition_number <= kappa_1 * (1 + 1e-6), (cheap, kappa_1)
    kappa_2 = exact[-1] / exact[0]
    assert kappa_2 / 10 <= cheap.condition_number <= len(evals) * kappa_2
    # "none": nothing optional.
    alpha, none = solve_kernel_system(k, y, diagnostics="none")
    assert none.diagnostics == "none"
    assert none.min_eigenvalue is none.max_eigenvalue is none.condition_number is None
    assert none.residual is None
    # The residual of cheap/full is ||K alpha - y|| / ||y||, recomputed here in NumPy; a
    # backward-stable Cholesky solve leaves at most ~ n kappa eps of it.
    want = np.linalg.norm(k @ alpha - y) / np.linalg.norm(y)
    for diag in (cheap, full):
        assert diag.residual <= 200 * kappa * EPS
        np.testing.assert_allclose(diag.residual, want, rtol=0.5, atol=10 * EPS)


def test_full_diagnostics_lanczos_above_exact_size():
    # n = 600 > EXACT_EIGEN_MAX_N: Lanczos (eigsh, tol 1e-4) on K and on K^-1; against
    # numpy's eigvalsh. eigsh's tol is relative on the Ritz value: 1e-3 allows it.
    evals = np.geomspace(1e-3, 2.0, 600)
    k = _known_spectrum(600, evals, seed=3)
    _, diag = solve_kernel_system(k, np.ones(600), diagnostics="full")
    np.testing.assert_allclose(diag.min_eigenvalue, 1e-3, rtol=1e-3)
    np.testing.assert_allclose(diag.max_eigenvalue, 2.0, rtol=1e-3)


def test_residual_reports_jitter_and_least_squares():
    # Jitter path: alpha solves (K + j I) alpha = y, so the residual of the system asked for is
    # ||K alpha - y|| = j ||alpha|| up to rounding: it must be reported, not hidden.
    # Rank-deficient K = F F^T with consistent labels y = F c: Cholesky with jitter succeeds.
    rng = np.random.default_rng(4)
    f = rng.normal(size=(30, 5))
    k = f @ f.T
    k = 0.5 * (k + k.T)
    y = f @ rng.normal(size=5) + 1e-3 * rng.normal(size=30)  # slightly inconsistent
    alpha, diag = solve_kernel_system(k, y)
    want = np.linalg.norm(k @ alpha - y) / np.linalg.norm(y)
    # Two evaluations of the same residual in float64 differ by rounding ~ eps ||K|| ||alpha||
    # relative to ||y||; 1e-6 relative to the (>= 1e-4) residual allows that.
    np.testing.assert_allclose(diag.residual, want, rtol=1e-6)
    # Whatever the path, the fit is the least-squares one on the column space of F
    # (lstsq, independent), so the residual is the least-squares residual, about 1e-3 / |y|.
    coef, *_ = np.linalg.lstsq(f, y, rcond=None)
    ls = np.linalg.norm(f @ coef - y) / np.linalg.norm(y)
    # jitter <= 1e-8 mean diag moves the fit by ~ jitter / lambda_min+ (see the test above).
    np.testing.assert_allclose(diag.residual, ls, rtol=1e-3)


def test_cholesky_with_large_backward_error_is_refused(monkeypatch):
    # A factorization that passes the rcond test but does not solve the system (here: the
    # factor of 4 K, so alpha is off by a factor of 4, residual 0.75) must be refused by the
    # residual guard; the solve then falls back to the eigendecomposition, whose answer is
    # checked against numpy's solve (well conditioned: 1e-10).
    real = scipy.linalg.cho_factor
    monkeypatch.setattr(scipy.linalg, "cho_factor", lambda a, **kw: real(4.0 * np.asarray(a), **kw))
    k = _known_spectrum(40, np.linspace(1.0, 3.0, 40))
    y = np.random.default_rng(5).normal(size=40)
    alpha, diag = solve_kernel_system(k, y)
    assert diag.path == "eigh-pinv"
    np.testing.assert_allclose(alpha, np.linalg.solve(k, y), rtol=1e-10)
    assert diag.residual < 1e-13  # n kappa eps = 40 * 3 * 2.2e-16 ~ 3e-14
    # "none" skips the guard (documented): the wrong factorization goes through.
    _, unguarded = solve_kernel_system(k, y, diagnostics="none")
    assert unguarded.path == "cholesky"


def test_symmetry_rounding_is_accepted_and_symmetrized():
    # An asymmetry of 1e-13 relative (rounding of two summation orders) is allowed
    # (SYMMETRY_RTOL = 1e-10 for float64) and the solve is that of (K + K^T) / 2, compared
    # with numpy's solve of the symmetrized matrix: 1e-10 (condition ~ 3).
    k = _known_spectrum(20, np.linspace(1.0, 3.0, 20), seed=6)
    noise = 1e-13 * np.random.default_rng(7).normal(size=k.shape)
    k_bad = k + noise
    y = np.arange(20.0)
    alpha, diag = solve_kernel_system(k_bad, y)
    assert diag.path == "cholesky"
    np.testing.assert_allclose(alpha, np.linalg.solve(0.5 * (k_bad + k_bad.T), y), rtol=1e-10)


def test_bad_diagnostics_level():
    with pytest.raises(ValueError, match=r"diagnostics='fast' .*'cheap'"):
        solve_kernel_system(np.eye(2), np.ones(2), diagnostics="fast")
    with pytest.raises(ValueError, match=r"diagnostics='all' "):
        kernel_regression(ntkx.mlp(), _X, _Y, diagnostics="all")


_ASYM = np.random.default_rng(8).normal(size=(4, 4))
_PD = _known_spectrum(6, np.linspace(1.0, 2.0, 6), seed=9)
_PD_PERTURBED = _PD.copy()
_PD_PERTURBED[0, 3] += 5  # still positive definite in its lower triangle: Cholesky "works"


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda: solve_kernel_system(_ASYM, np.ones(4)),
            r"k_train_train is not symmetric: max \|K\[i, j\] - K\[j, i\]\| = .* allowed is "
            r"1e-10 relative",
        ),
        (
            lambda: solve_kernel_system(_PD_PERTURBED, np.ones(6)),
            r"k_train_train is not symmetric: max \|K\[i, j\] - K\[j, i\]\| = 5 at \(i, j\) = "
            r"\((0, 3|3, 0)\)",
        ),
        (
            lambda: solve_kernel_system(_PD_PERTURBED.astype(np.float32), np.ones(6)),
            r"k_train_train is not symmetric: .* allowed is 0\.0001 relative .*float32",
        ),
        (
            lambda: kernel_regression(_PD_PERTURBED, None, np.ones(6)),
            r"net \(a precomputed kernel\) is not symmetric",
        ),
    ],
)
def test_non_symmetric_kernels_are_refused(call, pattern):
    # Before: a non-symmetric A gave residual 2.0 and K[0, 3] += 5 gave 1.71, silently.
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.slow
def test_paper_size_solve_n20000():
    # The paper's feedforward size: 20,000 training points on the unit sphere in d = 8, the
    # depth-2 ReLU NTK with bias, float64, ridge-free (measured: multithreaded OpenBLAS
    # Cholesky segfaulted here at n >= 16,000; the solver now factorizes on one thread).
    # Reference: the residual recomputed with NumPy from the returned alpha. A backward-stable
    # Cholesky solve gives ||K alpha - y|| <= c n eps ||K|| ||alpha|| (c a small constant;
    # ||K||_2 <= ||K||_1 for symmetric K); 10 n eps bounds the normwise backward error.
    n, d = 20_000, 8
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = (x**2) @ rng.uniform(-1, 1, size=d)
    k = kernel_matrix(ntkx.mlp(depth=2, b_std=1.0), x, dtype="float64")
    alpha, diag = solve_kernel_system(k, y)
    assert diag.path in ("cholesky", "cholesky+jitter"), diag
    r = k @ alpha - y
    r_shift = r + diag.jitter * alpha  # the factorized (jittered) system's residual
    k_norm = float(np.abs(k).sum(axis=0).max())
    backward = np.linalg.norm(r_shift) / (k_norm * np.linalg.norm(alpha) + np.linalg.norm(y))
    assert backward <= 10 * n * EPS, backward
    # The reported residual is the same quantity as NumPy's, up to the rounding of two
    # evaluations of K alpha (~ eps ||K|| ||alpha|| relative to ||y||, 1e-12 absolute here).
    want = np.linalg.norm(r) / np.linalg.norm(y)
    np.testing.assert_allclose(diag.residual, want, rtol=1e-3, atol=1e-12)


# --- where the Cholesky factorization runs (CHOLESKY_ON) --------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_device_cholesky_matches_independent_solve(monkeypatch, dtype):
    # CHOLESKY_ON="device" factors with jax (here its CPU backend; on a GPU the same code runs
    # there) and hands LAPACK the factor as an upper triangle. Against numpy's LU solve of the
    # same float64 system, condition number 100: a backward-stable solve in float64 agrees to
    # ~ kappa * n * eps = 100 * 60 * 2.2e-16 ~ 1e-12; in float32 (solve_dtype="float32") to
    # ~ kappa * n * 6e-8 ~ 4e-4 (measured ~1e-5). The condition estimate is LAPACK's pocon on
    # that factor: a lower bound of kappa_1 within a factor n of kappa_2 = 100.
    from ntkx.core import solvers

    monkeypatch.setattr(solvers, "CHOLESKY_ON", "device")
    k = _known_spectrum(60, np.geomspace(0.01, 1.0, 60), seed=11)
    y = np.random.default_rng(12).normal(size=(60, 2))
    solve_dtype = np.dtype(dtype).name
    alpha, diag = solve_kernel_system(k, y, solve_dtype=solve_dtype)
    assert (diag.path, diag.factored_on) == ("cholesky", "device")
    rtol = 1e-11 if dtype == np.float64 else 4e-4
    np.testing.assert_allclose(alpha, np.linalg.solve(k, y), rtol=rtol, atol=rtol * 100)
    assert 100 / 3 <= diag.condition_number <= 100 * 60
    monkeypatch.setattr(solvers, "CHOLESKY_ON", "host")
    _, host = solve_kernel_system(k, y, solve_dtype=solve_dtype)
    assert host.factored_on == "host"


def test_device_cholesky_failure_falls_back_like_lapack(monkeypatch):
    # K = 1 1^T (rank one): jax's Cholesky fails (NaN factor) as LAPACK's does, and the solve
    # must take the same fallback path, the eigendecomposition pseudo-inverse, whose answer
    # (the minimum-norm least-squares solution: alpha = y_mean / n * 1 for this K) is exact.
    from ntkx.core import solvers

    monkeypatch.setattr(solvers, "CHOLESKY_ON", "device")
    n = 12
    k = np.ones((n, n))
    y = np.arange(1.0, n + 1)
    alpha, diag = solve_kernel_system(k, y)
    assert diag.path == "eigh-pinv"
    np.testing.assert_allclose(alpha, np.full(n, y.mean() / n), rtol=1e-12)


def test_cholesky_place_is_validated(monkeypatch):
    from ntkx.core import solvers

    monkeypatch.setattr(solvers, "CHOLESKY_ON", "gpu")
    with pytest.raises(ValueError, match=r"CHOLESKY_ON='gpu'.*auto.*device.*host"):
        solve_kernel_system(np.eye(3), np.ones(3))
    # "auto" on a CPU backend is the host (the device path is for accelerators).
    monkeypatch.setattr(solvers, "CHOLESKY_ON", "auto")
    assert solve_kernel_system(np.eye(3000), np.ones(3000))[1].factored_on == "host"
