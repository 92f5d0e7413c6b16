"""Make neural-tangents 0.6.5 importable on current jax, without TensorFlow.

neural-tangents 0.6.5 (the last release; its repository is archived) was written
against jax 0.4. On jax >= 0.6 its import fails in three places, and
``import neural_tangents`` also imports the TensorFlow-only ``experimental``
subpackage. This module repairs exactly that, and nothing else:

1. ``neural_tangents.experimental`` is registered as an empty module in
   :data:`sys.modules` before neural-tangents is imported, so the package never
   imports TensorFlow or tf2jax (both excluded from the install by
   ``[tool.uv] override-dependencies`` in ``pyproject.toml``).
2. ``jax.core`` gets aliases for the names neural-tangents imports from it and
   that current jax keeps only in its private core: ``Jaxpr``, ``JaxprEqn``,
   ``Literal``, ``ShapedArray``, ``Value``, ``Var``, ``Primitive``,
   ``AbstractValue`` (and ``eval_context``, used by ``predict``).
3. The module ``jax.util`` (removed from jax's public API) is registered as an
   alias of jax's private ``jax._src.util`` (neural-tangents takes ``safe_map``
   and ``safe_zip`` from it).
4. ``jax.interpreters.ad.zeros_like_p`` and ``add_jaxvals_p``: neural-tangents
   only uses them as dictionary keys for the rules of empirical-NTK
   implementation 3 (structured derivatives). Where jax no longer defines them,
   inert placeholder primitives stand in. Implementation 3 fails on every jax
   and ntkx never selects it (:data:`SAFE_NTK_IMPLEMENTATIONS`).

Every patch only *adds* a missing name; an existing jax attribute is never
replaced. :func:`patched_names` lists what was added in this process, which the
tests check. Import neural-tangents through :func:`neural_tangents` (or import
``ntkx`` first), never directly.
"""

from __future__ import annotations

import importlib
import sys
import types

import jax
import jax.interpreters.ad as _ad
from jax._src import core as _private_core
from jax._src import util as _private_util

__all__ = ["SAFE_NTK_IMPLEMENTATIONS", "neural_tangents", "patched_names"]

#: Empirical-NTK implementations that work here: 1 (Jacobian contraction) and
#: 2 (NTK-vector products). Implementation 3 (structured derivatives) fails on
#: every jax release and must never be selected.
SAFE_NTK_IMPLEMENTATIONS: tuple[int, ...] = (1, 2)

_CORE_NAMES = (
    "Jaxpr",
    "JaxprEqn",
    "Literal",
    "ShapedArray",
    "Value",
    "Var",
    "Primitive",
    "AbstractValue",
    "eval_context",
)

_patched: list[str] = []


def _add(owner: object, name: str, value: object, label: str) -> None:
    if not hasattr(owner, name):
        setattr(owner, name, value)
        _patched.append(label)


def _apply() -> None:
    for name in _CORE_NAMES:
        _add(jax.core, name, getattr(_private_core, name), f"jax.core.{name}")
    if "jax.util" not in sys.modules:
        try:
            importlib.import_module("jax.util")
        except ImportError:
            sys.modules["jax.util"] = _private_util
            jax.util = _private_util  # type: ignore[attr-defined]
            _patched.append("jax.util")
    for name in ("zeros_like_p", "add_jaxvals_p"):
        _add(_ad, name, _private_core.Primitive(f"ntkx_placeholder_{name}"), f"ad.{name}")
    if "neural_tangents.experimental" not in sys.modules:
        stub = types.ModuleType(
            "neural_tangents.experimental",
            "Placeholder installed by ntkx._compat: the real subpackage needs TensorFlow.",
        )
        sys.modules["neural_tangents.experimental"] = stub
        _patched.append("neural_tangents.experimental")


_apply()
import neural_tangents as _nt  # noqa: E402  (must follow the patches above)


def neural_tangents() -> types.ModuleType:
    """Return the patched ``neural_tangents`` module."""
    return _nt


def patched_names() -> tuple[str, ...]:
    """Names this module added to jax (empty on a jax that still has them all)."""
    return tuple(_patched)
