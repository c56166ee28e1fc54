"""Provider status webhooks applied to outbox rows, monotonically (messaging.md §1.8).

Meta repeats webhooks for days and does not order them: ``read`` may come before ``delivered``,
``failed`` may come after ``sent``. A status is applied only when it moves the row forward, so a
repeat or a late, older status changes nothing. A status for an ``unknown`` row settles it: the
message did leave, and it is not re-sent.

The row is found by our id (``biz_opaque_callback_data``), but a status is only believed when it
is about the row's current send: a row re-sent after a failure carries a new wamid while Meta may
still repeat the old one's ``failed``, and a purged row's id may have been given to a new row.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from whmcs_bridge.channels.base import SendError
from whmcs_bridge.outbox import store
from whmcs_bridge.outbox.policy import decide
from whmcs_bridge.outbox.tables import (
    DEAD,
    DELIVERED,
    PROGRESS,
    QUEUED,
    READ,
    SENDING,
    SENT,
    UNKNOWN,
    outbox,
)

if TYPE_CHECKING:
    from whmcs_bridge.channels.whatsapp import StatusUpdate
    from whmcs_bridge.outbox.service import Outbox

log = logging.getLogger(__name__)

# A failure report is believed only before the message is known to have arrived.
_FAILABLE = (SENDING, SENT, UNKNOWN)
_TIME_COLUMN = {SENT: "sent_at", DELIVERED: "delivered_at", READ: "read_at"}


def apply_status(box: Outbox, update_: StatusUpdate, channel: str = "whatsapp") -> bool:
    """Apply one status to its row; True when the row changed."""
    now = box.now()
    at = _local(box, update_.timestamp) or now
    with box.panel.begin() as conn:
        row = store.find_for_status(
            conn, update_.outbox_id, update_.wamid, channel, lock=box.is_mysql
        )
        if row is None:
            log.info("status %s for %s: no such outbox row", update_.status, update_.wamid)
            return False
        stale = _stale(row, update_.wamid)
        if stale:
            log.info(
                "outbox %s: ignored stale status %s for %s (%s)",
                row["id"],
                update_.status,
                update_.wamid,
                stale,
            )
            return False
        if update_.status in PROGRESS:
            values = _progress(row, update_, at)
        elif update_.status == "failed":
            return _failed(box, conn, row, update_, now)
        else:
            return False  # `played` (voice) and future statuses say nothing about delivery
        if values is None:
            return False
        changed = conn.execute(
            update(outbox)
            .where(outbox.c.id == row["id"], outbox.c.state == row["state"])
            .values(updated_at=now, **values)
        ).rowcount
    if changed:
        late = (now - at).total_seconds() / 60
        log.info(
            "outbox %s: %s -> %s%s",
            row["id"],
            row["state"],
            update_.status,
            f" (late: {late:.0f} min old)" if late >= box.settings.webhook_late_minutes else "",
        )
    return bool(changed)


def _stale(row: dict[str, Any], wamid: str) -> str | None:
    """Why a status cannot be about this row's current send, or None when it may be."""
    if row["state"] == QUEUED:
        return "the row was never sent"
    known = row["provider_message_id"]
    if not known:
        return None  # e.g. unknown (the answer was lost): this status is how it is settled
    if known != wamid:
        return f"the row's message is {known}"
    if row["state"] in (SENDING, UNKNOWN):
        # A new attempt is (or was) under way; the stored wamid is the previous attempt's.
        return "about an earlier attempt"
    return None


def _progress(row: dict[str, Any], update_: StatusUpdate, at: datetime) -> dict[str, Any] | None:
    state, status = row["state"], update_.status
    if PROGRESS[status] <= PROGRESS.get(state, 0):
        return None
    if state == DEAD and not row["provider_message_id"]:
        return None  # refused at send time: no status can be about it
    values: dict[str, Any] = {"state": status, "next_attempt_at": None}
    for name, column in _TIME_COLUMN.items():
        if PROGRESS[name] <= PROGRESS[status] and row[column] is None:
            values[column] = at
    if not row["provider_message_id"]:
        values["provider_message_id"] = update_.wamid
    if not row["provider_recipient_id"] and update_.recipient_id:
        values["provider_recipient_id"] = update_.recipient_id[:64]
    return values


def _failed(
    box: Outbox, conn: Any, row: dict[str, Any], update_: StatusUpdate, now: datetime
) -> bool:
    if row["state"] not in _FAILABLE:
        return False
    kind = update_.error_kind or "unknown"
    if kind == "unknown":
        kind = "transient"  # the provider says it failed: not sent, so retrying duplicates nothing
    text = " ".join(p for p in (update_.error_title, update_.error_details) if p) or "failed"
    error = SendError(kind, text, code=update_.error_code)
    decision = decide(
        error=error,
        channel=row["channel"],
        failures=int(row["failures"]),
        recipient_holds=int(row["holds"]),
        duplicate_risk=bool(row["duplicate_risk"]),
        now=now,
        settings=box.settings,
    )
    values: dict[str, Any] = {
        "state": decision.state,
        "next_attempt_at": decision.next_attempt_at,
        "error_kind": error.kind,
        "error_code": error.code,
        "last_error": str(error)[:500],
        "claim_token": None,
        "updated_at": now,
    }
    if decision.count_failure:
        values["failures"] = outbox.c.failures + 1
    changed = conn.execute(
        update(outbox)
        .where(outbox.c.id == row["id"], outbox.c.state == row["state"])
        .values(**values)
    ).rowcount
    if not changed:
        return False
    if decision.channel is not None:
        store.set_channel_state(conn, row["channel"], decision.channel, now)
    if decision.fallback:
        box.enqueue_fallback(conn, row)
    log.warning("outbox %s: provider reports %s -> %s", row["id"], error, decision.state)
    return True


def _local(box: Outbox, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(box.clock.timezone).replace(tzinfo=None)
