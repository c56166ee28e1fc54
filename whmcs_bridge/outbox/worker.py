"""Delivery: claim due rows in batches, send them from many threads, record the answers.

Each batch is marked ``sending`` (with ``claimed_at``) and committed before the provider is
called, so a process killed mid-send leaves evidence: the next delivery finds the rows
``sending`` and older than ``sending_stale_seconds`` and treats them as unknown outcomes, never as
unsent. A batch is never larger than the free places in flight, so only the messages really in
flight (or waiting their turn within the rate, a fraction of a second) can ever be sent twice.

Sends overlap: the sending threads (:mod:`whmcs_bridge.outbox.sending`) keep as many requests
in flight as the rate and the provider's answer time need, up to ``send_concurrency``, all paced
on the moment each request starts within this worker's share of the one rate every worker of
the panel shares (renewed twice a second in the claim's transaction, see
:mod:`whmcs_bridge.outbox.shared_rate`). Accepted answers are written in groups, one statement
each (:mod:`whmcs_bridge.outbox.recorder`); a failed one in the thread's own transaction. The
claiming stays in the calling thread. A channel starts with one send in flight and doubles up
to the limit with every answer that does not stop it, so a throttle, a pause or a dead token is
met by one request, not by a volley. One recipient never has two sends in flight at once, so
its messages keep their order.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from whmcs_bridge.lock import LockLost, ensure_held
from whmcs_bridge.outbox import store
from whmcs_bridge.outbox.recorder import SentRecorder
from whmcs_bridge.outbox.sending import (
    DeliveryReport,
    Finished,
    Outcome,
    Senders,
    retrying,
)
from whmcs_bridge.outbox.shared_rate import REFRESH_SECONDS, register
from whmcs_bridge.outbox.tables import DUE_STATES, outbox

if TYPE_CHECKING:
    from whmcs_bridge.outbox.service import Outbox

__all__ = ["DeliveryReport", "deliver"]

log = logging.getLogger(__name__)

_CONTENDED_CLAIMS = 5  # deadlocks / lock waits in a row before a delivery gives up for now
_BATCH_DIVISOR = 2
_LATENCY_WEIGHT = 0.05  # of each new answer time in the moving average
_MIN_IN_FLIGHT = 4
_RESERVE_SECONDS = 0.25
_RESERVE_MOST = 32


class _Connections:
    """Database connections for the threads of one delivery.

    A checkout from the pool for every transaction costs a ping and a pool round; a delivery
    makes thousands of short transactions, so the first threads keep their own connection until
    the delivery ends. Never more than the pool's steady size less one: the other threads (a
    large ``send_concurrency``) check one out per transaction, so nobody waits on the pool.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._opened: list[Connection] = []
        self._lock = threading.Lock()
        size = getattr(engine.pool, "size", None)
        self._keep = max(1, (size() if callable(size) else 1) - 1)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection for this thread, in a transaction committed on success."""
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                if len(self._opened) < self._keep:
                    conn = self._engine.connect()
                    self._opened.append(conn)
                    self._local.conn = conn
        if conn is None:
            with self._engine.begin() as own:
                yield own
            return
        with conn.begin():
            yield conn

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()


class _Flight:
    """The sends in flight of one delivery: their claims, recipients and per-channel room.

    How many may be in flight follows the provider's answer time: to keep ``rate`` requests a
    second going, ``rate x answer time`` must be waiting for their answer, and more waiting for
    their turn (a claim hands over all its rows at once). So the limit is three times that, plus
    a reserve, at most ``most`` (``send_concurrency``); the answer time is a moving average,
    starting from a guess of 50 ms.
    """

    def __init__(self, rate: float, most: int, cap: dict[str, int], latency: float) -> None:
        self.rate = rate
        self.most = most
        self.latency = latency
        self.running: dict[int, store.Claimed] = {}
        self.per_channel: Counter[str] = Counter()
        self.cap = cap  # slow start: 1, 2, 4 ... concurrency per channel

    @property
    def concurrency(self) -> int:
        # A reserve of a quarter second's sends (at most 32) rides out a claim that waits on
        # the database (a commit's fsync stalled 300 ms once, and 80/s went idle meanwhile).
        reserve = min(math.ceil(self.rate * _RESERVE_SECONDS), _RESERVE_MOST)
        wanted = math.ceil(3 * self.rate * self.latency) + reserve + _MIN_IN_FLIGHT
        return max(1, min(self.most, wanted))

    def busy(self) -> set[tuple[str, str]]:
        return {(c.row["channel"], c.row["recipient"]) for c in self.running.values()}

    def room(self) -> dict[str, int]:
        names = set(self.cap) | {name for name, n in self.per_channel.items() if n}
        return {name: self.cap.get(name, 1) - self.per_channel[name] for name in names}

    def add(self, claim: store.Claimed) -> None:
        self.running[claim.id] = claim
        self.per_channel[claim.row["channel"]] += 1

    def finish(self, claim: store.Claimed, outcome: Outcome) -> None:
        """Forget a finished send; its answer widens or resets its channel's room."""
        del self.running[claim.id]
        name = claim.row["channel"]
        self.per_channel[name] -= 1
        cap = self.cap.get(name, 1)
        self.cap[name] = 1 if outcome.channel_stopped else min(self.most, cap * 2)
        if outcome.seconds:
            self.latency += (outcome.seconds - self.latency) * _LATENCY_WEIGHT


_SWITCH_SECONDS = 0.0005
_switching = threading.Lock()
_deliveries = 0
_switch_before = 0.0


@contextmanager
def _quick_switches() -> Iterator[None]:
    """The interpreter's thread switch interval at 0.5 ms while a delivery runs (5 ms default).

    A sending thread that wakes for its turn, or is about to write its request, waits for the
    GIL until the thread holding it (a claim turning rows into dicts) lets go: up to the switch
    interval. That wait lands between the start the rate counted and the moment the request
    reaches the provider, so it is jitter the rate's margin must cover.
    """
    global _deliveries, _switch_before
    with _switching:
        if _deliveries == 0:
            _switch_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_before, _SWITCH_SECONDS))
        _deliveries += 1
    try:
        yield
    finally:
        with _switching:
            _deliveries -= 1
            if _deliveries == 0:
                sys.setswitchinterval(_switch_before)


def deliver(box: Outbox, *, limit: int | None, time_budget: float) -> DeliveryReport:
    """Send due messages until none is due, ``limit`` were tried, or the time is up."""
    with _quick_switches():
        return _deliver(box, limit=limit, time_budget=time_budget)


def _deliver(box: Outbox, *, limit: int | None, time_budget: float) -> DeliveryReport:
    report = DeliveryReport()
    started = time.monotonic()
    deadline = started + time_budget
    panel = box.panel
    if box.dry_run:
        with panel.connect() as conn:
            due = conn.execute(
                outbox.select().where(
                    outbox.c.state.in_(DUE_STATES), outbox.c.next_attempt_at <= box.now()
                )
            ).all()
        report.stopped = f"dry run: {len(due)} message(s) due, none sent"
        return report
    settings = box.settings
    with panel.begin() as conn:
        recovered = store.recover_stale(
            conn, box.now(), settings.sending_stale_seconds, settings.unknown_grace_seconds
        )
    for row_id in recovered:
        log.warning("outbox %s: its delivery stopped mid-send; outcome unknown", row_id)
    report.recovered = len(recovered)
    channels = box.channels
    token = uuid.uuid4().hex
    # The previous delivery of this process left each channel's room and the answer time: a
    # channel that was answering well goes on at full speed, not from one send again.
    room, latency = box.delivery_memory
    flight = _Flight(settings.rate_per_second, max(1, settings.send_concurrency), room, latency)
    db = _Connections(panel.engine)
    # Accepted answers are written in groups (one statement for those that arrive together).
    recorder = SentRecorder(db.begin, retrying)
    senders = Senders(box, db.begin, recorder)
    shared_rate = box.shared_rate
    sending = False  # registered for a share of the rate: only once there is something to send
    failure: BaseException | None = None
    lost: LockLost | None = None
    tried = 0
    contended = 0

    def keep_share() -> None:
        """Renew this worker's share of the rate when due (the sending threads wait on it)."""
        if sending and shared_rate.due():
            with db.begin() as conn:
                shared_rate.refresh(conn)
            shared_rate.confirm()

    def wait(timeout: float | None) -> None:
        """Take in the sends that end within ``timeout`` (None: the first one), renewing the
        share meanwhile."""
        first = REFRESH_SECONDS if timeout is None else min(timeout, REFRESH_SECONDS)
        before = len(flight.running)
        collect(senders.finished(first))
        while timeout is None and len(flight.running) == before and flight.running:
            keep_share()
            collect(senders.finished(REFRESH_SECONDS))
        keep_share()

    def collect(finished: Iterator[Finished]) -> None:
        nonlocal failure
        for claim, outcome in finished:
            if isinstance(outcome, BaseException):
                # A database error while recording; the row stays sending (an unknown outcome).
                del flight.running[claim.id]
                flight.per_channel[claim.row["channel"]] -= 1
                failure = failure or outcome
                continue
            flight.finish(claim, outcome)
            report.add(outcome.report)

    try:
        while True:
            collect(senders.finished(0))
            if failure is not None:
                report.stopped = "recording an answer failed"
                break
            if limit is not None and tried >= limit:
                report.stopped = "limit reached"
                break
            if time.monotonic() >= deadline:
                report.stopped = "time budget used"
                break
            concurrency = flight.concurrency
            free = concurrency - len(flight.running)
            # Claim when half the slots are free (or none is busy): fewer, larger claims.
            if free < max(1, concurrency // _BATCH_DIVISOR) and flight.running:
                wait(None)
                continue
            if limit is not None:
                free = min(free, limit - tried)
            try:
                ensure_held()  # a cycle that lost its lock claims no more (another may run)
            except LockLost as exc:
                lost = exc
                report.stopped = "the cycle lock was lost"
                break
            now = box.now()
            try:
                with db.begin() as conn:
                    # Stopped channels are left out by the claim itself (channel_states).
                    claims, held_until = store.claim_due(
                        conn,
                        now=now,
                        token=token,
                        limit=free,
                        blocked=set(),
                        spacing=settings.min_interval_per_recipient,
                        skip_locked=box.skip_locked,
                        is_mysql=box.is_mysql,
                        window=max(settings.claim_window, free),
                        busy=flight.busy(),
                        channel_room=flight.room(),
                        default_room=1,
                    )
                    if sending and shared_rate.due():
                        shared_rate.refresh(conn)  # this worker's share of the one rate
                shared_rate.confirm()  # committed: the renewed share counts
            except DBAPIError as exc:
                if not store.is_contention(exc):
                    raise
                # Another claimer holds the rows: nothing was claimed (the server rolled back).
                contended += 1
                log.debug("outbox: claim %d hit a lock conflict, trying again: %s", contended, exc)
                if flight.running:
                    wait(0.05)
                elif contended >= _CONTENDED_CLAIMS:
                    report.stopped = "claims contended"
                    break
                else:
                    time.sleep(min(0.01 * 2**contended, 0.5))
                continue
            contended = 0
            if claims:
                if not sending:
                    # An idle delivery costs no statement for the rate; a busy one joins the
                    # others (its own transaction) and takes its share before the first send.
                    register(db.begin, shared_rate)
                    sending = True
                    keep_share()
                tried += len(claims)
                senders.grow(len(flight.running) + len(claims))
                for claim in claims:
                    flight.add(claim)
                    senders.submit(claim, channels.get(claim.row["channel"]))
                continue
            remaining = deadline - time.monotonic()
            if flight.running:
                # Wait for a send to end (it frees a slot or a recipient), or a held row's time.
                wait_for = remaining
                if held_until is not None:
                    wait_for = min(wait_for, max((held_until - now).total_seconds(), 0.001))
                wait(max(wait_for, 0.001))
                continue
            if held_until is None:
                report.stopped = "nothing due"
                break
            pause = (held_until - now).total_seconds()
            if pause >= remaining:
                report.stopped = "next message waits for recipient spacing"
                break
            box.clock.sleep(pause)
    finally:
        # Every claimed row is sent and recorded before the delivery returns.
        while flight.running:
            try:
                keep_share()
            except Exception as exc:  # the sends waiting for a share give up in time (NoShare)
                log.warning("outbox: the share of the rate could not be renewed: %s", exc)
            collect(senders.finished(REFRESH_SECONDS))
        senders.stop()
        box.delivery_memory = (flight.cap, flight.latency)
        try:
            recorder.flush()
        finally:
            if sending:
                shared_rate.release(db.begin)
            db.close()
    if failure is not None:
        raise failure
    if lost is not None:
        raise lost
    report.channels = box.channel_health()
    report.seconds = round(time.monotonic() - started, 3)
    return report
