"""The sending threads of one delivery: each takes a claimed row, sends it, records the answer.

A fixed set of threads (``send_concurrency``) waits on one queue; the delivery's main thread puts
claimed rows on it and reads what each send did from another queue. Nothing is created per
message (no future, no waiter): at a thousand messages a second, that bookkeeping costed more
than the request itself.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from whmcs_bridge.channels.base import Channel, SendError
from whmcs_bridge.channels.written import on_request
from whmcs_bridge.outbox import store
from whmcs_bridge.outbox.policy import Decision, decide
from whmcs_bridge.outbox.recorder import SentRecorder
from whmcs_bridge.outbox.service import outgoing
from whmcs_bridge.outbox.shared_rate import NoShare
from whmcs_bridge.outbox.tables import DEAD, FAILED, QUEUED, UNKNOWN

if TYPE_CHECKING:
    from whmcs_bridge.outbox.service import Outbox

log = logging.getLogger(__name__)
T = TypeVar("T")

COUNTS = ("sent", "retry", "unknown", "dead", "fallbacks", "resent")
_RECORD_ATTEMPTS = 3

Begin = Callable[[], AbstractContextManager[Connection]]


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
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Outcome:
    """What one send did: its counts, and whether its channel was stopped by the answer."""

    report: DeliveryReport = field(default_factory=DeliveryReport)
    channel_stopped: bool = False
    seconds: float = 0.0  # how long the provider took to answer (0: no request was made)


# A finished send: its claim, and its outcome or what its thread raised (a database error).
Finished = tuple[store.Claimed, Outcome | BaseException]


class Senders:
    """``count`` threads sending the claims put on :meth:`submit`; :meth:`finished` gives back
    what each did, in the order they ended."""

    def __init__(self, box: Outbox, begin: Begin, recorder: SentRecorder) -> None:
        self._todo: queue.SimpleQueue[tuple[store.Claimed, Channel | None] | None]
        self._todo = queue.SimpleQueue()
        self._done: queue.SimpleQueue[Finished] = queue.SimpleQueue()
        self._box, self._begin, self._recorder = box, begin, recorder
        self._threads: list[threading.Thread] = []

    def submit(self, claim: store.Claimed, channel: Channel | None) -> None:
        self._todo.put((claim, channel))

    def grow(self, count: int) -> None:
        """At least ``count`` threads (one per send in flight); they are started as needed."""
        while len(self._threads) < count:
            thread = threading.Thread(
                target=self._run, name=f"outbox-send-{len(self._threads)}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def finished(self, timeout: float | None) -> Iterator[Finished]:
        """Sends that ended: waits up to ``timeout`` (None: for ever) for the first one."""
        try:
            yield self._done.get(timeout=timeout) if timeout != 0 else self._done.get_nowait()
        except queue.Empty:
            return
        while True:
            try:
                yield self._done.get_nowait()
            except queue.Empty:
                return

    def stop(self) -> None:
        """Let every thread finish its send and end (the caller has collected every outcome)."""
        for _ in self._threads:
            self._todo.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        while (item := self._todo.get()) is not None:
            claim, channel = item
            try:
                result: Outcome | BaseException = send(
                    self._box, self._begin, claim, channel, self._recorder
                )
            except BaseException as exc:  # handed to the main thread, which stops the delivery
                result = exc
            self._done.put((claim, result))


def retrying(action: Callable[[], T]) -> T:
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


def send(
    box: Outbox,
    begin: Begin,
    claim: store.Claimed,
    channel: Channel | None,
    recorder: SentRecorder | None = None,
) -> Outcome:
    """Send one claimed row and record the answer (runs in a sending thread)."""
    outcome = Outcome()
    report = outcome.report
    row = claim.row
    name, recipient = row["channel"], row["recipient"]
    resend = claim.previous_state == UNKNOWN
    if channel is None:
        error = SendError("channel_broken", f"no enabled plugin offers the channel {name!r}")
        retry_at = box.now() + timedelta(seconds=box.settings.unconfigured_retry_seconds)
        record_failure(box, begin, claim, Decision(QUEUED, retry_at), error, resend, report)
        return outcome
    try:
        message = outgoing(row)
    except (ValueError, TypeError, KeyError) as exc:
        # Stored damaged (cut by a write from before the strict sessions): it can never go.
        error = SendError("permanent", f"the stored message cannot be read: {type(exc).__name__}")
        record_failure(box, begin, claim, Decision(DEAD, None), error, resend, report)
        return outcome
    wait_for = box.spacing.wait_for(name, recipient)
    if wait_for:
        time.sleep(wait_for)
    # Paced right before the call, in the sending thread, within this worker's share of the one
    # rate every worker shares: requests start no closer than the share allows.
    try:
        box.shared_rate.acquire()
    except NoShare as exc:
        error = SendError("transient", f"not sent: {exc}")
        retry_at = box.now() + timedelta(seconds=box.settings.retry_base_seconds)
        record_failure(box, begin, claim, Decision(QUEUED, retry_at), error, resend, report)
        return outcome
    box.spacing.mark(name, recipient)
    began = time.monotonic()
    try:
        with on_request(box.shared_rate.ready, box.shared_rate.written):
            result = channel.send(message)
    except SendError as exc:
        error = exc
    except Exception as exc:
        # A channel's own bug: the request may or may not have left, so it is an unknown outcome.
        log.exception("outbox %s: channel %s failed unexpectedly", claim.id, name)
        error = SendError("unknown", f"channel {name} raised {type(exc).__name__}")
    else:
        outcome.seconds = time.monotonic() - began
        if recorder is not None:
            recorder.record(claim, result, box.now(), resend)
        else:

            def record() -> None:
                with begin() as conn:
                    store.record_sent(conn, claim, result, box.now(), resend)

            retrying(record)
        report.sent += 1
        report.resent += int(resend)
        log.info("outbox %s: sent via %s%s", claim.id, name, " (re-send)" if resend else "")
        return outcome
    outcome.seconds = time.monotonic() - began
    decision = decide(
        error=error,
        channel=name,
        failures=int(row["failures"]),
        recipient_holds=int(row["holds"]),
        duplicate_risk=bool(row["duplicate_risk"]) or resend,
        now=box.now(),
        settings=box.settings,
    )
    record_failure(box, begin, claim, decision, error, resend, report)
    outcome.channel_stopped = decision.channel is not None
    return outcome


def record_failure(
    box: Outbox,
    begin: Begin,
    claim: store.Claimed,
    decision: Decision,
    error: SendError,
    resend: bool,
    report: DeliveryReport,
) -> None:
    """Store a failed send, its channel's and its recipient's stop, and queue its fallback."""
    row = claim.row
    now = box.now()

    def record() -> bool:
        with begin() as conn:
            changed = store.record_failure(conn, claim, decision, error, now, resend)
            if decision.channel is not None:
                store.set_channel_state(conn, row["channel"], decision.channel, now)
            if decision.hold_recipient_until is not None:
                store.hold_recipient(
                    conn, row["channel"], row["recipient"], decision.hold_recipient_until
                )
            return changed and decision.fallback and box.enqueue_fallback(conn, row) is not None

    if retrying(record):
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
