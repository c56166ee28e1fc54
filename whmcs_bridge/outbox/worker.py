"""Delivery: claim due rows in small batches, send them a few at a time, record each answer.

Each batch is marked ``sending`` (with ``claimed_at``) and committed before the provider is
called, so a process killed mid-send leaves evidence: the next delivery finds the rows
``sending`` and older than ``sending_stale_seconds`` and treats them as unknown outcomes, never as
unsent. A batch is never larger than the free send slots (``send_concurrency``), so only the
messages really in flight (or about to be, within a few rate-limit ticks) can ever be sent twice.

Sends overlap: a small thread pool keeps up to ``send_concurrency`` requests in flight, all paced
on the moment each request starts by send slots that every worker of the panel shares (each
claim reserves one per row in its own transaction: one cap for all workers, see
:mod:`whmcs_bridge.outbox.shared_rate`). An accepted answer is written in a group with the others
that arrive meanwhile (:mod:`whmcs_bridge.outbox.recorder`); a failed one in the thread's own
transaction. The claiming stays in the calling thread. A channel starts
with one send in flight and doubles up to the limit with every answer that does not stop it, so
a throttle, a pause or a dead token is met by one request, not by a volley. One recipient never
has two sends in flight at once, so its messages keep their order.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from whmcs_bridge.channels.base import Channel, SendError
from whmcs_bridge.lock import LockLost, ensure_held
from whmcs_bridge.outbox import store
from whmcs_bridge.outbox.policy import Decision, decide
from whmcs_bridge.outbox.recorder import SentRecorder
from whmcs_bridge.outbox.service import outgoing
from whmcs_bridge.outbox.tables import DEAD, DUE_STATES, FAILED, QUEUED, UNKNOWN, outbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from whmcs_bridge.outbox.service import Outbox

log = logging.getLogger(__name__)
T = TypeVar("T")

_COUNTS = ("sent", "retry", "unknown", "dead", "fallbacks", "resent")
_CONTENDED_CLAIMS = 5  # deadlocks / lock waits in a row before a delivery gives up for now
_RECORD_ATTEMPTS = 3
_BATCH_DIVISOR = 2


@dataclass
class DeliveryReport:
    """What one delivery did; ``as_dict()`` goes into the cycle report."""

    sent: int = 0
    retry: int = 0
    unknown: int = 0
    dead: int = 0
    fallbacks: int = 0
    recovered: int = 0  # found `sending` from a dead process, now `unknown`
    resent: int = 0  # unknown outcomes sent once more (duplicate_risk)
    stopped: str = ""
    channels: dict[str, str | None] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add(self, other: DeliveryReport) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Outcome:
    """What one send did: its counts, and whether its channel was stopped by the answer."""

    report: DeliveryReport = field(default_factory=DeliveryReport)
    channel_stopped: bool = False


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
    """The sends in flight of one delivery: their futures, recipients and per-channel room."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.running: dict[Future[_Outcome], store.Claimed] = {}
        self.per_channel: Counter[str] = Counter()
        self.cap: dict[str, int] = {}  # slow start: 1, 2, 4 ... concurrency per channel

    def busy(self) -> set[tuple[str, str]]:
        return {(c.row["channel"], c.row["recipient"]) for c in self.running.values()}

    def room(self) -> dict[str, int]:
        names = set(self.cap) | {name for name, n in self.per_channel.items() if n}
        return {name: self.cap.get(name, 1) - self.per_channel[name] for name in names}

    def add(self, future: Future[_Outcome], claim: store.Claimed) -> None:
        self.running[future] = claim
        self.per_channel[claim.row["channel"]] += 1

    def finish(self, future: Future[_Outcome]) -> tuple[store.Claimed, _Outcome]:
        """Forget a finished send; raises what its thread raised."""
        claim = self.running.pop(future)
        name = claim.row["channel"]
        self.per_channel[name] -= 1
        outcome = future.result()
        cap = self.cap.get(name, 1)
        self.cap[name] = 1 if outcome.channel_stopped else min(self.concurrency, cap * 2)
        return claim, outcome


def deliver(box: Outbox, *, limit: int | None, time_budget: float) -> DeliveryReport:
    """Send due messages until none is due, ``limit`` were tried, or the time is up."""
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
    flight = _Flight(max(1, int(settings.send_concurrency)))
    pool = ThreadPoolExecutor(flight.concurrency, thread_name_prefix="outbox-send")
    db = _Connections(panel.engine)
    # Accepted answers are written in groups (one transaction for those that arrive together).
    recorder = SentRecorder(db.begin, _retrying)
    # Claim when a few slots are free (or none is busy): fewer, larger claims.
    batch = max(1, flight.concurrency // _BATCH_DIVISOR)
    failure: BaseException | None = None
    lost: LockLost | None = None
    tried = 0
    contended = 0

    def collect(done: set[Future[_Outcome]]) -> None:
        nonlocal failure
        for future in done:
            try:
                _claim, outcome = flight.finish(future)
            except Exception as exc:  # a database error while recording; the row stays sending
                failure = failure or exc
                continue
            report.add(outcome.report)

    def settle(timeout: float | None) -> None:
        """Wait until a send in flight ends (at most ``timeout`` s) and take in its outcome."""
        done, _ = wait(list(flight.running), timeout=timeout, return_when=FIRST_COMPLETED)
        collect(done)

    try:
        while True:
            collect({f for f in flight.running if f.done()})
            if failure is not None:
                report.stopped = "recording an answer failed"
                break
            if limit is not None and tried >= limit:
                report.stopped = "limit reached"
                break
            if time.monotonic() >= deadline:
                report.stopped = "time budget used"
                break
            free = flight.concurrency - len(flight.running)
            if free < batch and flight.running:
                settle(None)
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
                        window=settings.claim_window,
                        busy=flight.busy(),
                        channel_room=flight.room(),
                        default_room=1,
                    )
                    # One statement: a send slot per claimed row, on every worker's timeline.
                    slots = box.shared_rate.reserve(conn, len(claims))
            except DBAPIError as exc:
                if not store.is_contention(exc):
                    raise
                # Another claimer holds the rows: nothing was claimed (the server rolled back).
                contended += 1
                log.debug("outbox: claim %d hit a lock conflict, trying again: %s", contended, exc)
                if flight.running:
                    settle(0.05)
                elif contended >= _CONTENDED_CLAIMS:
                    report.stopped = "claims contended"
                    break
                else:
                    time.sleep(min(0.01 * 2**contended, 0.5))
                continue
            contended = 0
            if claims:
                tried += len(claims)
                for claim, slot in zip(claims, slots, strict=True):
                    channel = channels.get(claim.row["channel"])
                    future = pool.submit(_send, box, db, claim, channel, slot, recorder)
                    flight.add(future, claim)
                continue
            remaining = deadline - time.monotonic()
            if flight.running:
                # Wait for a send to end (it frees a slot or a recipient), or a held row's time.
                wait_for = remaining
                if held_until is not None:
                    wait_for = min(wait_for, max((held_until - now).total_seconds(), 0.001))
                settle(max(wait_for, 0.0))
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
            settle(None)
        pool.shutdown(wait=True)
        try:
            recorder.flush()
        finally:
            db.close()
    if failure is not None:
        raise failure
    if lost is not None:
        raise lost
    report.channels = box.channel_health()
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _retrying(action: Callable[[], T]) -> T:
    """Run one recording transaction, again after a deadlock or a lock wait timeout."""
    for attempt in range(1, _RECORD_ATTEMPTS + 1):
        try:
            return action()
        except DBAPIError as exc:
            if attempt == _RECORD_ATTEMPTS or not store.is_contention(exc):
                raise
            log.debug("outbox: recording hit a lock conflict, trying again: %s", exc)
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


def _send(
    box: Outbox,
    db: _Connections,
    claim: store.Claimed,
    channel: Channel | None,
    slot: float | None = None,
    recorder: SentRecorder | None = None,
) -> _Outcome:
    """Send one claimed row and record the answer (runs in a sending thread).

    ``slot``: the start its claim reserved on the timeline all workers share (one cap for all).
    """
    outcome = _Outcome()
    report = outcome.report
    row = claim.row
    name, recipient = row["channel"], row["recipient"]
    resend = claim.previous_state == UNKNOWN
    if channel is None:
        error = SendError("channel_broken", f"no enabled plugin offers the channel {name!r}")
        retry_at = box.now() + timedelta(seconds=box.settings.unconfigured_retry_seconds)
        _record_failure(box, db, claim, Decision(QUEUED, retry_at), error, resend, report)
        return outcome
    try:
        message = outgoing(row)
    except (ValueError, TypeError, KeyError) as exc:
        # Stored damaged (cut by a write from before the strict sessions): it can never go.
        error = SendError("permanent", f"the stored message cannot be read: {type(exc).__name__}")
        _record_failure(box, db, claim, Decision(DEAD, None), error, resend, report)
        return outcome
    wait_for = box.spacing.wait_for(name, recipient)
    if wait_for:
        time.sleep(wait_for)
    # Paced right before the call, after the claim's transaction and in the sending thread: the
    # claim's slot on every worker's timeline (or, without one, this process's bucket) lets
    # requests start no closer than the rate allows.
    if slot is None:
        box.bucket.acquire()
    else:
        box.shared_rate.acquire(slot)
    box.spacing.mark(name, recipient)
    try:
        result = channel.send(message)
    except SendError as exc:
        error = exc
    except Exception as exc:
        # A channel's own bug: the request may or may not have left, so it is an unknown outcome.
        log.exception("outbox %s: channel %s failed unexpectedly", claim.id, name)
        error = SendError("unknown", f"channel {name} raised {type(exc).__name__}")
    else:
        if recorder is not None:
            recorder.record(claim, result, box.now(), resend)
        else:

            def record() -> None:
                with db.begin() as conn:
                    store.record_sent(conn, claim, result, box.now(), resend)

            _retrying(record)
        report.sent += 1
        report.resent += int(resend)
        log.info("outbox %s: sent via %s%s", claim.id, name, " (re-send)" if resend else "")
        return outcome
    decision = decide(
        error=error,
        channel=name,
        failures=int(row["failures"]),
        recipient_holds=int(row["holds"]),
        duplicate_risk=bool(row["duplicate_risk"]) or resend,
        now=box.now(),
        settings=box.settings,
    )
    _record_failure(box, db, claim, decision, error, resend, report)
    outcome.channel_stopped = decision.channel is not None
    return outcome


def _record_failure(
    box: Outbox,
    db: _Connections,
    claim: store.Claimed,
    decision: Decision,
    error: SendError,
    resend: bool,
    report: DeliveryReport,
) -> None:
    row = claim.row
    now = box.now()

    def record() -> bool:
        with db.begin() as conn:
            changed = store.record_failure(conn, claim, decision, error, now, resend)
            if decision.channel is not None:
                store.set_channel_state(conn, row["channel"], decision.channel, now)
            if decision.hold_recipient_until is not None:
                store.hold_recipient(
                    conn, row["channel"], row["recipient"], decision.hold_recipient_until
                )
            return changed and decision.fallback and box.enqueue_fallback(conn, row) is not None

    if _retrying(record):
        report.fallbacks += 1
    serious = decision.state in (DEAD, UNKNOWN) or decision.channel is not None
    level = logging.WARNING if serious else logging.INFO
    log.log(level, "outbox %s: %s via %s -> %s", claim.id, error, row["channel"], decision.state)
    if decision.state == DEAD:
        report.dead += 1
    elif decision.state == UNKNOWN:
        report.unknown += 1
    elif decision.state in (FAILED, QUEUED):
        report.retry += 1
