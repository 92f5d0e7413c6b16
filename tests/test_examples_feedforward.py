"""Each feedforward example runs at its --quick size, checks its claims, and fails loudly.

The examples check their claims themselves (a message on stderr and exit status 1 when one
fails, never a bare assert); here they run in-process with ``--quick`` and the tests check
that the claims were actually evaluated, that each claim's recorded value is the number the
example reports, and that a failing claim exits with status 1. Full sizes are behind
``-m slow``.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
from types import ModuleType
from typing import Any

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(name: str, argv: list[str]) -> dict[str, Any]:
    return _load(name).main(argv)


def _values(res: dict[str, Any]) -> dict[str, float]:
    """Claim text -> measured value, after checking that every claim held."""
    assert res["claims"], "no claim was checked"
    assert all(c["holds"] for c in res["claims"]), res["claims"]
    return {c["claim"]: c["value"] for c in res["claims"]}


def test_linear_extrapolation_quick(tmp_path: pathlib.Path, capsys: Any) -> None:
    res = _run("feedforward_linear_extrapolation", ["--quick", "--out", str(tmp_path)])
    values = _values(res)
    assert len(values) == 14  # 3 per target, plus the slope exponent and the finite networks
    quad = res["targets"]["quadratic"]
    assert (
        values["quadratic: NTK median R^2 along origin rays > 0.99"] == quad["ntk_median_r2_origin"]
    )
    assert values["quadratic: width-256 Adam median R^2 (worst seed) > 0.99"] == min(
        quad["finite_width256_adam_median_r2"]
    )
    assert values["quadratic: slope-gap exponent > 0.5"] == quad["slope_gap_exponent"]
    for name in ("quadratic", "cos", "sqrt", "l1"):
        assert res["targets"][name]["trivially_linear"] is False
        assert res["targets"][name]["ntk_median_r2_off_origin"] > 0.99
    assert "all 14 claims hold" in capsys.readouterr().out
    saved = json.loads((tmp_path / "linear_extrapolation.json").read_text())
    assert saved["claims"] == res["claims"]
    png = (tmp_path / "linear_extrapolation_r2.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_directions_quick() -> None:
    res = _run("feedforward_directions", ["--quick"])
    values = _values(res)
    mape = {k: v["ntk"]["mape_median_per_batch"] for k, v in res["sets"].items()}
    assert values == {
        "NTK MAPE('all') < 2.0 %": mape["all"],
        "NTK MAPE('fix1') / MAPE('all') >= 10.0": pytest.approx(mape["fix1"] / mape["all"]),
        "NTK MAPE('negd') / MAPE('all') >= 10.0": pytest.approx(mape["negd"] / mape["all"]),
    }
    assert res["sets"]["all"]["test_set"]["n"] == 512


def test_orthogonal_basis_quick() -> None:
    res = _run("feedforward_orthogonal_basis", ["--quick"])
    values = _values(res)
    k = {label: v["max_relative_error"] for label, v in res["kernels"].items()}
    assert values == {
        "no bias, all layers: max relative error < 1e-09": k["no bias, all layers"],
        "no bias, first layer: max relative error < 1e-09": k["no bias, first layer"],
        "bias 1.0, all layers: max relative error > 0.01 (not exact)": k["bias 1.0, all layers"],
    }


def test_failed_claim_exits_1_with_message(capsys: Any) -> None:
    module = _load("feedforward_orthogonal_basis")
    module.EXACT_TOL = 0.0  # no float64 result is below 0: both exactness claims must fail
    with pytest.raises(SystemExit) as exc:
        module.main(["--quick"])
    assert exc.value.code == 1
    captured = capsys.readouterr()
    failures = [line for line in captured.err.splitlines() if line.startswith("CLAIM FAILED")]
    assert len(failures) == 2
    assert "no bias, all layers: max relative error < 0.0" in failures[0]
    assert "claims hold" not in captured.out


def test_width_sweep_quick() -> None:
    res = _run("feedforward_width_sweep", ["--quick"])
    values = _values(res)
    gaps = np.asarray(res["mean_relative_gap"]["off_support"])
    assert values["off-support gap at width 2048 / at width 64 < 0.5"] == pytest.approx(
        gaps[-1] / gaps[0]
    )
    assert res["widths"] == [64, 2048] and res["seeds"] == [0, 1]
    for region in ("on_support", "off_support"):
        key = f"{region}: fitted exponent p of gap ~ width^-p > 0"
        assert values[key] == res["fitted"][region]["exponent"]


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
    _values(_run(name, ["--out", str(tmp_path)]))
