"""Reviewed foundation defects: concurrent migrations on one panel database."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.store import tables as t
from whmcs_bridge.store.migrate import SCHEMA_VERSION, current_version, upgrade
from whmcs_bridge.testing.bridges import sqlite_panel


def test_three_upgrades_at_once_all_succeed(empty_panel: tuple[str, str]) -> None:
    _kind, url = empty_panel
    barrier = threading.Barrier(3)
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def one_upgrade() -> None:
        engine = create_engine(url)
        try:
            barrier.wait(timeout=30)
            results.append(upgrade(engine))
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=one_upgrade) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(results) == 3
    assert all(after == SCHEMA_VERSION for _before, after in results)
    assert sorted(before for before, _after in results)[0] == 0  # one of them did the work
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert current_version(conn) == SCHEMA_VERSION
            rows = conn.execute(t.meta.select().where(t.meta.c.name == "schema_version")).all()
            assert len(rows) == 1
            assert inspect(conn).has_table(t.inbox.name)
    finally:
        engine.dispose()


@pytest.mark.mariadb
def test_upgrade_waits_for_the_migration_lock_then_says_so(mariadb_84: str) -> None:
    holder = create_engine(mariadb_84)
    engine = create_engine(mariadb_84)
    database = holder.url.database
    try:
        with holder.connect() as conn:
            name = f"whmcs_bridge_migrate_{database}"
            assert conn.exec_driver_sql("SELECT GET_LOCK(%s, 0)", (name,)).scalar() == 1
            with pytest.raises(BridgeError) as caught:
                upgrade(engine, lock_timeout=0.5)
            assert f"database '{database}'" in str(caught.value)
            conn.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (name,))
        assert upgrade(engine) == (0, SCHEMA_VERSION)
    finally:
        holder.dispose()
        engine.dispose()


def test_sqlite_upgrade_waits_for_the_file_lock(tmp_path: Path) -> None:
    url = sqlite_panel(tmp_path / "panel.sqlite", seed=False)
    engine = create_engine(url)
    fd = os.open(f"{engine.url.database}.migrate.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(BridgeError, match="migration lock"):
            upgrade(engine, lock_timeout=0.2)
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert upgrade(engine) == (0, SCHEMA_VERSION)
    finally:
        os.close(fd)
        engine.dispose()
