"""Bring your own network: a hand-built neural-tangents stax network works everywhere.

Two independent references: neural-tangents' own ``kernel_fn`` called directly (kernels), and
the same network built with :func:`ntkx.mlp` (predictors, training, metrics).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import ntkx
from ntkx import _compat

stax = _compat.neural_tangents().stax

CASES = {
    # name: (stax layers, the same network as an ntkx.mlp spec)
    "erf3": (
        lambda: stax.serial(
            stax.Dense(64, W_std=1.5, b_std=0.2),
            stax.Erf(),
            stax.Dense(64, W_std=1.5, b_std=0.2),
            stax.Erf(),
            stax.Dense(1, W_std=1.5, b_std=0.2),
        ),
        ntkx.mlp(depth=3, activation="erf", width=64, W_std=1.5, b_std=0.2),
    ),
    "relu2": (
        lambda: stax.serial(stax.Dense(64), stax.Relu(), stax.Dense(1)),
        ntkx.mlp(depth=2, activation="relu", width=64),
    ),
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(23, 4))
    return x, np.sin(x[:, 0]) + x[:, 1] ** 2, 3.0 * rng.normal(size=(17, 4))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("get", ["ntk", "nngp"])
def test_kernels_equal_neural_tangents_kernel_fn(case, get, data):
    x, _, xt = data
    triple = CASES[case][0]()
    net = ntkx.from_stax(*triple, width=64)
    with jax.enable_x64(True):
        ref = np.asarray(triple[2](xt, x, get))
        ref_sym = np.asarray(triple[2](x, None, get))
    # float64 on both sides, same formulas; tiles of 5 exercise padding and the triangle.
    ours = ntkx.kernel(net, xt, x, get, dtype="float64", block_size=5)
    ours_sym = ntkx.kernel(net, x, get=get, dtype="float64", block_size=5)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=0)
    off = ~np.eye(len(x), dtype=bool)
    np.testing.assert_allclose(ours_sym[off], ref_sym[off], rtol=1e-12, atol=1e-15)
    # The diagonal: neural-tangents takes the ReLU angle from arccos of a cosine that is 1 up
    # to rounding, which loses sqrt(eps) ~ 1e-8; the tile and the direct call round it
    # differently (measured 2.8e-9 relative). erf has no angle: exact there too.
    diag_tol = 1e-7 if case == "relu2" else 1e-12
    np.testing.assert_allclose(np.diag(ours_sym), np.diag(ref_sym), rtol=diag_tol)


@pytest.mark.parametrize("case", CASES)
def test_predictors_equal_those_of_the_same_mlp(case, data):
    x, y, xt = data
    net, spec = ntkx.from_stax(*CASES[case][0](), width=64), CASES[case][1]
    # ntkx.mlp computes ReLU kernels itself, with an exact diagonal; neural-tangents' ReLU
    # diagonal carries its sqrt(eps) angle error (2.4e-9 relative here, see the test above),
    # which the solves pass on to the predictions (measured: 1.8e-8 ridge-free, 2.0e-9 with
    # ridge 0.1, 1.5e-9 gradient flow; K has condition number 880). erf has no angle: 1e-10.
    rtol = 1e-7 if case == "relu2" else 1e-10
    for ridge in (0.0, 0.1):
        a = ntkx.kernel_regression(net, x, y, ridge, dtype="float64").predict(xt)
        b = ntkx.kernel_regression(spec, x, y, ridge, dtype="float64").predict(xt)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12)
    a = ntkx.gradient_flow(net, x, y, xt, [0.5, 5.0], dtype="float64")
    b = ntkx.gradient_flow(spec, x, y, xt, [0.5, 5.0], dtype="float64")
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12)
    for got, want in zip(
        ntkx.nngp_posterior(net, x, y, xt, 0.01, dtype="float64"),
        ntkx.nngp_posterior(spec, x, y, xt, 0.01, dtype="float64"),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_finite_network_kernels_and_training_equal_the_mlp(case, data):
    x, y, xt = data
    net, spec = ntkx.from_stax(*CASES[case][0](), width=64), CASES[case][1]
    key = jax.random.key(3)
    p_net, p_spec = net.init(key, 4), spec.init(key, 4)
    # Same stax layers and same key: the same parameters, so everything below is equal.
    for a, b in zip(
        jax.tree_util.tree_leaves(p_net), jax.tree_util.tree_leaves(p_spec), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(net.apply(p_net, xt), spec.apply(p_spec, xt))
    mc = ntkx.kernel(net, x[:6], method="monte_carlo", key=key, n_samples=3, dtype="float64")
    mc_ref = ntkx.kernel(spec, x[:6], method="monte_carlo", key=key, n_samples=3, dtype="float64")
    np.testing.assert_allclose(mc.mean, mc_ref.mean, rtol=1e-12)
    gd = ntkx.train_gd(net, p_net, x, y, learning_rate=0.1, steps=20, record_every=5)
    gd_ref = ntkx.train_gd(spec, p_spec, x, y, learning_rate=0.1, steps=20, record_every=5)
    np.testing.assert_allclose(gd.losses, gd_ref.losses, rtol=1e-6)
    ad = ntkx.train_adam(net, p_net, x, y, key=key, learning_rate=1e-2, epochs=3, batch_size=8)
    ad_ref = ntkx.train_adam(
        spec, p_spec, x, y, key=key, learning_rate=1e-2, epochs=3, batch_size=8
    )
    np.testing.assert_allclose(ad.losses, ad_ref.losses, rtol=1e-6)


def test_metrics_accept_a_stax_network(data):
    x, y, _ = data
    net, spec = ntkx.from_stax(*CASES["relu2"][0](), width=64), CASES["relu2"][1]
    geom = ntkx.geometry("ball", 4, 1.0)
    rays = ntkx.rays(geom, 5, 20.0, n_points=20, seed=0)
    lin = ntkx.directional_linearity(
        ntkx.kernel_regression(net, x, y, dtype="float64").predict, rays
    )
    ref = ntkx.directional_linearity(
        ntkx.kernel_regression(spec, x, y, dtype="float64").predict, rays
    )
    np.testing.assert_allclose(lin.r2, ref.r2, rtol=1e-9)


def test_from_stax_validates_its_arguments():
    with pytest.raises(TypeError, match="init_fn=3 is not callable"):
        ntkx.from_stax(3, lambda p, x: x, lambda a, b, g: a)
    with pytest.raises(ValueError, match="width"):
        ntkx.from_stax(*CASES["relu2"][0](), width=-1)
    with pytest.raises(TypeError, match="expected an ntkx architecture"):
        ntkx.kernel(CASES["relu2"][0](), np.ones((2, 2)))
