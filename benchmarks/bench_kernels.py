"""Benchmark: depth-2 ReLU NTK matrix against the bare matrix product (the floor).

Prints, for n = 8,000 points in d = 16 (defaults), in float32 and float64:
the time of ``ntkx.kernel_matrix`` (blocked, jit-compiled neural-tangents
kernel), the time of the bare product ``x @ x.T`` of the same input in jax
(jit-compiled, same dtype; also NumPy's, for reference), their ratio, the time
of the ridge-free solve of the resulting system (``solve_kernel_system``), and
the peak resident memory of the process. Each time is the best of ``--repeats``
runs after a warm-up (compilation excluded).

Run: ``uv run python benchmarks/bench_kernels.py [--n 8000] [--d 16]``
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

import ntkx
from ntkx.core.numerics import precision_context
from ntkx.core.solvers import solve_kernel_system

_MATMUL = jax.jit(lambda a: a @ a.T)


def best_of(fn, repeats: int) -> float:
    fn()  # warm-up: compilation and caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=8000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {jax.device_count()} "
        f"{jax.devices()[0].platform} device(s), {len(__import__('os').sched_getaffinity(0))} "
        f"cores; jax {jax.__version__}, numpy {np.__version__}"
    )
    net = ntkx.mlp(depth=2, activation="relu")
    rng = np.random.default_rng(0)
    rows = []
    for dtype in ("float32", "float64"):
        x = rng.normal(size=(args.n, args.d)).astype(dtype)
        t_kernel = best_of(lambda x=x, dtype=dtype: ntkx.kernel(net, x, dtype=dtype), args.repeats)
        with precision_context(np.dtype(dtype)):
            xj = jnp.asarray(x)
            t_floor = best_of(lambda xj=xj: _MATMUL(xj).block_until_ready(), args.repeats)
        t_numpy = best_of(lambda x=x: x @ x.T, args.repeats)
        k = ntkx.kernel(net, x, dtype=dtype)
        y = rng.normal(size=args.n).astype(dtype)
        start = time.perf_counter()
        _, diag = solve_kernel_system(k, y)
        t_solve = time.perf_counter() - start
        rows.append((dtype, t_kernel, t_floor, t_numpy, t_kernel / t_floor, t_solve, diag.path))
    print(f"\nn = {args.n}, d = {args.d}; best of {args.repeats} (seconds)")
    print(
        f"{'dtype':8s} {'NTK':>8s} {'jax x@x.T':>10s} {'numpy x@x.T':>12s} {'ratio':>7s} "
        f"{'solve':>8s}  path"
    )
    for dtype, tk, tf, tn, ratio, ts, path in rows:
        print(f"{dtype:8s} {tk:8.3f} {tf:10.3f} {tn:12.3f} {ratio:7.2f} {ts:8.3f}  {path}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak resident memory: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
