r"""n-body (arXiv 2009.11848, Sec. 5, "representation matters"; empirical): physics-aligned
features make an interaction network extrapolate, raw features do not.

Claim (Xu et al., ICLR 2021, Section 5 / Figure 6b). Three bodies under Newtonian gravity; an
interaction network predicts each body's next velocity. With raw body states (mass, position,
velocity) the force law :math:`G m_s (x_s - x_r) / \max(d, 1)^3` is a non-linearity the MLP
modules must learn, and they extrapolate linearly, so they fail on unseen masses and distances.
With the edge feature :math:`e_{rs} = G m_s (x_s - x_r) / \max(d, 1)^3` the target
:math:`v' = v + dt \sum_s e_{rs}` is linear in the sum-aggregated feature (linear algorithmic
alignment), and the network extrapolates.

What is measured (:mod:`ntkx.graphs.nbody`, :mod:`ntkx.graphs.nbody_experiment`): the closed-form
NTK predictor (ridge-free kernel regression) of :func:`ntkx.interaction_network`, trained on
frames whose pairwise distances exceed 30 with the paper's masses, and tested with every mass
doubled *and* maximum pairwise distance below 20 (``mass_distance``), and one axis at a time.
The network predicts the velocity change and adds the current velocity (``residual=True``; see
:mod:`ntkx.graphs.nbody_experiment` for why). MAPE is ``100 mean ||v_hat - v|| / ||v||``.

* ``nbody.physics_extrapolates``: test MAPE (%) of the physics features on ``mass_distance``,
  at most 10 (the issue's target; measured 0.6% with ``--quick``, 1.8% at full size).
* ``nbody.raw_much_worse``: raw test MAPE / physics test MAPE on ``mass_distance``, at least 5;
  judged only when both fit their training frames (fit gate, :meth:`Criterion.judge_comparison`;
  ridge-free regression interpolates, training MAPE ~1e-12%).
* ``nbody.axes`` (info): the same ratio on masses only and distances only, the MAPE of copying
  the current velocity (the floor any useful model must beat) and the error of the predicted
  velocity *change*.

Sizes: ``--quick`` trains on 100 frames (300 items) with a one-layer (linear) relation MLP, the
aligned architecture of the hypothesis with its MLP replaced by a linear map, in ~3 s; the full
run uses the paper's 4-layer relation MLP and 1,000 frames.
"""

from __future__ import annotations

from typing import Any

from ntkx.graphs.nbody import nbody_split
from ntkx.graphs.nbody_experiment import TEST_SPLITS, NBodyConfig, fit_predictor
from ntkx.metrics import vector_mape
from proofs_check._framework import CheckResult, Criterion, criteria, info

__all__ = ["CRITERIA", "check"]

CLAIM = "n-body representation (Sec. 5)"

#: The n-body claim's pass/fail rules (used by :func:`check` and by ``examples/``).
CRITERIA = criteria(
    Criterion(
        CLAIM,
        "nbody.physics_extrapolates",
        10.0,
        "<=",
        "with the aligned edge feature the target is linear in the aggregated feature, so the "
        "network should extrapolate to doubled masses and 2-20x closer bodies; 10% is the issue's "
        "target (measured 0.6% with --quick, 1.8% at full size)",
    ),
    Criterion(
        CLAIM,
        "nbody.raw_much_worse",
        5.0,
        ">=",
        "the paper's claim is that raw features do not extrapolate while aligned ones do; a factor "
        "5 in test MAPE is a clear separation (the issue's target; measured ~26 with --quick, ~8 "
        "at full size)",
    ),
)


def check(quick: bool, seed: int) -> list[CheckResult]:
    """Raw against physics features: NTK predictors of the interaction network."""
    if quick:
        n_train, n_test, depth = 100, 40, 1
    else:
        n_train, n_test, depth = 1000, 500, 4
    config = NBodyConfig(n_train=n_train, n_test=n_test, depth=depth, object_depth=2)
    train = nbody_split("train", n_train, [seed, 0])
    tests = {s: nbody_split(s, n_test, [seed, k + 1]) for k, s in enumerate(TEST_SPLITS)}
    scores: dict[str, dict[str, Any]] = {}
    for rep in ("raw", "physics"):
        predict = fit_predictor(config, rep, train)
        preds = {s: predict(f) for s, f in tests.items()}
        scores[rep] = {
            "train": vector_mape(train.targets, predict(train)),
            **{s: vector_mape(f.targets, preds[s]) for s, f in tests.items()},
            "change": {
                s: vector_mape(f.targets, preds[s], reference=f.velocities.reshape(-1, 2))
                for s, f in tests.items()
            },
        }
    copy = {s: vector_mape(f.targets, f.velocities.reshape(-1, 2)) for s, f in tests.items()}
    raw, phys = scores["raw"], scores["physics"]
    ratio = {s: raw[s] / phys[s] for s in TEST_SPLITS}
    setting = (
        f"NTK predictor of interaction_network(depth={depth}, object_depth=2), {n_train} training "
        f"frames (pairwise distances > 30), {n_test} test frames with masses x2 and all pairwise "
        "distances < 20"
    )
    fits = {f"{rep} features": scores[rep]["train"] / 100 for rep in scores}
    return [
        CRITERIA["nbody.physics_extrapolates"].judge(
            phys["mass_distance"],
            seed=seed,
            description=f"test MAPE (%) of the physics features ({setting}); training MAPE "
            f"{phys['train']:.3g}%",
            details={"mape": scores},
        ),
        CRITERIA["nbody.raw_much_worse"].judge_comparison(
            ratio["mass_distance"],
            train_mape=fits,
            seed=seed,
            description=f"test MAPE of raw features / that of physics features "
            f"({raw['mass_distance']:.3g}% / {phys['mass_distance']:.3g}%; {setting})",
            details={"mape": scores},
        ),
        info(
            CLAIM,
            "nbody.axes",
            f"one axis at a time, raw / physics MAPE: masses x2 only {ratio['mass']:.3g} "
            f"({raw['mass']:.3g}% / {phys['mass']:.3g}%), distances < 20 only "
            f"{ratio['distance']:.3g} ({raw['distance']:.3g}% / {phys['distance']:.3g}%); copying "
            f"the current velocity: {copy['mass']:.3g}% and {copy['distance']:.3g}%; error of the "
            f"predicted change on both axes: raw {raw['change']['mass_distance']:.3g}%, physics "
            f"{phys['change']['mass_distance']:.3g}% (measured: the masses-only ratio)",
            ratio["mass"],
            seed=seed,
            reason="reported, not claimed: separates the two extrapolation axes; on masses alone "
            "copying v is already within a few percent, so the change error tells more",
            details={"mape": scores, "copy_velocity_mape": copy, "ratio": ratio},
        ),
    ]
