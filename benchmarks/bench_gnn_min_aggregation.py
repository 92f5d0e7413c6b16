"""Seconds per training epoch of the shortest-path GNN: sum vs min aggregation, and min
aggregation on every node pair (dense, the former implementation) vs on the edge list.

One ``train_adam`` epoch (Adam, batches of 32) on n = 128 general graphs of 20-30 nodes, timed
on a second call (compiled) and scaled linearly to the paper's 10,000 graphs; every variant in
the same run, so the ratios hold under the shared machine's load (printed). The dense form is
forced by ``EDGE_SLOTS = 0`` (no edge fits, so ``lax.cond`` takes the node-pair branch; the
cache of compiled epochs is cleared so each variant is traced anew)::

    python benchmarks/bench_gnn_min_aggregation.py --widths 64 256
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import ntkx.core.training as training
import ntkx.graphs.message_passing as mp
from ntkx.graphs.message_passing import gnn
from ntkx.graphs.sampling import shortest_path_dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graph_shortest_path_table import epoch_seconds  # the shared epoch timer


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--widths", type=int, nargs="+", default=[64, 256])
    p.add_argument("--n", type=int, default=128, help="graphs timed (scaled to 10,000)")
    args = p.parse_args(argv)
    data = shortest_path_dataset(args.n, "general", 20, 30, seed=0)
    slots = mp.EDGE_SLOTS
    out: dict[str, float] = {}
    print("load before", os.getloadavg(), flush=True)
    for width in args.widths:
        for agg, label, edge_slots in (("sum", "sum", slots), ("min", "min dense", 0.0),
                                       ("min", "min edges", slots)):  # fmt: skip
            mp.EDGE_SLOTS = edge_slots
            training._ADAM_EPOCHS.clear()  # compiled epochs are cached per spec: retrace
            try:
                net = gnn(3, agg, "min", width, b_std=0.1, edge_weights=True)
                s = epoch_seconds(net, data) * 10_000 / args.n
            finally:
                mp.EDGE_SLOTS = slots
            out[f"{label} w{width}"] = s
            print(f"width {width:4d} {label:10s} {s:8.1f} s/epoch at 10,000 graphs", flush=True)
    print("load after", os.getloadavg(), flush=True)
    return out


if __name__ == "__main__":
    main()
