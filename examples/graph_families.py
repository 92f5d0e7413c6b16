"""Which training graphs let a max-readout GNN learn max degree (and the spanning condition).

Xu et al., How Neural Networks Extrapolate, ICLR 2021 (arXiv 2009.11848): training on graphs that
all share their max and min degree (cycles, ladders, 4-regular graphs) does not determine the
function; the theorem's condition is that (max deg, min deg, max deg x #max, min deg x #min)
span R^4. Complete graphs also fail it (rank 2) although the paper reports good extrapolation.

For each training family: the spanning rank and the test MAPE on general graphs of 50-100 nodes
of the max-readout kernel predictor (Monte Carlo NTK of a one-layer GNN). Verdicts (from
``proofs_check.max_degree``, whose criteria hold the thresholds; one line each, exit status 1
and a message on stderr if one fails) for the cycle, ladder and 4-regular families:
``max_degree.shared_degree_condition_fails`` (their largest spanning rank) and
``max_degree.shared_degree_vs_general`` (general-graph training's test MAPE over their smallest).

Run: ``python examples/graph_families.py`` or ``--quick``.
"""

from __future__ import annotations

import argparse
import json

from ntkx.graphs.experiment import GraphConfig, run_graph_experiment
from proofs_check import report_verdicts
from proofs_check.max_degree import CRITERIA

FAMILIES = ("general", "tree", "complete", "cycle", "ladder", "4regular")
#: Families whose graphs share max and min degree.
SINGLE_DEGREE = ("cycle", "ladder", "4regular")
#: The seed of the verdicts (GraphConfig's seed 0: data and networks).
SEED = 0


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        kw = {"n_train": 16, "n_test": 8, "train_sizes": (8, 12), "test_sizes": ((20, 30),),
              "width": 32, "mc_samples": 2}  # fmt: skip
    else:
        kw = {"n_train": 60, "n_test": 30, "train_sizes": (20, 30), "test_sizes": ((50, 100),),
              "width": 256, "mc_samples": 4}  # fmt: skip
    table: dict = {}
    for fam in FAMILIES:
        config = GraphConfig(
            task="max_degree", method="kernel", depth=1, readouts=("max",),
            train_families=(fam,), **kw,
        )  # fmt: skip
        metrics = run_graph_experiment(config)["metrics"]
        entry = metrics["architectures"]["sum-agg/max-readout"]
        table[fam] = {
            "spanning_rank": metrics["spanning_rank"][0],
            "train_mape": entry["train_mape_mean"],
            "test_mape": entry["size_mape_mean"][-1],
        }
    print(json.dumps(table, indent=2))
    general = table["general"]["test_mape"]
    bad = {f: table[f] for f in SINGLE_DEGREE}
    smallest = min(t["test_mape"] for t in bad.values())
    setting = (
        f"1-layer max-readout GNN, Monte Carlo NTK (width {kw['width']}, {kw['mc_samples']} "
        f"networks), {kw['n_train']} training graphs of {kw['train_sizes'][0]}-"
        f"{kw['train_sizes'][1]} nodes, general test graphs of {kw['test_sizes'][0][0]}-"
        f"{kw['test_sizes'][0][1]} nodes"
    )
    verdicts = [
        CRITERIA["max_degree.shared_degree_condition_fails"].judge(
            max(t["spanning_rank"] for t in bad.values()),
            seed=SEED,
            description=f"largest spanning rank of the training sets of {', '.join(bad)}",
            details={f: t["spanning_rank"] for f, t in bad.items()},
        ),
        CRITERIA["max_degree.shared_degree_vs_general"].judge_comparison(
            general / smallest if smallest > 0 else float("inf"),  # inf never passes
            train_mape={f: table[f]["train_mape"] / 100 for f in ("general", *SINGLE_DEGREE)},
            seed=SEED,
            description=f"test MAPE of general-graph training / the smallest test MAPE of "
            f"training on {', '.join(bad)} ({setting})",
            details={"general": general, **{f: t["test_mape"] for f, t in bad.items()}},
        ),
    ]
    report_verdicts(verdicts)
    return {"families": table, "verdicts": verdicts}


if __name__ == "__main__":
    main()
