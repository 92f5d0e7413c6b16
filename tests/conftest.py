"""Shared test configuration.

Rank promotion raises for the whole session, so that no silent broadcasting of a ``(n,)`` against
an ``(n, 1)`` array can hide a shape bug. x64 is deliberately NOT enabled globally: float64
results must come from ntkx's own ``dtype="float64"`` option.

Compilation dominates the suite's time (test_gnn.py: 150 s cold, 52 s with every executable
already compiled). The processes of one run (pytest-xdist's workers inherit the controller's
environment) share one jax compilation cache in a fresh temporary directory, so a computation
compiled by one test is loaded, not recompiled, by the next test or worker that needs it. The
cache starts empty in every run and is removed at its end: nothing carries over between runs.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")


def _run_compilation_cache() -> str:
    """This run's cache directory: created by the first process (the xdist controller, or the
    only process), inherited by the workers through the environment."""
    directory = os.environ.get("NTKX_TEST_JAX_CACHE")
    if directory is None:
        directory = tempfile.mkdtemp(prefix="ntkx-test-jax-cache-")
        os.environ["NTKX_TEST_JAX_CACHE"] = directory
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


jax.config.update("jax_compilation_cache_dir", _run_compilation_cache())
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # small tiles compile fast
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@pytest.fixture
def key() -> jax.Array:
    """A fixed PRNG key (new-style typed key)."""
    return jax.random.key(0)
