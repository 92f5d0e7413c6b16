"""Tests of proofs_check: the framework, the helpers the checks rely on, and the --quick run.

The whole ``--quick`` run is executed once (in process, so the session's strict rank-promotion
setting applies to it) and every check must pass: this is THE test of the paper's claims. The
framework is tested on fake claim modules that pass, fail, raise and skip. One home per claim:
every judged result of the run comes from exactly one module's ``CRITERIA``, and the examples
define no threshold of their own (they judge with those criteria).
"""

from __future__ import annotations

import ast
import importlib
import json
import math
import pathlib
import sys
import types

import numpy as np
import pytest

import proofs_check
from proofs_check import (
    FIT_MAPE,
    CheckResult,
    Criterion,
    all_criteria,
    compare,
    criteria,
    info,
    main,
    make_result,
    report_verdicts,
    run_checks,
    skipped,
)
from proofs_check._framework import print_table, to_json, write_plots

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
#: Criteria that only the publication-size run measures (see the modules' docstrings).
FULL_RUN_ONLY = {"theorem1.exact_no_bias_through_origin_d1", "finite_width.no_bias_exponent"}

# --------------------------------------------------------------------------- framework


def test_compare_relations_and_nan() -> None:
    assert compare(1.0, 2.0, "<") and not compare(2.0, 2.0, "<")
    assert compare(2.0, 2.0, "<=") and compare(3.0, 2.0, ">") and compare(2.0, 2.0, ">=")
    assert compare(0.5, (0.0, 1.0), "in") and not compare(1.5, (0.0, 1.0), "in")
    # a non-finite measurement never passes, whatever the comparison
    for op, thr in (("<", 1.0), (">", -1.0), ("in", (-math.inf, math.inf))):
        assert not compare(float("nan"), thr, op)
    assert not compare(float("inf"), 1.0, ">")
    with pytest.raises(ValueError, match="comparison='=='"):
        compare(1.0, 1.0, "==")


def test_make_result_decides_pass_and_fail() -> None:
    good = make_result("C", "c.good", "d", 0.5, 1.0, "<", seed=3, reason="r")
    bad = make_result("C", "c.bad", "d", 2.0, 1.0, "<", seed=3, reason="r")
    assert (good.passed, good.status, good.seed) == (True, "pass", 3)
    assert (bad.passed, bad.status) == (False, "fail")
    skip = skipped("C", "c.skip", "d", seed=0, why="missing")
    note = info("C", "c.info", "d", 7.0, seed=0, reason="r")
    assert not skip.passed and skip.status == "skip" and "missing" in skip.reason
    assert note.passed is None and note.status == "info"


def test_criterion_judges_and_informs() -> None:
    rule = Criterion("C", "c.rule", 1.0, "<", "why")
    good = rule.judge(0.5, seed=3, description="d", details={"k": 1})
    assert good == make_result(
        "C", "c.rule", "d", 0.5, 1.0, "<", seed=3, reason="why", details={"k": 1}
    )
    assert rule.judge(2.0, seed=0, description="d").status == "fail"
    assert rule.judge(float("nan"), seed=0, description="d").status == "fail"
    note = rule.inform(2.0, seed=0, description="d", why="not this setting")
    assert note.status == "info" and note.passed is None and note.name == "c.rule"
    assert "not this setting" in note.reason and "would fail" in note.reason
    assert note.details["criterion"] == {"threshold": 1.0, "comparison": "<", "would_pass": False}
    assert rule.statement() == "< 1" and Criterion("C", "c.in", (0, 1), "in", "r").statement() == (
        "in [0, 1]"
    )


def test_judge_comparison_is_the_fit_gate() -> None:
    rule = Criterion("Sec. 4", "x.min_beats_sum", 3.0, ">", "a clear separation")
    # every model at most FIT_MAPE (5%, inclusive): judged like judge(), pass or fail
    ok = rule.judge_comparison(4.0, train_mape={"a": 0.05, "b": 0.0}, seed=1, description="r")
    assert (ok.status, ok.passed, ok.reason) == ("pass", True, rule.reason)
    assert ok.details["comparable"] is True and "training MAPE: a 5%, b 0%" in ok.description
    low = rule.judge_comparison(2.0, train_mape={"a": 0.01}, seed=1, description="r")
    assert (low.status, low.passed) == ("fail", False)
    # one model above the gate (or a nan training error): "not comparable", never pass or fail
    for bad in (0.0501, float("nan")):
        row = rule.judge_comparison(4.0, train_mape={"a": 0.01, "b": bad}, seed=1, description="r")
        assert (row.status, row.passed) == ("info", None)
        assert "not comparable: b (" in row.reason and row.details["criterion"]["would_pass"]
    looser = rule.judge_comparison(
        4.0, train_mape={"a": 0.09}, seed=1, description="r", fit_mape=0.1
    )
    assert looser.status == "pass" and FIT_MAPE == 0.05
    with pytest.raises(ValueError, match="train_mape is empty"):
        rule.judge_comparison(4.0, train_mape={}, seed=1, description="r")


def test_criteria_refuses_bad_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    rule = Criterion("C", "c.rule", 1.0, "<", "why")
    assert criteria(rule) == {"c.rule": rule}
    with pytest.raises(ValueError, match="defined twice"):
        criteria(rule, rule._replace(threshold=2.0))
    with pytest.raises(ValueError, match="comparison='=='"):
        criteria(rule._replace(comparison="=="))
    for bad in (float("nan"), float("inf"), (1.0, 0.0)):
        with pytest.raises(ValueError, match="threshold="):
            criteria(rule._replace(threshold=bad, comparison="in" if bad == (1.0, 0.0) else "<"))
    # a claim has one home: the same name in two modules is refused
    for name in ("fake_a", "fake_b"):
        module = types.ModuleType(f"proofs_check.{name}")
        module.CRITERIA = {"c.rule": rule}  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, f"proofs_check.{name}", module)
    with pytest.raises(ValueError, match="defined in both fake_a and fake_b"):
        all_criteria(["fake_a", "fake_b"])


def test_report_verdicts_prints_and_exits(capsys: pytest.CaptureFixture[str]) -> None:
    rule = Criterion("C", "c.rule", 1.0, "<", "why")
    good, bad = (rule.judge(v, seed=0, description="d") for v in (0.5, 2.0))
    note = info("C", "c.note", "d", 7.0, seed=0, reason="r")
    report_verdicts([good, note])
    out = capsys.readouterr().out
    assert "PASS  c.rule: measured 0.5 < 1 (d)" in out and "INFO  c.note" in out
    assert "all 1 judged claims hold (1 info rows)" in out
    report_verdicts([note])  # information only: nothing judged, nothing failed
    assert "no claim was judged" in capsys.readouterr().out
    for verdicts in ([good, bad], []):
        with pytest.raises(SystemExit) as exc:
            report_verdicts(verdicts)
        assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "CLAIM FAILED: c.rule (C): measured 2, required < 1: d. Threshold: why" in err
    assert "CLAIM FAILED: no verdict was produced" in err


def _fake_module(name: str, body: object) -> types.ModuleType:
    module = types.ModuleType(f"proofs_check.{name}")
    module.__doc__ = f"Fake claim module {name}."
    module.check = body  # type: ignore[attr-defined]
    return module


@pytest.fixture
def fake_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    def ok(quick: bool, seed: int) -> CheckResult:
        value = 0.1 + seed / 10
        return make_result("Fake", "fake_ok.one", "d", value, 1.0, "<", seed=seed, reason="r")

    def bad(quick: bool, seed: int) -> list[CheckResult]:
        return [make_result("Fake", "fake_bad.one", "d", 5.0, 1.0, "<", seed=seed, reason="r")]

    def boom(quick: bool, seed: int) -> list[CheckResult]:
        raise RuntimeError("kaboom")

    def skip(quick: bool, seed: int) -> list[CheckResult]:
        return [skipped("Fake", "fake_skip.one", "d", seed=seed, why="no capability")]

    for name, fn in (("fake_ok", ok), ("fake_bad", bad), ("fake_boom", boom), ("fake_skip", skip)):
        monkeypatch.setitem(sys.modules, f"proofs_check.{name}", _fake_module(name, fn))
    monkeypatch.setattr(proofs_check, "MODULES", ("fake_ok", "fake_bad", "fake_boom", "fake_skip"))


def test_runner_turns_exceptions_into_errors(fake_modules: None) -> None:
    results = run_checks(quick=True, seed=2)
    by_name = {r.name: r for r in results}
    assert by_name["fake_ok.one"].passed and by_name["fake_ok.one"].seed == 2
    assert by_name["fake_bad.one"].status == "fail"
    err = by_name["fake_boom.error"]
    assert err.status == "error" and not err.passed and "kaboom" in err.reason
    assert by_name["fake_skip.one"].status == "skip"
    assert all(r.runtime_s >= 0 for r in results)


def test_exit_codes(fake_modules: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--only", "fake_ok"]) == 0
    assert main(["--only", "fake_bad"]) == 1
    assert main(["--only", "fake_boom"]) == 1
    assert main(["--only", "fake_skip"]) == 0  # a skip is reported, not a failure ...
    assert main(["--only", "fake_skip", "--fail-on-skip"]) == 3  # ... unless asked
    out = capsys.readouterr().out
    assert "SKIP" in out and "not passes" in out
    with pytest.raises(SystemExit) as exc:
        main(["--only", "no_such_module"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["--seed", "-1"])


def test_interrupt_keeps_finished_modules_and_resume_equals_a_whole_run(
    fake_modules: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran: list[str] = []
    interrupt = [True]

    def cut(quick: bool, seed: int) -> CheckResult:
        ran.append("fake_cut")
        if interrupt[0]:
            raise KeyboardInterrupt
        return make_result("Fake", "fake_cut.one", "d", float("nan"), (0.0, 1.0), "in", seed=seed,
                           reason="r")  # fmt: skip

    monkeypatch.setitem(sys.modules, "proofs_check.fake_cut", _fake_module("fake_cut", cut))
    order = ("fake_ok", "fake_boom", "fake_cut", "fake_skip")
    monkeypatch.setattr(proofs_check, "MODULES", order)
    path = str(tmp_path / "r.json")
    assert main(["--json", path, "--seed", "1"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("python -m proofs_check: interrupted after ")
    assert "kept 2 finished module(s) ['fake_boom', 'fake_ok']" in err[-1]
    assert err[-1].endswith(f"in {path}; continue with --resume")
    kept = json.loads(pathlib.Path(path).read_text())
    assert kept["complete"] is False and set(kept["modules"]) == {"fake_ok", "fake_boom"}
    interrupt[0] = False
    ran.clear()
    with pytest.raises(SystemExit):  # another seed cannot continue this file
        main(["--json", path, "--seed", "2", "--resume"])
    assert main(["--json", path, "--seed", "1", "--resume"]) == 1  # fake_boom is an error
    assert ran == ["fake_cut"]  # the finished modules were not run again
    resumed = json.loads(pathlib.Path(path).read_text())
    assert main(["--json", str(tmp_path / "whole.json"), "--seed", "1"]) == 1
    whole = json.loads((tmp_path / "whole.json").read_text())

    def strip(data: dict) -> dict:  # the wall times differ, nothing else
        return dict(data, results=[dict(r, runtime_s=None) for r in data["results"]])

    assert resumed["complete"] is True and strip(resumed) == strip(whole)
    with pytest.raises(SystemExit):  # a finished file has nothing to resume
        main(["--json", path, "--seed", "1", "--resume"])
    assert "is a finished run" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--resume"])
    assert "--resume needs --json PATH" in capsys.readouterr().err


def test_only_dotted_name_filters_results(fake_modules: None) -> None:
    results = run_checks(only=["fake_ok.one"])
    assert [r.name for r in results] == ["fake_ok.one"]
    assert run_checks(only=["fake_ok.other"]) == []
    assert {r.name for r in run_checks(only=["fake_b"])} == {"fake_bad.one", "fake_boom.error"}


def test_json_table_and_plot(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    series = {"title": "t", "x": [1, 2], "y": [1.0, 0.5], "logx": True, "logy": True}
    results = [
        make_result(
            "C",
            "c.a",
            "d",
            0.5,
            (0.0, 1.0),
            "in",
            seed=0,
            reason="r",
            details={"series": [series], "arr": np.arange(3)},
        ),
        make_result("C", "c.b", "d", float("nan"), 1.0, "<", seed=0, reason="r"),
        skipped("C", "c.s", "d", seed=0, why="w"),
        info("C", "c.i", "d", 2.0, seed=0, reason="r"),
    ]
    data = json.loads(json.dumps(to_json(results, quick=True, seed=0)))
    rows = data["results"]
    assert [r["passed"] for r in rows] == [True, False, False, None]
    assert rows[0]["threshold"] == [0.0, 1.0] and rows[0]["details"]["arr"] == [0, 1, 2]
    assert rows[1]["measured"] is None  # NaN is written as null, never as a bare NaN token
    assert not data["all_passed"]
    print_table(results)
    out = capsys.readouterr().out
    assert "in [0, 1]" in out and "FAIL" in out and "SKIP" in out
    path = tmp_path / "plot.png"  # type: ignore[operator]
    assert write_plots(results, str(path)) == 1
    assert path.stat().st_size > 1000


def test_list_modules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in proofs_check.MODULES:
        assert name in out


# --------------------------------------------------------------------------- helpers


def test_envelope_exponent_on_known_shapes() -> None:
    from proofs_check.activations import envelope_exponent

    assert envelope_exponent(lambda t: 3 * t + 1) == pytest.approx(1.0, abs=1e-3)
    assert envelope_exponent(lambda t: t**2 - t) == pytest.approx(2.0, abs=1e-3)
    assert envelope_exponent(lambda t: np.sin(t) + 0.5 * np.cos(np.sqrt(2) * t)) == pytest.approx(
        0.0, abs=0.02
    )
    assert envelope_exponent(lambda t: 1 / t) == pytest.approx(-1.0, abs=1e-3)


def test_fit_exponent_detects_a_slow_rate() -> None:
    from proofs_check.theorem1_linear_extrapolation import _fit_exponent

    ts = np.logspace(1, 3, 9)
    floor = np.full_like(ts, 1e-20)
    assert _fit_exponent(ts, ts**-2.0, floor) == pytest.approx(-2.0)
    # a gap decaying like t^-1/2 violates Theorem 1's rate and would fail its threshold
    assert _fit_exponent(ts, ts**-0.5, floor) > -0.9
    # gaps at the round-off floor are not fitted
    assert _fit_exponent(ts, ts**-2.0, np.ones_like(ts)) is None


def test_ray_coefficients_match_library_kernel_slope() -> None:
    """Independent check of a: the slope of the library kernel far along the ray."""
    from ntkx.core.kernels import kernel_matrix
    from ntkx.feedforward.mlp import mlp
    from proofs_check.symbolic import ray_coefficients

    rng = np.random.default_rng(0)
    x0, v, xt = rng.normal(size=3), rng.normal(size=3), rng.normal(size=(4, 3))
    a, b, _ = ray_coefficients(x0, v, xt, 1.3, 0.7)
    net = mlp(W_std=1.3, b_std=0.7)
    t1, t2 = 1e5, 2e5
    k = kernel_matrix(net, np.stack([x0 + t1 * v, x0 + t2 * v]), xt, dtype="float64")
    # slope between t1 and t2 is a - c/(t1 t2) + ...: a to ~1e-10 relative
    np.testing.assert_allclose((k[1] - k[0]) / (t2 - t1), a, rtol=1e-8)
    # intercept: k - a t -> b + c/t
    np.testing.assert_allclose(k[1] - a * t2, b, rtol=1e-4, atol=1e-6)


def test_checks_are_deterministic_given_the_seed(quick_run: tuple[int, dict]) -> None:
    _, data = quick_run
    again = run_checks(quick=True, seed=0, only=["lemma1_exact_linear"])
    first = [r for r in data["results"] if r["name"].startswith("lemma1.")]
    assert [r["measured"] for r in first] == [r.measured for r in again]
    assert all(r.seed == 0 for r in again)


# --------------------------------------------------------------------------- the quick run


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict]:
    path = tmp_path_factory.mktemp("proofs") / "quick.json"
    code = main(["--quick", "--json", str(path)])
    return code, json.loads(path.read_text())


def test_quick_run_passes_every_check(quick_run: tuple[int, dict]) -> None:
    code, data = quick_run
    failing = [
        (r["name"], r["measured"], r["threshold"], r["reason"])
        for r in data["results"]
        if r["status"] not in ("pass", "info")
    ]
    assert failing == []
    assert code == 0 and data["all_passed"] and data["quick"]


def test_quick_run_covers_every_claim(quick_run: tuple[int, dict]) -> None:
    _, data = quick_run
    names = {r["name"] for r in data["results"]}
    for required in (
        "symbolic.arccos_gaussian_integrals",
        "symbolic.homogeneity_exact",
        "symbolic.ray_expansion_c",
        "theorem1.rate_with_bias",
        "theorem1.exact_no_bias_through_origin",
        "lemma1.exact",
        "lemma1.bias_breaks_exactness",
        "theorem2.cube_converges",
        "theorem2.fix1_fails",
        "theorem2.negd_fails",
        "activations.ntk_erf_bounded",
        "activations.finite_sin_oscillates",
        "activations.ntk_quadratic_quadratic",
        "max_degree.condition_sufficient",
        "max_degree.max_beats_sum_readout",
        "shortest_path.min_beats_sum",
        "finite_width.bias_exponent",
    ):
        assert required in names
    for r in data["results"]:
        assert {"claim", "passed", "measured", "threshold", "seed", "reason"} <= set(r)
        assert r["seed"] == 0


def test_every_claim_has_one_criterion(quick_run: tuple[int, dict]) -> None:
    """Every judged result comes from exactly one module's CRITERIA (all_criteria refuses a
    name in two modules), with that criterion's threshold, comparison and reason; every
    criterion is measured (the publication-size-only ones by the full run)."""
    _, data = quick_run
    rules = all_criteria()
    judged = [r for r in data["results"] if r["status"] != "info"]
    for r in judged:
        rule = rules[r["name"]]
        ref = rule.judge(0.0, seed=0, description="")
        threshold = list(ref.threshold) if isinstance(ref.threshold, tuple) else ref.threshold
        assert (r["claim"], r["threshold"], r["comparison"], r["reason"]) == (
            rule.claim,
            threshold,
            rule.comparison,
            rule.reason,
        ), r["name"]
    assert len({r["name"] for r in judged}) == len(judged)
    # a comparison whose models did not all fit their training data is reported, not judged
    # (the fit gate): an info row with the criterion's verdict kept in its details
    gated = {
        r["name"]
        for r in data["results"]
        if r["status"] == "info" and r["details"].get("comparable") is False
    }
    for r in data["results"]:
        if r["name"] in gated:
            assert "not comparable" in r["reason"] and r["name"] in rules
    assert set(rules) - {r["name"] for r in judged} - gated == FULL_RUN_ONLY
    for r in data["results"]:
        if r["status"] == "info":
            assert r["passed"] is None
    # each criterion lives in the module that --only selects by its dotted name
    for module_name in proofs_check.MODULES:
        module = importlib.import_module(f"proofs_check.{module_name}")
        assert module.CRITERIA, module_name
        assert all(module_name.startswith(n.split(".")[0]) for n in module.CRITERIA)


def _float_constants(node: ast.AST) -> list[float]:
    return [
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, float)
    ]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_examples_take_thresholds_from_proofs_check(path: pathlib.Path) -> None:
    """An example judges with proofs_check's criteria and writes no threshold of its own: no
    float literal in a comparison, no module-level float constant, no make_result, and it
    imports CRITERIA from a proofs_check module and reports with report_verdicts."""
    tree = ast.parse(path.read_text())
    compared = [
        (n.lineno, _float_constants(n)) for n in ast.walk(tree) if isinstance(n, ast.Compare)
    ]
    assert [c for c in compared if c[1]] == [], "float literal compared in an example"
    constants = [
        n.lineno
        for n in tree.body
        if isinstance(n, ast.Assign | ast.AnnAssign) and _float_constants(n)
    ]
    assert constants == [], "module-level float constant in an example"
    imports = {
        (n.module, a.name)
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module
        for a in n.names
    }
    assert any(m.startswith("proofs_check.") and a == "CRITERIA" for m, a in imports)
    assert ("proofs_check", "report_verdicts") in imports
    calls = {
        n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", None)
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
    }
    assert calls & {"judge", "judge_comparison"} and "report_verdicts" in calls
    assert "make_result" not in calls
