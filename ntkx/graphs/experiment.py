"""Graph extrapolation experiments: train on small graphs, test on larger ones and other families.

The Python entry point is :func:`run_graph_experiment`; the command ``ntkx graph`` is
:func:`graph_main`. Each run writes ``results.json`` (settings, per-architecture test MAPE per
test-size bin and per family, per seed, and the max-degree spanning rank of the training set)
and two PNG plots: ``error_vs_size.png`` and ``per_family.png``.

Metric: MAPE is the *mean* absolute percentage error ``100 mean |y - y_hat| / |y|``, as in the
paper's graph code (arXiv 2009.11848, Section 4).

Methods: ``finite`` trains finite GNNs with :func:`ntkx.core.training.train_adam` (Adam, weight decay
1e-5, learning rate halved every 50 epochs); ``kernel`` solves kernel regression with the
closed-form kernel (sum/mean) or a Monte Carlo kernel (max/min) through
:func:`ntkx.core.solvers.solve_kernel_system`.

Example:
    >>> from ntkx.graphs.experiment import graph_main
    >>> graph_main(["--quick", "--out", "/tmp/ntkx-graph"])  # doctest: +SKIP
    0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, Final

import jax
import numpy as np

from ntkx.core.validation import check_choice, check_positive_int
from ntkx.graphs.message_passing import AGGREGATIONS, GNN, gnn, monte_carlo_kernel
from ntkx.graphs.sampling import (
    FAMILIES,
    GraphData,
    max_degree_dataset,
    shortest_path_dataset,
    spanning_rank,
)
from ntkx.metrics import mape_mean

__all__ = ["TASK_DEFAULTS", "graph_main", "run_graph_experiment"]

#: The paper's settings per task (layers, aggregation, readout, lr, batch) and sizes (train on
#: 20-30 nodes, test up to 100). Max degree uses the paper's 2 layers; ``layers=1`` is the
#: one-layer GNN of the max-degree theorem (measured to extrapolate far better with Adam here:
#: see ``examples/graph_max_degree.py``).
TASK_DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "max_degree": {
        "layers": 2,
        "aggregation": "sum",
        "readouts": ("max", "sum"),
        "aggregations": ("sum",),
        "learning_rate": 0.01,
        "batch_size": 64,
        "train_sizes": (20, 30),
        "test_sizes": ((20, 30), (30, 50), (50, 75), (75, 100)),
        "weight_range": (1.0, 5.0),
        "test_weight_range": (1.0, 5.0),
    },
    "shortest_path": {
        "layers": 3,
        "aggregation": "min",
        "readouts": ("min",),
        "aggregations": ("min", "sum"),
        "learning_rate": 0.005,
        "batch_size": 32,
        "train_sizes": (20, 30),
        "test_sizes": ((20, 30), (50, 75), (75, 100)),
        "weight_range": (1.0, 5.0),
        "test_weight_range": (1.0, 10.0),
    },
}


def _mape(y: Any, y_hat: Any) -> float:
    """The paper's graph-code MAPE (mean, not median): :func:`ntkx.metrics.mape_mean`."""
    return mape_mean(np.reshape(y, -1), np.reshape(y_hat, -1))


def _log(msg: str) -> None:
    print(f"[ntkx graph] {msg}", file=sys.stderr, flush=True)


def _dataset(task: str, n: int, families: Sequence[str], sizes: tuple[int, int], **kw: Any):
    if task == "max_degree":
        kw.pop("weight_range", None)
        return max_degree_dataset(n, families, sizes[0], sizes[1], **kw)
    kw.pop("features", None)
    return shortest_path_dataset(n, families, sizes[0], sizes[1], **kw)


def _predict_finite(
    net: GNN, train: GraphData, tests: list[GraphData], key: Any, cfg: dict[str, Any]
) -> tuple[list[np.ndarray], float]:
    from ntkx.core.training import train_adam

    k_init, k_train = jax.random.split(key)
    params = net.init(k_init, train.batch.features.shape[-1])
    res = train_adam(
        net,
        params,
        train.batch,
        train.labels,
        key=k_train,
        learning_rate=cfg["learning_rate"],
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        weight_decay=1e-5,
        lr_halving_every=50,
        progress=cfg["progress"],
    )
    preds = [np.asarray(net.apply(res.params, t.batch))[:, 0] for t in tests]
    train_pred = np.asarray(net.apply(res.params, train.batch))[:, 0]
    return preds, _mape(train.labels, train_pred)


def _predict_kernel(
    net: GNN, train: GraphData, tests: list[GraphData], key: Any, cfg: dict[str, Any]
) -> tuple[list[np.ndarray], float]:
    from ntkx.core.solvers import solve_kernel_system

    if net.has_closed_form and not cfg["monte_carlo"]:

        def kern(a: Any, b: Any) -> np.ndarray:
            return net.kernel(a, b, dtype="float64", progress=cfg["progress"])

    else:

        def kern(a: Any, b: Any) -> np.ndarray:
            # The same key gives the same networks for every block, so blocks are consistent.
            est = monte_carlo_kernel(net, key, a, b, n_samples=cfg["mc_samples"], dtype="float64")
            return est.mean

    k_tt = kern(train.batch, None)
    alpha, _ = solve_kernel_system(k_tt, train.labels, ridge=cfg["ridge"])
    preds = [kern(t.batch, train.batch) @ alpha for t in tests]
    return preds, _mape(train.labels, k_tt @ alpha)


def run_graph_experiment(
    task: str = "max_degree",
    *,
    method: str = "finite",
    train_families: Sequence[str] = ("general",),
    test_families: Sequence[str] = ("general",),
    n_train: int = 200,
    n_test: int = 40,
    train_sizes: tuple[int, int] | None = None,
    test_sizes: Sequence[tuple[int, int]] | None = None,
    layers: int | None = None,
    aggregations: Sequence[str] | None = None,
    readouts: Sequence[str] | None = None,
    width: int = 64,
    features: str = "identical",
    weight_range: tuple[float, float] | None = None,
    test_weight_range: tuple[float, float] | None = None,
    epochs: int = 100,
    learning_rate: float | None = None,
    batch_size: int | None = None,
    mc_samples: int = 8,
    monte_carlo: bool = False,
    ridge: float = 0.0,
    seeds: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Train on small graphs and report test MAPE per architecture, size bin and family.

    Every combination of ``aggregations`` x ``readouts`` is one architecture
    (``gnn(layers, agg, readout, width, edge_weights=task == "shortest_path")``). Test sets:
    one per ``test_sizes`` bin on ``test_families[0]``, plus one per test family at the largest
    bin. Returns a JSON-ready dict (see :func:`graph_main` for the files).
    """
    check_choice("task", task, tuple(TASK_DEFAULTS))
    check_choice("method", method, ("finite", "kernel"))
    d = TASK_DEFAULTS[task]
    layers = d["layers"] if layers is None else check_positive_int("layers", layers)
    aggs = tuple(d["aggregations"] if aggregations is None else aggregations)
    ros = tuple(d["readouts"] if readouts is None else readouts)
    for a in (*aggs, *ros):
        check_choice("aggregations/readouts", a, AGGREGATIONS)
    for f in (*train_families, *test_families):
        check_choice("families", f, FAMILIES)
    train_sizes = tuple(d["train_sizes"] if train_sizes is None else train_sizes)
    bins = [tuple(b) for b in (d["test_sizes"] if test_sizes is None else test_sizes)]
    cfg = {
        "learning_rate": d["learning_rate"] if learning_rate is None else learning_rate,
        "batch_size": d["batch_size"] if batch_size is None else batch_size,
        "epochs": check_positive_int("epochs", epochs),
        "mc_samples": check_positive_int("mc_samples", mc_samples),
        "monte_carlo": bool(monte_carlo),
        "ridge": float(ridge),
        "progress": progress,
    }
    wr = tuple(d["weight_range"] if weight_range is None else weight_range)
    twr = tuple(d["test_weight_range"] if test_weight_range is None else test_weight_range)
    extra_train = {"features": features, "weight_range": wr}
    extra_test = {"features": features, "weight_range": twr}
    if task == "max_degree" and features == "random":
        extra_test["feature_range"] = 10.0 if twr[1] > wr[1] else 5.0
    results: dict[str, Any] = {
        "task": task,
        "method": method,
        "settings": {
            "train_families": list(train_families),
            "test_families": list(test_families),
            "n_train": n_train,
            "n_test": n_test,
            "train_sizes": list(train_sizes),
            "test_sizes": [list(b) for b in bins],
            "layers": layers,
            "width": width,
            "features": features,
            "weight_range": list(wr),
            "test_weight_range": list(twr),
            "seeds": seeds,
            **{k: v for k, v in cfg.items() if k != "progress"},
        },
        "architectures": {},
    }
    start = time.perf_counter()
    for seed in range(check_positive_int("seeds", seeds)):
        rng = np.random.default_rng(1000 * seed + 7)
        train = _dataset(task, n_train, train_families, train_sizes, seed=rng, **extra_train)
        if task == "max_degree":
            results.setdefault("spanning_rank", []).append(spanning_rank(train.graphs).rank)
        tests = [_dataset(task, n_test, test_families[:1], b, seed=rng, **extra_test) for b in bins]
        fam_tests = [
            _dataset(task, n_test, [f], bins[-1], seed=rng, **extra_test) for f in test_families
        ]
        for agg in aggs:
            for ro in ros:
                name = f"{agg}-agg/{ro}-readout"
                net = gnn(layers, agg, ro, width, edge_weights=task == "shortest_path")
                key = jax.random.key(seed)
                predict = _predict_finite if method == "finite" else _predict_kernel
                preds, train_err = predict(net, train, tests + fam_tests, key, cfg)
                entry = results["architectures"].setdefault(
                    name, {"train_mape": [], "size_mape": [], "family_mape": []}
                )
                entry["train_mape"].append(train_err)
                entry["size_mape"].append(
                    [_mape(t.labels, p) for t, p in zip(tests, preds, strict=False)]
                )
                entry["family_mape"].append(
                    [
                        _mape(t.labels, p)
                        for t, p in zip(fam_tests, preds[len(tests) :], strict=True)
                    ]
                )
                _log(
                    f"seed {seed} {name}: train MAPE {train_err:.3g}%, test MAPE by size "
                    f"{[round(v, 3) for v in entry['size_mape'][-1]]} "
                    f"({time.perf_counter() - start:.0f} s)"
                )
    for entry in results["architectures"].values():
        entry["size_mape_mean"] = np.mean(entry["size_mape"], axis=0).tolist()
        entry["family_mape_mean"] = np.mean(entry["family_mape"], axis=0).tolist()
    results["seconds"] = time.perf_counter() - start
    return results


def _plots(results: dict[str, Any], out: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = results["settings"]
    centers = [0.5 * (a + b) for a, b in s["test_sizes"]]
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, e in results["architectures"].items():
        ax.plot(centers, e["size_mape_mean"], marker="o", label=name)
    lo, hi = s["train_sizes"]
    ax.axvspan(lo, hi, color="0.9", label="training sizes")
    ax.set_yscale("log")
    ax.set_xlabel("test graph size (nodes, bin centre)")
    ax.set_ylabel("test MAPE (%)")
    ax.set_title(f"{results['task']} ({results['method']}): error vs test graph size")
    ax.legend(fontsize=8)
    fig.tight_layout()
    size_path = os.path.join(out, "error_vs_size.png")
    fig.savefig(size_path, dpi=120)
    plt.close(fig)

    fams = s["test_families"]
    names = list(results["architectures"])
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(fams) * len(names)), 4))
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        vals = results["architectures"][name]["family_mape_mean"]
        ax.bar(np.arange(len(fams)) + i * width, vals, width, label=name)
    ax.set_xticks(np.arange(len(fams)) + 0.4 - width / 2, fams)
    ax.set_yscale("log")
    ax.set_ylabel("test MAPE (%)")
    ax.set_title(f"{results['task']}: test MAPE per test family (largest size bin)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fam_path = os.path.join(out, "per_family.png")
    fig.savefig(fam_path, dpi=120)
    plt.close(fig)
    return [size_path, fam_path]


def _range(text: str) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size range like 20-30") from None
    if lo < 1 or hi < lo:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 1 <= MIN <= MAX")
    return lo, hi


def _frange(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a range like 1,5") from None
    if not (0 < lo <= hi):
        raise argparse.ArgumentTypeError(f"{text!r}: expected 0 < LO <= HI")
    return lo, hi


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ntkx graph",
        description="GNN size/weight extrapolation on max degree or shortest path "
        "(Xu et al., ICLR 2021, arXiv 2009.11848, Section 4). Writes results.json, "
        "error_vs_size.png and per_family.png.",
    )
    p.add_argument("--task", choices=tuple(TASK_DEFAULTS), default="max_degree")
    p.add_argument("--method", choices=("finite", "kernel"), default="finite")
    p.add_argument("--train-families", nargs="+", default=["general"], choices=FAMILIES)
    p.add_argument("--test-families", nargs="+", default=["general"], choices=FAMILIES)
    p.add_argument("--n-train", type=int, default=200)
    p.add_argument("--n-test", type=int, default=40)
    p.add_argument("--train-sizes", type=_range, default=None, help="e.g. 20-30 (inclusive)")
    p.add_argument("--test-sizes", type=_range, nargs="+", default=None, help="e.g. 50-75 75-100")
    p.add_argument("--layers", type=int, default=None)
    p.add_argument("--aggregations", nargs="+", choices=AGGREGATIONS, default=None)
    p.add_argument("--readouts", nargs="+", choices=AGGREGATIONS, default=None)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--features", choices=("identical", "random"), default="identical")
    p.add_argument("--weight-range", type=_frange, default=None, help="training, e.g. 1,5")
    p.add_argument("--test-weight-range", type=_frange, default=None, help="e.g. 1,10")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--mc-samples", type=int, default=8)
    p.add_argument(
        "--monte-carlo", action="store_true", help="Monte Carlo kernel also for sum/mean"
    )
    p.add_argument("--ridge", type=float, default=0.0)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="tiny sizes for a smoke test")
    p.add_argument("--out", default="ntkx-graph-results")
    return p


def graph_main(argv: list[str] | None = None) -> int:
    """The ``ntkx graph`` command. Returns the exit status (0 on success, 2 on bad arguments)."""
    args = _parser().parse_args(argv)
    kw: dict[str, Any] = {
        "method": args.method,
        "train_families": args.train_families,
        "test_families": args.test_families,
        "n_train": args.n_train,
        "n_test": args.n_test,
        "train_sizes": args.train_sizes,
        "test_sizes": args.test_sizes,
        "layers": args.layers,
        "aggregations": args.aggregations,
        "readouts": args.readouts,
        "width": args.width,
        "features": args.features,
        "weight_range": args.weight_range,
        "test_weight_range": args.test_weight_range,
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "mc_samples": args.mc_samples,
        "monte_carlo": args.monte_carlo,
        "ridge": args.ridge,
        "seeds": args.seeds,
    }
    if args.quick:
        small = (6, 8)
        kw.update(
            n_train=24,
            n_test=6,
            train_sizes=args.train_sizes or small,
            test_sizes=args.test_sizes or [(10, 12)],
            width=min(args.width, 16),
            epochs=min(args.epochs, 3),
            mc_samples=min(args.mc_samples, 2),
        )
    try:
        results = run_graph_experiment(args.task, **kw)
    except ValueError as err:
        print(f"ntkx graph: error: {err}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "results.json")
    files = _plots(results, args.out)
    results["files"] = [path, *files]
    with open(path, "w") as fh:
        json.dump(results, fh, indent=2)
    _log(f"wrote {', '.join(results['files'])}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(graph_main())
