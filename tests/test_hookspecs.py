"""The plugin API keeps its promises (issue 18, point 9).

Like datasette's ``test_plugin_hooks_have_tests``: every hookspec is documented (when it fires,
what it returns) and exercised by some test. And a built-in plugin reaches the core only through
``whmcs_bridge.plugin``: an ``ast`` walk of ``plugins/`` fails on any other ``whmcs_bridge``
import, naming the file and line.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from whmcs_bridge import hookspecs

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
PLUGINS = ROOT / "plugins"
ALLOWED = "whmcs_bridge.plugin"

SPECS = {
    name: value
    for name, value in vars(hookspecs).items()
    if callable(value) and hasattr(value, "whmcs_bridge_spec")
}


def test_there_are_hookspecs() -> None:
    assert len(SPECS) >= 10, sorted(SPECS)
    assert all(name.startswith("bridge_") for name in SPECS), sorted(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hookspec_says_when_it_fires_and_what_it_returns(name: str) -> None:
    spec = SPECS[name]
    doc = inspect.getdoc(spec) or ""
    assert doc.strip(), f"{name} has no docstring"
    assert re.search(r"\bFires\b", doc), f"{name}: the docstring does not say when it fires"
    returns = inspect.signature(spec).return_annotation
    if returns not in ("None", None, inspect.Signature.empty):
        assert ":return:" in doc, f"{name} returns {returns} but its docstring has no ':return:'"
    if spec.whmcs_bridge_spec.get("firstresult"):
        assert "first non-" in doc, f"{name} is firstresult: say it stops at the first non-None"


def test_every_hookspec_is_exercised_by_a_test() -> None:
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in sorted(TESTS.rglob("*.py"))
        if path.resolve() != Path(__file__).resolve()
    )
    untested = [name for name in sorted(SPECS) if not re.search(rf"\b{name}\b", sources)]
    assert untested == [], f"hookspecs no test names: {untested}"


def _core_imports(path: Path) -> list[str]:
    """``path:line: import`` for each import of the core other than the plugin module."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "whmcs_bridge":
                names = [f"whmcs_bridge.{alias.name}" for alias in node.names]
        else:
            continue  # relative imports stay inside the plugin
        for name in names:
            if (name == "whmcs_bridge" or name.startswith("whmcs_bridge.")) and name != ALLOWED:
                where = path.relative_to(ROOT).as_posix()
                found.append(f"{where}:{node.lineno}: imports {name}")
    return found


def test_plugins_import_the_core_only_through_the_plugin_module() -> None:
    found = [line for path in sorted(PLUGINS.rglob("*.py")) for line in _core_imports(path)]
    assert found == [], "use `from whmcs_bridge.plugin import ...`:\n" + "\n".join(found)
