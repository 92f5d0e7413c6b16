"""Each graph example runs at --quick size and checks its claims (in-process).

The examples check their claims themselves (a message on stderr and exit status 1 when one
fails); here the tests check that the claims were evaluated and that each recorded value is
the number the example reports. Full sizes are behind ``-m slow``.
"""

from __future__ import annotations

import importlib.util
import pathlib
from typing import Any

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _run(name: str, argv: list[str]) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def _values(res: dict[str, Any]) -> dict[str, float]:
    """Claim text -> measured value, after checking that every claim held."""
    assert res["claims"], "no claim was checked"
    assert all(c["holds"] for c in res["claims"]), res["claims"]
    return {c["claim"]: c["value"] for c in res["claims"]}


def test_graph_max_degree_quick_one_layer(capsys: Any) -> None:
    # the quick size checks the one-layer setting, all of whose claims are checked
    res = _run("graph_max_degree", ["--quick", "--depth", "1"])
    values = _values(res)
    assert values == {
        "finite: max-readout test MAPE < 10.0%": res["finite"]["max_readout_mape"],
        "finite: sum-readout / max-readout test MAPE >= 5.0": res["finite"]["ratio"],
        "kernel: max-readout test MAPE < 10.0%": res["kernel"]["max_readout_mape"],
        "kernel: sum-readout / max-readout test MAPE >= 5.0": res["kernel"]["ratio"],
    }
    for method in ("finite", "kernel"):
        s = res[method]
        assert s["ratio"] == pytest.approx(s["sum_readout_mape"] / s["max_readout_mape"])
    assert res["spanning_rank"] == [4]
    assert "all 4 claims hold" in capsys.readouterr().out


def test_graph_shortest_path_quick() -> None:
    res = _run("graph_shortest_path", ["--quick"])
    assert _values(res) == {
        "sum-aggregation / min-aggregation test MAPE >= 5.0": pytest.approx(
            res["sum_agg_mape"] / res["min_agg_mape"]
        )
    }


def test_graph_families_quick() -> None:
    res = _run("graph_families", ["--quick"])
    values = _values(res)
    table = res["families"]
    assert {f: t["spanning_rank"] for f, t in table.items()} == {
        "general": 4,
        "tree": 4,
        "complete": 2,
        "cycle": 2,
        "ladder": 2,
        "4regular": 2,
    }
    general = table["general"]["test_mape"]
    for bad in ("cycle", "ladder", "4regular"):
        ratio = values[f"{bad} training: test MAPE / general training's >= 5.0"]
        assert ratio == pytest.approx(table[bad]["test_mape"] / general)
        assert values[f"{bad} training: spanning rank < 4"] == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "argv"),
    [("graph_max_degree", ["--depth", "1"]), ("graph_shortest_path", []), ("graph_families", [])],
)
def test_graph_examples_full_size(name: str, argv: list[str]) -> None:
    _values(_run(name, argv))
