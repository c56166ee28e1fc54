"""One rate limit for every worker: each holds a leased share of it, paced on its own real starts.

Several processes may deliver for the same number (two ``serve`` hosts, a ``run`` beside
``serve``). Each registers a row in ``mod_whmcs_bridge_rate_shares`` and refreshes it twice a
second (in its claim's transaction); the refresh gives it a share of ``rate_per_second``:

    share = min(rate / live workers, rate - what the others still hold)

and paces its own sends at that share with a :class:`~whmcs_bridge.outbox.pacing.TokenBucket`,
counted on the moments its requests really start. So a late thread costs nothing but its own
lateness (no slot is wasted, no statement is made per send), and a worker alone uses the whole
rate: the only allowance is ``rate_margin_seconds`` for the jitter between our start and the
provider's clock.

The sum of the shares never exceeds the rate at the provider:

* a worker that lowers its share (another joined) keeps holding the old one, in the others' eyes,
  for ``1 + margin`` seconds: its starts of the last second are still in the provider's window;
* a worker may use its share only while its lease is valid: until ``lease`` seconds after it
  asked for it, on its own monotonic clock. The others count a worker until ``lease`` seconds
  after its last refresh, on the database's clock, and its share for ``1 + margin`` more. A
  worker that dies (or stalls) is counted that long, then its part goes to the others.
* times are the database server's (``NOW(6)``) on MySQL/MariaDB, so hosts with skewed clocks
  agree; SQLite lives on one host, whose clock is used.

A delivery that ends gives its share back at once (it is still counted for ``1 + margin``).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    String,
    Table,
    and_,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from whmcs_bridge.outbox.pacing import TokenBucket
from whmcs_bridge.store.tables import PREFIX, metadata

rate_shares = Table(
    f"{PREFIX}rate_shares",
    metadata,
    Column("name", String(64), primary_key=True),  # whose rate: "outbox"
    Column("worker", String(32), primary_key=True),  # one per Outbox (process)
    Column("share_milli", BigInteger, nullable=False),  # messages/s x 1000 it may send now
    Column("held_milli", BigInteger, nullable=False),  # what the others count until held_until
    Column("held_until_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),  # counted as alive until then
)
s = rate_shares.c

REFRESH_SECONDS = 0.5
LEASE_SECONDS = 3.0
GIVE_UP_SECONDS = 30.0  # a send that got no share for this long is handed back (transient)
_NOW_MYSQL = "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)"

Begin = Callable[[], AbstractContextManager[Connection]]


class NoShare(Exception):
    """No share of the rate could be had in time (other workers hold it, or no refresh worked)."""


def create_table(conn: Connection) -> None:
    """The migration step: the table, when missing."""
    rate_shares.create(conn, checkfirst=True)


def _server_now_us(conn: Connection) -> int:
    if conn.dialect.name in ("mysql", "mariadb"):
        return int(conn.execute(text(f"SELECT {_NOW_MYSQL}")).scalar_one())
    return int(time.time() * 1_000_000)


@dataclass(frozen=True)
class _Row:
    worker: str
    share: int
    held: int
    held_until: int
    expires: int

    @classmethod
    def of(cls, row: Any) -> _Row:
        return cls(row.worker, row.share_milli, row.held_milli, row.held_until_us, row.expires_us)

    def counted(self, now: int, hold: int) -> int:
        """What this worker may still be sending at, as far as another worker can tell."""
        if now >= self.expires + hold:
            return 0  # dead, and its last window is over
        share = 0 if now >= self.expires else self.share
        return max(share, self.held if now < self.held_until else 0)


class SharedRate:
    """This worker's share of one rate, leased through the database, and its local pacing."""

    def __init__(
        self,
        rate: float,
        margin: float,
        name: str = "outbox",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        lease: float = LEASE_SECONDS,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.rate = rate
        self.margin = margin
        self.name = name
        self.worker = uuid.uuid4().hex
        self.lease = lease
        self._hold_us = round((1.0 + margin) * 1_000_000)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._share = 0.0
        self._valid_until = -1.0  # local monotonic time the lease holds until
        self._next_refresh = -1.0
        self._pending: tuple[float, float] | None = None  # refreshed, not yet committed
        self.bucket = TokenBucket(rate, margin=margin, clock=clock, sleep=sleep)

    @property
    def share(self) -> float:
        """Messages per second this worker may send now (0 while it has no valid lease)."""
        with self._lock:
            return self._share if self._clock() < self._valid_until else 0.0

    def due(self) -> bool:
        return self._clock() >= self._next_refresh

    def refresh(self, conn: Connection) -> float:
        """Renew this worker's lease and share in the caller's transaction; the new share, used
        once :meth:`confirm` is called after the transaction committed (rolled back, the others
        never saw it: using it would count on a lease they do not know of)."""
        asked_at = self._clock()
        if conn.dialect.name not in ("mysql", "mariadb"):
            # SQLite reads outside a write lock: take it first (a write), as the others must.
            conn.execute(
                update(rate_shares)
                .where(s.name == self.name, s.worker == self.worker)
                .values(expires_us=s.expires_us)
            )
        query = select(rate_shares).where(s.name == self.name).order_by(s.worker)
        if conn.dialect.name in ("mysql", "mariadb"):
            query = query.with_for_update()  # refreshes of one rate take turns
        rows = [_Row.of(r) for r in conn.execute(query)]
        now = _server_now_us(conn)
        hold = self._hold_us
        mine = next((r for r in rows if r.worker == self.worker), None)
        others = [r for r in rows if r.worker != self.worker]
        alive = 1 + sum(1 for r in others if r.expires > now)
        taken = sum(r.counted(now, hold) for r in others)
        rate_milli = round(self.rate * 1000)
        share = max(0, min(rate_milli // alive, rate_milli - taken))
        held, held_until = share, now
        if mine is not None:
            holding = mine.held if now < mine.held_until else 0
            if share < mine.share:
                # Lowered: our starts of the last second are still in the provider's window.
                held, held_until = max(mine.share, holding), now + hold
            elif holding:
                held, held_until = max(share, holding), mine.held_until
        values = {
            "share_milli": share,
            "held_milli": held,
            "held_until_us": held_until,
            "expires_us": now + round(self.lease * 1_000_000),
        }
        where = and_(s.name == self.name, s.worker == self.worker)
        kept = mine is not None and conn.execute(update(rate_shares).where(where).values(values))
        if not kept or not kept.rowcount:
            conn.execute(insert(rate_shares).values(name=self.name, worker=self.worker, **values))
        dead = [r.worker for r in others if now >= r.expires + hold]
        if dead:
            conn.execute(delete(rate_shares).where(s.name == self.name, s.worker.in_(dead)))
        self._pending = (share / 1000, asked_at)
        return share / 1000

    def confirm(self) -> None:
        """The transaction of the last :meth:`refresh` committed: use its share and lease."""
        if self._pending is None:
            return
        share, asked_at = self._pending
        self._pending = None
        with self._changed:
            self._share = share
            self._valid_until = asked_at + self.lease
            self._next_refresh = asked_at + REFRESH_SECONDS
            if share > 0:
                self.bucket.set_rate(share)
            self._changed.notify_all()

    def release(self, begin: Begin) -> None:
        """Give the share back (the delivery ends): the others may take it once the provider's
        window has passed our last starts. A failure here only leaves the lease to expire."""
        with self._changed:
            self._valid_until = -1.0
            self._next_refresh = -1.0
        with contextlib.suppress(Exception), begin() as conn:
            where = and_(s.name == self.name, s.worker == self.worker)
            row = conn.execute(select(rate_shares).where(where)).first()
            if row is None:
                return
            now = _server_now_us(conn)
            mine = _Row.of(row)
            conn.execute(
                update(rate_shares)
                .where(where)
                .values(
                    share_milli=0,
                    held_milli=mine.counted(now, self._hold_us),
                    held_until_us=now + self._hold_us,
                    expires_us=now,
                )
            )

    def acquire(self, give_up: float = GIVE_UP_SECONDS) -> float:
        """Wait for this worker's turn within its share; the seconds waited.

        Raises :class:`NoShare` after ``give_up`` seconds without a valid share (the main
        thread refreshes it; a database that stopped answering stops the sends too).
        """
        started = self._clock()
        while True:
            with self._changed:
                while not (self._share > 0 and self._clock() < self._valid_until):
                    left = started + give_up - self._clock()
                    if left <= 0:
                        raise NoShare("no share of the rate was granted in time")
                    self._changed.wait(min(left, REFRESH_SECONDS))
            self.bucket.acquire()
            if self._clock() < self._valid_until:
                return self._clock() - started
            # The lease ran out while this thread waited for its turn: wait for a renewal.

    def ready(self) -> None:
        """This thread's request is about to be written (see TokenBucket.ready)."""
        self.bucket.ready()

    def written(self) -> None:
        """This thread's request has left: count it now (see TokenBucket.written)."""
        self.bucket.written()


def register(begin: Begin, rate: SharedRate) -> None:
    """Insert this worker's row (its own transaction, so that refreshes never insert under
    each other's locks): alive for a lease, with no share yet, so the others make room for it
    at their next refresh. A worker already registered is left as it is."""
    with begin() as conn:
        exists = conn.execute(
            select(s.worker).where(s.name == rate.name, s.worker == rate.worker)
        ).first()
        if exists is None:
            now = _server_now_us(conn)
            with contextlib.suppress(IntegrityError):
                conn.execute(
                    insert(rate_shares).values(
                        name=rate.name,
                        worker=rate.worker,
                        share_milli=0,
                        held_milli=0,
                        held_until_us=0,
                        expires_us=now + round(rate.lease * 1_000_000),
                    )
                )
