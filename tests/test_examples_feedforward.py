"""Smoke tests: each feedforward example runs at its --quick size and its assertions hold.

The examples assert their claims themselves (they raise AssertionError otherwise);
here they run in-process with ``--quick``. Full sizes are behind ``-m slow``.
"""

import importlib.util
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _run(name, argv):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def test_linear_extrapolation_quick(tmp_path):
    res = _run("feedforward_linear_extrapolation", ["--quick", "--out", str(tmp_path)])
    quad = res["targets"]["quadratic"]
    assert (
        quad["ntk_median_r2_origin"] > 0.99 and min(quad["finite_width256_adam_median_r2"]) > 0.99
    )
    assert (tmp_path / "linear_extrapolation_r2.png").exists()


def test_directions_quick():
    res = _run("feedforward_directions", ["--quick"])
    assert res["sets"]["all"]["ntk"]["mape_median_per_batch"] < 2.0
    assert min(res["ratios_to_all"].values()) >= 10


def test_orthogonal_basis_quick():
    res = _run("feedforward_orthogonal_basis", ["--quick"])
    assert res["kernels"]["no bias, all layers"]["max_relative_error"] < 1e-9


def test_width_sweep_quick():
    res = _run("feedforward_width_sweep", ["--quick"])
    gaps = res["mean_relative_gap"]["off_support"]
    assert gaps[-1] < 0.5 * gaps[0]


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
def test_examples_full_size(name, tmp_path):
    _run(name, ["--out", str(tmp_path)])
