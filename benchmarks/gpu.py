"""One prepared GPU benchmark (issue 12, item 5): every device number of the README in one run.

Parts, in this order (each one timed against the budget; a part that no longer fits is skipped
with a message, and the JSON is rewritten after every part, so a timeout or Ctrl-C keeps the
finished ones):

1. ``kernel_ratio``: ``ntkx.kernel`` of the depth-2 and depth-3 ReLU NTK with bias (``b_std =
   0.1``), n = 40,000 points in d = 16, float32, against the floor, the bare jit-compiled
   ``x @ x.T`` of the same input (on the device, and copied to the host, since ``ntkx.kernel``
   returns a NumPy array). **Full precision**: on GPUs jax multiplies float32 in TF32 unless
   told; ntkx's kernel code runs under ``jax.default_matmul_precision("highest")`` and the floor
   uses ``precision=HIGHEST``. The TF32 floor is timed too, and its error reported. Check: the
   float32 kernel on 64 sampled points against ntkx's float64 kernel of the same points.
2. ``dense_solve``: the paper's feedforward size, n = 20,000 points on the unit sphere in
   d = 8, depth-2 ReLU NTK (``b_std = 1``), float64, ridge-free (the slow test
   ``test_paper_size_solve_n20000``): ``ntkx.kernel`` then ``solve_kernel_system`` with the
   factorization on the host (SciPy, one LAPACK thread), the same call where ntkx places it
   (``CHOLESKY_ON="auto"``: the device on a GPU), and for reference jax's bare float64
   Cholesky solve on the device.
3. ``cg_products``: one product ``K v`` (float32, depth-2 ReLU NTK with bias, d = 16) at
   n = 100,000 for several tile sizes; the fastest tile is used for part 4; at that tile the
   full product (every tile, ``symmetric=False``) is timed against the symmetric one (tiles
   ``i <= j`` only).
4. ``cg``: matrix-free CG at n = 1,000,000 points (float32, ridge 1e-2, tol 1e-5, rank-100
   pivoted-Cholesky preconditioner): time per product, setup, total time, iterations. The
   iterations are capped by what is left of the budget (``capped_by_budget``).

Writes one JSON (``--out``, default ``gpu.json``): card (``jax.devices()[0].device_kind``),
versions, load, every number; prints a Markdown table for the README. ``--tiny`` runs every
part at small n (on a CPU in a few seconds: ``tests/test_gpu_benchmark.py``).

**On the device machine** (Python 3.12 and jax 0.11.2 with CUDA there; no neural-tangents, no
tyro): ``import ntkx`` imports neural-tangents (``ntkx/_compat.py``: the MLP spec is built from
its ``stax`` layers, although the ReLU-family kernels are ntkx's own closed forms in
``ntkx/core/arccos.py``), so two pure-Python wheels travel in ``.whl``: neural-tangents 0.6.5
and frozendict 2.5.1 (its one other dependency). Everything else ``import ntkx`` needs (numpy,
scipy, jaxtyping, optax, networkx, tqdm, threadpoolctl) is in the device image; tyro is
imported only by the command line. Checked here with Python 3.12, jax 0.11.2 (CPU), those
packages and the two wheels: ``--tiny`` runs every part. Once, in the root of the checkout the
session was started in (the ``run`` tool sends that checkout, also from a helper's worktree)::

    echo /.whl/ >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux2014_x86_64 -d .whl \
        neural-tangents==0.6.5 frozendict==2.5.1

then the ``run`` tool with ``carry=[".whl"]``, ``timeout_s=600`` and this command (one line,
292 characters of the 2,000 allowed)::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:. || exit; nvidia-smi -L;
    set -o pipefail; PYTHONUNBUFFERED=1 python3 benchmarks/gpu.py --budget-s 480
    --out $OUT/gpu.json 2>&1 | tee $OUT/gpu.log

``$OUT/gpu.json`` and ``$OUT/gpu.log`` come back even if the command is killed at its limit. The
budget (480 s) leaves the 600 s limit room for jax's start-up and the wheels. The JSON's
``parts.*.status`` says which parts finished (``done``), were ``skipped`` for lack of budget, or
failed (``error``, with the traceback); ``cg.capped_by_budget`` says whether CG was stopped by
the budget rather than by its tolerance.

Run here: ``uv run python benchmarks/gpu.py --tiny --out /tmp/gpu.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the device machine runs from a bare checkout
    sys.path.insert(0, str(ROOT))

import ntkx  # noqa: E402
from ntkx.core import solvers  # noqa: E402
from ntkx.core.iterative import (  # noqa: E402
    DEFAULT_TOL,
    conjugate_gradients,
    low_rank_preconditioner,
)
from ntkx.core.solvers import solve_kernel_system  # noqa: E402
from ntkx.runner import save_json  # noqa: E402

PARTS = ("kernel_ratio", "dense_solve", "cg_products", "cg")
PRECISION = (
    "float32 products at precision HIGHEST (full float32, not TF32): ntkx's kernel code runs "
    "under jax.default_matmul_precision('highest'), the x @ x.T floor uses precision=HIGHEST"
)


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Problem sizes of one mode, and the seconds each part needs at least to be started."""

    ratio_n: int
    dense_n: int
    probe_n: int
    probe_blocks: tuple[int | None, ...]
    cg_n: int
    cg_max_iter: int
    cg_rank: int
    depths: tuple[int, ...]
    repeats: int
    need_s: dict[str, float]


FULL = Sizes(
    ratio_n=40_000,
    dense_n=20_000,
    probe_n=100_000,
    probe_blocks=(None, 2_000, 5_000, 10_000),
    cg_n=1_000_000,
    cg_max_iter=1000,
    cg_rank=100,
    depths=(2, 3),
    repeats=2,
    need_s={"kernel_ratio": 60, "dense_solve": 90, "cg_products": 40, "cg": 60},
)
TINY = Sizes(
    ratio_n=300,
    dense_n=200,
    probe_n=301,
    probe_blocks=(64,),  # 5 blocks of 61, the last one ragged
    cg_n=301,
    cg_max_iter=1000,
    cg_rank=10,
    depths=(2,),
    repeats=2,
    need_s=dict.fromkeys(PARTS, 0.0),
)
D_RATIO, D_CG, D_DENSE = 16, 16, 8
CG_RIDGE = 1e-2
SAMPLE = 64  # points of the float32-against-float64 kernel check


# --------------------------------------------------------------------------- data


def points(n: int, d: int, seed: int) -> np.ndarray:
    """``n`` standard normal points in ``d`` dimensions, float64 (parts 1, 3, 4)."""
    return np.random.default_rng(seed).normal(size=(n, d))


def cg_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The CG recipe of ``benchmarks/bench_cg.py``: ``x ~ N(0, I_16)``, ``y = sin x_0 + 0.1 e``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D_CG))
    return x, np.sin(x[:, 0]) + 0.1 * rng.normal(size=n)


def sphere_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The paper-size solve's recipe: unit sphere in d = 8, ``y = sum_i c_i x_i^2``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D_DENSE))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, (x**2) @ rng.uniform(-1, 1, size=D_DENSE)


# --------------------------------------------------------------------------- helpers


def _best(fn: Any, repeats: int, deadline: float) -> tuple[float, list[float]]:
    """Best wall time of ``repeats`` calls (fewer if the deadline comes first; at least one)."""
    times: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if time.perf_counter() + times[-1] > deadline:
            break
    return min(times), times


def _memory() -> dict[str, Any] | None:
    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:  # CPU backends may have none
        return None
    if not stats:
        return None
    keep = ("bytes_limit", "peak_bytes_in_use", "bytes_in_use")
    return {k: int(stats[k]) for k in keep if k in stats}


def environment() -> dict[str, Any]:
    import scipy

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    dev = jax.devices()[0]
    return {
        "device_kind": dev.device_kind,
        "platform": dev.platform,
        "n_devices": len(jax.devices()),
        "jax": jax.__version__,
        "jaxlib": getattr(getattr(jax, "lib", None), "__version__", None)
        or __import__("jaxlib").__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "ntkx_commit": commit or None,
        "host_cpus": os.cpu_count(),
        "machine": platform.machine(),
    }


# --------------------------------------------------------------------------- parts


def part_kernel_ratio(s: Sizes, deadline: float, tiny: bool) -> dict[str, Any]:
    n = s.ratio_n
    x = points(n, D_RATIO, seed=1).astype(np.float32)
    xj = jnp.asarray(x)
    highest = jax.jit(lambda a: jnp.matmul(a, a.T, precision=jax.lax.Precision.HIGHEST))
    default = jax.jit(lambda a: jnp.matmul(a, a.T))  # TF32 on GPUs
    out: dict[str, Any] = {"n": n, "d": D_RATIO, "dtype": "float32", "precision": PRECISION}
    a, b = highest(xj), default(xj)
    out["tf32_floor_max_rel_error"] = float(jnp.max(jnp.abs(b - a)) / jnp.max(jnp.abs(a)))
    del a, b
    out["floor_device_s"], _ = _best(lambda: highest(xj).block_until_ready(), 3, deadline)
    out["floor_tf32_device_s"], _ = _best(lambda: default(xj).block_until_ready(), 3, deadline)
    out["floor_host_s"], _ = _best(lambda: np.asarray(highest(xj)), s.repeats, deadline)
    rng = np.random.default_rng(2)
    idx = np.sort(rng.choice(n, size=min(SAMPLE, n), replace=False))
    kernels = []
    for depth in s.depths:
        net = ntkx.mlp(depth=depth, b_std=0.1)
        ntkx.kernel(net, x[: min(n, 2000)], dtype="float32")  # compile the same tile shapes
        holder: dict[str, np.ndarray] = {}

        def call(net: ntkx.MLP = net, holder: dict = holder) -> None:
            holder.pop("k", None)  # free the previous 6.4 GB first
            holder["k"] = ntkx.kernel(net, x, dtype="float32")

        best, times = _best(call, s.repeats, deadline)
        k32 = holder.pop("k")[np.ix_(idx, idx)].astype(np.float64)
        k64 = ntkx.kernel(net, x[idx].astype(np.float64), dtype="float64")
        scale = np.sqrt(np.outer(np.diag(k64), np.diag(k64)))
        row = {
            "net": f"relu depth {depth} NTK, b_std 0.1",
            "depth": depth,
            "kernel_s": best,
            "kernel_times_s": times,
            "ratio_device_floor": best / out["floor_device_s"],
            "ratio_host_floor": best / out["floor_host_s"],
            "float32_vs_float64_max_rel_error": float(np.max(np.abs(k32 - k64) / scale)),
        }
        if depth == 2:
            row["sample_idx"] = idx[:16].tolist()
            row["sample_values"] = k32[:16, :16].tolist()
        kernels.append(row)
        if time.perf_counter() > deadline:
            break
    out["kernels"] = kernels
    return out


def part_dense_solve(s: Sizes, deadline: float, tiny: bool) -> dict[str, Any]:
    n = s.dense_n
    x, y = sphere_data(n)
    net = ntkx.mlp(depth=2, b_std=1.0)
    ntkx.kernel(net, x[: min(n, 2000)], dtype="float64")  # compile
    start = time.perf_counter()
    k = ntkx.kernel(net, x, dtype="float64")
    t_kernel = time.perf_counter() - start
    saved, solvers.CHOLESKY_ON = solvers.CHOLESKY_ON, "host"
    try:
        start = time.perf_counter()
        alpha, diag = solve_kernel_system(k, y)
        t_solve = time.perf_counter() - start
    finally:
        solvers.CHOLESKY_ON = saved
    start = time.perf_counter()
    alpha_auto, diag_auto = solve_kernel_system(k, y)  # ntkx's default: the device on a GPU
    t_auto = time.perf_counter() - start
    residual = float(np.linalg.norm(k @ alpha - y) / np.linalg.norm(y))
    out: dict[str, Any] = {
        "n": n,
        "d": D_DENSE,
        "dtype": "float64",
        "kernel_s": t_kernel,
        "solve_s": t_solve,
        "total_s": t_kernel + t_solve,
        "path": diag.path,
        "jitter": diag.jitter,
        "condition_estimate": diag.condition_number,
        "residual": residual,
        "reported_residual": diag.residual,
        "auto_solve_s": t_auto,
        "auto_factored_on": diag_auto.factored_on,
        "auto_alpha_rel_diff": float(np.linalg.norm(alpha_auto - alpha) / np.linalg.norm(alpha)),
    }
    if tiny:
        out["alpha"] = alpha.tolist()
    if jax.default_backend() == "cpu" and n >= 16_000:
        out["device_cholesky"] = "skipped: jax's CPU Cholesky segfaults at n >= 16,000 (README)"
        return out
    with jax.enable_x64(True):
        shift = float(diag.jitter or 0.0)

        @jax.jit
        def chol(kk: jax.Array, yy: jax.Array) -> jax.Array:
            kk = kk + shift * jnp.eye(kk.shape[0], dtype=kk.dtype)
            return jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(kk, lower=True), yy)

        kd, yd = jnp.asarray(k), jnp.asarray(y)
        start = time.perf_counter()
        chol(kd, yd).block_until_ready()
        first = time.perf_counter() - start
        best, _ = _best(lambda: chol(kd, yd).block_until_ready(), 2, deadline)
        a_dev = np.asarray(chol(kd, yd))
    out["device_cholesky"] = {
        "first_call_s": first,
        "seconds": best,
        "residual": float(np.linalg.norm(k @ a_dev - y) / np.linalg.norm(y)),
        "alpha_rel_diff": float(np.linalg.norm(a_dev - alpha) / np.linalg.norm(alpha)),
    }
    return out


def part_cg_products(s: Sizes, deadline: float, tiny: bool) -> dict[str, Any]:
    n = s.probe_n
    x, y = cg_data(n, seed=3)
    v = y[:, None]
    net = ntkx.mlp(depth=2, b_std=0.1)
    rows = []
    results = {}
    for block in s.probe_blocks:
        op = ntkx.KernelOperator(net, x, dtype="float32", block_size=block)
        start = time.perf_counter()
        results[op.block] = op.kernel_matvec(v)
        compile_s = time.perf_counter() - start
        best, _ = _best(lambda op=op: op.kernel_matvec(v), s.repeats, deadline)
        tiles = op.n_blocks * (op.n_blocks // 2 + 1)
        rows.append(
            {
                "block_size": block,
                "block": op.block,
                "n_blocks": op.n_blocks,
                "tiles": tiles,
                "first_call_s": compile_s,
                "seconds": best,
                "kernel_entries_per_s": tiles * op.block**2 / best,
            }
        )
        if time.perf_counter() > deadline:
            break
    best_row = min(rows, key=lambda r: r["seconds"])
    out: dict[str, Any] = {"n": n, "d": D_CG, "dtype": "float32", "products": rows}
    out["best_block"] = best_row["block"]
    full = ntkx.KernelOperator(
        net, x, dtype="float32", block_size=best_row["block"], symmetric=False
    )
    kv_full = full.kernel_matvec(v)
    full_s, _ = _best(lambda: full.kernel_matvec(v), s.repeats, deadline)
    kv_sym = results[best_row["block"]]
    out["full_seconds"] = full_s
    out["full_over_symmetric"] = full_s / best_row["seconds"]
    # float32 tiles summed in two orders: ~ sqrt(n_blocks) * 6e-8 relative to max |K v|
    out["symmetric_vs_full_max_rel_diff"] = float(
        np.abs(kv_sym - kv_full).max() / np.abs(kv_full).max()
    )
    return out


def part_cg(
    s: Sizes, deadline: float, tiny: bool, block: int | None, ridge: float = CG_RIDGE
) -> dict[str, Any]:
    n = s.cg_n
    x, y = cg_data(n, seed=4)
    b = y[:, None]
    net = ntkx.mlp(depth=2, b_std=0.1)
    t0 = time.perf_counter()
    op = ntkx.KernelOperator(net, x, dtype="float32", ridge=ridge, block_size=block)
    op.matvec(b)  # compile
    compile_s = time.perf_counter() - t0
    start = time.perf_counter()
    op.matvec(b)
    one = time.perf_counter() - start
    start = time.perf_counter()
    pre = low_rank_preconditioner(op.diagonal(), op.columns, min(s.cg_rank, n), op.ridge)
    setup_s = time.perf_counter() - start
    left = deadline - time.perf_counter()
    max_iter = min(s.cg_max_iter, int(0.95 * left / one) - 1)
    out: dict[str, Any] = {
        "n": n,
        "d": D_CG,
        "dtype": "float32",
        "ridge": ridge,
        "tol": DEFAULT_TOL[np.dtype("float32")],
        "preconditioner": f"pivoted_cholesky rank {pre.rank}",
        "block": op.block,
        "n_blocks": op.n_blocks,
        "tiles_per_product": op.n_blocks * (op.n_blocks // 2 + 1),
        "first_product_s": compile_s,
        "second_product_s": one,
        "setup_s": setup_s,
        "max_iter": max_iter,
        "capped_by_budget": max_iter < s.cg_max_iter,
    }
    if max_iter < 1:
        out["skipped"] = f"{left:.0f} s left: not one product ({one:.1f} s) fits"
        return out
    op.n_matvecs, op.matvec_seconds = 0, 0.0
    start = time.perf_counter()
    res = conjugate_gradients(
        op.matvec, b, precondition=pre.apply, tol=out["tol"], max_iter=max_iter
    )
    cg_s = time.perf_counter() - start
    out.update(
        {
            "iterations": res.iterations,
            "converged": res.converged,
            "residual": res.residual,
            "history": [*res.history[:: max(1, len(res.history) // 50)], res.history[-1]],
            "products": op.n_matvecs,
            "seconds_per_matvec": op.matvec_seconds / max(op.n_matvecs, 1),
            "cg_s": cg_s,
            "total_s": time.perf_counter() - t0,
        }
    )
    if tiny:
        out["alpha"] = res.x[:, 0].tolist()
    return out


# --------------------------------------------------------------------------- report


def _fmt(value: Any, spec: str = ".3g") -> str:
    return "-" if value is None else format(value, spec)


def table(record: dict[str, Any]) -> str:
    """The Markdown table of ``record`` (one row per measurement)."""
    env = record["environment"]
    lines = [
        f"Card: **{env['device_kind']}** ({env['platform']}), jax {env['jax']}; {PRECISION}.",
        "",
        "| part | setting | result |",
        "|---|---|---|",
    ]
    parts = record["parts"]
    for name in PARTS:
        p = parts.get(name)
        if p is None:
            continue
        if p.get("status") != "done":
            why = p.get("reason") or "".join(p.get("error", "").strip().splitlines()[-1:])
            lines.append(f"| {name} | | {p.get('status')}: {why} |")
            continue
        if name == "kernel_ratio":
            lines.append(
                f"| `x @ x.T` floor | n = {p['n']:,}, d = {p['d']}, float32 | "
                f"{_fmt(p['floor_device_s'])} s on the device, {_fmt(p['floor_host_s'])} s "
                f"with the copy to the host; TF32: {_fmt(p['floor_tf32_device_s'])} s, "
                f"max rel. error {_fmt(p['tf32_floor_max_rel_error'], '.1e')} |"
            )
            for k in p["kernels"]:
                lines.append(
                    f"| `ntkx.kernel` / floor | {k['net']}, n = {p['n']:,}, float32 | "
                    f"{_fmt(k['kernel_s'])} s: {_fmt(k['ratio_device_floor'])}x the device "
                    f"floor, {_fmt(k['ratio_host_floor'])}x with the copy; float32 vs float64 "
                    f"{_fmt(k['float32_vs_float64_max_rel_error'], '.1e')} |"
                )
        elif name == "dense_solve":
            dev = p.get("device_cholesky")
            dev_txt = (
                f"; jax Cholesky on the device {_fmt(dev['seconds'])} s (residual "
                f"{_fmt(dev['residual'], '.1e')})"
                if isinstance(dev, dict)
                else ""
            )
            lines.append(
                f"| dense solve | n = {p['n']:,}, d = {p['d']} sphere, depth-2 ReLU NTK, "
                f"float64, ridge 0 | kernel {_fmt(p['kernel_s'])} s + solve "
                f"{_fmt(p['solve_s'])} s ({p['path']}, one host thread), residual "
                f"{_fmt(p['residual'], '.1e')}{dev_txt}; `solve_kernel_system` as ntkx "
                f"places it ({p['auto_factored_on']}) {_fmt(p['auto_solve_s'])} s |"
            )
        elif name == "cg_products":
            for r in p["products"]:
                lines.append(
                    f"| one symmetric product `K v` | n = {p['n']:,}, float32, tiles of "
                    f"{r['block']:,} ({r['n_blocks']} per side) | {_fmt(r['seconds'])} s, "
                    f"{_fmt(r['kernel_entries_per_s'], '.2e')} kernel entries/s |"
                )
            lines.append(
                f"| full product (every tile) | n = {p['n']:,}, tiles of {p['best_block']:,} | "
                f"{_fmt(p['full_seconds'])} s: {_fmt(p['full_over_symmetric'])}x the "
                f"symmetric one (rel. diff {_fmt(p['symmetric_vs_full_max_rel_diff'], '.1e')}) |"
            )
        elif name == "cg":
            if "skipped" in p:
                lines.append(f"| CG | n = {p['n']:,} | skipped: {p['skipped']} |")
                continue
            state = "converged" if p["converged"] else "stopped by the budget"
            lines.append(
                f"| CG | n = {p['n']:,}, d = {p['d']}, float32, ridge {p['ridge']:g}, tol "
                f"{p['tol']:g}, {p['preconditioner']}, tiles of {p['block']:,} | "
                f"{_fmt(p['seconds_per_matvec'])} s per product, {p['iterations']} iterations "
                f"({state}, residual {_fmt(p['residual'], '.1e')}), setup "
                f"{_fmt(p['setup_s'])} s, total {_fmt(p['total_s'])} s |"
            )
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu.json", help="JSON path (rewritten after each part)")
    parser.add_argument("--budget-s", type=float, default=480.0, help="wall-clock budget")
    parser.add_argument("--tiny", action="store_true", help="small n: a CPU test in seconds")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--cg-block", type=int, default=None, help="tile side for part 4")
    parser.add_argument("--cg-rank", type=int, default=None, help="preconditioner rank, part 4")
    parser.add_argument("--cg-ridge", type=float, default=CG_RIDGE, help="ridge of part 4")
    args = parser.parse_args(argv)
    if args.budget_s <= 0:
        raise SystemExit(f"--budget-s={args.budget_s} is not allowed; expected seconds > 0.")
    if args.cg_rank is not None and args.cg_rank < 1:
        raise SystemExit(f"--cg-rank={args.cg_rank} is not allowed; expected an integer >= 1.")
    if not args.cg_ridge > 0:
        raise SystemExit(f"--cg-ridge={args.cg_ridge} is not allowed; expected a ridge > 0.")
    start = time.perf_counter()
    deadline = start + args.budget_s
    sizes = TINY if args.tiny else FULL
    record: dict[str, Any] = {
        "schema": "ntkx-gpu-benchmark/1",
        "mode": "tiny" if args.tiny else "full",
        "budget_s": args.budget_s,
        "environment": environment(),
        "precision": PRECISION,
        "load_start": os.getloadavg(),
        "parts": {},
        "interrupted": False,
    }
    print(f"{record['environment']}\n{PRECISION}", flush=True)
    save_json(args.out, record)
    for name in args.parts:
        left = deadline - time.perf_counter()
        need = sizes.need_s[name]
        if left < need:
            part: dict[str, Any] = {
                "status": "skipped",
                "reason": f"{left:.0f} s of the budget left; the part needs about {need:.0f} s",
            }
            print(f"[{name}] skipped: {part['reason']}", flush=True)
        else:
            print(f"[{name}] starting ({left:.0f} s of the budget left)", flush=True)
            t = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ntkx.ConvergenceWarning)
                    if name == "cg":
                        probe = record["parts"].get("cg_products", {})
                        block = args.cg_block or probe.get("best_block")
                        if args.cg_rank is not None:
                            sizes = dataclasses.replace(sizes, cg_rank=args.cg_rank)
                        part = part_cg(sizes, deadline, args.tiny, block, args.cg_ridge)
                    else:
                        fn = {
                            "kernel_ratio": part_kernel_ratio,
                            "dense_solve": part_dense_solve,
                            "cg_products": part_cg_products,
                        }[name]
                        part = fn(sizes, deadline, args.tiny)
                part["status"] = "done"
            except KeyboardInterrupt:
                record["interrupted"] = True
                record["parts"][name] = {"status": "interrupted"}
                print(f"[{name}] interrupted; finished parts kept in {args.out}", flush=True)
                break
            except Exception:
                part = {"status": "error", "error": traceback.format_exc()[-3000:]}
                print(f"[{name}] failed:\n{part['error']}", flush=True)
            part["seconds"] = time.perf_counter() - t
            part["device_memory"] = _memory()
            print(f"[{name}] {part['status']} in {part['seconds']:.1f} s", flush=True)
        record["parts"][name] = part
        record["elapsed_s"] = time.perf_counter() - start
        save_json(args.out, record)
    record["load_end"] = os.getloadavg()
    record["elapsed_s"] = time.perf_counter() - start
    save_json(args.out, record)
    print()
    print(table(record), flush=True)
    return record


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # a timeout's SIGTERM: keep the finished parts


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    main()
