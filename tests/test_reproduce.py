"""ntkx reproduce: verdict mapping, report rows, figures, resume (with the parts' heavy work
replaced by fixed results; the parts themselves are proofs_check modules and run_curve,
tested in test_proofs_check.py and test_experiments.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import ntkx.reproduce as rep
from ntkx.reproduce import ReproduceConfig, reproduce_main, run_reproduce
from proofs_check import Criterion, make_result

GATE = Criterion("Sec. 4", "fake.min_beats_sum", 3.0, ">", "a clear separation")


def fake_checks(*, quick: bool, seed: int, modules: list[str]) -> list[Any]:
    series = {"title": f"{modules[0]} curve", "x": [1, 2], "y": [1.0, 0.5], "xlabel": "n",
              "ylabel": "error", "label": "measured"}  # fmt: skip
    return [
        make_result("Lemma 1", f"{modules[0]}.ok", "error", 1e-15, 1e-8, "<", seed=seed,
                    reason="exact identity", details={"series": [series]}),
        make_result("Lemma 1", f"{modules[0]}.bad", "error", 0.5, 1e-8, "<", seed=seed,
                    reason="exact identity"),
        GATE.judge_comparison(9.0, train_mape={"min": 0.01, "sum": 0.3}, seed=seed,
                              description="ratio"),
    ]  # fmt: skip


@pytest.fixture
def fake_parts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import proofs_check

    calls: list[str] = []

    def run_checks(**kw: Any) -> list[Any]:
        calls.append(kw["modules"][0])
        return fake_checks(**kw)

    monkeypatch.setattr(proofs_check, "run_checks", run_checks)
    return calls


def test_config_validation() -> None:
    assert ReproduceConfig(parts=("lemma1", "feedforward_grid")).parts == (
        "feedforward_grid",
        "lemma1",
    )  # report order, whatever the order given
    with pytest.raises(ValueError, match="parts='nbody2' is not allowed"):
        ReproduceConfig(parts=("nbody2",))
    with pytest.raises(ValueError, match="parts=\\(\\) is not allowed"):
        ReproduceConfig(parts=())
    with pytest.raises(ValueError, match="seed=-1 is not allowed"):
        ReproduceConfig(seed=-1)
    with pytest.raises(ValueError, match="expected each part at most once"):
        ReproduceConfig(parts=("lemma1", "lemma1"))


def test_rows_verdicts_report_and_figures(fake_parts: list[str], tmp_path: Path) -> None:
    cfg = ReproduceConfig(quick=True, parts=("lemma1", "shortest_path"))
    rec = run_reproduce(cfg, tmp_path, progress=False)
    m = rec["metrics"]
    verdicts = {r["check"]: r["verdict"] for r in m["rows"]}
    assert verdicts == {
        "lemma1_exact_linear.ok": "matches",
        "lemma1_exact_linear.bad": "differs",
        "fake.min_beats_sum": "not comparable",  # sum did not fit: never a pass or a fail
        "shortest_path.ok": "matches",
        "shortest_path.bad": "differs",
    }
    assert m["summary"] == {"matches": 2, "differs": 2, "not comparable": 2, "info": 0,
                            "skipped": 0}  # fmt: skip
    report = (tmp_path / "report.md").read_text()
    assert "Summary: **2 matches**, **2 differs**, **2 not comparable**." in report
    assert (
        "| shortest_path.bad | exact identity | error: 0.5 (criterion: < 1e-08) | **differs** |"
        in (report)
    )
    assert "![lemma1](lemma1.png)" in report and (tmp_path / "lemma1.png").stat().st_size > 5000
    assert set(rec["files"]) == {"lemma1", "shortest_path", "report", "json"}


def test_interrupted_reproduce_resumes_the_missing_parts(
    fake_parts: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rep.RUNNERS["shortest_path"]
    monkeypatch.setitem(rep.RUNNERS, "shortest_path", lambda c, ctx: (_ for _ in ()).throw(
        KeyboardInterrupt))  # fmt: skip
    argv = ["--quick", "--parts", "lemma1", "shortest_path", "--out", str(tmp_path), "--quiet"]
    assert reproduce_main(argv) == 130
    kept = json.loads((tmp_path / "result.json").read_text())["metrics"]
    assert list(kept) == ["lemma1"]
    monkeypatch.setitem(rep.RUNNERS, "shortest_path", real)
    fake_parts.clear()
    assert reproduce_main([*argv, "--resume"]) == 0
    assert fake_parts == ["shortest_path"]  # lemma1 was kept, not run again
    done = json.loads((tmp_path / "result.json").read_text())
    assert [r["check"] for r in done["metrics"]["rows"]][:2] == [
        "lemma1_exact_linear.ok",
        "lemma1_exact_linear.bad",
    ]


def test_feedforward_rows_judge_the_paper_trends(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The feedforward verdicts from fixed curve metrics: linear target learned (<= 5%),
    non-linear ones failing (>= 10%), R² above 0.99 along rays; and its figure."""
    from test_plotting import _check_figure

    import ntkx.feedforward.experiment as ff
    import ntkx.plotting as plotting

    def entry(mape: float, r2: float) -> dict[str, Any]:
        return {"errors": {"mape_median_per_batch": mape}, "linearity_off_origin": {"median": r2},
                "train_mse": 0.0}  # fmt: skip

    values = {"linear": (1.0, 0.9999), "quadratic": (80.0, 0.999), "cos": (3.0, 0.95),
              "l1": (50.0, 0.999), "sqrt": (40.0, 0.999)}  # fmt: skip

    def run_curve(cfg: Any, progress: bool) -> dict[str, Any]:
        mape, r2 = values[cfg.target]
        return {"metrics": {"ntk": entry(mape, r2), "finite": [entry(mape, r2)]}}

    monkeypatch.setattr(ff, "run_curve", run_curve)
    out = rep._feedforward_rows(ReproduceConfig(quick=True), rep.RunContext("t", progress=False))
    bad = sorted({r["check"] for r in out["rows"] if r["verdict"] == "differs"})
    assert bad == ["feedforward.cos.mlp.mape", "feedforward.cos.mlp.r2", "feedforward.cos.ntk.mape",
                   "feedforward.cos.ntk.r2"]  # fmt: skip
    figures: list[Any] = []
    real = plotting.save_figure
    monkeypatch.setattr(plotting, "save_figure", lambda f, p: figures.append(f) or real(f, p))
    monkeypatch.setitem(rep.RUNNERS, "feedforward_grid", lambda c, ctx: out)
    run_reproduce(ReproduceConfig(quick=True, parts=("feedforward_grid",)), tmp_path,
                  progress=False)  # fmt: skip
    _check_figure(figures[0], tmp_path / "feedforward_grid.png")
