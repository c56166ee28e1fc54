"""Shared fixtures: panel databases on SQLite and on MariaDB with the stock WHMCS schemas.

MariaDB cases fail (never skip) when the server is unreachable: `make test` starts it first.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from whmcs_bridge.testing.bridges import sqlite_panel
from whmcs_bridge.testing.mariadb import drop_database, load_whmcs_schema, mariadb_available

PANEL_KINDS = [
    "sqlite",
    pytest.param("8.4", marks=pytest.mark.mariadb),
    pytest.param("7.8", marks=pytest.mark.mariadb),
]


def _mariadb_schema(version: str) -> str:
    reason = mariadb_available()
    if reason is not None:
        pytest.fail(f"MariaDB is needed for this test and is not reachable: {reason}")
    return load_whmcs_schema(version)


@pytest.fixture
def mariadb_84() -> Iterator[str]:
    """A fresh MariaDB database holding the stock WHMCS 8.4 schema."""
    url = _mariadb_schema("8.4")
    yield url
    drop_database(url)


@pytest.fixture
def mariadb_78() -> Iterator[str]:
    """A fresh MariaDB database holding the stock WHMCS 7.8 schema."""
    url = _mariadb_schema("7.8")
    yield url
    drop_database(url)


@pytest.fixture(params=PANEL_KINDS)
def empty_panel(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(kind, url) of a panel with the WHMCS tables and no client data."""
    kind = request.param
    if kind == "sqlite":
        yield kind, sqlite_panel(tmp_path / "panel.sqlite", seed=False)
        return
    url = _mariadb_schema(kind)
    yield kind, url
    drop_database(url)


@pytest.fixture
def demo_panel(tmp_path: Path) -> str:
    """An SQLite panel with the sample company of the demo."""
    return sqlite_panel(tmp_path / "panel.sqlite", date(2026, 11, 26))
