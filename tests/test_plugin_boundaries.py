"""A plugin reads the panel through the read layer only (issue 18, point 3).

``whmcs_bridge.panel.queries`` (``queries`` in ``whmcs_bridge.plugin``) answers one question per
function; a plugin passes it ``bridge.panel.tables`` and writes no SQL against ``tbl*`` tables
itself. An ``ast`` walk of the plugins named in :data:`CHECKED` fails, naming file and line, on:

- access into the panel's tables: ``bridge.panel.tables.hosting``, ``panel.tables.get(...)``,
  ``panel.tables["tblhosting"]``, and the same through a name bound to them (``tables``, a
  parameter annotated ``PanelTables``, ``t = bridge.panel.tables``);
- raw SQL or a table built by hand naming a ``tbl*`` table: ``text("... FROM tblhosting")``,
  ``exec_driver_sql(...)``, ``Table("tblhosting", ...)``.

Passing ``bridge.panel.tables`` to a ``queries`` function is the pattern and is not flagged; the
plugin's own ``mod_whmcs_bridge_*`` tables (its ``tables`` module) are its own to query.

Every built-in plugin is in :data:`CHECKED`; add a new plugin there once it passes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "plugins"
#: The plugins held to the boundary (see the module docstring for what comes next).
CHECKED = ("upgrades", "alerts", "contacts", "transfers", "cancellations", "sla")

#: Calls whose string arguments are SQL or a table's name.
SQL_CALLS = frozenset({"text", "exec_driver_sql", "execute", "Table", "table", "literal_column"})
PANEL_TABLE_NAME = re.compile(r"\btbl[a-z0-9_]+", re.IGNORECASE)


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _is_tables(node: ast.expr, aliases: set[str]) -> bool:
    """``<anything>.tables`` or a name bound to the panel's tables."""
    if isinstance(node, ast.Attribute):
        return node.attr == "tables"
    return isinstance(node, ast.Name) and node.id in aliases


def _aliases(tree: ast.Module) -> set[str]:
    """Names that hold the panel's tables: ``tables`` (unless the module imports a module of
    that name, e.g. the plugin's own ``from . import tables``), parameters named ``tables`` or
    annotated ``PanelTables``, and names assigned from ``<anything>.tables``."""
    imported = {
        (alias.asname or alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    aliases = set() if "tables" in imported else {"tables"}
    for _pass in range(2):  # the second pass follows ``t2 = t`` whatever the order
        for node in ast.walk(tree):
            if isinstance(node, ast.arg):
                annotation = ast.unparse(node.annotation) if node.annotation else ""
                if node.arg == "tables" or "PanelTables" in annotation:
                    aliases.add(node.arg)
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr) and (
                node.value is not None and _is_tables(node.value, aliases)
            ):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                aliases.update(t.id for t in targets if isinstance(t, ast.Name))
    return aliases


def panel_table_uses(source: str, where: str = "<string>") -> list[str]:
    """``where:line: code`` for each read of a ``tbl*`` table that bypasses the read layer."""
    tree = ast.parse(source, filename=where)
    aliases = _aliases(tree)
    found: dict[tuple[int, str], None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Subscript) and _is_tables(node.value, aliases):
            found[(node.lineno, ast.unparse(node))] = None
        elif isinstance(node, ast.Call) and _call_name(node) in SQL_CALLS:
            strings = [
                part.value
                for arg in [*node.args, *(keyword.value for keyword in node.keywords)]
                for part in ([arg] if isinstance(arg, ast.Constant) else getattr(arg, "values", []))
                if isinstance(part, ast.Constant) and isinstance(part.value, str)
            ]
            if any(PANEL_TABLE_NAME.search(text) for text in strings):
                found[(node.lineno, ast.unparse(node))] = None
    return [f"{where}:{line}: {code[:100]}" for line, code in sorted(found)]


def _plugin_files(name: str) -> list[Path]:
    return sorted((PLUGINS / name).rglob("*.py"))


@pytest.mark.parametrize("plugin", CHECKED)
def test_plugin_reads_the_panel_through_queries_only(plugin: str) -> None:
    files = _plugin_files(plugin)
    assert len(files) > 3, f"plugins/{plugin} has no modules: renamed?"
    found = [
        use
        for path in files
        for use in panel_table_uses(
            path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix()
        )
    ]
    assert found == [], (
        "these read tbl* tables directly; ask whmcs_bridge/panel/queries instead (add the "
        "question there, in the module of its subject):\n" + "\n".join(found)
    )


BYPASSES = [
    ("rows = conn.execute(select(bridge.panel.tables.hosting))", 1),
    ("h = panel.tables.hosting", 1),
    ("t = panel.tables.get('tblhostingconfigoptions')", 1),
    ("t = bridge.panel.tables['tblhosting']", 1),
    ("def f(conn, tables):\n    return conn.execute(select(tables.clients))", 2),
    ("def f(bridge):\n    t = bridge.panel.tables\n    return t.clients.c.id", 3),
    ("def f(x: PanelTables) -> None:\n    print(x.invoices)", 2),
    ("def f(x: 'PanelTables') -> None:\n    print(x['tblinvoices'])", 2),
    ("conn.execute(text('SELECT id FROM tblhosting WHERE userid = 1'))", 1),
    ("conn.exec_driver_sql(f'UPDATE `tblclients` SET credit = {amount}')", 1),
    ("hosting = Table('tblhosting', metadata, autoload_with=engine)", 1),
]

ALLOWED = [
    "queries.client(conn, bridge.panel.tables, 3)",
    "tables = bridge.panel.tables\nqueries.service(conn, tables, 7)",
    "from .tables import upgrade_requests as req_t\nselect(req_t).where(req_t.c.id == 1)",
    "from . import tables\nrow = conn.execute(select(tables.upgrade_requests)).first()",
    "def f() -> None:\n    '''Reads tblhosting through queries.'''",
    "click.option('--service', type=int, help='tblhosting id.')",
    "requests = Table(f'{PREFIX}upgrades_requests', metadata)",
    "log.info('found in tbltickets: %s', tid)",
]


@pytest.mark.parametrize(("code", "line"), BYPASSES)
def test_the_walk_finds_a_bypass(code: str, line: int) -> None:
    found = panel_table_uses(code, "p.py")
    assert len(found) == 1, found
    assert found[0].startswith(f"p.py:{line}: "), found


@pytest.mark.parametrize("code", ALLOWED)
def test_the_walk_allows_the_read_layer_and_own_tables(code: str) -> None:
    assert panel_table_uses(code, "p.py") == []
