"""Delivery: claim one due row at a time, send it, record the answer, decide what comes next.

Each row is marked ``sending`` (with ``claimed_at``) and committed before the provider is called,
so a process killed mid-send leaves evidence: the next delivery finds the row ``sending`` and
older than ``sending_stale_seconds`` and treats it as an unknown outcome, never as unsent. Rows
are claimed one by one so only the message really in flight can ever be sent twice.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from whmcs_bridge.outbox import store
from whmcs_bridge.outbox.policy import Decision, decide
from whmcs_bridge.outbox.service import outgoing
from whmcs_bridge.outbox.tables import DEAD, DUE_STATES, FAILED, QUEUED, UNKNOWN, outbox
from whmcs_bridge.plugins.channels.base import Channel, SendError

if TYPE_CHECKING:
    from whmcs_bridge.outbox.service import Outbox

log = logging.getLogger(__name__)


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


def deliver(box: Outbox, *, limit: int | None, time_budget: float) -> DeliveryReport:
    """Send due messages until none is due, ``limit`` were tried, or the time is up."""
    report = DeliveryReport()
    started = time.monotonic()
    deadline = started + time_budget
    panel = box.bridge.panel
    if box.bridge.dry_run:
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
    tried = 0
    while True:
        if limit is not None and tried >= limit:
            report.stopped = "limit reached"
            break
        if time.monotonic() >= deadline:
            report.stopped = "time budget used"
            break
        now = box.now()
        with panel.begin() as conn:
            blocked = set(store.channel_blocks(conn, now))
            claims, held_until = store.claim_due(
                conn,
                now=now,
                token=token,
                limit=1,
                blocked=blocked,
                spacing=settings.min_interval_per_recipient,
                skip_locked=box.skip_locked,
                is_mysql=box.is_mysql,
                window=settings.claim_window,
            )
        if not claims:
            if held_until is None:
                report.stopped = "nothing due"
                break
            wait = (held_until - now).total_seconds()
            if time.monotonic() + wait >= deadline:
                report.stopped = "next message waits for recipient spacing"
                break
            time.sleep(wait)
            if box.now() == now:
                report.stopped = "clock is not moving"  # a fixed test clock
                break
            continue
        tried += 1
        _send(box, claims[0], channels.get(claims[0].row["channel"]), report)
    report.channels = box.channel_health()
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _send(
    box: Outbox, claim: store.Claimed, channel: Channel | None, report: DeliveryReport
) -> None:
    row = claim.row
    name, recipient = row["channel"], row["recipient"]
    resend = claim.previous_state == UNKNOWN
    if channel is None:
        error = SendError("channel_broken", f"no enabled plugin offers the channel {name!r}")
        retry_at = box.now() + timedelta(seconds=box.settings.unconfigured_retry_seconds)
        _record_failure(box, claim, error, Decision(QUEUED, retry_at), resend, report)
        return
    wait = box.spacing.wait_for(name, recipient)
    if wait:
        time.sleep(wait)
    # Paced right before the call, after the claim's transaction: a slow claim must not let two
    # sends start closer together than the rate allows.
    box.bucket.acquire()
    box.spacing.mark(name, recipient)
    try:
        result = channel.send(outgoing(row))
    except SendError as exc:
        error = exc
    except Exception as exc:
        # A channel's own bug: the request may or may not have left, so it is an unknown outcome.
        log.exception("outbox %s: channel %s failed unexpectedly", claim.id, name)
        error = SendError("unknown", f"channel {name} raised {type(exc).__name__}")
    else:
        with box.bridge.panel.begin() as conn:
            store.record_sent(conn, claim, result, box.now(), resend)
        report.sent += 1
        report.resent += int(resend)
        log.info("outbox %s: sent via %s%s", claim.id, name, " (re-send)" if resend else "")
        return
    decision = decide(
        error=error,
        channel=name,
        failures=int(row["failures"]),
        recipient_holds=int(row["holds"]),
        duplicate_risk=bool(row["duplicate_risk"]) or resend,
        now=box.now(),
        settings=box.settings,
    )
    _record_failure(box, claim, decision, error, resend, report)


def _record_failure(
    box: Outbox,
    claim: store.Claimed,
    decision: Decision,
    error: SendError,
    resend: bool,
    report: DeliveryReport,
) -> None:
    row = claim.row
    now = box.now()
    with box.bridge.panel.begin() as conn:
        changed = store.record_failure(conn, claim, decision, error, now, resend)
        if decision.channel is not None:
            store.set_channel_state(conn, row["channel"], decision.channel, now)
        if decision.hold_recipient_until is not None:
            store.hold_recipient(
                conn, row["channel"], row["recipient"], decision.hold_recipient_until
            )
        if changed and decision.fallback and box.enqueue_fallback(conn, row) is not None:
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
