"""The ``ntkx graph`` command and the graph MAPE."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from ntkx.graph_experiments import _mape as mape
from ntkx.graph_experiments import graph_main


def test_mape_hand_values():
    # |2-1|/2 = 50%, |4-5|/4 = 25%: mean 37.5% (the paper's graph code averages, not median).
    assert mape([2.0, 4.0], [1.0, 5.0]) == pytest.approx(37.5)
    with pytest.raises(ValueError, match="percentage errors divide by the label"):
        mape([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="non-finite"):
        mape([1.0], [np.nan])


@pytest.mark.parametrize(
    ("task", "method"), [("max_degree", "kernel"), ("shortest_path", "finite")]
)
def test_graph_main_quick_writes_json_and_plots(tmp_path, task, method):
    out = tmp_path / task
    code = graph_main(
        ["--task", task, "--method", method, "--quick", "--out", str(out),
         "--test-families", "general", "tree"]
    )  # fmt: skip
    assert code == 0
    res = json.loads((out / "results.json").read_text())
    assert res["task"] == task and res["method"] == method
    for name in ("error_vs_size.png", "per_family.png"):
        assert os.path.getsize(out / name) > 1000
    for entry in res["architectures"].values():
        assert len(entry["size_mape_mean"]) == 1 and len(entry["family_mape_mean"]) == 2
        assert all(np.isfinite(entry["size_mape_mean"]))
    if task == "max_degree":
        assert set(res["architectures"]) == {"sum-agg/max-readout", "sum-agg/sum-readout"}
        assert 1 <= res["spanning_rank"][0] <= 4
    else:
        assert set(res["architectures"]) == {"min-agg/min-readout", "sum-agg/min-readout"}


def test_graph_main_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        graph_main(["--task", "coloring"])
    assert err.value.code == 2
    # A ValueError from the library becomes exit status 2 with the message.
    code = graph_main(
        ["--quick", "--train-sizes", "3-4", "--train-families", "4regular", "--out", str(tmp_path)]
    )
    assert code == 2
    assert "n_min=3" in capsys.readouterr().err
