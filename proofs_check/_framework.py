"""The machinery shared by every claim module: results, registry, runner, table, JSON, plots.

A claim module defines ``CRITERIA`` (its claims' pass/fail rules, one :class:`Criterion`
per check, built with :func:`criteria`) and ``check(quick: bool, seed: int) -> CheckResult |
list[CheckResult]``, which measures and judges with those criteria, and is listed in
:data:`proofs_check.MODULES`. :func:`run_checks` imports each
module, calls its ``check`` (an exception becomes a failed result, never a
crash of the whole run), and collects the results; :func:`main` is the
command line (``python -m proofs_check`` / ``ntkx check``).

Every result says what was measured, against which threshold and comparison,
why that threshold, with which seed, and whether it passed. A result whose
measured value is not finite never passes. A *skipped* result (a capability
the check needs is missing) is never counted as passed.

One home per claim: a claim's threshold is written once, in its module's ``CRITERIA``.
The examples (``examples/*.py``) measure in their own settings and take their verdicts from
the same criteria (``CRITERIA[name].judge(measured, ...)``), then call
:func:`report_verdicts`, which prints one line per verdict and exits with status 1 when any
failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, NamedTuple

from ntkx.core.validation import check_out_dir

__all__ = [
    "COMPARISONS",
    "FIT_MAPE",
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
    "progress",
    "report_verdicts",
    "run_checks",
    "skipped",
    "styled_series",
    "to_json",
    "write_plots",
]

#: The fit gate (:meth:`Criterion.judge_comparison`): a comparison of models is judged only
#: when every compared model's training MAPE (a fraction) is at most this; 5% is small next to
#: the test errors the paper's comparisons separate (the losing side's are 50-1000%), and
#: large enough for finite networks trained with Adam to reach.
FIT_MAPE: Final = 0.05
#: Allowed comparisons between the measured value and the threshold.
#: ``"in"`` takes a ``(low, high)`` threshold (inclusive).
COMPARISONS: Final = ("<", "<=", ">", ">=", "in")
STATUSES: Final = ("pass", "fail", "skip", "error", "info")


class CheckResult(NamedTuple):
    """The outcome of one numerical or symbolic check.

    Attributes:
        claim: the paper's claim, e.g. ``"Theorem 1"`` (arXiv 2009.11848 numbering).
        name: a unique dotted id, e.g. ``"theorem1.bias_rate"`` (``--only`` matches it).
        description: what was measured, in one sentence.
        measured: the measured number (``nan`` for skipped checks).
        threshold: the number it is compared against (or ``(low, high)`` for ``"in"``).
        comparison: one of :data:`COMPARISONS`; passes when ``measured <comparison> threshold``.
        passed: ``True`` when the status is ``"pass"``, ``None`` for an ``"info"`` row (no
            claim to pass or fail; ``null`` in JSON), ``False`` otherwise.
        status: ``"pass"``, ``"fail"``, ``"skip"`` (needed capability missing;
            not a pass), ``"error"`` (the check raised; a failure) or ``"info"`` (a
            reported measurement that the paper makes no claim about; neither pass
            nor fail).
        seed: the seed the check ran with (checks are deterministic given it).
        reason: why this threshold.
        details: JSON-serialisable extra measurements; ``details["series"]``
            (if present) is a list of curves drawn by :func:`write_plots`.
        runtime_s: wall time of the check module (filled in by the runner).
    """

    claim: str
    name: str
    description: str
    measured: float
    threshold: float | tuple[float, float]
    comparison: str
    passed: bool | None
    status: str
    seed: int
    reason: str
    details: dict[str, Any]
    runtime_s: float = float("nan")


def compare(measured: float, threshold: float | tuple[float, float], comparison: str) -> bool:
    """``measured <comparison> threshold``; ``False`` whenever ``measured`` is not finite."""
    if comparison not in COMPARISONS:
        raise ValueError(
            f"comparison={comparison!r} is not allowed; expected one of {list(COMPARISONS)}."
        )
    value = float(measured)
    if not math.isfinite(value):
        return False
    if comparison == "in":
        low, high = threshold  # type: ignore[misc]
        return float(low) <= value <= float(high)
    limit = float(threshold)  # type: ignore[arg-type]
    return {
        "<": value < limit,
        "<=": value <= limit,
        ">": value > limit,
        ">=": value >= limit,
    }[comparison]


def make_result(
    claim: str,
    name: str,
    description: str,
    measured: float,
    threshold: float | tuple[float, float],
    comparison: str,
    *,
    seed: int,
    reason: str,
    details: dict[str, Any] | None = None,
) -> CheckResult:
    """Build a :class:`CheckResult`, deciding ``passed`` from the comparison."""
    passed = compare(measured, threshold, comparison)
    if comparison == "in":
        threshold = (float(threshold[0]), float(threshold[1]))  # type: ignore[index]
    else:
        threshold = float(threshold)  # type: ignore[arg-type]
    return CheckResult(
        claim=claim,
        name=name,
        description=description,
        measured=float(measured),
        threshold=threshold,
        comparison=comparison,
        passed=passed,
        status="pass" if passed else "fail",
        seed=int(seed),
        reason=reason,
        details=dict(details or {}),
    )


def info(
    claim: str,
    name: str,
    description: str,
    measured: float,
    *,
    seed: int,
    reason: str,
    details: dict[str, Any] | None = None,
) -> CheckResult:
    """A reported measurement with no pass/fail claim attached (status ``"info"``)."""
    return CheckResult(
        claim=claim,
        name=name,
        description=description,
        measured=float(measured),
        threshold=float("nan"),
        comparison="<=",
        passed=None,
        status="info",
        seed=int(seed),
        reason=reason,
        details=dict(details or {}),
    )


class Criterion(NamedTuple):
    """A claim's pass/fail rule, defined once (in its claim module's ``CRITERIA``).

    The module's ``check`` and every example that checks the claim judge their own
    measurements with it, so the threshold lives in one place.

    Attributes:
        claim: the paper's claim, e.g. ``"Lemma 1"``.
        name: the dotted check id, e.g. ``"lemma1.exact"`` (the :class:`CheckResult` name).
        threshold: the number the measurement is compared against (``(low, high)`` for ``"in"``).
        comparison: one of :data:`COMPARISONS`; a measurement passes when
            ``measured <comparison> threshold``.
        reason: why this threshold.

    Example:
        >>> rule = Criterion("Lemma 1", "lemma1.exact", 1e-8, "<", "exact up to round-off")
        >>> rule.judge(3e-15, seed=0, description="max relative error").status
        'pass'
        >>> rule.judge(0.2, seed=0, description="max relative error").passed
        False
        >>> rule.statement()
        '< 1.000e-08'
    """

    claim: str
    name: str
    threshold: float | tuple[float, float]
    comparison: str
    reason: str

    def judge(
        self,
        measured: float,
        *,
        seed: int,
        description: str,
        details: dict[str, Any] | None = None,
    ) -> CheckResult:
        """The verdict on ``measured`` (what was measured, in ``description``)."""
        return make_result(
            self.claim,
            self.name,
            description,
            measured,
            self.threshold,
            self.comparison,
            seed=seed,
            reason=self.reason,
            details=details,
        )

    def inform(
        self,
        measured: float,
        *,
        seed: int,
        description: str,
        why: str,
        details: dict[str, Any] | None = None,
    ) -> CheckResult:
        """``measured`` reported as an *info* row, not judged, because the claim does not
        apply in the measured setting (``why``); ``details["criterion"]`` records what the
        criterion would have said."""
        would = compare(measured, self.threshold, self.comparison)
        return info(
            self.claim,
            self.name,
            description,
            measured,
            seed=seed,
            reason=f"not judged: {why} (the criterion {self.statement()} would "
            f"{'pass' if would else 'fail'})",
            details={
                **(details or {}),
                "criterion": {
                    "threshold": self.threshold,
                    "comparison": self.comparison,
                    "would_pass": would,
                },
            },
        )

    def judge_comparison(
        self,
        measured: float,
        *,
        train_mape: Mapping[str, float],
        seed: int,
        description: str,
        details: dict[str, Any] | None = None,
        fit_mape: float | None = None,
    ) -> CheckResult:
        """The verdict on a *comparison* of models, given only when every model fits.

        The fit gate: a comparison (say min against sum aggregation) means something only if
        every compared model first reaches a small training error. ``train_mape`` maps each
        compared model to its training MAPE, **as a fraction** (0.05 = 5%). When every one is
        at most ``fit_mape`` (default :data:`FIT_MAPE`, 5%) this is :meth:`judge` (with the
        training errors appended to the description and in ``details``); otherwise the row is
        *not comparable*: an info row (never a pass, never a fail) whose reason names the
        models that did not fit (:meth:`inform`).

        Example:
            >>> rule = Criterion("Sec. 4", "x.min_beats_sum", 3.0, ">", "a clear separation")
            >>> rule.judge_comparison(14.0, train_mape={"min": 0.01, "sum": 0.03}, seed=0,
            ...                       description="MAPE ratio").status
            'pass'
            >>> row = rule.judge_comparison(14.0, train_mape={"min": 0.01, "sum": 5.3}, seed=0,
            ...                             description="MAPE ratio")
            >>> row.status, row.passed, row.reason.split(":")[1].strip()
            ('info', None, 'not comparable')
        """
        gate = FIT_MAPE if fit_mape is None else float(fit_mape)
        if not train_mape:
            raise ValueError("train_mape is empty; expected the training MAPE of every model.")
        fits = {k: float(v) for k, v in train_mape.items()}
        unfit = {k: v for k, v in fits.items() if not compare(v, gate, "<=")}
        text = ", ".join(f"{k} {100 * v:.3g}%" for k, v in fits.items())
        extra = {**(details or {}), "train_mape": fits, "fit_mape": gate, "comparable": not unfit}
        described = f"{description}; training MAPE: {text}"
        if not unfit:
            return self.judge(measured, seed=seed, description=described, details=extra)
        bad = ", ".join(f"{k} ({100 * v:.3g}%)" for k, v in unfit.items())
        return self.inform(
            measured,
            seed=seed,
            description=described,
            why=f"not comparable: {bad} did not fit its training data (fit gate: training "
            f"MAPE <= {100 * gate:.3g}% for every compared model)",
            details=extra,
        )

    def statement(self) -> str:
        """The rule as text, e.g. ``"< 1.000e-08"`` or ``"in [0.9, 1.1]"``."""
        if self.comparison == "in":
            low, high = self.threshold  # type: ignore[misc]
            return f"in [{_format_number(float(low))}, {_format_number(float(high))}]"
        return f"{self.comparison} {_format_number(float(self.threshold))}"  # type: ignore[arg-type]


def criteria(*rules: Criterion) -> dict[str, Criterion]:
    """A module's ``CRITERIA``: ``{rule.name: rule}``, after checking every rule.

    Raises ``ValueError`` for a repeated name, a comparison not in :data:`COMPARISONS`, or a
    threshold that is not a finite number (a finite ``(low, high)`` pair with ``low <= high``
    for ``"in"``).
    """
    out: dict[str, Criterion] = {}
    for rule in rules:
        if rule.name in out:
            raise ValueError(f"criterion {rule.name!r} is defined twice; expected one per claim.")
        if rule.comparison not in COMPARISONS:
            raise ValueError(
                f"criterion {rule.name!r}: comparison={rule.comparison!r} is not allowed; "
                f"expected one of {list(COMPARISONS)}."
            )
        if rule.comparison == "in":
            low, high = (float(v) for v in rule.threshold)  # type: ignore[union-attr]
            valid = math.isfinite(low) and math.isfinite(high) and low <= high
        else:
            valid = isinstance(rule.threshold, int | float) and math.isfinite(rule.threshold)
        if not valid:
            raise ValueError(
                f"criterion {rule.name!r}: threshold={rule.threshold!r} is not allowed; "
                "expected a finite number (a (low, high) pair for 'in')."
            )
        out[rule.name] = rule
    return out


def all_criteria(modules: Sequence[str] | None = None) -> dict[str, Criterion]:
    """Every claim module's ``CRITERIA`` in one dict; ``ValueError`` if a name is in two
    modules (a claim has one home). ``modules`` defaults to :data:`proofs_check.MODULES`."""
    from proofs_check import MODULES

    out: dict[str, Criterion] = {}
    home: dict[str, str] = {}
    for name in MODULES if modules is None else modules:
        module = importlib.import_module(f"proofs_check.{name}")
        for key, rule in getattr(module, "CRITERIA", {}).items():
            if key != rule.name:
                raise ValueError(f"{name}.CRITERIA[{key!r}] holds the criterion {rule.name!r}.")
            if key in out:
                raise ValueError(
                    f"criterion {key!r} is defined in both {home[key]} and {name}; expected one "
                    "home per claim."
                )
            out[key], home[key] = rule, name
    return out


def report_verdicts(results: Sequence[CheckResult], *, file: Any = None) -> None:
    """Print one line per verdict (status, name, measured value against the threshold, what
    was measured); raise ``SystemExit(1)``, with each failure on stderr, when any verdict
    failed (``"fail"``, ``"error"`` or ``"skip"``) or there is none.

    Used by the examples, so that they print and exit like ``python -m proofs_check``.
    Info rows (:func:`info`, :meth:`Criterion.inform`) are printed and never fail.
    """
    file = sys.stdout if file is None else file
    for r in results:
        measured = "-" if r.status == "skip" else _format_number(r.measured)
        rule = "" if r.status in ("info", "skip") else f" {_format_threshold(r)}"
        line = f"{r.status.upper():5s} {r.name}: measured {measured}{rule} ({r.description})"
        if r.status == "info":
            line += f"; {r.reason}"
        print(line, file=file)
    failed = [r for r in results if r.status in ("fail", "error", "skip")]
    for r in failed:
        print(
            f"CLAIM FAILED: {r.name} ({r.claim}): measured {_format_number(r.measured)}, "
            f"required {_format_threshold(r) if r.status == 'fail' else r.status}: "
            f"{r.description}. Threshold: {r.reason}",
            file=sys.stderr,
        )
    if not results:
        print("CLAIM FAILED: no verdict was produced", file=sys.stderr)
        raise SystemExit(1)
    if failed:
        raise SystemExit(1)
    judged = [r for r in results if r.status == "pass"]
    print(
        f"all {len(judged)} judged claims hold ({len(results) - len(judged)} info rows)"
        if judged
        else f"no claim was judged in this setting ({len(results)} info rows)",
        file=file,
    )


def skipped(claim: str, name: str, description: str, *, seed: int, why: str) -> CheckResult:
    """A check that could not run (``why``); it is reported and never counted as passed."""
    return CheckResult(
        claim=claim,
        name=name,
        description=description,
        measured=float("nan"),
        threshold=float("nan"),
        comparison="<=",
        passed=False,
        status="skip",
        seed=int(seed),
        reason=f"skipped: {why}",
        details={},
    )


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(f"[proofs_check] {message}", file=sys.stderr, flush=True)


def _module_results(module_name: str, quick: bool, seed: int) -> list[CheckResult]:
    start = time.perf_counter()
    try:
        module = importlib.import_module(f"proofs_check.{module_name}")
        out = module.check(quick=quick, seed=seed)
        results = [out] if isinstance(out, CheckResult) else list(out)
        if not results or not all(isinstance(r, CheckResult) for r in results):
            raise TypeError(f"{module_name}.check returned {out!r}; expected CheckResult(s).")
    except Exception as err:  # a broken check is a failed check, not a crashed run
        results = [
            CheckResult(
                claim=module_name,
                name=f"{module_name}.error",
                description=f"{module_name}.check raised {type(err).__name__}",
                measured=float("nan"),
                threshold=float("nan"),
                comparison="<=",
                passed=False,
                status="error",
                seed=int(seed),
                reason=f"{type(err).__name__}: {err}",
                details={"traceback": traceback.format_exc()},
            )
        ]
    elapsed = time.perf_counter() - start
    return [r._replace(runtime_s=elapsed) for r in results]


def _selected(module_name: str, only: Sequence[str] | None) -> bool:
    """A module is kept when an ``only`` entry (or, for a dotted check name such as
    ``theorem1.rate_with_bias``, its first component) is a prefix of the module name."""
    if not only:
        return True
    return any(module_name.startswith(o.split(".")[0]) for o in only)


def run_checks(
    *,
    quick: bool = False,
    seed: int = 0,
    only: Sequence[str] | None = None,
    modules: Sequence[str] | None = None,
    kept: Mapping[str, Sequence[CheckResult]] | None = None,
    on_module: Callable[[str, list[CheckResult]], None] | None = None,
) -> list[CheckResult]:
    """Run the claim modules and return all their results.

    Args:
        quick: small sizes (the whole run fits a test suite) instead of publication ones.
        seed: the seed passed to every check.
        only: module names, module-name prefixes or dotted check names to keep
            (``None``: everything). A dotted name such as ``theorem1.rate_with_bias``
            runs the module whose name starts with ``theorem1`` and keeps only the
            results whose name starts with it.
        modules: the module list to draw from (default :data:`proofs_check.MODULES`).
        kept: module name -> results, from an interrupted run (``--resume``): those modules
            are not run again; their results are returned in module order.
        on_module: called as ``on_module(name, results)`` after each module that ran (the
            command line writes everything so far to ``--json`` there, so an interrupt loses
            no finished module).
    """
    from proofs_check import MODULES

    names = list(MODULES if modules is None else modules)
    chosen = [m for m in names if _selected(m, only)]
    if not chosen:
        raise ValueError(
            f"only={list(only or [])!r} matches no check module; expected one of "
            f"{names} (or a dotted check name inside one)."
        )
    results: list[CheckResult] = []
    total_start = time.perf_counter()
    for i, name in enumerate(chosen, 1):
        if kept and name in kept:
            progress(f"({i}/{len(chosen)}) {name}: kept from the interrupted run")
            results.extend(kept[name])
            continue
        progress(f"({i}/{len(chosen)}) {name} {'[quick]' if quick else ''} seed={seed} ...")
        module_results = _module_results(name, quick, seed)
        dotted = [o for o in only or [] if "." in o and name.startswith(o.split(".")[0])]
        plain = [o for o in only or [] if "." not in o and name.startswith(o)]
        if dotted and not plain:
            module_results = [
                r for r in module_results if any(r.name.startswith(o) for o in dotted)
            ]
        counts = {s: sum(r.status == s for r in module_results) for s in STATUSES}
        progress(
            f"({i}/{len(chosen)}) {name}: {counts['pass']} pass, {counts['fail']} fail, "
            f"{counts['skip']} skip, {counts['error']} error, {counts['info']} info "
            f"({module_results[0].runtime_s if module_results else 0.0:.1f} s; "
            f"total {time.perf_counter() - total_start:.1f} s)"
        )
        results.extend(module_results)
        if on_module is not None:
            on_module(name, module_results)
    return results


def _format_number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.3e}"


def _format_threshold(result: CheckResult) -> str:
    if result.status in ("skip", "info"):
        return "-"
    if result.comparison == "in":
        low, high = result.threshold  # type: ignore[misc]
        return f"in [{_format_number(low)}, {_format_number(high)}]"
    return f"{result.comparison} {_format_number(float(result.threshold))}"  # type: ignore[arg-type]


def print_table(results: Sequence[CheckResult], file: Any = None) -> None:
    """Print one row per result: claim, check, measured, threshold, status, seed."""
    file = sys.stdout if file is None else file
    rows = [("claim", "check", "measured", "threshold", "status", "seed")]
    for r in results:
        rows.append(
            (
                r.claim,
                r.name,
                "-" if r.status == "skip" else _format_number(r.measured),
                _format_threshold(r),
                r.status.upper(),
                str(r.seed),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for j, row in enumerate(rows):
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(),
            file=file,
        )
        if j == 0:
            print("  ".join("-" * w for w in widths), file=file)
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    print(
        f"\n{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors, "
        f"{counts['skip']} skipped (skipped checks are not passes), {counts['info']} info",
        file=file,
    )
    for r in results:
        if r.status not in ("pass",):
            print(f"  {r.status.upper()} {r.name}: {r.description}. {r.reason}", file=file)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def to_json(
    results: Sequence[CheckResult],
    *,
    quick: bool,
    seed: int,
    modules: Mapping[str, Sequence[str]] | None = None,
    complete: bool = True,
) -> dict[str, Any]:
    """The results as a JSON-ready object: ``{"quick", "seed", "complete", "results": [...]}``.

    Each entry has claim, name, description, measured, threshold, comparison,
    passed, status, seed, reason, details and runtime_s; non-finite numbers are
    written as ``null`` (NaN) or ``"inf"``/``"-inf"``. ``modules`` (module name -> the
    names of its results) is written when given, and ``complete`` is false while a run is
    still going or was interrupted: ``--resume`` reads both (:func:`from_json`).
    """
    out = {
        "paper": "Xu et al., How Neural Networks Extrapolate, ICLR 2021, arXiv 2009.11848",
        "quick": bool(quick),
        "seed": int(seed),
        "complete": bool(complete),
        "all_passed": all(r.status in ("pass", "info") for r in results),
        "results": [_jsonable(r._asdict()) for r in results],
    }
    if modules is not None:
        out["modules"] = {k: list(v) for k, v in modules.items()}
    return out


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)  # also "inf" / "-inf"


def from_json(data: Mapping[str, Any]) -> dict[str, list[CheckResult]]:
    """Module name -> its :class:`CheckResult` s, read back from :func:`to_json` output (with
    ``modules``); the inverse of the conversion there (NaN from ``null``, tuples from lists)."""
    by_name = {}
    for entry in data.get("results", []):
        entry = dict(entry)
        entry["measured"] = _number(entry["measured"])
        t = entry["threshold"]
        entry["threshold"] = tuple(_number(v) for v in t) if isinstance(t, list) else _number(t)
        entry["runtime_s"] = _number(entry.get("runtime_s"))
        by_name[entry["name"]] = CheckResult(**entry)
    return {
        module: [by_name[n] for n in names] for module, names in data.get("modules", {}).items()
    }


def _kept_for_resume(path: str | None, quick: bool, seed: int) -> dict[str, list[CheckResult]]:
    """The finished modules in ``--json PATH`` of an interrupted run; ValueError otherwise."""
    if not path:
        raise ValueError("--resume needs --json PATH (the file the interrupted run wrote).")
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError) as err:
        raise ValueError(f"--resume: {path} cannot be read ({err}).") from err
    if data.get("complete", True):
        raise ValueError(
            f"--resume is not allowed: {path} is a finished run; expected the --json file "
            "of an interrupted run (rerun without --resume to start afresh)."
        )
    if (data.get("quick"), data.get("seed")) != (bool(quick), int(seed)):
        raise ValueError(
            f"--resume: {path} was written with quick={data.get('quick')}, "
            f"seed={data.get('seed')}; expected the same as now (quick={quick}, seed={seed})."
        )
    return from_json(data)


def write_plots(results: Sequence[CheckResult], path: str) -> int:
    """Draw every ``details["series"]`` curve into one PNG grid; returns the number of panels.

    A series is ``{"title", "x", "y", "xlabel", "ylabel", "logx", "logy", "label"}``
    (several series with the same title share a panel); ``details["reference"]``
    entries (same keys) are drawn dashed.
    """
    from ntkx.plotting import plot_series_grid

    return plot_series_grid(
        styled_series(results),
        path,
        title="proofs_check (arXiv 2009.11848): solid = passed, dotted = failed, "
        "dashed = reference",
    )


def styled_series(results: Sequence[CheckResult]) -> list[dict[str, Any]]:
    """Every curve of ``results`` for :func:`ntkx.plotting.plot_series_grid`: measured curves
    solid when their check passed, dotted and labelled with the status otherwise; references
    dashed."""
    out = []
    for r in results:
        for s in r.details.get("series", []):
            passed = r.status == "pass"
            label = s.get("label") if passed else f"{s.get('label') or r.name} [{r.status.upper()}]"
            out.append(dict(s, label=label, style="solid" if passed else "failed"))
        out += [dict(s, style="dashed") for s in r.details.get("reference", [])]
    return out


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Numerical and symbolic checks of every claim of Xu et al., 'How Neural Networks "
            "Extrapolate' (ICLR 2021, arXiv 2009.11848). Prints a table; exits non-zero when "
            "any check fails."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes (about two minutes on 2 cores) instead of publication-grade ones",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--plot", metavar="PATH", help="also draw the measured curves as a PNG")
    parser.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        help="run only this module (or dotted check name); repeatable",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every check (default 0)")
    parser.add_argument("--list", action="store_true", help="list the check modules and exit")
    parser.add_argument(
        "--fail-on-skip", action="store_true", help="exit non-zero also when a check was skipped"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from its --json file (finished modules are kept)",
    )
    return parser


def main(argv: list[str] | None = None, *, prog: str = "python -m proofs_check") -> int:
    """Command line: run the checks, print the table, write JSON/plots; return the exit status.

    Exit status: 0 when every check that ran passed, 1 when any failed or
    raised, 3 with ``--fail-on-skip`` when any was skipped, 2 for bad arguments, 130 on
    Ctrl-C (one line; with ``--json`` every finished module is already written there, and
    ``--resume`` continues from it).
    """
    from proofs_check import MODULES

    parser = _parser(prog)
    args = parser.parse_args(argv)
    if args.list:
        for name in MODULES:
            module = importlib.import_module(f"proofs_check.{name}")
            summary = (module.__doc__ or "").strip().splitlines()[0]
            print(f"{name:34s} {summary}")
        return 0
    if args.seed < 0:
        parser.error(f"--seed {args.seed} is not allowed; expected an integer >= 0.")
    for flag, path in (("--json", args.json), ("--plot", args.plot)):
        if path:  # an unwritable output fails now, not after the checks have run
            try:
                check_out_dir(f"the directory of {flag}", os.path.dirname(os.path.abspath(path)))
            except ValueError as err:
                parser.error(str(err))
    kept: dict[str, list[CheckResult]] = {}
    if args.resume:
        try:
            kept = _kept_for_resume(args.json, args.quick, args.seed)
        except ValueError as err:
            parser.error(str(err))
    from ntkx.runner import catch_swallowed_interrupts, interrupt_once, save_json

    modules: dict[str, list[str]] = {k: [r.name for r in v] for k, v in kept.items()}
    finished: list[CheckResult] = [r for v in kept.values() for r in v]

    def keep(name: str, module_results: list[CheckResult]) -> None:
        modules[name] = [r.name for r in module_results]
        finished.extend(module_results)
        if args.json:
            blob = to_json(
                finished, quick=args.quick, seed=args.seed, modules=modules, complete=False
            )
            save_json(args.json, blob)

    state = argparse.Namespace(interrupt_requested=False)
    start = time.perf_counter()
    with interrupt_once(keep_ignoring=True):  # one Ctrl-C stops; its copies are ignored
        try:
            with catch_swallowed_interrupts(state):
                results = run_checks(
                    quick=args.quick, seed=args.seed, only=args.only, kept=kept, on_module=keep
                )
                if state.interrupt_requested:
                    raise KeyboardInterrupt
        except ValueError as err:
            parser.error(str(err))
        except KeyboardInterrupt:
            where = (
                f"in {args.json}; continue with --resume"
                if args.json and modules
                else "(pass --json PATH to keep finished modules)"
                if not args.json
                else f"(none finished; {args.json} not written)"
            )
            print(
                f"{prog}: interrupted after {time.perf_counter() - start:.1f} s; kept "
                f"{len(modules)} finished module(s) {sorted(modules)} {where}",
                file=sys.stderr,
            )
            return 130
    print_table(results)
    if args.json:
        blob = to_json(results, quick=args.quick, seed=args.seed, modules=modules)
        save_json(args.json, blob)
        progress(f"wrote {args.json}")
    if args.plot:
        n = write_plots(results, args.plot)
        progress(f"wrote {args.plot} ({n} panels)")
    if any(r.status in ("fail", "error") for r in results):
        return 1
    if args.fail_on_skip and any(r.status == "skip" for r in results):
        return 3
    return 0


CheckFn = Callable[..., "CheckResult | list[CheckResult]"]
