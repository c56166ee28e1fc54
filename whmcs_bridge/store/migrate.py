"""Creates and upgrades the bridge's tables; safe to repeat on a live panel.

Each migration must be idempotent (tables are created only when missing; a column is added only
when absent), and the reached version is recorded in ``mod_whmcs_bridge_meta`` as
``schema_version`` (the core's) and ``schema_version:<plugin>`` (each plugin's own tables, which
it declares through ``bridge_migrations``). This module names no feature. ``whmcs-bridge db
upgrade`` runs them, and so does every ``run`` first.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table, inspect, select, text
from sqlalchemy.exc import DBAPIError

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.store import tables as t

MIGRATE_LOCK_TIMEOUT = 60.0  # seconds a second upgrade waits for the first one
Step = Callable[[Connection], None]


@dataclass(frozen=True)
class Migration:
    """One idempotent step of the core's or a plugin's tables, numbered from 1 in its owner."""

    version: int
    description: str
    apply: Step


@dataclass(frozen=True)
class PluginSchema:
    """What an enabled plugin declares through ``bridge_migrations``, with its version."""

    plugin_version: str
    steps: tuple[Migration, ...]

    @property
    def version(self) -> int:
        return max((step.version for step in self.steps), default=0)


def create_tables(*tables: Table) -> Step:
    """A migration step that creates each table (and its indexes) when it is missing."""

    def step(conn: Connection) -> None:
        for table in tables:
            table.create(conn, checkfirst=True)

    return step


def _outbox(conn: Connection) -> None:
    from whmcs_bridge.outbox.tables import channel_states, outbox

    create_tables(outbox, channel_states)(conn)


def _outbox_due_order(conn: Connection) -> None:
    """The claim's ``(state, next_attempt_at, id)`` index, created only when missing.

    It gives a claim its rows in order per state (no sort of every due row); the old
    ``(state, next_attempt_at)`` index is a prefix of it and goes.
    """
    from whmcs_bridge.outbox.tables import DUE_INDEX, OLD_DUE_INDEX, outbox

    names = {index["name"] for index in inspect(conn).get_indexes(outbox.name)}
    if DUE_INDEX not in names:
        next(i for i in outbox.indexes if i.name == DUE_INDEX).create(conn)
    if OLD_DUE_INDEX in names:
        on = f" ON {outbox.name}" if conn.dialect.name in ("mysql", "mariadb") else ""
        conn.execute(text(f"DROP INDEX {OLD_DUE_INDEX}{on}"))


OLD_RATE_SLOTS = f"{t.PREFIX}rate_slots"


def _rate_slots(conn: Connection) -> None:
    """Version 8 made a table of send slots, replaced by the leased shares of version 10."""


def _rate_shares(conn: Connection) -> None:
    """The shares of the one rate every worker leases; the slots table of version 8 goes."""
    from whmcs_bridge.outbox.shared_rate import create_table

    create_table(conn)
    if inspect(conn).has_table(OLD_RATE_SLOTS):
        conn.execute(text(f"DROP TABLE {OLD_RATE_SLOTS}"))


def _events_subject(conn: Connection) -> None:
    """The events' ``(name, subject_id)`` index, created only when missing: intake finds a
    watcher's report of a hook row's change by it, a page at a time, whatever the table's size."""
    names = {index["name"] for index in inspect(conn).get_indexes(t.events.name)}
    if t.EVENTS_SUBJECT_INDEX not in names:
        next(i for i in t.events.indexes if i.name == t.EVENTS_SUBJECT_INDEX).create(conn)


def _nothing(conn: Connection) -> None:
    """Versions 3, 4 and 6 created feature tables; those now belong to their plugins."""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "inbox, quarantine, events, outcomes, cursors, seen",
        create_tables(t.inbox, t.quarantine, t.events, t.outcomes, t.cursors, t.seen),
    ),
    Migration(2, "outbox, channel states", _outbox),
    Migration(5, "outbox claim index (state, next_attempt_at, id)", _outbox_due_order),
    Migration(7, "feature tables are declared by their plugins", _nothing),
    Migration(8, "rate slots shared by every worker", _rate_slots),
    Migration(9, "events index (name, subject_id)", _events_subject),
    Migration(10, "rate shares leased by every worker", _rate_shares),
)
SCHEMA_VERSION = MIGRATIONS[-1].version
CORE = "schema_version"


def meta_key(plugin: str) -> str:
    """The ``mod_whmcs_bridge_meta`` row holding a plugin's reached step."""
    return f"schema_version:{plugin}"


def current_version(conn: Connection, plugin: str | None = None) -> int:
    """The recorded version of the core (or of one plugin); 0 when nothing is recorded yet."""
    if not inspect(conn).has_table(t.meta.name):
        return 0
    name = CORE if plugin is None else meta_key(plugin)
    value = conn.execute(select(t.meta.c.value).where(t.meta.c.name == name)).scalar_one_or_none()
    return int(value) if value else 0


def _wanted(plugins: Mapping[str, PluginSchema]) -> dict[str, int]:
    wanted = {CORE: SCHEMA_VERSION}
    wanted.update({meta_key(name): schema.version for name, schema in plugins.items()})
    return wanted


def behind(engine: Engine, plugins: Mapping[str, PluginSchema] | None = None) -> list[str]:
    """One cheap query: who is behind (``core`` or plugin names); ``[]`` when all are current."""
    wanted = _wanted(plugins or {})
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(t.meta.c.name, t.meta.c.value).where(t.meta.c.name.in_(list(wanted)))
            ).all()
    except DBAPIError:
        return ["core"]  # no meta table yet
    have = {row.name: int(row.value) for row in rows if str(row.value).isdigit()}
    late = [name for name, version in wanted.items() if have.get(name, 0) < version]
    return [("core" if name == CORE else name.split(":", 1)[1]) for name in late]


def is_current(engine: Engine, plugins: Mapping[str, PluginSchema] | None = None) -> bool:
    """Are the core's tables and every enabled plugin's at their declared versions?"""
    return not behind(engine, plugins)


def upgrade(
    engine: Engine,
    plugins: Mapping[str, PluginSchema] | None = None,
    lock_timeout: float = MIGRATE_LOCK_TIMEOUT,
) -> tuple[int, int]:
    """Bring the core's tables, then each enabled plugin's, to their versions; (before, after).

    ``before``/``after`` are the core's versions. When behind, every step runs again, not only
    those above the recorded version: steps are idempotent, and a step that landed with a
    lower number than one already applied (work that merged late) is still applied. Each
    plugin's reached step is recorded under its name (``schema_version:<plugin>``) with the
    plugin's version (``plugin_version:<plugin>``).

    Migrations are serialised: two ``db upgrade`` (or a ``run`` and a ``db upgrade``) at once
    would otherwise both create the same table. On MySQL/MariaDB the connection doing the work
    holds ``GET_LOCK`` (released by the server if the process dies); on SQLite a file lock
    beside the database. The versions are read again once the lock is held.

    :raises BridgeError: another upgrade held the lock for ``lock_timeout`` seconds.
    """
    plugins = plugins or {}
    if is_current(engine, plugins):
        return SCHEMA_VERSION, SCHEMA_VERSION
    with engine.connect() as conn, _migrate_lock(conn, lock_timeout):
        with conn.begin():
            t.meta.create(conn, checkfirst=True)
            before = current_version(conn)
        if before < SCHEMA_VERSION:
            for step in MIGRATIONS:
                with conn.begin():
                    step.apply(conn)
                    _record(conn, CORE, str(max(step.version, before)))
        for name, schema in plugins.items():
            with conn.begin():
                reached = current_version(conn, name)
            if reached >= schema.version:
                continue
            for step in schema.steps:
                with conn.begin():
                    step.apply(conn)
                    _record(conn, meta_key(name), str(max(step.version, reached)))
                    _record(conn, f"plugin_version:{name}", schema.plugin_version)
    return before, SCHEMA_VERSION


def _lock_name(database: str) -> str:
    name = f"whmcs_bridge_migrate_{database}"
    if len(name) <= 64:  # the server's limit for a lock name
        return name
    return "whmcs_bridge_migrate_" + hashlib.sha1(database.encode()).hexdigest()


@contextmanager
def _migrate_lock(conn: Connection, timeout: float) -> Iterator[None]:
    """Hold the migration lock of the database ``conn`` works on; no transaction left open."""
    database = str(conn.engine.url.database or "")
    busy = BridgeError(
        f"another whmcs-bridge db upgrade held the migration lock on database '{database}' "
        f"for {timeout:g} s; try again when it is done"
    )
    if conn.dialect.name in ("mysql", "mariadb"):
        name = _lock_name(database)
        got = conn.exec_driver_sql("SELECT GET_LOCK(%s, %s)", (name, timeout)).scalar()
        conn.commit()  # GET_LOCK belongs to the session, not to the autobegun transaction
        if got != 1:
            raise busy
        try:
            yield
        finally:
            try:
                if conn.in_transaction():
                    conn.rollback()
                conn.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (name,))
                conn.commit()
            except DBAPIError:
                pass  # the connection is gone, and the server released the lock with it
        return
    if conn.dialect.name != "sqlite" or not database or database == ":memory:":
        yield  # one connection only: nothing to race with
        return
    lock_path = f"{database}.migrate.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise BridgeError(f"cannot open the migration lock {lock_path}: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise busy from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _record(conn: Connection, name: str, value: str) -> None:
    exists = conn.execute(select(t.meta.c.name).where(t.meta.c.name == name)).first()
    if exists:
        conn.execute(t.meta.update().where(t.meta.c.name == name).values(value=value))
    else:
        conn.execute(t.meta.insert().values(name=name, value=value))
