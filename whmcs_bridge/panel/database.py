"""The connection to the panel's database, and what kind of WHMCS it holds.

MySQL/MariaDB sessions run in ``utf8mb4`` (a panel whose tables are utf8mb4 keeps its emoji; the
stock ``utf8`` tables read the same), with a pooled, pre-pinged connection, and with
``sql_mode='STRICT_TRANS_TABLES'`` (WHMCS's own run with ``''``): a value the bridge writes that
does not fit its column is an error, never silently cut or clamped. Reads are not affected.
SQLite is the embedded default for the demo and for trying the bridge without a panel. The bridge
reads ``tbl*`` tables and writes only its own (and the two narrow moves the transfers and
cancellations plugins declare grants for).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, NoSuchTableError, OperationalError, ProgrammingError

from whmcs_bridge.errors import PanelUnreachable, SchemaError
from whmcs_bridge.panel.tables import PanelTables

LOGIN_USERS = "users"  # WHMCS 8: tblusers + tblusers_clients
LOGIN_SUBACCOUNTS = "subaccounts"  # WHMCS 7: tblcontacts.subaccount with permissions


@dataclass(frozen=True)
class PanelInfo:
    """What the doctor reports about the panel."""

    version: str  # e.g. "8.4.0", or "8.x"/"7.x" when tblconfiguration has no Version row
    release: str  # the raw tblconfiguration.Version value, "" when absent
    login_model: str  # LOGIN_USERS or LOGIN_SUBACCOUNTS
    backend: str  # mysql | sqlite

    @property
    def major(self) -> int:
        return int(self.version.split(".", 1)[0])


def create_panel_engine(url: URL) -> Engine:
    """An engine for the panel database: ``mysql+pymysql`` or ``sqlite``."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if not url.drivername.endswith("+pymysql"):
        url = url.set(drivername="mysql+pymysql")
    query = dict(url.query)
    if str(query.get("charset", "utf8")).lower() in ("utf8", "utf8mb3"):
        # 3-byte utf8 turns "🧉" into "?" on the way out of a utf8mb4 table (issue 9 point 5).
        query["charset"] = "utf8mb4"
    return create_engine(
        url.set(query=query),
        pool_pre_ping=True,
        pool_recycle=3600,
        connect_args={
            "init_command": "SET SESSION sql_mode='STRICT_TRANS_TABLES'",
            "connect_timeout": 10,
        },
    )


def describe_db_error(url: URL, exc: BaseException) -> str:
    """An admin-facing message for a database failure: the host, never the password."""
    where = (
        f"sqlite file {url.database}"
        if url.get_backend_name() == "sqlite"
        else f"{url.host or 'localhost'}:{url.port or 3306} (user {url.username})"
    )
    original = getattr(exc, "orig", exc)
    args = getattr(original, "args", ())
    text = str(args[1]) if len(args) > 1 else str(original)
    if url.password:
        text = text.replace(str(url.password), "***")
    text = re.sub(r"\s+", " ", text).strip()
    return f"cannot use the panel database at {where}: {text}"


class Panel:
    """Read access to the panel: the engine, the tables as this database has them, and its kind."""

    def __init__(self, url: URL, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or create_panel_engine(url)

    @property
    def backend(self) -> str:
        return "sqlite" if self.url.get_backend_name() == "sqlite" else "mysql"

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection; failures to connect become :class:`PanelUnreachable`."""
        try:
            conn = self.engine.connect()
        except (OperationalError, DBAPIError) as exc:
            raise PanelUnreachable(describe_db_error(self.url, exc)) from None
        with conn:
            yield conn

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success."""
        with self.connect() as conn, conn.begin():
            yield conn

    def ping(self) -> None:
        with self.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    @cached_property
    def tables(self) -> PanelTables:
        """The WHMCS tables restricted to the columns this database really has."""
        with self.connect() as conn:
            return PanelTables.from_database(conn)

    @cached_property
    def info(self) -> PanelInfo:
        """WHMCS version and login model, read once."""
        tables = self.tables
        if tables.get("configuration") is None or tables.get("hosting") is None:
            raise SchemaError(
                f"{self.database_label()} holds no WHMCS schema "
                "(tblconfiguration or tblhosting is missing)"
            )
        login = LOGIN_USERS if tables.get("users_clients") is not None else LOGIN_SUBACCOUNTS
        cfg = tables.configuration
        try:
            with self.connect() as conn:
                release = conn.execute(
                    select(cfg.c.value).where(cfg.c.setting == "Version")
                ).scalar_one_or_none()
        except (ProgrammingError, NoSuchTableError) as exc:
            raise SchemaError(describe_db_error(self.url, exc)) from None
        release = str(release or "")
        match = re.match(r"(\d+\.\d+\.\d+)", release)
        version = match.group(1) if match else ("8.x" if login == LOGIN_USERS else "7.x")
        return PanelInfo(version=version, release=release, login_model=login, backend=self.backend)

    def database_label(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite file {self.url.database}"
        host = f"{self.url.host or 'localhost'}:{self.url.port or 3306}"
        return f"database {self.url.database} at {host}"

    def setting(self, name: str, default: str = "") -> str:
        """A ``tblconfiguration`` value (WHMCS settings), or ``default``."""
        cfg = self.tables.configuration
        with self.connect() as conn:
            value = conn.execute(select(cfg.c.value).where(cfg.c.setting == name)).scalar()
        return default if value is None else str(value)

    def dispose(self) -> None:
        self.engine.dispose()
