"""The ``ntkx`` command: dispatch to demo, curve, graph and check, and the built-in demo."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from ntkx import cli
from ntkx.feedforward import demo


def test_demo_writes_json_and_png_and_extrapolates_linearly(tmp_path: Any, capsys: Any) -> None:
    assert cli.main(["demo", "--out", str(tmp_path), "--n-train", "32"]) == 0
    result = json.loads((tmp_path / "demo.json").read_text())
    png = (tmp_path / "demo.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000  # a real plot, not an empty file
    assert result == json.loads(json.dumps(demo.run_demo(n_train=32)))  # the numbers it prints
    # Theorem 1 (arXiv 2009.11848): the NTK predictor is asymptotically linear along
    # rays. On [2, 5] the remaining curvature is O(1/x) of the slope; 0.999 leaves a
    # wide margin while failing for any quadratic-like prediction (R^2 of a line fit
    # to x^2 on [2, 5] is about 0.98).
    assert result["r2_of_line_fit_x_in_[2,5]"] > 0.999
    assert result["r2_of_line_fit_x_in_[-5,-2]"] > 0.999
    # ...so it cannot follow x^2 far outside: at |x| >= 2 the error is large.
    assert result["median_relative_error_outside_|x|>2"] > 0.3
    # Inside the support the ridge-free predictor interpolates 32 points of a smooth
    # target; between them its error is small against the target's range [0, 1].
    assert result["max_abs_error_inside_support"] < 0.05
    assert result["n_train"] == 32 and len(result["prediction"]) == 401
    out = capsys.readouterr().out
    assert f"{'max_abs_error_inside_support':40s} {result['max_abs_error_inside_support']}" in out


def test_demo_bad_arguments_exit_2(tmp_path: Any, capsys: Any) -> None:
    assert cli.main(["demo", "--out", str(tmp_path), "--n-train", "1"]) == 2
    assert "ntkx demo: error: --n-train=1 is not allowed" in capsys.readouterr().err
    assert cli.main(["demo", "--out", str(tmp_path), "--n-train", "many"]) == 2
    assert list(tmp_path.iterdir()) == []


def test_line_fit_r2_reference() -> None:
    x = np.linspace(2.0, 5.0, 50)
    assert abs(demo._line_fit_r2(x, 3 * x + 1) - 1.0) < 1e-12  # exact line
    expected = 1 - np.var(x**2 - np.polyval(np.polyfit(x, x**2, 1), x)) / np.var(x**2)
    assert abs(demo._line_fit_r2(x, x**2) - expected) < 1e-12


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        (
            "curve",
            [
                "--n-train",
                "--widths",
                "--sweep-widths",
                "--no-exclude-support",
                "--parameterization",
                "--init",
                "--data",
                "--no-kernel",
                "--drop-last",
                "--eval-epochs",
            ],
        ),
        ("graph", ["--task", "--n-seeds", "--quick", "--test-sizes", "--depth"]),
    ],
)
def test_experiment_commands_dispatch_to_the_runner(
    command: str, flags: list[str], capsys: Any
) -> None:
    assert cli.main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert f"usage: ntkx {command}" in text
    for flag in [*flags, "--out", "--quiet"]:
        assert flag in text, flag


def test_experiment_command_bad_value_exits_2(tmp_path: Any, capsys: Any) -> None:
    assert cli.main(["graph", "--task", "coloring", "--out", str(tmp_path)]) == 2
    assert "ntkx graph: error: task='coloring' is not allowed" in capsys.readouterr().err
    assert cli.main(["curve", "--out", str(tmp_path), "--dim", "0"]) == 2
    assert "ntkx curve: error: dim=0 is not allowed" in capsys.readouterr().err
    assert cli.main(["curve", "--dim", "3"]) == 2  # --out is required
    assert list(tmp_path.iterdir()) == []


def test_unknown_command_exits_2(capsys: Any) -> None:
    assert cli.main(["nope"]) == 2
    captured = capsys.readouterr()
    assert "ntkx: error: unknown command 'nope'" in captured.err
    assert "['check', 'curve', 'demo', 'graph', 'nbody', 'reproduce']" in captured.err
    assert captured.out == ""


def test_help_lists_commands(capsys: Any) -> None:
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ntkx COMMAND")
    for name in ("demo", "curve", "graph", "check"):
        assert f"\n  {name:8s} " in out, name
    assert cli.main(["--help"]) == 0
    assert capsys.readouterr().out == out


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--out", "{file}/sub"],
        ["check", "--quick", "--only", "symbolic", "--json", "{file}/r.json"],
        ["check", "--quick", "--only", "symbolic", "--plot", "{file}/r.png"],
    ],
)
def test_unwritable_output_exits_2_before_any_work(
    tmp_path: Any, capsys: Any, monkeypatch: Any, argv: list[str]
) -> None:
    # A path below a regular file can be neither created nor written, even by root.
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    argv = [a.replace("{file}", str(blocker)) for a in argv]

    def no_work(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the computation started before the output path was checked")

    monkeypatch.setattr(demo, "run_demo", no_work)
    monkeypatch.setattr("proofs_check._framework.run_checks", no_work)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    flag = argv[-2]
    assert flag in err and "is not allowed" in err and "Traceback" not in err
