"""Shortest path at the paper's size within a wall-clock budget (issue 10, item 3), for a GPU lease.

Xu et al. (ICLR 2021, arXiv 2009.11848, Section 4) train 3-layer per-edge GNNs with min
readout on 10,000 graphs of 20-30 nodes (weights U[1, 5]), width 256, 300 epochs (Adam lr 0.005,
batch 32, weight decay 1e-5, lr halved every 50 epochs) and test on 50-100 nodes with weights
U[1, 10]. On two CPU cores one such epoch takes minutes (``graph_shortest_path_table.py
--time-paper-epoch``); this script runs one variant (``--aggregation``, ``--l1``,
``--message-relu``) at that size on whatever device jax has, with as many epochs as the budget
allows (at most ``--epochs``):

1. samples the training graphs and times one epoch on them (a first call compiles the epoch,
   which the experiment's training reuses, a second one is timed);
2. sets ``epochs = min(--epochs, (budget - reserve) / seconds_per_epoch)``, where ``reserve``
   (``--reserve-s``) is kept for the data, the compilation and the test predictions;
3. runs :func:`ntkx.graphs.experiment.run_graph_experiment` at that size, tested on general
   (Erdos-Renyi) graphs of 50-100 nodes with weights U[1, 10] (and one axis at a time), on
   ``--n-big`` graphs of 500 nodes, and on every family of
   :data:`ntkx.graphs.sampling.FAMILIES` it never trained on (at 50-100 nodes);
4. writes ``DIR/<tag>.json``: the epoch timing, the epochs chosen (``capped_by_budget``), the
   device, and the experiment's record (train and test MAPE per set).

Measured on an H100 (2026-11-28, an earlier version that compiled twice, three variants as
concurrent processes sharing the card): the first, compiling call 72 s, an epoch 4.1-4.6 s
(scaled from 128 graphs), so 300 epochs take about 21 minutes: run one variant per lease, with
``--epochs`` what the lease allows (the learning rate still halves every 50 epochs).

With ``--work DIR`` the run spans several leases instead: the experiment writes its record
and a training checkpoint every ``--checkpoint-every`` epochs to ``DIR``
(:mod:`ntkx.graphs.experiment`), all ``--epochs`` are trained (the budget does not shorten
the schedule), and at ``--budget-s`` the script stops itself as a Ctrl-C would (``status:
"interrupted"``). Bring ``DIR``'s small files back (``partial.json`` and
``checkpoints/*.npz``: about 6 MB at width 256), carry them to the next lease and add
``--resume``: training continues from the last checkpoint, so 300 epochs at width 256 (about
21 minutes) fit in three 10-minute commands.

Run::

    python benchmarks/gpu_shortest_path.py --budget-s 240 --out DIR --aggregation min \\
        --message-relu --tag min
    python benchmarks/gpu_shortest_path.py --work results/gpu_min --budget-s 540 --out $OUT \\
        --message-relu --tag min [--resume]
    python benchmarks/gpu_shortest_path.py --tiny --out /tmp/sp-tiny   # a CPU check in seconds
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import jax
import numpy as np

from ntkx.core.training import train_adam
from ntkx.graphs.experiment import GraphConfig, run_graph_experiment
from ntkx.graphs.message_passing import gnn
from ntkx.graphs.sampling import FAMILIES, shortest_path_dataset
from ntkx.runner import save_json

UNSEEN = tuple(f for f in FAMILIES if f != "general")
#: The paper's shortest-path optimiser (arXiv 2009.11848, Appendix; paper-notes).
PAPER = {"learning_rate": 0.005, "batch_size": 32, "weight_decay": 1e-5, "lr_halving_every": 50}


def choose_epochs(budget_s: float, reserve_s: float, seconds_per_epoch: float, cap: int) -> int:
    """Epochs that fit ``budget_s - reserve_s`` at ``seconds_per_epoch``, at most ``cap``, at
    least 1."""
    fit = int((budget_s - reserve_s) // max(seconds_per_epoch, 1e-9))
    return max(1, min(cap, fit))


class Deadline:
    """Send this process a SIGINT (what Ctrl-C sends) after ``seconds``, unless disarmed first:
    the experiment runner then keeps its finished work and checkpoints (``--work``)."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._armed = True
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._armed:
                os.kill(os.getpid(), signal.SIGINT)

    def disarm(self) -> None:
        with self._lock:
            self._armed = False
        self._timer.cancel()


def _finished(work: Path) -> dict[str, Any] | None:
    """The record of a run in ``work`` that already finished (then ``--resume`` reports it)."""
    try:
        rec = json.loads((work / "result.json").read_text())
    except FileNotFoundError:
        return None
    return None if rec.get("interrupted", True) else rec


def time_epoch(net: Any, data: Any, batch_size: int) -> dict[str, float]:
    """Two one-epoch trainings on the full training set: the first compiles the epoch (which
    the experiment's training then reuses: ``train_adam`` caches it per architecture, data size
    and batch size), the second is the epoch's time."""
    p0 = net.init(jax.random.key(0), data.batch.features.shape[-1])
    kw = dict(key=jax.random.key(1), learning_rate=0.005, epochs=1, batch_size=batch_size)
    start = time.perf_counter()
    train_adam(net, p0, data.batch, data.labels, **kw)
    first = time.perf_counter() - start
    start = time.perf_counter()
    train_adam(net, p0, data.batch, data.labels, **kw)
    return {"first_call_s": first, "s_per_epoch": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="folder for <tag>.json")
    p.add_argument("--tag", default=None, help="file name (default: the aggregation and L1)")
    p.add_argument("--budget-s", type=float, default=240.0, help="wall-clock budget of the run")
    p.add_argument("--reserve-s", type=float, default=90.0,
                   help="part of the budget kept for data, compilation and tests")  # fmt: skip
    p.add_argument("--aggregation", choices=("min", "sum", "max", "mean"), default="min")
    p.add_argument("--l1", type=float, default=0.0, help="L1 penalty on the message MLPs")
    p.add_argument("--message-relu", action="store_true", help="ReLU after each message MLP")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--n-train", type=int, default=10_000)
    p.add_argument("--n-test", type=int, default=200, help="graphs per 50-100-node test set")
    p.add_argument("--n-family", type=int, default=50, help="graphs per unseen family")
    p.add_argument("--n-big", type=int, default=40, help="graphs of 500 nodes (0: none)")
    p.add_argument("--epochs", type=int, default=300, help="at most this many epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiny", action="store_true", help="small sizes: a CPU check in seconds")
    p.add_argument(
        "--work",
        type=Path,
        default=None,
        help="the experiment's folder: train all --epochs with checkpoints there, "
        "stop at --budget-s, continue with --resume (also in a later lease)",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --work")
    p.add_argument("--checkpoint-every", type=int, default=5,
                   help="epochs between training checkpoints in --work")  # fmt: skip
    args = p.parse_args(argv)
    if args.resume and args.work is None:
        p.error("--resume is not allowed without --work; expected the folder of the run")
    for name in ("budget_s", "width", "n_train", "n_test", "epochs", "checkpoint_every"):
        if getattr(args, name) <= 0:
            flag = "--" + name.replace("_", "-")
            p.error(f"{flag}={getattr(args, name)} is not allowed; expected > 0")
    if args.l1 < 0:
        p.error(f"--l1={args.l1} is not allowed; expected >= 0")
    start = time.perf_counter()
    train_sizes, test_bin, big = (20, 30), (50, 100), 500
    if args.tiny:
        args.width, args.n_train, args.n_test, args.n_family, args.epochs = 8, 64, 8, 4, 2
        args.n_big, args.reserve_s = min(args.n_big, 3), 0.0
        train_sizes, test_bin, big = (6, 9), (12, 16), 30
    tag = args.tag or f"{args.aggregation}_l1_{args.l1:g}"
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{tag}.json"
    record: dict[str, Any] = {
        "schema": "ntkx-gpu-shortest-path/1",
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "device": str(jax.devices()[0].device_kind),
        "backend": jax.default_backend(),
        "jax": jax.__version__,
        "load_start": os.getloadavg(),
        "status": "running",
    }
    save_json(path, record)
    deadline = None
    try:  # the deadline's interrupt must land inside this block
        if args.work is not None:
            deadline = Deadline(args.budget_s - 5.0 - (time.perf_counter() - start))
        net = gnn(3, args.aggregation, "min", args.width, b_std=0.1, edge_weights=True,
                  message_relu=args.message_relu)  # fmt: skip
        t0 = time.perf_counter()
        train = shortest_path_dataset(args.n_train, "general", *train_sizes, seed=args.seed)
        record["train_data_s"] = time.perf_counter() - t0
        timing = time_epoch(net, train, PAPER["batch_size"])
        left = args.budget_s - (time.perf_counter() - start)
        epochs = (
            args.epochs  # --work: the whole schedule, over as many leases as it takes
            if args.work is not None
            else choose_epochs(left, args.reserve_s, timing["s_per_epoch"], args.epochs)
        )
        record.update(timing=timing, epochs=epochs, capped_by_budget=epochs < args.epochs)
        print(f"[{tag}] {record['device']}: {timing['s_per_epoch']:.2f} s per epoch "
              f"(estimate), {epochs} epochs", flush=True)  # fmt: skip
        save_json(path, record)
        rng = np.random.default_rng(12345)
        tests = {
            f: shortest_path_dataset(
                args.n_family, [f], *test_bin, weight_range=(1.0, 10.0), seed=rng
            )
            for f in UNSEEN
        }
        if args.n_big:
            tests[str(big)] = shortest_path_dataset(
                args.n_big, "general", big, big, weight_range=(1.0, 10.0), seed=rng
            )
        config = GraphConfig(
            task="shortest_path",
            aggregations=(args.aggregation,),
            readouts=("min",),
            width=args.width,
            n_test=args.n_test,
            test_sizes=(test_bin,),
            epochs=epochs,
            l1=args.l1,
            message_relu=args.message_relu,
            first_seed=args.seed,
            checkpoint_every=args.checkpoint_every,
            **PAPER,
        )
        t0 = time.perf_counter()
        rec = _finished(args.work) if args.resume else None
        if rec is None:
            resume = args.resume and (args.work / "partial.json").exists()
            rec = run_graph_experiment(
                config, args.work, progress=False, train=train, tests=tests, resume=resume
            )
        record["experiment_s"] = time.perf_counter() - t0
        (arch,) = rec["metrics"]["architectures"].values()
        record["summary"] = {
            "train_mape": arch["train_mape_mean"],
            "test_mape": arch["test_set_mape_mean"],
            "epochs": epochs,
            "finite_s": rec["timings"].get("finite_s"),
        }
        record["record"] = rec
        record["status"] = "done"
        print(f"[{tag}] train {arch['train_mape_mean']:.3g}%, tests:", flush=True)
        for name, v in arch["test_set_mape_mean"].items():
            print(f"[{tag}]   {name}: {v:.3g}%", flush=True)
        if deadline is not None:  # inside the block: a signal sent just before still lands here
            deadline.disarm()
    except KeyboardInterrupt:  # --budget-s under --work, or a Ctrl-C
        record["status"] = "interrupted"
        if args.work is not None:
            record["resume"] = f"the same command with --resume, {args.work} carried"
        print(f"[{tag}] interrupted; {record.get('resume', 'nothing kept')}", flush=True)
    except Exception:  # the device run has one try: keep the traceback in the JSON
        record["status"] = "error"
        record["error"] = traceback.format_exc()
        print(record["error"], flush=True)
    finally:
        if deadline is not None:
            deadline.disarm()
    record["wall_s"] = time.perf_counter() - start
    save_json(path, record)
    return record


if __name__ == "__main__":
    main()
