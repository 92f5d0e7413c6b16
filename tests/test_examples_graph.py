"""Each graph example runs at --quick size and takes its verdicts from proofs_check (in-process).

The examples judge their measurements with the claims' criteria in ``proofs_check`` (a message
on stderr and exit status 1 when one fails); here the tests check that every verdict came from
a proofs_check criterion and that each measured value is the number the example reports. No
threshold of a paper claim is written here. Full sizes are behind ``-m slow``.
"""

from __future__ import annotations

import importlib.util
import pathlib
from typing import Any

import pytest
from verdicts import judged_verdicts

from proofs_check import CheckResult

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _run(name: str, argv: list[str]) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def _verdicts(res: dict[str, Any]) -> list[CheckResult]:
    """The judged verdicts, after checking that each is a proofs_check criterion's verdict."""
    return judged_verdicts(res)


def test_graph_max_degree_quick_one_layer(capsys: Any) -> None:
    # the quick size judges the one-layer setting, for both predictors
    res = _run("graph_max_degree", ["--quick", "--depth", "1"])
    verdicts = _verdicts(res)
    assert len(verdicts) == len(res["verdicts"]) == 4
    expected = []
    for method in ("finite", "kernel"):
        s = res[method]
        assert s["ratio"] == pytest.approx(s["sum_readout_mape"] / s["max_readout_mape"])
        expected += [
            ("max_degree.max_readout_extrapolates", s["max_readout_mape"] / 100),
            ("max_degree.max_beats_sum_readout", s["max_readout_mape"] / s["sum_readout_mape"]),
        ]
    assert [(v.name, v.measured) for v in verdicts] == expected
    assert res["spanning_rank"] == [4]
    assert "all 4 judged claims hold" in capsys.readouterr().out


def test_graph_shortest_path_quick() -> None:
    res = _run("graph_shortest_path", ["--quick"])
    [verdict] = _verdicts(res)
    assert verdict.name == "shortest_path.min_beats_sum"
    assert verdict.measured == pytest.approx(res["sum_agg_mape"] / res["min_agg_mape"])


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
    assert verdicts == {
        "max_degree.shared_degree_condition_fails": 2,
        "max_degree.shared_degree_vs_general": table["general"]["test_mape"]
        / min(table[f]["test_mape"] for f in bad),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "argv"),
    [("graph_max_degree", ["--depth", "1"]), ("graph_shortest_path", []), ("graph_families", [])],
)
def test_graph_examples_full_size(name: str, argv: list[str]) -> None:
    _verdicts(_run(name, argv))
