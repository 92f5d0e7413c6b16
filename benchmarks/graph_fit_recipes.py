"""Which training recipe makes the sum-aggregation / sum-readout GNNs fit (issue 13, item 3).

The paper's comparisons (Xu et al., ICLR 2021, arXiv 2009.11848, Section 4) hold min against sum
aggregation on shortest path and max against sum readout on max degree. A comparison means
something only if the losing architecture fits its own training data. With the paper's
optimiser settings (Adam, lr 0.005 / 0.01, weight decay 1e-5, lr halved every 50 epochs) the
sum models do not: their outputs at initialisation are ~1e4 (a sum over ~25 neighbours per
layer) and training stalls. This script keeps each architecture unchanged and varies only the
training recipe, printing one row per recipe: the training MAPE (mean absolute percentage error,
%), and the in-distribution test MAPE.

Recipes (each a change to the baseline, combined where named):

* ``paper``: the paper's optimiser; NTK parameterisation, raw labels.
* ``label_norm``: train on ``y / mean(y_train)``, predict times the same constant.
* ``init_scale=c``: every initial parameter times ``c`` (the network is the same function
  class; only the starting point is smaller).
* ``standard``: standard parameterisation (PyTorch-like), same architecture.
* ``input_norm``: the random node feature divided by its range (5) and the edge weights by
  the largest training weight (5), so the labels (distances) too; relative errors unchanged.
* ``lr``, ``epochs``: learning rate and length (the halving period grows with the length).

Run: ``uv run python benchmarks/graph_fit_recipes.py --task shortest_path [--recipes a b]``;
each recipe is one training run (about 1-3 minutes on 2 shared cores at the default size).
A recipe may also be given as ``field=value,...`` (fields of :class:`Recipe`, on ``paper``).
``--aligned`` trains the aligned model (min aggregation / max readout) instead. ``--large 100
200`` adds max-degree test sets of larger graphs; ``--analysis`` prints the function-class
bounds and the smooth-``g`` analysis below and trains nothing (``--n-train 500`` etc. for the
bounds at other sizes).

Measured (seed 0, 200 general training graphs of 20-30 nodes, width 64, 50 in-distribution
test graphs; 2 cores shared with other jobs, load 5-9; MAPE in %; the best constant predictor
has train MAPE 32.7% on shortest path and 36.4% on max degree).

Shortest path, sum aggregation, min readout, 3 layers (the paper's setting, weights U[1, 5]):

=============================================================  =========  ========
recipe                                                         train      test
=============================================================  =========  ========
paper (Adam lr 0.005, 100 epochs, halving every 50)            484        1210
label_norm                                                     1770       4180
standard parameterisation                                      209        295
standard + label_norm                                          580        1090
lr / 5 + label_norm (+ 300 epochs)                             3740 (1940) 6720 (5650)
init_scale 0.3 / 0.1 / 0.03 (+ label_norm)                     29 / 27 / 32  31-38
input_norm (inputs and labels / 5)                             534        1640
input_norm + init_scale 0.3                                    19.2       35.9
**input_norm + init_scale 0.3 + 1000 epochs (halving 300)**    **1.81**   35.1
same with lr 0.001                                             4.47       38.8
=============================================================  =========  ========

The aligned model (min aggregation): paper 19.7 / 37.4; init_scale 0.3: 17.6 / 19.2;
input_norm + init_scale 0.3 + 300 epochs (halving 100): 8.61 / 11.6 (348 s). The sum model
fits (train 1.8%) only with the three together: O(1) inputs and labels, a 0.3x smaller
initial network and 1,000 epochs; it then over-fits (test 35% in distribution).

Max degree, sum aggregation, sum readout, 2 layers, identical node features:

=============================================================  =========  ========
recipe                                                         train      test
=============================================================  =========  ========
paper (Adam lr 0.01, batch 64, 100 epochs)                     71.8       74.0
label_norm                                                     649        676
500 epochs (halving 150)                                       43.4       44.5
init_scale 0.3 / 0.1 / 0.03                                    8.9 / 9.0 / 9.0  7.9-8.4
init_scale 0.1 + 1000 epochs (halving 300), lr 0.01 / 0.003    8.4 / 8.7  7.6 / 7.9
init_scale 0.3 + label_norm + 500 epochs                       9.2        7.9
init_scale 0.1, width 256, 300 epochs                          9.03       8.48
init_scale 0.3, batch 16, 300 epochs                           9.32       9.56
standard parameterisation + init_scale 0.3                     18.5       20.6
init_scale 0.3, lr 0.03                                        17.8       19.4
=============================================================  =========  ========

Why the plateau at ~8.5% (measured, seed 0): the function class is not the limit on 200 graphs
(with identical features the 2-layer sum/sum GNN computes ``b + sum over ordered edges g(deg u,
deg v)`` for a function ``g`` its MLPs represent, and a linear program finds such a ``g`` with
training MAPE 0%); the optimisation is. After 300-400 epochs of the ``init_scale 0.3`` recipe the
network's training RMSE is 1.64, worse than the two-parameter fit ``a |E| + b`` (1.36), while a
least-squares refit of its own last linear map on its learned hidden features reaches 0.77
(train MAPE 3.9-4.2%). The features, sums of ReLUs over ~600 ordered edges, are nearly
collinear: for 64 random ReLU features of the normalised degree pair (``--analysis``) the
centred singular values fall from 5.9 to 0.35 within 10 directions and to 0.0044 within 20, and
the MAPE left after projecting the labels on the top 1, 10 and 20 directions is 9.6%, 4.6% and
4.3%. Adam therefore stalls in
the first directions; full batches and decaying rates do not change it (8.8% after 600 epochs).

What does help is giving the network standardized labels (``label_standardize``: train on
``(y - mean) / std``, predict ``mean + std f``; fixed constants, an affine reparameterisation of
the output layer) from a small start (``init_scale 0.1``), with more, smaller steps:

=====================================================================  =======  ======  =====
recipe (sum readout, 2 layers, width 64, 200 graphs; load 4-13)        train    test    s
=====================================================================  =======  ======  =====
label_standardize                                                      199      201     15
label_standardize + init_scale 0.3 (+ 300 epochs)                      19.7     24.3
label_standardize + init_scale 0.1 + lr 0.003, 300 epochs              6.75     8.89    26
same, lr 0.01 / 0.001                                                  6.58/7.15
same + b_std 1.0                                                       5.94     7.97    27
label_standardize + init 0.1 + lr 0.003, 1000 epochs (halving 300)     5.21     7.21    79
same + b_std 1.0                                                       4.66     6.63    90
same + b_std 1.0 + batch 16                                            4.15     5.67    56
same + b_std 1.0 + batch 8 (batch 16, 2000 epochs)                     3.98 (4.04)  5.56    63
label_standardize + init 0.1 + lr 0.003 + batch 16, 1000 epochs        4.67     6.46    58
same with label_norm (y / mean) instead                                5.6      6.11    59
same, seed 1                                                           4.86     5.72    60
**label_standardize + init 0.1 + lr 0.003 + batch 8, 1000 epochs**     **4.41** 6.08    56
same, seed 1                                                           4.52     5.26    51
=====================================================================  =======  ======  =====

The bold row is ``ntkx.graphs.experiment.FIT_RECIPES["max_degree"]`` (b_std stays the
experiment's 0.1). It passes the 5% fit gate, not the 2% target. 2% is out of reach in the
paper's setting for *any* width and training: the same linear program over every function ``g``
of the degree pair gives a best training MAPE of 0% on 200 graphs but 2.04% on 500, 3.17% on
1,000 and 3.84% on 2,000 training graphs (the paper trains on 5,000); on 200 graphs 2% means
memorising a non-smooth ``g`` (polynomials ``g`` of degree 1-6 reach only 7.0% down to 3.8%;
64 random ReLU features of the normalised degrees 4.3%, 256 2.5%, 1,024 0% (test 18%), with
their best readout; ``--analysis``, and ``--analysis --n-train 500`` etc. for the bounds).

The max-readout GNN under the same recipe fits (train 0.46%) but extrapolates worse than under
``init_scale 0.3`` alone (32.7% on 90-100-node graphs), so each model is best trained with its
own recipe before comparing (README, "Fitting recipes").

2-layer max readout at larger sizes (issue 10, item 3; ``--aligned --n-train 1000 --large 100
200``: 20 general test graphs of 90-100 and 190-200 nodes; 100 epochs; MAPE %):

=====================================  ======  ======  ======  ======  ====
recipe (seed)                          train   test    n100    n200    s
=====================================  ======  ======  ======  ======  ====
paper (0)                              8.94    11.5    103     240     47
init_scale 0.3 (0)                     0.33    0.41    5.86    21.3    25
init_scale 0.3 (1)                     0.32    0.21    1.87    5.31    39
init_scale 0.3 (2)                     0.15    0.15    13.9    45.2    33
init_scale 0.1 (0)                     0.31    0.30    5.43    13.5    45
b_std 1.0 (0)                          3.01    4.28    14.3    50.1    43
init_scale 0.3, 250 epochs (0)         0.21    0.26    5.38    20.3    106
init_scale 0.3, weight decay 1e-3 (0)  0.32    0.30    4.46    16.1    46
init_scale 0.3, weight decay 1e-4 (0)  0.20    0.20    1.10    2.56    33
init_scale 0.3, weight decay 1e-4 (1)  0.35    0.23    2.08    8.40    17
init_scale 0.3, weight decay 1e-4 (2)  0.47    0.43    10.6    30.6    29
init_scale 0.1, weight decay 1e-4 (1)  0.29    0.22    2.84    6.53    32
init_scale 0.1, weight decay 1e-4 (2)  0.59    0.63    16.1    44.2    31
init_scale 0.3, feature_scale 0.1 (0)  0.44    0.50    7.90    18.4    43
init_scale 0.3, feature_scale 0.1 (2)  0.38    0.37    1.80    5.15    39
init_scale 0.3, width 128 (0)          0.18    0.19    10.6    29.2    81
init_scale 0.3, width 128 (2)          0.28    0.30    28.1    82.1    103
init_scale 0.3, lr 0.003 (0)           2.26    2.67    18.6    43.8    37
init_scale 0.3, lr 0.003 (2)           4.60    4.56    35.3    106     21
=====================================  ======  ======  ======  ======  ====

The paper recipe is under-trained at this size (train 8.9%); a 0.3x initial scale fixes the fit
(0.15-0.35% train and in-distribution test) and brings 100-node graphs from 103% to 2-14%. The
rest is not under-training: with train and in-distribution errors all below 0.6%, the 200-node
error ranges from 2.6% to 45% over three seeds of the *same* recipe. The second aggregation sums
``G(deg u, deg v)`` over neighbours, and max degree needs ``G`` constant; the training degrees
(at most 29) pin ``G`` only on the degree pairs near each graph's maximum, so its slopes beyond
(degrees up to ~190 at 200 nodes) depend on the initialisation: the error grows with the
degree. No lever tried holds <= 5% at 200 nodes across seeds: weight decay 1e-4 helps seed 0
only, identical features of 0.1 instead of 1 (``feature_scale``) seed 2 only (45% -> 5.2%),
width 128 makes it worse, and a smaller learning rate (0.003) under-trains.
``benchmarks/graph_max_degree_large.py`` runs these causes over seeds with a probe of the
trained network (README, "Max degree at larger sizes (diagnosis)"): the error is the second
layer's ReLU kinks at the top of the training degrees; feature_scale 10 with weight decay 1e-4
is the best recipe found (4.0 / 16 / 10.8% at 190-200 nodes, seeds 0-2), not within 5%.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import jax
import numpy as np
import scipy.optimize

import ntkx
from ntkx.core.training import train_adam
from ntkx.graphs.experiment import message_mlp_mask
from ntkx.metrics import mape_mean


@dataclasses.dataclass(frozen=True)
class Recipe:
    lr: float
    epochs: int = 100
    halving: int | None = 50
    label_norm: bool = False
    init_scale: float = 1.0
    parameterization: str = "ntk"
    batch_size: int = 32
    input_norm: bool = False
    b_std: float = 0.1
    width: int | None = None
    feature_scale: float = 1.0
    label_standardize: bool = False
    weight_decay: float = 1e-5
    l1: float = 0.0
    #: what ``l1`` acts on: ``"messages"`` (every message-MLP weight and bias, ``ntkx graph
    #: --l1``) or ``"layer2_in"`` (only the second message MLP's input weight matrix)
    l1_on: str = "messages"
    #: ``train_adam``'s ``l1_method``: ``"subgradient"`` or ``"proximal"`` (exact zeros)
    l1_method: str = "subgradient"
    #: ReLU after each message MLP's output (the official code's; ``ntkx.gnn(message_relu=)``)
    message_relu: bool = False


def recipes(task: str) -> dict[str, Recipe]:
    lr = 0.005 if task == "shortest_path" else 0.01
    bs = 32 if task == "shortest_path" else 64
    base = Recipe(lr=lr, batch_size=bs)
    r = dataclasses.replace
    return {
        "paper": base,
        "label_norm": r(base, label_norm=True),
        "standard": r(base, parameterization="standard"),
        "standard+label_norm": r(base, parameterization="standard", label_norm=True),
        "init_scale=0.3": r(base, init_scale=0.3),
        "init_scale=0.3+label_norm": r(base, init_scale=0.3, label_norm=True),
        "lr/5+label_norm": r(base, lr=lr / 5, label_norm=True),
        "lr/5+label_norm+300ep": r(base, lr=lr / 5, label_norm=True, epochs=300, halving=100),
        "standard+label_norm+lr/5+300ep": r(
            base, parameterization="standard", label_norm=True, lr=lr / 5, epochs=300, halving=100
        ),
        "init_scale=0.3+label_norm+lr/5+300ep": r(
            base, init_scale=0.3, label_norm=True, lr=lr / 5, epochs=300, halving=100
        ),
        "input_norm": r(base, input_norm=True),
        "input_norm+init_scale=0.3": r(base, input_norm=True, init_scale=0.3),
        "input_norm+init_scale=0.1": r(base, input_norm=True, init_scale=0.1),
        "input_norm+init_scale=0.1+300ep": r(
            base, input_norm=True, init_scale=0.1, epochs=300, halving=100
        ),
        "init_scale=0.1": r(base, init_scale=0.1),
        "init_scale=0.1+label_norm": r(base, init_scale=0.1, label_norm=True),
        "init_scale=0.03+label_norm": r(base, init_scale=0.03, label_norm=True),
        "init_scale=0.1+label_norm+lr/5": r(base, init_scale=0.1, label_norm=True, lr=lr / 5),
        "init_scale=0.1+label_norm+300ep": r(
            base, init_scale=0.1, label_norm=True, epochs=300, halving=100
        ),
    }


def data(task: str, n_train: int, seed: int, large: tuple[int, ...] = (), families=("general",),
         n_large: int = 20):  # fmt: skip
    """Training graphs (20-30 nodes; max degree: from ``families``, graph ``i`` from family
    ``i % len``), 50 in-distribution test graphs and, for max degree, ``n_large`` general test
    graphs of ``n - 10 .. n`` nodes for each ``n`` in ``large``."""
    rng = np.random.default_rng(seed)
    if task == "shortest_path":
        train = ntkx.shortest_path_dataset(n_train, "general", 20, 30, seed=rng)
        test = ntkx.shortest_path_dataset(50, "general", 20, 30, seed=rng)
        return train, {"test": test}
    train = ntkx.max_degree_dataset(n_train, list(families), 20, 30, seed=rng)
    tests = {"test": ntkx.max_degree_dataset(50, "general", 20, 30, seed=rng)}
    for n in large:
        tests[f"n{n}"] = ntkx.max_degree_dataset(n_large, "general", n - 10, n, seed=rng)
    return train, tests


#: The architecture trained (``--aligned``: the aligned one, for reference).
ARCH: dict[str, str] = {"agg": "sum"}


def spec(task: str, width: int, parameterization: str, b_std: float = 0.1,
         message_relu: bool = False):  # fmt: skip
    if task == "shortest_path":
        return ntkx.gnn(3, ARCH["agg"], "min", width, b_std=b_std, edge_weights=True,
                        parameterization=parameterization, message_relu=message_relu)  # fmt: skip
    readout = "max" if ARCH["agg"] != "sum" else "sum"
    return ntkx.gnn(2, "sum", readout, width, b_std=b_std, parameterization=parameterization,
                    message_relu=message_relu)  # fmt: skip


def normalise_inputs(d, task: str):
    """Inputs scaled to O(1): the random node feature by its range 5, edge weights (and so the
    distances, the labels) by the largest training weight 5. Returns (data, label factor)."""
    if task != "shortest_path":
        return d, 1.0
    f = np.array(d.batch.features)
    f[..., 0] /= 5.0
    batch = ntkx.GraphBatch(f, np.asarray(d.batch.adjacency) / 5.0, d.batch.mask)
    return d._replace(batch=batch, labels=d.labels / 5.0), 5.0


def _scale_features(d, c: float):
    batch = ntkx.GraphBatch(np.asarray(d.batch.features) * c, d.batch.adjacency, d.batch.mask)
    return d._replace(batch=batch)


def fit(task: str, recipe: Recipe, train, tests, width: int, seed: int, return_params=False):
    factor = 1.0
    if recipe.input_norm:
        train, factor = normalise_inputs(train, task)
        tests = {k: normalise_inputs(d, task)[0] for k, d in tests.items()}
    if recipe.feature_scale != 1.0:
        train = _scale_features(train, recipe.feature_scale)
        tests = {k: _scale_features(d, recipe.feature_scale) for k, d in tests.items()}
    net = spec(task, recipe.width or width, recipe.parameterization, recipe.b_std,
               recipe.message_relu)  # fmt: skip
    k_init, k_train = jax.random.split(jax.random.key(seed))
    params = net.init(k_init, train.batch.feature_dim)
    params = jax.tree_util.tree_map(lambda p: p * recipe.init_scale, params)
    scale = float(np.mean(train.labels)) if recipe.label_norm else 1.0
    shift = 0.0
    if recipe.label_standardize:  # fixed constants: an affine reparameterisation of the output
        shift, scale = float(np.mean(train.labels)), float(np.std(train.labels))
    t0 = time.perf_counter()
    res = train_adam(
        net, params, train.batch, (train.labels - shift) / scale, key=k_train,
        learning_rate=recipe.lr, epochs=recipe.epochs, batch_size=recipe.batch_size,
        weight_decay=recipe.weight_decay, lr_halving_every=recipe.halving,
        l1=recipe.l1, l1_mask=l1_mask(params, recipe.l1_on), l1_method=recipe.l1_method,
    )  # fmt: skip
    seconds = time.perf_counter() - t0

    def mape(d):  # relative errors: the same on normalised labels
        return mape_mean(d.labels, shift + scale * np.asarray(net.apply(res.params, d.batch))[:, 0])

    del factor
    row = {"train_mape": mape(train), **{k: mape(d) for k, d in tests.items()}, "s": seconds}
    return (row, net, res.params) if return_params else row


def l1_mask(params, on: str):
    """``train_adam``'s ``l1_mask`` for :attr:`Recipe.l1_on` (``params``: :func:`ntkx.gnn`'s
    list of dense layers ``(W, b)``, two per message MLP, then the readout)."""
    if on == "messages":
        return message_mlp_mask(params)
    if on == "layer2_in":
        return [
            tuple(None if leaf is None else (i == 2 and j == 0) for j, leaf in enumerate(layer))
            for i, layer in enumerate(params)
        ]
    raise ValueError(f"l1_on={on!r} is not allowed; expected 'messages' or 'layer2_in'")


def best_mape(rows: list[np.ndarray], y: np.ndarray) -> float:
    """Smallest training MAPE (%) of ``x -> rows @ x`` over all ``x``: a linear program,
    minimise ``mean_i t_i`` subject to ``|rows_i . x - y_i| / y_i <= t_i`` (SciPy HiGHS)."""
    a = np.asarray(rows, dtype=np.float64)
    n, k = a.shape
    scaled = a / y[:, None]
    a_ub = np.block([[scaled, -np.eye(n)], [-scaled, -np.eye(n)]])
    b_ub = np.concatenate([np.ones(n), -np.ones(n)])
    cost = np.concatenate([np.zeros(k), np.ones(n) / n])
    bounds = [(None, None)] * k + [(0, None)] * n
    res = scipy.optimize.linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    return 100 * float(res.fun)


def max_degree_design(graphs) -> tuple[np.ndarray, np.ndarray]:
    """Design matrices ``(nodes, edges)`` of the two function classes of :func:`max_degree_bounds`:
    row ``i`` of ``nodes`` is ``[1, #nodes of degree 0, 1, ...]`` of graph ``i`` (so
    ``nodes @ x`` is ``c + sum_u h(deg u)``), row ``i`` of ``edges`` is ``[1, #edges with sorted
    degree pair (a, b) for a <= b]`` (so ``edges @ x`` is ``c + sum_edges g(deg u, deg v)`` for a
    symmetric ``g``)."""
    top = 1 + max(max(d for _, d in g.degree()) for g in graphs)
    nodes, edges = [], []
    iu = np.triu_indices(top)
    for g in graphs:
        deg = dict(g.degree())
        nodes.append(np.concatenate([[1.0], np.bincount(list(deg.values()), minlength=top)]))
        h = np.zeros((top, top))
        for u, v in g.edges:
            a, b = sorted((deg[u], deg[v]))
            h[a, b] += 1
        edges.append(np.concatenate([[1.0], h[iu]]))
    return np.asarray(nodes), np.asarray(edges)


def max_degree_bounds(train) -> dict[str, float]:
    """The best training MAPE of two function classes containing the sum-readout GNNs with
    identical features: ``c + sum_u h(deg u)`` (contains the 1-layer GNN, which is
    ``a |E| + b``) and ``c + sum_edges g(deg u, deg v)`` (exactly the 2-layer GNN's class for
    an arbitrary MLP function ``g``)."""
    nodes, edges = max_degree_design(train.graphs)
    return {"sum_u h(deg u)": best_mape(nodes, train.labels),
            "sum_edges g(deg u, deg v)": best_mape(edges, train.labels)}  # fmt: skip


def _degree_pairs(graphs) -> list[np.ndarray]:
    """Every ordered edge's ``(deg u, deg v) / 30`` per graph."""
    out = []
    for g in graphs:
        d = dict(g.degree())
        pairs = [(d[u], d[v]) for u, v in g.edges] + [(d[v], d[u]) for u, v in g.edges]
        out.append(np.asarray(pairs, dtype=np.float64) / 30.0)
    return out


def smooth_g_analysis(train, test, seed: int = 0) -> None:
    """Why training stalls (sum readout, identical features): best training MAPE when ``g`` is a
    polynomial of the degree pair (linear program), the best readout of random ReLU features
    ``relu(a . (du, dv) / 30 + c)`` summed over edges (least squares), and the MAPE left after
    projecting the centred labels on the top principal directions of 64 such features."""
    y, pairs, pairs_t = train.labels, _degree_pairs(train.graphs), _degree_pairs(test.graphs)
    for degree in range(1, 7):
        rows = [
            [1.0] + [np.sum(e[:, 0] ** i * e[:, 1] ** j) for i in range(degree + 1)
                     for j in range(degree + 1 - i)]
            for e in pairs
        ]  # fmt: skip
        print(f"g a polynomial of degree {degree}: best train MAPE {best_mape(rows, y):.3g}%")
    rng = np.random.default_rng(seed)
    for width in (16, 64, 256, 1024):
        a, c = rng.normal(size=(2, width)), rng.normal(size=width)

        def feats(ps):
            return np.array([np.r_[1.0, len(e), np.maximum(e @ a + c, 0).sum(0)] for e in ps])  # noqa: B023

        x, xt = feats(pairs), feats(pairs_t)
        w = np.linalg.lstsq(x, y, rcond=None)[0]
        fit, held_out = mape_mean(y, x @ w), mape_mean(test.labels, xt @ w)
        print(f"{width} random ReLU features, least squares: train MAPE {fit:.3g}%, "
              f"test {held_out:.3g}%")  # fmt: skip
    a, c = rng.normal(size=(2, 64)), rng.normal(size=64)
    x = np.array([np.maximum(e @ a + c, 0).sum(0) for e in pairs])
    x = x[:, x.std(0) > 0] - x[:, x.std(0) > 0].mean(0)
    u, sv, _ = np.linalg.svd(x / np.linalg.norm(x, axis=0), full_matrices=False)
    yc = y - y.mean()
    for k in (1, 2, 5, 10, 20):
        r = yc - u[:, :k] @ (u[:, :k].T @ yc)
        print(f"top {k} directions (singular value {sv[k - 1]:.2g}): MAPE left "
              f"{100 * np.mean(np.abs(r) / y):.3g}%")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("shortest_path", "max_degree"), default="shortest_path")
    parser.add_argument("--recipes", nargs="*", default=None)
    parser.add_argument("--n-train", type=int, default=200)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--large", type=int, nargs="*", default=(), help="max degree: also test on 20 general "
        "graphs of n-10..n nodes for each n given (e.g. 100 200)"
    )  # fmt: skip
    parser.add_argument(
        "--aligned", action="store_true", help="train the aligned model (min aggregation / max "
        "readout) instead of the sum model, for reference"
    )  # fmt: skip
    parser.add_argument(
        "--analysis", action="store_true", help="max degree: print the function-class bounds "
        "and the smooth-g analysis, train nothing"
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.aligned:
        ARCH["agg"] = "min" if args.task == "shortest_path" else "max"
    table = recipes(args.task)
    for name in args.recipes or []:
        if name not in table and "=" in name:  # ad hoc: "field=value,field=value" on "paper"
            fields = dict(kv.split("=") for kv in name.split(","))
            types = {f.name: f.type for f in dataclasses.fields(Recipe)}
            conv = {
                "float": float, "int": int, "bool": lambda v: v in ("1", "true", "True"),
                "str": str, "int | None": lambda v: None if v == "None" else int(v),
            }  # fmt: skip
            table[name] = dataclasses.replace(
                table["paper"], **{k: conv[types[k]](v) for k, v in fields.items()}
            )
    names = args.recipes or list(table)
    train, tests = data(args.task, args.n_train, args.seed, tuple(args.large))
    const = mape_mean(train.labels, np.full(len(train.labels), np.median(train.labels)))
    print(f"{args.task}: {args.n_train} general training graphs of 20-30 nodes, width "
          f"{args.width}, seed {args.seed}, model {spec(args.task, args.width, 'ntk')}; the best "
          f"constant (median label) has train MAPE {const:.3g}%")  # fmt: skip
    if args.task == "max_degree":
        for cls, value in max_degree_bounds(train).items():
            print(f"best train MAPE of any c + {cls}: {value:.3g}% (linear program)")
        if args.analysis:
            smooth_g_analysis(train, tests["test"], args.seed)
            return
    extra = "".join(f" {k + ' %':>8s}" for k in tests if k != "test")
    print(f"{'recipe':42s} {'train MAPE %':>12s} {'test MAPE %':>12s}{extra} {'s':>6s}")
    rows = {}
    for name in names:
        row = fit(args.task, table[name], train, tests, args.width, args.seed)
        rows[name] = row
        more = "".join(f" {row[k]:8.3g}" for k in tests if k != "test")
        print(f"{name:42s} {row['train_mape']:12.3g} {row['test']:12.3g}{more} {row['s']:6.0f}",
              flush=True)  # fmt: skip
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
