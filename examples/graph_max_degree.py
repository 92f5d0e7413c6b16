"""Max degree: max-readout GNNs extrapolate to larger graphs, sum-readout GNNs do not.

Xu et al., How Neural Networks Extrapolate, ICLR 2021 (arXiv 2009.11848), Section 4 and the
max-degree theorem: a one-layer max-readout GNN with identical node features learns max degree
when the training graphs' (max deg, min deg, max deg x #max, min deg x #min) span R^4.

Trains on general (Erdos-Renyi) graphs of 20-30 nodes, tests on 50-100 nodes, with finite GNNs
(Adam) and with the kernel predictor (Monte Carlo NTK: max readout has no closed form; the same
estimator is used for sum readout so that both predictors are computed alike).

``--layers 2`` (default) is the paper's architecture (2 layers, sum aggregation, Adam lr 0.01,
batch 64, weight decay 1e-5); ``--layers 1`` is the theorem's one-layer GNN. With ``--layers 1``
the script asserts: max-readout test MAPE below 10% and at least 5x below sum-readout, for both
predictors. With 2 layers these bounds are measured and printed as NOT MET, not asserted:
measured at the default size, the finite net's training MAPE stalls near 19% and its test MAPE
is 121% (sum readout 968%, ratio 8), and the 2-layer Monte Carlo kernel predictor gets 66%
(sum readout 155%, ratio 2.3). With identical features the second layer sees inputs
proportional to the degree, and extrapolating needs messages that ignore them (only its bias
path carries the degree linearly); neither Adam (lr 0.01 or 0.002, 300 epochs, standardized
targets, standard parameterization) nor the NTK predictor found that here.

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
    unmet = []
    for method in ("finite", "kernel"):
        s = summary[method]
        if s["max_readout_mape"] >= 10.0:
            unmet.append(f"{method}: max-readout test MAPE {s['max_readout_mape']:.3g}% >= 10%")
        if s["sum_readout_mape"] < 5 * s["max_readout_mape"]:
            unmet.append(f"{method}: sum/max readout MAPE ratio {s['ratio']:.3g} < 5")
    if args.layers == 1:
        assert not unmet, (unmet, summary)
        print("OK: max readout extrapolates max degree; sum readout does not.")
    elif unmet:
        # The paper's 2-layer net is reported, not asserted: see the module docstring.
        for line in unmet:
            print(f"NOT MET ({args.layers} layers) {line}; --layers 1 meets every bound.")
    else:
        print("OK: max readout extrapolates max degree; sum readout does not.")


if __name__ == "__main__":
    main()
