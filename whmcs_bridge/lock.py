"""One cycle at a time per panel: a second overlapping run exits at once.

On MySQL/MariaDB the lock is ``GET_LOCK`` on a connection held for the cycle, so it is shared by
every host working on the same panel and released by the server if the process dies. On SQLite
it is an ``flock`` on a file beside the database (held by the process: it cannot be lost).

A server lock can be lost while its cycle goes on: the server drops the idle connection
(``wait_timeout``, a proxy, a failover, ``KILL``) and frees the lock with the session. So:

- a heartbeat thread uses the lock's connection every :data:`HEARTBEAT_SECONDS` (it never sits
  idle) and checks that the session still holds the lock;
- the cycle calls :func:`ensure_held` before each step, each dispatch chunk and each delivery
  batch, and stops with :class:`LockLost` (exit 1, one line) once the lock is gone;
- a lease row in the bridge's meta table, renewed by the heartbeat while the cycle lives, keeps
  a second cycle out even after the lock itself was lost: it waits until the first one stopped
  (it deletes the row) or died (the row is no longer renewed, :data:`LEASE_SECONDS`).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from whmcs_bridge.errors import BridgeError, LockHeld
from whmcs_bridge.panel.database import Panel
from whmcs_bridge.store.tables import meta

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0  # how often the lock's connection is used and checked
# A killed cycle's lease keeps the next one out this long (the next cron minute runs). A live
# cycle that cannot renew its lease for half of it stops itself, before anyone may take over.
LEASE_SECONDS = 10.0
_NO_SUCH_TABLE = 1146


class LockLost(BridgeError):
    """The cycle's lock was lost mid-cycle; the cycle stopped before its next step (exit 1)."""


class HeldLock:
    """The lock a cycle holds. :meth:`check` raises :class:`LockLost` once it is gone."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lost: str | None = None

    def check(self, now: bool = False) -> None:
        """Raise :class:`LockLost` if the lock is gone; ``now``: ask the server first."""
        if self.lost:
            raise LockLost(
                f"the {self.name} lock on this panel was lost ({self.lost}); "
                "the cycle stopped before its next step, the next run goes on from there"
            )


_current: ContextVar[HeldLock | None] = ContextVar("whmcs_bridge_lock", default=None)


def ensure_held(now: bool = False) -> None:
    """Raise :class:`LockLost` when the lock of the cycle running in this thread is gone.

    A no-op outside a cycle (``outbox deliver`` from the CLI, tests)."""
    held = _current.get()
    if held is not None:
        held.check(now)


@contextmanager
def cycle_lock(panel: Panel, name: str = "cycle") -> Iterator[HeldLock]:
    """Hold the panel-wide lock ``name`` or raise :class:`LockHeld` at once."""
    if panel.backend == "sqlite":
        with _file_lock(f"{panel.url.database}.{name}.lock"):
            held = HeldLock(name)
            reset = _current.set(held)
            try:
                yield held
            finally:
                _current.reset(reset)
        return
    lock_name = server_lock_name(panel, name)
    with panel.connect() as conn:
        got = conn.exec_driver_sql("SELECT GET_LOCK(%s, 0)", (lock_name,)).scalar()
        if got != 1:
            raise LockHeld(
                f"another whmcs-bridge {name} holds the lock on this panel; nothing to do"
            )
        server = _ServerLock(panel, conn, name, lock_name)
        try:
            server.take_lease()
        except BaseException:
            _release(conn, lock_name)
            raise
        reset = _current.set(server)
        server.start()
        try:
            yield server
        finally:
            _current.reset(reset)
            server.stop()
            if server.connection_lost:
                log.warning("could not release lock %s (connection lost?)", lock_name)
            else:
                _release(conn, lock_name)


def server_lock_name(panel: Panel, name: str = "cycle") -> str:
    """The ``GET_LOCK`` name of lock ``name`` on this panel's database."""
    digest = hashlib.sha1(str(panel.url.database).encode()).hexdigest()[:16]
    return f"whmcs_bridge:{name}:{digest}"


def lease_key(lock_name: str) -> str:
    """The meta row holding the lease of a server lock."""
    return f"lease:{lock_name}"


class _ServerLock(HeldLock):
    """A ``GET_LOCK`` on a held connection, checked by a heartbeat, backed by a lease row."""

    def __init__(self, panel: Panel, conn: Connection, name: str, lock_name: str) -> None:
        super().__init__(name)
        self.panel, self.conn, self.lock_name = panel, conn, lock_name
        self.key = lease_key(lock_name)
        self.token = uuid.uuid4().hex
        self.leased = False
        self.connection_lost = False
        self.renewed = time.monotonic()
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="whmcs-bridge-lock", daemon=True)

    # --- the lease ----------------------------------------------------------------------------
    def take_lease(self) -> None:
        """Write our lease, or raise :class:`LockHeld` while another cycle's is still fresh.

        No meta table yet (the very first cycle creates it): no lease, and nothing to fear.
        """
        try:
            with self.panel.begin() as conn:
                now = _db_time(conn)
                held = conn.execute(
                    select(meta.c.value).where(meta.c.name == self.key).with_for_update()
                ).scalar()
                if held is None:
                    conn.execute(insert(meta).values(name=self.key, value=self._value(now)))
                else:
                    owner, until = _parse_lease(held)
                    if owner != self.token and until > now:
                        raise LockHeld(
                            f"another whmcs-bridge {self.name} is still running on this panel "
                            f"(its lock connection was lost; its lease ends within "
                            f"{until - now:.0f} s unless it renews it); nothing to do"
                        )
                    conn.execute(
                        update(meta).where(meta.c.name == self.key).values(value=self._value(now))
                    )
        except DBAPIError as exc:
            if getattr(exc.orig, "args", (None,))[0] != _NO_SUCH_TABLE:
                raise
            return
        self.leased = True
        self.renewed = time.monotonic()

    def _value(self, now: float) -> str:
        return f"{self.token} {now + LEASE_SECONDS:.3f}"

    def _renew(self) -> None:
        with self.panel.begin() as conn:
            now = _db_time(conn)
            changed = conn.execute(
                update(meta)
                .where(meta.c.name == self.key, meta.c.value.like(f"{self.token} %"))
                .values(value=self._value(now))
            ).rowcount
        if not changed:
            self._lose("another cycle took over its lease")
        self.renewed = time.monotonic()

    def _drop_lease(self) -> None:
        try:
            with self.panel.begin() as conn:
                conn.execute(
                    delete(meta).where(
                        meta.c.name == self.key, meta.c.value.like(f"{self.token} %")
                    )
                )
        except SQLAlchemyError as exc:
            log.warning("could not end the lease %s (it expires by itself): %s", self.key, exc)

    # --- the heartbeat ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        if self.leased:
            self._drop_lease()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self._verify()
            if self.leased:
                try:
                    self._renew()
                except SQLAlchemyError as exc:
                    log.warning("could not renew the lease %s: %s", self.key, exc)

    def _verify(self) -> None:
        """Ask the server whether the lock's session still holds the lock (keeps it busy too)."""
        with self._mutex:
            if self.connection_lost:
                return
            try:
                mine = self.conn.exec_driver_sql(
                    "SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", (self.lock_name,)
                ).scalar()
            except SQLAlchemyError as exc:
                self.connection_lost = True
                self._lose(f"its connection ended: {type(exc).__name__}")
                return
            if mine != 1:
                self._lose("the server no longer holds it for this cycle")

    def _lose(self, why: str) -> None:
        if self.lost is None:
            self.lost = why
            log.error("the %s lock %s was lost: %s", self.name, self.lock_name, why)

    def check(self, now: bool = False) -> None:
        if now:
            self._verify()
        if self.leased and self.lost is None:
            silent = time.monotonic() - self.renewed
            if silent > LEASE_SECONDS / 2:
                self._lose(f"its lease was not renewed for {silent:.0f} s")
        super().check(now)


def _db_time(conn: Connection) -> float:
    """The server's clock (every host of a panel agrees on it), as a unix time."""
    return float(conn.exec_driver_sql("SELECT UNIX_TIMESTAMP(NOW(6))").scalar() or 0)


def _parse_lease(value: str) -> tuple[str, float]:
    owner, _, until = value.partition(" ")
    try:
        return owner, float(until)
    except ValueError:
        return owner, 0.0


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
