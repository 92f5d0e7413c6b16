"""Progress bars: one rule for every long stage of ntkx (kernel tiles, training, experiments).

A bar is a :class:`tqdm.tqdm` on stderr. It is shown only when it helps a person watching:

* ``enabled=False`` (``--quiet``): never;
* ``enabled=True``: when stderr is a terminal;
* ``enabled=None``: when stderr is a terminal and the stage has run for
  :data:`PROGRESS_DELAY` seconds (short calls stay silent).

On a non-terminal stderr (CI logs, ``2> file``, pipes) bars are off, so logs are not flooded
with carriage-return frames; ``NTKX_PROGRESS=always`` forces them on, ``NTKX_PROGRESS=never``
off (e.g. to watch a job through ``tail -f``).

Example:
    >>> from ntkx.core.progress import progress_bar
    >>> [i * i for i in progress_bar(range(3), desc="squares", enabled=False)]
    [0, 1, 4]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, Final

from tqdm import tqdm

__all__ = ["PROGRESS_DELAY", "progress_bar", "shows_progress"]

#: Seconds after which ``enabled=None`` starts showing a bar.
PROGRESS_DELAY: Final = 5.0
_ENV: Final = "NTKX_PROGRESS"
_ENV_VALUES: Final = ("always", "never", "auto", "")


def shows_progress(enabled: bool | None) -> bool:
    """Whether a bar asked for with ``enabled`` would be drawn (see the module docstring)."""
    if enabled is False:
        return False
    mode = os.environ.get(_ENV, "").strip().lower()
    if mode not in _ENV_VALUES:
        raise ValueError(
            f"{_ENV}={os.environ[_ENV]!r} is not allowed; expected one of 'always', 'never', "
            "'auto' (or unset)."
        )
    if mode == "always":
        return True
    if mode == "never":
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    enabled: bool | None = True,
    unit: str = "it",
) -> tqdm:
    """A tqdm bar on stderr that follows the rule of the module docstring.

    Args:
        iterable: wrapped iterable (or ``None`` and ``bar.update(k)`` by hand).
        total: number of steps (default ``len(iterable)`` where defined).
        desc: label in front of the bar.
        enabled: ``True`` / ``False`` / ``None`` (show after :data:`PROGRESS_DELAY` s).
        unit: the step's unit.
    """
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        disable=not shows_progress(enabled),
        delay=PROGRESS_DELAY if enabled is None else 0.0,
        file=sys.stderr,
        dynamic_ncols=True,
    )
