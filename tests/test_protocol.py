"""The design's invariants: one protocol, no import cycles, no name clashes, bounded caches.

These are structural checks of the package (read with ``ast``, not by importing tricks), so
that the layout the README describes stays true.
"""

from __future__ import annotations

import ast
import importlib
import pathlib
import re

import numpy as np
import pytest

import ntkx
from ntkx.core import kernels as engine

PACKAGE = pathlib.Path(ntkx.__file__).parent


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str) -> set[str]:
    """Every ntkx module ``name`` imports, at top level or inside functions."""
    tree = ast.parse(MODULES[name].read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        for t in targets:
            while t and t not in MODULES:
                t = t.rpartition(".")[0]
            if t.startswith("ntkx") and t != name:
                out.add(t)
    return out


GRAPH = {name: _imports(name) for name in MODULES}


def test_no_import_cycles_counting_function_level_imports():
    # Depth-first search for a back edge; only the package's own __init__ may import freely
    # (nothing inside the package imports "ntkx" itself, checked below).
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycle.extend([*path, node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*path, node]):
                return True
        state[node] = 2
        return False

    for start in sorted(GRAPH):
        if state.get(start) is None and visit(start, []):
            break
    assert not cycle, " -> ".join(cycle)
    importers = [name for name, deps in GRAPH.items() if "ntkx" in deps]
    assert importers == [], f"modules importing the ntkx package itself: {importers}"


SPECS = (
    "ntkx.feedforward.mlp",
    "ntkx.graphs.message_passing",
    "ntkx.graphs.interaction",
    "ntkx.core.stax_network",
)
ENGINE = ("ntkx.core.kernels", "ntkx.core.solvers", "ntkx.core.training", "ntkx.core.protocol")


def _reaches(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.mark.parametrize("spec", SPECS)
def test_specs_never_reach_the_engine(spec):
    reached = _reaches(spec)
    assert not reached & {"ntkx.core.kernels", "ntkx.core.solvers", "ntkx.core.training"}


@pytest.mark.parametrize("module", ENGINE)
def test_engine_knows_no_concrete_architecture(module):
    reached = _reaches(module)
    assert not {m for m in reached if m.startswith(("ntkx.feedforward", "ntkx.graphs"))}


def test_public_names_never_shadow_a_module():
    for name in ntkx.__all__:
        assert f"ntkx.{name}" not in MODULES, name
    # Every module is reachable by its dotted path (no function sits on the attribute).
    for name in MODULES:
        assert importlib.import_module(name).__name__ == name
    import ntkx.graphs.message_passing as mp

    assert mp.__name__ == "ntkx.graphs.message_passing" and callable(mp.gnn)


def test_init_only_reexports():
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "ImportFrom", "Assign"}, kinds


def test_every_architecture_implements_the_protocol():
    for cls in (ntkx.MLP, ntkx.GNN, ntkx.InteractionNetwork, ntkx.StaxNetwork):
        assert issubclass(cls, ntkx.Architecture)
        assert not getattr(cls, "__abstractmethods__", frozenset()), cls
        # Specs never reach the engine: there is no kernel method on them.
        assert not hasattr(cls, "kernel"), cls


def test_compiled_functions_are_cached_by_value_and_bounded():
    a, b = ntkx.mlp(depth=3, b_std=0.1), ntkx.mlp(depth=3, b_std=0.1)
    assert a == b and a is not b
    assert engine._closed_form_fn(a, "float64") is engine._closed_form_fn(b, "float64")
    info = engine._closed_form_fn.cache_info()
    assert info.maxsize == engine.CACHE_SIZE
    # Nothing in the package keys anything on object identity.
    for path in MODULES.values():
        assert not re.search(r"\bid\(", path.read_text()), path


def test_solve_precision_does_not_depend_on_free_memory(monkeypatch):
    from ntkx.core import numerics

    k = np.eye(3, dtype=np.float32) * 2.0
    alpha, _ = ntkx.solve_kernel_system(k, np.ones(3))
    assert alpha.dtype == np.float64
    # With (pretend) almost no memory left, the float64 solve is refused, not downgraded.
    monkeypatch.setattr(numerics, "available_memory_bytes", lambda: 100)
    with pytest.raises(ntkx.InsufficientMemoryError, match="float64 solve of 3 points"):
        ntkx.solve_kernel_system(k, np.ones(3))
    with pytest.raises(ValueError, match="solve_dtype"):
        ntkx.solve_kernel_system(k, np.ones(3), solve_dtype="float16")
