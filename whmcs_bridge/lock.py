"""One cycle at a time per panel: a second overlapping run exits at once.

On MySQL/MariaDB the lock is ``GET_LOCK`` on a connection held for the cycle, so it is shared by
every host working on the same panel and released by the server if the process dies. On SQLite
it is an ``flock`` on a file beside the database.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from whmcs_bridge.errors import LockHeld
from whmcs_bridge.panel.database import Panel

log = logging.getLogger(__name__)


@contextmanager
def cycle_lock(panel: Panel, name: str = "cycle") -> Iterator[None]:
    """Hold the panel-wide lock ``name`` or raise :class:`LockHeld` at once."""
    if panel.backend == "sqlite":
        with _file_lock(f"{panel.url.database}.{name}.lock"):
            yield
        return
    lock_name = server_lock_name(panel, name)
    with panel.connect() as conn:
        got = conn.exec_driver_sql("SELECT GET_LOCK(%s, 0)", (lock_name,)).scalar()
        if got != 1:
            raise LockHeld(
                f"another whmcs-bridge {name} holds the lock on this panel; nothing to do"
            )
        try:
            yield
        finally:
            _release(conn, lock_name)


def server_lock_name(panel: Panel, name: str = "cycle") -> str:
    """The ``GET_LOCK`` name of lock ``name`` on this panel's database."""
    digest = hashlib.sha1(str(panel.url.database).encode()).hexdigest()[:16]
    return f"whmcs_bridge:{name}:{digest}"


def _release(conn: Connection, lock_name: str) -> None:
    """Release the lock; a failure is only logged, so it never hides the cycle's own result.

    A connection that died holds no lock any more: the server released it with the session.
    """
    try:
        conn.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (lock_name,))
    except SQLAlchemyError as exc:
        log.warning("could not release lock %s (connection lost?): %s", lock_name, exc)


@contextmanager
def _file_lock(path: str) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(
                "another whmcs-bridge cycle holds the lock on this panel; nothing to do"
            ) from None
        yield
    finally:
        os.close(fd)
