"""The kernel engine: tiles and memory, dtypes, bad input, closed form vs finite networks.

Monte Carlo checks assert ``|MC - closed| <= 5 * stderr + c * scale / width`` entrywise, with
``scale = sqrt(K(x, x) K(x', x'))``:

* 5 standard errors: the estimates are averages over >= 100 independent networks, so they are
  close to Gaussian; a 5-sigma excursion has probability ~6e-7 per entry (the keys are fixed, so
  the tests are deterministic anyway).
* ``c / width`` bounds the finite-width bias of the estimator. For two-layer networks the bias is
  exactly 0 (c = 0): given the first layer, the readout weights are independent with
  ``E[W_j^2] = 1``, so ``E[(W^2/N) sum_j phi(h_j) phi(h'_j)] = W^2 E[phi phi]`` and the first-layer
  gradient term has expectation ``W^2 E[phi' phi'] Theta^1``, the infinite-width recursion term by
  term. With more layers the hidden Gram matrix fluctuates by O(1/sqrt(width)) and the kernel map
  is smooth, so the bias is second order, O(1/width); measured with 4000 networks of width 32
  (depth 3, b_std = 0.3): |bias| * width / scale = 0.3 +- 0.2 (ReLU NTK), 0.8 +- 0.9 (ReLU NNGP),
  0.15 +- 0.13 (erf NTK), 1.4 +- 0.8 (erf NNGP). We take c = 4 for depth 3.
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ntkx
from ntkx.core.kernels import (
    InsufficientMemoryError,
    KernelEstimate,
    empirical_kernel,
    kernel,
    kernel_matrix,
    monte_carlo_kernel,
)
from ntkx.core.numerics import precision_context


def _points(n: int = 6, d: int = 4, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d))
    x[-1] = 2.0 * x[0]  # a parallel pair
    return x


def _scale(k: np.ndarray) -> np.ndarray:
    diag = np.sqrt(np.abs(np.diag(k)))
    return np.outer(diag, diag)


# --- blocking, out=, memory --------------------------------------------------------------------


@pytest.mark.parametrize("get", ["ntk", "nngp"])
@pytest.mark.parametrize(
    "net", [ntkx.mlp(depth=3, b_std=0.2), ntkx.mlp(depth=2, activation="erf", W_std=1.4)]
)
def test_blocked_float64_equals_unblocked(net, get):
    # Block 7 divides neither 23 nor 11 (padded rows must be dropped). Bit-for-bit equality with
    # the unblocked matrix does NOT hold: XLA may sum the d = 5 products of a dot product in a
    # different order for a (7, 5) x (5, 7) tile than for (23, 5) x (5, 23) (measured: 1 ulp in
    # ~25% of entries). What holds exactly is checked exactly: every tile equals a direct call on
    # the same rows (same shapes, same arithmetic), and the symmetric result is exactly symmetric
    # (mirrored tiles; diagonal tiles keep their upper triangle). Against the unblocked matrix:
    # every entry to rounding (1e-14 of the scale; measured 6e-16), the diagonal included: the
    # ReLU kernels take cos = 1 exactly there (through neural-tangents' angle
    # sqrt(S11 S22 - S12^2) a 1-ulp difference became ~sqrt(eps), measured 6e-9). erf has no
    # angle.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(23, 5)), rng.normal(size=(11, 5))
    full = kernel_matrix(net, x, get=get, dtype="float64")
    blocked = kernel_matrix(net, x, get=get, dtype="float64", block_size=7)
    np.testing.assert_array_equal(blocked, blocked.T)
    # Full (7, 7) tiles only: a partial tile is computed padded, a direct call would not be.
    for i, j in [(0, 0), (0, 7), (7, 7), (7, 14), (14, 14), (0, 14)]:
        direct = kernel_matrix(net, x[i : i + 7], x[j : j + 7], get=get, dtype="float64")
        if j == i:  # diagonal tiles keep their upper triangle (exact symmetry)
            direct = np.triu(direct) + np.triu(direct, 1).T
        np.testing.assert_array_equal(blocked[i : i + 7, j : j + 7], direct)
        np.testing.assert_array_equal(blocked[j : j + 7, i : i + 7], direct.T)
    cross = kernel_matrix(net, x, y, get=get, dtype="float64")
    cross_blocked = kernel_matrix(net, x, y, get=get, dtype="float64", block_size=7)
    assert cross_blocked.shape == (23, 11)
    for i in (0, 7, 14):
        direct = kernel_matrix(net, x[i : i + 7], y[:7], get=get, dtype="float64")
        np.testing.assert_array_equal(cross_blocked[i : i + 7, :7], direct)
    off = ~np.eye(23, dtype=bool)
    err = np.abs(blocked - full) / _scale(full)
    assert err[off].max() <= 1e-14, err[off].max()
    assert err.max() <= 1e-14, err.max()
    cross_err = np.abs(cross_blocked - cross) / np.sqrt(
        np.outer(np.diag(full), np.diag(kernel_matrix(net, y, get=get, dtype="float64")))
    )
    assert cross_err.max() <= 1e-14, cross_err.max()


def test_blocked_float32_matches_unblocked_to_float32_rounding():
    # In float32 XLA may round the dot products of different tile shapes differently (1 ulp).
    # That stays at rounding level everywhere (measured 2.7e-7 of the scale; 1e-6 allowed), the
    # diagonal included (cos = 1 exactly there; neural-tangents' angle turned 1 ulp into
    # sqrt(eps_32): 1.7e-4 at depth 3).
    net = ntkx.mlp(depth=3, b_std=0.2)
    x = np.random.default_rng(0).normal(size=(23, 5))
    full = kernel_matrix(net, x, dtype="float32")
    blocked = kernel_matrix(net, x, dtype="float32", block_size=7)
    assert full.dtype == blocked.dtype == np.float32
    err = np.abs(blocked.astype(np.float64) - full) / _scale(full.astype(np.float64))
    assert err.max() <= 1e-6, err.max()


def test_out_memmap(tmp_path):
    net = ntkx.mlp(depth=2, b_std=0.1)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(13, 3)), rng.normal(size=(9, 3))
    path = tmp_path / "k.dat"
    out = np.memmap(path, dtype=np.float64, mode="w+", shape=(13, 9))
    result = kernel_matrix(net, x, y, dtype="float64", block_size=4, out=out)
    assert result is out
    out.flush()
    # The same tiling without out=: the same numbers. The unblocked matrix: to rounding, since
    # XLA may round a (4, 4) tile and a (13, 9) one differently (measured: one ulp, only in the
    # last column of the 9-wide tile, the scalar remainder of XLA's 4-wide vectorized loop).
    written = np.memmap(path, dtype=np.float64, mode="r", shape=(13, 9))
    np.testing.assert_array_equal(written, kernel_matrix(net, x, y, dtype="float64", block_size=4))
    np.testing.assert_allclose(written, kernel_matrix(net, x, y, dtype="float64"), rtol=1e-14)
    sym = np.memmap(tmp_path / "s.dat", dtype=np.float32, mode="w+", shape=(13, 13))
    kernel_matrix(net, x, dtype="float32", block_size=5, out=sym)
    np.testing.assert_array_equal(np.asarray(sym), np.asarray(sym).T)
    np.testing.assert_allclose(sym, kernel_matrix(net, x, dtype="float64"), rtol=1e-3)


@pytest.mark.parametrize(
    ("shape", "dtype", "pattern"),
    [
        ((13, 8), np.float64, r"out has shape \(13, 8\) .*expected \(13, 9\)"),
        ((13, 9), np.float32, r"out has .*dtype float32; expected \(13, 9\) float64"),
    ],
)
def test_out_wrong_shape_or_dtype(shape, dtype, pattern):
    x, y = np.ones((13, 3)), np.ones((9, 3))
    with pytest.raises(ValueError, match=pattern):
        kernel_matrix(ntkx.mlp(), x, y, dtype="float64", out=np.empty(shape, dtype))


def test_impossible_request_fails_fast_with_gib_needed():
    # (10^6)^2 float64 = 7450.6 GiB: refused before any work, in well under a second of compute.
    x = np.ones((10**6, 1))
    start = time.perf_counter()
    with pytest.raises(InsufficientMemoryError, match=r"needs about (\d+\.\d+) GiB") as info:
        kernel_matrix(ntkx.mlp(), x, x, dtype="float64")
    assert time.perf_counter() - start < 5.0
    need = float(info.value.args[0].split("needs about ")[1].split(" GiB")[0])
    assert 7450.0 <= need <= 7460.0
    assert isinstance(info.value, ValueError) and isinstance(info.value, MemoryError)
    assert "out=np.memmap" in str(info.value)


def test_float64_without_global_x64_and_default_dtype():
    assert not jax.config.jax_enable_x64
    net = ntkx.mlp(depth=3)
    x = _points()
    k64 = kernel_matrix(net, x, dtype="float64")
    assert k64.dtype == np.float64
    assert not jax.config.jax_enable_x64  # nothing leaked out of the context
    k_default = kernel_matrix(net, x)
    assert k_default.dtype == np.float32
    # float32 vs float64: rounding level (~1e-7 of the scale), the diagonal included (cos = 1
    # exactly); the parallel pair x[-1] = 2 x[0] carries the float32 sqrt(eps) angle effect
    # (its cosine rounds below 1: measured 2e-4).
    err = np.abs(k_default - k64) / _scale(k64)
    assert err.max() <= 1e-3
    np.testing.assert_allclose(np.diag(k_default), np.diag(k64), rtol=1e-6)
    assert np.dtype(kernel_matrix(net, x, dtype=np.float64).dtype) == np.float64


def test_progress_goes_to_stderr(capsys, monkeypatch):
    kernel_matrix(ntkx.mlp(), np.eye(5), dtype="float64", block_size=2, progress=True)
    assert capsys.readouterr().err == ""  # not a terminal: no bar (no flooded CI logs)
    monkeypatch.setenv("NTKX_PROGRESS", "always")
    kernel_matrix(ntkx.mlp(), np.eye(5), dtype="float64", block_size=2, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    # 5 points in tiles of 2: rows {0-1, 2-3, 4}, upper triangle only -> 6 tiles
    assert "[ntkx] kernel tiles" in captured.err
    assert "6/6" in captured.err


def test_overflow_is_an_error_not_a_silent_inf(key):
    # x^2 four times over inputs of size 1e4: ~1e32 per layer squared, beyond float32.
    net = ntkx.mlp(depth=4, activation="quadratic", width=16)
    x = np.full((2, 3), 1e4)
    with pytest.raises(FloatingPointError, match=r"non-finite .*float32"):
        kernel_matrix(net, x, dtype="float32")
    # Tiles are checked one by one; the count is of the whole matrix: 3 x 3 entries, all
    # overflowing, from 6 tiles of one point (3 on the diagonal, 3 mirrored).
    with pytest.raises(FloatingPointError, match=r"has 9 non-finite entries"):
        kernel_matrix(net, np.full((3, 3), 1e4), dtype="float32", block_size=1)
    with pytest.raises(FloatingPointError, match=r"non-finite .*float32"):
        empirical_kernel(net, net.init(key, 3), x, dtype="float32")


# --- bad input ---------------------------------------------------------------------------------


_BAD_CALLS = [
    (lambda n, p, k: kernel_matrix(n, np.ones((2, 3)), get="cov"), r"get='cov' .*nngp"),
    (lambda n, p, k: kernel_matrix(n, np.ones((2, 3)), dtype="float16"), r"dtype='float16' "),
    (lambda n, p, k: kernel_matrix(n, np.ones((2, 3)), dtype="int32"), r"dtype='int32' "),
    (lambda n, p, k: kernel_matrix(n, np.ones((2, 3)), dtype="double!"), r"dtype='double!' "),
    (lambda n, p, k: kernel_matrix(n, np.ones((2, 3)), block_size=0), r"block_size=0 "),
    (lambda n, p, k: kernel_matrix(n, np.ones((2, 3)), block_size=2.5), r"block_size=2\.5 "),
    (lambda n, p, k: kernel_matrix(n, np.ones((2, 3)), np.full((2, 3), np.nan)), r"x2 contains 6"),
    (lambda n, p, k: kernel_matrix(n, np.ones((2, 3)), np.ones((2, 2))), r"x2 has 2 features"),
    (lambda n, p, k: kernel_matrix(n, np.ones((2, 3)), np.ones((0, 3))), r"x2 has shape \(0, 3\)"),
    (lambda n, p, k: kernel_matrix(n, [[1.0, float("inf")]]), r"x1 contains 1 non-finite"),
    (lambda n, p, k: empirical_kernel(n, p, np.ones((2, 3)), get="x"), r"get='x' "),
    (lambda n, p, k: empirical_kernel(n, p, np.ones(3)), r"x1 has shape \(3,\)"),
    (lambda n, p, k: empirical_kernel(n, p, np.ones((2, 3)), np.ones((2, 4))), r"x2 has 4 feat"),
    (lambda n, p, k: empirical_kernel(n, p, np.ones((2, 3)), implementation=0), r"implementat"),
    (lambda n, p, k: empirical_kernel(n, p, np.ones((2, 3)), dtype="f2"), r"dtype="),
    (lambda n, p, k: monte_carlo_kernel(n, k, np.ones((2, 3)), n_samples=0), r"n_samples=0 "),
    (lambda n, p, k: monte_carlo_kernel(n, k, np.ones((2, 3, 1))), r"x1 has shape \(2, 3, 1\)"),
    (lambda n, p, k: monte_carlo_kernel(n, k, np.ones((2, 3)), get="both"), r"get='both' "),
    (lambda n, p, k: kernel(n, np.ones((2, 3)), method="exact"), r"method='exact' .*closed_form"),
    (lambda n, p, k: kernel(n, np.ones((2, 3)), method="monte_carlo"), r"key=None "),
    (lambda n, p, k: kernel(n, np.ones((2, 3)), method="empirical"), r"params=None "),
]


@pytest.mark.parametrize(("call", "pattern"), _BAD_CALLS)
def test_bad_arguments_raise_value_error(call, pattern, key):
    net = ntkx.mlp(width=8)
    params = net.init(key, 3)
    with pytest.raises(ValueError, match=pattern):
        call(net, params, key)


def test_kernel_dispatch_matches_the_direct_calls(key):
    net = ntkx.mlp(depth=2, width=64, b_std=0.1)
    x = _points()
    np.testing.assert_array_equal(
        kernel(net, x, get="nngp", dtype="float64"),
        kernel_matrix(net, x, get="nngp", dtype="float64"),
    )
    params = net.init(key, 4)
    np.testing.assert_array_equal(
        kernel(net, x, method="empirical", params=params), empirical_kernel(net, params, x)
    )
    est = kernel(net, x, method="monte_carlo", key=key, n_samples=3)
    direct = monte_carlo_kernel(net, key, x, n_samples=3)
    assert isinstance(est, KernelEstimate) and est.n_samples == 3 and est.width == 64
    np.testing.assert_array_equal(est.mean, direct.mean)
    np.testing.assert_array_equal(est.stderr, direct.stderr)


# --- finite networks: an independent empirical NTK and Monte Carlo ------------------------------


def _jacobian_ntk(net, params, x1, x2):
    """Empirical NTK from jax.jacrev of net.apply, restricted to the trainable layers.

    Written independently of neural-tangents' empirical_ntk_fn: flatten d f / d theta for every
    trainable leaf and contract; averaged over output units.
    """
    keep = set(net.trainable_layers())

    def flat_jac(x):
        jac = jax.jacrev(net.apply)(params, x)  # same tree as params, leaves (n, k, *leaf)
        rows = [
            leaf.reshape(x.shape[0], leaf.shape[1], -1)
            for i, layer in enumerate(jac)
            if i in keep
            for leaf in jax.tree_util.tree_leaves(layer)
        ]
        return jnp.concatenate(rows, axis=-1)  # (n, k, P)

    flat_jac = jax.jit(flat_jac)
    j1, j2 = flat_jac(x1), flat_jac(x2)
    return np.asarray(jnp.einsum("akp,bkp->ab", j1, j2) / j1.shape[1])


@pytest.mark.parametrize("block_size", [None, 2])  # one tile (neural-tangents) / kept Jacobians
@pytest.mark.parametrize("trainable", ["all", "first", "last"])
def test_empirical_ntk_equals_independent_jacobian_contraction(trainable, block_size, key):
    # Same network, same parameters, same number by two routes: float64 rounding (1e-12).
    net = ntkx.mlp(depth=3, width=24, b_std=0.3, trainable=trainable, out_dim=2)
    x1, x2 = _points(5, 3, seed=1), _points(4, 3, seed=2)
    params = net.init(key, 3)
    with jax.enable_x64(True):
        params64 = jax.tree_util.tree_map(lambda p: jnp.asarray(p, jnp.float64), params)
        want = _jacobian_ntk(net, params64, jnp.asarray(x1), jnp.asarray(x2))
        want_sym = _jacobian_ntk(net, params64, jnp.asarray(x1), jnp.asarray(x1))
    got = empirical_kernel(net, params, x1, x2, dtype="float64", block_size=block_size)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    sym = empirical_kernel(net, params, x1, dtype="float64", block_size=block_size)
    np.testing.assert_allclose(sym, want_sym, rtol=1e-12, atol=1e-12 * np.abs(want_sym).max())
    np.testing.assert_array_equal(sym, sym.T)


@pytest.mark.parametrize(
    ("spec", "c"),
    [
        ({"depth": 2, "b_std": 0.3}, 0.0),
        ({"depth": 2, "activation": "gelu"}, 0.0),
        ({"depth": 3, "b_std": 0.3}, 4.0),
        ({"depth": 3, "b_std": 0.3, "trainable": "first"}, 4.0),
    ],
)
def test_monte_carlo_ntk_matches_closed_form(spec, c):
    width = 1024
    net = ntkx.mlp(width=width, **spec)
    x = _points()
    # implementation 2 (NTK-vector products) is ~5x faster than 1 for these shapes; the two are
    # checked against each other in test_compat.py.
    est = monte_carlo_kernel(net, jax.random.key(7), x, n_samples=100, implementation=2)
    closed = kernel_matrix(net, x, dtype="float64")
    assert est.n_samples == 100 and est.width == width
    bound = 5 * est.stderr + c * _scale(closed) / width
    assert np.all(np.abs(est.mean - closed) <= bound), np.max(np.abs(est.mean - closed) / bound)
    # The test has teeth: the band is under 10% of the scale, far below the error of a wrong
    # formula (e.g. trainable 'first' vs 'all' differ by ~50%, a missing 1/2 by 100%).
    assert np.max(5 * est.stderr / _scale(closed)) < 0.1


@pytest.mark.parametrize(
    ("spec", "c"),
    [({"depth": 2, "b_std": 0.3}, 0.0), ({"depth": 3, "activation": "erf", "b_std": 0.3}, 4.0)],
)
def test_monte_carlo_nngp_matches_closed_form(spec, c):
    # 256 readout units: the empirical NNGP averages f_a(x) f_a(x') over them, which removes most
    # of the readout noise of a single output (the units are i.i.d. given the hidden layer).
    width = 1024
    net = ntkx.mlp(width=width, out_dim=256, **spec)
    x = _points()
    est = monte_carlo_kernel(net, jax.random.key(8), x, get="nngp", n_samples=100)
    closed = kernel_matrix(net, x, get="nngp", dtype="float64")
    bound = 5 * est.stderr + c * _scale(closed) / width
    assert np.all(np.abs(est.mean - closed) <= bound), np.max(np.abs(est.mean - closed) / bound)
    assert np.max(5 * est.stderr / _scale(closed)) < 0.1


@pytest.mark.parametrize(
    ("spec", "c"),
    [
        ({"depth": 2, "b_std": 0.5}, 0.0),
        ({"depth": 3, "activation": "erf", "b_std": 0.3}, 4.0),
        ({"depth": 2, "activation": "abrelu", "activation_params": (-0.5, 1.5)}, 0.0),
        ({"depth": 2, "b_std": 0.5, "W_std": 1.5, "parameterization": "standard"}, 0.0),
    ],
)
def test_independent_monte_carlo_nngp_from_init_and_apply(spec, c):
    # Written from net.init / net.apply only: the NNGP is E[f(x) f(x')] over initializations.
    # 120 networks, 256 readout units each; per-network estimate f f^T / 256, then mean and
    # standard error over networks (networks are independent; units within one are not).
    width, n_nets, units = 1024, 120, 256
    net = ntkx.mlp(width=width, out_dim=units, **spec)
    x = _points()
    keys = jax.random.split(jax.random.key(9), n_nets)

    @jax.jit
    def per_network(k):
        f = net.apply(net.init(k, x.shape[1]), jnp.asarray(x, jnp.float32))
        return f @ f.T / units

    samples = np.asarray(jax.lax.map(per_network, keys), np.float64)
    mean = samples.mean(axis=0)
    stderr = samples.std(axis=0, ddof=1) / math.sqrt(n_nets)
    closed = kernel_matrix(net, x, get="nngp", dtype="float64")
    bound = 5 * stderr + c * _scale(closed) / width
    assert np.all(np.abs(mean - closed) <= bound), np.max(np.abs(mean - closed) / bound)
    assert np.max(5 * stderr / _scale(closed)) < 0.1


def test_empirical_ntk_converges_to_closed_form_with_width():
    # Per network, Theta_emp - Theta = O(width^-1/2) (fluctuation) + O(1/width) (bias): the mean
    # relative Frobenius error over 6 seeds must fall by about 2 per 4x width. Assert each step
    # falls by at least 1.4x and the log-log slope is in [-0.75, -0.35].
    x = _points(8, 4)
    widths = [64, 256, 1024, 4096]
    errors = []
    for width in widths:
        net = ntkx.mlp(depth=2, width=width, b_std=0.2)
        closed = kernel_matrix(net, x, dtype="float64")
        rel = [
            np.linalg.norm(empirical_kernel(net, net.init(jax.random.key(s), 4), x) - closed)
            / np.linalg.norm(closed)
            for s in range(6)
        ]
        errors.append(float(np.mean(rel)))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    slope = np.polyfit(np.log(widths), np.log(errors), 1)[0]
    assert np.all(ratios >= 1.4), (errors, ratios)
    assert -0.75 <= slope <= -0.35, (errors, slope)


# --- the ReLU family: ntkx's fused arc-cosine kernels ------------------------------------------

_RELU_FAMILY_SPECS = [
    {"depth": 1},
    {"depth": 1, "b_std": 0.3, "W_std": 1.5, "parameterization": "standard"},
    {"depth": 2},
    {"depth": 2, "b_std": 0.1},
    {"depth": 3, "b_std": 0.5, "W_std": 1.4},
    {"depth": 4},
    {"depth": 3, "b_std": 0.3, "trainable": "first"},
    {"depth": 3, "b_std": 0.3, "trainable": "last"},
    {"depth": 3, "b_std": 0.3, "parameterization": "standard", "width": 37},
    {"depth": 3, "parameterization": "standard", "width": 37, "trainable": "last"},
    {"depth": 3, "b_std": 0.0, "parameterization": "standard", "width": 20},
    {"depth": 2, "parameterization": "standard", "width": 64, "trainable": "first"},
    {"depth": 2, "activation": "leaky_relu", "trainable": "last"},
    {"depth": 2, "activation": "leaky_relu"},
    {"depth": 3, "activation": "leaky_relu", "activation_params": (0.1,), "b_std": 0.2},
    {"depth": 2, "activation": "abrelu", "activation_params": (-0.3, 0.7)},
    {"depth": 4, "activation": "abrelu", "activation_params": (0.5, 2.0), "W_std": 0.8},
    {"depth": 3, "activation": "abrelu", "activation_params": (1.0, 1.0), "b_std": 0.1},
    {
        "depth": 3,
        "activation": "abrelu",
        "activation_params": (2.0, -1.0),
        "parameterization": "standard",
        "width": 11,
        "trainable": "first",
        "b_std": 0.2,
    },
]


def _hard_points(d: int = 5) -> np.ndarray:
    """Generic points, a parallel copy (2.5 x), an antipodal copy and a 1e-9 perturbation."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(7, d))
    return np.concatenate(
        [base, 2.5 * base[:2], -base[2:3], base[3:4] + 1e-9 * rng.normal(size=(1, d))]
    )


def _neural_tangents(net, x1, x2=None):
    with jax.enable_x64(True):
        k = net.layers[2](x1, x2, ("ntk", "nngp"))
        return np.asarray(k.ntk), np.asarray(k.nngp)


def _reference(net, x1, x2=None):
    import references as ref

    nngp, ntk = ref.mlp_kernels(
        x1,
        x2,
        depth=net.depth,
        activation=net.activation,
        W_std=net.W_std,
        b_std=net.b_std,
        trainable=net.trainable,
        parameterization=net.parameterization,
        width=net.width,
        activation_params=net.activation_params,
    )
    return ntk, nngp


@pytest.mark.parametrize("spec", _RELU_FAMILY_SPECS, ids=lambda s: ",".join(map(str, s.values())))
def test_relu_family_equals_neural_tangents_kernel_fn(spec):
    # ntkx computes the ReLU family itself (ntkx/core/arccos.py); neural-tangents' own kernel_fn
    # of the same layers (net.layers[2], float64) is the reference here. Off the diagonal, for
    # pairs whose first-layer angle is in [0.1, pi - 0.1]: 1e-12 of the scale
    # sqrt(K(x, x) K(x', x')) (measured <= 7e-16). Parallel, antipodal and nearly identical
    # pairs: 1e-7, neural-tangents' own sqrt(eps) angle error (tests/test_architectures.py).
    # The diagonal is compared with the exact reference (tests/references.py) instead:
    # ntkx's is exact (1e-14 relative; measured <= 7e-16), neural-tangents' is not (~1e-8).
    net = ntkx.mlp(**spec)
    x = _hard_points()
    xt = np.random.default_rng(5).normal(size=(6, 5)) * 2.0
    ours = kernel_matrix(net, x, get=("ntk", "nngp"), dtype="float64", block_size=5)
    cross = kernel_matrix(net, xt, x, get=("ntk", "nngp"), dtype="float64", block_size=4)
    theirs, theirs_cross = _neural_tangents(net, x), _neural_tangents(net, xt, x)
    exact = _reference(net, x)
    scale_x = np.sqrt(np.abs(np.diag(exact[1])))
    scale_t = np.sqrt(np.abs(np.diag(_reference(net, xt)[1])))
    separated = np.ones((len(x), len(x)), bool)
    separated[:, 7:] = separated[7:, :] = False
    separated[[0, 1, 2, 3], [0, 1, 2, 3]] = False
    np.fill_diagonal(separated, False)
    for k, (got, want) in enumerate(zip(ours, theirs, strict=True)):
        nngp_scale = np.outer(scale_x, scale_x)
        err = np.abs(got - want) / nngp_scale
        assert err[separated].max() <= 1e-12, (k, err[separated].max())
        assert err.max() <= 1e-7, (k, err.max())
        cross_err = np.abs(cross[k] - theirs_cross[k]) / np.outer(scale_t, scale_x)
        assert cross_err.max() <= 1e-12, (k, cross_err.max())
        np.testing.assert_allclose(np.diag(got), np.diag(exact[k]), rtol=1e-14)
    if spec.get("trainable") == "last" and spec.get("parameterization") != "standard":
        np.testing.assert_array_equal(ours.ntk, ours.nngp)


@pytest.mark.parametrize("net", [ntkx.mlp(depth=2), ntkx.mlp(depth=3, b_std=0.2)])
def test_one_kernel_alone_and_a_large_diagonal_tile_match_the_reference(net):
    # get="ntk" or "nngp" alone compiles only that kernel (the other is dropped by XLA), and a
    # 300-point diagonal tile is mirrored in place in strips of 128 rows (three strips). Against
    # the exact reference (tests/references.py): off the diagonal 1e-12 of sqrt(K_ii K_jj)
    # (random pairs in d = 16 are far from parallel; the maps' error is a few ulps), the
    # diagonal 1e-14 relative (cos = 1 exactly there); and exactly symmetric.
    x = np.random.default_rng(8).normal(size=(300, 16))
    want = dict(zip(("ntk", "nngp"), _reference(net, x), strict=True))
    scale = np.sqrt(np.outer(np.diag(want["nngp"]), np.diag(want["nngp"])))
    for get in ("ntk", "nngp"):
        got = kernel_matrix(net, x, get=get, dtype="float64", block_size=300)
        np.testing.assert_array_equal(got, got.T)
        assert (np.abs(got - want[get]) / scale).max() <= 1e-12
        np.testing.assert_allclose(np.diag(got), np.diag(want[get]), rtol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "abrelu"])
def test_relu_family_diagonal_exact_in_both_dtypes(activation):
    # The symmetric call gives cos = 1 exactly on the diagonal at every layer (identical inputs
    # at the same position of a diagonal tile), so the diagonal carries no sqrt(eps) angle
    # error: float64 equals the exact reference to rounding (1e-14), float32 to float32
    # rounding of the variance recursion (1e-6; it was ~1e-4 through neural-tangents).
    net = ntkx.mlp(depth=4, activation=activation, b_std=0.2)
    x = np.random.default_rng(3).normal(size=(23, 16))
    exact = _reference(net, x)
    for dtype, tol in (("float64", 1e-14), ("float32", 1e-6)):
        got = kernel_matrix(net, x, get=("ntk", "nngp"), dtype=dtype, block_size=7)
        for k in range(2):
            np.testing.assert_allclose(np.diag(got[k]), np.diag(exact[k]), rtol=tol)
        off = ~np.eye(23, dtype=bool)
        scale = np.outer(np.sqrt(np.diag(exact[1])), np.sqrt(np.diag(exact[1])))
        err = np.abs(got.ntk.astype(np.float64) - exact[0]) / scale
        assert err[off].max() <= (1e-12 if dtype == "float64" else 1e-5), (dtype, err.max())


def test_relu_family_zero_input():
    # A zero input has no angle; without a bias every kernel entry with it is 0 (as in
    # neural-tangents), with a bias its first-layer cosine is b^2 / sqrt(q q').
    x = _hard_points()
    x[4] = 0.0
    for b_std in (None, 0.4):
        net = ntkx.mlp(depth=3, b_std=b_std, activation="leaky_relu")
        ours = kernel_matrix(net, x, get=("ntk", "nngp"), dtype="float64")
        theirs = _neural_tangents(net, x)
        if b_std is None:
            assert np.all(ours.ntk[4] == 0.0) and np.all(ours.nngp[:, 4] == 0.0)
        for got, want in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(got[4], want[4], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("spec", "get"),
    [
        ({"activation": "leaky_relu", "activation_params": (0.1,), "b_std": 0.3}, "ntk"),
        ({"activation": "leaky_relu", "activation_params": (0.1,), "b_std": 0.3}, "nngp"),
        ({"activation": "abrelu", "activation_params": (-0.5, 1.5)}, "ntk"),
        ({"activation": "abrelu", "activation_params": (-0.5, 1.5)}, "nngp"),
    ],
)
def test_relu_family_monte_carlo_of_the_finite_network(spec, get):
    # Two-layer networks of width 1024, 200 independent initializations (for the NNGP with 256
    # readout units each, averaged within a network): the estimator is unbiased at this depth
    # (module docstring), so the band is 5 standard errors. It has teeth: the closed form
    # scaled by 1.05 or 0.95 must fail the same check (a 5% error is caught), and the band is
    # under 5% of the scale sqrt(K(x, x) K(x', x')) everywhere (measured: 1.8% NTK, 3.9% NNGP;
    # 24-36 of the 36 entries reject the 5% error; |MC - closed| <= 0.48 band).
    width, n_samples = 1024, 200
    net = ntkx.mlp(depth=2, width=width, out_dim=256 if get == "nngp" else 1, **spec)
    x = _points()
    est = monte_carlo_kernel(
        net, jax.random.key(11), x, get=get, n_samples=n_samples, implementation=2
    )
    closed = kernel_matrix(net, x, get=get, dtype="float64")
    bound = 5 * est.stderr
    assert np.all(np.abs(est.mean - closed) <= bound), np.max(np.abs(est.mean - closed) / bound)
    for wrong in (1.05 * closed, 0.95 * closed):
        assert np.any(np.abs(est.mean - wrong) > bound)
    assert np.max(bound / _scale(closed)) < 0.05, np.max(bound / _scale(closed))


@pytest.mark.parametrize(
    ("spec", "tiles"),
    [
        ({"depth": 2}, 0.1),
        ({"depth": 2, "b_std": 0.1, "parameterization": "standard"}, 0.1),
        ({"depth": 3, "b_std": 0.1, "activation": "abrelu", "activation_params": (-0.3, 0.7)}, 2.1),
        ({"depth": 3, "b_std": 0.1, "parameterization": "standard", "trainable": "first"}, 2.1),
        ({"depth": 4, "trainable": "last"}, 0.1),
    ],
)
def test_relu_family_tile_temporaries(spec, tiles):
    # One (600, 500) float64 tile of NTK and NNGP. Depth 2: the Gram matrix and the two outputs,
    # no full-size temporary (XLA writes the last output over the Gram matrix). Depth >= 3: the
    # layer loop's complex carry c + i t (two scalars per pair), or the real c alone when the
    # NTK is the NNGP. neural-tangents' recursion kept 2-8 tiles (depth 2 with bias to depth 4).
    net = ntkx.mlp(**spec)
    tile = 600 * 500 * 8
    with precision_context(np.dtype("float64")):
        a, b = jnp.ones((600, 16)), jnp.ones((500, 16))
        compiled = jax.jit(lambda x1, x2: tuple(net.kernel_fn(x1, x2))).lower(a, b).compile()
        stats = compiled.memory_analysis()
    if stats is None:
        pytest.skip("XLA reports no memory analysis on this backend")
    assert stats.output_size_in_bytes <= 2 * tile + 1024
    assert stats.temp_size_in_bytes <= tiles * tile, stats.temp_size_in_bytes / tile


# --- publication size (excluded by default: pytest -m slow) --------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("n", "dtype"), [(40_000, "float32"), (20_000, "float64")])
def test_large_ntk_entries_match_reference(n, dtype):
    # The paper's sizes: a 40,000^2 float32 matrix (6.0 GiB) and a 20,000^2 float64 one (3.0 GiB),
    # d = 16, computed in blocks. 300 random off-diagonal entries and 100 diagonal ones against
    # the float64 reference. Tolerances (scaled by sqrt(K_ii K_jj)): float64 off-diagonal 1e-12
    # (random pairs in d = 16 are far from parallel) and diagonal 1e-14 (cos = 1 exactly there;
    # neural-tangents' sqrt(eps) angle error needed 1e-7); float32 off-diagonal 1e-5 (float32
    # rounding of a 16-term dot product and the recursion, measured ~1.5e-7) and diagonal 1e-6
    # (float32 rounding of the variances; neural-tangents' float32 angle error needed 1e-3).
    import references as ref

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 16))
    net = ntkx.mlp(depth=2, b_std=0.1)
    k = kernel_matrix(net, x, dtype=dtype, progress=True)
    assert k.shape == (n, n) and k.dtype == np.dtype(dtype)
    rows = rng.integers(0, n, size=300)
    cols = rng.integers(0, n, size=300)
    cols = np.where(cols == rows, (cols + 1) % n, cols)
    _, ref_ntk = ref.mlp_kernels(x[rows], x[cols], depth=2, b_std=0.1)
    _, ref_rows = ref.mlp_kernels(x[rows], depth=2, b_std=0.1)
    _, ref_cols = ref.mlp_kernels(x[cols], depth=2, b_std=0.1)
    scale = np.sqrt(np.diag(ref_rows) * np.diag(ref_cols))
    off_err = np.abs(k[rows, cols].astype(np.float64) - np.diag(ref_ntk)) / scale
    diag_err = np.abs(k[rows, rows].astype(np.float64) - np.diag(ref_rows)) / np.diag(ref_rows)
    off_tol, diag_tol = (1e-12, 1e-14) if dtype == "float64" else (1e-5, 1e-6)
    assert off_err.max() <= off_tol, off_err.max()
    assert diag_err[:100].max() <= diag_tol, diag_err.max()
    np.testing.assert_array_equal(k[rows, cols], k[cols, rows])  # exactly symmetric


def test_progress_defaults_to_appearing_after_a_delay(capsys, monkeypatch):
    from ntkx.core import progress

    monkeypatch.setenv("NTKX_PROGRESS", "always")  # captured stderr is not a terminal
    kernel_matrix(ntkx.mlp(), np.eye(5), dtype="float64", block_size=2)  # a fast call: silent
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(progress, "PROGRESS_DELAY", 0.0)  # as if the call had run for 5 s
    kernel_matrix(ntkx.mlp(), np.eye(5), dtype="float64", block_size=2)
    assert "6/6" in capsys.readouterr().err
    kernel_matrix(ntkx.mlp(), np.eye(5), dtype="float64", block_size=2, progress=False)
    assert capsys.readouterr().err == ""
