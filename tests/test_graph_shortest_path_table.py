"""benchmarks/graph_shortest_path_table.py: the flags reach GraphConfig and the table carries
the experiment's numbers unchanged.

``run_graph_experiment`` is replaced by a stub that records the configs it is given and
returns hand-written MAPEs, so the test checks the script's own work (which config each row
was trained with, which number lands in which cell) in well under a second. The real
``--quick`` run trains 8 GNNs (about a minute on 2 cores) and is left to the command line.
"""

from __future__ import annotations

import json

import pytest
from scripts import load_script


def _load():
    return load_script("benchmarks/graph_shortest_path_table.py")


def _stub(configs):
    """A run_graph_experiment stand-in: min gets MAPE 1 + 10 * l1 * 1e5 on every set, sum 100x
    that; the size bins get 2x and 3x the in-distribution number."""

    def run(config, progress, tests):
        configs.append(config)
        archs = {}
        for agg in config.aggregations:
            base = (1.0 + config.l1 * 1e6) * (100.0 if agg == "sum" else 1.0)
            sets = {"in_distribution": base} | {f: base + 0.5 for f in tests}
            archs[f"{agg}/min"] = {
                "aggregation": agg,
                "train_mape_mean": base / 2,
                "train_mape": [base / 2],
                "test_set_mape_mean": sets,
                "size_mape_mean": [2 * base, 3 * base][: len(config.test_sizes)],
            }
        return {"metrics": {"architectures": archs}, "timings": {"total_s": 0.0}}

    return run


@pytest.mark.parametrize("relu", [True, False])
def test_message_relu_flag_reaches_every_config_and_the_table(tmp_path, monkeypatch, relu):
    table = _load()
    configs = []
    monkeypatch.setattr(table, "run_graph_experiment", _stub(configs))
    monkeypatch.setattr(table, "_family_tests", lambda n, sizes, seed: dict.fromkeys(table.UNSEEN))
    argv = ["--quick", "--settings", "paper", "--l1", "2e-5", "--quiet", "--out", str(tmp_path)]
    result = table.main(argv + (["--message-relu"] if relu else []))

    # One experiment per L1 value (0 and --l1), each with the flag as given.
    assert [c.l1 for c in configs] == [0.0, 2e-5]
    assert [c.message_relu for c in configs] == [relu, relu]
    assert all(c.learning_rate == 0.005 and c.lr_halving_every == 50 for c in configs)

    # Rows: the stub's hand-written numbers, in the cells named by the test sets.
    rows = result["rows"]
    assert [(r["aggregation"], r["l1"]) for r in rows] == [
        ("min", 0.0), ("sum", 0.0), ("min", 2e-5), ("sum", 2e-5)
    ]  # fmt: skip
    for r in rows:
        base = (1.0 + r["l1"] * 1e6) * (100.0 if r["aggregation"] == "sum" else 1.0)
        assert r["message_relu"] is relu
        assert r["train_mape"] == base / 2
        assert r["test_mape"]["in_distribution"] == base
        assert r["test_mape"]["12-16"] == 2 * base and r["test_mape"]["40"] == 3 * base
        assert all(r["test_mape"][f] == base + 0.5 for f in table.UNSEEN)

    # table.md: the setting names the ReLU; the min row without L1 reads 0.5 | 1 | 2 | 3 | 1.5...
    md = (tmp_path / "table.md").read_text()
    label = "paper+relu" if relu else "paper"
    assert f"| {label} | min | 0 | 0.5 | 1 | 2 | 3 | " + " | ".join(["1.5"] * 8) + " |" in md
    assert f"| {label} | sum | 2e-05 | 1.05e+03 | 2.1e+03 | 4.2e+03 | 6.3e+03 |" in md
    saved = json.loads((tmp_path / "table.json").read_text())
    assert saved["args"]["message_relu"] is relu and saved["rows"] == rows
