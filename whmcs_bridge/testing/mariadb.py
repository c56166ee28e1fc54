"""Throwaway MariaDB/MySQL databases holding a stock WHMCS schema, for tests.

Shared by the bridge's own tests and by authors of third-party plugins::

    reason = mariadb_available()
    if reason:
        pytest.fail(reason)
    url = load_whmcs_schema("8.4")
    try:
        engine = sqlalchemy.create_engine(url)
        ...
    finally:
        drop_database(url)

A suite that takes a database per test can use :class:`SchemaPool` instead, which builds the next
one in the background while a test runs.

The schemas are the stock ``tests/fixtures/whmcs-<version>-schema.sql`` files (plain mysqldump
output, no rows); the loaded database gets the few rows a fresh install has (its ``Version``
setting, some stock settings, the default currency). The server is taken from ``url_base``, or the
``WHMCS_BRIDGE_MARIADB_URL`` environment variable, or root on 127.0.0.1:3306.
"""

from __future__ import annotations

import os
import secrets
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

__all__ = [
    "DEFAULT_URL_BASE",
    "STOCK_SETTINGS",
    "SUPPORTED_VERSIONS",
    "MariaDBUnavailable",
    "SchemaPool",
    "drop_database",
    "fixtures_dir",
    "load_whmcs_schema",
    "mariadb_available",
]

DEFAULT_URL_BASE = "mysql+pymysql://root@127.0.0.1:3306"
DATABASE_PREFIX = "wbtest_"

#: The ``Version`` setting of each schema fixture's install.
SUPPORTED_VERSIONS = {"8.4": "8.4.0-release.1", "7.8": "7.8.3-release.1"}

#: Settings a fresh install has (besides ``Version``), with their stock values.
STOCK_SETTINGS = {
    "SystemURL": "http://localhost/whmcs/",
    "Language": "English",
    "DateFormat": "DD/MM/YYYY",
    "DefaultCountry": "US",
    "PhoneNumberDropdown": "1",
    "CutUtf8Mb4": "on",
    "TaxEnabled": "",
    "TaxType": "Exclusive",
    "AutoSuspension": "on",
    "AutoSuspensionDays": "5",
    "AutoUnsuspend": "on",
    "AutoTermination": "",
    "AutoTerminationDays": "30",
    "CreateInvoiceDaysBefore": "14",
    "AutoCancellationRequests": "on",
    "ShowCancellationButton": "on",
    "CancelInvoiceOnCancellation": "on",
    "CreditOnDowngrade": "on",
    "NoAutoApplyCredit": "",
    "DailyCronExecutionHour": "09",
    "TicketMask": "%A%A%A-%n%n%n%n%n%n",
}

_CONNECT_ARGS = {"connect_timeout": 5}


def _url_base(url_base: str | None) -> URL:
    """The server URL without a database."""
    chosen = url_base or os.environ.get("WHMCS_BRIDGE_MARIADB_URL") or DEFAULT_URL_BASE
    return make_url(chosen).set(database=None)


def _render(url: URL) -> str:
    """The URL as text, password included, because the caller connects with it."""
    return url.render_as_string(hide_password=False)


def mariadb_available(url_base: str | None = None) -> str | None:
    """Return ``None`` when the server answers, else the reason it cannot be used."""
    url = _url_base(url_base)
    engine = create_engine(url, poolclass=NullPool, connect_args=_CONNECT_ARGS)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver failure is a reason to report, not to raise
        where = url.render_as_string(hide_password=True)
        cause = getattr(exc, "orig", None) or exc
        return f"MariaDB/MySQL at {where} is not usable: {type(cause).__name__}: {cause}"
    finally:
        engine.dispose()
    return None


def fixtures_dir() -> Path:
    """The folder holding ``whmcs-<version>-schema.sql``.

    ``WHMCS_BRIDGE_FIXTURES`` names it; otherwise it is ``tests/fixtures`` of the checkout this
    package was imported from.
    """
    configured = os.environ.get("WHMCS_BRIDGE_FIXTURES")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "tests" / "fixtures"


def _schema_statements(version: str) -> list[str]:
    """The SQL statements of a schema fixture, in order, comments dropped."""
    if version not in SUPPORTED_VERSIONS:
        known = ", ".join(SUPPORTED_VERSIONS)
        raise ValueError(f"no WHMCS schema fixture for version {version!r} (have: {known})")
    path = fixtures_dir() / f"whmcs-{version}-schema.sql"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; set WHMCS_BRIDGE_FIXTURES to the folder holding the schema files"
        )
    statements: list[str] = []
    current: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current.append(line)
        # mysqldump ends every statement with ';' at the end of its last line.
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    if current:
        statements.append("\n".join(current))
    return statements


def _insert_stock_rows(conn: Connection, version: str) -> None:
    """Write the rows a fresh install of ``version`` has."""
    settings = {"Version": SUPPORTED_VERSIONS[version], **STOCK_SETTINGS}
    conn.execute(
        text("INSERT INTO tblconfiguration (setting, value) VALUES (:setting, :value)"),
        [{"setting": key, "value": value} for key, value in settings.items()],
    )
    conn.execute(
        text(
            "INSERT INTO tblcurrencies (id, code, prefix, suffix, format, rate, `default`)"
            " VALUES (1, 'USD', '$', ' USD', 2, 1.00000, 1)"
        )
    )


def load_whmcs_schema(version: str, url_base: str | None = None) -> str:
    """Create a fresh database holding the stock WHMCS ``version`` schema ('8.4' or '7.8').

    Returns its SQLAlchemy URL (``...?charset=utf8``). The database name is unique
    (``wbtest_84_<hex>``); remove it with :func:`drop_database`.
    """
    statements = _schema_statements(version)
    base = _url_base(url_base)
    name = f"{DATABASE_PREFIX}{version.replace('.', '')}_{secrets.token_hex(6)}"
    engine = create_engine(base, poolclass=NullPool, connect_args=_CONNECT_ARGS)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(
                f"CREATE DATABASE `{name}` CHARACTER SET utf8 COLLATE utf8_unicode_ci"
            )
            conn.exec_driver_sql(f"USE `{name}`")
            # The dumps rely on WHMCS's non-strict session (zero dates, text without defaults).
            conn.exec_driver_sql("SET SESSION sql_mode=''")
            for statement in statements:
                conn.exec_driver_sql(statement)
            _insert_stock_rows(conn, version)
            conn.commit()
    except Exception:
        drop_database(_render(base.set(database=name)))
        raise
    finally:
        engine.dispose()
    return _render(base.set(database=name, query={"charset": "utf8"}))


def drop_database(url: str) -> None:
    """Drop the test database ``url`` names; refuses names :func:`load_whmcs_schema` never makes."""
    parsed = make_url(url)
    name = parsed.database or ""
    if not name.startswith(DATABASE_PREFIX) or "`" in name:
        raise ValueError(f"refusing to drop {name!r}: not a database made by load_whmcs_schema")
    engine = create_engine(
        parsed.set(database=None, query={}), poolclass=NullPool, connect_args=_CONNECT_ARGS
    )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        engine.dispose()


class MariaDBUnavailable(RuntimeError):
    """The server a test needs does not answer; the message says which and why."""


class SchemaPool:
    """Fresh stock-schema databases, the next one built while the current one is in use.

    Loading a schema is about half a second of DDL on the server, mostly waiting on disk; a test
    suite that takes one database per test gets that time back by building the next database of
    each version on a background thread. :meth:`take` hands out a database nobody else has seen
    (made ahead, or made on the spot if the background build is not there or failed, so a real
    error surfaces in the test that asked); :meth:`give_back` drops it in the background;
    :meth:`close` waits for the background work and drops what was made ahead and not used.
    """

    def __init__(self, url_base: str | None = None) -> None:
        self._url_base = url_base
        self._lock = threading.Lock()
        self._ahead: dict[str, Future[str]] = {}
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="schema-pool")

    def take(self, version: str) -> str:
        """A database holding the stock ``version`` schema; give it back when done.

        Raises :class:`MariaDBUnavailable`, saying why, when the server cannot be used.
        """
        reason = mariadb_available(self._url_base)
        if reason is not None:
            raise MariaDBUnavailable(f"MariaDB is needed and is not reachable: {reason}")
        with self._lock:
            made_ahead = self._ahead.pop(version, None)
            self._ahead[version] = self._worker.submit(load_whmcs_schema, version, self._url_base)
        if made_ahead is not None:
            try:
                return made_ahead.result()
            except Exception:  # build it here instead, so its error is raised where it is used
                pass
        return load_whmcs_schema(version, self._url_base)

    def give_back(self, url: str) -> None:
        """Drop a database :meth:`take` handed out, without waiting for it."""
        self._worker.submit(drop_database, url)

    def close(self) -> None:
        """Finish the background work and drop the databases made ahead."""
        with self._lock:
            ahead, self._ahead = list(self._ahead.values()), {}
        for future in ahead:
            try:
                url = future.result()
            except Exception:  # nothing was made, so nothing to drop
                continue
            self._worker.submit(drop_database, url)
        self._worker.shutdown(wait=True)
