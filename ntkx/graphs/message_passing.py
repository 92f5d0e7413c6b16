r"""Graph neural networks: one spec, a finite network and its infinite-width kernels.

:class:`GNN` (built by :func:`gnn`) is the message-passing network of Xu et al.,
How Neural Networks Extrapolate, ICLR 2021 (arXiv 2009.11848, Section 4). With node
representations :math:`h^{(0)}_u = x_u` and :math:`\ell = 1..L`:

.. math::
    h^{(\ell)}_u = \operatorname{AGG}_{v \in N(u)} \operatorname{MLP}_\ell
        \big([h^{(\ell-1)}_u, h^{(\ell-1)}_v, w_{uv}]\big), \qquad
    f(G) = W_{\text{out}} \operatorname{READOUT}_u h^{(L)}_u + b_{\text{out}},

AGG and READOUT each in {sum, mean, max, min} over real nodes only. Every
:math:`\operatorname{MLP}_\ell` is Dense(width) -> ReLU -> Dense(width): no ReLU after its
output layer (the official code applies one there; ntkx does not copy that defect).

**Parameterization.** NTK parameterization (neural-tangents conventions, ``W``, ``b``
standard normal). The first dense layer of each message MLP acts on the concatenation
``[h_u, h_v, w_uv]`` with *each group normalized by its own size* and the groups averaged:

.. math::
    z_{uv} = \frac{\sigma_w}{\sqrt{g}} \Big( \frac{W_a h_u}{\sqrt{d}} + \frac{W_b h_v}{\sqrt{d}}
        + W_c\, w_{uv} \Big) + \sigma_b b,

``g = 3`` with edge weights, else ``2`` (the weight group is dropped). This is a dense layer on
``[h_u, h_v, w_uv]`` written as the sum of its blocks (``W_a``, ``W_b``, ``W_c``); a plain
``1/sqrt(2d + 1)`` normalization would make the single edge-weight channel vanish as the
width ``d`` grows, so the infinitely wide network could not see edge weights after layer 1.

**Kernels.** For sum or mean aggregation *and* readout the NNGP and NTK have a closed form
(the graph NTK recursion of Du et al., NeurIPS 2019, arXiv 1905.13192, for messages computed
per edge): with :math:`\Sigma, \Theta` the node-level kernels between graphs G and G',
:math:`K_z` the kernel of the edge pre-activations, :math:`\kappa_1, \kappa_0` the arc-cosine
kernels of ReLU and :math:`P` the aggregation pattern (adjacency, row-normalized for mean),

.. math::
    K_z(uv, u'v') &= \tfrac{\sigma_w^2}{g}\big(\Sigma(u, u') + \Sigma(v, v') + w_{uv} w'_{u'v'}\big)
        + \sigma_b^2, \quad
    T_z = \tfrac{\sigma_w^2}{g}\big(\Theta(u, u') + \Theta(v, v')\big) + K_z, \\
    K_m &= \sigma_w^2 \kappa_1(K_z) + \sigma_b^2, \quad
    T_m = K_m + \sigma_w^2\, T_z\, \kappa_0(K_z), \\
    \Sigma^{+}(u, u') &= \textstyle\sum_{v, v'} P_{uv} P'_{u'v'} K_m(uv, u'v'), \quad
    \Theta^{+}(u, u') = \textstyle\sum_{v, v'} P_{uv} P'_{u'v'} T_m(uv, u'v').

The readout sums (or averages) over node pairs and the output layer adds
:math:`\sigma_w^2 \Sigma_G + \sigma_b^2` (to the NTK as well). Each pair of graphs costs
:math:`O(N^2 N'^2)` per layer (edge-pair covariances are needed because the ReLU acts on each
message before aggregation), so the closed form suits graphs of up to a few dozen nodes; the
Monte Carlo estimate (``method="monte_carlo"``) scales like the finite network.
neural-tangents' ``stax.Aggregate`` computes :math:`\sum_v P_{uv} h_v` on node features, i.e. the
aggregate-then-MLP network of Du et al.; it has no rule for per-edge messages, so the recursion
above is written out (and tested against stax on each edge and against Monte Carlo).

For max or min aggregation or readout there is no closed form: use
``ntkx.kernel(net, x, method="monte_carlo", key=...)`` (mean over finite networks with its
standard error) and :func:`ntkx.monte_carlo_convergence`.

Example:
    >>> import jax
    >>> import ntkx
    >>> from ntkx.graphs.sampling import max_degree_dataset
    >>> data = max_degree_dataset(3, "general", 5, 7, seed=0)
    >>> net = ntkx.gnn(depth=1, aggregation="sum", readout="sum", width=16)
    >>> ntkx.kernel(net, data.batch, dtype="float64").shape
    (3, 3)
    >>> net.apply(net.init(jax.random.key(0), 1), data.batch).shape
    (3, 1)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Final

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ntkx.core.protocol import (
    Architecture,
    KernelPair,
    Params,
    partition_layers,
    validate_common_fields,
)
from ntkx.core.validation import check_choice, check_positive_int
from ntkx.graphs.batch import GraphBatch, check_graph_batch

__all__ = ["AGGREGATIONS", "GNN", "gnn"]

AGGREGATIONS: Final = ("sum", "mean", "max", "min")
CLOSED_FORM: Final = ("sum", "mean")


@dataclasses.dataclass(frozen=True, eq=True)
class GNN(Architecture):
    r"""A message-passing GNN, finite or infinitely wide (final class; see the module doc).

    The fields, names and defaults follow :class:`ntkx.MLP`:

    Attributes:
        depth: number of message-passing layers ``L``.
        aggregation: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"`` over neighbours.
        readout: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"`` over nodes.
        width: width of the message MLPs and of the node representations.
        W_std, b_std: weight and bias standard deviations (``b_std=None``: no biases).
        parameterization: ``"ntk"`` (default; parameters standard normal, the factors
            ``W_std / sqrt(fan_in)`` and ``b_std`` in the forward pass) or ``"standard"``
            (the factors folded into the parameters at initialization, as PyTorch's layers,
            the paper's code). Both give the same function at initialization; they differ in how
            gradient steps move it. Infinite-width kernels need ``"ntk"``.
        trainable: ``"all"``, ``"first"`` (the first dense layer of the first message MLP) or
            ``"last"`` (the readout layer only: the NTK equals the NNGP).
        edge_weights: feed ``w_uv`` (the adjacency value) to every message MLP.
        out_dim: number of outputs.

    Parameters (``init``) are a list of dense layers ``(W, b)`` (``b`` is ``None`` without
    biases), as neural-tangents lays out an MLP: for each message-passing layer ``l`` the first
    dense layer at index ``2 l`` (``W`` of shape ``(2 d [+ 1], width)``, the rows acting on
    ``h_u``, ``h_v`` and ``w_uv``) and the second at ``2 l + 1``; the readout layer last.

    Inputs are :class:`ntkx.GraphBatch` es. The closed-form kernel exists for sum/mean
    aggregation and readout; every spec in NTK parameterization has Monte Carlo kernels.
    """

    depth: int = 2
    aggregation: str = "sum"
    readout: str = "sum"
    width: int = 512
    W_std: float = 1.0
    b_std: float | None = None
    parameterization: str = "ntk"
    trainable: str = "all"
    edge_weights: bool = False
    out_dim: int = 1

    def __post_init__(self) -> None:
        validate_common_fields(self)
        check_choice("aggregation", self.aggregation, AGGREGATIONS)
        check_choice("readout", self.readout, AGGREGATIONS)
        check_choice("edge_weights", self.edge_weights, (True, False))
        object.__setattr__(self, "edge_weights", bool(self.edge_weights))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("GNN is final; compose it instead of subclassing.")

    @property
    def has_closed_form(self) -> bool:
        """True when aggregation and readout are both sum or mean."""
        return self.aggregation in CLOSED_FORM and self.readout in CLOSED_FORM

    # ------------------------------------------------------------------ protocol

    def init(self, key: PRNGKeyArray, input_dim: int) -> Params:
        """Parameters for node features of size ``input_dim``: ``2 depth + 1`` dense layers."""
        input_dim = check_positive_int("input_dim", input_dim)
        keys = jax.random.split(key, self.depth + 1)
        params: Params = []
        d, n = input_dim, self.width
        has_b = self.b_std is not None
        for i in range(self.depth):
            k = jax.random.split(keys[i], 6)
            blocks = [jax.random.normal(k[0], (d, n)), jax.random.normal(k[1], (d, n))]
            if self.edge_weights:
                blocks.append(jax.random.normal(k[3], (1, n)))
            b1 = jax.random.normal(k[4], (n,)) if has_b else None
            b2 = jax.random.normal(k[5], (n,)) if has_b else None
            params.append((jnp.concatenate(blocks), b1))
            params.append((jax.random.normal(k[2], (n, n)), b2))
            d = n
        k = jax.random.split(keys[-1], 2)
        b_out = jax.random.normal(k[1], (self.out_dim,)) if has_b else None
        params.append((jax.random.normal(k[0], (n, self.out_dim)), b_out))
        if self.parameterization == "standard":
            # The scale factors move from the forward pass into the parameters: the same
            # distribution of functions at initialization, a different gradient geometry.
            params = [
                (w * _row_scales(self, i, w.shape[0])[:, None], None if b is None else b * sb)
                for i, ((w, b), sb) in enumerate(zip(params, self._bias_scales(), strict=True))
            ]
        return params

    def apply(self, params: Params, x: GraphBatch) -> Float[Array, "B out"]:
        """Outputs ``(B, out_dim)`` of the finite network on a :class:`GraphBatch` (jit-able)."""
        return _apply(self, params, x)

    def kernel_fn(self, x1: GraphBatch, x2: GraphBatch) -> KernelPair:
        """Closed-form NTK and NNGP ``(B1, B2)`` between two graph batches (sum/mean only)."""
        if not self.has_closed_form or self.parameterization != "ntk":
            raise ValueError(f"this GNN has no closed-form kernel ({self.why_not('closed_form')}).")
        d1 = jax.vmap(functools.partial(_self_diagonals, self))(*x1.astuple())
        d2 = jax.vmap(functools.partial(_self_diagonals, self))(*x2.astuple())

        def row(one: tuple[Array, ...]) -> tuple[Array, Array]:
            return jax.vmap(lambda two: _pair_kernel(self, one, two))((*x2.astuple(), d2))

        nngp, ntk = jax.vmap(row)((*x1.astuple(), d1))
        return KernelPair(ntk=ntk, nngp=nngp)

    @property
    def kernel_methods(self) -> tuple[str, ...]:
        if self.parameterization != "ntk":
            return ("empirical",)
        if self.has_closed_form:
            return ("closed_form", "monte_carlo", "empirical")
        return ("monte_carlo", "empirical")

    def why_not(self, method: str) -> str:
        if self.parameterization != "ntk":
            return (
                f"parameterization={self.parameterization!r} has no infinite-width kernel here "
                "(its NTK grows with the width); use parameterization='ntk'"
            )
        return (
            f"aggregation={self.aggregation!r}, readout={self.readout!r} has no closed-form "
            "kernel (only sum and mean do); use method='monte_carlo'"
        )

    def check_inputs(self, name: str, x: Any, dim: int | None = None) -> GraphBatch:
        """Validate a :class:`GraphBatch` (ValueError naming ``name``); zero its padded features."""
        return check_graph_batch(name, x, dim)

    def input_dim(self, x: GraphBatch) -> int:
        return x.feature_dim

    def pair_workspace_bytes(self, x1: GraphBatch, x2: GraphBatch, itemsize: int) -> int:
        """About a dozen ``(N1, N2, N2)`` temporaries per graph pair (one row of the u-loop)."""
        n1, n2 = np.shape(x1.features)[1], np.shape(x2.features)[1]
        return 12 * n1 * n2 * max(n1, n2) * itemsize

    def trainable_layers(self, params: Params | None = None) -> tuple[int, ...]:
        """Indices of the trained dense layers (``2 depth`` is the readout)."""
        if self.trainable == "first":
            return (0,)
        if self.trainable == "last":
            return (2 * self.depth,)
        return tuple(range(2 * self.depth + 1))

    def partition(self, params: Params) -> tuple[Params, Params]:
        return partition_layers(list(params), self.trainable_layers())

    # ------------------------------------------------------------------ scales

    def _bias_scales(self) -> list[float]:
        b = 0.0 if self.b_std is None else self.b_std
        return [b] * (2 * self.depth + 1)


def gnn(
    depth: int = 2,
    aggregation: str = "sum",
    readout: str = "sum",
    width: int = 512,
    W_std: float = 1.0,
    b_std: float | None = None,
    parameterization: str = "ntk",
    trainable: str = "all",
    *,
    edge_weights: bool = False,
    out_dim: int = 1,
) -> GNN:
    """Build a :class:`GNN` specification (validated; ValueError on bad settings).

    The arguments follow :func:`ntkx.mlp` (``depth`` counts message-passing layers).
    Paper settings: max degree ``gnn(2, "sum", "max", 256, b_std=0.1)``; shortest path
    ``gnn(3, "min", "min", 256, b_std=0.1, edge_weights=True)``.

    Example:
        >>> import ntkx
        >>> ntkx.gnn(3, "min", "min", edge_weights=True).kernel_methods
        ('monte_carlo', 'empirical')
    """
    return GNN(
        depth=depth,
        aggregation=aggregation,
        readout=readout,
        width=width,
        W_std=W_std,
        b_std=b_std,
        parameterization=parameterization,
        trainable=trainable,
        edge_weights=edge_weights,
        out_dim=out_dim,
    )


# --------------------------------------------------------------------------- finite network


def _reduce(values: Array, keep: Array, how: str, axis: int) -> Array:
    """Sum/mean/max/min of ``values`` over ``axis`` restricted to ``keep`` (0 if none kept)."""
    k = keep.astype(values.dtype)
    count = jnp.sum(k, axis=axis)
    if how in ("sum", "mean"):
        total = jnp.sum(values * k, axis=axis)
        return total if how == "sum" else total / jnp.maximum(count, 1.0)
    fill = -jnp.inf if how == "max" else jnp.inf
    picked = jnp.where(keep > 0, values, fill)
    red = jnp.max(picked, axis=axis) if how == "max" else jnp.min(picked, axis=axis)
    return jnp.where(count > 0, red, 0.0)


def _row_scales(spec: GNN, index: int, rows: int) -> np.ndarray:
    """NTK-parameterization factor of every input row of dense layer ``index``.

    First dense layer of a message MLP: ``W_std / sqrt(g) / sqrt(d)`` on the rows of ``h_u``
    and ``h_v``, ``W_std / sqrt(g)`` on the edge-weight row (``g`` groups); other layers
    ``W_std / sqrt(fan_in)``.
    """
    if index < 2 * spec.depth and index % 2 == 0:
        c = spec.W_std / math.sqrt(3 if spec.edge_weights else 2)
        d = (rows - 1) // 2 if spec.edge_weights else rows // 2
        scales = np.full(rows, c / math.sqrt(d))
        if spec.edge_weights:
            scales[-1] = c
        return scales
    return np.full(rows, spec.W_std / math.sqrt(rows))


def _apply(spec: GNN, params: Params, x: GraphBatch) -> Array:
    feats, adj, mask = (jnp.asarray(v) for v in x.astuple())
    dtype = feats.dtype
    m = mask.astype(dtype)
    pair = m[:, :, None] * m[:, None, :]
    adj = adj.astype(dtype) * pair  # padding never sends or receives messages
    a = (adj > 0).astype(dtype)
    h = feats * m[:, :, None]
    ntk_param = spec.parameterization == "ntk"
    b_scale = 0.0 if spec.b_std is None else spec.b_std
    d = feats.shape[-1]
    for i in range(spec.depth):
        (w1, b1), (w2, b2) = params[2 * i], params[2 * i + 1]
        if w1.shape[0] != (2 * d + 1 if spec.edge_weights else 2 * d):
            raise ValueError(
                f"params layer {2 * i} has {w1.shape[0]} input rows; expected "
                f"{2 * d + int(spec.edge_weights)} for node features of size {d} "
                "(use net.init(key, input_dim) with the batch's feature size)."
            )
        sc = _row_scales(spec, 2 * i, w1.shape[0]) if ntk_param else np.ones(w1.shape[0])
        s_self, s_nbr = (float(sc[0]), float(sc[d])) if ntk_param else (1.0, 1.0)
        hs = h @ w1[:d] * s_self
        hn = h @ w1[d : 2 * d] * s_nbr
        z = hs[:, :, None, :] + hn[:, None, :, :]
        if spec.edge_weights:
            z = z + adj[..., None] * (float(sc[-1]) * w1[2 * d])[None, None, None, :]
        if b1 is not None:
            z = z + (b_scale if ntk_param else 1.0) * b1[None, None, None, :]
        r = jax.nn.relu(z)
        s2 = spec.W_std / math.sqrt(w2.shape[0]) if ntk_param else 1.0
        bs = b_scale if ntk_param else 1.0
        if spec.aggregation in CLOSED_FORM:
            # Dense(W2) is linear, so it commutes with the sum: apply it after aggregating.
            s = jnp.einsum("buv,buvk->buk", a, r) @ w2 * s2
            deg = jnp.sum(a, axis=-1)[..., None]
            if b2 is not None:
                s = s + deg * (bs * b2)[None, None, :]
            h = s / jnp.maximum(deg, 1.0) if spec.aggregation == "mean" else s
        else:
            msg = r @ w2 * s2
            if b2 is not None:
                msg = msg + bs * b2[None, None, None, :]
            h = _reduce(msg, a[..., None], spec.aggregation, axis=2)
        d = w2.shape[1]
    pooled = _reduce(h, m[..., None], spec.readout, axis=1)
    w, b = params[-1]
    y = pooled @ w * (spec.W_std / math.sqrt(w.shape[0]) if ntk_param else 1.0)
    if b is not None:
        y = y + (b_scale if ntk_param else 1.0) * b[None, :]
    return y


# --------------------------------------------------------------------------- closed form


def _relu_maps(k: Array, q1: Array, q2: Array) -> tuple[Array, Array]:
    """Arc-cosine kernels: ``E[relu(a) relu(b)]`` and ``E[relu'(a) relu'(b)]`` (Cho & Saul 2009)."""
    norm = jnp.sqrt(q1 * q2)
    ok = norm > 0
    cos = jnp.clip(jnp.where(ok, k / jnp.where(ok, norm, 1.0), 0.0), -1.0, 1.0)
    theta = jnp.arccos(cos)
    k1 = norm * (jnp.sin(theta) + (jnp.pi - theta) * cos) / (2 * jnp.pi)
    k0 = (jnp.pi - theta) / (2 * jnp.pi)
    return k1, k0


def _pattern(spec: GNN, a: Array) -> Array:
    if spec.aggregation == "mean":
        return a / jnp.maximum(jnp.sum(a, axis=-1, keepdims=True), 1.0)
    return a


def _layer(
    spec: GNN,
    g1: tuple[Array, Array, Array],
    g2: tuple[Array, Array, Array],
    s: Array,
    t: Array,
    s1: Array,
    s2: Array,
    own: tuple[bool, bool] = (True, True),
) -> tuple[Array, Array]:
    """One message-passing layer of the kernel recursion for one pair of graphs.

    ``g = (pattern P, edge weights w, unused)``; ``s, t``: node NNGP / NTK ``(N1, N2)``;
    ``s1, s2``: node variances of each graph; ``own``: whether the layer's first and second
    dense layers are trained (their own gradient contributions enter the NTK). Loops over
    ``u`` to keep memory ``O(N1 N2^2)``.
    """
    p1, w1, _ = g1
    p2, w2, _ = g2
    groups = 3 if spec.edge_weights else 2
    cz = spec.W_std**2 / groups
    w2s = spec.W_std**2
    b2 = 0.0 if spec.b_std is None else spec.b_std**2
    we = 1.0 if spec.edge_weights else 0.0
    q2 = cz * (s2[:, None] + s2[None, :] + we * w2**2) + b2  # (u', v')

    def row(args: tuple[Array, ...]) -> tuple[Array, Array]:
        s_u, t_u, s1_u, p_u, w_u = args  # (N2,), (N2,), (), (N1,), (N1,)
        # axes (v, u', v')
        kz = cz * (s_u[None, :, None] + s[:, None, :] + we * w_u[:, None, None] * w2[None]) + b2
        tz = cz * (t_u[None, :, None] + t[:, None, :]) + (kz if own[0] else 0.0)
        q1 = cz * (s1_u + s1 + we * w_u**2) + b2  # (v,)
        k1, k0 = _relu_maps(kz, q1[:, None, None], q2[None])
        km = w2s * k1 + b2
        tm = (km if own[1] else 0.0) + w2s * tz * k0
        new_s = jnp.einsum("v,vxy,xy->x", p_u, km, p2)
        new_t = jnp.einsum("v,vxy,xy->x", p_u, tm, p2)
        return new_s, new_t

    return jax.lax.map(row, (s, t, s1, p1, w1))


def _graph_arrays(spec: GNN, feats: Array, adj: Array, mask: Array) -> tuple[Array, ...]:
    m = mask.astype(feats.dtype)
    pair = m[:, None] * m[None, :]
    w = adj * pair
    a = (w > 0).astype(feats.dtype)
    return _pattern(spec, a), w, m


def _self_diagonals(spec: GNN, feats: Array, adj: Array, mask: Array) -> Array:
    """Node variances ``(depth, N)`` entering each layer, for one graph (full self-kernel)."""
    p, w, m = _graph_arrays(spec, feats, adj, mask)
    x = feats * m[:, None]
    s = x @ x.T / x.shape[-1]
    t = jnp.zeros_like(s)
    diags = [jnp.diagonal(s)]
    for _ in range(spec.depth - 1):
        d = jnp.diagonal(s)
        s, t = _layer(spec, (p, w, m), (p, w, m), s, t, d, d)
        diags.append(jnp.diagonal(s))
    return jnp.stack(diags)


def _pair_kernel(
    spec: GNN,
    one: tuple[Array, Array, Array, Array],
    two: tuple[Array, Array, Array, Array],
) -> tuple[Array, Array]:
    x1, adj1, mask1, d1 = one
    x2, adj2, mask2, d2 = two
    p1, w1, m1 = _graph_arrays(spec, x1, adj1, mask1)
    p2, w2, m2 = _graph_arrays(spec, x2, adj2, mask2)
    s = (x1 * m1[:, None]) @ (x2 * m2[:, None]).T / x1.shape[-1]
    t = jnp.zeros_like(s)
    every = spec.trainable == "all"
    for layer in range(spec.depth):
        own = (every or (spec.trainable == "first" and layer == 0), every)
        s, t = _layer(spec, (p1, w1, m1), (p2, w2, m2), s, t, d1[layer], d2[layer], own)
    r1 = m1 if spec.readout == "sum" else m1 / jnp.sum(m1)
    r2 = m2 if spec.readout == "sum" else m2 / jnp.sum(m2)
    sg = r1 @ s @ r2
    tg = r1 @ t @ r2
    b2 = 0.0 if spec.b_std is None else spec.b_std**2
    nngp = spec.W_std**2 * sg + b2
    ntk = (nngp if spec.trainable != "first" else 0.0) + spec.W_std**2 * tg
    return nngp, ntk
