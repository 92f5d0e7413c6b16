r"""Independent NumPy reference: the GNTK of Du et al. (NeurIPS 2019) in its Kronecker form.

Plain NumPy + ``scipy.sparse`` only; never imports ntkx, jax or neural-tangents. Written from
the paper (Du, Hou, Poczos, Salakhutdinov, Wang, Xu, "Graph Neural Tangent Kernel", arXiv
1905.13192, Section 4 and Appendix) with the conventions of the authors' public numpy code
(``gntk.py``), so that ``gntk_reference`` returns the number their code returns:

* graphs are read with self loops: ``A = adjacency pattern + I`` (``N(u) ∪ {u}``);
* ``num_layers`` counts the input layer (``L = num_layers - 1`` aggregation steps), each
  followed by ``num_mlp_layers`` fully connected ReLU layers; readout is the sum over nodes;
* the input kernel is the raw feature dot product ``Sigma^(0) = X X'^T`` (no ``1 / F``);
* ReLU with ``c_sigma = 2``: for covariance ``s`` and variances ``q, q'``, with
  ``cos t = s / sqrt(q q')``:
  ``Sigma <- c_sigma E[relu relu] = sqrt(q q') (sin t + (pi - t) cos t) / pi`` and
  ``dot Sigma = c_sigma E[relu' relu'] = (pi - t) / pi``;
* scale ``"uniform"``: ``c_u = 1``; ``"degree"``: ``c_u = 1 / (|N(u)| + 1)``, the row sums of
  ``A + I`` (their ``scale_mat = 1 / outer(deg, deg')``);
* aggregation (the Kronecker form): ``vec(Sigma_agg) = (A ⊗ A') vec(Sigma)`` (row-major vec,
  a sparse ``(N N') x (N N')`` matrix), then times ``c_u c_u'``; the same for ``Theta``;
* recursion: ``Sigma = Theta = agg(X X'^T)``; for ``l = 1 .. L``: ``num_mlp_layers`` times
  ``(Sigma, dot Sigma) <- relu(Sigma)``, ``Theta <- Theta * dot Sigma + Sigma``; then, except
  after the last step, ``Sigma, Theta <- agg(Sigma), agg(Theta)``. The variances of each ReLU
  are the diagonals of the same recursion run on the graph with itself;
* result (their code): ``2 * sum_{u u'} Theta^(L)`` without jumping knowledge, and with it
  ``2 * sum_{u u'} (X X'^T + sum_{l=1..L} Theta^(l))`` — layers ``0..L``, the raw input
  kernel included, each ``Theta^(l)`` taken after the MLP of step ``l`` and before the next
  aggregation. The factor 2 is theirs (``np.sum(ntk) * 2``); the paper's Theta lacks it.

The NNGP (not returned by their code) is reported with the same conventions:
``2 * sum Sigma^(L)`` (with jumping knowledge ``2 * sum (X X'^T + sum_l Sigma^(l))``).

One deliberate difference from their code: the cosine is ``s / sqrt(q q')`` rather than
``s / sqrt(q) / sqrt(q')``. For a graph with itself the first is exactly 1 (``sqrt(q * q)``
is ``q`` in IEEE arithmetic) while the second can be 1 - 1 ulp, which moves the angle by
``sqrt(2 eps) ~ 1.5e-8``. Everything is float64 (their code builds ``A`` in float32).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sparse

__all__ = [
    "gntk_pair",
    "gntk_reference",
    "prepare_graph",
    "reference_settings",
    "self_variances",
]

SCALES = ("uniform", "degree")


def _relu(s: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(c_sigma E[relu(a) relu(b)], c_sigma E[relu'(a) relu'(b)])``, c_sigma = 2."""
    norm = np.sqrt(np.multiply.outer(q1, q2))
    safe = np.where(norm > 0, norm, 1.0)
    cos = np.clip(np.where(norm > 0, s / safe, 0.0), -1.0, 1.0)
    t = np.arccos(cos)
    sig = norm * (np.sqrt(1.0 - cos * cos) + (math.pi - t) * cos) / math.pi
    dot = np.where(norm > 0, (math.pi - t) / math.pi, 0.0)
    return sig, dot


def _with_self_loops(adjacency: np.ndarray) -> sparse.csr_matrix:
    a = (np.asarray(adjacency) > 0).astype(np.float64)
    np.fill_diagonal(a, 0.0)
    return sparse.csr_matrix(a + np.eye(a.shape[0]))


def _scale(a1: sparse.csr_matrix, a2: sparse.csr_matrix, scale: str) -> np.ndarray | float:
    if scale == "uniform":
        return 1.0
    d1 = np.asarray(a1.sum(axis=1)).ravel()
    d2 = np.asarray(a2.sum(axis=1)).ravel()
    return 1.0 / np.multiply.outer(d1, d2)


def _run(g1, g2, a1, a2, settings, var1, var2):
    """The recursion between two graphs: ``(sum Theta, sum Sigma)`` read out, and variances.

    ``var1``/``var2`` are the per-ReLU variance lists of each graph (``None`` for both: the
    graph with itself, variances taken from the recursion's own diagonal).
    """
    x1, x2 = g1[0], g2[0]
    n1, n2 = x1.shape[0], x2.shape[0]
    block = sparse.kron(a1, a2, format="csr")  # (A ⊗ A') on row-major vec(Sigma)
    scale = _scale(a1, a2, settings["scale"])

    def agg(s: np.ndarray) -> np.ndarray:
        return (block @ s.reshape(-1)).reshape(n1, n2) * scale

    sigma0 = x1 @ x2.T
    jump_ntk = sigma0.copy()
    jump_nngp = sigma0.copy()
    sigma = agg(sigma0)
    theta = sigma.copy()
    used = []
    index = 0
    for step in range(1, settings["num_layers"]):
        for _ in range(settings["num_mlp_layers"]):
            if var1 is None:
                q1 = q2 = np.diag(sigma).copy()
            else:
                q1, q2 = var1[index], var2[index]
            used.append(q1)
            sigma, dot = _relu(sigma, q1, q2)
            theta = theta * dot + sigma
            index += 1
        jump_ntk = jump_ntk + theta
        jump_nngp = jump_nngp + sigma
        if step != settings["num_layers"] - 1:
            sigma = agg(sigma)
            theta = agg(theta)
    if settings["jk"]:
        return 2.0 * np.sum(jump_ntk), 2.0 * np.sum(jump_nngp), used
    return 2.0 * np.sum(theta), 2.0 * np.sum(sigma), used


def reference_settings(num_layers: int, num_mlp_layers: int, jk: bool, scale: str) -> dict:
    """Validated settings (``num_layers`` counts the input layer, as in Du et al.'s code)."""
    if int(num_layers) != num_layers or num_layers < 2:
        raise ValueError("num_layers counts the input layer: expected an integer >= 2")
    if int(num_mlp_layers) != num_mlp_layers or num_mlp_layers < 1:
        raise ValueError("num_mlp_layers must be a positive integer")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}")
    return {
        "num_layers": int(num_layers),
        "num_mlp_layers": int(num_mlp_layers),
        "jk": bool(jk),
        "scale": scale,
    }


def prepare_graph(graph) -> tuple[tuple[np.ndarray, np.ndarray], sparse.csr_matrix]:
    """``((features, adjacency), A + I)`` of a ``(features (N, F), adjacency (N, N))`` pair."""
    x, adj = graph
    x = np.asarray(x, dtype=np.float64)
    adj = np.asarray(adj, dtype=np.float64)
    if x.ndim != 2 or adj.shape != (x.shape[0], x.shape[0]):
        raise ValueError("expected features (N, F) and adjacency (N, N)")
    return (x, adj), _with_self_loops(adj)


def self_variances(prepared, settings: dict) -> list[np.ndarray]:
    """The ReLU variances of a prepared graph with itself (their code's ``diag``)."""
    g, a = prepared
    return _run(g, g, a, a, settings, None, None)[2]


def gntk_pair(prepared1, prepared2, var1, var2, settings: dict) -> tuple[float, float]:
    """``(ntk, nngp)`` of two prepared graphs given their self variances (their ``gntk``)."""
    (g1, a1), (g2, a2) = prepared1, prepared2
    ntk, nngp, _ = _run(g1, g2, a1, a2, settings, var1, var2)
    return ntk, nngp


def gntk_reference(
    graphs1, graphs2, *, num_layers: int, num_mlp_layers: int, jk: bool, scale: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(ntk, nngp)``, each ``(len(graphs1), len(graphs2))``: Du et al.'s GNTK (their scaling).

    Each graph is ``(features (N, F), adjacency (N, N))`` with only its real nodes; edges are
    ``adjacency > 0`` (weights ignored), self loops are added. ``num_layers >= 2`` counts the
    input layer; ``scale`` is ``"uniform"`` or ``"degree"``; ``jk`` jumping knowledge.
    """
    settings = reference_settings(num_layers, num_mlp_layers, jk, scale)
    p1 = [prepare_graph(g) for g in graphs1]
    p2 = [prepare_graph(g) for g in graphs2]
    var1 = [self_variances(g, settings) for g in p1]
    var2 = [self_variances(g, settings) for g in p2]
    ntk = np.empty((len(p1), len(p2)))
    nngp = np.empty((len(p1), len(p2)))
    for i, ga in enumerate(p1):
        for j, gb in enumerate(p2):
            ntk[i, j], nngp[i, j] = gntk_pair(ga, gb, var1[i], var2[j], settings)
    return ntk, nngp
