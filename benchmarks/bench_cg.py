"""Benchmark: matrix-free CG kernel regression against the dense Cholesky solve.

For each ``n`` (default 4,000 and 8,000; d = 16, depth-2 ReLU NTK with bias, float64) and each
ridge (0 and 1e-2), on the same data:

* ``dense``: ``kernel_regression(solver="dense")`` (kernel + Cholesky), total time;
* ``cg``: ``solver="cg"`` with the default pivoted-Cholesky preconditioner (rank ``n // 8``
  clipped to [100, 1000]), and ``cg-plain`` without a preconditioner (``max_iter`` capped,
  default 400): total time, iterations, final relative residual, and the prediction
  agreement with the dense solve,
  ``||f_cg - f_dense|| / ||f_dense||`` on 500 test points (2x the training scale);
* the time of one matrix-free product ``(K + ridge) v`` against the jit-compiled bare
  ``x @ x.T`` of the same ``n`` and dtype, measured in the same run (median of 3).

Run: ``nice -n 10 uv run python benchmarks/bench_cg.py`` (``--n 4000 --ridge 0.01`` to pick).
Prints a Markdown table and the machine's load.

``--products N [N ...]``: instead, only the time of one product ``K v`` at each N, symmetric
(the default: tiles ``i <= j`` only, each off-diagonal tile used twice) against the full product
(``KernelOperator(..., symmetric=False)``: every tile) and the bare ``x @ x.T``, in the same run:
each round runs the two products once, interleaved, in alternating order, and each time is the
median of ``--repeats`` rounds after a warm-up, with the least CPU time of the process (all
threads) per call beside it, which does not count the time other jobs hold the cores. The
``x @ x.T`` is timed after the rounds, not between them: the first call after it pays for its
freed n x n output (at n = 8,000 a product then took 0.19 s of CPU instead of 0.15 s). The two
products are checked to agree (``max |Kv_sym - Kv_full| / max |Kv_full|``).

``--large N [--max-iter M] [--rank R]``: instead, the scale run of the slow test
(``tests/test_iterative.py::test_hundred_thousand_points_under_4_gb``): N points, d = 16,
depth-2 ReLU NTK with bias, ridge 1e-2, float64, CG with the default preconditioner (at most M
iterations), then predictions at 1,000 points; prints the time, iterations, time per product
and the process's peak resident memory (``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

import ntkx


def _median_time(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _gram_seconds(x: np.ndarray) -> float:
    with jax.enable_x64(True):
        xj = jnp.asarray(x)
        gram = jax.jit(lambda a: a @ a.T)
        gram(xj).block_until_ready()
        return _median_time(lambda: gram(xj).block_until_ready())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[4000, 8000])
    parser.add_argument("--ridge", type=float, nargs="+", default=[0.0, 1e-2])
    parser.add_argument("--max-iter-plain", type=int, default=400)
    parser.add_argument("--large", type=int, default=None)
    parser.add_argument("--max-iter", type=int, default=None)
    parser.add_argument(
        "--rank", type=int, default=None, help="--large: preconditioner rank (default: ntkx's)"
    )
    parser.add_argument("--products", type=int, nargs="+", default=None)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    net = ntkx.mlp(depth=2, b_std=0.1)
    if args.large is not None:
        large(net, args.large, args.max_iter, args.rank)
        return
    if args.products is not None:
        products(net, args.products, args.repeats)
        return
    print(
        f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
        f"jax {jax.__version__}, devices {len(jax.devices())}; load average at start "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    rows = []
    for n in args.n:
        rng = np.random.default_rng(n)
        x = rng.normal(size=(n, 16))
        y = np.sin(x[:, 0]) + 0.1 * rng.normal(size=n)
        xt = 2.0 * rng.normal(size=(500, 16))
        op = ntkx.KernelOperator(net, x, dtype="float64", ridge=0.0)
        v = rng.normal(size=(n, 1))
        op.matvec(v)  # compile
        matvec = _median_time(lambda op=op, v=v: op.matvec(v))
        gram = _gram_seconds(x)
        for ridge in args.ridge:
            start = time.perf_counter()
            dense = ntkx.kernel_regression(net, x, y, ridge, dtype="float64", solver="dense")
            f_dense = dense.predict(xt)
            t_dense = time.perf_counter() - start
            del dense
            for name, pre, cap in (
                ("cg", "pivoted_cholesky", None),
                ("cg-plain", None, args.max_iter_plain),
            ):
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ntkx.ConvergenceWarning)
                    model = ntkx.kernel_regression(
                        net, x, y, ridge, dtype="float64", solver="cg", preconditioner=pre,
                        max_iter=cap,
                    )  # fmt: skip
                    f_cg = model.predict(xt)
                t_cg = time.perf_counter() - start
                d = model.diagnostics
                agree = float(np.linalg.norm(f_cg - f_dense) / np.linalg.norm(f_dense))
                rows.append(
                    (n, ridge, name, t_dense, t_cg, d.iterations, d.result, d.residual, agree,
                     d.seconds_per_matvec, matvec, gram)
                )  # fmt: skip
                print(rows[-1], flush=True)
    print()
    print(
        "| n | ridge | solver | dense s | CG s | iterations | result | residual | "
        "agreement | s/matvec (solve) | s/matvec (median of 3) | x @ x.T s | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, ridge, name, td, tc, it, res, resid, agree, spm, mv, gram in rows:
        print(
            f"| {n} | {ridge:g} | {name} | {td:.1f} | {tc:.1f} | {it} | {res} | {resid:.1e} | "
            f"{agree:.1e} | {spm:.3f} | {mv:.3f} | {gram:.4f} | {mv / gram:.2f}x |"
        )
    print(f"\nload average at end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def products(net: ntkx.MLP, sizes: list[int], repeats: int) -> None:
    print(
        f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
        f"jax {jax.__version__}, devices {len(jax.devices())}; load average at start "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(
        "| n | blocks | tiles symmetric / full | symmetric s | full s | full / symmetric | "
        "CPU s symmetric | CPU s full | CPU full / symmetric | x @ x.T s | max rel. difference |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        rng = np.random.default_rng(n)
        x = rng.normal(size=(n, 16))
        v = rng.normal(size=(n, 1))
        sym = ntkx.KernelOperator(net, x, dtype="float64")
        full = ntkx.KernelOperator(net, x, dtype="float64", symmetric=False)
        with jax.enable_x64(True):
            xj = jnp.asarray(x)
            gram = jax.jit(lambda a: a @ a.T)
            fns = {
                "sym": lambda sym=sym, v=v: sym.kernel_matvec(v),
                "full": lambda full=full, v=v: full.kernel_matvec(v),
                "gram": lambda gram=gram, xj=xj: gram(xj).block_until_ready(),
            }
            diff = np.abs(fns["sym"]() - fns["full"]()).max() / np.abs(fns["full"]()).max()
            times: dict[str, list[float]] = {key: [] for key in fns}
            cpus: dict[str, list[float]] = {key: [] for key in fns}
            rounds = [("sym", "full") if r % 2 == 0 else ("full", "sym") for r in range(repeats)]
            fns["gram"]()
            for order in [*rounds, ("gram",) * repeats]:
                for key in order:
                    start, start_cpu = time.perf_counter(), time.process_time()
                    fns[key]()
                    times[key].append(time.perf_counter() - start)
                    cpus[key].append(time.process_time() - start_cpu)
        t = {key: float(np.median(val)) for key, val in times.items()}
        c = {key: min(val) for key, val in cpus.items()}
        b = sym.n_blocks
        print(
            f"| {n} | {b} | {b * (b // 2 + 1)} / {b * b} | {t['sym']:.3f} | {t['full']:.3f} | "
            f"{t['full'] / t['sym']:.2f}x | {c['sym']:.3f} | {c['full']:.3f} | "
            f"{c['full'] / c['sym']:.2f}x | {t['gram']:.3f} | {diff:.1e} |",
            flush=True,
        )
    print(f"\nload average at end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def large(net: ntkx.MLP, n: int, max_iter: int | None, rank: int | None = None) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 16))
    y = np.sin(x[:, 0]) + 0.1 * rng.normal(size=n)
    load = os.getloadavg()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ntkx.ConvergenceWarning)
        model = ntkx.kernel_regression(
            net,
            x,
            y,
            1e-2,
            dtype="float64",
            solver="cg",
            max_iter=max_iter,
            **({} if rank is None else {"preconditioner_rank": rank}),
        )
    solved = time.perf_counter() - start
    pred = model.predict(x[:1000])
    d = model.diagnostics
    out = {
        "n": n,
        "solve_seconds": solved,
        "total_seconds": time.perf_counter() - start,
        "iterations": d.iterations,
        "result": d.result,
        "residual": d.residual,
        "seconds_per_matvec": d.seconds_per_matvec,
        "setup_seconds": d.setup_seconds,
        "preconditioner_rank": d.preconditioner_rank,
        "train_rmse_first_1000": float(np.sqrt(np.mean((pred - y[:1000]) ** 2))),
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "load_start": load,
        "load_end": os.getloadavg(),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
