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
Monte Carlo estimate (:func:`monte_carlo_kernel`) scales like the finite network.
neural-tangents' ``stax.Aggregate`` computes :math:`\sum_v P_{uv} h_v` on node features, i.e. the
aggregate-then-MLP network of Du et al.; it has no rule for per-edge messages, so the recursion
above is written out (and tested against stax on each edge and against Monte Carlo).

For max or min aggregation or readout there is no closed form: use
:func:`monte_carlo_kernel` (mean over finite networks with its standard error) and
:func:`monte_carlo_convergence`.

Example:
    >>> import jax
    >>> from ntkx.gnn import gnn
    >>> from ntkx.graphs import max_degree_dataset
    >>> data = max_degree_dataset(3, "general", 5, 7, seed=0)
    >>> net = gnn(layers=1, aggregation="sum", readout="sum", width=16)
    >>> net.kernel(data.batch, dtype="float64").shape
    (3, 3)
    >>> net.apply(net.init(jax.random.key(0), 1), data.batch).shape
    (3, 1)
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ntkx._validation import check_choice, check_positive_int
from ntkx.architectures import Architecture, Params, validate_common_fields
from ntkx.graphs import GraphBatch
from ntkx.kernels import GETS, KernelEstimate, precision_context, resolve_dtype

__all__ = [
    "AGGREGATIONS",
    "GNN",
    "MonteCarloConvergence",
    "empirical_kernel",
    "gnn",
    "monte_carlo_convergence",
    "monte_carlo_kernel",
]

AGGREGATIONS: Final = ("sum", "mean", "max", "min")
PARAMETERIZATIONS: Final = ("ntk", "standard")
CLOSED_FORM: Final = ("sum", "mean")


def _as_graph_batch(name: str, x: Any, dim: int | None = None) -> GraphBatch:
    """Validate a :class:`GraphBatch`; return it with NumPy leaves and padding zeroed."""
    if not isinstance(x, GraphBatch):
        raise ValueError(
            f"{name} has type {type(x).__name__}; expected an ntkx.graphs.GraphBatch "
            "(features (B, N, F), adjacency (B, N, N), mask (B, N))."
        )
    feats = np.asarray(x.features)
    adj = np.asarray(x.adjacency)
    mask = np.asarray(x.mask)
    if feats.ndim != 3 or 0 in feats.shape:
        raise ValueError(
            f"{name}.features has shape {feats.shape}; expected a non-empty (B, N, F) array."
        )
    b, n, f = feats.shape
    if adj.shape != (b, n, n):
        raise ValueError(
            f"{name}.adjacency has shape {adj.shape}; expected {(b, n, n)} to match "
            f"{name}.features {feats.shape}."
        )
    if mask.shape != (b, n):
        raise ValueError(
            f"{name}.mask has shape {mask.shape}; expected {(b, n)} to match {name}.features."
        )
    if dim is not None and f != dim:
        raise ValueError(
            f"{name}.features has {f} features per node; expected {dim} to match the other inputs."
        )
    for field, arr in (("features", feats), ("adjacency", adj)):
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise ValueError(f"{name}.{field} has dtype {arr.dtype}; expected real numbers.")
        if not np.isfinite(arr).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise ValueError(
                f"{name}.{field} contains non-finite values (first at index {bad}); expected "
                "finite values only."
            )
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{name}.mask contains values other than 0/1; expected booleans.")
        mask = mask.astype(bool)
    if (adj < 0).any():
        raise ValueError(f"{name}.adjacency has negative entries; expected weights >= 0.")
    if not np.array_equal(adj, np.swapaxes(adj, 1, 2)):
        raise ValueError(f"{name}.adjacency is not symmetric; expected undirected graphs.")
    sizes = mask.sum(axis=1)
    if (sizes == 0).any():
        raise ValueError(
            f"{name} graph {int(np.argmin(sizes))} is empty (mask all False); expected at least "
            "one node per graph."
        )
    if (np.diff(mask.astype(int), axis=1) > 0).any():
        raise ValueError(f"{name}.mask must list real nodes first (True then False per graph).")
    pair = mask[:, :, None] & mask[:, None, :]
    if (adj[~pair] != 0).any():
        raise ValueError(f"{name}.adjacency has edges at padded nodes; expected zeros there.")
    edges = (adj > 0).sum(axis=(1, 2))
    if (edges == 0).any():
        raise ValueError(
            f"{name} graph {int(np.argmin(edges))} has no edges; expected at least one edge per "
            "graph."
        )
    feats = np.where(mask[:, :, None], feats, 0.0)
    return GraphBatch(feats, adj, mask)


@dataclasses.dataclass(frozen=True, eq=True)
class GNN(Architecture):
    r"""A message-passing GNN, finite or infinitely wide (final class; see the module doc).

    Attributes:
        depth: number of message-passing layers ``L`` (:func:`gnn`'s ``layers``).
        aggregation: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"`` over neighbours.
        readout: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"`` over nodes.
        width: width of the message MLPs and of the node representations.
        edge_weights: feed ``w_uv`` (the adjacency value) to every message MLP.
        W_std, b_std: weight and bias standard deviations (``b_std=None``: no biases).
        out_dim: number of outputs.
        parameterization: ``"ntk"`` (default; parameters standard normal, the factors
            ``W_std / sqrt(fan_in)`` and ``b_std`` in the forward pass) or ``"standard"``
            (the factors folded into the parameters at initialization, as PyTorch's layers,
            the paper's code). Both give the same function at initialization; they differ in how
            gradient steps move it. Infinite-width kernels need ``"ntk"``.

    Inputs are :class:`ntkx.graphs.GraphBatch` es. ``kernel`` is the closed form (sum/mean
    aggregation and readout only); :func:`monte_carlo_kernel` works for every spec.
    """

    depth: int = 2
    aggregation: str = "sum"
    readout: str = "max"
    width: int = 256
    edge_weights: bool = False
    W_std: float = 1.0
    b_std: float | None = 0.1
    out_dim: int = 1
    parameterization: str = "ntk"

    def __post_init__(self) -> None:
        validate_common_fields(self, depth_name="layers")
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

    @property
    def layers(self) -> tuple[Callable, Callable, Callable]:
        """``(init_fn, apply_fn, kernel_fn)``: ``init_fn(key, input_dim)``,
        ``apply_fn(params, graph_batch)``, ``kernel_fn(batch1, batch2, get)`` (closed form)."""
        return (
            lambda key, input_dim: self.init(key, input_dim),
            lambda params, x: _apply(self, params, x),
            lambda x1, x2, get: _closed_form_block(self, x1, x2, get),
        )

    def trainable_layers(self) -> tuple[int, ...]:
        return tuple(range(self.depth + 1))

    def check_inputs(self, name: str, x: Any, dim: int | None = None) -> GraphBatch:
        """Validate a :class:`GraphBatch` (ValueError naming ``name``); zero its padded features."""
        return _as_graph_batch(name, x, dim)

    def init(self, key: PRNGKeyArray, input_dim: int) -> Params:
        """Parameters for node features of size ``input_dim``: a list of ``depth + 1`` dicts."""
        input_dim = check_positive_int("input_dim", input_dim)
        keys = jax.random.split(key, self.depth + 1)
        params: Params = []
        d = input_dim
        n = self.width
        for i in range(self.depth):
            k = jax.random.split(keys[i], 6)
            layer = {
                "W_self": jax.random.normal(k[0], (d, n)),
                "W_nbr": jax.random.normal(k[1], (d, n)),
                "W2": jax.random.normal(k[2], (n, n)),
            }
            if self.edge_weights:
                layer["W_edge"] = jax.random.normal(k[3], (1, n))
            if self.b_std is not None:
                layer["b1"] = jax.random.normal(k[4], (n,))
                layer["b2"] = jax.random.normal(k[5], (n,))
            params.append(layer)
            d = n
        k = jax.random.split(keys[-1], 2)
        out = {"W": jax.random.normal(k[0], (n, self.out_dim))}
        if self.b_std is not None:
            out["b"] = jax.random.normal(k[1], (self.out_dim,))
        params.append(out)
        if self.parameterization == "standard":
            # The scale factors move from the forward pass into the parameters: the same
            # distribution of functions at initialization, a different gradient geometry.
            params = [
                {name: leaf * scale for name, (leaf, scale) in _zip_scales(self, layer, i)}
                for i, layer in enumerate(params)
            ]
        return params

    def apply(self, params: Params, x: GraphBatch) -> Float[Array, "B out"]:
        """Outputs ``(B, out_dim)`` of the finite network on a :class:`GraphBatch` (jit-able)."""
        return _apply(self, params, x)

    def kernel(
        self,
        x1: GraphBatch,
        x2: GraphBatch | None = None,
        get: str = "ntk",
        *,
        dtype: str | None = None,
        block_size: int | None = None,
        out: Any = None,
        progress: bool = False,
    ) -> Float[np.ndarray, "B1 B2"]:
        """Closed-form infinite-width ``get`` kernel ``(B1, B2)`` between two graph batches.

        Only for sum/mean aggregation and readout (else ValueError pointing to
        :func:`monte_carlo_kernel`). Computed in blocks of ``block_size`` graphs of ``x2`` (default
        chosen to keep each block's workspace near 256 MiB).
        """
        return kernel_matrix(
            self, x1, x2, get, dtype=dtype, block_size=block_size, out=out, progress=progress
        )


def gnn(
    layers: int = 2,
    aggregation: str = "sum",
    readout: str = "max",
    width: int = 256,
    edge_weights: bool = False,
    *,
    W_std: float = 1.0,
    b_std: float | None = 0.1,
    out_dim: int = 1,
    parameterization: str = "ntk",
) -> GNN:
    """Build a :class:`GNN` specification (validated; ValueError on bad settings).

    Paper settings: max degree ``gnn(2, "sum", "max")``; shortest path
    ``gnn(3, "min", "min", edge_weights=True)``; MLP width 256.

    Example:
        >>> from ntkx.gnn import gnn
        >>> gnn(layers=3, aggregation="min", readout="min", edge_weights=True).has_closed_form
        False
    """
    return GNN(
        depth=layers,
        aggregation=aggregation,
        readout=readout,
        width=width,
        edge_weights=edge_weights,
        W_std=W_std,
        b_std=b_std,
        out_dim=out_dim,
        parameterization=parameterization,
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


def _apply(spec: GNN, params: Params, x: GraphBatch) -> Array:
    feats, adj, mask = (jnp.asarray(v) for v in x)
    dtype = feats.dtype
    m = mask.astype(dtype)
    pair = m[:, :, None] * m[:, None, :]
    adj = adj.astype(dtype) * pair  # padding never sends or receives messages
    a = (adj > 0).astype(dtype)
    h = feats * m[:, :, None]
    has_b = spec.b_std is not None
    for i, layer in enumerate(params[:-1]):
        sc = _forward_scales(spec, layer, i)
        hs = h @ layer["W_self"] * sc["W_self"]
        hn = h @ layer["W_nbr"] * sc["W_nbr"]
        z = hs[:, :, None, :] + hn[:, None, :, :]
        if spec.edge_weights:
            z = z + adj[..., None] * (sc["W_edge"] * layer["W_edge"][0])[None, None, None, :]
        if has_b:
            z = z + sc["b1"] * layer["b1"][None, None, None, :]
        r = jax.nn.relu(z)
        if spec.aggregation in CLOSED_FORM:
            # Dense(W2) is linear, so it commutes with the sum: apply it after aggregating.
            s = jnp.einsum("buv,buvk->buk", a, r) @ layer["W2"] * sc["W2"]
            deg = jnp.sum(a, axis=-1)[..., None]
            if has_b:
                s = s + deg * (sc["b2"] * layer["b2"])[None, None, :]
            h = s / jnp.maximum(deg, 1.0) if spec.aggregation == "mean" else s
        else:
            msg = r @ layer["W2"] * sc["W2"]
            if has_b:
                msg = msg + sc["b2"] * layer["b2"][None, None, None, :]
            h = _reduce(msg, a[..., None], spec.aggregation, axis=2)
    pooled = _reduce(h, m[..., None], spec.readout, axis=1)
    out = params[-1]
    sc = _forward_scales(spec, out, spec.depth)
    y = pooled @ out["W"] * sc["W"]
    if has_b:
        y = y + sc["b"] * out["b"][None, :]
    return y


def _scales(spec: GNN, layer: Params, index: int) -> dict[str, float]:
    """NTK-parameterization factor of every parameter leaf of layer ``index``."""
    b = 0.0 if spec.b_std is None else spec.b_std
    if index == spec.depth:  # output layer
        return {"W": spec.W_std / math.sqrt(layer["W"].shape[0]), "b": b}
    d, n = layer["W_self"].shape
    c = spec.W_std / math.sqrt(3 if spec.edge_weights else 2)
    return {
        "W_self": c / math.sqrt(d),
        "W_nbr": c / math.sqrt(d),
        "W_edge": c,
        "W2": spec.W_std / math.sqrt(n),
        "b1": b,
        "b2": b,
    }


def _forward_scales(spec: GNN, layer: Params, index: int) -> dict[str, float]:
    """Factors applied in the forward pass: the NTK factors, or 1 in standard parameterization."""
    scales = _scales(spec, layer, index)
    if spec.parameterization == "standard":
        return dict.fromkeys(scales, 1.0)
    return scales


def _zip_scales(spec: GNN, layer: Params, index: int) -> list[tuple[str, tuple[Any, float]]]:
    scales = _scales(spec, layer, index)
    return [(name, (leaf, scales[name])) for name, leaf in layer.items()]


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
) -> tuple[Array, Array]:
    """One message-passing layer of the kernel recursion for one pair of graphs.

    ``g = (pattern P, edge weights w, unused)``; ``s, t``: node NNGP / NTK ``(N1, N2)``;
    ``s1, s2``: node variances of each graph. Loops over ``u`` to keep memory ``O(N1 N2^2)``.
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
        tz = cz * (t_u[None, :, None] + t[:, None, :]) + kz
        q1 = cz * (s1_u + s1 + we * w_u**2) + b2  # (v,)
        k1, k0 = _relu_maps(kz, q1[:, None, None], q2[None])
        km = w2s * k1 + b2
        tm = km + w2s * tz * k0
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
    for layer in range(spec.depth):
        s, t = _layer(spec, (p1, w1, m1), (p2, w2, m2), s, t, d1[layer], d2[layer])
    r1 = m1 if spec.readout == "sum" else m1 / jnp.sum(m1)
    r2 = m2 if spec.readout == "sum" else m2 / jnp.sum(m2)
    sg = r1 @ s @ r2
    tg = r1 @ t @ r2
    b2 = 0.0 if spec.b_std is None else spec.b_std**2
    nngp = spec.W_std**2 * sg + b2
    ntk = nngp + spec.W_std**2 * tg
    return nngp, ntk


_JIT_CACHE: dict[tuple[Any, ...], Callable] = {}


def _diag_fn(spec: GNN) -> Callable:
    key = ("diag", spec)
    if key not in _JIT_CACHE:
        _JIT_CACHE[key] = jax.jit(jax.vmap(lambda x, a, m: _self_diagonals(spec, x, a, m)))
    return _JIT_CACHE[key]


def _row_fn(spec: GNN, get: str) -> Callable:
    """One graph of x1 against a block of graphs of x2."""
    key = ("row", spec, get)
    if key not in _JIT_CACHE:

        def row(one: tuple[Array, ...], block: tuple[Array, ...]) -> Array:
            nngp, ntk = jax.vmap(lambda two: _pair_kernel(spec, one, two))(block)
            return ntk if get == "ntk" else nngp

        _JIT_CACHE[key] = jax.jit(row)
    return _JIT_CACHE[key]


def _require_ntk(net: GNN) -> None:
    if net.parameterization != "ntk":
        raise ValueError(
            f"parameterization={net.parameterization!r} has no infinite-width kernel here "
            "(its NTK grows with the width); expected parameterization='ntk' for kernels. "
            "empirical_kernel works for either."
        )


def _closed_form_block(spec: GNN, x1: GraphBatch, x2: GraphBatch | None, get: str) -> Array:
    return kernel_matrix(spec, x1, x2, get)


def _default_block(n1: int, n2: int, itemsize: int) -> int:
    per_pair = 12 * n1 * n2 * n2 * itemsize  # temporaries of one row of the u-loop
    return int(max(1, min(256, (256 * 2**20) // max(per_pair, 1))))


def _pad_block(arrs: tuple[np.ndarray, ...], size: int) -> tuple[np.ndarray, ...]:
    n = arrs[0].shape[0]
    if n == size:
        return arrs
    # Pad with copies of the first graph (dropped afterwards), never empty graphs.
    return tuple(np.concatenate([a, np.repeat(a[:1], size - n, axis=0)]) for a in arrs)


def kernel_matrix(
    net: GNN,
    x1: GraphBatch,
    x2: GraphBatch | None = None,
    get: str = "ntk",
    *,
    dtype: str | None = None,
    block_size: int | None = None,
    out: np.ndarray | None = None,
    progress: bool = False,
) -> Float[np.ndarray, "B1 B2"]:
    """Closed-form GNN kernel between graph batches (see :meth:`GNN.kernel`)."""
    check_choice("get", get, GETS)
    if not isinstance(net, GNN):
        raise ValueError(f"net={net!r} is not allowed; expected an ntkx.gnn.GNN.")
    _require_ntk(net)
    if not net.has_closed_form:
        raise ValueError(
            f"aggregation={net.aggregation!r}, readout={net.readout!r} has no closed-form "
            "kernel (only sum and mean do); use ntkx.gnn.monte_carlo_kernel for max/min."
        )
    np_dtype = resolve_dtype(dtype)
    g1 = net.check_inputs("x1", x1)
    symmetric = x2 is None
    g2 = g1 if symmetric else net.check_inputs("x2", x2, dim=g1.features.shape[-1])
    b1, b2 = g1.num_graphs, g2.num_graphs
    if out is not None and (out.shape != (b1, b2) or out.dtype != np_dtype):
        raise ValueError(
            f"out has shape {out.shape} and dtype {out.dtype}; expected ({b1}, {b2}) {np_dtype}."
        )
    n1, n2 = g1.features.shape[1], g2.features.shape[1]
    block = _default_block(n1, n2, np_dtype.itemsize) if block_size is None else block_size
    block = min(check_positive_int("block_size", block), b2)
    result = np.empty((b1, b2), np_dtype) if out is None else out
    start = time.perf_counter()
    with precision_context(np_dtype):
        cast = [tuple(np.asarray(a, np_dtype) for a in g) for g in (g1, g2)]
        d1 = np.asarray(_diag_fn(net)(*cast[0]))
        d2 = d1 if symmetric else np.asarray(_diag_fn(net)(*cast[1]))
        fn = _row_fn(net, get)
        for j in range(0, b2, block):
            blk = (*(a[j : j + block] for a in cast[1]), d2[j : j + block])
            size = blk[0].shape[0]
            blk = tuple(jnp.asarray(a) for a in _pad_block(blk, block))
            rows = range(j, b1) if symmetric else range(b1)
            for i in rows:
                one = (*(jnp.asarray(a[i]) for a in cast[0]), jnp.asarray(d1[i]))
                result[i, j : j + size] = np.asarray(fn(one, blk))[:size]
            if progress:
                print(
                    f"[ntkx] gnn kernel columns {j + size}/{b2} "
                    f"({time.perf_counter() - start:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    if symmetric:
        # Column block j was computed for rows i >= j only; the rest is its mirror image.
        computed = np.zeros((b1, b2), bool)
        for j in range(0, b2, block):
            computed[j:, j : j + block] = True
        result[~computed] = result.T[~computed]
    if not np.isfinite(result).all():
        raise FloatingPointError(
            f"the GNN {get} kernel has non-finite entries; it overflows {np_dtype.name} "
            "(try dtype='float64' or a smaller W_std)."
        )
    return result


# --------------------------------------------------------------------------- Monte Carlo


def _jacobian_fn(net: GNN) -> Callable:
    key = ("jac", net)
    if key not in _JIT_CACHE:

        def single(params: Params, x: Array, a: Array, m: Array) -> Array:
            return _apply(net, params, GraphBatch(x[None], a[None], m[None]))[0]

        jac = jax.vmap(jax.jacrev(single), in_axes=(None, 0, 0, 0))

        def flat(params: Params, x: Array, a: Array, m: Array) -> Array:
            j = jac(params, x, a, m)
            leaves = jax.tree_util.tree_leaves(j)
            return jnp.concatenate(
                [leaf.reshape(x.shape[0], net.out_dim, -1) for leaf in leaves], -1
            )

        _JIT_CACHE[key] = jax.jit(flat)
    return _JIT_CACHE[key]


def _outputs_fn(net: GNN) -> Callable:
    key = ("apply", net)
    if key not in _JIT_CACHE:
        _JIT_CACHE[key] = jax.jit(lambda p, x: _apply(net, p, x))
    return _JIT_CACHE[key]


def _blocks(g: GraphBatch, size: int) -> list[tuple[np.ndarray, ...]]:
    return [tuple(a[i : i + size] for a in g) for i in range(0, g.num_graphs, size)]


def _features(net: GNN, params: Params, g: GraphBatch, get: str, block: int) -> np.ndarray:
    """Per-graph Jacobians ``(B, out, P)`` (NTK) or outputs ``(B, out, 1)`` (NNGP)."""
    parts = []
    for blk in _blocks(g, block):
        size = blk[0].shape[0]
        padded = tuple(jnp.asarray(a) for a in _pad_block(blk, block))
        if get == "ntk":
            parts.append(np.asarray(_jacobian_fn(net)(params, *padded))[:size])
        else:
            parts.append(np.asarray(_outputs_fn(net)(params, GraphBatch(*padded)))[:size, :, None])
    return np.concatenate(parts)


def empirical_kernel(
    net: GNN,
    params: Params,
    x1: GraphBatch,
    x2: GraphBatch | None = None,
    get: str = "ntk",
    *,
    dtype: str | None = None,
    block_size: int = 16,
) -> Float[np.ndarray, "B1 B2"]:
    r"""Kernel of one finite GNN at ``params``.

    NTK :math:`\sum_\theta \partial_\theta f(G) \partial_\theta f(G')` (all parameters trained),
    NNGP :math:`f(G) f(G')`, both averaged over the ``out_dim`` outputs. Jacobians are computed
    per graph in blocks of ``block_size`` graphs.
    """
    check_choice("get", get, GETS)
    np_dtype = resolve_dtype(dtype)
    g1 = net.check_inputs("x1", x1)
    g2 = g1 if x2 is None else net.check_inputs("x2", x2, dim=g1.features.shape[-1])
    block_size = check_positive_int("block_size", block_size)
    with precision_context(np_dtype):
        p = jax.tree_util.tree_map(lambda a: jnp.asarray(a, np_dtype), params)
        c1 = GraphBatch(*(np.asarray(a, np_dtype) if a.dtype != bool else a for a in g1))
        c2 = (
            c1
            if x2 is None
            else GraphBatch(*(np.asarray(a, np_dtype) if a.dtype != bool else a for a in g2))
        )
        f1 = _features(net, p, c1, get, min(block_size, c1.num_graphs))
        f2 = f1 if x2 is None else _features(net, p, c2, get, min(block_size, c2.num_graphs))
    return np.einsum("ikp,jkp->ij", f1, f2) / net.out_dim


def monte_carlo_kernel(
    net: GNN,
    key: PRNGKeyArray,
    x1: GraphBatch,
    x2: GraphBatch | None = None,
    get: str = "ntk",
    *,
    n_samples: int = 16,
    dtype: str | None = None,
    block_size: int = 16,
    progress: bool = False,
) -> KernelEstimate:
    """Monte Carlo estimate of the infinite-width GNN kernel with its standard error.

    The mean of :func:`empirical_kernel` over ``n_samples`` independent initializations of the
    finite network of width ``net.width`` (any aggregation and readout, including max/min,
    which have no closed form). ``stderr`` is the sample standard deviation over networks
    divided by ``sqrt(n_samples)``; the finite-width bias is not in it (see
    :func:`monte_carlo_convergence`).
    """
    n_samples = check_positive_int("n_samples", n_samples)
    _require_ntk(net)
    g1 = net.check_inputs("x1", x1)
    g2 = None if x2 is None else net.check_inputs("x2", x2, dim=g1.features.shape[-1])
    dim = g1.features.shape[-1]
    total = total_sq = None
    start = time.perf_counter()
    for i, k in enumerate(jax.random.split(key, n_samples)):
        sample = empirical_kernel(
            net, net.init(k, dim), g1, g2, get, dtype=dtype, block_size=block_size
        ).astype(np.float64)
        total = sample if total is None else total + sample
        total_sq = sample**2 if total_sq is None else total_sq + sample**2
        if progress:
            print(
                f"[ntkx] gnn monte carlo sample {i + 1}/{n_samples} "
                f"({time.perf_counter() - start:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    assert total is not None and total_sq is not None
    mean = total / n_samples
    if n_samples > 1:
        var = np.maximum(total_sq / n_samples - mean**2, 0.0) * n_samples / (n_samples - 1)
        stderr = np.sqrt(var / n_samples)
    else:
        stderr = np.full_like(mean, np.inf)
    return KernelEstimate(mean=mean, stderr=stderr, n_samples=n_samples, width=net.width)


class MonteCarloConvergence(NamedTuple):
    """Error of Monte Carlo GNN kernels against a reference, by width and number of samples.

    Attributes:
        widths: ``(W,)`` widths tried.
        n_samples: ``(S,)`` sample counts (running means over one sequence of networks).
        rel_error: ``(W, S)`` Frobenius relative error ``||K_mc - K_ref|| / ||K_ref||``.
        rel_stderr: ``(W, S)`` ``||stderr|| / ||K_ref||`` (the sampling part of the error).
        reference: ``"closed_form"`` (sum/mean) or ``"monte_carlo"`` (an independent estimate
            at the largest width with ``2 max(n_samples)`` networks, for max/min).
    """

    widths: np.ndarray
    n_samples: np.ndarray
    rel_error: np.ndarray
    rel_stderr: np.ndarray
    reference: str


def monte_carlo_convergence(
    net: GNN,
    key: PRNGKeyArray,
    x1: GraphBatch,
    x2: GraphBatch | None = None,
    get: str = "ntk",
    *,
    n_samples: Sequence[int] = (2, 4, 8, 16),
    widths: Sequence[int] = (64, 256),
    dtype: str | None = "float64",
) -> MonteCarloConvergence:
    """How the Monte Carlo kernel approaches the infinite-width kernel (error vs samples, width).

    The error at small sample counts is dominated by sampling noise (``~ 1/sqrt(samples)``),
    at large counts by the finite-width bias (``~ 1/width``).
    """
    counts = sorted({check_positive_int("n_samples", s) for s in n_samples})
    ws = [check_positive_int("widths", w) for w in widths]
    if not counts or not ws:
        raise ValueError("n_samples and widths must be non-empty sequences of positive ints.")
    g1 = net.check_inputs("x1", x1)
    g2 = None if x2 is None else net.check_inputs("x2", x2, dim=g1.features.shape[-1])
    dim = g1.features.shape[-1]
    k_ref, k_samples = jax.random.split(key)
    if net.has_closed_form:
        ref = net.kernel(g1, g2, get, dtype=dtype)
        kind = "closed_form"
    else:
        big = dataclasses.replace(net, width=max(ws))
        ref = monte_carlo_kernel(big, k_ref, g1, g2, get, n_samples=2 * counts[-1], dtype=dtype)
        ref = ref.mean
        kind = "monte_carlo"
    scale = np.linalg.norm(ref)
    err = np.empty((len(ws), len(counts)))
    serr = np.empty_like(err)
    for wi, w in enumerate(ws):
        spec = dataclasses.replace(net, width=w)
        samples = []
        for k in jax.random.split(jax.random.fold_in(k_samples, w), counts[-1]):
            samples.append(empirical_kernel(spec, spec.init(k, dim), g1, g2, get, dtype=dtype))
        stack = np.stack(samples).astype(np.float64)
        for si, s in enumerate(counts):
            mean = stack[:s].mean(0)
            err[wi, si] = np.linalg.norm(mean - ref) / scale
            sd = stack[:s].std(0, ddof=1) / np.sqrt(s) if s > 1 else np.full_like(mean, np.inf)
            serr[wi, si] = np.linalg.norm(sd) / scale
    return MonteCarloConvergence(np.asarray(ws), np.asarray(counts), err, serr, kind)
