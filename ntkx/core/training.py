r"""Training finite networks built from the same specification as their kernels.

Two trainers, both jit-compiled with :func:`jax.lax.scan` (no Python loop per step):

* :func:`train_gd` — full-batch gradient descent on

  .. math:: L(\theta) = \frac{1}{2N} \sum_{i, j} (f_j(x_i; \theta) - y_{ij})^2,
     \qquad N = \texttt{y.size}

  (``N = n`` for scalar outputs), updating only ``net.trainable_layers()``.
  This is the regime of the paper's theory (Xu et al., arXiv 2009.11848,
  Theorem 1; Jacot et al. 2018; Lee et al. 2019, arXiv 1902.06720). In the NTK
  limit, gradient *flow* on this loss with learning rate :math:`\eta` evolves
  the outputs by :math:`\dot f = -\eta \Theta (f - y) / N`, exactly
  neural-tangents' ``predict.gradient_descent_mse`` normalisation used by
  :func:`ntkx.core.solvers.gradient_flow`: after ``steps`` steps the infinite-width
  prediction is ``gradient_flow(..., t=learning_rate * steps)`` (plus the
  initial output, see :func:`linearized_gd_prediction`).
* :func:`train_adam` — the paper's practical setting: Adam with PyTorch's
  ``weight_decay`` (an L2 term added to the gradient *before* the Adam moments,
  i.e. ``optax.chain(optax.add_decayed_weights(wd), optax.scale_by_adam(), ...)``;
  this is **not** AdamW's decoupled decay), shuffled minibatches of 64 (the last
  partial batch is used, weighted by its size; ``n < batch_size`` works), loss
  ``nn.MSELoss`` (mean squared error, no 1/2), learning rate halved every 50
  epochs (PyTorch ``StepLR(50, 0.5)``). The learning rate and weight decay are
  traced arguments (one compilation per architecture and data size);
  ``drop_last=True`` drops the last partial batch as the official code does;
  ``eval_at``/``evaluate`` record metrics at chosen epochs of one training
  (``TrainResult.history``); ``checkpoint``/``resume`` save and continue a run
  (:class:`AdamState`: parameters, optimizer state, epoch, PRNG key), bit for bit.
  ``l1``/``l1_mask`` add a sparsity penalty :math:`\lambda_1 \sum |\theta_S|` on a chosen
  subset ``S`` of the parameters (e.g. a GNN's message MLPs; Nerem, Chen, Dasgupta, Wang,
  COLT 2026, arXiv 2503.19173), off by default.

Inputs ``x`` may be any pytree whose leaves share the leading axis ``n`` (a GNN
batch is a tuple of padded arrays); ``net.apply(params, x)`` must give
``(n, out_dim)``. Divergence raises :class:`FloatingPointError`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from ntkx.core.kernels import kernel
from ntkx.core.numerics import precision_context, resolve_dtype
from ntkx.core.progress import progress_bar
from ntkx.core.protocol import Architecture, Params, check_params
from ntkx.core.validation import (
    as_targets,
    check_bool,
    check_choice,
    check_finite_number,
    check_positive_int,
)

__all__ = [
    "AdamState",
    "TrainResult",
    "adam_optimizer",
    "linearized_gd_prediction",
    "save_adam_state",
    "stable_learning_rate",
    "train_adam",
    "train_gd",
]


class TrainResult(NamedTuple):
    """A trained network.

    Attributes:
        params: the trained parameters (NumPy leaves, the training dtype; frozen
            layers unchanged).
        losses: 1-D NumPy array of the training loss at the recorded steps
            (:func:`train_gd`: steps ``0, k, 2k, ...`` and the last step, for
            ``k = record_every``) or epochs (:func:`train_adam`: the mean of the
            minibatch losses over each epoch, weighted by batch size). All finite.
        history: :func:`train_adam` with ``eval_at``: one dict per evaluated epoch,
            ``{"epoch": e, "train_loss": losses[e - 1], **evaluate(params)}`` (no
            ``train_loss`` at ``e = 0``), in epoch order; ``()`` otherwise.
        state: :func:`train_adam`: the final :class:`AdamState` (pass it as
            ``resume=`` to train further); ``None`` for :func:`train_gd`.
    """

    params: Params
    losses: np.ndarray
    history: tuple[dict[str, Any], ...] = ()
    state: AdamState | None = None


def _num_points(x: Any) -> int:
    leaves = [leaf for leaf in jax.tree_util.tree_leaves(x) if np.ndim(leaf) > 0]
    if not leaves:
        raise ValueError("x has no array leaves; expected inputs with a leading axis n.")
    n = int(np.shape(leaves[0])[0])
    for leaf in leaves:
        if np.shape(leaf)[0] != n:
            raise ValueError(
                f"x has leaves with leading axes {np.shape(leaf)[0]} and {n}; expected every "
                "leaf to share the leading axis n (one entry per example)."
            )
    return n


def _cast(tree: Any, dtype: np.dtype) -> Any:
    def cast(leaf: Any) -> Any:
        arr = jnp.asarray(leaf)
        return arr.astype(dtype) if jnp.issubdtype(arr.dtype, jnp.floating) else arr

    return jax.tree_util.tree_map(cast, tree)


def _to_numpy(tree: Any) -> Any:
    return jax.tree_util.tree_map(np.asarray, jax.device_get(tree))


def _check_params_finite(params: Params) -> None:
    for leaf in jax.tree_util.tree_leaves(params):
        if not np.isfinite(np.asarray(leaf)).all():
            raise FloatingPointError(
                "training diverged: the parameters contain non-finite values; reduce learning_rate."
            )


def _check_inputs(net: Architecture, x: Any, y: Any, params: Params) -> tuple[Any, np.ndarray]:
    if not isinstance(net, Architecture):
        raise ValueError(f"net={net!r} is not allowed; expected an ntkx Architecture.")
    x = net.check_inputs("x", x)
    n = _num_points(x)
    y2 = as_targets("y", y, n)
    out = check_params(net, params, x)
    if tuple(out.shape) != (n, y2.shape[1]):
        raise ValueError(
            f"y has shape {np.shape(y)} but net.apply(params, x) has shape {tuple(out.shape)}; "
            f"expected y of shape ({n},) or {tuple(out.shape)}."
        )
    return x, y2


def stable_learning_rate(k_train_train: Float[np.ndarray, "n n"], n_outputs: int = 1) -> float:
    r"""The NTK-regime stability limit of :func:`train_gd`: :math:`2 N / \lambda_{\max}(\Theta)`.

    Gradient descent on the linearized model multiplies each residual mode by
    :math:`1 - \eta \lambda / N`, so it converges for :math:`\eta < 2N/\lambda_{\max}`
    (``N = n * n_outputs``). Use a fraction of it (``0.5`` x) for finite widths,
    whose kernels fluctuate around the limit.
    """
    k = np.asarray(k_train_train, dtype=np.float64)
    lam = float(np.linalg.eigvalsh(k)[-1])
    if not lam > 0:
        raise ValueError(f"k_train_train has largest eigenvalue {lam}; expected a positive one.")
    return 2.0 * k.shape[0] * check_positive_int("n_outputs", n_outputs) / lam


def train_gd(
    net: Architecture,
    params: Params,
    x: Any,
    y: Float[Array, "n ..."],
    *,
    learning_rate: float,
    steps: int,
    record_every: int | None = None,
    dtype: str | None = None,
) -> TrainResult:
    r"""Full-batch gradient descent on :math:`L = \frac{1}{2N}\sum (f - y)^2` (``N = y.size``).

    Only the layers in ``net.trainable_layers()`` move. The whole run is one
    jit-compiled :func:`jax.lax.scan`.

    Args:
        net: the architecture (the same spec that gives the kernel).
        params: initial parameters, e.g. ``net.init(key, d)``.
        x: inputs, ``(n, d)`` or a pytree with leading axis ``n``.
        y: targets ``(n,)`` or ``(n, out_dim)``.
        learning_rate: step size :math:`\eta > 0`; after ``steps`` steps the
            gradient-flow time is ``learning_rate * steps`` (neural-tangents units).
        steps: number of steps ``>= 1``.
        record_every: record the loss every this many steps (default: every step).
        dtype: ``"float32"``/``"float64"``/``None`` (jax's default).

    Returns:
        :class:`TrainResult`; ``losses[i]`` is the loss before step
        ``i * record_every``, the last entry the loss after the final step.

    Raises:
        FloatingPointError: if the loss or parameters become non-finite.

    Example:
        >>> import jax, numpy as np, ntkx
        >>> from ntkx.core.training import train_gd
        >>> net = ntkx.mlp(width=64)
        >>> x = np.random.default_rng(0).normal(size=(8, 2)); y = x[:, 0]
        >>> res = train_gd(net, net.init(jax.random.key(0), 2), x, y,
        ...                learning_rate=1.0, steps=200, record_every=50)
        >>> bool(res.losses[-1] < res.losses[0])
        True
    """
    learning_rate = check_finite_number("learning_rate", learning_rate, minimum=0.0, strict=True)
    steps = check_positive_int("steps", steps)
    every = 1 if record_every is None else check_positive_int("record_every", record_every)
    np_dtype = resolve_dtype(dtype)
    with precision_context(np_dtype):
        params = _cast(params, np_dtype)
        x, y2 = _check_inputs(net, x, y, params)
        xj, yj = _cast(x, np_dtype), jnp.asarray(y2, np_dtype)
        trainable, frozen = net.partition(params)
        run = _gd_runner(net, every)
        chunks, rest = divmod(steps, every)
        trainable, losses = run(trainable, frozen, xj, yj, learning_rate, chunks, rest)
        params = _to_numpy(net.combine(trainable, frozen))
        losses = np.asarray(losses, np.float64)
    _check_losses(losses, "step", every)
    _check_params_finite(params)
    return TrainResult(params, losses)


_GD_RUNNERS: dict[tuple[Architecture, int], Callable] = {}


def _gd_runner(net: Architecture, every: int) -> Callable:
    key = (net, every)
    if key in _GD_RUNNERS:
        return _GD_RUNNERS[key]

    def loss_fn(trainable: Params, frozen: Params, x: Any, y: Array) -> Array:
        f = net.apply(net.combine(trainable, frozen), x)
        return 0.5 * jnp.sum((f - y) ** 2) / y.size

    grad_fn = jax.value_and_grad(loss_fn)

    def step(carry: Any, _: Any, frozen: Params, x: Any, y: Array, lr: Array) -> Any:
        trainable = carry
        loss, g = grad_fn(trainable, frozen, x, y)
        trainable = jax.tree_util.tree_map(lambda p, gi: p - lr * gi, trainable, g)
        return trainable, loss

    def run_chunk(trainable: Params, frozen: Params, x: Any, y: Array, lr: Array, length: int):
        body = lambda c, _: step(c, _, frozen, x, y, lr)  # noqa: E731
        return jax.lax.scan(body, trainable, None, length=length)

    @functools.partial(jax.jit, static_argnums=(5, 6))
    def run(trainable, frozen, x, y, lr, chunks, rest):  # type: ignore[no-untyped-def]
        lr = jnp.asarray(lr, y.dtype)

        def outer(carry: Params, _: Any) -> Any:
            new, losses = run_chunk(carry, frozen, x, y, lr, every)
            return new, losses[0]

        trainable, recorded = jax.lax.scan(outer, trainable, None, length=chunks)
        if rest:
            trainable, tail = run_chunk(trainable, frozen, x, y, lr, rest)
            recorded = jnp.concatenate([recorded, tail[:1]])
        final = loss_fn(trainable, frozen, x, y)
        return trainable, jnp.concatenate([recorded, final[None]])

    _GD_RUNNERS[key] = run
    return run


def _check_losses(losses: np.ndarray, unit: str, every: int = 1) -> None:
    bad = ~np.isfinite(losses)
    if bad.any():
        first = int(np.argmax(bad))
        raise FloatingPointError(
            f"training diverged: the loss became non-finite at {unit} {first * every} "
            f"(last finite loss {losses[:first][-1] if first else float('nan'):.4g}); reduce "
            "learning_rate (for gradient descent in the NTK regime, below "
            "ntkx.core.training.stable_learning_rate(kernel))."
        )


def adam_optimizer(
    learning_rate: float | optax.Schedule, weight_decay: float = 1e-5
) -> optax.GradientTransformation:
    """PyTorch's ``torch.optim.Adam(lr, weight_decay)`` in optax.

    PyTorch adds ``weight_decay * p`` to the gradient *before* the moment
    estimates (an L2 penalty), so the chain is ``add_decayed_weights`` then
    ``scale_by_adam`` (betas 0.9, 0.999, eps 1e-8, as PyTorch). ``optax.adamw``
    would instead decay after the Adam scaling (AdamW, decoupled), which is not
    what the paper's code ran. :func:`train_adam` runs exactly this chain, with the
    learning rate and weight decay as traced arguments of its compiled epoch.
    """
    return optax.chain(
        optax.add_decayed_weights(weight_decay),
        optax.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8),
        optax.scale_by_learning_rate(learning_rate),
    )


class AdamState(NamedTuple):
    """Everything :func:`train_adam` needs to continue a run exactly (``resume=``).

    Attributes:
        params: the full parameters after ``epoch`` epochs (NumPy leaves).
        opt_state: optax ``scale_by_adam`` state of the trainable part (count, moments).
        epoch: number of completed epochs.
        key: raw data (``jax.random.key_data``) of the shuffling key for the next epoch.
        key_impl: the key's PRNG implementation name (``None``: a legacy uint32 key).
        losses: the epoch losses so far, ``(epoch,)``.
        history: the evaluations so far (see :class:`TrainResult`).
        settings: the hyperparameters the run was started with; a resume must match them.
    """

    params: Params
    opt_state: Any
    epoch: int
    key: np.ndarray
    key_impl: str | None
    losses: np.ndarray
    history: tuple[dict[str, Any], ...]
    settings: dict[str, Any]


def save_adam_state(path: str | os.PathLike[str], state: AdamState) -> Path:
    """Write ``state`` to ``path`` (``.npz``; arrays only, no pickle), atomically.

    Parameter and optimizer leaves are stored in :func:`jax.tree_util.tree_leaves`
    order; :func:`train_adam` restores them into the structure of its own ``params``
    (``resume=path``), so a checkpoint is read back only by a matching architecture.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    for prefix, tree in (("params", state.params), ("opt", state.opt_state)):
        for i, leaf in enumerate(jax.tree_util.tree_leaves(tree)):
            arrays[f"{prefix}_{i:05d}"] = np.asarray(leaf)
    meta = {
        "format": "ntkx.adam_state/1",
        "epoch": int(state.epoch),
        "key_impl": state.key_impl,
        "history": list(state.history),
        "settings": state.settings,
    }
    arrays["meta"] = np.array(json.dumps(meta))
    arrays["key"] = np.asarray(state.key)
    arrays["losses"] = np.asarray(state.losses, np.float64)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _load_adam_state(path: str | os.PathLike[str], params: Params, opt_state: Any) -> AdamState:
    """Read :func:`save_adam_state`'s file into the structures of ``params``/``opt_state``."""
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
        meta = json.loads(str(data.pop("meta")))
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(
            f"resume={os.fspath(path)!r} is not allowed: {err}; expected a checkpoint written "
            "by train_adam(checkpoint=...) (ntkx.core.training.save_adam_state)."
        ) from None
    if meta.get("format") != "ntkx.adam_state/1":
        raise ValueError(
            f"resume={os.fspath(path)!r} has format {meta.get('format')!r}; expected "
            "'ntkx.adam_state/1'."
        )
    trees = []
    for prefix, like in (("params", params), ("opt", opt_state)):
        leaves, treedef = jax.tree_util.tree_flatten(like)
        stored = [data[k] for k in sorted(data) if k.startswith(prefix + "_")]
        shapes = [np.shape(v) for v in stored]
        if shapes != [np.shape(v) for v in leaves]:
            raise ValueError(
                f"resume={os.fspath(path)!r} holds {prefix} leaves of shapes {shapes}; "
                f"expected {[np.shape(v) for v in leaves]} (the same architecture and input "
                "dimension as the checkpointed run)."
            )
        trees.append(jax.tree_util.tree_unflatten(treedef, stored))
    return AdamState(
        params=trees[0],
        opt_state=trees[1],
        epoch=int(meta["epoch"]),
        key=data["key"],
        key_impl=meta["key_impl"],
        losses=data["losses"],
        history=tuple(meta["history"]),
        settings=meta["settings"],
    )


def _key_parts(key: Any) -> tuple[np.ndarray, str | None]:
    if jnp.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key):
        return np.asarray(jax.random.key_data(key)), str(jax.random.key_impl(key))
    return np.asarray(key), None


def _key_from(data: np.ndarray, impl: str | None) -> Any:
    return jnp.asarray(data) if impl is None else jax.random.wrap_key_data(data, impl=impl)


def train_adam(
    net: Architecture,
    params: Params,
    x: Any,
    y: Float[Array, "n ..."],
    *,
    key: PRNGKeyArray,
    learning_rate: float = 1e-3,
    epochs: int = 500,
    batch_size: int = 64,
    weight_decay: float = 1e-5,
    lr_halving_every: int | None = 50,
    drop_last: bool = False,
    l1: float = 0.0,
    l1_mask: Any = None,
    l1_method: str = "subgradient",
    eval_at: Sequence[int] = (),
    evaluate: Callable[[Params], Mapping[str, float]] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: AdamState | str | os.PathLike[str] | None = None,
    progress: bool = False,
    dtype: str | None = None,
) -> TrainResult:
    r"""The paper's practical training: Adam, minibatches, weight decay, step learning rate.

    Each epoch draws a fresh permutation (epoch ``e`` uses the second half of
    ``jax.random.split`` of the running key), splits it into batches and runs one
    jit-compiled :func:`jax.lax.scan` over them. With ``drop_last=False`` there are
    ``ceil(n / batch_size)`` batches, the last one partial, padded and masked, its
    loss averaged over its real examples only (PyTorch's ``DataLoader`` with
    ``drop_last=False``); with ``drop_last=True`` there are ``max(1, n // batch_size)``
    full batches and the remaining ``n mod batch_size`` shuffled points sit the epoch
    out, as in the official code of arXiv 2009.11848. The loss per batch is the mean
    squared error over its examples and outputs (PyTorch ``nn.MSELoss``). The update
    is PyTorch's Adam with L2 weight decay (:func:`adam_optimizer`),

    .. math:: g \leftarrow \nabla L + \lambda \theta, \qquad
       \theta \leftarrow \theta - \eta_e\, \hat m / (\sqrt{\hat v} + \epsilon),
       \qquad \eta_e = \eta\, 2^{-\lfloor e / h \rfloor}

    (``h = lr_halving_every``; PyTorch ``StepLR(h, 0.5)`` stepped per epoch; ``None``:
    constant). :math:`\eta_e` and :math:`\lambda` are *traced* arguments of the compiled
    epoch, so one compilation serves every learning rate and weight decay of an
    architecture, data size and batch size. In the NTK parameterization the parameters
    are the standard-normal ``W``, so the same ``weight_decay`` is a different penalty
    than on PyTorch's weights.

    **L1 (sparsity) penalty.** With ``l1 = lambda_1 > 0`` every batch minimises

    .. math:: L_B(\theta) + \lambda_1 \sum_{j \in S} |\theta_j|,

    ``S`` the trainable entries selected by ``l1_mask`` (default: every trainable entry).
    Its (sub)gradient :math:`\lambda_1\, \mathrm{sign}(\theta_j)` (0 at
    :math:`\theta_j = 0`) joins the gradient next to the L2 term, before the Adam moments:
    :math:`g \leftarrow \nabla L_B + \lambda \theta + \lambda_1\, m \odot
    \mathrm{sign}(\theta)` (``m`` the 0/1 mask). ``lambda_1`` is traced like ``lambda``.
    ``losses`` stay the data loss (mean squared error) alone, so that runs with and
    without the penalty compare; the penalty of the final parameters is
    ``lambda_1 * sum(|m * theta|)``. Nerem, Chen, Dasgupta and Wang (Graph neural networks
    extrapolate out-of-distribution for shortest paths, COLT 2026, arXiv 2503.19173) prove
    that a min-aggregation GNN minimising such a sparsity-regularised loss on shortest-path
    instances implements Bellman-Ford steps (see ``ntkx graph --l1``).

    The subgradient oscillates around zero (Adam's step is about :math:`\eta_e` in each
    coordinate), so penalised entries end small but not zero. ``l1_method="proximal"``
    instead takes the Adam step on :math:`\nabla L_B + \lambda\theta` alone and then applies
    the proximal map of the penalty in Adam's own metric :math:`D = \mathrm{diag}(\sqrt{\hat
    v} + \epsilon)` (a preconditioned proximal-gradient step, as ISTA with a diagonal metric):

    .. math:: \theta_j \leftarrow \mathrm{sign}(\tilde\theta_j)\,\max\bigl(|\tilde\theta_j|
       - \eta_e \lambda_1 m_j / (\sqrt{\hat v_j} + \epsilon),\ 0\bigr), \qquad
       \tilde\theta = \theta - \eta_e\, \hat m / (\sqrt{\hat v} + \epsilon),

    which sets entries exactly to zero (soft thresholding) once the data no longer need them.

    Args:
        net, params, x, y: as :func:`train_gd`.
        key: PRNG key for the shuffling.
        learning_rate: initial learning rate :math:`\eta` (paper: 1e-3 for linear
            targets, 1e-4 otherwise).
        epochs: total number of epochs (paper: 500); with ``resume``, training continues
            from the checkpoint's epoch up to this number.
        batch_size: minibatch size (paper: 64); ``n < batch_size`` gives one batch.
        weight_decay: L2 coefficient :math:`\lambda` (paper: 1e-5).
        lr_halving_every: epochs between halvings (paper: 50) or ``None``.
        drop_last: drop the last partial batch of each epoch (the official code does).
        l1: L1 coefficient :math:`\lambda_1 \ge 0` (default 0: no penalty, the paper's
            training).
        l1_mask: which parameters the L1 term acts on: a pytree with the structure of
            ``params`` whose leaves are ``True``/``False`` or 0/1 arrays broadcastable to the
            leaf (``None`` leaves where ``params`` has ``None``), or a callable
            ``params -> such a pytree``; ``None`` (default): every trainable parameter.
            Entries of frozen layers are never penalised (they do not move).
        l1_method: ``"subgradient"`` (default: the penalty's subgradient joins the gradient)
            or ``"proximal"`` (soft thresholding after each Adam step, exact zeros; above).
        eval_at: completed-epoch counts (``0`` = before training) at which to call
            ``evaluate(params)``; the results form ``TrainResult.history``.
        evaluate: ``params -> {name: float}`` (e.g. test MAPE); required with ``eval_at``.
        checkpoint: file to write the :class:`AdamState` to (``.npz``) every
            ``checkpoint_every`` epochs (default: only at the end).
        checkpoint_every: epochs between checkpoints (needs ``checkpoint``).
        resume: an :class:`AdamState` (``TrainResult.state``) or a checkpoint file;
            the run then continues from its parameters, optimizer state, epoch, key,
            losses and history (``params``/``key`` only give the structure). The
            settings must equal the checkpointed run's; the result equals the
            uninterrupted run bit for bit.
        progress: a progress bar over the epochs with the running loss (on a terminal
            only; :mod:`ntkx.core.progress`).
        dtype: training dtype (default jax's).

    Returns:
        :class:`TrainResult` with one loss per epoch (all ``epochs``, resumed ones
        included), the ``history`` and the final ``state``.

    Example:
        >>> import jax, numpy as np, ntkx
        >>> from ntkx.core.training import train_adam
        >>> net = ntkx.mlp(width=32, b_std=1.0)
        >>> x = np.random.default_rng(0).normal(size=(40, 2)); y = x.sum(1)
        >>> res = train_adam(net, net.init(jax.random.key(0), 2), x, y,
        ...                  key=jax.random.key(1), learning_rate=1e-2, epochs=20,
        ...                  eval_at=(0, 20), evaluate=lambda p: {"w0": float(p[0][0][0, 0])})
        >>> res.losses.shape, [h["epoch"] for h in res.history]
        ((20,), [0, 20])
    """
    learning_rate = check_finite_number("learning_rate", learning_rate, minimum=0.0, strict=True)
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    weight_decay = check_finite_number("weight_decay", weight_decay, minimum=0.0)
    if lr_halving_every is not None:
        lr_halving_every = check_positive_int("lr_halving_every", lr_halving_every)
    drop_last = check_bool("drop_last", drop_last)
    l1 = check_finite_number("l1", l1, minimum=0.0)
    check_choice("l1_method", l1_method, ("subgradient", "proximal"))
    proximal = l1 > 0 and l1_method == "proximal"
    eval_epochs = _eval_epochs(eval_at, epochs)
    if eval_epochs and evaluate is None:
        raise ValueError(
            f"eval_at={tuple(eval_at)!r} needs evaluate; expected a callable "
            "params -> {name: float}."
        )
    if evaluate is not None and not callable(evaluate):
        raise ValueError(f"evaluate={evaluate!r} is not allowed; expected a callable.")
    if checkpoint_every is not None:
        checkpoint_every = check_positive_int("checkpoint_every", checkpoint_every)
        if checkpoint is None:
            raise ValueError("checkpoint_every needs checkpoint; expected a file path.")
    np_dtype = resolve_dtype(dtype)
    with precision_context(np_dtype):
        params = _cast(params, np_dtype)
        x, y2 = _check_inputs(net, x, y, params)
        n = _num_points(x)
        settings = {
            "n": n,
            "learning_rate": learning_rate,
            "batch_size": batch_size,
            "weight_decay": weight_decay,
            "lr_halving_every": lr_halving_every,
            "drop_last": drop_last,
            "dtype": np.dtype(np_dtype).name,
        }
        mask = _l1_mask(l1_mask, params, net, np_dtype)
        if l1 > 0:  # recorded only when on, so checkpoints of unpenalised runs still resume
            settings["l1"] = l1
            settings["l1_mask"] = _mask_digest(mask)
            if proximal:
                settings["l1_method"] = l1_method
        xj, yj = _cast(x, np_dtype), jnp.asarray(y2, np_dtype)
        b = min(batch_size, n)
        n_batches = max(1, n // b) if drop_last else -(-n // b)
        epoch_fn = _adam_epoch(net, n, b, n_batches, drop_last, proximal)
        trainable, frozen = net.partition(params)
        opt_state = _ADAM.init(trainable)
        losses = np.empty(epochs)
        history: list[dict[str, Any]] = []
        start_epoch = 0
        if resume is not None:
            state = resume if isinstance(resume, AdamState) else None
            if state is None:
                if not isinstance(resume, str | os.PathLike):
                    raise ValueError(
                        f"resume={resume!r} is not allowed; expected an AdamState or a path."
                    )
                state = _load_adam_state(resume, params, opt_state)
            if state.settings != settings:
                raise ValueError(
                    f"resume has settings {state.settings}, but this call has {settings}; "
                    "expected the same settings as the checkpointed run."
                )
            if not 0 <= state.epoch <= epochs:
                raise ValueError(
                    f"resume is at epoch {state.epoch}; expected at most epochs={epochs}."
                )
            params = _cast(state.params, np_dtype)
            trainable, frozen = net.partition(params)
            opt_state = jax.tree_util.tree_map(jnp.asarray, state.opt_state)
            key = _key_from(state.key, state.key_impl)
            start_epoch = state.epoch
            losses[:start_epoch] = state.losses
            history = [dict(h) for h in state.history]

        def current_state(done: int) -> AdamState:
            data, impl = _key_parts(key)
            return AdamState(
                params=_to_numpy(net.combine(trainable, frozen)),
                opt_state=_to_numpy(opt_state),
                epoch=done,
                key=data,
                key_impl=impl,
                losses=losses[:done].copy(),
                history=tuple(history),
                settings=settings,
            )

        def record(done: int) -> None:
            if done in eval_epochs and not any(h["epoch"] == done for h in history):
                assert evaluate is not None
                out = evaluate(_to_numpy(net.combine(trainable, frozen)))
                entry: dict[str, Any] = {"epoch": done}
                if done > 0:
                    entry["train_loss"] = float(losses[done - 1])
                entry.update({str(k): float(v) for k, v in dict(out).items()})
                history.append(entry)

        record(start_epoch)
        wd = jnp.asarray(weight_decay, np_dtype)
        l1j = jnp.asarray(l1, np_dtype)
        with progress_bar(total=epochs, desc="[ntkx] adam", enabled=progress, unit="epoch") as bar:
            bar.update(start_epoch)
            for epoch in range(start_epoch, epochs):
                key, sub = jax.random.split(key)
                halvings = 0 if lr_halving_every is None else epoch // lr_halving_every
                lr = jnp.asarray(learning_rate * 0.5**halvings, np_dtype)
                trainable, opt_state, loss = epoch_fn(
                    trainable, opt_state, frozen, xj, yj, sub, lr, wd, l1j, mask
                )
                losses[epoch] = float(loss)
                if not np.isfinite(losses[epoch]):
                    _check_losses(losses[: epoch + 1], "epoch")
                record(epoch + 1)
                if checkpoint is not None and (
                    epoch + 1 == epochs
                    or (checkpoint_every is not None and (epoch + 1) % checkpoint_every == 0)
                ):
                    save_adam_state(checkpoint, current_state(epoch + 1))
                bar.update(1)
                bar.set_postfix(loss=f"{losses[epoch]:.4g}", refresh=False)
        final = current_state(epochs)
    _check_params_finite(final.params)
    return TrainResult(final.params, losses, tuple(history), final)


def _l1_mask(l1_mask: Any, params: Params, net: Architecture, dtype: Any) -> Params:
    """The 0/1 L1 mask of the trainable part of ``params`` (leaves of the leaves' shapes)."""
    if l1_mask is None:
        full = jax.tree_util.tree_map(lambda p: np.ones(np.shape(p)), params)
    else:
        given = l1_mask(params) if callable(l1_mask) else l1_mask
        p_def = jax.tree_util.tree_structure(params)
        m_def = jax.tree_util.tree_structure(given)
        if p_def != m_def:
            raise ValueError(
                f"l1_mask has the tree structure {m_def}; expected that of params, {p_def} "
                "(one True/False or 0/1 array per parameter leaf, None where params has None)."
            )

        def leaf(m: Any, p: Any) -> np.ndarray:
            arr = np.asarray(m)
            ok = arr.dtype == bool or (
                np.issubdtype(arr.dtype, np.number) and np.isin(arr, (0, 1)).all()
            )
            try:
                out = np.broadcast_to(arr, np.shape(p)).astype(np.float64)
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(
                    f"l1_mask has a leaf {arr!r} for a parameter of shape {np.shape(p)}; "
                    "expected True/False or a 0/1 array broadcastable to that shape."
                )
            return out

        full = jax.tree_util.tree_map(leaf, given, params)
    trainable, _ = net.partition(full)
    return jax.tree_util.tree_map(lambda m: jnp.asarray(m, dtype), trainable)


def _mask_digest(mask: Params) -> list[int]:
    """Penalised entries per trainable leaf (recorded in the settings of a penalised run)."""
    return [int(np.sum(np.asarray(m))) for m in jax.tree_util.tree_leaves(mask)]


def _eval_epochs(eval_at: Sequence[int], epochs: int) -> frozenset[int]:
    out = set()
    for e in eval_at:
        if isinstance(e, bool) or not isinstance(e, int | np.integer) or not 0 <= e <= epochs:
            raise ValueError(
                f"eval_at contains {e!r}; expected integers in [0, epochs={epochs}] "
                "(completed epochs; 0 = before training)."
            )
        out.add(int(e))
    return frozenset(out)


#: PyTorch Adam's moment estimates (betas 0.9, 0.999, eps 1e-8); the L2 term and the
#: learning rate are applied around it inside the compiled epoch (see adam_optimizer).
_ADAM_B2: Final = 0.999
_ADAM_EPS: Final = 1e-8
_ADAM: Final = optax.scale_by_adam(b1=0.9, b2=_ADAM_B2, eps=_ADAM_EPS)
_ADAM_EPOCHS: dict[tuple[Any, ...], Callable] = {}


def _adam_epoch(
    net: Architecture, n: int, b: int, n_batches: int, drop_last: bool, proximal: bool = False
) -> Callable:
    """The compiled epoch, cached per (architecture, n, batch, batches, drop_last, proximal).

    ``lr``, ``wd``, ``l1`` and the L1 ``mask`` are traced arguments: one compilation for
    every learning rate, weight decay and L1 penalty (``epoch._cache_size()`` counts them).
    ``proximal``: the L1 term as soft thresholding after the Adam step (see ``train_adam``)
    instead of a subgradient in the gradient.
    """
    cache_key = (net, n, b, n_batches, drop_last, proximal)
    if cache_key in _ADAM_EPOCHS:
        return _ADAM_EPOCHS[cache_key]
    used = n_batches * b
    pad = max(0, used - n)

    def batch_loss(trainable: Params, frozen: Params, xb: Any, yb: Array, mask: Array) -> Array:
        f = net.apply(net.combine(trainable, frozen), xb)
        per_example = jnp.mean((f - yb) ** 2, axis=-1)
        return jnp.sum(per_example * mask) / jnp.sum(mask)

    grad_fn = jax.value_and_grad(batch_loss)

    @jax.jit
    def epoch(trainable, opt_state, frozen, x, y, key, lr, wd, l1, l1_mask):  # type: ignore[no-untyped-def]
        perm = jax.random.permutation(key, n)
        if drop_last:
            idx = perm[:used].reshape(n_batches, b)
            mask = jnp.ones((n_batches, b), y.dtype)
            total = used
        else:
            idx = jnp.concatenate([perm, jnp.zeros(pad, perm.dtype)]).reshape(n_batches, b)
            mask = (jnp.arange(used) < n).astype(y.dtype).reshape(n_batches, b)
            total = n

        def body(carry: Any, batch: Any) -> Any:
            tr, st = carry
            ib, mb = batch
            xb = jax.tree_util.tree_map(lambda leaf: leaf[ib], x)
            loss, g = grad_fn(tr, frozen, xb, y[ib], mb)
            g = jax.tree_util.tree_map(lambda gi, p: gi + wd * p, g, tr)  # PyTorch's L2 term
            if not proximal:  # the L1 subgradient (exactly + 0 when l1 = 0: runs unchanged)
                g = jax.tree_util.tree_map(
                    lambda gi, p, mi: gi + l1 * mi * jnp.sign(p), g, tr, l1_mask
                )
            u, st = _ADAM.update(g, st, tr)
            tr = jax.tree_util.tree_map(lambda p, ui: p - lr * ui, tr, u)
            if proximal:  # soft thresholding in Adam's metric (count already advanced)
                corr = 1 - _ADAM_B2 ** st.count.astype(y.dtype)

                def soft(p: Array, nu: Array, mi: Array) -> Array:
                    tau = lr * l1 * mi / (jnp.sqrt(nu / corr) + _ADAM_EPS)
                    return jnp.sign(p) * jnp.maximum(jnp.abs(p) - tau, 0)

                tr = jax.tree_util.tree_map(soft, tr, st.nu, l1_mask)
            return (tr, st), loss * jnp.sum(mb)

        (trainable, opt_state), weighted = jax.lax.scan(body, (trainable, opt_state), (idx, mask))
        return trainable, opt_state, jnp.sum(weighted) / total

    _ADAM_EPOCHS[cache_key] = epoch
    return epoch


def linearized_gd_prediction(
    net: Architecture,
    x_train: Float[Array, "n d"],
    y_train: Float[Array, " n"],
    x_test: Float[Array, "m d"],
    *,
    learning_rate: float,
    steps: int,
    f0_train: Float[Array, " n"] | None = None,
    f0_test: Float[Array, " m"] | None = None,
    dtype: str | None = "float64",
) -> Float[np.ndarray, " m"]:
    r"""Infinite-width prediction after ``steps`` *discrete* steps of :func:`train_gd`.

    For the linearized network with the limiting NTK :math:`\Theta`, gradient
    descent on :math:`\frac{1}{2n}\sum (f - y)^2` gives exactly
    (Lee et al. 2019, arXiv 1902.06720, eq. 9 in discrete time)

    .. math::
        f_k(x) = f_0(x) + \Theta(x, X)\, \Theta^{-1}
        \left(I - (I - \eta \Theta / n)^k\right) (y - f_0(X)),

    evaluated in the eigenbasis of :math:`\Theta(X, X)` (modes with
    :math:`\lambda \to 0` use the limit :math:`k \eta / n`). ``f0_train`` /
    ``f0_test`` are the network's outputs at initialization (default 0: the
    mean over initializations). As ``learning_rate -> 0`` with
    ``learning_rate * steps = t`` fixed this tends to
    :func:`ntkx.core.solvers.gradient_flow` at time ``t``. Scalar outputs only.
    """
    learning_rate = check_finite_number("learning_rate", learning_rate, minimum=0.0, strict=True)
    steps = check_positive_int("steps", steps)
    xtr = net.check_inputs("x_train", x_train)
    xte = net.check_inputs("x_test", x_test, dim=net.input_dim(xtr))
    n = xtr.shape[0]
    y = as_targets("y_train", y_train, n)
    if y.shape[1] != 1:
        raise ValueError(f"y_train has shape {np.shape(y_train)}; expected scalar outputs (n,).")
    y = y[:, 0].astype(np.float64)
    f0tr = np.zeros(n) if f0_train is None else _vector("f0_train", f0_train, n)
    f0te = np.zeros(xte.shape[0]) if f0_test is None else _vector("f0_test", f0_test, xte.shape[0])
    k_tt = np.asarray(kernel(net, xtr, dtype=dtype), np.float64)
    k_st = np.asarray(kernel(net, xte, xtr, dtype=dtype), np.float64)
    lam, vec = np.linalg.eigh(k_tt)
    lam = np.maximum(lam, 0.0)
    u = learning_rate * lam / n
    if (u >= 2).any():
        raise ValueError(
            f"learning_rate={learning_rate} is unstable for this kernel (eta * lambda_max / n = "
            f"{u.max():.3g} >= 2); expected learning_rate < {2 * n / lam.max():.4g}."
        )
    # (1 - (1 - u)^k) / lam, computed stably; -> k eta / n as lam -> 0
    # for u < 1 via expm1/log1p (no cancellation when k u is small); u in [1, 2) oscillates
    small = -np.expm1(steps * np.log1p(-np.minimum(u, 0.5)))
    large = 1.0 - (1.0 - u) ** steps
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(u <= 0.5, small, large) / lam
    gain = np.where(lam > 0, gain, steps * learning_rate / n)
    coef = vec @ (gain * (vec.T @ (y - f0tr)))
    return f0te + k_st @ coef


def _vector(name: str, v: Any, n: int) -> np.ndarray:
    arr = np.asarray(v, dtype=np.float64).reshape(-1)
    if arr.shape != (n,) or not np.isfinite(arr).all():
        raise ValueError(f"{name} has shape {np.shape(v)}; expected {n} finite values.")
    return arr
