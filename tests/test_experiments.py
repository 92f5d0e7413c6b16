"""Tests of the ``curve`` experiment (ntkx.experiments) and its command-line entry point."""

import json
import os

import numpy as np
import pytest

from ntkx.experiments import CurveConfig, curve_main, fit_power_law, run_curve

SMALL = {
    "dim": 3,
    "n_train": 64,
    "n_test": 128,
    "n_rays": 30,
    "ray_points": 20,
    "widths": (32,),
    "epochs": 5,
    "learning_rate": 1e-2,
    "bins": 4,
}


def test_run_curve_writes_every_number_and_plots(tmp_path):
    cfg = CurveConfig(
        target="quadratic",
        sweep_widths=(32, 512),
        sweep_seeds=(0,),
        sweep_n_train=16,
        sweep_steps=30,
        **SMALL,
    )
    res = run_curve(cfg, tmp_path, progress=False)
    with open(tmp_path / "result.json") as fh:
        saved = json.load(fh)  # strict JSON (allow_nan=False when written)
    for name in ("ray", "curve", "r2_histogram", "width_sweep"):
        assert os.path.getsize(res["files"][name]) > 10_000  # a real PNG, not an empty file
    assert saved["config"]["dim"] == 3 and saved["config"]["seeds"] == [0]
    assert saved["test_set"]["excluded_inside_support"] is True
    assert saved["test_set"]["n_inside"] == 0
    ntk = saved["ntk"]
    # NTK with bias: linear far out along rays (Theorem 1), not trivially (bias present)
    assert ntk["linearity_origin"]["median"] > 0.99
    assert ntk["linearity_origin"]["trivially_linear"] is False
    assert len(ntk["linearity_origin"]["r2"]) == 30
    assert set(ntk["errors"]) >= {"mse", "mape_mean", "mape_median", "mape_median_per_batch"}
    assert sum(ntk["curve"]["counts"]) == 128
    assert all(s["exponent"] is None or s["exponent"] > 0 for s in ntk["slope_convergence"])
    fin = saved["finite"][0]
    assert fin["width"] == 32 and len(fin["losses"]) == 5
    assert np.isfinite(fin["gap_to_ntk_off_support"]["relative"])
    sweep = saved["width_sweep"]
    assert sweep["widths"] == [32, 512] and len(sweep["relative_gap"]["off_support"][0]) == 2


def test_bias_free_relu_ntk_is_exactly_linear_through_origin():
    # positive homogeneity: f(t v) = t f(v), so R^2 = 1 to rounding and the flag is set
    cfg = CurveConfig(
        target="l1",
        geometry="cube",
        b_std=None,
        widths=(),
        **{k: v for k, v in SMALL.items() if k != "widths"},
    )
    res = run_curve(cfg, progress=False)
    lin = res["ntk"]["linearity_origin"]
    assert lin["trivially_linear"] is True
    assert min(lin["r2"]) > 1 - 1e-9
    assert res["ntk"]["linearity_off_origin"]["trivially_linear"] is False
    # the slope along a ray through the origin is exact: no gap above rounding
    assert all(s["exponent"] is None for s in res["ntk"]["slope_convergence"])


def test_curve_main_cli(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "--out",
        str(out),
        "--target",
        "cos",
        "--geometry",
        "cube",
        "--dim",
        "2",
        "--n-train",
        "48",
        "--n-test",
        "96",
        "--n-rays",
        "10",
        "--widths",
        "16",
        "--epochs",
        "3",
        "--test-radius",
        "3",
        "--quiet",
        "--b-std",
        "0.5",
    ]
    assert curve_main(argv) == 0
    assert (out / "result.json").exists() and (out / "curve.png").exists()
    assert "median R^2" in capsys.readouterr().out
    assert curve_main(["--out", str(out), "--test-radius", "0.5"]) == 2
    assert "test_radius=0.5" in capsys.readouterr().err


def test_config_validation():
    with pytest.raises(ValueError, match="target='sin'"):
        CurveConfig(target="sin")
    with pytest.raises(ValueError, match="positive orthant"):
        CurveConfig(target="sqrt", geometry="negd")
    with pytest.raises(ValueError, match="widths"):
        CurveConfig(widths=(64, 0))
    with pytest.raises(ValueError, match="seeds"):
        CurveConfig(seeds=())


def test_fit_power_law_recovers_exponent():
    w = np.array([64.0, 256.0, 1024.0])
    fit = fit_power_law(w, 3.0 * w**-0.5)
    assert fit["exponent"] == pytest.approx(0.5) and fit["prefactor"] == pytest.approx(3.0)
