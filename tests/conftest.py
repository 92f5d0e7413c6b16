"""Shared test configuration.

Rank promotion raises for the whole session, so that no silent broadcasting of a ``(n,)`` against
an ``(n, 1)`` array can hide a shape bug. x64 is deliberately NOT enabled globally: float64
results must come from ntkx's own ``dtype="float64"`` option.
"""

from __future__ import annotations

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key() -> jax.Array:
    """A fixed PRNG key (new-style typed key)."""
    return jax.random.key(0)
