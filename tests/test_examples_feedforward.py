"""Each feedforward example runs at its --quick size, takes its verdicts from proofs_check, and
fails loudly.

The examples measure in their own settings and judge with the claims' criteria in
``proofs_check`` (one threshold per claim, defined there; a message on stderr and exit status
1 when one fails, never a bare assert). Here they run in-process with ``--quick``; the tests
check that every verdict came from a proofs_check criterion (same threshold, comparison and
reason), that its measured value is the number the example reports, that the outputs are
written, and that a failing criterion exits with status 1. No threshold of a paper claim is
written here: whether the claims hold is decided by the criteria (and tested for
proofs_check's own measurements in ``tests/test_proofs_check.py``). Full sizes are behind
``-m slow``.
"""

from __future__ import annotations

import json
import pathlib
from types import ModuleType
from typing import Any

import pytest
from scripts import load_script
from verdicts import judged_verdicts

from proofs_check import CheckResult


def _load(name: str) -> ModuleType:
    return load_script(f"examples/{name}.py", name)


def _run(name: str, argv: list[str]) -> dict[str, Any]:
    return _load(name).main(argv)


def _verdicts(res: dict[str, Any]) -> dict[str, list[CheckResult]]:
    """Verdict name -> verdicts (all of them; the judged ones checked by judged_verdicts)."""
    judged_verdicts(res)
    verdicts = res["verdicts"]
    out: dict[str, list[CheckResult]] = {}
    for v in verdicts:
        out.setdefault(v.name, []).append(v)
    return out


def test_linear_extrapolation_quick(tmp_path: pathlib.Path, capsys: Any) -> None:
    res = _run("feedforward_linear_extrapolation", ["--quick", "--out", str(tmp_path)])
    by_name = _verdicts(res)
    assert sorted((k, len(v)) for k, v in by_name.items()) == [
        ("theorem1.linear_along_rays", 5),  # the NTK predictor for 4 targets, the Adam networks
        ("theorem1.rate_with_bias", 1),
        ("theorem1.trivially_linear_flags", 1),  # info
    ]
    targets = res["targets"]
    ntk = [
        min(targets[n]["ntk_median_r2_origin"], targets[n]["ntk_median_r2_off_origin"])
        for n in ("quadratic", "cos", "sqrt", "l1")
    ]
    finite = min(targets["quadratic"]["finite_width256_adam_median_r2"])
    measured = [v.measured for v in by_name["theorem1.linear_along_rays"]]
    assert measured == [ntk[0], finite, *ntk[1:]]
    assert (
        by_name["theorem1.rate_with_bias"][0].measured == targets["quadratic"]["slope_gap_exponent"]
    )
    note = by_name["theorem1.trivially_linear_flags"][0]
    assert note.status == "info" and note.measured == 0
    assert all(targets[n]["trivially_linear"] is False for n in targets)
    assert "all 6 judged claims hold" in capsys.readouterr().out
    saved = json.loads((tmp_path / "linear_extrapolation.json").read_text())
    assert [v["name"] for v in saved["verdicts"]] == [v.name for v in res["verdicts"]]
    assert [v["measured"] for v in saved["verdicts"]] == [v.measured for v in res["verdicts"]]
    png = (tmp_path / "linear_extrapolation_r2.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_directions_quick() -> None:
    res = _run("feedforward_directions", ["--quick"])
    by_name = _verdicts(res)
    rel = {k: v["ntk_relative_rms"] for k, v in res["sets"].items()}
    judged = {k: v[0].measured for k, v in by_name.items() if v[0].status != "info"}
    assert judged == {
        "theorem2.cube_error": rel["all"],
        "theorem2.fix1_fails": rel["fix1"],
        "theorem2.negd_fails": rel["negd"],
    }
    ratios = {k: v[0].measured for k, v in by_name.items() if v[0].status == "info"}
    assert ratios == {
        "theorem2.fix1_mape_ratio": res["ratios_to_all"]["fix1"],
        "theorem2.negd_mape_ratio": res["ratios_to_all"]["negd"],
    }
    assert res["sets"]["all"]["test_set"]["n"] == 512


def test_orthogonal_basis_quick() -> None:
    res = _run("feedforward_orthogonal_basis", ["--quick"])
    by_name = _verdicts(res)
    k = {label: v["max_relative_error"] for label, v in res["kernels"].items()}
    assert {name: v[0].measured for name, v in by_name.items()} == {
        "lemma1.exact": max(k["no bias, all layers"], k["no bias, first layer"]),
        "lemma1.bias_breaks_exactness": k["bias 1.0, all layers"],
    }


def test_failed_criterion_exits_1_with_message(
    tmp_path: pathlib.Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proofs_check import lemma1_exact_linear

    rule = lemma1_exact_linear.CRITERIA["lemma1.exact"]
    # no float64 error is below 0, so the exactness verdict must fail
    monkeypatch.setitem(lemma1_exact_linear.CRITERIA, "lemma1.exact", rule._replace(threshold=0))
    module = _load("feedforward_orthogonal_basis")
    with pytest.raises(SystemExit) as exc:
        module.main(["--quick", "--out", str(tmp_path)])
    assert exc.value.code == 1
    captured = capsys.readouterr()
    failures = [line for line in captured.err.splitlines() if line.startswith("CLAIM FAILED")]
    assert len(failures) == 1
    assert failures[0].startswith("CLAIM FAILED: lemma1.exact (Lemma 1)") and "< 0" in failures[0]
    assert "FAIL  lemma1.exact" in captured.out and "claims hold" not in captured.out
    # the results are written before the exit
    saved = json.loads((tmp_path / "orthogonal_basis.json").read_text())
    assert [v["status"] for v in saved["verdicts"]] == ["fail", "pass"]


def test_width_sweep_quick() -> None:
    res = _run("feedforward_width_sweep", ["--quick"])
    by_name = _verdicts(res)
    assert res["widths"] == [64, 2048] and res["seeds"] == [0, 1]
    regions = ("on_support", "off_support")
    # the exponent is fitted over the widths above n (here every width), like ntkx's own fit
    assert all(w > res["n_train"] for w in res["widths"])
    exponents = [v.measured for v in by_name["finite_width.bias_exponent"]]
    assert exponents == pytest.approx([-res["fitted"][r]["exponent"] for r in regions])
    every = [by_name[f"finite_width.exponent_every_width_{r}"][0] for r in regions]
    assert [v.measured for v in every] == [-res["fitted"][r]["exponent"] for r in regions]
    assert all(v.status == "info" for v in every)
    deviations = [v.measured for v in by_name["finite_width.bias_deviation"]]
    assert deviations == [res["mean_relative_gap"][r][-1] for r in regions]
    gaps = res["mean_relative_gap"]["off_support"]
    ratio = by_name["finite_width.gap_ratio_off_support"][0]
    assert ratio.status == "info" and ratio.measured == pytest.approx(gaps[-1] / gaps[0])


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "feedforward_linear_extrapolation",
        "feedforward_directions",
        "feedforward_orthogonal_basis",
        "feedforward_width_sweep",
    ],
)
def test_examples_full_size(name: str, tmp_path: pathlib.Path) -> None:
    _verdicts(_run(name, ["--out", str(tmp_path)]))
