"""Shared by the example tests: every verdict an example prints is a proofs_check criterion's."""

from __future__ import annotations

from typing import Any

from proofs_check import CheckResult, all_criteria


def judged_verdicts(res: dict[str, Any]) -> list[CheckResult]:
    """The judged (non-info) verdicts of an example's result, after checking that each one is
    exactly what its proofs_check criterion decides (claim, threshold, comparison, reason)."""
    rules = all_criteria()
    verdicts = res["verdicts"]
    assert all(isinstance(v, CheckResult) for v in verdicts)
    judged = [v for v in verdicts if v.status != "info"]
    assert judged, "no verdict was judged"
    for v in judged:
        assert v.name in rules, f"{v.name} is not a proofs_check criterion"
        ref = rules[v.name].judge(v.measured, seed=v.seed, description=v.description)
        got = (v.claim, v.threshold, v.comparison, v.reason, v.passed, v.status)
        assert got == (ref.claim, ref.threshold, ref.comparison, ref.reason, ref.passed, ref.status)
    return judged
