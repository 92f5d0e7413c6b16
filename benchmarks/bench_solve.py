"""Benchmark: which dense Cholesky survives paper-size solves, and what diagnostics cost.

Two parts.

``candidates``: each factorization candidate runs in its own *subprocess* (a
segfault inside LAPACK must not kill the benchmark), on a well-conditioned
symmetric positive definite matrix ``A = (U + U^T) / 2 + n I`` (``U`` uniform on
[0, 1); eigenvalues in about [n - sqrt(n), 1.5 n], condition number about 1.5),
float64, at n = 12,000, 16,000 and 20,000. It reports the time of the
factorization and whether the process crashed (exit signal), plus the relative
residual ``||A x - b|| / ||b||`` of the solve with the factor. The candidates:

* ``scipy-mt``: ``scipy.linalg.cho_factor`` as it comes (scipy's bundled
  OpenBLAS, all cores);
* ``scipy-1t``: the same inside ``threadpoolctl.threadpool_limits(1)``;
* ``numpy-mt``: ``numpy.linalg.cholesky`` (numpy bundles a different OpenBLAS);
* ``jax-mt``: ``jax.scipy.linalg.cho_factor`` (float64, on the CPU);
* ``eigvalsh-mt`` / ``eigvalsh-1t``: ``scipy.linalg.eigvalsh`` (the eigenvalue
  fallback), with all cores / one thread.

``diagnostics``: the cost of ``solve_kernel_system``'s diagnostics levels
(``"none"``, ``"cheap"``, ``"full"``) on a ReLU NTK of n points (n = 3,000 and
8,000 by default), as a fraction of the ``"none"`` solve measured in the same
run.

Run: ``nice -n 10 uv run python benchmarks/bench_solve.py candidates`` and
``nice -n 10 uv run python benchmarks/bench_solve.py diagnostics``.

Measured (2-core AMD EPYC VM, 24 GiB, shared with other sessions' jobs, load average
4-8, so times move by 2-3x between runs; scipy 1.17.1 with OpenBLAS 0.3.30, numpy 2.4.6 with
OpenBLAS 0.3.31, jax 0.10.2). Factorization time, or how the subprocess died::

    candidate      n = 12,000   n = 16,000   n = 20,000
    scipy-1t         18.3 s       79.7 s      103.7 s     <- the solver's default
    scipy-mt          6.8 s      SIGSEGV      SIGSEGV
    numpy-mt         26.0 s      SIGSEGV      SIGSEGV
    jax-mt           21.4 s      SIGSEGV      SIGSEGV
    eigvalsh-mt         -        no crash, not done in 300 s

    (n = 2,000 under load: scipy-1t 0.17 s, scipy-mt 2.46 s; residuals of all completed
    runs 8.4e-16 to 9.2e-16.)

Diagnostics (ReLU NTK, d = 16, best of 3 in rotating order, load average 6-8)::

    n      none     cheap    full     cheap's added work (K alpha, norms)
    3000   0.47 s   0.51 s   1.05 s   0.4 % of the solve
    8000   7.5 s    6.8 s   12.9 s    0.6 % of the solve

(the end-to-end none/cheap differences, -9 % to +8 %, are the load's noise).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

CANDIDATES = ("scipy-mt", "scipy-1t", "numpy-mt", "jax-mt", "eigvalsh-mt", "eigvalsh-1t")


def spd_matrix(n: int, seed: int = 0) -> np.ndarray:
    """``(U + U^T) / 2 + n I`` built in place, block by block (one n x n buffer)."""
    a = np.random.default_rng(seed).random((n, n))
    block = 2048
    for i in range(0, n, block):
        for j in range(0, i + 1, block):
            avg = 0.5 * (a[i : i + block, j : j + block] + a[j : j + block, i : i + block].T)
            a[i : i + block, j : j + block] = avg
            a[j : j + block, i : i + block] = avg.T
    a[np.diag_indices(n)] += n
    return a


def _worker(candidate: str, n: int) -> dict:
    import scipy.linalg
    from threadpoolctl import threadpool_limits

    a = spd_matrix(n)
    b = np.random.default_rng(1).normal(size=n)
    out: dict = {"candidate": candidate, "n": n}
    start = time.perf_counter()
    if candidate.startswith("scipy"):
        limit = 1 if candidate.endswith("1t") else None
        with threadpool_limits(limit):
            factor = scipy.linalg.cho_factor(a, lower=True, check_finite=False)
            out["factor_s"] = time.perf_counter() - start
            x = scipy.linalg.cho_solve(factor, b, check_finite=False)
    elif candidate == "numpy-mt":
        low = np.linalg.cholesky(a)
        out["factor_s"] = time.perf_counter() - start
        x = scipy.linalg.cho_solve((low, True), b, check_finite=False)
    elif candidate == "jax-mt":
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.scipy.linalg as jsl

        aj = jax.numpy.asarray(a)
        aj.block_until_ready()
        start = time.perf_counter()
        c, low = jsl.cho_factor(aj, lower=True)
        c.block_until_ready()
        out["factor_s"] = time.perf_counter() - start
        x = np.asarray(jsl.cho_solve((c, low), jax.numpy.asarray(b)))
    elif candidate.startswith("eigvalsh"):
        limit = 1 if candidate.endswith("1t") else None
        with threadpool_limits(limit):
            evals = scipy.linalg.eigvalsh(a, check_finite=False)
        out["factor_s"] = time.perf_counter() - start
        out["min_eig"], out["max_eig"] = float(evals[0]), float(evals[-1])
        return out
    else:
        raise ValueError(candidate)
    out["residual"] = float(np.linalg.norm(a @ x - b) / np.linalg.norm(b))
    return out


def run_candidates(sizes: list[int], names: list[str], timeout: float) -> list[dict]:
    rows = []
    for n in sizes:
        for name in names:
            cmd = [sys.executable, __file__, "_worker", name, str(n)]
            start = time.perf_counter()
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                row = {"candidate": name, "n": n, "status": f"timeout > {timeout:.0f} s"}
            else:
                if proc.returncode == 0:
                    row = json.loads(proc.stdout.strip().splitlines()[-1]) | {"status": "ok"}
                else:
                    sig = -proc.returncode if proc.returncode < 0 else None
                    row = {
                        "candidate": name,
                        "n": n,
                        "status": f"crashed (signal {sig})" if sig else f"exit {proc.returncode}",
                        "stderr": proc.stderr.strip()[-300:],
                    }
            row["wall_s"] = time.perf_counter() - start
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def run_diagnostics(sizes: list[int], repeats: int) -> None:
    import ntkx
    from ntkx.core.solvers import solve_kernel_system

    net = ntkx.mlp(depth=2, activation="relu", b_std=0.1)
    rng = np.random.default_rng(0)
    levels = ("none", "cheap", "full")
    print(
        f"\n{'n':>6s} {'none (s)':>9s} {'cheap (s)':>10s} {'full (s)':>9s} "
        f"{'cheap extra':>12s} {'full extra':>11s} {'residual op':>12s}  path"
    )
    for n in sizes:
        x = rng.normal(size=(n, 16))
        k = np.asarray(ntkx.kernel(net, x, dtype="float64"))
        y = rng.normal(size=n)
        times = dict.fromkeys(levels, float("inf"))
        for rep in range(repeats):  # rotate the order: load drifts between runs
            for level in levels[rep % 3 :] + levels[: rep % 3]:
                start = time.perf_counter()
                alpha, diag = solve_kernel_system(k, y, diagnostics=level)
                times[level] = min(times[level], time.perf_counter() - start)
        # The only work "cheap" adds to "none": one matrix-vector product and norms, timed
        # alone (best of 5) because the solve itself varies by several percent under load.
        op = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            r = k @ alpha - y
            float(np.linalg.norm(r)) / float(np.linalg.norm(y)), float(np.linalg.norm(alpha))
            op = min(op, time.perf_counter() - start)
        base = times["none"]
        print(
            f"{n:6d} {base:9.3f} {times['cheap']:10.3f} {times['full']:9.3f} "
            f"{(times['cheap'] - base) / base:12.1%} {(times['full'] - base) / base:11.1%} "
            f"{op / base:12.1%}  {diag.path}",
            flush=True,
        )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "_worker":
        print(json.dumps(_worker(sys.argv[2], int(sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="part", required=True)
    cand = sub.add_parser("candidates")
    cand.add_argument("--sizes", type=int, nargs="+", default=[12000, 16000, 20000])
    cand.add_argument("--only", nargs="+", choices=CANDIDATES, default=list(CANDIDATES))
    cand.add_argument("--timeout", type=float, default=900.0)
    diag = sub.add_parser("diagnostics")
    diag.add_argument("--sizes", type=int, nargs="+", default=[3000, 8000])
    diag.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.2f}; "
        f"numpy {np.__version__}, python {platform.python_version()}"
    )
    if args.part == "candidates":
        run_candidates(args.sizes, args.only, args.timeout)
    else:
        run_diagnostics(args.sizes, args.repeats)


if __name__ == "__main__":
    main()
