"""Tests of ntkx.runner: generated flags, exit codes, result.json schema, determinism, Ctrl-C."""

from __future__ import annotations

import dataclasses
import doctest
import json
import math
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ntkx
import ntkx.runner
from ntkx.core.validation import check_choice, check_positive_int
from ntkx.runner import (
    Experiment,
    RunContext,
    cli_main,
    run_experiment,
    save_json,
    to_jsonable,
)

MODES = ("sum", "max")


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    """A toy configuration for the runner tests."""

    n_train: int = 3
    """number of training points"""
    scale: float = 1.5
    b_std: float | None = 1.0
    widths: tuple[int, ...] = (4,)
    shuffle: bool = True
    mode: str = "sum"
    seed: int = 0
    data_seeds: tuple[int, ...] = (1, 2)

    def __post_init__(self) -> None:
        check_positive_int("n_train", self.n_train)
        check_choice("mode", self.mode, MODES)
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))


calls: list[ToyConfig] = []


def toy_run(config: ToyConfig, ctx: RunContext) -> dict[str, Any]:
    calls.append(config)
    with ctx.stage("compute"):
        values = np.random.default_rng(config.seed).normal(size=config.n_train) * config.scale
    ctx.log("computed")
    reduce = np.sum if config.mode == "sum" else np.max
    return {
        "values": values,
        "reduced": reduce(values),
        "widths": config.widths,
        "b_std": config.b_std,
        "condition": np.float64(np.inf),
    }


def toy_plot(metrics: dict[str, Any], ctx: RunContext) -> dict[str, str]:
    assert ctx.out_dir is not None
    path = ctx.out_dir / "values.png"
    path.write_bytes(b"not really a png")
    return {"values": str(path)}


TOY = Experiment("toy", ToyConfig, toy_run, toy_plot)


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    calls.clear()


def _expected_values(seed: int, n: int, scale: float) -> list[float]:
    return (np.random.default_rng(seed).normal(size=n) * scale).tolist()


# ----------------------------------------------------------------------------- CLI


def test_cli_generates_flags_from_config_fields(tmp_path: Path) -> None:
    argv = ["--out", str(tmp_path), "--n-train", "5", "--widths", "1", "2", "--b-std", "None"]
    argv += ["--no-shuffle", "--mode", "max", "--scale", "0.25", "--seed", "3", "--quiet"]
    assert cli_main(TOY, argv) == 0
    expected = ToyConfig(
        n_train=5, scale=0.25, b_std=None, widths=(1, 2), shuffle=False, mode="max", seed=3
    )
    assert calls == [expected]
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["config"] == {
        "n_train": 5,
        "scale": 0.25,
        "b_std": None,
        "widths": [1, 2],
        "shuffle": False,
        "mode": "max",
        "seed": 3,
        "data_seeds": [1, 2],
    }
    assert record["metrics"]["reduced"] == pytest.approx(max(_expected_values(3, 5, 0.25)))


def test_cli_defaults_and_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(TOY, ["--out", str(tmp_path / "new" / "dir"), "--quiet"]) == 0
    assert calls == [ToyConfig()]
    out, err = capsys.readouterr()
    assert err == ""  # --quiet: no log lines, no progress bars
    assert out == f"ntkx toy: wrote {tmp_path / 'new' / 'dir' / 'result.json'}\n"


def test_cli_logs_progress_without_quiet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(TOY, ["--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "[ntkx toy" in err
    assert "computed" in err


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(TOY, ["--help"]) == 0
    text = capsys.readouterr().out
    assert "usage: ntkx toy" in text
    for flag in ("--out", "--quiet", "--n-train", "--widths", "--b-std", "--no-shuffle", "--mode"):
        assert flag in text, flag
    assert "--out.out" not in text and "--config." not in text  # no prefixes
    assert "number of training points" in text  # field docstring becomes help
    assert "A toy configuration for the runner tests." in text
    assert calls == []


def test_cli_bad_value_reports_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(TOY, ["--out", str(tmp_path), "--mode", "mean"]) == 2
    err = capsys.readouterr().err
    assert "ntkx toy: error: mode='mean' is not allowed; expected one of ['max', 'sum']." in err
    assert "Traceback" not in err
    assert calls == []
    assert not (tmp_path / "result.json").exists()


def test_cli_bad_value_n_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(TOY, ["--out", str(tmp_path), "--n-train", "0"]) == 2
    assert "ntkx toy: error: n_train=0 is not allowed" in capsys.readouterr().err
    assert calls == []


@pytest.mark.parametrize(
    "extra", [["--n-train", "abc"], ["--b-std", "big"], ["--bogus", "1"], []], ids=str
)
def test_cli_parse_errors_exit_2(tmp_path: Path, extra: list[str]) -> None:
    argv = extra if not extra else ["--out", str(tmp_path), *extra]  # [] lacks --out
    assert cli_main(TOY, argv) == 2
    assert calls == []


def test_cli_unwritable_out_exits_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert cli_main(TOY, ["--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ntkx toy: error: --out={str(blocker / 'sub')!r} is not allowed")
    assert "Traceback" not in err
    assert calls == []
    with pytest.raises(ValueError, match=r"out_dir=.* is not allowed"):
        run_experiment(TOY, ToyConfig(), blocker / "sub", progress=False)
    assert calls == []


# ----------------------------------------------------------------------------- result.json


def test_result_schema(tmp_path: Path) -> None:
    config = ToyConfig(seed=7, n_train=4)
    record = run_experiment(TOY, config, tmp_path, progress=False)
    text = (tmp_path / "result.json").read_text()
    assert json.loads(text) == record
    assert list(json.loads(text)) == sorted(record)  # keys sorted in the file
    assert set(record) == {
        "experiment",
        "schema",
        "interrupted",
        "config",
        "seeds",
        "environment",
        "metrics",
        "files",
        "timings",
    }
    assert record["experiment"] == "toy"
    assert record["schema"] == 1
    assert record["interrupted"] is False
    assert record["config"]["widths"] == [4]
    assert record["seeds"] == [
        {"field": "seed", "value": 7},
        {"field": "data_seeds", "value": [1, 2]},
    ]
    env = record["environment"]
    assert env["numpy"] == np.__version__
    assert env["jax"] == jax.__version__
    assert env["ntkx"] == ntkx.__version__
    assert env["jax_backend"] == jax.default_backend()
    assert env["jax_device_count"] == jax.device_count()
    assert env["jax_enable_x64"] is bool(jax.config.read("jax_enable_x64"))
    assert {"python", "platform", "jaxlib"} <= set(env)
    values = _expected_values(7, 4, 1.5)
    assert record["metrics"] == {
        "values": pytest.approx(values),
        "reduced": pytest.approx(sum(values)),
        "widths": [4],
        "b_std": 1.0,
        "condition": "inf",
    }
    assert record["files"] == {"json": "result.json", "values": "values.png"}
    assert (tmp_path / "values.png").read_bytes() == b"not really a png"
    assert set(record["timings"]) == {"total_s", "compute_s", "plot_s"}
    assert all(isinstance(v, float) and v >= 0 for v in record["timings"].values())
    assert record["timings"]["total_s"] >= record["timings"]["compute_s"]


def test_without_out_dir_nothing_is_written(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    record = run_experiment(TOY, ToyConfig(), progress=False)
    assert record["files"] == {}
    assert "plot_s" not in record["timings"]  # plot needs an output directory
    assert list(tmp_path.iterdir()) == []


def test_same_config_gives_identical_json_apart_from_timings(tmp_path: Path) -> None:
    config = ToyConfig(seed=11, n_train=6, widths=(3, 5))
    texts = []
    for name in ("a", "b"):
        run_experiment(TOY, config, tmp_path / name, progress=False)
        texts.append((tmp_path / name / "result.json").read_text())
    assert texts[0] != texts[1]  # the timings differ ...
    before = [t.split('"timings"')[0] for t in texts]  # "timings" is the last key
    assert before[0] == before[1]  # ... and nothing else, byte for byte
    assert '"metrics"' in before[0] and '"seeds"' in before[0]
    other = run_experiment(TOY, dataclasses.replace(config, seed=12), tmp_path / "c")
    assert other["metrics"]["values"] != json.loads(texts[0])["metrics"]["values"]


# ----------------------------------------------------------------------------- Ctrl-C


def interrupted_run(config: ToyConfig, ctx: RunContext) -> dict[str, Any]:
    calls.append(config)
    for unit in ctx.progress(range(5), desc="units"):
        if unit == 2:
            raise KeyboardInterrupt
        ctx.checkpoint(f"unit_{unit}", {"value": np.float32(unit + 0.5), "arr": np.arange(unit)})
    raise AssertionError("not reached")


INTERRUPTED = Experiment("toy", ToyConfig, interrupted_run, toy_plot)


def test_cli_interrupt_writes_partial_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(INTERRUPTED, ["--out", str(tmp_path), "--quiet"]) == 130
    err = capsys.readouterr().err
    path = tmp_path / "result.json"
    assert err.strip().splitlines() == [  # one line: what was kept, where, how to go on
        f"ntkx toy: interrupted after 0.0 s; kept unit_0, unit_1 in {path}; continue with --resume"
    ]
    assert "Traceback" not in err
    record = json.loads(path.read_text())
    assert record["interrupted"] is True
    assert record["metrics"] == {
        "unit_0": {"value": 0.5, "arr": []},
        "unit_1": {"value": 1.5, "arr": [0]},
    }
    assert record["config"]["n_train"] == 3
    assert record["files"] == {"json": "result.json"}  # no plot after an interrupt
    assert not (tmp_path / "values.png").exists()


def test_run_experiment_reraises_interrupt(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        run_experiment(INTERRUPTED, ToyConfig(), tmp_path, progress=False)
    assert json.loads((tmp_path / "result.json").read_text())["metrics"]["unit_1"]["value"] == 1.5


# ----------------------------------------------------------------------------- resume

units_done: list[int] = []
interrupt_at: list[int] = []  # unit index at which the next run raises KeyboardInterrupt


def unit_run(config: ToyConfig, ctx: RunContext) -> dict[str, Any]:
    """Five units of seeded work; each checkpointed, each skipped when restored."""
    out = []
    for unit in ctx.progress(range(5), desc="units"):
        kept = ctx.restore(f"unit_{unit}")
        if kept is None:
            if interrupt_at and unit == interrupt_at[0]:
                interrupt_at.clear()
                raise KeyboardInterrupt
            units_done.append(unit)
            rng = np.random.default_rng([config.seed, unit])
            kept = {"unit": unit, "value": rng.normal() / 3.0}  # a float that must round-trip
            ctx.checkpoint(f"unit_{unit}", kept)
        out.append(kept)
    return {"units": out}


UNITS = Experiment("units", ToyConfig, unit_run)


def test_partial_json_is_written_after_each_unit(tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def watching(config: ToyConfig, ctx: RunContext) -> dict[str, Any]:
        for unit in range(3):
            ctx.checkpoint(f"u{unit}", unit)
            kept = json.loads((tmp_path / "partial.json").read_text())
            assert kept["config"] == to_jsonable(dataclasses.asdict(config))
            seen.append(sorted(kept["metrics"]))
        return {"n": 3}

    run_experiment(Experiment("watch", ToyConfig, watching), ToyConfig(), tmp_path, progress=False)
    assert seen == [["u0"], ["u0", "u1"], ["u0", "u1", "u2"]]
    assert not (tmp_path / "partial.json").exists()  # a finished run leaves only result.json
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path: Path) -> None:
    config = ToyConfig(seed=7)
    units_done.clear()
    full = run_experiment(UNITS, config, tmp_path / "full", progress=False)
    assert units_done == [0, 1, 2, 3, 4]
    units_done.clear()
    interrupt_at[:] = [3]
    assert cli_main(UNITS, ["--out", str(tmp_path / "cut"), "--quiet", "--seed", "7"]) == 130
    assert units_done == [0, 1, 2]
    cut = json.loads((tmp_path / "cut" / "result.json").read_text())
    assert cut["interrupted"] is True and sorted(cut["metrics"]) == ["unit_0", "unit_1", "unit_2"]
    units_done.clear()
    argv = ["--out", str(tmp_path / "cut"), "--quiet", "--seed", "7", "--resume"]
    assert cli_main(UNITS, argv) == 0
    assert units_done == [3, 4]  # only the units the interrupted run had not finished
    resumed = json.loads((tmp_path / "cut" / "result.json").read_text())
    drop = ("timings", "files")
    assert {k: v for k, v in resumed.items() if k not in drop} == {
        k: v for k, v in full.items() if k not in drop
    }
    assert not (tmp_path / "cut" / "partial.json").exists()


def test_resume_refuses_what_it_cannot_continue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(UNITS, ["--out", str(tmp_path / "new"), "--quiet", "--resume"]) == 2
    assert "--resume is not allowed: there is no" in capsys.readouterr().err
    run_experiment(UNITS, ToyConfig(), tmp_path / "done", progress=False)
    assert cli_main(UNITS, ["--out", str(tmp_path / "done"), "--quiet", "--resume"]) == 2
    assert "result.json is a finished run" in capsys.readouterr().err
    interrupt_at[:] = [1]
    with pytest.raises(KeyboardInterrupt):
        run_experiment(UNITS, ToyConfig(seed=1), tmp_path / "cut", progress=False)
    argv = ["--out", str(tmp_path / "cut"), "--quiet", "--resume", "--seed", "2"]
    assert cli_main(UNITS, argv) == 2
    err = capsys.readouterr().err
    assert "was written for another config (seed: 1 -> 2)" in err and "Traceback" not in err
    with pytest.raises(ValueError, match="resume=True is not allowed without out_dir"):
        run_experiment(UNITS, ToyConfig(), resume=True)
    with pytest.raises(ValueError, match="written by experiment 'units'"):
        run_experiment(TOY, ToyConfig(seed=1), tmp_path / "cut", resume=True)


class _InterruptOnDelete:
    def __del__(self) -> None:
        raise KeyboardInterrupt  # as a Ctrl-C landing in a finaliser: Python only prints it


def test_interrupt_swallowed_by_a_finaliser_still_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(config: ToyConfig, ctx: RunContext) -> dict[str, Any]:
        for unit in ctx.progress(range(4)):
            if unit == 1:
                _InterruptOnDelete()  # deleted at once; its KeyboardInterrupt is unraisable
            ctx.checkpoint(f"unit_{unit}", unit)
        return {"done": True}

    experiment = Experiment("fin", ToyConfig, run)
    assert cli_main(experiment, ["--out", str(tmp_path), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "Exception ignored" not in err and "Traceback" not in err
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["metrics"] == {"unit_0": 0, "unit_1": 1}  # stopped at unit 1's checkpoint


_SIGINT_SCRIPT = """
import dataclasses, sys, time
from ntkx.runner import Experiment, cli_main

@dataclasses.dataclass(frozen=True)
class C:
    units: int = 20_000  # 1,000 s: the run cannot finish before the test's Ctrl-C, even when a
    # loaded machine delays the test process by seconds (50 units once finished first)

def run(config, ctx):
    for unit in ctx.progress(range(config.units)):
        time.sleep(0.05)
        ctx.checkpoint(f"unit_{unit}", unit)
    return {}

sys.exit(cli_main(Experiment("slow", C, run), sys.argv[1:]))
"""


def test_real_ctrl_c_exits_130_with_one_line(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [sys.executable, "-c", _SIGINT_SCRIPT, "--out", str(tmp_path), "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    partial = tmp_path / "partial.json"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
            partial.exists() and "unit_2" in partial.read_text()
        ):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGINT)
        os.kill(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C can arrive twice (uv forwards)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # never leave the 1,000 s child behind a failed test
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "ntkx slow: interrupted after" in lines[0], err
    assert "continue with --resume" in lines[0]
    kept = json.loads((tmp_path / "result.json").read_text())["metrics"]
    assert {f"unit_{i}" for i in range(3)} <= set(kept)


# ----------------------------------------------------------------------------- RunContext


def test_checkpoint_snapshots_value() -> None:
    ctx = RunContext("toy", progress=False)
    data = [1, 2]
    ctx.checkpoint("u", data)
    data.append(3)
    assert ctx.partial == {"u": [1, 2]}


def test_stage_accumulates_and_rejects_total() -> None:
    ctx = RunContext("toy", progress=False)
    for _ in range(2):
        with ctx.stage("fit"):
            pass
    assert list(ctx.timings) == ["fit_s"]
    with pytest.raises(ValueError, match="name='total' is not allowed"), ctx.stage("total"):
        pass


def test_log_and_progress(capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    loud = RunContext("toy", progress=True)
    assert list(loud.progress(range(2), desc="units")) == [0, 1]
    assert capsys.readouterr().err == ""  # captured stderr is not a terminal: no bar frames
    monkeypatch.setenv("NTKX_PROGRESS", "always")
    quiet = RunContext("toy", progress=False)
    quiet.log("hidden")
    assert list(quiet.progress(iter([1, 2, 3]), desc="q", total=3)) == [1, 2, 3]
    assert capsys.readouterr().err == ""
    loud = RunContext("toy", progress=True)
    loud.log("shown")
    assert list(loud.progress(range(2), desc="units")) == [0, 1]
    err = capsys.readouterr().err
    assert "[ntkx toy" in err and "s] shown" in err
    assert "units" in err and "2/2" in err


# ----------------------------------------------------------------------------- JSON helpers


class Pair(NamedTuple):
    a: int
    b: float


class Described:
    def describe(self) -> dict[str, Any]:
        return {"median": np.float64(0.25)}


@dataclasses.dataclass
class Point:
    x: float


def test_to_jsonable_conversions() -> None:
    obj = {
        "pair": Pair(1, 2.5),
        "described": Described(),
        "tuple": (np.int64(3), np.bool_(True)),
        "array": np.array([[1.0, 2.0]]),
        "jax": jnp.arange(3),
        "point": Point(0.5),
        "path": Path("a/b"),
        7: None,
    }
    assert to_jsonable(obj) == {
        "pair": {"a": 1, "b": 2.5},
        "described": {"median": 0.25},
        "tuple": [3, True],
        "array": [[1.0, 2.0]],
        "jax": [0, 1, 2],
        "point": {"x": 0.5},
        "path": "a/b",
        "7": None,
    }
    assert type(to_jsonable(np.int64(3))) is int
    with pytest.raises(ValueError, match=r"obj\['bad'\]\[1\] has type object"):
        to_jsonable({"bad": [1, object()]})


def test_non_finite_floats_become_strings(tmp_path: Path) -> None:
    obj = {"a": math.inf, "b": np.float32(-np.inf), "c": np.array([np.nan, 1.0]), "d": -0.0}
    assert to_jsonable(obj) == {"a": "inf", "b": "-inf", "c": ["nan", 1.0], "d": -0.0}
    path = save_json(tmp_path / "x.json", obj)
    assert path == tmp_path / "x.json"

    def reject(token: str) -> None:
        raise AssertionError(f"non-strict JSON token {token}")

    text = path.read_text()
    assert json.loads(text, parse_constant=reject) == {
        "a": "inf",
        "b": "-inf",
        "c": ["nan", 1.0],
        "d": -0.0,
    }
    assert text.index('"a"') < text.index('"b"') < text.index('"c"')
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temporary file left


# ----------------------------------------------------------------------------- validation


def test_experiment_validation() -> None:
    @dataclasses.dataclass
    class Mutable:
        n: int = 1

    @dataclasses.dataclass(frozen=True)
    class Clash:
        out: str = "x"

    with pytest.raises(ValueError, match="config_type=Mutable is not allowed; expected a frozen"):
        Experiment("m", Mutable, toy_run)
    with pytest.raises(ValueError, match=r"field\(s\) \['out'\].*reserved"):
        Experiment("c", Clash, toy_run)
    with pytest.raises(ValueError, match="config_type=1 is not allowed"):
        Experiment("i", 1, toy_run)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="name='' is not allowed"):
        Experiment("", ToyConfig, toy_run)
    with pytest.raises(ValueError, match="plot=3 is not allowed"):
        Experiment("p", ToyConfig, toy_run, 3)  # type: ignore[arg-type]


def test_run_experiment_rejects_wrong_config_type() -> None:
    with pytest.raises(ValueError, match="expected a ToyConfig"):
        run_experiment(TOY, {"n_train": 3}, progress=False)
    assert calls == []


def test_run_must_return_a_dict() -> None:
    bad = Experiment("bad", ToyConfig, lambda config, ctx: [1, 2])
    with pytest.raises(ValueError, match="returned list; expected a dict"):
        run_experiment(bad, ToyConfig(), progress=False)


def test_module_doctests() -> None:
    result = doctest.testmod(ntkx.runner)
    assert result.attempted >= 3
    assert result.failed == 0


def test_a_failing_plot_keeps_the_metrics(tmp_path: Path) -> None:
    def broken_plot(metrics: dict[str, Any], ctx: RunContext) -> dict[str, str]:
        raise RuntimeError("matplotlib fell over")

    experiment = Experiment("toy", ToyConfig, toy_run, broken_plot)
    with pytest.raises(RuntimeError, match="matplotlib fell over"):
        run_experiment(experiment, ToyConfig(), tmp_path, progress=False)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["interrupted"] is False and "values" in record["metrics"]  # computed, kept
