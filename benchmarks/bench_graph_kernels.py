"""Benchmark: graph kernels of ntkx against their plain-NumPy references, per pair of graphs.

Two networks, each against an independent reference from ``tests/``:

* ``gin`` — Du et al.'s GNTK network (:func:`ntkx.graphs.gin.gin`, ``depth=2``,
  ``mlp_depth=2``, ``W_std=sqrt(2)``): ntkx's closed form (node-pair recursion, two matrix
  products per aggregation) against ``tests/gntk_reference.py``, the Kronecker form of
  Du et al.'s numpy code (``scipy.sparse.kron(A, A')`` on ``vec(Sigma)``);
* ``gnn`` — the per-edge message-passing GNN of Xu et al. (``ntkx.gnn(2, "sum", "sum",
  b_std=None, edge_weights=False)``) against ``graph_reference.gnn_kernel_numpy`` from
  ``tests/``: the plain-NumPy edge-list recursion, every edge pair of a layer as one ``(E, E')``
  array and the aggregation as products with incidence matrices (tested equal to the Python
  edge-loop reference there). The table also gives the cost per edge pair per layer.

Data: Erdős–Rényi graphs ``G(n, p)`` (seeded), ``n`` uniform in ``[min, max]``, standard
normal node features. The main set is 120 graphs of 20-29 nodes; then 50- and 100-node sets
with fewer graphs (``--large``). ntkx computes the full symmetric ``(n, n)`` NTK + NNGP through
``ntkx.kernel`` in float64 (compile time reported apart: first call minus the best warm call);
ms per pair is the best warm time over the ``n (n + 1) / 2`` distinct pairs. The references are
timed on a subset (each graph's self-kernel once, then pairs) and extrapolated to the same
matrix: ``(n t_self + n (n + 1) / 2 t_pair) / (n (n + 1) / 2)``. The values on the subset are
compared with ntkx's (relative error printed). The exponent ``k`` of ``ms/pair ~ N^k`` is fitted
by least squares on log-log over the three sizes (``N`` the mean node count).

Run: ``uv run python benchmarks/bench_graph_kernels.py [--quick]``
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

import jax
import networkx as nx
import numpy as np

import ntkx
from ntkx.core.kernels import default_block_size
from ntkx.graphs.batch import batch_graphs
from ntkx.graphs.gin import gin

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import gntk_reference  # tests/gntk_reference.py: Du et al.'s Kronecker form
import graph_reference  # tests/graph_reference.py: per-edge GNN in NumPy

F = 3


def make_graphs(count: int, low: int, high: int, p: float, seed: int) -> list[tuple]:
    """``count`` Erdős–Rényi graphs with ``low..high`` nodes: ``(networkx graph, features)``."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        n = int(rng.integers(low, high + 1))
        g = nx.erdos_renyi_graph(n, p, seed=int(rng.integers(2**31)))
        if g.number_of_edges() > 0:
            out.append((g, rng.normal(size=(n, F))))
    return out


def time_ntkx(net, batch, repeats: int, block_size: int | None = None):
    """``(compile_s, best_warm_s, kernels)`` of the full symmetric NTK + NNGP."""
    kw = dict(get=("ntk", "nngp"), dtype="float64", block_size=block_size, progress=False)
    start = time.perf_counter()
    first = ntkx.kernel(net, batch, **kw)
    t_first = time.perf_counter() - start
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        ntkx.kernel(net, batch, **kw)
        best = min(best, time.perf_counter() - start)
    return max(t_first - best, 0.0), best, first


def time_gin_reference(graphs, n_graphs: int, budget_pairs: int, seed: int):
    """Seconds per self-kernel and per pair of the Kronecker reference, and its subset values."""
    settings = gntk_reference.reference_settings(3, 2, False, "uniform")  # depth 2, mlp 2
    rng = np.random.default_rng(seed)
    k = max(2, min(len(graphs), math.ceil((1 + math.sqrt(1 + 8 * budget_pairs)) / 2)))
    idx = rng.choice(len(graphs), size=k, replace=False)
    prepared = [gntk_reference.prepare_graph(graphs[i]) for i in idx]
    start = time.perf_counter()
    var = [gntk_reference.self_variances(g, settings) for g in prepared]
    t_self = (time.perf_counter() - start) / k
    pairs = [(a, b) for a in range(k) for b in range(a + 1, k)][:budget_pairs]
    values = {}
    start = time.perf_counter()
    for a, b in pairs:
        values[(idx[a], idx[b])] = gntk_reference.gntk_pair(
            prepared[a], prepared[b], var[a], var[b], settings
        )
    t_pair = (time.perf_counter() - start) / len(pairs)
    n_pairs = n_graphs * (n_graphs + 1) / 2
    return (n_graphs * t_self + n_pairs * t_pair) / n_pairs, len(pairs), values


def time_gnn_reference(graphs, n_graphs: int, budget_pairs: int, seed: int):
    """Seconds per pair (self-kernels amortized) of the NumPy edge-list recursion, and values."""
    settings = {
        "depth": 2,
        "aggregation": "sum",
        "edge_weights": False,
        "W_std": 1.0,
        "b_std": None,
    }
    rng = np.random.default_rng(seed)
    k = max(2, min(len(graphs), math.ceil((1 + math.sqrt(1 + 8 * budget_pairs)) / 2)))
    idx = rng.choice(len(graphs), size=k, replace=False)
    pairs = [(a, b) for a in range(k) for b in range(a + 1, k)][:budget_pairs]
    used = sorted({i for pair in pairs for i in pair})
    start = time.perf_counter()
    var = {
        i: graph_reference._propagate_numpy(graphs[idx[i]], graphs[idx[i]], settings, None, None)[2]
        for i in used
    }
    t_self = (time.perf_counter() - start) / len(used)
    values = {}
    start = time.perf_counter()
    for a, b in pairs:
        sigma, theta, _ = graph_reference._propagate_numpy(
            graphs[idx[a]], graphs[idx[b]], settings, var[a], var[b]
        )
        s_g, t_g = float(np.sum(sigma)), float(np.sum(theta))  # sum readout, W_std = 1
        values[(idx[a], idx[b])] = (s_g + t_g, s_g)
    t_pair = (time.perf_counter() - start) / len(pairs)
    n_pairs = n_graphs * (n_graphs + 1) / 2
    return (n_graphs * t_self + n_pairs * t_pair) / n_pairs, len(pairs), values


def max_rel_error(kernels: ntkx.KernelPair, values: dict, scale: float = 1.0) -> float:
    worst = 0.0
    for (i, j), (ntk, nngp) in values.items():
        for got, want in ((kernels.ntk[i, j] * scale, ntk), (kernels.nngp[i, j] * scale, nngp)):
            worst = max(worst, abs(got - want) / abs(want))
    return worst


def fit_exponent(sizes: list[float], ms: list[float]) -> float:
    return float(np.polyfit(np.log(sizes), np.log(ms), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graphs", type=int, default=120, help="graphs in the main set")
    parser.add_argument("--p", type=float, default=0.3, help="edge probability")
    parser.add_argument("--min-nodes", type=int, default=20)
    parser.add_argument("--max-nodes", type=int, default=29)
    parser.add_argument(
        "--large", type=int, nargs="*", default=[50, 100], help="node counts of the larger sets"
    )
    parser.add_argument(
        "--large-graphs",
        type=int,
        nargs="*",
        default=[32, 12],
        help="gin graphs per larger set (gnn uses a quarter, at least 3)",
    )
    parser.add_argument(
        "--ref-pairs",
        type=int,
        default=120,
        help="pairs timed for the gin reference (fewer for larger graphs)",
    )
    parser.add_argument("--gnn-ref-pairs", type=int, default=12)
    parser.add_argument(
        "--scan-blocks",
        type=int,
        nargs="*",
        default=None,
        help="also time ntkx.kernel with these tile sides (graphs per tile) next to the default "
        "tile, per set and network (how the default block sizes were chosen)",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--block-size",
        type=int,
        default=15,
        help="also time gin on the main set with this tile side (0: skip); ntkx's default tile "
        "comes from its memory plan (30 graphs of 29 nodes)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small sets, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.graphs, args.large, args.large_graphs = 24, [50], [8]
        args.ref_pairs, args.gnn_ref_pairs, args.repeats = 6, 2, 1

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    print(
        f"machine: {cpu}, {len(os.sched_getaffinity(0))} cores, load average "
        f"{os.getloadavg()[0]:.1f}; {jax.devices()[0].platform}; jax {jax.__version__}, "
        f"numpy {np.__version__}, python {platform.python_version()}"
    )

    sets = [(f"{args.min_nodes}-{args.max_nodes}", args.graphs, args.min_nodes, args.max_nodes)]
    sets += [(str(n), c, n, n) for n, c in zip(args.large, args.large_graphs, strict=True)]
    nets = {
        "gin": gin(2, 2, W_std=math.sqrt(2.0)),
        "gnn": ntkx.gnn(2, "sum", "sum", b_std=None, edge_weights=False),
    }
    rows = []
    for s, (label, count, low, high) in enumerate(sets):
        data = make_graphs(count, low, high, args.p, args.seed + s)
        mean_n = float(np.mean([g.number_of_nodes() for g, _ in data]))
        mean_e = float(np.mean([2 * g.number_of_edges() for g, _ in data]))  # ordered edges
        for name, net in nets.items():
            n_graphs = count
            subset = data[:n_graphs]
            batch = batch_graphs([g for g, _ in subset], [x for _, x in subset])
            dense = [(x, nx.to_numpy_array(g, nodelist=list(g.nodes))) for g, x in subset]
            compile_s, warm_s, kernels = time_ntkx(net, batch, args.repeats)
            n_pairs = n_graphs * (n_graphs + 1) / 2
            ms_ntkx = 1e3 * warm_s / n_pairs
            if args.scan_blocks:
                scan = []
                for block in args.scan_blocks:
                    if block <= n_graphs:
                        _, t, _ = time_ntkx(net, batch, args.repeats, block)
                        scan.append(f"{block}: {1e3 * t / n_pairs:.4g}")
                default = default_block_size(
                    n_graphs, net.pair_workspace_bytes(batch, batch, 8), net.tile_budget_bytes
                )
                print(
                    f"  tiles {name} {label}: default ({default} graphs) {ms_ntkx:.4g} ms/pair; "
                    + ", ".join(scan),
                    flush=True,
                )
            if name == "gin" and s == 0 and args.block_size:
                _, tuned_s, _ = time_ntkx(net, batch, args.repeats, args.block_size)
                tuned = (args.block_size, 1e3 * tuned_s / n_pairs)
            shrink = max(1, round((mean_n / 25) ** 2))
            if name == "gin":
                per_pair, timed, values = time_gin_reference(
                    dense, n_graphs, max(1, args.ref_pairs // shrink), args.seed
                )
                err = max_rel_error(kernels, values, scale=F)  # ntkx = reference / F
            else:
                per_pair, timed, values = time_gnn_reference(
                    dense, n_graphs, max(1, args.gnn_ref_pairs // shrink), args.seed
                )
                err = max_rel_error(kernels, values)
            rows.append(
                (
                    name,
                    label,
                    n_graphs,
                    mean_n,
                    mean_e,
                    compile_s,
                    ms_ntkx,
                    1e3 * per_pair,
                    timed,
                    err,
                )
            )
            print(
                f"  done {name} {label}: ntkx {ms_ntkx:.4g} ms/pair, reference "
                f"{1e3 * per_pair:.4g} ms/pair ({timed} pairs), max rel err {err:.1e}",
                flush=True,
            )

    print(
        f"\nms per pair of graphs (float64; ntkx: full symmetric NTK+NNGP via ntkx.kernel, best "
        f"of {args.repeats} warm; reference: subset, self-kernels amortized)"
    )
    head = (
        f"{'net':4s} {'nodes':>6s} {'graphs':>6s} {'mean N':>7s} {'edges':>7s} {'compile s':>9s} "
        f"{'ntkx ms':>9s} {'ref ms':>9s} {'speedup':>8s} {'ref pairs':>9s} {'rel err':>8s} "
        f"{'ntkx ns/edge-pair/layer':>23s} {'ref ns/edge-pair/layer':>22s}"
    )
    print(head)
    for name, label, n_graphs, mean_n, mean_e, comp, ms, ref, timed, err in rows:
        per_edge = ""
        if name == "gnn":
            scale = 1e6 / (mean_e * mean_e * 2)  # ms -> ns per edge pair per layer (2 layers)
            per_edge = f"{ms * scale:23.3g} {ref * scale:22.3g}"
        print(
            f"{name:4s} {label:>6s} {n_graphs:6d} {mean_n:7.1f} {mean_e:7.0f} {comp:9.2f} "
            f"{ms:9.4g} {ref:9.4g} {ref / ms:7.0f}x {timed:9d} {err:8.1e} {per_edge}"
        )
    print("\nscaling exponent k of ms/pair ~ N^k (least squares over the sizes):")
    for name in nets:
        sizes = [r[3] for r in rows if r[0] == name]
        if len(sizes) > 1:
            ours = fit_exponent(sizes, [r[6] for r in rows if r[0] == name])
            ref = fit_exponent(sizes, [r[7] for r in rows if r[0] == name])
            print(f"  {name}: ntkx {ours:.2f}, reference {ref:.2f}")
    main_gin = next(r for r in rows if r[0] == "gin")
    print(
        f"\ngin on {main_gin[1]}-node graphs: {main_gin[7] / main_gin[6]:.0f}x faster per pair "
        f"than the Kronecker reference (target >= 50x)"
    )
    if args.block_size:
        block, ms = tuned
        print(
            f"  with ntkx.kernel(..., block_size={block}): {ms:.4g} ms/pair, "
            f"{main_gin[7] / ms:.0f}x (smaller tiles: cache-resident node-pair arrays and fewer "
            "duplicated pairs in the diagonal tiles)"
        )


if __name__ == "__main__":
    main()
