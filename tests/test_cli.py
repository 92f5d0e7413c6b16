"""The ``ntkx`` command and its built-in demo."""

from __future__ import annotations

import json

import numpy as np

from ntkx import cli, demo


def test_demo_writes_json_and_png_and_extrapolates_linearly(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path), "--n-train", "32"]) == 0
    result = json.loads((tmp_path / "demo.json").read_text())
    png = (tmp_path / "demo.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000  # a real plot, not an empty file
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
    assert "max_abs_error_inside_support" in capsys.readouterr().out


def test_line_fit_r2_reference():
    x = np.linspace(2.0, 5.0, 50)
    assert abs(demo._line_fit_r2(x, 3 * x + 1) - 1.0) < 1e-12  # exact line
    expected = 1 - np.var(x**2 - np.polyval(np.polyfit(x, x**2, 1), x)) / np.var(x**2)
    assert abs(demo._line_fit_r2(x, x**2) - expected) < 1e-12


def test_unknown_command_exits_2(capsys):
    assert cli.main(["nope"]) == 2
    assert "unknown command 'nope'" in capsys.readouterr().out


def test_help_lists_commands(capsys):
    assert cli.main([]) == 0
    assert "demo" in capsys.readouterr().out
