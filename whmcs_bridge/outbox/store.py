"""The outbox's database work: claiming due rows, recording answers, channel states.

Every function takes a connection inside the caller's transaction. Claims are made safe twice:
``FOR UPDATE SKIP LOCKED`` where the server has it (several workers share the rows without
waiting on each other), and an update guarded by the row's previous state everywhere, so that on
SQLite (or an old MySQL) two claimers can never both win the same row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, tuple_, update

from whmcs_bridge.outbox.policy import ChannelAction, Decision
from whmcs_bridge.outbox.tables import (
    DUE_STATES,
    SENDING,
    SENT,
    UNKNOWN,
    channel_states,
    outbox,
)
from whmcs_bridge.plugins.channels.base import SendError, SendResult

o = outbox
_MAX_ERROR = 500


@dataclass
class Claimed:
    """A row this worker marked ``sending`` and the state it had (``unknown``: a re-send)."""

    row: dict[str, Any]
    token: str
    previous_state: str
    previous_claimed_at: datetime | None

    @property
    def id(self) -> int:
        return int(self.row["id"])


def supports_skip_locked(engine: Engine) -> bool:
    """MariaDB 10.6+ and MySQL 8.0.1+ have ``SKIP LOCKED``; SQLite has no row locks at all."""
    dialect = engine.dialect
    if dialect.name not in ("mysql", "mariadb"):
        return False
    if dialect.server_version_info is None:
        with engine.connect():
            pass  # the first connection fills in the server version
    version = tuple(dialect.server_version_info or ())
    if getattr(dialect, "is_mariadb", False):
        return version >= (10, 6)
    return version >= (8, 0, 1)


def claim_due(
    conn: Connection,
    *,
    now: datetime,
    token: str,
    limit: int,
    blocked: set[str],
    spacing: float,
    skip_locked: bool,
    is_mysql: bool,
    window: int = 50,
) -> tuple[list[Claimed], datetime | None]:
    """Mark up to ``limit`` due rows ``sending`` (one per recipient) and return them.

    A row whose recipient got a send less than ``spacing`` seconds ago stays where it is; the
    second value is the earliest time such a held row may go. ``window`` due rows are looked at
    (and locked for the claim's transaction) to find ones whose recipient is free.
    """
    query = (
        select(o)
        .where(o.c.state.in_(DUE_STATES), o.c.next_attempt_at <= now)
        .order_by(o.c.next_attempt_at, o.c.id)
        .limit(max(limit, window))
    )
    if blocked:
        query = query.where(o.c.channel.notin_(sorted(blocked)))
    if is_mysql:
        query = query.with_for_update(skip_locked=skip_locked)
    candidates = [dict(r._mapping) for r in conn.execute(query)]
    if not candidates:
        return [], None
    keys = {(r["channel"], r["recipient"]) for r in candidates}
    last_send = {
        (channel, recipient): last
        for channel, recipient, last in conn.execute(
            select(o.c.channel, o.c.recipient, func.max(o.c.claimed_at))
            .where(tuple_(o.c.channel, o.c.recipient).in_(sorted(keys)))
            .group_by(o.c.channel, o.c.recipient)
        )
    }
    taken: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    held_until: datetime | None = None
    gap = timedelta(seconds=spacing)
    for row in candidates:
        key = (row["channel"], row["recipient"])
        last = last_send.get(key)
        free_at = now + gap if key in seen else (last + gap if last else now)
        seen.add(key)
        if free_at > now:
            held_until = free_at if held_until is None else min(held_until, free_at)
            continue
        if len(taken) < limit:
            taken.append(row)
    claimed = []
    for row in taken:
        result = conn.execute(
            update(o)
            .where(o.c.id == row["id"], o.c.state == row["state"])
            .values(
                state=SENDING,
                claimed_at=now,
                claim_token=token,
                attempts=o.c.attempts + 1,
                updated_at=now,
            )
        )
        if result.rowcount == 1:
            claimed.append(Claimed(row, token, row["state"], row["claimed_at"]))
    return claimed, held_until


def record_sent(
    conn: Connection, claim: Claimed, result: SendResult, now: datetime, resend: bool
) -> bool:
    """Store an accepted send; False when the row moved on meanwhile (a webhook, a recovery)."""
    values: dict[str, Any] = {
        "state": SENT,
        "sent_at": now,
        "next_attempt_at": None,
        "provider_message_id": result.provider_message_id,
        "provider_recipient_id": result.provider_recipient_id,
        "error_kind": None,
        "error_code": None,
        "updated_at": now,
    }
    if resend:
        values["duplicate_risk"] = 1
    # A stale-send recovery may have called the row unknown while this answer was on its way.
    changed = conn.execute(
        update(o)
        .where(
            o.c.id == claim.id, o.c.claim_token == claim.token, o.c.state.in_((SENDING, UNKNOWN))
        )
        .values(**values)
    ).rowcount
    if not changed:
        # A webhook got here first: keep its state, but remember the provider's ids.
        conn.execute(
            update(o)
            .where(o.c.id == claim.id, o.c.provider_message_id.is_(None))
            .values(
                provider_message_id=result.provider_message_id,
                provider_recipient_id=result.provider_recipient_id,
            )
        )
    return bool(changed)


def record_failure(
    conn: Connection,
    claim: Claimed,
    decision: Decision,
    error: SendError,
    now: datetime,
    resend: bool,
) -> bool:
    """Store a failed send and its decision; False when the row moved on meanwhile."""
    values: dict[str, Any] = {
        "state": decision.state,
        "next_attempt_at": decision.next_attempt_at,
        "error_kind": error.kind,
        "error_code": error.code,
        "last_error": str(error)[:_MAX_ERROR],
        "updated_at": now,
    }
    if decision.count_failure:
        values["failures"] = o.c.failures + 1
    if decision.count_hold:
        values["holds"] = o.c.holds + 1
    if resend:
        values["duplicate_risk"] = 1
    return bool(
        conn.execute(
            update(o)
            .where(o.c.id == claim.id, o.c.claim_token == claim.token, o.c.state == SENDING)
            .values(**values)
        ).rowcount
    )


def hold_recipient(conn: Connection, channel: str, recipient: str, until: datetime) -> int:
    """Push every waiting row of one recipient on one channel to ``until`` (after 131056)."""
    return conn.execute(
        update(o)
        .where(
            o.c.channel == channel,
            o.c.recipient == recipient,
            o.c.state.in_(DUE_STATES),
            or_(o.c.next_attempt_at.is_(None), o.c.next_attempt_at < until),
            # An unknown row without a schedule waits for an admin; do not wake it up.
            or_(o.c.state != UNKNOWN, o.c.next_attempt_at.is_not(None)),
        )
        .values(next_attempt_at=until)
    ).rowcount


def recover_stale(conn: Connection, now: datetime, stale: float, grace: float) -> list[int]:
    """Rows left ``sending`` by a process that died mid-send become ``unknown``.

    The answer may have been in flight, so they are never re-sent silently: they wait out the
    grace period (from when the send began) like any other unknown outcome.
    """
    limit = now - timedelta(seconds=stale)
    rows = conn.execute(
        select(o.c.id, o.c.claimed_at, o.c.claim_token, o.c.duplicate_risk).where(
            o.c.state == SENDING, o.c.claimed_at < limit
        )
    ).all()
    recovered = []
    for row_id, claimed_at, token, duplicate_risk in rows:
        later = None if duplicate_risk else max(now, claimed_at + timedelta(seconds=grace))
        changed = conn.execute(
            update(o)
            .where(o.c.id == row_id, o.c.state == SENDING, o.c.claim_token == token)
            .values(
                state=UNKNOWN,
                next_attempt_at=later,
                error_kind="unknown",
                last_error=f"the delivering process stopped during the send begun at {claimed_at}",
                updated_at=now,
            )
        ).rowcount
        if changed:
            recovered.append(int(row_id))
    return recovered


# --- channel states ---------------------------------------------------------------------------
def channel_blocks(conn: Connection, now: datetime) -> dict[str, dict[str, Any]]:
    """The channels that must not send now: broken, or throttled/paused until a later time."""
    rows = conn.execute(
        select(channel_states).where(
            or_(channel_states.c.until_at.is_(None), channel_states.c.until_at > now)
        )
    )
    return {r.channel: dict(r._mapping) for r in rows}


def set_channel_state(conn: Connection, channel: str, action: ChannelAction, now: datetime) -> None:
    """Record that ``channel`` is throttled, paused or broken (a longer stop wins)."""
    current = conn.execute(
        select(channel_states).where(channel_states.c.channel == channel)
    ).first()
    reason = action.reason[:_MAX_ERROR]
    if current is None:
        conn.execute(
            channel_states.insert().values(
                channel=channel,
                state=action.state,
                reason=reason,
                until_at=action.until,
                since_at=now,
            )
        )
        return
    active = current.until_at is None or current.until_at > now
    if active and current.state == "broken" and action.state != "broken":
        return
    if (
        active
        and action.until is not None
        and current.until_at is not None
        and current.until_at >= action.until
    ):
        return
    conn.execute(
        update(channel_states)
        .where(channel_states.c.channel == channel)
        .values(state=action.state, reason=reason, until_at=action.until, since_at=now)
    )


def clear_channel_state(conn: Connection, channel: str) -> bool:
    """Resume a channel; True when it was stopped."""
    return bool(
        conn.execute(delete(channel_states).where(channel_states.c.channel == channel)).rowcount
    )


def rows_by_state(conn: Connection) -> dict[str, int]:
    """How many rows are in each state."""
    return dict(conn.execute(select(o.c.state, func.count()).group_by(o.c.state)).all())


def find_for_status(
    conn: Connection, outbox_id: int | None, wamid: str, channel: str, lock: bool
) -> dict[str, Any] | None:
    """The row a status webhook is about: by our id (biz_opaque_callback_data), else by wamid."""
    cond = (
        and_(o.c.id == outbox_id, o.c.channel == channel)
        if outbox_id is not None
        else and_(o.c.provider_message_id == wamid, o.c.channel == channel)
    )
    query = select(o).where(cond)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None
