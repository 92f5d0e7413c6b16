"""Tests of the ``curve`` experiment (ntkx.feedforward.experiment) on the runner, and its CLI."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest

import ntkx
import ntkx.feedforward.experiment as curve_module
from ntkx.core.training import stable_learning_rate
from ntkx.feedforward.experiment import (
    CURVE,
    CurveConfig,
    curve_main,
    fit_power_law,
    run_curve,
    width_sweep,
)
from ntkx.metrics import error_report
from ntkx.runner import RunContext

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
RECORD_KEYS = {
    "config",
    "environment",
    "experiment",
    "files",
    "interrupted",
    "metrics",
    "schema",
    "seeds",
    "timings",
}
METRIC_KEYS = {
    "target",
    "geometry",
    "test_set",
    "rays",
    "positively_homogeneous",
    "ray_example",
    "ntk",
    "finite",
    "finite_summary",
    "width_sweep",
}
PNG = b"\x89PNG\r\n\x1a\n"


def _data(cfg: CurveConfig) -> tuple[np.ndarray, np.ndarray, Any, np.ndarray]:
    """The experiment's training and test data, rebuilt from the config's documented seeds."""
    geom, target = cfg.make_geometry(), cfg.make_target()
    x = geom.sample(cfg.n_train, seed=cfg.data_seed)
    tests = ntkx.test_set(
        geom,
        cfg.n_test,
        cfg.test_radius,
        shape=cfg.test_shape,
        seed=cfg.data_seed + 1,
        exclude_support=True,
    )
    return x, target(x), tests, target(tests.x)


SWEEP = CurveConfig(
    target="quadratic",
    sweep_widths=(32, 512),
    sweep_seeds=(0,),
    sweep_n_train=16,
    sweep_steps=30,
    **SMALL,
)


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One run of :data:`SWEEP` with an output directory (shared by the tests below)."""
    out = tmp_path_factory.mktemp("sweep")
    return run_curve(SWEEP, out, progress=False), out


def test_run_curve_record_numbers_and_plots(sweep_run: tuple[dict[str, Any], Path]) -> None:
    cfg = SWEEP
    res, tmp_path = sweep_run
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved == res
    assert set(res) == RECORD_KEYS
    assert res["experiment"] == "curve" and res["interrupted"] is False
    assert res["config"] == json.loads(json.dumps(dataclasses.asdict(cfg)))
    assert res["seeds"] == [
        {"field": "target_seed", "value": 0},
        {"field": "data_seed", "value": 0},
        {"field": "seeds", "value": [0]},
        {"field": "sweep_seeds", "value": [0]},
    ]
    assert res["files"] == {
        "json": "result.json",
        "ray": "ray.png",
        "curve": "curve.png",
        "r2_histogram": "r2_histogram.png",
        "width_sweep": "width_sweep.png",
    }
    for name in ("ray", "curve", "r2_histogram", "width_sweep"):
        png = (tmp_path / res["files"][name]).read_bytes()
        assert png[:8] == PNG and len(png) > 10_000  # a real plot, not an empty file
    # wall times only under "timings", one per stage
    assert set(res["timings"]) == {
        "data_s",
        "ntk_s",
        "finite_s",
        "width_sweep_s",
        "plot_s",
        "total_s",
    }
    m = res["metrics"]
    assert set(m) == METRIC_KEYS
    assert m["test_set"]["excluded_inside_support"] is True
    assert m["test_set"]["n"] == 128 and m["test_set"]["n_inside"] == 0
    assert m["rays"]["length"] == 50.0 and m["rays"]["n_points"] == 20

    # The NTK predictor's numbers equal an independent fit on the same data.
    x, y, tests, y_test = _data(cfg)
    model = ntkx.kernel_regression(ntkx.mlp(depth=2, b_std=1.0), x, y, dtype="float64")
    expected = error_report(y_test, model.predict(tests.x))
    ntk = m["ntk"]
    assert ntk["errors"]["mse"] == pytest.approx(expected.mse, rel=1e-10)
    assert ntk["errors"]["mape_median_per_batch"] == pytest.approx(
        expected.mape_median_per_batch, rel=1e-10
    )
    assert ntk["diagnostics"]["kernel_method"] == "closed_form"
    assert ntk["diagnostics"]["n_train"] == 64
    # NTK with bias: linear far out along rays (Theorem 1), not trivially (bias present)
    assert ntk["linearity_origin"]["median"] > 0.99
    assert ntk["linearity_origin"]["trivially_linear"] is False
    assert len(ntk["linearity_origin"]["r2"]) == 30
    assert sum(ntk["curve"]["counts"]) == 128
    assert all(s["exponent"] is None or s["exponent"] > 0 for s in ntk["slope_convergence"])

    # The finite network: its ray predictions and summary agree with its own entry.
    (fin,) = m["finite"]
    assert (fin["width"], fin["seed"], fin["learning_rate"]) == (32, 0, 0.01)
    net = ntkx.mlp(depth=2, width=32, b_std=1.0)
    trained = ntkx.train_adam(
        net,
        net.init(jax.random.key(0), 3),
        x,
        y,
        key=jax.random.key(10_000),
        learning_rate=0.01,
        epochs=5,
        batch_size=64,
        weight_decay=1e-5,
        lr_halving_every=50,
    )
    assert fin["losses"] == pytest.approx(trained.losses.tolist(), rel=1e-6)
    pred = np.asarray(net.apply(trained.params, tests.x))[:, 0].astype(np.float64)
    assert fin["errors"]["mse"] == pytest.approx(error_report(y_test, pred).mse, rel=1e-5)
    assert m["finite_summary"] == {
        "32": {
            "n_seeds": 1,
            "median_r2_origin": [fin["linearity_origin"]["median"]],
            "median_r2_off_origin": [fin["linearity_off_origin"]["median"]],
            "mape_median_per_batch": [fin["errors"]["mape_median_per_batch"]],
            "mape_mean": [fin["errors"]["mape_mean"]],
            "mse": [fin["errors"]["mse"]],
        }
    }
    ray = m["ray_example"]
    assert ray["rays"] == "origin"  # with bias the origin rays are informative
    assert list(ray["predictions"]) == ["NTK predictor", "width 32 seed 0"]
    assert len(ray["t"]) == len(ray["target"]) == 20

    # The width sweep's learning rate is half the NTK stability limit on its own data.
    sweep = m["width_sweep"]
    geom = cfg.make_geometry()
    xs = geom.sample(16, seed=101)
    k = ntkx.kernel(cfg.spec(1), xs, dtype="float64")
    assert sweep["learning_rate"] == pytest.approx(0.5 * stable_learning_rate(k), rel=1e-12)
    assert sweep["widths"] == [32, 512] and sweep["n_train"] == 16
    assert np.shape(sweep["relative_gap"]["off_support"]) == (1, 2)
    assert sweep["mean_relative_gap"]["off_support"] == sweep["relative_gap"]["off_support"][0]


def test_same_config_gives_identical_json_apart_from_timings(
    sweep_run: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    first, first_dir = sweep_run
    second = run_curve(SWEEP, tmp_path, progress=False)
    texts = [(d / "result.json").read_text() for d in (first_dir, tmp_path)]
    # "timings" is the last key of the sorted file: everything before it is byte-identical
    before = [t.split('"timings"')[0] for t in texts]
    assert before[0] == before[1]
    assert '"metrics"' in before[0] and '"width_sweep"' in before[0]
    assert first["metrics"]["finite"][0]["losses"] == second["metrics"]["finite"][0]["losses"]
    assert "seconds" not in first["metrics"] and '"seconds"' not in before[0]
    assert list(json.loads(texts[1]))[-1] == "timings"


def test_curve_main_cli_bias_free_relu_ntk_is_exactly_linear_through_origin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["--out", str(out), "--target", "l1", "--geometry", "cube", "--dim", "3"]
    argv += ["--n-train", "64", "--n-test", "128", "--n-rays", "30", "--ray-points", "20"]
    argv += ["--bins", "4", "--b-std", "None", "--widths", "--seeds", "0", "1"]
    argv += ["--learning-rate", "0.002", "--lr-halving-every", "None", "--no-exclude-support"]
    assert curve_main([*argv, "--quiet"]) == 0
    assert capsys.readouterr().out == f"ntkx curve: wrote {out / 'result.json'}\n"
    record = json.loads((out / "result.json").read_text())
    config = record["config"]
    assert (config["target"], config["geometry"], config["dim"]) == ("l1", "cube", 3)
    assert (config["widths"], config["seeds"], config["b_std"]) == ([], [0, 1], None)
    assert (config["learning_rate"], config["lr_halving_every"]) == (0.002, None)
    assert config["exclude_support"] is False and config["n_train"] == 64
    assert record["metrics"]["test_set"]["excluded_inside_support"] is False
    assert sorted(record["files"]) == ["curve", "json", "r2_histogram", "ray"]

    # positive homogeneity: f(t v) = t f(v), so R^2 = 1 to rounding and the flag is set
    m = record["metrics"]
    assert m["positively_homogeneous"] is True
    lin = m["ntk"]["linearity_origin"]
    assert lin["trivially_linear"] is True
    assert min(lin["r2"]) > 1 - 1e-9
    assert m["ntk"]["linearity_off_origin"]["trivially_linear"] is False
    # the slope along a ray through the origin is exact: no gap above rounding
    assert all(s["exponent"] is None for s in m["ntk"]["slope_convergence"])
    assert m["finite"] == [] and m["finite_summary"] == {} and m["width_sweep"] is None
    assert m["ray_example"]["rays"] == "off_origin"  # origin rays are trivially linear

    # The plots are made from the metrics alone: a saved result.json can be re-plotted.
    again = tmp_path / "replot"
    again.mkdir()
    files = CURVE.plot(record["metrics"], RunContext("curve", again, progress=False))
    assert sorted(Path(p).name for p in files.values()) == [
        "curve.png",
        "r2_histogram.png",
        "ray.png",
    ]
    assert (again / "ray.png").read_bytes()[:8] == PNG


def test_curve_main_help_and_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert curve_main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--n-train", "--no-exclude-support", "--learning-rate", "--b-std", "--W-std"):
        assert flag in text, flag
    assert "--sweep-widths" in text and "--out" in text and "--quiet" in text
    out = tmp_path / "bad"
    assert curve_main(["--out", str(out), "--test-radius", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "ntkx curve: error: test_radius=0.5 is not allowed" in err
    assert "Traceback" not in err
    assert curve_main(["--out", str(out), "--lr", "0.1"]) == 2  # the old flag name is gone
    assert curve_main(["--out", str(out), "--widths", "64", "0"]) == 2
    assert "widths entry=0 is not allowed" in capsys.readouterr().err
    assert not (out / "result.json").exists()


def test_interrupt_keeps_finished_networks(tmp_path: Path, monkeypatch: Any) -> None:
    calls = []
    real = curve_module.train_adam

    def train_then_interrupt(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["key"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(curve_module, "train_adam", train_then_interrupt)
    cfg = dataclasses.replace(SWEEP, seeds=(0, 1))  # compiled functions shared with SWEEP
    with pytest.raises(KeyboardInterrupt):
        run_curve(cfg, tmp_path, progress=False)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["interrupted"] is True
    m = record["metrics"]
    assert [(e["width"], e["seed"]) for e in m["finite"]] == [(32, 0)]  # the finished one
    assert m["ntk"]["diagnostics"]["n_train"] == 64
    assert list(m["ray_example"]["predictions"]) == ["NTK predictor", "width 32 seed 0"]
    assert "finite_summary" not in m and "width_sweep" not in m
    assert record["files"] == {"json": "result.json"}
    assert len(calls) == 2
    # --resume trains only the unfinished network, and the record equals an uninterrupted
    # run's apart from timings (and files: the uninterrupted run here writes none)
    trained = []
    monkeypatch.setattr(
        curve_module, "train_adam", lambda *a, **kw: trained.append(kw["key"]) or real(*a, **kw)
    )
    resumed = run_curve(cfg, tmp_path, progress=False, resume=True)
    assert len(trained) == 1  # seed 1 only
    monkeypatch.setattr(curve_module, "train_adam", real)
    assert json.loads((tmp_path / "result.json").read_text()) == resumed
    assert not (tmp_path / "partial.json").exists()
    whole = run_curve(cfg, progress=False)
    drop = ("timings", "files")
    assert {k: v for k, v in resumed.items() if k not in drop} == {
        k: v for k, v in whole.items() if k not in drop
    }


def test_width_sweep_without_runner_matches_its_own_gaps() -> None:
    cfg = dataclasses.replace(SWEEP, sweep_widths=(32,), sweep_seeds=(0, 1))
    res = width_sweep(cfg, progress=False)
    gaps = np.asarray(res["relative_gap"]["on_support"])
    assert gaps.shape == (2, 1)
    assert res["mean_relative_gap"]["on_support"] == pytest.approx([gaps.mean()], rel=1e-12)
    assert res["fitted"] == {"on_support": None, "off_support": None}  # one width: no fit
    assert res["time"] == pytest.approx(30 * res["learning_rate"], rel=1e-12)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="target='sin'"):
        CurveConfig(target="sin")
    with pytest.raises(ValueError, match="positive orthant"):
        CurveConfig(target="sqrt", geometry="negd")
    with pytest.raises(ValueError, match="widths"):
        CurveConfig(widths=(64, 0))
    with pytest.raises(ValueError, match="seeds"):
        CurveConfig(seeds=())
    with pytest.raises(ValueError, match=r"test_radius=1\.0 is not allowed"):
        CurveConfig(test_radius=1.0)
    cfg = CurveConfig(widths=[4, np.int64(8)], train_radius=2)  # normalized, still frozen
    assert cfg.widths == (4, 8) and cfg.train_radius == 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.dim = 3  # type: ignore[misc]


def test_fit_power_law_recovers_exponent() -> None:
    w = np.array([64.0, 256.0, 1024.0])
    fit = fit_power_law(w, 3.0 * w**-0.5)
    assert fit["exponent"] == pytest.approx(0.5) and fit["prefactor"] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="at least two positive finite points"):
        fit_power_law([1.0], [1.0])


def test_finite_network_gd_trainer_uses_half_the_stability_limit() -> None:
    cfg = dataclasses.replace(SWEEP, trainer="gd", gd_steps=4, sweep_widths=())
    m = run_curve(cfg, progress=False)["metrics"]
    x, _, _, _ = _data(cfg)
    k = ntkx.kernel(cfg.spec(32), x, dtype="float64")
    assert m["finite"][0]["learning_rate"] == pytest.approx(
        0.5 * stable_learning_rate(k), rel=1e-12
    )
    assert len(m["finite"][0]["losses"]) == 5  # steps 0..4, every step recorded
    assert np.isfinite(m["finite"][0]["errors"]["mse"])


def _external(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    x, xt = rng.normal(size=(64, 3)), 3 * rng.normal(size=(128, 3))
    arrays = {
        "x_train": x,
        "y_train": (x**2).sum(1) + 1,
        "x_test": xt,
        "y_test": (xt**2).sum(1) + 1,
    }
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path, arrays


def test_curve_external_data_torch_init_no_kernel_and_eval_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, arr = _external(tmp_path)
    out = tmp_path / "run"
    argv = ["--out", str(out), "--data", str(path), "--dim", "3", "--no-kernel", "--quiet"]
    argv += ["--parameterization", "standard", "--init", "torch", "--b-std", "0"]
    argv += ["--widths", "16", "--seeds", "0", "--epochs", "4", "--eval-epochs", "0", "4"]
    argv += ["--learning-rate", "0.001", "--drop-last", "--n-rays", "10", "--ray-points", "10"]
    assert curve_main(argv) == 0
    record = json.loads((out / "result.json").read_text())
    m, cfg = record["metrics"], record["config"]
    assert (cfg["init"], cfg["parameterization"], cfg["kernel"]) == ("torch", "standard", False)
    assert m["ntk"] is None and m["target"] == {"name": "file", "data": str(path)}
    assert m["test_set"]["n"] == 128 and m["ray_example"]["target"] is None
    (entry,) = m["finite"]
    assert entry["gap_to_ntk_off_support"] is None
    # Reference 1: the same network trained directly on the file's arrays (documented seeds:
    # init key(seed), shuffling key(10000 + seed)) gives the reported test MSE (float32: 1e-5).
    net = ntkx.mlp(width=16, b_std=0.0, parameterization="standard", init="torch")
    p0 = net.init(jax.random.key(0), 3)
    res = ntkx.train_adam(
        net,
        p0,
        arr["x_train"],
        arr["y_train"],
        key=jax.random.key(10_000),
        learning_rate=1e-3,
        epochs=4,
        drop_last=True,
    )
    pred = np.asarray(net.apply(res.params, arr["x_test"]))[:, 0]
    mse = np.mean((pred - arr["y_test"]) ** 2)
    assert entry["errors"]["mse"] == pytest.approx(mse, rel=1e-5)
    # Reference 2: the history at epoch 0 is the initial network's test error, written out in
    # NumPy (relu(x W1 + b1) W2 + b2 with the torch-init weights); epoch 4 is the final one.
    (w1, b1), (w2, b2) = ([np.asarray(a, np.float64) for a in p0[i]] for i in (0, 2))
    f0 = (np.maximum(arr["x_test"] @ w1 + b1, 0) @ w2 + b2)[:, 0]
    h0, h4 = entry["history"]
    assert (h0["epoch"], h4["epoch"]) == (0, 4)
    assert h0["test_mse"] == pytest.approx(np.mean((f0 - arr["y_test"]) ** 2), rel=1e-5)
    assert h4["test_mse"] == pytest.approx(mse, rel=1e-5)
    ape = np.sort((np.abs(pred - arr["y_test"]) / arr["y_test"]).reshape(2, 64), axis=1)
    assert h4["test_mape_median_per_batch"] == pytest.approx(100 * ape[:, 31].mean(), rel=1e-4)
    assert sorted(record["files"]) == ["curve", "json", "r2_histogram", "ray"]


def test_curve_external_data_and_init_are_validated_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, arr = _external(tmp_path)
    out = tmp_path / "run"
    base = ["--out", str(out), "--dim", "3", "--quiet"]
    bad = tmp_path / "bad.npz"
    cases = [
        ({k: v for k, v in arr.items() if k != "y_test"}, r"lacks \['y_test'\]"),
        (dict(arr, x_test=arr["x_test"][:, :2]), r"x_test has shape \(128, 2\); expected"),
        (dict(arr, y_train=arr["y_train"].astype(str)), r"y_train has dtype <U"),
        (dict(arr, y_test=arr["y_test"][:5]), r"x_test has 128 rows but y_test has 5"),
        (dict(arr, x_train=np.where(arr["x_train"] > 2, np.nan, arr["x_train"])), "non-finite"),
    ]
    for arrays, pattern in cases:
        np.savez(bad, **arrays)
        assert curve_main([*base, "--data", str(bad)]) == 2
        err = capsys.readouterr().err
        assert "ntkx curve: error: data=" in err and re.search(pattern, err), (pattern, err)
    assert curve_main([*base, "--data", str(tmp_path / "missing.npz")]) == 2
    assert "missing.npz" in capsys.readouterr().err
    assert curve_main([*base, "--data", str(path), "--init", "torch"]) == 2
    err = capsys.readouterr().err
    assert "init='torch' with parameterization='ntk'" in err
    assert curve_main([*base, "--eval-epochs", "999"]) == 2
    assert "eval_epochs contains 999" in capsys.readouterr().err
    assert not out.exists()
