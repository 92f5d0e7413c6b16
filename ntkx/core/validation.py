"""Argument checks shared by every public entry point.

Each check raises :class:`ValueError` naming the argument, the bad value and what
is allowed, so that nothing downstream ever computes on NaN, on an empty array
or on mismatched shapes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "as_inputs",
    "as_targets",
    "check_choice",
    "check_finite_number",
    "check_out_dir",
    "check_positive_int",
]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_choice(name: str, value: Any, allowed: Collection[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise ValueError."""
    if value not in allowed:
        raise ValueError(
            f"{name}={_short(value)} is not allowed; expected one of {sorted(map(str, allowed))}."
        )
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` as a bool if it is ``True`` or ``False`` (NumPy's too), else raise
    ValueError: ``1``, ``0.0`` or ``"yes"`` compare equal to a bool or look like one, but a
    flag given as a number is more likely a misplaced argument than a choice."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name}={_short(value)} is not allowed; expected True or False.")
    return bool(value)


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}={_short(value)} is not allowed; expected a positive integer.")
    return int(value)


def check_nonnegative_int(name: str, value: Any, meaning: str = "") -> int:
    """Return ``value`` as an int if it is an integer ``>= 0``, else raise ValueError
    (``meaning``, e.g. ``"0: automatic"``, is added to the message)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        note = f" ({meaning})" if meaning else ""
        raise ValueError(f"{name}={_short(value)} is not allowed; expected an integer >= 0{note}.")
    return int(value)


def check_finite_number(
    name: str, value: Any, *, minimum: float | None = None, strict: bool = False
) -> float:
    """Return ``value`` as a float if finite (and ``>= minimum`` / ``> minimum``)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}={_short(value)} is not allowed; expected a real number."
        ) from None
    if not np.isfinite(number):
        raise ValueError(f"{name}={_short(value)} is not allowed; expected a finite real number.")
    if minimum is not None and (number <= minimum if strict else number < minimum):
        relation = ">" if strict else ">="
        raise ValueError(
            f"{name}={_short(value)} is not allowed; expected a real number {relation} {minimum}."
        )
    return number


def check_positive_range(name: str, value: Any) -> tuple[float, float]:
    """Return ``(low, high)`` as floats if ``value`` is a pair with ``0 < low <= high``, both
    finite, else raise ValueError naming ``name``, ``name[0]`` or ``name[1]``."""
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}={_short(value)} is not allowed; expected a (low, high) pair."
        ) from None
    lo = check_finite_number(f"{name}[0]", lo, minimum=0.0, strict=True)
    return lo, check_finite_number(f"{name}[1]", hi, minimum=lo)


def as_inputs(name: str, x: Any, *, dim: int | None = None) -> np.ndarray:
    """Check an input matrix: 2-D ``(n, d)``, ``n, d >= 1``, finite, real.

    Returns a float64 NumPy view/copy. ``dim`` (if given) is the required
    number of features.
    """
    try:
        arr = np.asarray(x)
    except Exception as err:  # pragma: no cover - exotic array-likes
        raise ValueError(f"{name} could not be converted to an array: {err}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise ValueError(f"{name} has dtype {arr.dtype}; expected a real numeric array.")
    if arr.ndim != 2:
        raise ValueError(
            f"{name} has shape {arr.shape}; expected a 2-D array of shape (n_points, n_features)."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} has shape {arr.shape}; expected at least one point and feature.")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(
            f"{name} has {arr.shape[1]} features (shape {arr.shape}); expected {dim} features "
            "to match the other inputs."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains {int(bad.sum())} non-finite value(s) (first at index {where}: "
            f"{arr[where]}); expected finite values only."
        )
    return arr


def as_targets(name: str, y: Any, n: int) -> np.ndarray:
    """Check regression targets: shape ``(n,)`` or ``(n, k)``, finite.

    Returns a 2-D float array ``(n, k)``.
    """
    arr = np.asarray(y)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] == 0:
        raise ValueError(
            f"{name} has shape {np.shape(y)}; expected ({n},) or ({n}, n_outputs) to match "
            f"the {n} training inputs."
        )
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name} has dtype {arr.dtype}; expected a real numeric array.")
    if not np.isfinite(arr).all():
        raise ValueError(
            f"{name} contains {int((~np.isfinite(arr)).sum())} non-finite value(s); "
            "expected finite values only."
        )
    return arr


def check_out_dir(name: str, path: str | os.PathLike[str]) -> Path:
    """Create the directory ``path`` if needed and check that a file can be written there.

    Called by every command before its computation, so that an unwritable output location
    fails at once (ValueError naming ``name``) instead of after the work.
    """
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise ValueError(
            f"{name}={os.fspath(path)!r} is not allowed: {err.strerror or err}; expected a "
            "directory that exists or can be created, and is writable."
        ) from None
    return out
