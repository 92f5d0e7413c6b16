"""Tests of ntkx.core.training against closed forms, the NTK limit and PyTorch's Adam semantics."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import ntkx
from ntkx.core.protocol import Architecture
from ntkx.core.solvers import gradient_flow
from ntkx.core.training import (
    TrainResult,
    adam_optimizer,
    linearized_gd_prediction,
    stable_learning_rate,
    train_adam,
    train_gd,
)


def _data(n=16, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    return x, np.sin(x[:, 0]) + x[:, 1]


def _apply64(net, params, x):
    with jax.enable_x64(True):
        return np.asarray(net.apply(params, jnp.asarray(x, jnp.float64)))[:, 0]


def test_wide_network_gd_matches_ntk_gradient_flow():
    # The NTK-regime prediction of a run from f_0 is f_0 + gradient_flow on the residual
    # y - f_0(X) (the flow is linear). A finite net deviates by O(width^-1/2); at width
    # 4096 the relative RMS gap is a few percent, at width 64 it is several times larger.
    x, y = _data()
    xt = 3 * np.random.default_rng(1).normal(size=(12, 3))
    spec = ntkx.mlp(width=4096, b_std=0.5)
    lr = 0.05 * stable_learning_rate(ntkx.kernel(spec, x, dtype="float64"))  # small: flow ~ GD
    steps = 400
    gaps = {}
    for width in (64, 4096):
        net = ntkx.mlp(width=width, b_std=0.5)
        p0 = net.init(jax.random.key(0), 3)
        res = train_gd(net, p0, x, y, learning_rate=lr, steps=steps, dtype="float64")
        assert isinstance(res, TrainResult) and res.losses.shape == (steps + 1,)
        f0tr, f0te = _apply64(net, p0, x), _apply64(net, p0, xt)
        ref = f0te + gradient_flow(net, x, y - f0tr, xt, lr * steps, dtype="float64")
        fin = _apply64(net, res.params, xt)
        gaps[width] = np.sqrt(np.mean((fin - ref) ** 2) / np.mean(ref**2))
    assert gaps[4096] < 0.06, gaps
    assert gaps[64] > 2 * gaps[4096], gaps


def test_linearized_gd_is_exact_linear_recursion_and_tends_to_flow():
    x, y = _data(n=10)
    xt = np.random.default_rng(2).normal(size=(5, 3))
    net = ntkx.mlp(b_std=1.0)
    k = ntkx.kernel(net, x, dtype="float64")
    ks = ntkx.kernel(net, xt, x, dtype="float64")
    lr, steps, n = 0.9 * stable_learning_rate(k), 37, 10
    f0 = np.linspace(-1, 1, 10)
    f0t = np.linspace(0, 1, 5)
    # simulate the linearized network: f_{k+1} = f_k - lr/n K (f_k - y); test outputs follow
    f, ft = f0.copy(), f0t.copy()
    for _ in range(steps):
        r = f - y
        f, ft = f - lr / n * k @ r, ft - lr / n * ks @ r
    got = linearized_gd_prediction(
        net, x, y, xt, learning_rate=lr, steps=steps, f0_train=f0, f0_test=f0t
    )
    np.testing.assert_allclose(got, ft, rtol=1e-8, atol=1e-10)
    # lr -> 0 at fixed time t = lr * steps: discrete GD -> gradient flow (error O(lr))
    t = 2.0
    flow = gradient_flow(net, x, y, xt, t, dtype="float64")
    disc = linearized_gd_prediction(net, x, y, xt, learning_rate=t / 20000, steps=20000)
    np.testing.assert_allclose(disc, flow, rtol=1e-3, atol=1e-6)
    with pytest.raises(ValueError, match="unstable"):
        linearized_gd_prediction(net, x, y, xt, learning_rate=3 * stable_learning_rate(k), steps=1)


def test_gd_updates_only_trainable_layers_with_the_closed_form_gradient():
    # Readout-only training: grad of L = 1/(2n) sum (phi W - y)^2 is phi^T (f - y) / n,
    # with phi the (scaled) hidden features; check one step by hand.
    x, y = _data(n=8)
    net = ntkx.mlp(width=32, b_std=None, trainable="last")
    p0 = net.init(jax.random.key(1), 3)
    lr = 0.3
    res = train_gd(net, p0, x, y, learning_rate=lr, steps=1, dtype="float64")
    w1 = np.asarray(p0[0][0], np.float64)
    w2 = np.asarray(p0[2][0], np.float64)
    phi = np.maximum(x @ w1 / np.sqrt(3), 0) / np.sqrt(32)
    f = phi @ w2
    expected = w2 - lr * phi.T @ (f - y[:, None]) / 8
    np.testing.assert_allclose(res.params[2][0], expected, rtol=1e-10)
    np.testing.assert_array_equal(res.params[0][0], np.asarray(p0[0][0], np.float64))
    assert res.losses[0] == pytest.approx(0.5 * np.mean((f[:, 0] - y) ** 2), rel=1e-12)


def test_record_every_and_divergence():
    x, y = _data()
    net = ntkx.mlp(width=16, b_std=1.0)
    p0 = net.init(jax.random.key(0), 3)
    res = train_gd(net, p0, x, y, learning_rate=0.5, steps=10, record_every=4)
    every = train_gd(net, p0, x, y, learning_rate=0.5, steps=10, record_every=1)
    # steps 0, 4, 8 and the final loss (after step 10) of the same trajectory
    np.testing.assert_allclose(res.losses, every.losses[[0, 4, 8, 10]], rtol=1e-6)
    assert res.losses[-1] < res.losses[0]
    with pytest.raises(FloatingPointError, match="diverged"):
        train_gd(net, p0, x, y, learning_rate=1e4, steps=200)
    with pytest.raises(ValueError, match="steps"):
        train_gd(net, p0, x, y, learning_rate=0.1, steps=0)
    with pytest.raises(ValueError, match="expected y of shape"):
        train_gd(net, p0, x, np.ones((16, 2)), learning_rate=0.1, steps=1)


def test_adam_optimizer_is_pytorch_adam_with_l2():
    # torch.optim.Adam(weight_decay=wd): g <- g + wd p; m, v moments; p <- p - lr m_hat /
    # (sqrt(v_hat) + eps). Hand-rolled here for f(p) = (p - 3)^2.
    lr, wd = 0.1, 0.5
    opt = adam_optimizer(lr, wd)
    p = jnp.array([1.0])
    state = opt.init(p)
    ref_p, m, v = 1.0, 0.0, 0.0
    for k in range(1, 6):
        g = 2 * (p - 3)
        upd, state = opt.update(g, state, p)
        p = optax.apply_updates(p, upd)
        gr = 2 * (ref_p - 3) + wd * ref_p
        m = 0.9 * m + 0.1 * gr
        v = 0.999 * v + 0.001 * gr**2
        ref_p -= lr * (m / (1 - 0.9**k)) / (np.sqrt(v / (1 - 0.999**k)) + 1e-8)
        assert float(p[0]) == pytest.approx(ref_p, rel=2e-5)  # optax state is float32


def test_adam_uses_the_partial_batch_and_small_datasets():
    x, y = _data(n=70)
    net = ntkx.mlp(width=16, b_std=1.0)
    p0 = net.init(jax.random.key(0), 3)
    # a negligible learning rate: the epoch loss is the full-data MSE (batches 64 + 6,
    # weighted by size), which it would not be if the partial batch were dropped
    res = train_adam(net, p0, x, y, key=jax.random.key(0), learning_rate=1e-12, epochs=2)
    mse0 = np.mean((np.asarray(net.apply(p0, x))[:, 0] - y) ** 2)
    np.testing.assert_allclose(res.losses, mse0, rtol=1e-5)
    small = train_adam(net, p0, x[:5], y[:5], key=jax.random.key(0), learning_rate=1e-2, epochs=30)
    # n = 5 < batch_size: one (partial) batch per epoch, whose first loss is the MSE at p0
    mse_small = np.mean((np.asarray(net.apply(p0, x[:5]))[:, 0] - y[:5]) ** 2)
    assert small.losses[0] == pytest.approx(mse_small, rel=1e-5)
    assert small.losses[-1] < 0.5 * small.losses[0]


class _PairInput(Architecture):
    """An architecture whose inputs are a pytree ``(a, b)``: the MLP applied to ``a + b``."""

    def __init__(self):
        self.base = ntkx.mlp(width=32, b_std=1.0)
        self.width, self.out_dim = self.base.width, self.base.out_dim

    def init(self, key, input_dim):
        return self.base.init(key, input_dim)

    def apply(self, params, x):
        return self.base.apply(params, x[0] + x[1])

    def kernel_fn(self, x1, x2):
        return self.base.kernel_fn(x1[0] + x1[1], x2[0] + x2[1])

    def trainable_layers(self, params=None):
        return self.base.trainable_layers()

    def check_inputs(self, name, x, dim=None):
        return tuple(np.asarray(leaf, np.float32) for leaf in x)


def test_trainers_accept_pytree_inputs():
    # Reference: the same MLP trained on x = a + b directly; the losses must be the same.
    x, y = _data(n=20)
    net = _PairInput()
    p0 = net.init(jax.random.key(0), 3)
    pair = (x / 2, x / 2)
    gd = train_gd(net, p0, pair, y, learning_rate=0.5, steps=50, record_every=10)
    ref = train_gd(net.base, p0, x, y, learning_rate=0.5, steps=50, record_every=10)
    np.testing.assert_allclose(gd.losses, ref.losses, rtol=1e-5)
    assert gd.losses[-1] < 0.5 * gd.losses[0]
    ad = train_adam(
        net, p0, pair, y, key=jax.random.key(1), learning_rate=1e-2, epochs=20, batch_size=8
    )
    ad_ref = train_adam(
        net.base, p0, x, y, key=jax.random.key(1), learning_rate=1e-2, epochs=20, batch_size=8
    )
    np.testing.assert_allclose(ad.losses, ad_ref.losses, rtol=1e-4)
    with pytest.raises(ValueError, match="leading axes"):
        train_gd(net, p0, (x, x[:5]), y, learning_rate=0.1, steps=1)


# --- Adam: traced learning rate, evaluation history, checkpoint and resume --------------------


def _optax_reference(net, p0, x, y, key, *, lr, epochs, batch_size, wd, halving):
    """A plain optax loop: torch's Adam + L2 (adam_optimizer) with optax's staircase schedule,
    one jax.random.split per epoch and batches in permutation order (n divisible by the batch)."""
    n = x.shape[0]
    n_batches = n // batch_size
    sched = optax.exponential_decay(lr, halving * n_batches, 0.5, staircase=True)
    opt = adam_optimizer(sched, wd)
    trainable, frozen = net.partition(p0)
    state = opt.init(trainable)

    def loss_fn(tr, xb, yb):
        return jnp.mean((net.apply(net.combine(tr, frozen), xb)[:, 0] - yb) ** 2)

    losses = []
    for _ in range(epochs):
        key, sub = jax.random.split(key)
        perm = np.asarray(jax.random.permutation(sub, n))
        total = 0.0
        for i in range(n_batches):
            ib = perm[i * batch_size : (i + 1) * batch_size]
            loss, g = jax.value_and_grad(loss_fn)(trainable, x[ib], y[ib])
            upd, state = opt.update(g, state, trainable)
            trainable = optax.apply_updates(trainable, upd)
            total += float(loss)
        losses.append(total / n_batches)
    return net.combine(trainable, frozen), np.array(losses)


def test_adam_learning_rate_is_traced_one_compilation_and_equals_optax():
    # Two learning rates (and two weight decays) on one architecture: the compiled epoch is
    # traced once (jax's cache size of the jitted epoch stays 1). Each run equals a plain
    # optax loop with the halving schedule (halving every 2 epochs, so it is exercised).
    # Tolerance 1e-6 relative: same float32 operations, only XLA's fusion (e.g. a fused
    # multiply-add in p - lr * u) may differ by an ulp per step.
    x, y = _data(n=48)
    x, y = x.astype(np.float32), y.astype(np.float32)
    net = ntkx.mlp(width=24, b_std=0.0, parameterization="standard", init="torch")
    p0 = net.init(jax.random.key(0), 3)
    from ntkx.core import training

    training._ADAM_EPOCHS.clear()
    for lr, wd in ((1e-2, 1e-5), (3e-3, 1e-3)):
        res = train_adam(
            net,
            p0,
            x,
            y,
            key=jax.random.key(5),
            learning_rate=lr,
            epochs=5,
            batch_size=16,
            weight_decay=wd,
            lr_halving_every=2,
        )
        ref_p, ref_losses = _optax_reference(
            net, p0, x, y, jax.random.key(5), lr=lr, epochs=5, batch_size=16, wd=wd, halving=2
        )
        np.testing.assert_allclose(res.losses, ref_losses, rtol=1e-6)
        for a, b in zip(
            jax.tree_util.tree_leaves(res.params), jax.tree_util.tree_leaves(ref_p), strict=True
        ):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    (epoch_fn,) = training._ADAM_EPOCHS.values()
    assert epoch_fn._cache_size() == 1


def test_adam_drop_last_uses_only_full_batches():
    # n = 70, batch 64, drop_last: one batch of 64 shuffled points per epoch, so a negligible
    # learning rate gives epoch losses equal to the MSE over that epoch's 64 points, which
    # differ from the full-data MSE; the permutation is the documented one (split per epoch).
    x, y = _data(n=70)
    net = ntkx.mlp(width=16, b_std=1.0)
    p0 = net.init(jax.random.key(0), 3)
    res = train_adam(
        net, p0, x, y, key=jax.random.key(2), learning_rate=1e-12, epochs=2, drop_last=True
    )
    err2 = (np.asarray(net.apply(p0, x))[:, 0] - y) ** 2
    key = jax.random.key(2)
    for e in range(2):
        key, sub = jax.random.split(key)
        kept = np.asarray(jax.random.permutation(sub, 70))[:64]
        assert res.losses[e] == pytest.approx(err2[kept].mean(), rel=1e-5)
    assert abs(res.losses[0] - err2.mean()) > 1e-4 * err2.mean()


def test_adam_eval_history_and_resume_is_bit_for_bit(tmp_path):
    x, y = _data(n=40)
    net = ntkx.mlp(width=16, b_std=0.5, parameterization="standard", init="torch")
    p0 = net.init(jax.random.key(0), 3)
    xt = np.random.default_rng(9).normal(size=(30, 3))
    yt = np.sin(xt[:, 0]) + xt[:, 1]

    def evaluate(params):
        return {"test_mse": float(np.mean((np.asarray(net.apply(params, xt))[:, 0] - yt) ** 2))}

    kw = dict(key=jax.random.key(3), learning_rate=1e-2, batch_size=8, lr_halving_every=2)
    full = train_adam(net, p0, x, y, epochs=6, eval_at=(0, 2, 6), evaluate=evaluate, **kw)
    # the history holds the epochs asked for; its train loss is that epoch's loss and its
    # test metric is evaluate() of the parameters after that epoch (checked at the end)
    assert [h["epoch"] for h in full.history] == [0, 2, 6]
    assert full.history[1]["train_loss"] == full.losses[1]
    assert "train_loss" not in full.history[0]
    assert full.history[0]["test_mse"] == evaluate(p0)["test_mse"]
    assert full.history[2]["test_mse"] == evaluate(full.params)["test_mse"]
    # interrupted after 3 epochs (checkpoint file), then resumed to 6: identical bits
    ckpt = tmp_path / "adam.npz"
    part = train_adam(
        net, p0, x, y, epochs=3, eval_at=(0, 2), evaluate=evaluate, checkpoint=ckpt, **kw
    )
    assert part.state.epoch == 3
    for resume in (ckpt, part.state):
        rest = train_adam(
            net, p0, x, y, epochs=6, eval_at=(0, 2, 6), evaluate=evaluate, resume=resume, **kw
        )
        np.testing.assert_array_equal(rest.losses, full.losses)
        assert rest.history == full.history
        for a, b in zip(
            jax.tree_util.tree_leaves(rest.params),
            jax.tree_util.tree_leaves(full.params),
            strict=True,
        ):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(
            jax.tree_util.tree_leaves(rest.state.opt_state),
            jax.tree_util.tree_leaves(full.state.opt_state),
            strict=True,
        ):
            np.testing.assert_array_equal(a, b)
    # a resume with other settings, or into another architecture, is refused
    with pytest.raises(ValueError, match="same settings"):
        train_adam(net, p0, x, y, epochs=6, resume=ckpt, **dict(kw, learning_rate=1e-3))
    wide = ntkx.mlp(width=32, b_std=0.5, parameterization="standard", init="torch")
    with pytest.raises(ValueError, match="shapes"):
        train_adam(wide, wide.init(jax.random.key(0), 3), x, y, epochs=6, resume=ckpt, **kw)
    with pytest.raises(ValueError, match="eval_at contains 7"):
        train_adam(net, p0, x, y, epochs=6, eval_at=(7,), evaluate=evaluate, **kw)
    with pytest.raises(ValueError, match="needs evaluate"):
        train_adam(net, p0, x, y, epochs=6, eval_at=(1,), **kw)


# --- Adam with an L1 (sparsity) penalty ------------------------------------------------------


#: The readout-only problem of the NumPy-reference L1 tests: only the first 16 of the 32 rows
#: of the readout weight are penalised.
_ROWS = np.arange(32)[:, None] < 16
_READOUT_MASK = [(False, None), (), (_ROWS, None)]


def _readout_l1(
    method: str, lr: float, wd: float, l1: float, epochs: int, mask: Any = _READOUT_MASK
):
    """``train_adam`` on a readout-only MLP (one full batch of 8 per epoch, float64) with the
    L1 term by ``method``, and an independent plain-NumPy PyTorch Adam on the same problem:
    gradient ``2 phi^T (f - y) / n + wd w`` plus ``l1 m sign(w)`` (subgradient), or that Adam
    step followed by soft thresholding with ``tau = lr l1 m / (sqrt(v_hat) + eps)``
    (proximal). Returns ``(result, numpy weights, numpy losses, (net, p0, x, y))``."""
    x, y = _data(n=8)
    net = ntkx.mlp(width=32, b_std=None, trainable="last")
    p0 = net.init(jax.random.key(1), 3)
    res = train_adam(
        net, p0, x, y, key=jax.random.key(0), learning_rate=lr, epochs=epochs, batch_size=8,
        weight_decay=wd, lr_halving_every=None, l1=l1, l1_mask=mask, l1_method=method,
        dtype="float64",
    )  # fmt: skip
    w1 = np.asarray(p0[0][0], np.float64)
    w = np.asarray(p0[2][0], np.float64).copy()
    phi = np.maximum(x @ w1 / np.sqrt(3), 0) / np.sqrt(32)
    m, v, losses = np.zeros_like(w), np.zeros_like(w), []
    for k in range(1, epochs + 1):
        r = phi @ w - y[:, None]
        losses.append(np.mean(r**2))
        g = 2 * phi.T @ r / 8 + wd * w
        if method == "subgradient":
            g = g + l1 * _ROWS * np.sign(w)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        denom = np.sqrt(v / (1 - 0.999**k)) + 1e-8
        w = w - lr * (m / (1 - 0.9**k)) / denom
        if method == "proximal":
            w = np.sign(w) * np.maximum(np.abs(w) - lr * l1 * _ROWS / denom, 0)
    return res, w, losses, (net, p0, x, y)


def test_adam_l1_readout_matches_a_numpy_adam_with_the_l1_subgradient():
    # 6 epochs, so the Adam moments see different gradients (the first Adam step alone is
    # ~lr sign(g), which would hide the L1 term's magnitude). Tolerance 1e-9 relative: the
    # same float64 formulas, only summation order differs.
    lr, wd, l1 = 0.05, 1e-3, 0.2
    res, w, losses, (_, p0, _, _) = _readout_l1("subgradient", lr, wd, l1, 6)
    np.testing.assert_allclose(res.params[2][0], w, rtol=1e-9)
    np.testing.assert_array_equal(res.params[0][0], p0[0][0])  # frozen: never penalised
    # the recorded losses are the data loss alone (no penalty term)
    np.testing.assert_allclose(res.losses, losses, rtol=1e-9)
    # the mask matters: penalising every row moves the last 16 rows differently
    all_rows = _readout_l1("subgradient", lr, wd, l1, 6, mask=None)[0]
    assert np.abs(all_rows.params[2][0][16:] - w[16:]).max() > 1e-3


def test_adam_proximal_l1_matches_a_numpy_proximal_adam_and_gives_exact_zeros():
    # The proximal map of l1 |w| in Adam's diagonal metric, 40 epochs: long enough for
    # entries to reach and stay at zero. Tolerance 1e-9 relative (the same float64 formulas,
    # summation order aside); zeros are compared exactly.
    res, w, _, (net, p0, x, y) = _readout_l1("proximal", 0.05, 1e-3, 0.5, 40)
    np.testing.assert_allclose(res.params[2][0], w, rtol=1e-9, atol=1e-12)
    got = np.asarray(res.params[2][0])
    # exact zeros, only where penalised, and the same ones as the reference
    assert (w[:16] == 0).sum() >= 4, "the reference should zero some penalised entries"
    np.testing.assert_array_equal(got == 0, w == 0)
    assert not (got[16:] == 0).any()
    # the subgradient method on the same problem ends with no exact zeros
    sub = _readout_l1("subgradient", 0.05, 1e-3, 0.5, 40)[0]
    assert not (np.asarray(sub.params[2][0]) == 0).any()
    with pytest.raises(ValueError, match="l1_method='prox'"):
        train_adam(net, p0, x, y, key=jax.random.key(0), epochs=1, l1=0.5, l1_method="prox")


def test_adam_l1_on_chosen_layers_equals_an_optax_loop_with_the_penalty_in_the_loss():
    # Reference: a plain optax loop whose loss is MSE + l1 * sum |theta| over the chosen layer
    # (jax autodiff of |.|), so the penalty's gradient is not the trainer's hand-written one.
    # Tolerance as test_adam_learning_rate_is_traced_one_compilation_and_equals_optax.
    x, y = _data(n=32)
    x, y = x.astype(np.float32), y.astype(np.float32)
    net = ntkx.mlp(width=16, b_std=0.5, parameterization="standard", init="torch")
    p0 = net.init(jax.random.key(0), 3)
    l1, lr, n_b = 1e-2, 1e-2, 4
    pick = lambda params: [(True, True), (), (False, False)]  # noqa: E731  the hidden layer only
    res = train_adam(
        net, p0, x, y, key=jax.random.key(5), learning_rate=lr, epochs=4, batch_size=8,
        weight_decay=1e-5, lr_halving_every=None, l1=l1, l1_mask=pick,
    )  # fmt: skip
    opt = adam_optimizer(lr, 1e-5)
    tr, frozen = net.partition(p0)
    state = opt.init(tr)

    def loss_fn(t, xb, yb):
        mse = jnp.mean((net.apply(net.combine(t, frozen), xb)[:, 0] - yb) ** 2)
        return mse + l1 * (jnp.abs(t[0][0]).sum() + jnp.abs(t[0][1]).sum())

    @jax.jit
    def step(t, st, xb, yb):
        upd, st = opt.update(jax.grad(loss_fn)(t, xb, yb), st, t)
        return optax.apply_updates(t, upd), st

    key = jax.random.key(5)
    for _ in range(4):
        key, sub = jax.random.split(key)
        perm = np.asarray(jax.random.permutation(sub, 32))
        for i in range(n_b):
            ib = perm[i * 8 : (i + 1) * 8]
            tr, state = step(tr, state, x[ib], y[ib])
    ref = net.combine(tr, frozen)
    leaves = zip(jax.tree_util.tree_leaves(res.params), jax.tree_util.tree_leaves(ref), strict=True)
    for a, b in leaves:
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)
    # and the penalty moved the chosen layer: it differs from the unpenalised run
    plain = train_adam(
        net, p0, x, y, key=jax.random.key(5), learning_rate=lr, epochs=4, batch_size=8,
        weight_decay=1e-5, lr_halving_every=None,
    )  # fmt: skip
    assert np.abs(plain.params[0][0] - res.params[0][0]).max() > 1e-3


def test_adam_l1_bad_arguments_name_the_argument():
    x, y = _data(n=8)
    net = ntkx.mlp(width=8, b_std=0.5)
    p0 = net.init(jax.random.key(0), 3)
    kw = dict(key=jax.random.key(0), epochs=1)
    with pytest.raises(ValueError, match="l1"):
        train_adam(net, p0, x, y, l1=-0.1, **kw)
    with pytest.raises(ValueError, match="l1"):
        train_adam(net, p0, x, y, l1=float("nan"), **kw)
    with pytest.raises(ValueError, match="l1_mask has the tree structure"):
        train_adam(net, p0, x, y, l1=0.1, l1_mask=[True], **kw)
    with pytest.raises(ValueError, match="l1_mask has a leaf"):
        train_adam(net, p0, x, y, l1=0.1, l1_mask=[(0.5, True), (), (True, True)], **kw)
    with pytest.raises(ValueError, match="l1_mask has a leaf"):
        train_adam(net, p0, x, y, l1=0.1, l1_mask=[(np.ones(5, bool), 1), (), (1, 1)], **kw)
