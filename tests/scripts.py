"""Load a script of ``benchmarks/`` or ``examples/`` as a module, for the tests that run it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str, name: str | None = None) -> ModuleType:
    """Import ``ROOT / relative`` under ``name`` (default: the file's stem, prefixed ``ntkx_``).

    The module is registered in ``sys.modules`` before it runs: a dataclass defined in it looks
    its module up there.
    """
    path = ROOT / relative
    name = name or f"ntkx_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
