"""One cycle at a time per panel: a second overlapping run exits at once.

On MySQL/MariaDB the lock is ``GET_LOCK`` on a connection held for the cycle, so it is shared by
every host working on the same panel and released by the server if the process dies. On SQLite
it is an ``flock`` on a file beside the database (held by the process: it cannot be lost).

A server lock can be lost while its cycle goes on: the server drops the idle connection
(``wait_timeout``, a proxy, a failover, ``KILL``) and frees the lock with the session. So:

- a heartbeat thread uses the lock's connection every :data:`HEARTBEAT_SECONDS` (it never sits
  idle) and checks that the session still holds the lock;
- the cycle calls :func:`ensure_held` before each step, each dispatch event and each delivery
  batch, and stops with :class:`LockLost` (exit 1, one line) once the lock is gone;
- a second lock, "alive", held on a second connection for the whole cycle, keeps a second cycle
  out after the first lock alone was lost: the newcomer needs both. A process that dies frees
  both at once, so the next run never waits for a killed one. (A failover that ends every
  session frees both too: the old cycle then stops within a heartbeat.)
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from whmcs_bridge.errors import BridgeError, LockHeld
from whmcs_bridge.panel.database import Panel

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0  # how often the locks' connections are used and checked


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
    alive_name = server_lock_name(panel, f"{name}-alive")
    with ExitStack() as stack:
        conn = stack.enter_context(panel.connect())
        if not _get(conn, lock_name):
            raise LockHeld(
                f"another whmcs-bridge {name} holds the lock on this panel; nothing to do"
            )
        alive = stack.enter_context(panel.connect())
        if not _get(alive, alive_name):
            _release(conn, lock_name)
            raise LockHeld(
                f"another whmcs-bridge {name} is still running on this panel (its lock "
                "connection was lost; it stops at its next step); nothing to do"
            )
        server = _ServerLock(name, {lock_name: conn, alive_name: alive})
        reset = _current.set(server)
        server.start()
        try:
            yield server
        finally:
            _current.reset(reset)
            server.stop()
            # The alive lock last: until the cycle has stopped, no other one may start.
            for held_name, held_conn in ((lock_name, conn), (alive_name, alive)):
                if held_name in server.dead:
                    log.warning("could not release lock %s (connection lost?)", held_name)
                else:
                    _release(held_conn, held_name)


def _get(conn: Connection, lock_name: str) -> bool:
    return conn.exec_driver_sql("SELECT GET_LOCK(%s, 0)", (lock_name,)).scalar() == 1


def server_lock_name(panel: Panel, name: str = "cycle") -> str:
    """The ``GET_LOCK`` name of lock ``name`` on this panel's database."""
    digest = hashlib.sha1(str(panel.url.database).encode()).hexdigest()[:16]
    return f"whmcs_bridge:{name}:{digest}"


class _ServerLock(HeldLock):
    """``GET_LOCK``s on held connections, used and checked by a heartbeat thread."""

    def __init__(self, name: str, locks: dict[str, Connection]) -> None:
        super().__init__(name)
        self.locks = locks
        self.dead: set[str] = set()  # locks whose connection ended
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="whmcs-bridge-lock", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self._verify()

    def _verify(self) -> None:
        """Ask the server whether each session still holds its lock (keeps them busy too)."""
        with self._mutex:
            for lock_name, conn in self.locks.items():
                if lock_name in self.dead:
                    continue
                try:
                    mine = conn.exec_driver_sql(
                        "SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", (lock_name,)
                    ).scalar()
                except SQLAlchemyError as exc:
                    self.dead.add(lock_name)
                    self._lose(f"its connection ended: {type(exc).__name__}")
                    continue
                if mine != 1:
                    self._lose("the server no longer holds it for this cycle")

    def _lose(self, why: str) -> None:
        if self.lost is None:
            self.lost = why
            log.error("the %s lock was lost: %s", self.name, why)

    def check(self, now: bool = False) -> None:
        if now:
            self._verify()
        super().check(now)


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
