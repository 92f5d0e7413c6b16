"""benchmarks/gpu_shortest_path.py (the shortest-path run for a GPU lease) on the CPU.

The epoch budget is exact arithmetic. The ``--tiny`` run checks the wiring only: the experiment
trains the chosen number of epochs, with the message ReLU, on the graphs the script timed, and
reports every test set (unseen families and the large graphs included). The MAPE numbers
themselves come from ``ntkx.graphs.experiment``, whose metrics are tested against hand-written
references in tests/test_graph_experiments.py and tests/test_metrics.py.
"""

from __future__ import annotations

import json
import math

from scripts import load_script


def _load():
    return load_script("benchmarks/gpu_shortest_path.py")


def test_choose_epochs_is_the_budget_over_the_epoch_time():
    sp = _load()
    # (240 - 90) / 4.1 = 36.6 -> 36; the cap wins below it; at least one epoch.
    assert sp.choose_epochs(240.0, 90.0, 4.1, 300) == 36
    assert sp.choose_epochs(240.0, 90.0, 0.1, 300) == 300
    assert sp.choose_epochs(60.0, 90.0, 4.1, 300) == 1


def test_tiny_run_records_every_test_set_and_a_stopped_work_run_resumes_to_it(tmp_path):
    sp = _load()
    rec = sp.main(["--tiny", "--out", str(tmp_path), "--message-relu", "--tag", "t"])
    saved = json.loads((tmp_path / "t.json").read_text())
    assert saved["status"] == "done", saved.get("error")
    config = saved["record"]["config"]
    assert config["epochs"] == saved["epochs"] == rec["epochs"] == 2
    assert config["message_relu"] is True and saved["record"]["metrics"]["train_source"] == "data"
    tests = saved["summary"]["test_mape"]
    want = {"in_distribution", "weights_only", "30", *sp.UNSEEN}
    assert want <= set(tests)
    assert all(math.isfinite(v) and v >= 0 for v in tests.values())
    # --work: the deadline (here at once) stops the run as a Ctrl-C, wherever it lands; the
    # same command with --resume finishes it, with the numbers of the run above
    work = ["--tiny", "--out", str(tmp_path), "--message-relu", "--work", str(tmp_path / "w")]
    cut = sp.main([*work, "--tag", "cut", "--budget-s", "1e-3"])
    assert cut["status"] == "interrupted" and "--resume" in cut["resume"]
    done = sp.main([*work, "--tag", "done", "--resume"])
    assert done["status"] == "done", done.get("error")
    assert done["record"]["metrics"]["architectures"] == rec["record"]["metrics"]["architectures"]
    (ckpt,) = (tmp_path / "w" / "checkpoints").iterdir()  # the trained network's state
    assert ckpt.name.startswith("seed0_min-agg_min-readout_")
    again = sp.main([*work, "--tag", "again", "--resume"])  # finished: reported, not rerun
    assert again["record"] == done["record"]
