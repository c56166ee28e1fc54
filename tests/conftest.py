"""Shared fixtures: panel databases on SQLite and on MariaDB with the stock WHMCS schemas.

MariaDB cases fail (never skip) when the server is unreachable: `make test` starts it first.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from whmcs_bridge.testing.bridges import sqlite_panel
from whmcs_bridge.testing.mariadb import SchemaPool

PANEL_KINDS = [
    "sqlite",
    pytest.param("8.4", marks=pytest.mark.mariadb),
    pytest.param("7.8", marks=pytest.mark.mariadb),
]


@pytest.fixture(scope="session")
def whmcs_databases() -> Iterator[SchemaPool]:
    """The suite's stock-schema databases, each built while the previous test runs.

    ``take`` raises when MariaDB is unreachable, so those tests fail, never skip.
    """
    pool = SchemaPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def mariadb_84(whmcs_databases: SchemaPool) -> Iterator[str]:
    """A fresh MariaDB database holding the stock WHMCS 8.4 schema."""
    url = whmcs_databases.take("8.4")
    yield url
    whmcs_databases.give_back(url)


@pytest.fixture
def mariadb_78(whmcs_databases: SchemaPool) -> Iterator[str]:
    """A fresh MariaDB database holding the stock WHMCS 7.8 schema."""
    url = whmcs_databases.take("7.8")
    yield url
    whmcs_databases.give_back(url)


@pytest.fixture(params=PANEL_KINDS)
def empty_panel(
    request: pytest.FixtureRequest, tmp_path: Path, whmcs_databases: SchemaPool
) -> Iterator[tuple[str, str]]:
    """(kind, url) of a panel with the WHMCS tables and no client data."""
    kind = request.param
    if kind == "sqlite":
        yield kind, sqlite_panel(tmp_path / "panel.sqlite", seed=False)
        return
    url = whmcs_databases.take(kind)
    yield kind, url
    whmcs_databases.give_back(url)


@pytest.fixture
def demo_panel(tmp_path: Path) -> str:
    """An SQLite panel with the sample company of the demo."""
    return sqlite_panel(tmp_path / "panel.sqlite", date(2026, 11, 26))
