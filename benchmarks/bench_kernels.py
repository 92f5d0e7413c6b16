"""Benchmark: ReLU-family NTK and NNGP matrices against the bare matrix product (the floor).

For n = 8,000 points in d = 16 (defaults), in float32 and float64, in one run:

* the floor: the bare jit-compiled jax ``x @ x.T`` of the same input in the same dtype
  (NumPy's ``x @ x.T`` is printed for reference);
* ``ntkx.kernel(net, x, get=...)`` (blocked, jit-compiled, symmetric: upper triangle of tiles)
  for relu, leaky_relu (alpha = 0.1) and abrelu (a = -0.3, b = 0.7), depth 1-3, without bias and
  with ``b_std = 0.1``, for ``get="ntk"`` and ``get="nngp"``, and their ratio to the floor. Depth
  1 is the linear kernel: the matrix product itself plus the engine's tiling, copies and checks;
* the same depth-2 ReLU NTK through neural-tangents' ``stax`` kernel (``ntkx.from_stax`` of the
  same layers: the path every MLP kernel took before ntkx computed the ReLU family itself);
* with ``--solve``: the ridge-free solve of the depth-2 ReLU NTK system (``solve_kernel_system``).

Each time is the best of ``--repeats`` rounds after a warm-up (compilation excluded); each round
runs the floor and the four kernels of one activation and depth once, interleaved, so that load
drift on a shared machine hits all of them alike (groups, so that the compiled functions stay in
the engine's cache); the floor is the best over all groups. Run with ``nice -n 10`` when the
machine is quiet, and repeat the run to see the spread; the load average is printed before and
after.

The wall times are the headline; the script also prints the CPU time of the process (all
threads) of each, whose ratios do not count the time other jobs hold the cores.

Run: ``uv run python benchmarks/bench_kernels.py [--n 8000] [--d 16] [--repeats 3] [--solve]``
"""

from __future__ import annotations

import argparse
import math
import os
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

ACTIVATIONS = (("relu", None), ("leaky_relu", (0.1,)), ("abrelu", (-0.3, 0.7)))


def round_robin(fns: dict, repeats: int, cpu: dict | None = None) -> dict:
    """Best time of each function over ``repeats`` rounds; every round runs every function once.

    Interleaving spreads a change of the machine's load over all of them alike (on a shared
    machine, timing one configuration after another turns load drift into ratio error). With
    ``cpu``, the best CPU time of the process (all threads, ``time.process_time``) of each
    function is stored there too: it does not count the time other jobs hold the cores.
    """
    for fn in fns.values():
        fn()  # warm-up: compilation and caches
    times: dict = {key: [] for key in fns}
    cpus: dict = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times[key].append(time.perf_counter() - start)
            cpus[key].append(time.process_time() - start_cpu)
    if cpu is not None:
        cpu.update({key: min(v) for key, v in cpus.items()})
    return {key: min(v) for key, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=8000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--solve", action="store_true", help="also time the ridge-free solve")
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {jax.device_count()} "
        f"{jax.devices()[0].platform} device(s), {len(os.sched_getaffinity(0))} cores; "
        f"jax {jax.__version__}, numpy {np.__version__}; load average at start "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    rng = np.random.default_rng(0)
    floors: dict[str, float] = {}
    times: dict[tuple, float] = {}
    cpu_floors: dict[str, float] = {}
    cpu_times: dict[tuple, float] = {}
    numpy_floor: dict[str, float] = {}
    solve: dict[str, tuple[float, str]] = {}
    for dtype in ("float32", "float64"):
        x = rng.normal(size=(args.n, args.d)).astype(dtype)
        with precision_context(np.dtype(dtype)):
            xj = jnp.asarray(x)

        def floor(xj=xj, dtype=dtype) -> None:
            with precision_context(np.dtype(dtype)):
                _MATMUL(xj).block_until_ready()

        # One group per activation and depth (4 kernels: bias or not, NTK or NNGP), each
        # interleaved with the floor: a group's compiled functions fit the engine's cache
        # (ntkx.core.kernels.CACHE_SIZE), so no round recompiles (one round over all 36 nets
        # and both kernels would evict every function before its next call and time the
        # compilation). The floor is the best over all groups (the most conservative ratio).
        groups: list[dict] = []
        for name, params in ACTIVATIONS:
            for depth in args.depths:
                fns: dict = {"floor": floor}
                for b_std in (None, 0.1):
                    net = ntkx.mlp(
                        depth=depth, activation=name, activation_params=params, b_std=b_std
                    )
                    for get in ("ntk", "nngp"):
                        fns[name, depth, b_std, get] = lambda net=net, get=get, x=x, dtype=dtype: (
                            ntkx.kernel(net, x, get=get, dtype=dtype)
                        )
                groups.append(fns)
        relu2 = ntkx.mlp(depth=2)
        stax_net = ntkx.from_stax(*relu2.layers, width=relu2.width)
        groups.append(
            {
                "floor": floor,
                ("stax relu", 2, None, "ntk"): lambda x=x, dtype=dtype, net=stax_net: ntkx.kernel(
                    net, x, dtype=dtype
                ),
            }
        )
        floors[dtype] = cpu_floors[dtype] = math.inf
        for fns in groups:
            best_cpu: dict = {}
            best = round_robin(fns, args.repeats, best_cpu)
            floors[dtype] = min(floors[dtype], best.pop("floor"))
            cpu_floors[dtype] = min(cpu_floors[dtype], best_cpu.pop("floor"))
            times.update({(dtype, *key): t for key, t in best.items()})
            cpu_times.update({(dtype, *key): t for key, t in best_cpu.items()})
        numpy_floor[dtype] = round_robin({"numpy": lambda x=x: x @ x.T}, args.repeats)["numpy"]
        if args.solve:
            k = ntkx.kernel(relu2, x, dtype=dtype)
            y = rng.normal(size=args.n).astype(dtype)
            start = time.perf_counter()
            _, diag = solve_kernel_system(k, y)
            solve[dtype] = (time.perf_counter() - start, diag.path)
            del k

    floor = floors
    print(f"\nn = {args.n}, d = {args.d}; best of {args.repeats} interleaved rounds (seconds)")
    for dt in floors:
        print(f"floor jax x @ x.T {dt}: {floor[dt]:.3f} s; NumPy x @ x.T {numpy_floor[dt]:.3f} s")
    print(
        f"\n{'activation':12s} {'depth':>5s} {'bias':>5s} | {'float32 NTK':>17s} "
        f"{'float32 NNGP':>17s} | {'float64 NTK':>17s} {'float64 NNGP':>17s}"
    )
    worst = {dt: 0.0 for dt in floors}
    for name, _ in ACTIVATIONS:
        for depth in args.depths:
            for b_std in (None, 0.1):
                cells = []
                for dt in floors:
                    for get in ("ntk", "nngp"):
                        t = times[dt, name, depth, b_std, get]
                        worst[dt] = max(worst[dt], t / floor[dt])
                        cells.append(f"{t:6.3f} s {t / floor[dt]:5.2f}x")
                bias = "-" if b_std is None else str(b_std)
                print(
                    f"{name:12s} {depth:5d} {bias:>5s} | {cells[0]:>17s} {cells[1]:>17s} | "
                    f"{cells[2]:>17s} {cells[3]:>17s}"
                )
    cells = [
        f"{times[dt, 'stax relu', 2, None, 'ntk']:6.3f} s "
        f"{times[dt, 'stax relu', 2, None, 'ntk'] / floor[dt]:5.2f}x"
        for dt in floors
    ]
    print(f"{'stax relu':12s} {2:5d} {'-':>5s} | {cells[0]:>17s} {'':>17s} | {cells[1]:>17s}")
    print("\nworst ratio kernel / floor: " + ", ".join(f"{dt} {worst[dt]:.2f}x" for dt in floors))
    print(
        "CPU time (all threads; not counting other jobs' time on the cores), ratio to the "
        "floor's, by depth (range over activations, bias, NTK/NNGP):"
    )
    for dt in floors:
        print(
            f"  {dt}: floor {cpu_floors[dt]:.3f} s; "
            + "; ".join(
                f"depth {depth} {min(r):.2f}-{max(r):.2f}x"
                for depth in args.depths
                for r in [
                    [
                        cpu_times[dt, name, depth, b_std, get] / cpu_floors[dt]
                        for name, _ in ACTIVATIONS
                        for b_std in (None, 0.1)
                        for get in ("ntk", "nngp")
                    ]
                ]
            )
        )
    ranges = {
        (dt, depth): [
            times[dt, name, depth, b_std, get] / floor[dt]
            for name, _ in ACTIVATIONS
            for b_std in (None, 0.1)
            for get in ("ntk", "nngp")
        ]
        for dt in floors
        for depth in args.depths
    }
    print(
        "wall-time ratio ranges by depth: "
        + "; ".join(f"{dt} depth {d} {min(r):.2f}-{max(r):.2f}x" for (dt, d), r in ranges.items())
    )
    for dt, (t, path) in solve.items():
        print(f"ridge-free solve of the depth-2 ReLU NTK, {dt}: {t:.3f} s ({path})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"peak resident memory: {peak:.2f} GiB; load average at end "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
