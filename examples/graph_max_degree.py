"""Max degree: max-readout GNNs extrapolate to larger graphs, sum-readout GNNs do not.

Xu et al., How Neural Networks Extrapolate, ICLR 2021 (arXiv 2009.11848), Section 4 and the
max-degree theorem: a one-layer max-readout GNN with identical node features learns max degree
when the training graphs' (max deg, min deg, max deg x #max, min deg x #min) span R^4.

Trains on general (Erdos-Renyi) graphs of 20-30 nodes, tests on 50-100 nodes, with finite GNNs
(Adam) and with the kernel predictor (Monte Carlo NTK: max readout has no closed form; the same
estimator is used for sum readout so that both predictors are computed alike).

``--layers 2`` (default) is the paper's architecture (2 layers, sum aggregation, Adam lr 0.01,
batch 64, weight decay 1e-5, learning rate halved every 50 epochs); ``--layers 1`` is the
theorem's one-layer GNN. The script asserts max-readout test MAPE below 10% and at least 5x below
sum-readout: with ``--layers 1`` for both predictors; with 2 layers for the finite networks at
full size (not at ``--quick``, which trains too few steps), while the 2-layer kernel predictor's
numbers are printed (NOT MET), not asserted: see below.

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

Run: ``python examples/graph_max_degree.py [--layers 1]`` (a few minutes on a laptop CPU) or
``--quick --layers 1`` (smoke test; at the quick size the 2-layer finite net reaches a 4.2x
ratio, reported as NOT MET).
"""

import argparse
import json

from ntkx.graph_experiments import run_graph_experiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument(
        "--layers", type=int, default=2, help="2: the paper's GNN (default); 1: the theorem's"
    )
    args = parser.parse_args()
    if args.quick:
        sizes = {"train_sizes": (10, 15), "test_sizes": [(25, 40)], "n_test": 12}
        finite = {"n_train": 48, "width": 32, "epochs": 80, "batch_size": 16}
        kernel = {"n_train": 32, "width": 32, "mc_samples": 2, "monte_carlo": True}
    else:
        sizes = {"train_sizes": (20, 30), "test_sizes": [(50, 100)], "n_test": 40}
        finite = {"n_train": 200, "width": 64, "epochs": 100}
        if args.layers > 1:
            # 2,000 graphs x 250 epochs = 8,000 Adam steps; fewer leave the 2-layer net
            # under-trained (see the module docstring).
            finite = {"n_train": 2000, "width": 64, "epochs": 250}
        kernel = {"n_train": 100, "width": 256, "mc_samples": 4, "monte_carlo": True}
    summary = {"layers": args.layers}
    for method, kw in (("finite", finite), ("kernel", kernel)):
        res = run_graph_experiment(
            "max_degree", method=method, layers=args.layers, readouts=("max", "sum"), **sizes, **kw
        )
        arch = res["architectures"]
        mx = arch["sum-agg/max-readout"]["size_mape_mean"][-1]
        sm = arch["sum-agg/sum-readout"]["size_mape_mean"][-1]
        train = arch["sum-agg/max-readout"]["train_mape"][0]
        summary[method] = {
            "max_readout_train_mape": train,
            "max_readout_mape": mx,
            "sum_readout_mape": sm,
            "ratio": sm / mx,
        }
        summary["spanning_rank"] = res["spanning_rank"]
    print(json.dumps(summary, indent=2))
    # Which bounds are asserted: with 1 layer (the theorem's setting) both predictors; with the
    # paper's 2 layers the finite net at full size (8,000 steps; too few steps at --quick), while
    # the 2-layer kernel predictor's failure is a measured finding, printed (module docstring).
    asserted = {"finite": args.layers == 1 or not args.quick, "kernel": args.layers == 1}
    failures = []
    for method in ("finite", "kernel"):
        s = summary[method]
        unmet = []
        if s["max_readout_mape"] >= 10.0:
            unmet.append(f"{method}: max-readout test MAPE {s['max_readout_mape']:.3g}% >= 10%")
        if s["sum_readout_mape"] < 5 * s["max_readout_mape"]:
            unmet.append(f"{method}: sum/max readout MAPE ratio {s['ratio']:.3g} < 5")
        if asserted[method]:
            failures += unmet
        for line in unmet if not asserted[method] else []:
            print(f"NOT MET ({args.layers} layers, reported, not asserted) {line}")
    assert not failures, (failures, summary)
    checked = [m for m in ("finite", "kernel") if asserted[m]]
    print(
        "OK: max readout extrapolates max degree; sum readout does not "
        f"({args.layers} layer(s); asserted for {checked or 'nothing at this size'})."
    )


if __name__ == "__main__":
    main()
