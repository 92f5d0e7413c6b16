r"""The interaction network of Battaglia et al. (2016), finite or infinitely wide.

:class:`InteractionNetwork` (built by :func:`interaction_network`) predicts a per-object quantity
from the object's state and the *effects* of every other object on it (Battaglia, Pascanu, Lai,
Rezende, Kavukcuoglu, "Interaction Networks for Learning about Objects, Relations and Physics",
NeurIPS 2016, arXiv 1612.00222; the n-body model of Xu et al., ICLR 2021, arXiv 2009.11848,
Section 5). For a receiver with state :math:`o_r` and senders :math:`s` with states
:math:`o_s` and edge features :math:`e_{rs}`:

.. math::
    E_r = \sum_s \phi_R\big([o_r, o_s, e_{rs}]\big), \qquad
    f(r) = \phi_O\big([o_r, E_r]\big),

:math:`\phi_R` the relation MLP (``depth`` dense layers, ReLU between them, ``width`` outputs:
no ReLU after its output layer, unlike the paper's code) and :math:`\phi_O` the object MLP
(``object_depth`` dense layers, ``out_dim`` outputs). Over all receivers of a scene this is a
graph network on the complete graph of objects with per-edge messages and sum aggregation.

**Inputs.** One row per (scene, receiver) item, a plain ``(n, D)`` array (so the kernel engine,
tiling and solvers apply unchanged): ``[o_r, o_{s_1}, e_{r s_1}, ..., o_{s_S}, e_{r s_S}]`` with
``state_dim`` features per state, ``edge_dim`` per edge feature (0: none) and ``n_senders``
senders, ``D = F + S (F + E)`` (:func:`ntkx.graphs.nbody.interaction_items` builds them). The
output of a receiver does not depend on the order of its senders, so over a scene the network
is equivariant to permutations of the objects.

**Parameterization.** NTK parameterization (neural-tangents conventions, ``W``, ``b`` standard
normal). As in :func:`ntkx.gnn`, the first dense layer of each MLP normalizes each *group* of its
input by the group's own size and averages the groups (a plain ``1/sqrt(fan_in)`` would let a
2-dimensional edge feature vanish beside two states, and the state vanish beside a
``width``-dimensional effect): the relation MLP sees
:math:`(o_r \cdot o_r' / F + o_s \cdot o_s' / F + e \cdot e' / E) / g` as its input kernel
(``g`` = 3 groups, 2 without edge features), the object MLP :math:`(o_r \cdot o_r' / F +
E_r \cdot E_r' / \text{width}) / 2`. This is a fixed rescaling of each group before an ordinary
dense layer.

**Kernels (closed form).** With :math:`K_R, \Theta_R` the NNGP and NTK of the relation MLP
between two edge inputs (:class:`ntkx.MLP`'s closed form on the rescaled inputs), the effects of
receivers :math:`i, j` have the covariance and tangent kernel

.. math::
    \Sigma_E(i, j) = \sum_{s, s'} K_R(z_{is}, z_{js'}), \qquad
    \Theta_E(i, j) = \sum_{s, s'} \Theta_R(z_{is}, z_{js'}),

and the object MLP starts from :math:`K_1 = \sigma_w^2 (o_i \cdot o_j / F + \Sigma_E) / 2 +
\sigma_b^2`, :math:`T_1 = K_1 + \sigma_w^2 \Theta_E / 2`, then each ReLU and dense layer maps
:math:`K \leftarrow \sigma_w^2 \sqrt{q q'} J_1(c) + \sigma_b^2`,
:math:`T \leftarrow K + \sigma_w^2 T J_0(c)`, :math:`c = K / \sqrt{q q'}`, with the variances
``q`` of each item's own kernel (the same recursion on the item with itself) and
:math:`J_1, J_0` the arc-cosine maps (:func:`ntkx.core.arccos.relu_maps`). NNGP ``= K``, NTK
``= T`` after the last layer; an untrained layer (``trainable``) drops its own ``K`` term. Every
output has the same kernel (independent readout rows). Cost per pair of items:
:math:`S^2` relation-kernel entries (``depth`` layers) plus the object recursion.

Example:
    >>> import jax, numpy as np, ntkx
    >>> net = ntkx.interaction_network(n_senders=2, state_dim=5, edge_dim=2, depth=2, width=16)
    >>> x = np.random.default_rng(0).normal(size=(4, net.item_dim))
    >>> ntkx.kernel(net, x, dtype="float64").shape
    (4, 4)
    >>> params = net.init(jax.random.key(0), net.item_dim)  # net.apply(params, x): (4, 2)
    >>> len(params)  # relation MLP (3 entries) then object MLP (3)
    6
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ntkx.core.arccos import relu_maps
from ntkx.core.protocol import (
    Architecture,
    KernelPair,
    Params,
    check_key,
    partition_layers,
    validate_common_fields,
)
from ntkx.core.validation import as_inputs, check_nonnegative_int, check_positive_int
from ntkx.feedforward.mlp import MLP, mlp

__all__ = ["InteractionNetwork", "interaction_network"]


@dataclasses.dataclass(frozen=True, eq=True)
class InteractionNetwork(Architecture):
    r"""An interaction network over one receiver and its senders (final; see the module doc).

    Attributes:
        n_senders: senders per receiver ``S`` (``n_bodies - 1`` for a complete graph).
        state_dim: features per object state ``F``.
        edge_dim: features per edge ``E`` (0: no edge features).
        depth: dense layers of the relation MLP (the paper: 4).
        object_depth: dense layers of the object MLP (the paper: 2).
        width: hidden width of both MLPs and the size of the effects.
        W_std, b_std: weight and bias standard deviations (``b_std=None``: no biases).
        parameterization: ``"ntk"`` (infinite-width kernels) or ``"standard"``.
        trainable: ``"all"``, ``"first"`` (the relation MLP's first layer) or ``"last"`` (the
            object MLP's output layer: NTK = NNGP).
        out_dim: outputs per receiver (2: a velocity).

    Parameters (``init``) are the relation MLP's list (neural-tangents' layout, ``2 depth - 1``
    entries: dense layers ``(W, b)`` at even indices) followed by the object MLP's
    (``2 object_depth - 1`` entries).
    """

    n_senders: int = 2
    state_dim: int = 5
    edge_dim: int = 0
    depth: int = 4
    object_depth: int = 2
    width: int = 128
    W_std: float = 1.0
    b_std: float | None = 0.1
    parameterization: str = "ntk"
    trainable: str = "all"
    out_dim: int = 2

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        validate_common_fields(self)
        set_(self, "n_senders", check_positive_int("n_senders", self.n_senders))
        set_(self, "state_dim", check_positive_int("state_dim", self.state_dim))
        set_(self, "object_depth", check_positive_int("object_depth", self.object_depth))
        set_(
            self,
            "edge_dim",
            check_nonnegative_int("edge_dim", self.edge_dim, "0: no edge features"),
        )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("InteractionNetwork is final; compose it instead of subclassing.")

    # ------------------------------------------------------------------ layout

    @property
    def item_dim(self) -> int:
        """Features per item row, ``F + S (F + E)``."""
        return self.state_dim + self.n_senders * (self.state_dim + self.edge_dim)

    @property
    def relation(self) -> MLP:
        """The relation MLP on rescaled ``[o_r, o_s, e_rs]`` (``width`` outputs)."""
        return mlp(
            self.depth,
            "relu",
            self.width,
            self.W_std,
            self.b_std,
            self.parameterization,
            "first" if self.trainable == "first" else "all",
            out_dim=self.width,
        )

    @property
    def object_mlp(self) -> MLP:
        """The object MLP on rescaled ``[o_r, E_r]``."""
        return mlp(
            self.object_depth,
            "relu",
            self.width,
            self.W_std,
            self.b_std,
            self.parameterization,
            out_dim=self.out_dim,
        )

    def _split(self, x: Array) -> tuple[Array, Array]:
        """``(receiver (n, F), relation inputs (n, S, 2F + E))``, each group rescaled."""
        f, e, s = self.state_dim, self.edge_dim, self.n_senders
        groups = 3 if e else 2
        d = 2 * f + e
        receiver = x[:, :f]
        senders = x[:, f:].reshape(x.shape[0], s, f + e)
        c_state = math.sqrt(d / (groups * f))
        parts = [jnp.broadcast_to(receiver[:, None], (x.shape[0], s, f)), senders[..., :f]]
        z = jnp.concatenate(parts, axis=-1) * c_state
        if e:
            z = jnp.concatenate([z, senders[..., f:] * math.sqrt(d / (groups * e))], axis=-1)
        return receiver, z

    # ------------------------------------------------------------------ protocol

    def init(self, key: PRNGKeyArray, input_dim: int) -> Params:
        """Parameters for items of ``input_dim`` features (must be :attr:`item_dim`)."""
        input_dim = check_positive_int("input_dim", input_dim)
        if input_dim != self.item_dim:
            raise ValueError(
                f"input_dim={input_dim} is not allowed; expected item_dim={self.item_dim} "
                f"(state_dim {self.state_dim} + n_senders {self.n_senders} x (state_dim + "
                f"edge_dim {self.edge_dim}))."
            )
        check_key("key", key)
        k_rel, k_obj = jax.random.split(key)
        rel = self.relation.init(k_rel, 2 * self.state_dim + self.edge_dim)
        obj = self.object_mlp.init(k_obj, self.state_dim + self.width)
        return list(rel) + list(obj)

    def apply(self, params: Params, x: Float[Array, "n D"]) -> Float[Array, "n out"]:
        """Outputs ``(n, out_dim)``, one row per receiver item (jit-compatible)."""
        x = jnp.asarray(x)
        n_rel = 2 * self.depth - 1
        receiver, z = self._split(x)
        n, s, d = z.shape
        effects = self.relation.apply(params[:n_rel], z.reshape(n * s, d))
        effect = effects.reshape(n, s, -1).sum(axis=1)
        f, w = self.state_dim, self.width
        d_obj = f + w
        inputs = jnp.concatenate(
            [receiver * math.sqrt(d_obj / (2 * f)), effect * math.sqrt(d_obj / (2 * w))], axis=-1
        )
        return self.object_mlp.apply(params[n_rel:], inputs)

    @property
    def kernel_methods(self) -> tuple[str, ...]:
        if self.parameterization != "ntk":
            return ("empirical",)
        return ("closed_form", "monte_carlo", "empirical")

    def why_not(self, method: str) -> str:
        return (
            f"parameterization={self.parameterization!r} has no infinite-width kernel here (its "
            "NTK grows with the width); use parameterization='ntk'"
        )

    def kernel_fn(self, x1: Float[Array, "n1 D"], x2: Float[Array, "n2 D"]) -> KernelPair:
        """Closed-form NTK and NNGP ``(n1, n2)`` between two blocks of items."""
        if self.parameterization != "ntk":
            raise ValueError(f"no closed-form kernel: {self.why_not('closed_form')}.")
        return _kernels(self, jnp.asarray(x1), jnp.asarray(x2))

    def check_inputs(self, name: str, x: Any, dim: int | None = None) -> Any:
        """An ``(n, item_dim)`` array of finite values (ValueError naming ``name``)."""
        return as_inputs(name, x, dim=self.item_dim if dim is None else dim)

    def pair_workspace_bytes(self, x1: Any, x2: Any, itemsize: int) -> int:
        """About a dozen relation-kernel scalars per edge pair (``S^2`` per item pair), plus
        the object recursion's."""
        return 16 * itemsize * (self.n_senders**2 + 1)

    def trainable_layers(self, params: Params | None = None) -> tuple[int, ...]:
        """Indices (into the parameter list) of the trained dense layers."""
        n_rel = 2 * self.depth - 1
        rel = tuple(2 * i for i in range(self.depth))
        obj = tuple(n_rel + 2 * i for i in range(self.object_depth))
        if self.trainable == "first":
            return rel[:1]
        if self.trainable == "last":
            return obj[-1:]
        return rel + obj

    def partition(self, params: Params) -> tuple[Params, Params]:
        return partition_layers(list(params), self.trainable_layers())


def interaction_network(
    n_senders: int = 2,
    state_dim: int = 5,
    edge_dim: int = 0,
    depth: int = 4,
    object_depth: int = 2,
    width: int = 128,
    W_std: float = 1.0,
    b_std: float | None = 0.1,
    parameterization: str = "ntk",
    trainable: str = "all",
    *,
    out_dim: int = 2,
) -> InteractionNetwork:
    """Build an :class:`InteractionNetwork` specification (validated; ValueError on bad settings).

    The paper's n-body model (arXiv 2009.11848, appendix C.7): ``interaction_network(2, 5, 2,
    depth=4, object_depth=2, width=128)`` with the physics edge feature, ``edge_dim=0`` raw.

    Example:
        >>> import ntkx
        >>> net = ntkx.interaction_network(n_senders=2, state_dim=5, edge_dim=2)
        >>> net.item_dim, net.kernel_methods
        (19, ('closed_form', 'monte_carlo', 'empirical'))
    """
    return InteractionNetwork(
        n_senders=n_senders,
        state_dim=state_dim,
        edge_dim=edge_dim,
        depth=depth,
        object_depth=object_depth,
        width=width,
        W_std=W_std,
        b_std=b_std,
        parameterization=parameterization,
        trainable=trainable,
        out_dim=out_dim,
    )


# --------------------------------------------------------------------------- kernels


def _effect_kernels(
    spec: InteractionNetwork, z1: Array, z2: Array, want_ntk: bool
) -> tuple[Array, Array]:
    """``(Sigma_E, Theta_E)`` ``(n1, n2)``: relation kernels summed over sender pairs."""
    n1, s, d = z1.shape
    n2 = z2.shape[0]
    k = spec.relation.kernel_fn(z1.reshape(n1 * s, d), z2.reshape(n2 * s, d))
    sigma = k.nngp.reshape(n1, s, n2, s).sum(axis=(1, 3))
    theta = k.ntk.reshape(n1, s, n2, s).sum(axis=(1, 3)) if want_ntk else jnp.zeros_like(sigma)
    return sigma, theta


def _self_variances(spec: InteractionNetwork, z: Array) -> Array:
    """``Sigma_E(i, i)`` ``(n,)`` from each item's own ``S x S`` relation kernel."""

    def one(zi: Array) -> Array:
        return spec.relation.kernel_fn(zi, zi).nngp.sum()

    return jax.lax.map(one, z)


def _kernels(spec: InteractionNetwork, x1: Array, x2: Array) -> KernelPair:
    w2 = spec.W_std**2
    b2 = 0.0 if spec.b_std is None else spec.b_std**2
    f = spec.state_dim
    r1, z1 = spec._split(x1)
    r2, z2 = spec._split(x2)
    relation_trained = spec.trainable in ("all", "first")
    sigma_e, theta_e = _effect_kernels(spec, z1, z2, relation_trained)
    trained = {(i - (2 * spec.depth - 1)) // 2 for i in spec.trainable_layers()}
    # First object layer on [o_r, E_r], each group normalized by its size, groups averaged.
    k = w2 * ((r1 @ r2.T) / f + sigma_e) / 2 + b2
    q1 = w2 * (jnp.sum(r1 * r1, axis=1) / f + _self_variances(spec, z1)) / 2 + b2
    q2 = w2 * (jnp.sum(r2 * r2, axis=1) / f + _self_variances(spec, z2)) / 2 + b2
    t = w2 * theta_e / 2 + (k if 0 in trained else 0.0)
    for layer in range(1, spec.object_depth):
        root = jnp.sqrt(q1[:, None] * q2[None, :])
        safe = jnp.where(root > 0, root, 1.0)
        j1, j0 = relu_maps(jnp.where(root > 0, k / safe, 0.0))
        k = w2 * root * j1 + b2
        t = w2 * t * j0 + (k if layer in trained else 0.0)
        q1, q2 = w2 * q1 / 2 + b2, w2 * q2 / 2 + b2
    return KernelPair(ntk=t, nngp=k)
