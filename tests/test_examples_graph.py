"""Each graph example (and the n-body one) runs at --quick size, verdicts from proofs_check.

The examples judge their measurements with the claims' criteria in ``proofs_check`` (a message
on stderr and exit status 1 when one fails); here the tests check that every verdict came from
a proofs_check criterion and that each measured value is the number the example reports. No
threshold of a paper claim is written here. Full sizes are behind ``-m slow``.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import pytest
from scripts import load_script
from verdicts import judged_verdicts

from proofs_check import FIT_MAPE, CheckResult


def _run(name: str, argv: list[str]) -> dict[str, Any]:
    return load_script(f"examples/{name}.py", name).main(argv)


def _verdicts(res: dict[str, Any]) -> list[CheckResult]:
    """The judged verdicts, after checking that each is a proofs_check criterion's verdict."""
    return judged_verdicts(res)


def _gated(verdict: CheckResult, train_mape_percent: dict[str, float]) -> None:
    """The fit gate, recomputed here: a comparison is judged iff every compared model's
    training MAPE is at most FIT_MAPE; otherwise it is an info row saying "not comparable"."""
    fits = all(v / 100 <= FIT_MAPE for v in train_mape_percent.values())
    assert verdict.details["train_mape"] == pytest.approx(
        {k: v / 100 for k, v in train_mape_percent.items()}
    )
    if fits:
        assert verdict.status in ("pass", "fail")
    else:
        assert verdict.status == "info" and verdict.passed is None
        assert "not comparable" in verdict.reason


def test_graph_max_degree_quick_one_layer(capsys: Any) -> None:
    # the quick size judges the one-layer setting, for both predictors
    res = _run("graph_max_degree", ["--quick", "--depth", "1"])
    by_name = {(v.name, v.description.split(":")[0]): v for v in res["verdicts"]}
    assert len(by_name) == len(res["verdicts"]) == 4
    for method in ("finite", "kernel"):
        s = res[method]
        assert s["ratio"] == pytest.approx(s["sum_readout_mape"] / s["max_readout_mape"])
        rows = [v for (n, d), v in by_name.items() if f", {method} (" in d]
        ext, beats = sorted(rows, key=lambda v: v.name, reverse=True)
        assert ext.name == "max_degree.max_readout_extrapolates"
        assert ext.measured == pytest.approx(s["max_readout_mape"] / 100)
        assert f"train MAPE {s['max_readout_train_mape']:.3g}%" in ext.description
        assert beats.measured == pytest.approx(s["max_readout_mape"] / s["sum_readout_mape"])
        _gated(beats, {"max readout": s["max_readout_train_mape"],
                       "sum readout": s["sum_readout_train_mape"]})  # fmt: skip
    _verdicts(res)
    assert res["spanning_rank"] == [4]
    assert "judged claims hold" in capsys.readouterr().out


def test_graph_shortest_path_quick() -> None:
    res = _run("graph_shortest_path", ["--quick"])
    [verdict] = res["verdicts"]
    assert verdict.name == "shortest_path.min_beats_sum"
    assert verdict.measured == pytest.approx(res["sum_agg_mape"] / res["min_agg_mape"])
    _gated(verdict, {"min aggregation": res["min_agg_train_mape"],
                     "sum aggregation": res["sum_agg_train_mape"]})  # fmt: skip
    lo, hi = 12, 16  # the example's --quick test bin
    for agg in ("min", "sum"):  # one axis at a time; "both" is the size-bin number
        sets = res[f"{agg}_agg_test_sets"]
        assert set(sets) == {"in_distribution", "weights_only", f"sizes_only {lo}-{hi}",
                             f"both {lo}-{hi}"}  # fmt: skip
    assert res["min_agg_test_sets"][f"both {lo}-{hi}"] == res["min_agg_mape"]
    if verdict.status != "info":
        _verdicts(res)


def test_graph_families_quick() -> None:
    res = _run("graph_families", ["--quick"])
    verdicts = {v.name: v.measured for v in _verdicts(res)}
    table = res["families"]
    assert {f: t["spanning_rank"] for f, t in table.items()} == {
        "general": 4,
        "tree": 4,
        "complete": 2,
        "cycle": 2,
        "ladder": 2,
        "4regular": 2,
    }
    bad = ("cycle", "ladder", "4regular")
    measured = {v.name: v.measured for v in res["verdicts"]}
    assert measured == {
        "max_degree.shared_degree_condition_fails": 2,
        "max_degree.shared_degree_vs_general": table["general"]["test_mape"]
        / min(table[f]["test_mape"] for f in bad),
    }
    assert verdicts["max_degree.shared_degree_condition_fails"] == 2
    [vs] = [v for v in res["verdicts"] if v.name == "max_degree.shared_degree_vs_general"]
    _gated(vs, {f: table[f]["train_mape"] for f in ("general", *bad)})


def test_nbody_representation_quick(tmp_path: pathlib.Path) -> None:
    # --quick is proofs_check.nbody's quick setting (same data, spec and shapes: the compiled
    # kernels are shared within the test session); --out also exercises result.json and plots
    res = _run("nbody_representation", ["--quick", "--out", str(tmp_path)])
    ext, worse = res["verdicts"]
    raw, phys = res["raw"], res["physics"]
    assert ext.name == "nbody.physics_extrapolates"
    assert ext.measured == phys["test_mape"] == phys["split_mape"]["mass_distance"]
    assert worse.name == "nbody.raw_much_worse"
    assert worse.measured == pytest.approx(raw["test_mape"] / phys["test_mape"])
    _gated(worse, {"raw features": raw["train_mape"], "physics features": phys["train_mape"]})
    _verdicts(res)
    saved = json.loads((tmp_path / "result.json").read_text())
    m = saved["metrics"]
    for rep in ("raw", "physics"):
        assert m[rep]["test_mape"] == res[rep]["test_mape"]
        assert m[rep]["train_mape"] == res[rep]["train_mape"]
        assert len(m[rep]["mass_sweep_mape"]) == len(m["mass_factors"])
    traj = np.asarray(m["trajectories"]["physics"])
    assert traj.shape[1:] == (saved["config"]["rollout_steps"] + 1, 3, 2)
    np.testing.assert_array_equal(traj[:, 0], np.asarray(m["trajectories"]["true"])[:, 0])
    for name in ("trajectories", "error_vs_mass", "error_vs_distance"):
        assert (tmp_path / saved["files"][name]).stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("graph_max_degree", ["--depth", "1"]),
        ("graph_shortest_path", []),
        ("graph_families", []),
        ("nbody_representation", []),
    ],
)
def test_graph_examples_full_size(name: str, argv: list[str]) -> None:
    _verdicts(_run(name, argv))
