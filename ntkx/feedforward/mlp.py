"""Architectures: one specification, a finite-width network and its kernels.

An architecture is a frozen, validated specification. From it ntkx builds a
neural-tangents ``(init_fn, apply_fn, kernel_fn)`` triple once, so the finite
network (``init``/``apply``) and the infinite-width kernels (``kernel``) come
from the same layers and can never drift apart.

Conventions are those of neural-tangents (Novak et al., ICLR 2020,
arXiv 1912.02803): the input kernel is ``x . x' / d``; a dense layer draws
``W ~ N(0, W_std^2)`` and ``b ~ N(0, b_std^2)``; in the ``"ntk"``
parameterization its output is ``W_std / sqrt(fan_in) * W x + b_std * b`` with
standard-normal ``W, b``.

The closed-form kernels of the ReLU family (:data:`RELU_FAMILY`: relu, leaky_relu, abrelu)
are computed by ntkx itself, fused around one matrix product, with the vectorized arc-cosine
maps of :mod:`ntkx.core.arccos`; they equal neural-tangents' ``stax`` kernels of the same
layers to rounding off the diagonal (tested to 1e-12) and are exact on it (neural-tangents'
carries a ``sqrt(eps)`` angle error there). The other activations use neural-tangents' kernels.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, Final

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ntkx import _compat
from ntkx.core.arccos import relu_family_maps
from ntkx.core.protocol import (
    Architecture,
    KernelPair,
    Params,
    check_key,
    checked_apply,
    partition_layers,
    validate_common_fields,
)
from ntkx.core.validation import as_inputs, check_choice, check_finite_number, check_positive_int

stax = _compat.neural_tangents().stax

__all__ = ["ACTIVATIONS", "INITIALIZATIONS", "MLP", "RELU_FAMILY", "mlp"]

#: How :meth:`MLP.init` draws the finite network's parameters: ``"gaussian"``
#: (neural-tangents' ``W ~ N(0, W_std^2)``, ``b ~ N(0, b_std^2)`` in the spec's
#: parameterization) or ``"torch"`` (``torch.nn.Linear``'s default: weights *and*
#: biases ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, standard parameterization).
INITIALIZATIONS: Final = ("gaussian", "torch")

#: Activations with closed-form NNGP/NTK in neural-tangents, and the number of
#: ``activation_params`` each takes (with their defaults).
ACTIVATIONS: Final[dict[str, tuple[float, ...]]] = {
    "relu": (),
    "erf": (),
    "sin": (),
    "cos": (),
    "quadratic": (),
    "gelu": (),
    "leaky_relu": (0.01,),
    "abrelu": (0.0, 1.0),
}

_ACTIVATION_DOC: Final[dict[str, str]] = {
    "relu": "max(x, 0)",
    "erf": "erf(x), the tanh-like sigmoid with a closed-form kernel",
    "sin": "sin(x)",
    "cos": "cos(x)",
    "quadratic": "x^2",
    "gelu": "x Phi(x) (exact, not the tanh approximation)",
    "leaky_relu": "max(x, 0) + alpha min(x, 0) (max(x, alpha x) if alpha <= 1), "
    "activation_params=(alpha,)",
    "abrelu": "a min(x, 0) + b max(x, 0), activation_params=(a, b)",
}


#: Activations whose closed-form kernels ntkx computes itself, in one fused arc-cosine pass
#: (:func:`_relu_family_kernels`); the others use neural-tangents' ``stax`` rules.
RELU_FAMILY: Final = ("relu", "leaky_relu", "abrelu")


def _activation_layer(name: str, params: tuple[float, ...]) -> Any:
    if name == "relu":
        return stax.Relu()
    if name == "erf":
        return stax.Erf()
    if name == "sin":
        return stax.Sin()
    if name == "cos":
        return stax.Cos()
    if name == "quadratic":
        return stax.Monomial(2)
    if name == "gelu":
        return stax.Gelu(approximate=False)
    if name == "leaky_relu":
        return stax.LeakyRelu(params[0])
    if name == "abrelu":
        return stax.ABRelu(params[0], params[1])
    raise AssertionError(name)  # unreachable: validated at construction


@stax.layer
def _frozen(layer: tuple[Callable, Callable, Callable]) -> tuple[Callable, Callable, Callable]:
    """The same layer with its own parameters excluded from the NTK.

    The NTK after a layer is linear in the incoming NTK plus the contribution of
    the layer's own parameters; that contribution is the layer's NTK output on
    an input whose NTK is zero. Subtracting it gives the NTK of a network in
    which this layer is held at its initial value (while the NNGP, a property of
    the forward pass, is unchanged). This holds in either parameterization.
    """
    init_fn, apply_fn, kernel_fn = layer

    def frozen_kernel_fn(k: Any, **kwargs: Any) -> Any:
        out = kernel_fn(k, **kwargs)
        if out.ntk is None or k.ntk is None:
            return out
        own = kernel_fn(k.replace(ntk=jnp.zeros_like(k.ntk)), **kwargs).ntk
        return out.replace(ntk=out.ntk - own)

    return init_fn, apply_fn, frozen_kernel_fn


@dataclasses.dataclass(frozen=True, eq=True)
class MLP(Architecture):
    r"""A fully connected network, finite or infinitely wide (final class).

    ``depth`` counts weight layers (the paper's "two-layer MLP" is
    ``depth=2``): ``depth - 1`` hidden layers of ``width`` units, each followed
    by ``activation``, then a linear readout to ``out_dim`` outputs.

    With ``parameterization="ntk"`` and ``W_std = 1``, ``b_std = None``, the
    two-layer ReLU kernels are (Cho & Saul 2009; Jacot et al. 2018), with
    :math:`\theta` the angle between ``x`` and ``x'``:

    .. math::
        \Sigma(x, x') = \frac{\|x\| \|x'\|}{2 \pi d}(\sin\theta + (\pi - \theta)\cos\theta),
        \qquad
        \Theta(x, x') = \Sigma(x, x') + \frac{x \cdot x'}{d} \frac{\pi - \theta}{2\pi}.

    ``trainable`` selects the trained layers, which changes the NTK only:
    ``"all"``; ``"first"`` (first weight layer and its bias; for the bias-free
    two-layer ReLU net this is the kernel of the paper's official code,
    :math:`\langle x, x'\rangle (\pi - \theta) / (2\pi)`, divided by ``d``);
    ``"last"`` (the readout only: the NTK equals the NNGP).

    ``initialization`` (``ntkx.mlp(init=...)``) only changes how :meth:`init` draws
    the finite network: ``"gaussian"`` (default) as above; ``"torch"`` is PyTorch's
    default for ``nn.Linear`` (the official code of arXiv 2009.11848): every weight
    and bias of a layer with ``fan_in`` inputs uniform on
    :math:`[-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}}]` (variance
    :math:`1/(3\,\text{fan\_in})`), in the standard parameterization
    (``z = h W + b``), so it requires ``parameterization="standard"`` and biases
    (``b_std`` not ``None``). ``W_std``/``b_std`` then describe only the kernels
    (the torch draw's weights match ``W_std = 1/sqrt(3)``; its bias variance
    ``1/(3 fan_in)`` has no single ``b_std``).

    Example:
        >>> import jax, ntkx
        >>> net = ntkx.mlp(depth=2, activation="relu", width=256)
        >>> x = jax.random.normal(jax.random.key(0), (5, 3))
        >>> ntkx.kernel(net, x).shape
        (5, 5)
        >>> params = net.init(jax.random.key(1), 3)
        >>> net.apply(params, x).shape
        (5, 1)

    References:
        Xu et al., How Neural Networks Extrapolate, ICLR 2021, arXiv 2009.11848.
    """

    depth: int = 2
    activation: str = "relu"
    width: int = 512
    W_std: float = 1.0
    b_std: float | None = None
    parameterization: str = "ntk"
    trainable: str = "all"
    out_dim: int = 1
    activation_params: tuple[float, ...] | None = None
    initialization: str = "gaussian"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        validate_common_fields(self)
        check_choice("init", self.initialization, INITIALIZATIONS)
        if self.initialization == "torch":
            if self.parameterization != "standard":
                raise ValueError(
                    f"init='torch' with parameterization={self.parameterization!r} is not "
                    "allowed; PyTorch's default init is for the standard parameterization "
                    "(z = h W + b): expected parameterization='standard' (or init='gaussian')."
                )
            if self.b_std is None:
                raise ValueError(
                    "init='torch' with b_std=None is not allowed; torch.nn.Linear draws a bias "
                    "in every layer: expected b_std >= 0 (it sets the kernels' bias variance "
                    "only), or init='gaussian' for a bias-free network."
                )
        check_choice("activation", self.activation, ACTIVATIONS)
        defaults = ACTIVATIONS[self.activation]
        params = defaults if self.activation_params is None else tuple(self.activation_params)
        if len(params) != len(defaults):
            raise ValueError(
                f"activation_params={self.activation_params!r} is not allowed for "
                f"activation={self.activation!r}; expected {len(defaults)} number(s): "
                f"{_ACTIVATION_DOC[self.activation]}."
            )
        params = tuple(
            check_finite_number(f"activation_params[{i}]", p) for i, p in enumerate(params)
        )
        set_(self, "activation_params", params)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("MLP is final; compose it instead of subclassing.")

    @property
    def layers(self) -> tuple[Callable, Callable, Callable]:
        """The neural-tangents ``(init_fn, apply_fn, kernel_fn)`` triple of this spec."""
        return _mlp_layers(self)

    # ------------------------------------------------------------------ protocol

    def init(self, key: PRNGKeyArray, input_dim: int) -> Params:
        """Draw the finite network's parameters for inputs with ``input_dim`` features."""
        input_dim = check_positive_int("input_dim", input_dim)
        check_key("key", key)
        params = self.layers[0](key, (-1, input_dim))[1]
        if self.initialization == "torch":
            params = _torch_uniform(params, key)
        return params

    @checked_apply
    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, "n out"]:
        """Outputs ``(n, out_dim)`` of the finite network (jit-compatible)."""
        return self.layers[1](params, x)

    def kernel_fn(self, x1: Float[Array, "n1 d"], x2: Float[Array, "n2 d"]) -> KernelPair:
        """Closed-form NTK and NNGP ``(n1, n2)``.

        The ReLU family (:data:`RELU_FAMILY`) uses ntkx's fused arc-cosine recursion
        (:func:`_relu_family_kernels`); the other activations neural-tangents' ``stax`` rules
        (``self.layers[2]``). Both give the same kernels (tested to 1e-12 off the diagonal).
        """
        if self.activation in RELU_FAMILY:
            return _relu_family_kernels(self, x1, x2)
        k = self.layers[2](x1, x2, ("ntk", "nngp"))
        return KernelPair(ntk=k.ntk, nngp=k.nngp)

    def check_inputs(self, name: str, x: Any, dim: int | None = None) -> Any:
        return as_inputs(name, x, dim=dim)

    def trainable_layers(self, params: Params | None = None) -> tuple[int, ...]:
        """Indices of the trained dense layers in the parameter list (``2 i`` for layer ``i``)."""
        dense = tuple(2 * i for i in range(self.depth))
        if self.trainable == "first":
            return dense[:1]
        if self.trainable == "last":
            return dense[-1:]
        return dense

    def partition(self, params: Params) -> tuple[Params, Params]:
        return partition_layers(list(params), self.trainable_layers())


def _torch_uniform(params: Params, key: PRNGKeyArray) -> Params:
    """Redraw every dense layer ``(W, b)`` as ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    Same shapes and dtypes as the Gaussian draw (``W: (fan_in, out)``, ``b: (1, out)``);
    one independent key per tensor.
    """
    out = list(params)
    dense = [i for i, p in enumerate(out) if len(p) == 2]
    keys = jax.random.split(jax.random.fold_in(key, 0x70C4), 2 * len(dense))
    for j, i in enumerate(dense):
        w, b = out[i]
        bound = 1.0 / float(w.shape[0]) ** 0.5
        out[i] = (
            jax.random.uniform(keys[2 * j], w.shape, w.dtype, -bound, bound),
            jax.random.uniform(keys[2 * j + 1], b.shape, b.dtype, -bound, bound),
        )
    return out


@functools.lru_cache(maxsize=64)
def _mlp_layers(spec: MLP) -> tuple[Callable, Callable, Callable]:
    trained = set(spec.trainable_layers())
    layers = []
    for i in range(spec.depth):
        last = i == spec.depth - 1
        dense = stax.Dense(
            spec.out_dim if last else spec.width,
            W_std=spec.W_std,
            b_std=spec.b_std,
            parameterization=spec.parameterization,
        )
        layers.append(dense if 2 * i in trained else _frozen(dense))
        if not last:
            layers.append(_activation_layer(spec.activation, spec.activation_params or ()))
    return stax.serial(*layers)


# ---------------------------------------------------------------------- ReLU-family kernels


def _relu_slopes(spec: MLP) -> tuple[float, float]:
    """``(a, b)`` of ``phi(x) = b max(x, 0) + a min(x, 0)`` for a ReLU-family spec."""
    params = spec.activation_params or ()
    if spec.activation == "relu":
        return 0.0, 1.0
    if spec.activation == "leaky_relu":
        return float(params[0]), 1.0
    return float(params[0]), float(params[1])


def _identical_rows(x1: Array, x2: Array) -> Array:
    """``(n1,)`` bool: ``x1[i] == x2[i]`` exactly (False where ``x2`` has no row ``i``)."""
    n1, n2 = x1.shape[0], x2.shape[0]
    m = min(n1, n2)
    eq = jnp.all(x1[:m] == x2[:m], axis=1)
    if n1 > m:
        eq = jnp.concatenate([eq, jnp.zeros((n1 - m,), bool)])
    return eq


def _same_inputs(eq: Array, n2: int) -> Array:
    """``(n1, n2)`` bool: ``i == j`` and ``eq[i]`` (the diagonal of a symmetric tile)."""
    shape = (eq.shape[0], n2)
    rows = jax.lax.broadcasted_iota(jnp.int32, shape, 0)
    cols = jax.lax.broadcasted_iota(jnp.int32, shape, 1)
    return (rows == cols) & eq[:, None]


def _scales(spec: MLP, x: Array, a: float, b: float) -> list[Array]:
    """Pre-activation variances ``q_l(x) = K_l(x, x)`` of dense layers ``l = 1..depth``."""
    w2 = spec.W_std**2
    b2 = 0.0 if spec.b_std is None else spec.b_std**2
    second_moment = (a * a + b * b) / 2  # E[phi(u)^2] / q
    q = w2 * (jnp.sum(x * x, axis=1) / x.shape[1]) + b2
    out = [q]
    for _ in range(spec.depth - 1):
        q = w2 * (second_moment * q) + b2
        out.append(q)
    return out


def _inverse_roots(q: Array) -> tuple[Array, Array]:
    """``(sqrt(q), 1 / sqrt(q))``, with 0 for the inverse where ``q = 0`` (a zero input)."""
    s = jnp.sqrt(q)
    return s, jnp.where(s > 0, 1.0 / jnp.where(s > 0, s, 1.0), 0.0)


def _relu_family_kernels(spec: MLP, x1: Array, x2: Array) -> KernelPair:
    r"""NTK and NNGP of a ReLU-family MLP from one Gram matrix, in fused elementwise passes.

    The recursion of neural-tangents (``Dense``, then :func:`ntkx.core.arccos.relu_family_maps`
    between dense layers) on kernels *normalized* by the pre-activation scales
    :math:`\sigma_l(x) = \sqrt{q_l(x)}`: with :math:`c_l = K_l / (\sigma_l \sigma_l')` (the
    cosine fed to the next activation) and :math:`t_l = \Theta_l / (\sigma_l \sigma_l')`,

    .. math::
        c_1 = (W^2 x \cdot x'/d + b^2)\, \tau_1 \tau_1', \qquad
        c_l = W^2 \rho_l \rho_l' E(c_{l-1}) + b^2 \tau_l \tau_l', \qquad
        t_l = \text{own}_l + W^2 \rho_l \rho_l'\, t_{l-1} \dot E(c_{l-1}),

    where :math:`\tau_l = 1/\sigma_l`, :math:`\rho_l = \sigma_{l-1}/\sigma_l` are per-point
    vectors (``q_l = W^2 q_{l-1} (a^2 + b^2)/2 + b^2``), ``E, Edot`` the unit-variance dual maps,
    and the layer's own term ``own_l`` is ``c_l`` (NTK parameterization) or
    ``fan_in rho rho' E(c_{l-1}) + [bias] tau tau'`` (standard; ``(x . x' + [bias]) tau tau'`` for
    the first layer), 0 for an untrained layer. Outputs: ``NNGP = sigma_L sigma_L' c_L`` and
    ``NTK = sigma_L sigma_L' t_L``.

    Identical inputs at the same position of both blocks (the diagonal of a symmetric tile)
    get ``c_l = 1`` at every layer, so the diagonal is exact (``J1 = J0 = 1/2``); other cosines
    within 64 float64 epsilons of 1 are snapped by the dual maps.

    Speed (XLA on CPU): one matrix product ``x1 @ x2.T``, then

    * depth 2: one fused elementwise loop per output over the Gram matrix, no full-size
      temporary (the two outputs take the two ``copy`` variants of the maps, see
      :mod:`ntkx.core.arccos`); the last layer is computed unnormalized, as the output;
    * depth >= 3: the first map is fused with the first layer into one loop from the Gram
      matrix to ``c + i t`` (one complex array, so each map is computed once for both
      kernels); the middle maps run in a ``lax.scan`` over that complex array; the last map is
      fused with the readout, one loop per output as for depth 2. One fused chain of all layers
      per output computes every map twice and, its loop body being long, runs slower per map
      (CPU time over 10^6 float64 entries: 1.7, 4.9, 9.0, 14.5 ms for chains of 1-4 maps);
      CPU time per 1000 x 1000 float64 tile of a depth-3 network with bias, one core: 8.2-9.1
      ms (every map in the scan) against 15.2 ms (fused chains) and 35 ms (neural-tangents'
      recursion). The engine compiles only the kernels asked for, so ``get="ntk"`` alone is
      one loop fewer.

    A depth-1 network is the linear kernel, computed in neural-tangents' order of operations.
    """
    w2 = spec.W_std**2
    has_bias = spec.b_std is not None
    b2 = spec.b_std**2 if has_bias else 0.0
    d = x1.shape[1]
    if spec.depth == 1:  # the linear kernel; NTK = NNGP in the NTK parameterization
        gram = x1 @ x2.T
        nngp = w2 * (gram / d) + b2
        if spec.parameterization == "standard":
            return KernelPair(ntk=d * (gram / d) + (1.0 if has_bias else 0.0), nngp=nngp)
        return KernelPair(ntk=nngp, nngp=nngp)
    return _relu_family_recursion(spec, x1, x2)


def _relu_family_recursion(spec: MLP, x1: Array, x2: Array) -> KernelPair:
    """:func:`_relu_family_kernels` of depth >= 2."""
    a, b = _relu_slopes(spec)
    w2 = spec.W_std**2
    has_bias = spec.b_std is not None
    b2 = spec.b_std**2 if has_bias else 0.0
    standard = spec.parameterization == "standard"
    trained = {i // 2 for i in spec.trainable_layers()}
    d = x1.shape[1]
    gram = x1 @ x2.T
    roots1 = [_inverse_roots(q) for q in _scales(spec, x1, a, b)]
    roots2 = [_inverse_roots(q) for q in _scales(spec, x2, a, b)]
    eq, n2 = _identical_rows(x1, x2), x2.shape[0]

    def same() -> Array:
        return _same_inputs(eq, n2)

    ntk_is_nngp = spec.trainable == "last" and not standard  # the readout alone: Theta = K_L
    # Per map l = 1..depth-1 (between dense layers l and l+1): rho (times W^2 for the first
    # block) and tau of dense layer l+1, and whether layer l+1 is trained.
    rho1 = [w2 * roots1[i - 1][0] * roots1[i][1] for i in range(1, spec.depth)]
    rho2 = [roots2[i - 1][0] * roots2[i][1] for i in range(1, spec.depth)]
    tau1 = [roots1[i][1] for i in range(1, spec.depth)]
    tau2 = [roots2[i][1] for i in range(1, spec.depth)]
    own = [float(i in trained) for i in range(1, spec.depth)]
    fan_in = spec.width / w2  # standard parameterization: width * E = (width / W^2) W^2 E

    def first(want_ntk: bool) -> tuple[Array, Array | None]:
        s1, s2 = roots1[0][1][:, None], roots2[0][1][None, :]  # tau_1
        k = w2 * (gram * (1.0 / d)) + b2
        c = jnp.where(same(), 1.0, k * s1 * s2)
        if not want_ntk:
            return c, None
        if 0 not in trained:
            return c, jnp.zeros_like(c)
        return c, ((gram + 1.0 if has_bias else gram) * s1 * s2 if standard else c)

    def step(
        c: Array, t: Array | None, layer: tuple[Array, ...], copy: int
    ) -> tuple[Array, Array | None]:
        """One activation and the next dense layer: ``(c_l, t_l) -> (c_{l+1}, t_{l+1})``."""
        r1, r2, t1, t2, trained_here = layer
        e, edot = relu_family_maps(c, a, b, copy=copy)
        rr = r1[:, None] * r2[None, :]  # W^2 rho rho'
        tt = t1[:, None] * t2[None, :]  # tau tau'
        c_next = jnp.where(same(), 1.0, rr * e + b2 * tt if has_bias else rr * e)
        if t is None:
            return c_next, None
        own_term = c_next  # NTK parameterization: the layer's own term is its kernel
        if standard:  # fan_in E + [bias] (the gradients of W and b), normalized
            own_term = fan_in * rr * e + tt if has_bias else fan_in * rr * e
        return c_next, trained_here * own_term + rr * t * edot

    def last(c: Array, t: Array | None, copy: int) -> tuple[Array, Array | None]:
        """The last activation and the readout, unnormalized: ``(c, t) -> (NNGP, NTK)``."""
        e, edot = relu_family_maps(c, a, b, copy=copy)
        ss = w2 * roots1[-2][0][:, None] * roots2[-2][0][None, :]  # W^2 sigma sigma'
        nngp = ss * e + b2 if has_bias else ss * e
        if t is None:
            return nngp, None
        if spec.depth - 1 not in trained:
            own_term = 0.0
        elif standard:
            own_term = fan_in * ss * e + 1.0 if has_bias else fan_in * ss * e
        else:
            own_term = nngp
        return nngp, own_term + ss * t * edot

    if spec.depth == 2:
        nngp, _ = last(*first(False), copy=0)
        if ntk_is_nngp:
            return KernelPair(ntk=nngp, nngp=nngp)
        _, ntk = last(*first(True), copy=1)
        return KernelPair(ntk=ntk, nngp=nngp)
    # depth >= 3: the first map fused with the first layer (one loop from the Gram matrix to
    # c_2 + i t_2), the middle maps in a scan, the last map fused with the readout (one loop per
    # output, as for depth 2).
    layers = [(rho1[i], rho2[i], tau1[i], tau2[i], own[i]) for i in range(spec.depth - 1)]
    middle = tuple(
        jnp.stack([jnp.asarray(v, gram.dtype) for v in column])
        for column in zip(*layers[1:-1], strict=True)
    )

    if ntk_is_nngp:
        c, _ = step(*first(False), layers[0], copy=0)
        if spec.depth > 3:
            c, _ = jax.lax.scan(lambda c, layer: (step(c, None, layer, 0)[0], None), c, middle)
        nngp, _ = last(c, None, copy=0)
        return KernelPair(ntk=nngp, nngp=nngp)

    def complex_step(z: Array, layer: tuple[Array, ...]) -> tuple[Array, None]:
        c, t = step(jnp.real(z), jnp.imag(z), layer, copy=0)
        return jax.lax.complex(c, t), None

    z = jax.lax.complex(*step(*first(True), layers[0], copy=0))
    if spec.depth > 3:
        z, _ = jax.lax.scan(complex_step, z, middle)
    nngp, _ = last(jnp.real(z), None, copy=0)
    _, ntk = last(jnp.real(z), jnp.imag(z), copy=1)
    return KernelPair(ntk=ntk, nngp=nngp)


def mlp(
    depth: int = 2,
    activation: str = "relu",
    width: int = 512,
    W_std: float = 1.0,
    b_std: float | None = None,
    parameterization: str = "ntk",
    trainable: str = "all",
    *,
    out_dim: int = 1,
    activation_params: tuple[float, ...] | None = None,
    init: str = "gaussian",
) -> MLP:
    """Build an :class:`MLP` specification (validated; raises ValueError on bad settings).

    Args:
        depth: number of weight layers (``2`` = one hidden layer), ``>= 1``.
        activation: one of :data:`ACTIVATIONS` (relu, erf, sin, cos, quadratic,
            gelu, leaky_relu, abrelu).
        width: hidden width of the finite network (the kernels do not depend on it).
        W_std: weight standard deviation (``> 0``); ``sqrt(2)`` keeps ReLU
            activations at unit scale, ``1.0`` is neural-tangents' default.
        b_std: bias standard deviation, or ``None`` for no bias.
        parameterization: ``"ntk"`` (default; the regime of the paper's theory)
            or ``"standard"``.
        trainable: ``"all"``, ``"first"`` or ``"last"``; see :class:`MLP`.
        out_dim: number of outputs of the finite network.
        activation_params: parameters of parameterized activations
            (``leaky_relu``: ``(alpha,)``, ``abrelu``: ``(a, b)``).
        init: how :meth:`MLP.init` draws the finite network, one of
            :data:`INITIALIZATIONS`: ``"gaussian"`` (default) or ``"torch"``
            (PyTorch's ``nn.Linear`` default, ``U(+-1/sqrt(fan_in))`` for weights and
            biases; needs ``parameterization="standard"`` and a ``b_std``). Stored as
            :attr:`MLP.initialization`.

    Example:
        >>> import ntkx
        >>> ntkx.mlp(depth=2, b_std=0.1).depth
        2
        >>> net = ntkx.mlp(width=128, b_std=0.0, parameterization="standard", init="torch")
        >>> import jax; w, b = net.init(jax.random.key(0), 8)[0]
        >>> bool(abs(w).max() <= 8 ** -0.5 and abs(b).max() <= 8 ** -0.5)
        True
    """
    return MLP(
        depth=depth,
        activation=activation,
        width=width,
        W_std=W_std,
        b_std=b_std,
        parameterization=parameterization,
        trainable=trainable,
        out_dim=out_dim,
        activation_params=activation_params,
        initialization=init,
    )
