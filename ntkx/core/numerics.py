"""Numerics shared by every computation: dtypes, matmul precision, memory.

dtype: ``"float32"`` or ``"float64"``; ``None`` follows jax (float64 when
``jax_enable_x64`` is on). ``"float64"`` works without enabling x64 globally:
the computation runs inside ``jax.enable_x64(True)``.

Precision: kernel and solver code runs under
``jax.default_matmul_precision("highest")``, so that on GPUs float32 products
are not silently done in TF32 (measured on an H200: a 3.5e-3 relative error in
the float32 NTK, against 6.6e-5 on a CPU).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, Final

import jax
import numpy as np

from ntkx.core.validation import check_choice

__all__ = [
    "DTYPES",
    "MEMORY_FRACTION",
    "InsufficientMemoryError",
    "available_memory_bytes",
    "check_memory",
    "precision_context",
    "resolve_dtype",
]

DTYPES: Final = ("float32", "float64")
#: Fraction of the available memory a request may plan to use.
MEMORY_FRACTION: Final = 0.8


class InsufficientMemoryError(MemoryError, ValueError):
    """A request that cannot fit in memory (raised before any work starts)."""


def resolve_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """``None`` -> jax's default float; else check ``dtype`` is float32/float64."""
    if dtype is None:
        return np.dtype("float64" if jax.config.jax_enable_x64 else "float32")
    try:
        text = str(np.dtype(dtype))
    except TypeError:
        text = dtype
    check_choice(name, text, DTYPES)
    return np.dtype(text)


@contextlib.contextmanager
def precision_context(dtype: np.dtype) -> Iterator[None]:
    """Full-precision matmuls, and x64 enabled when ``dtype`` is float64."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(jax.default_matmul_precision("highest"))
        if dtype == np.float64 and not jax.config.jax_enable_x64:
            stack.enter_context(jax.enable_x64(True))
        yield


def available_memory_bytes() -> int:
    """Memory available to this process now (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")  # pragma: no cover


def check_memory(what: str, parts: dict[str, int], advice: str) -> None:
    """Raise :class:`InsufficientMemoryError` if ``sum(parts)`` bytes cannot fit.

    ``parts`` names each allocation (for the message); ``advice`` says what to do.
    """
    need = sum(parts.values())
    have = available_memory_bytes()
    if need > MEMORY_FRACTION * have:
        detail = " + ".join(f"{v / 2**30:.2f} GiB {k}" for k, v in parts.items())
        raise InsufficientMemoryError(
            f"{what} needs about {need / 2**30:.2f} GiB ({detail}) but only "
            f"{have / 2**30:.2f} GiB is available ({MEMORY_FRACTION:.0%} may be used). {advice}"
        )
