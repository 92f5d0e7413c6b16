"""Every doctest in the package's docstrings and every Python block of the README runs here."""

from __future__ import annotations

import doctest
import importlib
import pathlib
import re

import pytest

import ntkx

ROOT = pathlib.Path(ntkx.__file__).parent.parent
MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for package in ("ntkx", "proofs_check")
    for p in (ROOT / package).rglob("*.py")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctests failed in {name}"


def _readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_python_blocks_run():
    blocks = _readme_blocks()
    assert blocks, "the README has no ```python blocks"
    namespace: dict = {}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"README.md python block {i}", "exec"), namespace)
        except Exception as err:  # report which block failed
            raise AssertionError(f"README python block {i} failed: {err!r}\n{block}") from err
