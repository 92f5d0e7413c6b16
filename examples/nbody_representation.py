"""n-body: physics-aligned features make an interaction network extrapolate; raw features do not.

Xu et al., How Neural Networks Extrapolate, ICLR 2021 (arXiv 2009.11848), Section 5
("representation matters"): three bodies under Newtonian gravity (G = 1e5, dt = 0.001), an
interaction network predicts each body's next velocity. Trained on frames whose bodies are all
more than 30 apart, tested with every mass doubled, with every pairwise distance below 20, and
both. Raw features are the body states (mass, position, velocity); physics features add the edge
feature G m_s (x_s - x_r) / max(d, 1)^3, in which the target is linear once summed over senders.

The predictor is the closed-form NTK predictor of ``ntkx.interaction_network`` (the network
trained to convergence at infinite width), predicting the velocity change on top of the current
velocity (see ``ntkx.graphs.nbody_experiment``). Verdicts (from ``proofs_check.nbody``, whose
criteria hold the thresholds; exit status 1 and a message on stderr if one fails):
``nbody.physics_extrapolates`` (physics test MAPE on masses x2 and distances < 20) and
``nbody.raw_much_worse`` (raw MAPE over physics MAPE there; fit-gated).

Run: ``python examples/nbody_representation.py --out runs/nbody`` (the paper's 4-layer relation
MLP, 1,000 training frames; a few minutes on 2 shared CPU cores) or ``--quick`` (100 frames and
a one-layer relation MLP; seconds). It writes result.json and the PNGs with ``--out``.
"""

from __future__ import annotations

import argparse
import json

from ntkx.graphs.nbody_experiment import NBodyConfig, run_nbody_experiment
from proofs_check import report_verdicts
from proofs_check.nbody import CRITERIA

#: The seed of the verdict (NBodyConfig's seed: data).
SEED = 0


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--out", default=None, help="directory for result.json and the PNGs")
    args = parser.parse_args(argv)
    if args.quick:
        # proofs_check.nbody's quick setting: 100 frames, a one-layer (linear) relation MLP
        config = NBodyConfig(
            n_train=100, n_test=40, depth=1, object_depth=2, mass_factors=(1, 2), rollout_steps=2
        )
    else:
        config = NBodyConfig(seed=SEED)
    m = run_nbody_experiment(config, args.out, progress=not args.quick)["metrics"]
    summary: dict = {"copy_velocity_mape": m["copy_velocity_mape"]}
    for rep in ("raw", "physics"):
        summary[rep] = {
            "train_mape": m[rep]["train_mape"],
            "test_mape": m[rep]["test_mape"],
            "split_mape": m[rep]["split_mape"],
            "split_change_mape": m[rep]["split_change_mape"],
        }
    summary["ratio_raw_over_physics"] = m["ratio_raw_over_physics"]
    print(json.dumps(summary, indent=2))
    raw, phys = summary["raw"], summary["physics"]
    setting = (
        f"NTK predictor of interaction_network(depth={config.depth}, object_depth="
        f"{config.object_depth}), {config.n_train} training frames, {config.n_test} test frames "
        "with masses x2 and pairwise distances < 20"
    )
    verdicts = [
        CRITERIA["nbody.physics_extrapolates"].judge(
            phys["test_mape"],
            seed=SEED,
            description=f"test MAPE (%) of the physics features ({setting})",
        ),
        CRITERIA["nbody.raw_much_worse"].judge_comparison(
            m["ratio_raw_over_physics"]["mass_distance"],
            train_mape={
                f"{r} features": summary[r]["train_mape"] / 100 for r in ("raw", "physics")
            },
            seed=SEED,
            description=f"test MAPE of raw / physics features ({raw['test_mape']:.3g}% / "
            f"{phys['test_mape']:.3g}%; {setting})",
        ),
    ]
    summary["verdicts"] = verdicts
    report_verdicts(verdicts)
    return summary


if __name__ == "__main__":
    main()
