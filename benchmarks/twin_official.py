"""Benchmark: a finite twin trained with the official code's semantics (arXiv 2009.11848).

The setting of the official feedforward code (github.com/jinglingli/nn-extrapolate, as
described in ``paper-notes.md``): quadratic target ``x^T A x`` with ``A ~ U[-1, 1]^{8x8}``
(not symmetrised), d = 8, 20,000 training points on the sphere of radius 1 (Gaussian
direction times 1), 20,000 test points in the ball of radius 5 (Gaussian direction times a
radius uniform in [0, 5], as the official generator draws its "ball"; not filtered to lie
outside the support); a two-layer ReLU MLP of width 128 with PyTorch's default init
(``ntkx.mlp(init="torch")``), Adam lr 1e-4, weight decay 1e-5 (L2), batch 64 with the last
partial batch dropped, learning rate halved every 50 epochs, 262 epochs, float32; test MAPE
is 100 x the torch (lower) median APE per batch of 64 in test order, averaged over the
full batches (``mape_median_per_batch(median="lower", zero_labels="keep")``).

One data set (data seed 0), three network seeds (init ``jax.random.key(seed)``, shuffling
``jax.random.key(10_000 + seed)``). Also, in the same run and for contrast: the same
network with ntkx's Gaussian NTK-parameterized init (``b_std=1``, the ``ntkx curve``
default), which the issue measured at 69%.

Reference: the issue (ntkx issue 10) gives the official code's test MAPE after 262 epochs
as 62% (mean of 3 seeds); per-seed values and the official seconds per epoch are not in
the issue or in paper-notes.md, so the spread and the speed ratio cannot be computed here:
the script prints ntkx's own s/epoch and the difference to the stated mean.

s/epoch: wall time of ``train_adam`` for the 262 epochs divided by 262, after a one-epoch
warm-up that compiles the epoch (the learning rate is traced, so every seed and learning
rate reuses that one compilation; ``compile_s`` and ``new_lr_epoch_s`` show it). The test
evaluation runs once, after training, outside the timed call.

Run: ``nice -n 10 uv run python benchmarks/twin_official.py [--epochs 262] [--seeds 0 1 2]
[--out benchmarks/twin_official.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax
import numpy as np

import ntkx
from ntkx.core.training import train_adam
from ntkx.feedforward.data import geometry, make_target
from ntkx.metrics import mape_median_per_batch

OFFICIAL_MEAN_MAPE = 62.0  # issue 10: official code, 262 epochs, mean of 3 seeds
SETTINGS = {
    "dim": 8,
    "n_train": 20_000,
    "n_test": 20_000,
    "train_radius": 1.0,
    "test_radius": 5.0,
    "width": 128,
    "learning_rate": 1e-4,
    "weight_decay": 1e-5,
    "batch_size": 64,
    "lr_halving_every": 50,
    "drop_last": True,
}


def data(seed: int = 0) -> tuple[np.ndarray, ...]:
    d = SETTINGS["dim"]
    target = make_target("quadratic", d, seed=seed, coef_range=1.0)
    x = geometry("sphere", d, SETTINGS["train_radius"]).sample(SETTINGS["n_train"], seed=seed + 1)
    xt = geometry("ball_radius_uniform", d, SETTINGS["test_radius"]).sample(
        SETTINGS["n_test"], seed=seed + 2
    )
    f32 = np.float32
    return x.astype(f32), target(x).astype(f32), xt.astype(f32), target(xt).astype(f32)


def train_kw(epochs: int, seed: int) -> dict:
    return {
        "key": jax.random.key(10_000 + seed),
        "learning_rate": SETTINGS["learning_rate"],
        "epochs": epochs,
        "batch_size": SETTINGS["batch_size"],
        "weight_decay": SETTINGS["weight_decay"],
        "lr_halving_every": SETTINGS["lr_halving_every"],
        "drop_last": SETTINGS["drop_last"],
        "dtype": "float32",
    }


def run(net: ntkx.MLP, seed: int, epochs: int, arrays: tuple[np.ndarray, ...]) -> dict:
    x, y, xt, yt = arrays
    p0 = net.init(jax.random.key(seed), SETTINGS["dim"])
    start = time.perf_counter()
    res = train_adam(net, p0, x, y, **train_kw(epochs, seed))
    wall = time.perf_counter() - start
    pred = np.asarray(jax.jit(net.apply)(res.params, xt))[:, 0]
    return {
        "seed": seed,
        "test_mape": mape_median_per_batch(yt, pred, batch_size=64, median="lower"),
        "test_mape_mean_median": mape_median_per_batch(yt, pred, batch_size=64, median="mean"),
        "final_train_loss": float(res.losses[-1]),
        "s_per_epoch": wall / epochs,
        "train_s": wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=262)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--no-contrast", action="store_true", help="skip the Gaussian-init rows")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "twin_official.json"))
    args = ap.parse_args()
    arrays = data(0)
    torch_net = ntkx.mlp(
        width=SETTINGS["width"], b_std=0.0, parameterization="standard", init="torch"
    )
    # warm-up: compile the epoch once; then a new learning rate reuses the compilation
    p0 = torch_net.init(jax.random.key(99), SETTINGS["dim"])
    t0 = time.perf_counter()
    train_adam(torch_net, p0, arrays[0], arrays[1], **train_kw(1, 99))
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    train_adam(torch_net, p0, arrays[0], arrays[1], **dict(train_kw(1, 99), learning_rate=1e-3))
    new_lr_s = time.perf_counter() - t0
    rows = {"torch": [run(torch_net, s, args.epochs, arrays) for s in args.seeds]}
    for r in rows["torch"]:
        print(f"torch init seed {r['seed']}: {r}", flush=True)
    if not args.no_contrast:
        gauss = ntkx.mlp(width=SETTINGS["width"], b_std=1.0)
        pg = gauss.init(jax.random.key(99), SETTINGS["dim"])
        train_adam(gauss, pg, arrays[0], arrays[1], **train_kw(1, 99))  # its own compilation
        rows["gaussian_ntk"] = [run(gauss, s, args.epochs, arrays) for s in args.seeds]
    mapes = [r["test_mape"] for r in rows["torch"]]
    summary = {
        "settings": dict(SETTINGS, epochs=args.epochs, seeds=args.seeds),
        "rows": rows,
        "compile_s": compile_s,
        "new_lr_epoch_s": new_lr_s,
        "torch_mean_mape": float(np.mean(mapes)),
        "torch_min_max_mape": [float(min(mapes)), float(max(mapes))],
        "official_mean_mape": OFFICIAL_MEAN_MAPE,
        "official_per_seed_mape": None,
        "official_s_per_epoch": None,
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "loadavg_at_end": os.getloadavg(),
            "jax": jax.__version__,
        },
    }
    with open(args.out, "w") as f:
        json.dump(summary, f, indent=1)
    print(
        f"\ncompile (first epoch, warm-up): {compile_s:.2f} s; "
        f"first epoch at a new learning rate: {new_lr_s:.2f} s (no recompilation)"
    )
    print("\n| init | seed | test MAPE (%) | MAPE, mean-median (%) | s/epoch |")
    print("|---|---|---|---|---|")
    for name, rs in rows.items():
        for r in rs:
            print(
                f"| {name} | {r['seed']} | {r['test_mape']:.2f} | "
                f"{r['test_mape_mean_median']:.2f} | {r['s_per_epoch']:.4f} |"
            )
    print(f"| official (issue 10) | mean of 3 | {OFFICIAL_MEAN_MAPE:.0f} | - | not stated |")
    print(
        f"\nntkx torch-init mean {np.mean(mapes):.2f}% (range {min(mapes):.2f}-{max(mapes):.2f}) "
        f"vs official mean {OFFICIAL_MEAN_MAPE:.0f}% (no per-seed official values: the spread "
        "cannot be checked); official s/epoch not stated, so the speed ratio is not computed."
    )
    print(f"wrote {args.out}; load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
