"""Monte Carlo kernels of a graph network: Jacobians kept for the call vs computed per tile.

A tile ``(i, j)`` of neural-tangents' empirical NTK computes the Jacobians of both of its
blocks, so over many tiles each input's Jacobian is computed many times. ``ntkx`` keeps every
input's Jacobian for the call when they fit ``ntkx.core.kernels.JACOBIAN_BUDGET`` (then the
tiles are products ``J1 J2^T`` of kept rows); with the budget set to 0 it computes them per tile, as
before. Both variants run in the same process on the same networks (one network, the
shortest-path GNN of ``proofs_check.shortest_path`` at full size: 3 layers, min aggregation
and readout, edge weights, width 128, float64), each timed on a second call (compiled), and
must agree to 1e-12 relative. Then the Monte Carlo kernel regression's predictions at the test
graphs: through :class:`ntkx.core.kernels.MonteCarloDual` (the test graphs' Jacobians contracted
with one vector per network, built from the training graphs at the first ``predict``, timed
apart) against the test/train kernel rows times alpha (what ``predict`` computed before),
agreeing to 1e-10 relative. The machine's load is printed::

    python benchmarks/bench_monte_carlo.py [--n-train 150 --n-test 60 --width 128] [--predict-only]
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

import ntkx
import ntkx.core.kernels as kernels
from ntkx.graphs.sampling import shortest_path_dataset


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    fn()  # compile
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-train", type=int, default=150, help="training graphs of 20-39 nodes")
    p.add_argument("--n-test", type=int, default=60, help="test graphs of 50-69 nodes")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--predict-only", action="store_true", help="only the predict comparison")
    args = p.parse_args(argv)
    train = shortest_path_dataset(args.n_train, "general", 20, 39, seed=0)
    test = shortest_path_dataset(args.n_test, "general", 50, 69, weight_range=(1, 10), seed=1)
    net = ntkx.gnn(3, "min", "min", args.width, b_std=0.1, edge_weights=True)
    print("load before", os.getloadavg(), flush=True)
    out: dict[str, float] = {}
    budget = kernels.JACOBIAN_BUDGET
    key = jax.random.key(0)

    def call(x2: Any) -> Any:
        return ntkx.kernel(
            net, train.batch, x2, "ntk", "monte_carlo", key=key, n_samples=1, dtype="float64"
        )

    pairs = () if args.predict_only else (("train x train", None), ("train x test", test.batch))
    for name, x2 in pairs:
        times = {}
        values = {}
        for variant, limit in (("kept", budget), ("per tile", 0)):
            kernels.JACOBIAN_BUDGET = limit
            try:
                times[variant], est = _timed(functools.partial(call, x2))
            finally:
                kernels.JACOBIAN_BUDGET = budget
            values[variant] = est.mean
        err = np.max(np.abs(values["kept"] - values["per tile"])) / np.max(
            np.abs(values["per tile"])
        )
        if err > 1e-12:
            raise SystemExit(f"{name}: kept and per-tile Jacobians differ by {err:.2e}")
        ratio = times["per tile"] / times["kept"]
        print(
            f"{name}: kept {times['kept']:.1f} s, per tile {times['per tile']:.1f} s "
            f"({ratio:.1f}x), max rel. difference {err:.1e}",
            flush=True,
        )
        out[f"{name} kept s"] = times["kept"]
        out[f"{name} per tile s"] = times["per tile"]
    model = ntkx.kernel_regression(
        net, train.batch, train.labels, 1e-3, method="monte_carlo", key=key, n_samples=1,
        dtype="float64",
    )  # fmt: skip
    t = time.perf_counter()
    model.predict(test.batch[:1])  # builds the dual vectors (the training graphs' Jacobians)
    out["dual build s"] = time.perf_counter() - t
    t_dual, got = _timed(lambda: model.predict(test.batch))
    t_rows, want = _timed(lambda: model._source(test.batch, model.x_train)[0] @ model.alpha[:, 0])
    err = np.max(np.abs(got - want)) / np.max(np.abs(want))
    if err > 1e-10:
        raise SystemExit(f"predict: dual and kernel rows differ by {err:.2e}")
    print(
        f"predict {args.n_test} test graphs: dual {t_dual:.2f} s (built once in "
        f"{out['dual build s']:.1f} s), kernel rows {t_rows:.1f} s ({t_rows / t_dual:.0f}x), "
        f"max rel. difference {err:.1e}",
        flush=True,
    )
    out["predict dual s"], out["predict rows s"] = t_dual, t_rows
    print("load after", os.getloadavg(), flush=True)
    return out


if __name__ == "__main__":
    main()
