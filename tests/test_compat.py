"""ntkx._compat: neural-tangents imports on current jax without TensorFlow, and only adds names."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import ntkx
from ntkx import _compat
from ntkx.core.kernels import empirical_kernel


def _run(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_fresh_import_loads_no_tensorflow_and_only_adds_names():
    # One fresh process (importing ntkx takes seconds): snapshot every attribute of the modules
    # the shim patches before importing ntkx, then check that (a) neither tensorflow nor tf2jax
    # was imported, (b) no existing attribute was replaced, (c) exactly the names reported by
    # patched_names() were added to jax.core and jax.interpreters.ad, and (d) the only other new
    # attributes of jax are submodules (imported by neural-tangents, or the jax.util alias).
    result = _run(
        """
        import json, sys, types
        import jax, jax.core, jax.interpreters.ad as ad
        had_util = "jax.util" in sys.modules
        mods = {"jax.core": jax.core, "ad": ad, "jax": jax}
        before = {m: {n: id(getattr(mod, n)) for n in dir(mod)} for m, mod in mods.items()}
        import ntkx
        from ntkx import _compat
        replaced = [
            f"{m}.{n}" for m, names in before.items() for n, i in names.items()
            if id(getattr(mods[m], n)) != i
        ]
        added = sorted(
            f"{m}.{n}" for m, mod in mods.items() for n in dir(mod)
            if n not in before[m]
            and not (m == "jax" and isinstance(getattr(mod, n), types.ModuleType))
        )
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tf2jax"))
        print(json.dumps({
            "replaced": replaced, "added": added, "had_util": had_util, "heavy": heavy,
            "patched": list(_compat.patched_names()),
            "stub_doc": sys.modules["neural_tangents.experimental"].__doc__,
            "util_is_private": sys.modules["jax.util"].__name__,
        }))
        """
    )
    assert result["heavy"] == []
    assert "ntkx._compat" in result["stub_doc"]
    assert result["replaced"] == []
    patched = set(result["patched"])
    jax_patched = {n for n in patched if n.startswith(("jax.core.", "ad."))}
    assert set(result["added"]) == jax_patched
    if result["had_util"]:
        assert "jax.util" not in patched
    else:
        assert "jax.util" in patched and result["util_is_private"] == "jax._src.util"


def test_patched_names_in_this_process_are_known():
    allowed = {f"jax.core.{n}" for n in _compat._CORE_NAMES} | {
        "jax.util",
        "ad.zeros_like_p",
        "ad.add_jaxvals_p",
        "neural_tangents.experimental",
    }
    assert set(_compat.patched_names()) <= allowed
    assert _compat.SAFE_NTK_IMPLEMENTATIONS == (1, 2)


@pytest.mark.parametrize(
    ("depth", "b_std", "trainable", "activation"),
    [
        (2, None, "all", "relu"),
        (2, 0.3, "first", "relu"),
        (3, 0.3, "last", "erf"),
        (3, None, "all", "gelu"),
        (3, 0.5, "first", "leaky_relu"),
    ],
)
def test_empirical_ntk_implementations_agree(depth, b_std, trainable, activation):
    # Implementation 1 contracts Jacobians, implementation 2 uses NTK-vector products: the same
    # number by two different routes. In float64 they agree to rounding (~1e-15 relative on
    # these sizes); 1e-10 leaves room for accumulation order in larger contractions.
    net = ntkx.mlp(depth=depth, activation=activation, width=32, b_std=b_std, trainable=trainable)
    x = np.random.default_rng(1).normal(size=(5, 3))
    y = np.random.default_rng(2).normal(size=(4, 3))
    params = net.init(jax.random.key(3), 3)
    k1 = empirical_kernel(net, params, x, y, implementation=1, dtype="float64")
    k2 = empirical_kernel(net, params, x, y, implementation=2, dtype="float64")
    assert k1.dtype == np.float64 and k1.shape == (5, 4)
    scale = np.max(np.abs(k1))
    assert scale > 0
    np.testing.assert_allclose(k2, k1, rtol=0, atol=1e-10 * scale)


def test_implementation_3_is_refused():
    net = ntkx.mlp(width=8)
    params = net.init(jax.random.key(0), 2)
    with pytest.raises(ValueError, match=r"implementation=3"):
        empirical_kernel(net, params, np.ones((2, 2)), implementation=3)
