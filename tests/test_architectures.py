"""Closed-form MLP kernels against independent references (tests/references.py).

Error measure: ``|K - K_ref| / sqrt(K_ref(x, x) K_ref(x', x'))``, the error relative to the
kernel's own scale at the pair (K is positive semi-definite, so ``|K(x, x')|`` is bounded by that
scale; dividing by ``|K(x, x')|`` itself would blow up where the kernel crosses zero).

Why two tolerances for the ReLU family: neural-tangents obtains the angle between ``x`` and ``x'``
from ``arctan2(sqrt(S11 S22 - S12^2), S12)``; the square root of a difference of nearly equal
numbers leaves an absolute angle error of about ``sqrt(eps) ~ 1.5e-8`` for identical, parallel or
antipodal inputs, where ``d arccos(c)/dc`` diverges (``c = +-1``). The NNGP is flat in the angle
there (``d/dtheta [sin t + (pi - t) cos t] = -(pi - t) sin t = 0`` at 0 and pi), so it stays exact;
the NTK picks up ``E[relu' relu'] = (pi - theta)/(2 pi)``, linear in the angle, so its error is
``~ sqrt(eps)/(2 pi)`` per layer (measured up to 1.3e-8 at depth 4). Hence: 1e-12 for pairs whose
first-layer angle lies in [0.1, pi - 0.1] (there the arccos error is ``eps / sin(0.1) ~ 2e-15``
per layer; measured <= 4e-16), and 1e-7 for the diagonal and for parallel/antipodal pairs.
The reference itself is accurate everywhere (stable angle and propagated gap, see references.py).
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
import references as ref

import ntkx
from ntkx.core.kernels import kernel_matrix
from ntkx.feedforward.mlp import ACTIVATIONS, MLP

WELL_SEPARATED = 1e-12  # pairs with first-layer angle in [0.1, pi - 0.1]; measured <= 4e-16
DEGENERATE = 1e-7  # identical / parallel / antipodal pairs, ReLU-family NTK: sqrt(eps) effect
SMOOTH_TOL = 1e-12  # no angle involved (erf, sin, cos, x^2, gelu); measured <= 1.4e-14


def _inputs(d: int = 5) -> np.ndarray:
    """Generic points plus the hard cases: two parallel copies (2.5 x), an antipodal copy and a
    nearly identical copy (perturbed by 1e-9)."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(7, d))
    return np.concatenate(
        [base, 2.5 * base[:2], -base[2:3], base[3:4] + 1e-9 * rng.normal(size=(1, d))]
    )


def _first_layer_angles(x: np.ndarray, W_std: float, b_std: float | None) -> np.ndarray:
    cols = [W_std * x / math.sqrt(x.shape[1])]
    if b_std is not None:
        cols.append(np.full((x.shape[0], 1), b_std))
    z = np.concatenate(cols, axis=1)
    return ref.first_layer_angles(z, z)


def _scaled_error(k: np.ndarray, k_ref: np.ndarray) -> np.ndarray:
    diag = np.sqrt(np.abs(np.diag(k_ref)))
    return np.abs(k - k_ref) / np.outer(diag, diag)


def _check_relu_family(net: MLP, x: np.ndarray, **ref_kwargs) -> None:
    nngp = kernel_matrix(net, x, get="nngp", dtype="float64")
    ntk = kernel_matrix(net, x, get="ntk", dtype="float64")
    ref_nngp, ref_ntk = ref.mlp_kernels(
        x,
        depth=net.depth,
        activation=net.activation,
        W_std=net.W_std,
        b_std=net.b_std,
        trainable=net.trainable,
        parameterization=net.parameterization,
        width=net.width,
        activation_params=net.activation_params,
        **ref_kwargs,
    )
    theta = _first_layer_angles(x, net.W_std, net.b_std)
    good = (theta >= 0.1) & (theta <= np.pi - 0.1)
    assert good.sum() >= 60  # the criterion keeps most pairs
    err_nngp = _scaled_error(nngp, ref_nngp)
    err_ntk = _scaled_error(ntk, ref_ntk)
    # NNGP: flat in the angle at 0 and pi, so rounding-level everywhere.
    assert err_nngp.max() <= WELL_SEPARATED, err_nngp.max()
    assert err_ntk[good].max() <= WELL_SEPARATED, err_ntk[good].max()
    assert err_ntk.max() <= DEGENERATE, err_ntk.max()
    # The diagonal separately, relative to itself (same sqrt(eps) reason).
    np.testing.assert_allclose(np.diag(ntk), np.diag(ref_ntk), rtol=DEGENERATE)


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("b_std", [None, 0.5])
def test_relu_matches_arc_cosine_recursion(depth, b_std):
    _check_relu_family(ntkx.mlp(depth=depth, b_std=b_std), _inputs())


@pytest.mark.parametrize(
    "net",
    [
        ntkx.mlp(depth=3, b_std=0.3, W_std=math.sqrt(2)),
        ntkx.mlp(depth=3, b_std=0.3, trainable="first"),
        ntkx.mlp(depth=3, b_std=0.3, trainable="last"),
        ntkx.mlp(depth=3, b_std=0.3, parameterization="standard", width=37),
        ntkx.mlp(depth=3, activation="leaky_relu", activation_params=(0.1,), b_std=0.2),
        ntkx.mlp(depth=2, activation="abrelu", activation_params=(-0.3, 0.7)),
        ntkx.mlp(depth=4, activation="abrelu", activation_params=(0.5, 2.0), W_std=0.8),
    ],
    ids=["W_sqrt2", "first", "last", "standard", "leaky", "abrelu_2", "abrelu_4"],
)
def test_relu_family_variants_match_reference(net):
    _check_relu_family(net, _inputs())


@pytest.mark.parametrize("activation", ["erf", "sin", "cos", "quadratic", "gelu"])
@pytest.mark.parametrize(("depth", "b_std", "trainable"), [(2, None, "all"), (3, 0.4, "first")])
def test_smooth_activations_match_reference(activation, depth, b_std, trainable):
    # No angle is involved in these duals (erf: arcsine of 2 S12 / sqrt((1+2 S11)(1+2 S22)) < 1;
    # sin/cos: exponentials; x^2: polynomial; gelu: quadrature), so every entry, the diagonal
    # included, is compared at rounding level. Inputs have S11 <= ~2 so that the Gauss-Hermite
    # rule resolves gelu (checked below by node doubling).
    x = np.random.default_rng(1).normal(size=(8, 4))
    net = ntkx.mlp(depth=depth, activation=activation, b_std=b_std, trainable=trainable)
    ref_nngp, ref_ntk = ref.mlp_kernels(
        x, depth=depth, activation=activation, b_std=b_std, trainable=trainable
    )
    if activation == "gelu":
        # Quadrature convergence: 160 vs 200 nodes must agree far below the tolerance.
        n2, k2 = ref.mlp_kernels(
            x,
            depth=depth,
            activation=activation,
            b_std=b_std,
            trainable=trainable,
            quadrature_nodes=200,
        )
        assert _scaled_error(n2, ref_nngp).max() < 1e-14
        assert _scaled_error(k2, ref_ntk).max() < 1e-14
    for get, k_ref in (("nngp", ref_nngp), ("ntk", ref_ntk)):
        k = kernel_matrix(net, x, get=get, dtype="float64")
        assert _scaled_error(k, k_ref).max() <= SMOOTH_TOL, (get, _scaled_error(k, k_ref).max())


# --- the reference's own formulas against brute-force integration ----------------------------

_COVARIANCES = [
    (1.0, 1.0, 0.3),
    (2.0, 0.7, -0.9),
    (1.5, 1.2, 1.3),
    (1.0, 1.0, -0.99),
    (0.8, 1.1, 0),
]


@pytest.mark.parametrize(
    ("name", "params"),
    [("relu", ()), ("leaky_relu", (0.1,)), ("abrelu", (-0.3, 0.7)), ("abrelu", (2.0, -1.0))],
)
def test_reference_relu_duals_against_polar_quadrature(name, params):
    # Piecewise-exact Gauss-Legendre in polar coordinates: agreement to rounding (<= 1e-13 of
    # the scale sqrt(q1 q2)) checks the arc-cosine combination formulas of the reference.
    for q1, q2, s in _COVARIANCES:
        e, edot = ref.duals(name, q1, q2, s, params)
        e_quad = ref.dual_polar(ref.activation(name, params), 1, q1, q2, s)
        edot_quad = ref.dual_polar(ref.activation_derivative(name, params), 0, q1, q2, s)
        slope = max(abs(p) for p in (*params, 1.0))
        assert abs(e - e_quad) <= 1e-13 * slope**2 * math.sqrt(q1 * q2)
        assert abs(edot - edot_quad) <= 1e-13 * slope**2


@pytest.mark.parametrize("name", ["erf", "sin", "cos", "quadratic", "gelu"])
def test_reference_smooth_duals_against_gauss_hermite(name):
    # Smooth integrands: 120-node Gauss-Hermite is converged to ~1e-15 for these variances.
    for q1, q2, s in _COVARIANCES:
        e, edot = ref.duals(name, q1, q2, s)
        e_quad = ref.dual_quadrature(ref.activation(name), q1, q2, s, 120)
        edot_quad = ref.dual_quadrature(ref.activation_derivative(name), q1, q2, s, 120)
        np.testing.assert_allclose(e, e_quad, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(edot, edot_quad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 6])
def test_relu_ntk_diagonal_exact_formula(depth):
    # Known exact case: bias-free ReLU, W_std = 1. On the diagonal the angle is 0, so
    # Sigma^{l+1} = Sigma^l / 2 and Theta^{l+1} = Sigma^{l+1} + Theta^l / 2 from Theta^1 = Sigma^1
    # = |x|^2/d, which gives Theta^L(x, x) = L |x|^2 / (d 2^(L-1)) and Sigma^L = |x|^2/(d 2^(L-1)).
    # Parallel inputs: the kernel is positively homogeneous of degree 1 in each argument, so
    # K(x, 2.5 x) = 2.5 K(x, x). The reference is exact here (1e-15); ntkx's NTK carries the
    # sqrt(eps) angle error described in the module docstring (1e-7), its NNGP does not.
    x = np.random.default_rng(2).normal(size=(6, 5))
    q = np.sum(x * x, axis=1) / 5
    theta_exact = depth * q / 2 ** (depth - 1)
    sigma_exact = q / 2 ** (depth - 1)
    net = ntkx.mlp(depth=depth)
    ref_nngp, ref_ntk = ref.mlp_kernels(x, depth=depth)
    np.testing.assert_allclose(np.diag(ref_ntk), theta_exact, rtol=1e-15)
    np.testing.assert_allclose(np.diag(ref_nngp), sigma_exact, rtol=1e-15)
    np.testing.assert_allclose(
        np.diag(ntkx.kernel(net, x, dtype="float64")), theta_exact, rtol=1e-7
    )
    np.testing.assert_allclose(
        np.diag(ntkx.kernel(net, x, get="nngp", dtype="float64")), sigma_exact, rtol=1e-14
    )
    cross_ref = np.diag(ref.mlp_kernels(x, 2.5 * x, depth=depth)[1])
    np.testing.assert_allclose(cross_ref, 2.5 * theta_exact, rtol=1e-15)
    cross = np.diag(ntkx.kernel(net, x, 2.5 * x, dtype="float64"))
    np.testing.assert_allclose(cross, 2.5 * theta_exact, rtol=1e-7)


# --- trainable="first" / "last" / "all" -------------------------------------------------------


def test_trainable_first_is_the_papers_kernel_over_d():
    # Bias-free two-layer ReLU, first layer trained: Theta = <x,x'> (pi - theta) / (2 pi d), the
    # kernel of the paper's official code divided by d (the input kernel here is x.x'/d).
    # Off-diagonal pairs with angle in [0.1, pi - 0.1]: the hand formula's arccos is accurate to
    # ~eps/sin(0.1), so 1e-12 (scaled); the diagonal at 1e-7 for the sqrt(eps) reason.
    x = _inputs()
    k = ntkx.kernel(ntkx.mlp(depth=2, trainable="first"), x, dtype="float64")
    hand = ref.relu_two_layer_first(x, x)
    theta = _first_layer_angles(x, 1.0, None)
    good = (theta >= 0.1) & (theta <= np.pi - 0.1)
    err = _scaled_error(k, hand)
    assert err[good].max() <= 1e-12, err[good].max()
    np.testing.assert_allclose(np.diag(k), np.sum(x * x, axis=1) / (2 * 5), rtol=1e-7)


@pytest.mark.parametrize(
    "spec",
    [
        {"depth": 2},
        {"depth": 3, "b_std": 0.4},
        {"depth": 2, "activation": "erf", "W_std": 1.7},
        {"depth": 3, "parameterization": "standard", "width": 64, "b_std": 0.1},
    ],
)
def test_trainable_last_ntk_equals_nngp_exactly(spec):
    # Only the readout trains: its gradient is the last hidden layer, so Theta = Sigma^L exactly.
    x = _inputs()
    net = ntkx.mlp(trainable="last", **spec)
    ntk = ntkx.kernel(net, x, dtype="float64")
    nngp = ntkx.kernel(net, x, get="nngp", dtype="float64")
    if spec.get("parameterization") == "standard":
        # standard parameterization: the readout gradient is the hidden layer itself,
        # Theta = width * E[phi phi'] (+ 1 for the bias) = (Sigma^L - b^2) width / W^2 + 1.
        expected = (nngp - 0.1**2) * 64 + 1.0
        np.testing.assert_allclose(ntk, expected, rtol=1e-13)
    else:
        np.testing.assert_array_equal(ntk, nngp)


@pytest.mark.parametrize(
    "spec",
    [{}, {"b_std": 0.5}, {"activation": "erf", "b_std": 0.2}, {"activation": "gelu"}],
)
def test_trainable_all_is_first_plus_last(spec):
    # For a two-layer net the parameters split into first and last layer, and the NTK is a sum
    # over parameters: Theta_all = Theta_first + Theta_last. ntkx obtains "first" by subtracting
    # the layer's own term, so the identity holds to rounding (1e-14 of the scale).
    x = _inputs()
    kernels = {
        t: ntkx.kernel(ntkx.mlp(depth=2, trainable=t, **spec), x, dtype="float64")
        for t in ("all", "first", "last")
    }
    err = _scaled_error(kernels["first"] + kernels["last"], kernels["all"])
    assert err.max() <= 1e-14, err.max()


def test_depth_one_is_the_linear_kernel():
    # A single dense layer: NNGP = NTK = W^2 x.x'/d + b^2, whatever is "trainable".
    x = _inputs()
    expected = 1.5**2 * (x @ x.T) / 5 + 0.3**2
    for trainable in ("all", "first", "last"):
        net = ntkx.mlp(depth=1, W_std=1.5, b_std=0.3, trainable=trainable)
        for get in ("ntk", "nngp"):
            np.testing.assert_allclose(
                ntkx.kernel(net, x, get=get, dtype="float64"), expected, 1e-14
            )


# --- the finite network behind the spec ------------------------------------------------------


def test_finite_network_shapes_partition_and_kernel_method(key):
    net = ntkx.mlp(depth=3, width=16, b_std=0.1, out_dim=2, trainable="first")
    x = np.random.default_rng(0).normal(size=(4, 3))
    params = net.init(key, 3)
    assert len(params) == 5  # dense, act, dense, act, dense
    out = net.apply(params, x)
    # Reference: the forward pass written out in NumPy, NTK parameterization
    # (W_std / sqrt(fan_in) * h W + b_std * b, W_std = 1).
    h = x
    for i in (0, 2, 4):
        w, b = (np.asarray(a, np.float64) for a in params[i])
        h = h @ w / np.sqrt(w.shape[0]) + 0.1 * b
        h = np.maximum(h, 0.0) if i < 4 else h
    np.testing.assert_allclose(out, h, rtol=1e-5, atol=1e-6)  # float32 forward pass
    assert net.trainable_layers() == (0,)
    trainable, frozen = net.partition(params)
    assert trainable[2] == () and frozen[0] == ()
    rebuilt = net.combine(trainable, frozen)
    leaves = zip(jax.tree_util.tree_leaves(rebuilt), jax.tree_util.tree_leaves(params), strict=True)
    for a, b in leaves:
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ntkx.kernel(net, x), kernel_matrix(net, x))
    # jit-compatible apply
    np.testing.assert_allclose(jax.jit(net.apply)(params, x), out, rtol=1e-6)


@pytest.mark.parametrize(
    ("activation", "params"),
    [
        ("relu", ()),
        ("erf", ()),
        ("sin", ()),
        ("cos", ()),
        ("quadratic", ()),
        ("gelu", ()),
        ("leaky_relu", (2.0,)),  # alpha > 1: max(x, 0) + alpha min(x, 0), not max(x, alpha x)
        ("abrelu", (-0.3, 0.7)),
    ],
)
@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
def test_finite_forward_pass_matches_numpy(activation, params, parameterization, key):
    # The finite network behind the kernels, written out in NumPy from the documented layer
    # equations: ntk: z = W_std / sqrt(fan_in) W h + b_std b (W, b standard normal);
    # standard: z = W h + b with W, b stored already scaled. float32 forward pass: 1e-5.
    net = ntkx.mlp(
        depth=3,
        width=7,
        W_std=1.3,
        b_std=0.4,
        activation=activation,
        activation_params=params or None,
        parameterization=parameterization,
        out_dim=2,
    )
    x = np.random.default_rng(3).normal(size=(5, 4))
    layers = net.init(key, 4)
    phi = ref.activation(activation, params)
    h = x
    for i, layer in enumerate(layers[::2]):
        w, b = (np.asarray(p, np.float64) for p in layer)
        if parameterization == "ntk":
            h = 1.3 / math.sqrt(h.shape[1]) * h @ w + 0.4 * b
        else:
            h = h @ w + b
        if i < 2:
            h = phi(h)
    np.testing.assert_allclose(net.apply(layers, x), h, rtol=1e-5, atol=1e-5)


def test_spec_is_frozen_hashable_and_normalised():
    net = ntkx.mlp(activation="leaky_relu")
    assert net.activation_params == (0.01,)
    assert hash(net) == hash(ntkx.mlp(activation="leaky_relu", activation_params=[0.01]))
    with pytest.raises(AttributeError):
        net.depth = 3  # type: ignore[misc]
    assert set(ACTIVATIONS) == {
        "relu",
        "erf",
        "sin",
        "cos",
        "quadratic",
        "gelu",
        "leaky_relu",
        "abrelu",
    }


# --- bad settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"depth": 0}, r"depth=0 .*positive integer"),
        ({"depth": -2}, r"depth=-2 "),
        ({"depth": 2.5}, r"depth=2\.5 "),
        ({"depth": True}, r"depth=True "),
        ({"width": 0}, r"width=0 .*positive integer"),
        ({"out_dim": 0}, r"out_dim=0 "),
        ({"activation": "tanh"}, r"activation='tanh' .*relu"),
        ({"parameterization": "mup"}, r"parameterization='mup' .*ntk"),
        ({"trainable": "middle"}, r"trainable='middle' .*first"),
        ({"W_std": 0.0}, r"W_std=0\.0 .*> 0"),
        ({"W_std": -1.0}, r"W_std=-1\.0 "),
        ({"W_std": float("nan")}, r"W_std=nan .*finite"),
        ({"W_std": float("inf")}, r"W_std=inf .*finite"),
        ({"W_std": "big"}, r"W_std='big' .*real number"),
        ({"b_std": -0.1}, r"b_std=-0\.1 .*>= 0"),
        ({"b_std": float("nan")}, r"b_std=nan "),
        ({"activation_params": (0.1,)}, r"activation_params=\(0\.1,\) .*activation='relu'"),
        ({"activation": "leaky_relu", "activation_params": ()}, r"activation_params=\(\) "),
        ({"activation": "abrelu", "activation_params": (1.0,)}, r"expected 2 number"),
        (
            {"activation": "leaky_relu", "activation_params": (float("nan"),)},
            r"activation_params\[0\]=nan ",
        ),
    ],
)
def test_bad_settings_raise_value_error(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        ntkx.mlp(**kwargs)


@pytest.mark.parametrize(
    ("x", "pattern"),
    [
        (np.array([[1.0, np.nan]]), r"x1 contains 1 non-finite"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), r"x1 contains 1 non-finite .*inf"),
        (np.zeros((0, 3)), r"x1 has shape \(0, 3\)"),
        (np.zeros((3, 0)), r"x1 has shape \(3, 0\)"),
        (np.ones(3), r"x1 has shape \(3,\); expected a 2-D"),
        (np.ones((2, 3, 1)), r"x1 has shape \(2, 3, 1\)"),
        (np.array([["a", "b"]]), r"x1 has dtype <U1"),
    ],
)
def test_bad_inputs_raise_value_error(x, pattern):
    with pytest.raises(ValueError, match=pattern):
        ntkx.kernel(ntkx.mlp(), x)


def test_bad_input_dim_and_mismatched_features():
    net = ntkx.mlp()
    with pytest.raises(ValueError, match=r"input_dim=0 "):
        net.init(jax.random.key(0), 0)
    with pytest.raises(ValueError, match=r"x2 has 4 features .*expected 3"):
        ntkx.kernel(net, np.ones((2, 3)), np.ones((2, 4)))


# --- PyTorch's default initialization (init="torch") ----------------------------------------


def test_torch_init_draws_uniform_weights_and_biases():
    # torch.nn.Linear(fan_in, out): W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), variance
    # 1/(3 fan_in). >= 32768 draws per tensor (width 32768 from d = 8; readout 32768 x 2).
    # KS threshold 1.63 / sqrt(n): the 1% critical value of the Kolmogorov distribution
    # (fixed seed, so deterministic); a Gaussian of the same variance fails it (control).
    # Variance band: the sample mean of W^2 has relative sd sqrt(4/45 * 9) / sqrt(n)
    # (<= 0.49% here) for the uniform law; the band is 4 sd (<= 2%), so a 5% error is caught.
    from scipy import stats

    d, width = 8, 32768
    net = ntkx.mlp(width=width, b_std=0.0, parameterization="standard", init="torch", out_dim=2)
    assert net.initialization == "torch"
    params = net.init(jax.random.key(0), d)
    (w1, b1), (w2, b2) = params[0], params[2]
    assert w1.shape == (d, width) and b1.shape == (1, width)
    assert w2.shape == (width, 2) and b2.shape == (1, 2)
    for sample, fan_in in ((w1, d), (b1, d), (w2, width)):
        a = np.asarray(sample, np.float64).ravel()
        bound = 1 / math.sqrt(fan_in)
        crit = 1.63 / math.sqrt(a.size)
        assert np.abs(a).max() <= bound
        assert stats.kstest(a, stats.uniform(-bound, 2 * bound).cdf).statistic < crit
        band = 4 * math.sqrt(0.8 / a.size)
        assert band <= 0.02
        assert np.mean(a**2) == pytest.approx(1 / (3 * fan_in), rel=band)
        gauss = np.random.default_rng(0).normal(0, bound / math.sqrt(3), a.size)
        assert stats.kstest(gauss, stats.uniform(-bound, 2 * bound).cdf).statistic > 3 * crit
    assert np.abs(np.asarray(b2)).max() <= 1 / math.sqrt(width)
    # weights and biases are independent draws; another key gives other parameters
    assert abs(np.corrcoef(np.asarray(w1)[0], np.asarray(b1)[0])[0, 1]) < 0.05
    assert not np.array_equal(np.asarray(net.init(jax.random.key(1), d)[0][0]), w1)
    # the Gaussian spec is unchanged by the new field
    gaussian = ntkx.mlp(width=64, b_std=0.0, parameterization="standard")
    assert gaussian.initialization == "gaussian"


def test_torch_init_first_forward_pass_matches_numpy(key):
    # relu(x W1 + b1) W2 + b2 in float64 NumPy from the drawn parameters; float32 pass: 1e-5.
    net = ntkx.mlp(width=128, b_std=0.0, parameterization="standard", init="torch")
    x = np.random.default_rng(4).normal(size=(16, 8))
    (w1, b1), (w2, b2) = (
        tuple(np.asarray(p, np.float64) for p in net.init(key, 8)[i]) for i in (0, 2)
    )
    expected = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    params = net.init(key, 8)
    np.testing.assert_allclose(net.apply(params, x), expected, rtol=1e-5, atol=1e-6)
    assert np.abs(b1).max() > 0  # the bias is drawn even though b_std=0 (it sets the kernel only)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"init": "torch", "b_std": 0.0}, r"init='torch' with parameterization='ntk' .*standard"),
        ({"init": "torch", "parameterization": "standard"}, r"init='torch' with b_std=None"),
        ({"init": "xavier"}, r"init='xavier' .*gaussian"),
    ],
)
def test_torch_init_bad_combinations(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        ntkx.mlp(**kwargs)
