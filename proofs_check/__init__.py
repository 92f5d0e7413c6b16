"""proofs_check: numerical and symbolic checks of every claim of arXiv 2009.11848.

Xu, Zhang, Li, Du, Kawarabayashi, Jegelka, "How Neural Networks Extrapolate:
From Feedforward to Graph Neural Networks", ICLR 2021. One module per claim;
each states the claim precisely in its docstring, defines its pass/fail rules once as
``CRITERIA`` (:class:`Criterion`: threshold, comparison and reason), measures the claim
with ntkx, and returns :class:`CheckResult` objects (measured value, threshold and its
reason, seed, pass/fail). The examples judge their own measurements with the same
criteria (``CRITERIA[name].judge(...)``, then :func:`report_verdicts`), so every claim's
threshold has one home.

Run everything with ``python -m proofs_check`` (publication-grade sizes) or
``python -m proofs_check --quick`` (small sizes; part of the test suite)::

    python -m proofs_check --quick --json results.json --plot results.png
    python -m proofs_check --only theorem1_linear_extrapolation

From Python::

    >>> from proofs_check import run_checks
    >>> results = run_checks(quick=True, only=["symbolic"])  # doctest: +SKIP
    >>> all(r.passed for r in results)  # doctest: +SKIP
    True
    >>> from proofs_check.lemma1_exact_linear import CRITERIA
    >>> CRITERIA["lemma1.exact"].judge(2e-15, seed=0, description="max relative error").passed
    True
"""

from __future__ import annotations

from typing import Final

from proofs_check._framework import (
    FIT_MAPE,
    CheckResult,
    Criterion,
    all_criteria,
    compare,
    criteria,
    from_json,
    info,
    main,
    make_result,
    print_table,
    report_verdicts,
    run_checks,
    skipped,
    styled_series,
    to_json,
    write_plots,
)

__all__ = [
    "FIT_MAPE",
    "MODULES",
    "CheckResult",
    "Criterion",
    "all_criteria",
    "compare",
    "criteria",
    "from_json",
    "info",
    "main",
    "make_result",
    "print_table",
    "report_verdicts",
    "run_checks",
    "skipped",
    "styled_series",
    "to_json",
    "write_plots",
]

#: The claim modules, in the order they run (and appear in the table).
MODULES: Final[tuple[str, ...]] = (
    "symbolic",
    "theorem1_linear_extrapolation",
    "lemma1_exact_linear",
    "theorem2_directions",
    "activations",
    "max_degree",
    "gin_max_degree",
    "shortest_path",
    "nbody",
    "finite_width",
)
