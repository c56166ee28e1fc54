"""Creates and upgrades the bridge's tables; safe to repeat on a live panel.

Each migration must be idempotent (tables are created only when missing; a column is added only
when absent), and the reached version is recorded in ``mod_whmcs_bridge_meta`` as
``schema_version``. ``whmcs-bridge db upgrade`` runs them, and so does every ``run`` first.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.store import tables as t

Migration = Callable[[Connection], None]
MIGRATE_LOCK_TIMEOUT = 60.0  # seconds a second upgrade waits for the first one


def _create(*tables: object) -> Migration:
    def step(conn: Connection) -> None:
        for table in tables:
            table.create(conn, checkfirst=True)  # type: ignore[attr-defined]

    return step


def _upgrade_requests(conn: Connection) -> None:
    # Imported here: the plugin package must not load while the core store is being imported.
    from whmcs_bridge.plugins.upgrades.tables import upgrade_requests

    upgrade_requests.create(conn, checkfirst=True)


def _upgrade_followups(conn: Connection) -> None:
    from whmcs_bridge.plugins.upgrades.tables import upgrade_followups

    upgrade_followups.create(conn, checkfirst=True)


def _outbox(conn: Connection) -> None:
    from whmcs_bridge.outbox.tables import channel_states, outbox

    _create(outbox, channel_states)(conn)


def _alert_prefs(conn: Connection) -> None:
    # Imported here, as above: the alerts plugin package imports the core.
    from whmcs_bridge.plugins.alerts.tables import alert_prefs

    alert_prefs.create(conn, checkfirst=True)


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


MIGRATIONS: list[tuple[int, str, Migration]] = [
    (
        1,
        "inbox, quarantine, events, outcomes, cursors, seen",
        _create(t.inbox, t.quarantine, t.events, t.outcomes, t.cursors, t.seen),
    ),
    (2, "outbox, channel states", _outbox),
    (3, "alert preferences (alerts plugin: opt-outs, WhatsApp opt-ins)", _alert_prefs),
    (4, "upgrade requests (upgrades plugin, manual path)", _upgrade_requests),
    (5, "outbox claim index (state, next_attempt_at, id)", _outbox_due_order),
    (6, "upgrade follow-ups (upgrades plugin: cycle restart, credit)", _upgrade_followups),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    """The recorded schema version; 0 when the bridge's tables do not exist yet."""
    if not inspect(conn).has_table(t.meta.name):
        return 0
    value = conn.execute(
        select(t.meta.c.value).where(t.meta.c.name == "schema_version")
    ).scalar_one_or_none()
    return int(value) if value else 0


def is_current(engine: Engine) -> bool:
    """One cheap query: are the bridge's tables at :data:`SCHEMA_VERSION` already?"""
    try:
        with engine.connect() as conn:
            value = conn.execute(
                select(t.meta.c.value).where(t.meta.c.name == "schema_version")
            ).scalar_one_or_none()
    except DBAPIError:
        return False  # no meta table yet
    return value is not None and int(value) == SCHEMA_VERSION


def upgrade(engine: Engine, lock_timeout: float = MIGRATE_LOCK_TIMEOUT) -> tuple[int, int]:
    """Bring the bridge's tables to :data:`SCHEMA_VERSION`; returns (before, after).

    When behind, every step runs again, not only those above the recorded version: steps are
    idempotent, and a step that landed with a lower number than one already applied (work that
    merged late) is still applied.

    Migrations are serialised: two ``db upgrade`` (or a ``run`` and a ``db upgrade``) at once
    would otherwise both create the same table. On MySQL/MariaDB the connection doing the work
    holds ``GET_LOCK`` (released by the server if the process dies); on SQLite a file lock
    beside the database. The version is read again once the lock is held.

    :raises BridgeError: another upgrade held the lock for ``lock_timeout`` seconds.
    """
    if is_current(engine):
        return SCHEMA_VERSION, SCHEMA_VERSION
    with engine.connect() as conn, _migrate_lock(conn, lock_timeout):
        with conn.begin():
            t.meta.create(conn, checkfirst=True)
            before = current_version(conn)
        if before >= SCHEMA_VERSION:
            return before, before
        for version, _description, step in MIGRATIONS:
            with conn.begin():
                step(conn)
                _record(conn, max(version, before))
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


def _record(conn: Connection, version: int) -> None:
    exists = conn.execute(select(t.meta.c.name).where(t.meta.c.name == "schema_version")).first()
    if exists:
        conn.execute(
            t.meta.update().where(t.meta.c.name == "schema_version").values(value=str(version))
        )
    else:
        conn.execute(t.meta.insert().values(name="schema_version", value=str(version)))
