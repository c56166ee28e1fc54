"""SchemaPool, the test helper that hands out databases holding a stock WHMCS schema."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import create_engine, text

from whmcs_bridge.testing.mariadb import MariaDBUnavailable, SchemaPool


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_fails_the_test_naming_the_host() -> None:
    pool = SchemaPool(f"mysql+pymysql://root:hunter2@127.0.0.1:{_closed_port()}")
    try:
        with pytest.raises(MariaDBUnavailable) as raised:
            pool.take("8.4")
    finally:
        pool.close()
    assert "127.0.0.1" in str(raised.value)
    assert "hunter2" not in str(raised.value)


@pytest.mark.mariadb
def test_each_take_is_a_fresh_database_and_nothing_is_left_behind() -> None:
    pool = SchemaPool()
    first = pool.take("8.4")
    second = pool.take("8.4")  # made ahead while the first was in use
    assert first != second
    engine = create_engine(second)
    with engine.connect() as conn:
        version = conn.execute(
            text("SELECT value FROM tblconfiguration WHERE setting = 'Version'")
        ).scalar_one()
    engine.dispose()
    assert version.startswith("8.4")
    pool.give_back(first)
    pool.give_back(second)
    pool.close()

    server = create_engine("mysql+pymysql://root@127.0.0.1:3306")
    with server.connect() as conn:
        names = set(conn.execute(text("SHOW DATABASES LIKE 'wbtest\\_%'")).scalars())
    server.dispose()
    assert not names & {first.split("/")[-1].split("?")[0], second.split("/")[-1].split("?")[0]}
