"""Max degree: max-readout GNNs extrapolate to larger graphs, sum-readout GNNs do not.

Xu et al., How Neural Networks Extrapolate, ICLR 2021 (arXiv 2009.11848), Section 4 and the
max-degree theorem: a one-layer max-readout GNN with identical node features learns max degree
when the training graphs' (max deg, min deg, max deg x #max, min deg x #min) span R^4.

Trains on general (Erdos-Renyi) graphs of 20-30 nodes, tests on 50-100 nodes, with finite GNNs
(Adam) and with the kernel predictor (Monte Carlo NTK: max readout has no closed form; the same
estimator is used for sum readout so that both predictors are computed alike).

``--depth 2`` (default) is the paper's architecture (2 layers, sum aggregation, Adam lr 0.01,
batch 64, weight decay 1e-5, learning rate halved every 50 epochs); ``--depth 1`` is the
theorem's one-layer GNN. Verdicts (from ``proofs_check.max_degree``, whose criteria hold the
thresholds; one line each, exit status 1 and a message on stderr if one fails):
``max_degree.max_readout_extrapolates`` (max-readout test MAPE, as a fraction) and
``max_degree.max_beats_sum_readout`` (max-readout test MAPE / sum-readout's); with ``--depth 1``
for both predictors; with 2 layers for the finite networks at full size (not at ``--quick``,
which trains too few steps), while the 2-layer kernel predictor's numbers are info rows (with
what the criteria would say), not judged: see below. With ``--quick --depth 2`` every row is
information (the script says so).

The finite 2-layer net needs many optimisation steps: the default size trains it on 2,000 graphs
for 250 epochs (8,000 Adam steps; the paper runs about 23,000). Measured at this size (seed 0,
width 64): max readout train MAPE 0.75%, test MAPE 3.0% (seed 1: 1.0% and 5.1%); sum readout
test MAPE 101% (ratio 34). The whole default run takes about 4 minutes on 2 CPU cores.
With 200 graphs and 100 epochs (400 steps) the same net was under-trained (train MAPE 19%, test
121%); on 640 graphs its test MAPE fell from 144% (1,000 steps) to 99% (3,000 steps) as the
training MAPE fell from 14% to 10%.

The 2-layer kernel predictor (Monte Carlo NTK) does not extrapolate, and more samples do not
help: on 60 training / 20 test graphs, width 256, its test MAPE is 68%, 94% and 94% with 1, 4
and 16 sampled networks (width 64: 4%, 48%, 102%, 83% with 1, 4, 16, 64), so the limit kernel
is near 90-100% and a lucky few-sample estimate can look better (66% at the default size with 4
samples; sum readout 155%). A ridge of 1e-6 x the mean kernel diagonal changes nothing; 1e-4
or more makes it worse (83-134%).

Run: ``python examples/graph_max_degree.py [--depth 1]`` (a few minutes on a laptop CPU) or
``--quick --depth 1`` (smoke test; at the quick size the 2-layer finite net reaches a 4.2x
ratio, reported as an info row).
"""

from __future__ import annotations

import argparse
import json

from ntkx.graphs.experiment import GraphConfig, run_graph_experiment
from proofs_check import report_verdicts
from proofs_check.max_degree import CRITERIA

#: The seed of the verdicts (GraphConfig's seed 0: data and networks).
SEED = 0


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument(
        "--depth", type=int, default=2, help="2: the paper's GNN (default); 1: the theorem's"
    )
    args = parser.parse_args(argv)
    if args.quick:
        sizes = {"train_sizes": (10, 15), "test_sizes": ((25, 40),), "n_test": 12}
        finite = {"n_train": 48, "width": 32, "epochs": 80, "batch_size": 16}
        kernel = {"n_train": 32, "width": 32, "mc_samples": 2, "monte_carlo": True}
    else:
        sizes = {"train_sizes": (20, 30), "test_sizes": ((50, 100),), "n_test": 40}
        finite = {"n_train": 200, "width": 64, "epochs": 100}
        if args.depth > 1:
            # 2,000 graphs x 250 epochs = 8,000 Adam steps; fewer leave the 2-layer net
            # under-trained (see the module docstring).
            finite = {"n_train": 2000, "width": 64, "epochs": 250}
        kernel = {"n_train": 100, "width": 256, "mc_samples": 4, "monte_carlo": True}
    summary: dict = {"depth": args.depth}
    for method, kw in (("finite", finite), ("kernel", kernel)):
        config = GraphConfig(
            task="max_degree", method=method, depth=args.depth, readouts=("max", "sum"),
            **sizes, **kw,
        )  # fmt: skip
        metrics = run_graph_experiment(config)["metrics"]
        arch = metrics["architectures"]
        mx = arch["sum-agg/max-readout"]["size_mape_mean"][-1]
        sm = arch["sum-agg/sum-readout"]["size_mape_mean"][-1]
        summary[method] = {
            "max_readout_train_mape": arch["sum-agg/max-readout"]["train_mape"][0],
            "sum_readout_train_mape": arch["sum-agg/sum-readout"]["train_mape"][0],
            "max_readout_mape": mx,
            "sum_readout_mape": sm,
            "ratio": sm / mx if mx > 0 else float("inf"),
        }
        summary["spanning_rank"] = metrics["spanning_rank"]
    print(json.dumps(summary, indent=2))
    # Which criteria judge: with 1 layer (the theorem's setting) both predictors; with the
    # paper's 2 layers the finite net at full size (8,000 steps; too few steps at --quick), while
    # the 2-layer kernel predictor's failure is a measured finding, reported (module docstring).
    checked = {"finite": args.depth == 1 or not args.quick, "kernel": args.depth == 1}
    why = {
        "finite": "--quick trains the 2-layer network too few steps",
        "kernel": "the 2-layer Monte Carlo NTK predictor does not extrapolate (module docstring)",
    }
    verdicts = []
    for method in ("finite", "kernel"):
        s = summary[method]
        mx, sm = s["max_readout_mape"], s["sum_readout_mape"]
        what = (
            f"depth {args.depth}, {method} ({'Adam' if method == 'finite' else 'Monte Carlo NTK'})"
        )
        rows = [
            (
                CRITERIA["max_degree.max_readout_extrapolates"],
                mx / 100,
                f"{what}: max-readout test MAPE on larger general graphs, as a fraction",
            ),
            (
                CRITERIA["max_degree.max_beats_sum_readout"],
                mx / sm if sm > 0 else float("inf"),  # inf never passes
                f"{what}: max-readout test MAPE / sum-readout's ({mx:.3g}% / {sm:.3g}%)",
            ),
        ]
        # the comparison counts only if both readouts fit their training graphs (fit gate)
        fits = {
            "max readout": s["max_readout_train_mape"] / 100,
            "sum readout": s["sum_readout_train_mape"] / 100,
        }
        for rule, value, description in rows:
            if checked[method] and rule.name.endswith("beats_sum_readout"):
                verdicts.append(
                    rule.judge_comparison(
                        value, train_mape=fits, seed=SEED, description=description
                    )
                )
            elif checked[method]:
                description += f" (train MAPE {s['max_readout_train_mape']:.3g}%)"
                verdicts.append(rule.judge(value, seed=SEED, description=description))
            else:
                verdicts.append(
                    rule.inform(value, seed=SEED, description=description, why=why[method])
                )
    summary["verdicts"] = verdicts
    report_verdicts(verdicts)
    return summary


if __name__ == "__main__":
    main()
