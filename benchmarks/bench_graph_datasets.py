"""Benchmark: building shortest-path datasets of dense 200-node graphs.

The target selection of :func:`ntkx.shortest_path_dataset` (:func:`ntkx.graphs.sampling.
shortest_path_targets`: one SciPy Dijkstra from the source, then the shortest-path DAG of tight
edges for path counts and hop counts) against the reference it replaced, measured in the same
run: per candidate target, networkx's ``all_shortest_paths`` (one more Dijkstra per target) to
test uniqueness. Both select from the same graphs and sources; the eligible targets are compared
(they must be equal). Then the whole dataset: 40 Erdős–Rényi ("general", ``p`` drawn from
{0.1, ..., 0.9}) graphs of 200 nodes, with ``--reference-graphs`` of them through the old
selection to extrapolate its time to 40 (it takes about 2 s per dense graph).

Run: ``uv run python benchmarks/bench_graph_datasets.py [--graphs 40] [--reference-graphs 4]``
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import networkx as nx
import numpy as np

from ntkx.graphs.sampling import sample_graph, shortest_path_dataset, shortest_path_targets


def reference_targets(g: nx.Graph, source: int, max_hops: int = 3) -> list[tuple[int, float]]:
    """The previous selection: networkx Dijkstra, then all_shortest_paths per target."""
    dist, paths = nx.single_source_dijkstra(g, source, weight="weight")
    out = []
    for t, d in dist.items():
        if t == source or len(paths[t]) - 1 > max_hops:
            continue
        count = 0
        for _ in nx.all_shortest_paths(g, source, t, weight="weight"):
            count += 1
            if count > 1:
                break
        if count == 1:
            out.append((t, float(d)))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=40)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--reference-graphs", type=int, default=4)
    args = parser.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    rng = np.random.default_rng(0)
    graphs = []
    for _ in range(args.reference_graphs):
        g = sample_graph("general", args.nodes, rng)
        w = rng.uniform(1.0, 5.0, g.number_of_edges())
        nx.set_edge_attributes(g, dict(zip(g.edges, w.tolist(), strict=True)), "weight")
        graphs.append((g, int(rng.integers(args.nodes))))
    t_ref = t_new = 0.0
    for g, s in graphs:
        t0 = time.perf_counter()
        ref = reference_targets(g, s)
        t1 = time.perf_counter()
        new = shortest_path_targets(g, s)
        t2 = time.perf_counter()
        assert sorted(t for t, _, _ in new) == sorted(t for t, _ in ref), "selections differ"
        got, want = dict((t, d) for t, d, _ in new), dict(ref)
        assert all(abs(got[t] - want[t]) <= 1e-12 * want[t] for t in want), "distances differ"
        t_ref, t_new = t_ref + t1 - t0, t_new + t2 - t1
    k = len(graphs)
    mean_edges = np.mean([g.number_of_edges() for g, _ in graphs])
    print(f"target selection, {k} general graphs of {args.nodes} nodes ({mean_edges:.0f} edges "
          f"on average), same sources, equal selections:")  # fmt: skip
    print(f"  reference (networkx all_shortest_paths per target): {t_ref / k:8.3f} s/graph")
    print(f"  shortest_path_targets (one Dijkstra + tight-edge DAG): {t_new / k:8.4f} s/graph "
          f"({t_ref / t_new:.0f}x faster)")  # fmt: skip
    t0 = time.perf_counter()
    data = shortest_path_dataset(args.graphs, "general", args.nodes, args.nodes, seed=0)
    total = time.perf_counter() - t0
    print(f"shortest_path_dataset({args.graphs}, 'general', {args.nodes}, {args.nodes}): "
          f"{total:.2f} s (batch {data.batch.adjacency.shape}); the reference selection alone "
          f"would add about {args.graphs * t_ref / k:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
