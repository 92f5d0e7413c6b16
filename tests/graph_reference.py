r"""Independent float64 reference for the infinite-width kernels of ntkx's message-passing GNN.

Plain Python + NumPy only; never imports ntkx, jax or neural-tangents. Written from the limit of
the finite network (``ntkx.gnn._apply`` in NTK parameterization), with explicit loops over edge
lists and node pairs instead of ntkx's vectorised jax code, so a shared bug is unlikely. Slow
(``O(E E')`` Python iterations per layer and pair of graphs): meant for graphs of a few nodes.

The network (Xu et al. 2021, Section 4). ``h_u^0 = x_u`` (``F`` features); for every layer and
every *ordered* edge ``(u, v)`` (``adjacency[u, v] > 0``; no self loops unless the adjacency has
them) the message is ``m_uv = (W_std / sqrt(n)) W2 relu(z_uv) + b_std b2`` with

    z_uv = (W_std / sqrt(g)) (W_a h_u / sqrt(d) + W_b h_v / sqrt(d) + [edge_weights] W_c w_uv)
           + b_std b1,        g = 3 with edge weights, else 2,

and ``h_u^+ = sum_v P_uv m_uv``, ``P`` the 0/1 adjacency pattern (sum) or the pattern divided by
the neighbour *count* (mean; a node without neighbours gets ``h_u^+ = 0`` either way). The output
is ``f(G) = (W_std / sqrt(n)) W_out sum_u r_u h_u^L + b_std b_out`` with ``r_u = 1`` (sum
readout) or ``1 / N`` (mean readout). All parameters standard normal; biases absent when
``b_std is None`` (then ``b^2 = 0`` below).

Infinite-width limit (``n -> infinity``), for graphs ``G, G'``: ``Sigma(u, u') = lim h_u.h'_u'/d``
and ``Theta`` the NTK of the node representations (contributions of all parameters below).

* input: ``Sigma0(u, u') = x_u . x'_u' / F``, ``Theta0 = 0`` (features are not trained);
* per edge pair ``(u, v) in G``, ``(u', v') in G'``:
  ``K_z = (W_std^2 / g) (Sigma(u, u') + Sigma(v, v') + [edge_weights] w_uv w'_u'v') + b^2``
  (the gradients wrt ``W_a, W_b, W_c, b1`` give exactly ``K_z``; those wrt earlier layers give
  ``(W_std^2 / g)(Theta(u, u') + Theta(v, v'))``; ``W_a``/``W_b`` are independent, so there are
  no cross terms), ``T_z = (W_std^2 / g)(Theta(u, u') + Theta(v, v')) + K_z``;
* ReLU with variances ``q = K_z(uv, uv)`` in ``G`` and ``q' = K_z(u'v', u'v')`` in ``G'``
  (Cho & Saul 2009): ``cos t = K_z / sqrt(q q')``,
  ``kappa1 = sqrt(q q') (sin t + (pi - t) cos t) / (2 pi) = E[relu(z) relu(z')]``,
  ``kappa0 = (pi - t) / (2 pi) = E[relu'(z) relu'(z')]``;
* message kernels: ``K_m = W_std^2 kappa1 + b^2`` (gradients wrt ``W2``, ``b2`` and the NNGP),
  ``T_m = K_m + W_std^2 T_z kappa0``;
* aggregation: ``Sigma+(u, u') = sum_{v, v'} P_uv P'_u'v' K_m(uv, u'v')``, ``Theta+`` with
  ``T_m`` (messages of different edges are combined linearly, so the kernels add up);
* readout and output layer: ``S_G = sum_{u, u'} r_u r'_u' Sigma^L(u, u')``, ``T_G`` likewise;
  ``NNGP = W_std^2 S_G + b^2`` and ``NTK = NNGP + W_std^2 T_G`` (gradients wrt ``W_out`` give
  ``W_std^2 S_G``, wrt ``b_out`` give ``b^2``, wrt everything else ``W_std^2 T_G``).

The variances of each graph are taken from its own self-kernel, computed by the very same loop
(:func:`_propagate` with ``variances=None``), so the kernel of a graph with itself meets
``cos t = 1`` exactly. When ``q q' = 0`` (the pre-activation is identically zero) ``kappa1 = 0``
and ``kappa0 = 0`` (``relu'(0) = 0``; ``T_z`` is then 0 as well, so the choice is immaterial).

Accuracy: ``kappa0`` goes through ``acos`` at ``cos t`` near 1, where a rounding error ``eps`` in
``cos t`` moves ``t`` by ``sqrt(2 eps)``. The reference avoids this for identical graphs (the
variances and the cross kernel come from bitwise-identical loops, so ``cos t = 1`` exactly);
it has no such protection for the same graph with its nodes permuted or for nearly parallel
edges from different graphs.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["gnn_kernel_numpy", "gnn_kernel_reference", "random_graph"]

AGGREGATIONS = ("sum", "mean")
READOUTS = ("sum", "mean")


def _group_coefficients(
    layer: int, n_features: int, W_std: float, edge_weights: bool
) -> tuple[float, float, float]:
    """Factors of ``Sigma(u, u')``, ``Sigma(v, v')`` and ``w w'`` in ``K_z`` at ``layer``.

    Each group of ``[h_u, h_v, w_uv]`` is normalized by its own size and the ``g`` groups are
    averaged, so every factor is ``W_std^2 / g`` at every layer (``layer`` and ``n_features`` are
    unused here; they let a test swap in another normalization).
    """
    del layer, n_features
    g = 3 if edge_weights else 2
    c = W_std * W_std / g
    return c, c, (c if edge_weights else 0.0)


def _edges(adjacency: np.ndarray, aggregation: str) -> list[tuple[int, int, float, float]]:
    """Ordered edges ``(u, v, w_uv, P_uv)`` of one graph, from an explicit double loop."""
    n = adjacency.shape[0]
    edges = []
    for u in range(n):
        nbrs = [v for v in range(n) if adjacency[u, v] > 0]
        for v in nbrs:
            p = 1.0 if aggregation == "sum" else 1.0 / len(nbrs)
            edges.append((u, v, float(adjacency[u, v]), p))
    return edges


def _relu_kernels(k: float, q1: float, q2: float) -> tuple[float, float]:
    """``(kappa1, kappa0)``: ``E[relu(a) relu(b)]``, ``E[relu'(a) relu'(b)]`` for covariance k."""
    r = math.sqrt(q1 * q2)
    if r == 0.0:
        return 0.0, 0.0
    c = min(1.0, max(-1.0, k / r))
    t = math.acos(c)
    return r * (math.sin(t) + (math.pi - t) * c) / (2.0 * math.pi), (math.pi - t) / (2.0 * math.pi)


def _propagate(
    graph_a: tuple[np.ndarray, np.ndarray],
    graph_b: tuple[np.ndarray, np.ndarray],
    settings: dict,
    variances_a: list[list[float]] | None,
    variances_b: list[list[float]] | None,
) -> tuple[list[list[float]], list[list[float]], list[list[list[float]]]]:
    """Node NNGP and NTK ``(Sigma^L, Theta^L)`` between two graphs, as nested lists.

    ``variances_x[l][u]`` is ``Sigma_x^l(u, u)`` of graph x with itself (entering layer
    ``l + 1``). ``None`` for both means ``graph_a is graph_b`` and the variances are the diagonal
    of the kernel being computed. Also returns the variances used, one list per layer.
    """
    xa, adj_a = graph_a
    xb, adj_b = graph_b
    na, nb = xa.shape[0], xb.shape[0]
    n_features = xa.shape[1]
    depth = settings["depth"]
    W2 = settings["W_std"] ** 2
    b2 = 0.0 if settings["b_std"] is None else settings["b_std"] ** 2
    edges_a = _edges(adj_a, settings["aggregation"])
    edges_b = _edges(adj_b, settings["aggregation"])

    sigma = [
        [
            math.fsum(float(xa[u, f]) * float(xb[up, f]) for f in range(n_features)) / n_features
            for up in range(nb)
        ]
        for u in range(na)
    ]
    theta = [[0.0] * nb for _ in range(na)]
    used: list[list[float]] = []

    for layer in range(depth):
        if variances_a is None:
            va = [sigma[u][u] for u in range(na)]
            vb = va
        else:
            va, vb = variances_a[layer], variances_b[layer]
        used.append(va)
        c_self, c_nbr, c_edge = _group_coefficients(
            layer, n_features, settings["W_std"], settings["edge_weights"]
        )
        qa = [c_self * va[u] + c_nbr * va[v] + c_edge * w * w + b2 for (u, v, w, _) in edges_a]
        qb = [c_self * vb[u] + c_nbr * vb[v] + c_edge * w * w + b2 for (u, v, w, _) in edges_b]
        new_sigma = [[0.0] * nb for _ in range(na)]
        new_theta = [[0.0] * nb for _ in range(na)]
        for i, (u, v, w, p) in enumerate(edges_a):
            for j, (up, vp, wp, pp) in enumerate(edges_b):
                kz = c_self * sigma[u][up] + c_nbr * sigma[v][vp] + c_edge * w * wp + b2
                tz = c_self * theta[u][up] + c_nbr * theta[v][vp] + kz
                k1, k0 = _relu_kernels(kz, qa[i], qb[j])
                km = W2 * k1 + b2
                tm = km + W2 * tz * k0
                new_sigma[u][up] += p * pp * km
                new_theta[u][up] += p * pp * tm
        sigma, theta = new_sigma, new_theta
    return sigma, theta, used


def _self_variances(graph: tuple[np.ndarray, np.ndarray], settings: dict) -> list[list[float]]:
    """``Sigma^l(u, u)`` of a graph with itself for ``l = 0 .. depth - 1``."""
    _, _, used = _propagate(graph, graph, settings, None, None)
    return used


def _check_graph(i: int, graph: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    x, adj = (np.asarray(a, dtype=np.float64) for a in graph)
    n = x.shape[0] if x.ndim == 2 else -1
    if x.ndim != 2 or adj.shape != (n, n) or not np.array_equal(adj, adj.T) or (adj < 0).any():
        raise ValueError(
            f"graph {i}: expected features (N, F) and a symmetric (N, N) adjacency >= 0"
        )
    return x, adj


def _settings(depth, aggregation, readout, edge_weights, W_std, b_std) -> dict:
    if aggregation not in AGGREGATIONS or readout not in READOUTS:
        raise ValueError("aggregation and readout must be 'sum' or 'mean'")
    if int(depth) != depth or depth < 1:
        raise ValueError("depth must be a positive integer")
    return {
        "depth": int(depth),
        "aggregation": aggregation,
        "edge_weights": bool(edge_weights),
        "W_std": float(W_std),
        "b_std": None if b_std is None else float(b_std),
    }


def gnn_kernel_reference(
    graphs1, graphs2, *, depth, aggregation, readout, edge_weights, W_std, b_std
) -> tuple[np.ndarray, np.ndarray]:
    """``(ntk, nngp)``, each ``(len(graphs1), len(graphs2))``, of the infinite-width GNN.

    Each graph is a ``(features (N, F), adjacency (N, N))`` pair of arrays holding only its real
    nodes (no padding). Settings as ``ntkx.gnn.gnn``: ``depth`` message-passing layers,
    ``aggregation`` and ``readout`` in {"sum", "mean"}, ``edge_weights`` bool, ``W_std`` and
    ``b_std`` (``None``: no biases). See the module docstring for the formulas.
    """
    settings = _settings(depth, aggregation, readout, edge_weights, W_std, b_std)
    g1 = [_check_graph(i, g) for i, g in enumerate(graphs1)]
    g2 = [_check_graph(i, g) for i, g in enumerate(graphs2)]
    var1 = [_self_variances(g, settings) for g in g1]
    var2 = [_self_variances(g, settings) for g in g2]
    W2 = settings["W_std"] ** 2
    b2 = 0.0 if b_std is None else settings["b_std"] ** 2
    ntk = np.empty((len(g1), len(g2)))
    nngp = np.empty((len(g1), len(g2)))
    for i, ga in enumerate(g1):
        for j, gb in enumerate(g2):
            sigma, theta, _ = _propagate(ga, gb, settings, var1[i], var2[j])
            na, nb = len(sigma), len(sigma[0])
            ra = 1.0 if readout == "sum" else 1.0 / na
            rb = 1.0 if readout == "sum" else 1.0 / nb
            s_g = 0.0
            t_g = 0.0
            for u in range(na):
                for up in range(nb):
                    s_g += ra * rb * sigma[u][up]
                    t_g += ra * rb * theta[u][up]
            nngp[i, j] = W2 * s_g + b2
            ntk[i, j] = nngp[i, j] + W2 * t_g
    return ntk, nngp


# --------------------------------------------------------------------------- vectorized form


def _edge_arrays(adjacency: np.ndarray, aggregation: str) -> tuple[np.ndarray, ...]:
    """``(u, v, w, p)`` arrays of the ordered edges, and the incidence ``(E, N)`` of ``u``
    weighted by ``P_uv`` (the aggregation matrix from edges to their receiving node)."""
    n = adjacency.shape[0]
    u, v = np.nonzero(adjacency > 0)
    count = np.bincount(u, minlength=n).astype(np.float64)
    p = np.ones(u.size) if aggregation == "sum" else 1.0 / count[u]
    into = np.zeros((u.size, n))
    into[np.arange(u.size), u] = p
    return u, v, adjacency[u, v].astype(np.float64), into


def _propagate_numpy(graph_a, graph_b, settings, variances_a, variances_b):
    """:func:`_propagate` with every edge pair of a layer as one ``(E, E')`` NumPy array.

    The same recursion as the loop (module docstring); aggregation is ``A^T K_m B`` with the
    weighted incidence matrices ``A``, ``B`` (``O(E E' (N + N'))``, plain matrix products).
    """
    xa, adj_a = graph_a
    xb, adj_b = graph_b
    depth = settings["depth"]
    W2 = settings["W_std"] ** 2
    b2 = 0.0 if settings["b_std"] is None else settings["b_std"] ** 2
    ua, va_, wa, into_a = _edge_arrays(adj_a, settings["aggregation"])
    ub, vb_, wb, into_b = _edge_arrays(adj_b, settings["aggregation"])
    sigma = xa @ xb.T / xa.shape[1]
    theta = np.zeros_like(sigma)
    used = []
    for layer in range(depth):
        if variances_a is None:
            qa_nodes = qb_nodes = np.diagonal(sigma).copy()
        else:
            qa_nodes, qb_nodes = np.asarray(variances_a[layer]), np.asarray(variances_b[layer])
        used.append(list(qa_nodes))
        c_self, c_nbr, c_edge = _group_coefficients(
            layer, xa.shape[1], settings["W_std"], settings["edge_weights"]
        )
        qa = c_self * qa_nodes[ua] + c_nbr * qa_nodes[va_] + c_edge * wa * wa + b2
        qb = c_self * qb_nodes[ub] + c_nbr * qb_nodes[vb_] + c_edge * wb * wb + b2
        kz = (
            c_self * sigma[np.ix_(ua, ub)]
            + c_nbr * sigma[np.ix_(va_, vb_)]
            + c_edge * np.outer(wa, wb)
            + b2
        )
        tz = c_self * theta[np.ix_(ua, ub)] + c_nbr * theta[np.ix_(va_, vb_)] + kz
        r = np.sqrt(np.outer(qa, qb))  # sqrt(q q) == q exactly: cos = 1 for an edge with itself
        ok = r > 0
        c = np.clip(np.where(ok, kz / np.where(ok, r, 1.0), 0.0), -1.0, 1.0)
        t = np.arccos(c)
        k1 = np.where(ok, r * (np.sin(t) + (np.pi - t) * c) / (2.0 * np.pi), 0.0)
        k0 = np.where(ok, (np.pi - t) / (2.0 * np.pi), 0.0)
        km = W2 * k1 + b2
        tm = km + W2 * tz * k0
        sigma, theta = into_a.T @ km @ into_b, into_a.T @ tm @ into_b
    return sigma, theta, used


def gnn_kernel_numpy(
    graphs1, graphs2, *, depth, aggregation, readout, edge_weights, W_std, b_std
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`gnn_kernel_reference` vectorized over edge pairs (NumPy arrays, no Python loop
    over edges): the "plain-NumPy edge-list recursion" that ntkx's speed is compared with.
    Same arguments and result; tested against the loop form in ``tests/test_gnn_reference.py``.
    """
    settings = _settings(depth, aggregation, readout, edge_weights, W_std, b_std)
    g1 = [_check_graph(i, g) for i, g in enumerate(graphs1)]
    g2 = [_check_graph(i, g) for i, g in enumerate(graphs2)]
    var1 = [_propagate_numpy(g, g, settings, None, None)[2] for g in g1]
    var2 = [_propagate_numpy(g, g, settings, None, None)[2] for g in g2]
    W2 = settings["W_std"] ** 2
    b2 = 0.0 if b_std is None else settings["b_std"] ** 2
    ntk = np.empty((len(g1), len(g2)))
    nngp = np.empty((len(g1), len(g2)))
    for i, ga in enumerate(g1):
        for j, gb in enumerate(g2):
            sigma, theta, _ = _propagate_numpy(ga, gb, settings, var1[i], var2[j])
            ra = 1.0 if readout == "sum" else 1.0 / sigma.shape[0]
            rb = 1.0 if readout == "sum" else 1.0 / sigma.shape[1]
            nngp[i, j] = W2 * ra * rb * sigma.sum() + b2
            ntk[i, j] = nngp[i, j] + W2 * ra * rb * theta.sum()
    return ntk, nngp


def random_graph(rng, n, *, weighted, n_features=3):
    """A connected random graph: ``(features (n, n_features), adjacency (n, n))``.

    A random spanning tree plus each other edge with probability 0.3; weights U[0.5, 2] if
    ``weighted``, else 1; standard normal features.
    """
    adj = np.zeros((n, n))
    order = rng.permutation(n)
    for k in range(1, n):  # a random spanning tree keeps the graph connected
        u, v = order[k], order[rng.integers(k)]
        adj[u, v] = adj[v, u] = 1.0
    for u in range(n):
        for v in range(u + 1, n):
            if rng.random() < 0.3:
                adj[u, v] = adj[v, u] = 1.0
    if weighted:
        w = np.triu(rng.uniform(0.5, 2.0, (n, n)), 1)
        adj = adj * (w + w.T)
    return rng.normal(size=(n, n_features)), adj
