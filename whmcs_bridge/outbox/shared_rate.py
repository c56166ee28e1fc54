"""One rate limit for every worker: send slots handed out through a row of the panel's database.

Several processes may deliver for the same number (two ``serve`` hosts, a ``run`` beside
``serve``); each one's :class:`~whmcs_bridge.outbox.pacing.TokenBucket` only knows its own
sends. So the slots come from one row of ``mod_whmcs_bridge_rate_slots``: ``next_us`` is the
first free slot (microseconds since the epoch). A claim of ``n`` rows reserves ``n`` consecutive
slots with ONE statement inside the claim's transaction::

    start = max(next_us, now);  next_us = start + n * interval;  answer: start - now

and each sending thread waits until its slot. The slots of every worker lie on one timeline,
``interval = (1 + margin + late) / rate`` apart, so any one-second window at the provider holds
at most ``rate`` starts as long as no start is later than ``late`` (a quarter of the margin) after
its slot and the way there adds less than ``margin`` of jitter; a thread later than that (a long
pause) reserves a fresh slot instead of sending late.

Nothing is leased: a worker that dies loses at most the few slots it had reserved (less than a
second of sending), and the others simply take the following ones. The time is the database
server's (``NOW(6)``) on MySQL/MariaDB, so hosts with skewed clocks agree; SQLite lives on one
host, whose clock is used. A ``next_us`` more than ``_MAX_AHEAD_US`` ahead (the server clock
went back) is treated as free, so a clock jump cannot stall delivery.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import BigInteger, Column, Connection, Engine, String, Table, select, text
from sqlalchemy.exc import IntegrityError

from whmcs_bridge.store.tables import PREFIX, metadata

rate_slots = Table(
    f"{PREFIX}rate_slots",
    metadata,
    Column("name", String(64), primary_key=True),  # whose rate: "outbox"
    Column("next_us", BigInteger, nullable=False),  # the first free slot, µs since the epoch
    Column("last_wait_us", BigInteger, nullable=False, server_default="0"),  # the last answer
)

_MAX_AHEAD_US = 60_000_000
_NOW_MYSQL = "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)"
# The first slot is never sooner than ``lead`` from now: the claim still has to commit and hand
# the row to a sending thread, which must not start late (see SharedRate.acquire).
_START = (
    "CASE WHEN next_us > {now} + {ahead} OR next_us < {now} + :lead THEN {now} + :lead "
    "ELSE next_us END"
).format
# MySQL/MariaDB have no UPDATE ... RETURNING: LAST_INSERT_ID(expr) hands the value back in the
# statement's own OK packet (the driver's lastrowid), so the reservation is one round trip. The
# wait is assigned first, from the old next_us, and offset by 1 so 0 means "no answer".
_MYSQL_RESERVE = (
    f"UPDATE {rate_slots.name} SET "
    f"last_wait_us = LAST_INSERT_ID(({_START(now=_NOW_MYSQL, ahead=_MAX_AHEAD_US)}) "
    f"- {_NOW_MYSQL} + 1), "
    f"next_us = ({_START(now=_NOW_MYSQL, ahead=_MAX_AHEAD_US)}) + :span "
    "WHERE name = :name"
)
_SQLITE_RESERVE = (
    f"UPDATE {rate_slots.name} SET "
    f"last_wait_us = ({_START(now=':now', ahead=_MAX_AHEAD_US)}) - :now, "
    f"next_us = ({_START(now=':now', ahead=_MAX_AHEAD_US)}) + :span "
    "WHERE name = :name RETURNING last_wait_us"
)


def reserve_us(
    conn: Connection, name: str, count: int, interval_us: int, lead_us: int = 0
) -> int | None:
    """Reserve ``count`` slots; µs until the first one (None: the row does not exist yet)."""
    span = count * interval_us
    if conn.dialect.name in ("mysql", "mariadb"):
        params = {"span": span, "name": name, "lead": lead_us}
        result = conn.execute(text(_MYSQL_RESERVE), params)
        if not result.rowcount:
            return None
        wait = int(result.lastrowid or 0)
        if wait <= 0:
            raise RuntimeError("the database did not answer the rate reservation")
        return wait - 1
    now = int(time.time() * 1_000_000)
    wait = conn.execute(
        text(_SQLITE_RESERVE), {"span": span, "name": name, "now": now, "lead": lead_us}
    ).scalar_one_or_none()
    return None if wait is None else int(wait)


def create_row(conn: Connection, name: str = "outbox") -> None:
    """The row of one rate, when it is missing (its first slot is free at once)."""
    exists = conn.execute(select(rate_slots.c.name).where(rate_slots.c.name == name)).first()
    if exists is None:
        # Another worker may create it meanwhile; only the statement fails, not the transaction.
        with contextlib.suppress(IntegrityError):
            conn.execute(rate_slots.insert().values(name=name, next_us=0))


def create_table(conn: Connection) -> None:
    """The migration step: the table and the outbox's row, each when missing."""
    rate_slots.create(conn, checkfirst=True)
    create_row(conn)


class SharedRate:
    """Send slots for one rate, shared through the database by every process that sends."""

    def __init__(
        self,
        engine: Engine,
        rate: float,
        margin: float,
        name: str = "outbox",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.engine = engine
        self.name = name
        # Later than this after its slot: a fresh slot. The timeline's spacing adds it to the
        # margin, so `late` plus the jitter on the way to the provider may reach the margin.
        self.late = max(margin / 4, 0.001)
        self.interval = (1.0 + margin + self.late) / rate
        self.lead = margin / 2
        self._gap = 1.0 / rate  # between two real starts of this process
        self._span = 1.0 + margin  # at most floor(rate) real starts of this process in it
        self._last = -math.inf  # the latest start of this process (planned or real)
        self._starts: deque[float] = deque(maxlen=max(1, math.floor(rate)))  # real ones
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    def reserve(self, conn: Connection, count: int) -> list[float]:
        """Reserve ``count`` slots in the caller's transaction: their times on ``clock``."""
        if count <= 0:
            return []
        interval_us = max(1, round(self.interval * 1_000_000))
        lead_us = round(self.lead * 1_000_000)
        wait = reserve_us(conn, self.name, count, interval_us, lead_us)
        if wait is None:
            create_row(conn, self.name)
            wait = reserve_us(conn, self.name, count, interval_us, lead_us)
            assert wait is not None
        first = self._clock() + wait / 1_000_000
        return [first + i * self.interval for i in range(count)]

    def acquire(self, slot: float) -> float:
        """Wait for ``slot`` and start; the seconds waited.

        This process's own starts keep the TokenBucket's two rules, measured on when they really
        went: ``1 / rate`` apart, and at most ``floor(rate)`` in ``1 + margin`` seconds (a thread
        that woke late pushes the next ones, so a late wake-up cannot make a burst at the
        provider). A start that would be later than ``late`` after its slot (a pause, a late
        wake-up) would crowd the next worker's slot: it takes a fresh slot instead. Across
        workers the cap holds while ``late`` plus the jitter on the way to the provider stays
        within the margin.
        """
        waited = 0.0
        while True:
            with self._lock:
                start = max(slot, self._last + self._gap)
                starts = self._starts
                if len(starts) == starts.maxlen:
                    start = max(start, starts[0] + self._span)
                fits = start <= slot + self.late
                if fits:
                    self._last = start
            if fits:
                now = self._clock()
                if start > now:
                    self._sleep(start - now)
                    waited += start - now
                now = self._clock()
                with self._lock:
                    self._last = max(self._last, now)
                    starts = self._starts
                    full = len(starts) == starts.maxlen
                    if full and now < starts[0] + self._span:
                        continue  # another thread went meanwhile: plan again
                    if now <= slot + self.late:
                        starts.append(now)
                        return waited
            with self.engine.begin() as conn:
                slot = self.reserve(conn, 1)[0]
