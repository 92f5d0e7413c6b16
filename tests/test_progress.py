"""Tests of ntkx.core.progress: when bars are drawn (terminal, --quiet, NTKX_PROGRESS)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from ntkx.core import progress
from ntkx.core.progress import progress_bar, shows_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "tty", "enabled", "shown"),
    [
        ("", True, True, True),
        ("", True, None, True),
        ("", True, False, False),  # --quiet wins over a terminal
        ("", False, True, False),  # a log file or pipe: no carriage-return frames
        ("always", False, True, True),
        ("always", True, False, False),  # --quiet wins over the environment too
        ("never", True, True, False),
        ("auto", True, True, True),
    ],
)
def test_when_bars_are_shown(
    monkeypatch: Any, env: str, tty: bool, enabled: bool | None, shown: bool
) -> None:
    monkeypatch.setenv("NTKX_PROGRESS", env)
    monkeypatch.setattr(progress, "PROGRESS_DELAY", 0.0)  # as if the stage had run for 5 s
    stream = _Terminal() if tty else io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    assert shows_progress(enabled) is shown
    assert list(progress_bar(range(3), desc="steps", enabled=enabled)) == [0, 1, 2]
    assert ("steps" in stream.getvalue() and "3/3" in stream.getvalue()) is shown


def test_delayed_bar_stays_silent_on_short_stages(monkeypatch: Any) -> None:
    monkeypatch.setattr("sys.stderr", _Terminal())
    monkeypatch.setattr(progress, "PROGRESS_DELAY", 3600.0)
    list(progress_bar(range(3), enabled=None))
    assert "3/3" not in progress.sys.stderr.getvalue()


def test_bad_environment_value(monkeypatch: Any) -> None:
    monkeypatch.setenv("NTKX_PROGRESS", "loud")
    with pytest.raises(ValueError, match=r"NTKX_PROGRESS='loud' is not allowed; expected one of"):
        shows_progress(True)


def test_conjugate_gradients_bar_reports_iterations_and_residual(monkeypatch: Any) -> None:
    """A forced bar over CG shows every iteration and the last relative residual; the iterate
    is the one without a bar (the bar only reads the loop's state)."""
    import numpy as np

    from ntkx.core.iterative import conjugate_gradients

    monkeypatch.setenv("NTKX_PROGRESS", "always")
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    a = np.diag([1.0, 2.0, 3.0, 4.0]) + 0.1
    b = np.ones((4, 1))
    shown = conjugate_gradients(lambda v: a @ v, b, progress=True)
    monkeypatch.setenv("NTKX_PROGRESS", "never")
    silent = conjugate_gradients(lambda v: a @ v, b, progress=True)
    text = stream.getvalue()
    assert "CG iterations" in text and f"{shown.iterations}/1000" in text
    assert f"residual {shown.history[-1]:.2e}" in text
    np.testing.assert_array_equal(shown.x, silent.x)
    assert shown.x.shape == (4, 1) and shown.residual <= 1e-8
