"""Tests of ntkx.feedforward.data: targets, geometries, support regions, test sets and rays."""

import numpy as np
import pytest

import ntkx.feedforward.data as data
from ntkx.feedforward.data import (
    Geometry,
    geometry,
    make_target,
    rays,
    target_from_callable,
    training_set,
    unit_directions,
)


def test_targets_match_hand_formulas():
    x = np.array([[0.5, -1.0, 2.0], [0.0, 0.25, 1.0]])
    rng = np.random.default_rng(3)
    beta = rng.uniform(-2, 2, size=3)
    bias = float(rng.uniform(-0.5, 0.5))
    lin = make_target("linear", 3, seed=3, coef_range=2.0, bias_range=0.5)
    np.testing.assert_allclose(lin(x), x @ beta + bias, rtol=1e-15)
    quad = make_target("quadratic", 3, seed=1)
    a = np.asarray(quad.coefficients["A"])
    np.testing.assert_allclose(quad(x), [xi @ a @ xi for xi in x], rtol=1e-14)
    np.testing.assert_allclose(make_target("cos", 3)(x), np.cos(2 * np.pi * x).sum(1))
    np.testing.assert_allclose(make_target("cos", 3, frequency="pi")(x), np.cos(np.pi * x).sum(1))
    np.testing.assert_allclose(make_target("l1", 3)(x), [3.5, 1.25])
    np.testing.assert_allclose(make_target("sqrt", 3)(np.abs(x)), np.sqrt(np.abs(x)).sum(1))
    assert make_target("linear", 3).coefficients["bias"] == 0.0  # pure beta^T x by default


def test_target_errors():
    with pytest.raises(ValueError, match="positive orthant"):
        make_target("sqrt", 2)(np.array([[1.0, -1.0]]))
    with pytest.raises(ValueError, match="name='sin'"):
        make_target("sin", 2)
    with pytest.raises(ValueError, match="features"):
        make_target("l1", 2)(np.ones((3, 4)))
    bad = target_from_callable(lambda x: np.full(x.shape[0], np.nan), 2)
    with pytest.raises(ValueError, match="non-finite"):
        bad(np.ones((2, 2)))
    assert target_from_callable(lambda x: x[:, 0] ** 3, 2)(np.array([[2.0, 0.0]]))[0] == 8.0


def test_geometry_samples_lie_in_their_support():
    d = 5
    for kind in ("cube", "sphere", "ball", "ball_radius_uniform", "basis"):
        g = geometry(kind, d, 2.0)
        x = g.sample(None if kind == "basis" else 300, seed=0)
        assert g.contains(x).all(), kind
        assert np.abs(g.distance(x)).max() < 1e-9
    x = geometry("sphere", d, 2.0).sample(100)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 2.0, rtol=1e-12)
    assert np.abs(geometry("cube", d, 2.0).sample(500)).max() <= 2.0


def test_ball_is_uniform_in_volume_and_radius_variant_is_not():
    # Uniform in volume: P(|x| <= r/2) = 2^-d; uniform radius: 1/2. 20000 draws:
    # binomial standard error <= 0.0036, tolerance 0.02 is > 5 sigma.
    d = 3
    r_vol = np.linalg.norm(geometry("ball", d, 1.0).sample(20000, seed=1), axis=1)
    r_rad = np.linalg.norm(geometry("ball_radius_uniform", d, 1.0).sample(20000, seed=1), axis=1)
    assert abs(np.mean(r_vol <= 0.5) - 0.125) < 0.02
    assert abs(np.mean(r_rad <= 0.5) - 0.5) < 0.02


def test_basis_is_orthogonal_with_negatives():
    g = geometry("basis", 6, 3.0, rotation_seed=4)
    x = g.sample(None)
    assert x.shape == (12, 6)
    np.testing.assert_allclose(x[:6] @ x[:6].T, 9.0 * np.eye(6), atol=1e-12)
    np.testing.assert_allclose(x[6:], -x[:6])
    with pytest.raises(ValueError, match="exactly"):
        g.sample(10)


def test_restricted_training_sets():
    fix1 = training_set("fix1", 4, 5.0)
    x = fix1.sample(200)
    assert (x[:, 0] == 0.1).all() and np.abs(x[:, 1:]).max() <= 5
    negd = training_set("negd", 4, 5.0)
    assert (negd.sample(200) <= 0).all()
    pos = geometry("ball", 3, 1.0, n_signed=2, sign=1)
    assert (pos.sample(300)[:, :2] >= 0).all()
    # a point with a positive coordinate is outside negd; its distance is that coordinate
    np.testing.assert_allclose(negd.distance(np.array([[-1.0, -1.0, -1.0, 2.0]])), [2.0])
    assert not fix1.contains(np.array([[0.2, 0.0, 0.0, 0.0]]))[0]
    with pytest.raises(ValueError, match="kind='cube' only"):
        Geometry("sphere", 3, fixed=((0, 0.1),))


def test_distance_matches_hand_values():
    cube = geometry("cube", 2, 1.0)
    np.testing.assert_allclose(cube.distance(np.array([[3.0, 0.0], [2.0, 2.0]])), [2, np.sqrt(2)])
    ball = geometry("sphere", 3, 2.0)
    np.testing.assert_allclose(ball.distance(np.array([[0.0, 0.0, 5.0]])), [3.0])
    basis = geometry("basis", 2, 1.0)
    q = basis.rotation()
    # point 2 q_1 is at L1 distance 1 beyond the vertex q_1: Euclidean distance 1
    np.testing.assert_allclose(basis.distance((2 * q[:, 0])[None]), [1.0], atol=1e-9)
    # the midpoint of the edge between q_1 and q_2 is on the boundary
    np.testing.assert_allclose(basis.distance((0.5 * (q[:, 0] + q[:, 1]))[None]), [0.0], atol=1e-9)


def test_test_set_excludes_support_by_default():
    g = geometry("cube", 2, 1.0)
    ts = data.test_set(g, 500, 2.0, shape="cube", seed=0)
    assert ts.excluded_inside_support and ts.n_inside == 0 and ts.n_rejected > 0
    assert (ts.distance > 0).all()
    # about 1/4 of a [-2, 2]^2 cube lies in [-1, 1]^2
    assert 0.15 < ts.n_rejected / (500 + ts.n_rejected) < 0.35
    kept = data.test_set(g, 500, 2.0, shape="cube", seed=0, exclude_support=False)
    assert not kept.excluded_inside_support and kept.n_inside > 50
    assert ts.describe()["excluded_inside_support"] is True
    with pytest.raises(ValueError, match="could not draw"):
        data.test_set(geometry("ball", 2, 1.0), 10, 1.0)
    orth = data.test_set(g, 100, 3.0, positive_orthant=True)
    assert (orth.x >= 0).all()


def test_rays_start_at_1p1_times_exit():
    cube = geometry("cube", 3, 2.0)
    r = rays(cube, 20, 30.0, n_points=50, seed=0)
    # exit from the cube along v: r / max|v_i|
    np.testing.assert_allclose(r.exit, 2.0 / np.abs(r.directions).max(axis=1), rtol=1e-12)
    np.testing.assert_allclose(r.start, 1.1 * r.exit)
    np.testing.assert_allclose(r.t[:, -1] - r.t[:, 0], 30.0)
    assert not cube.contains(r.points.reshape(-1, 3)).any()
    sphere = geometry("sphere", 3, 2.0)
    base = np.array([0.5, 0.0, 0.0])
    rb = rays(sphere, 10, 5.0, base=base, seed=1)
    np.testing.assert_allclose(np.linalg.norm(base + rb.exit[:, None] * rb.directions, axis=1), 2)
    basis = geometry("basis", 3, 1.0)
    rr = rays(basis, 5, 1.0)
    # bisection exit lies on the cross-polytope boundary: ||Q^T x||_1 = r
    pts = rr.exit[:, None] * rr.directions
    np.testing.assert_allclose(np.abs(pts @ basis.rotation()).sum(1), 1.0, rtol=1e-9)


def test_unit_directions():
    v = unit_directions(100, 4, seed=0, positive_orthant=True)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0)
    assert (v >= 0).all()
