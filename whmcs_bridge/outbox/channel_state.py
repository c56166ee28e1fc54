"""Channel states: which channels are stopped (broken, paused, throttled) and until when.

Functions take a connection inside the caller's transaction (re-exported by
:mod:`whmcs_bridge.outbox.store`, where the outbox's other database work lives).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, not_, or_, select, update
from sqlalchemy.exc import IntegrityError

from whmcs_bridge.outbox.policy import ChannelAction
from whmcs_bridge.outbox.tables import channel_states

_MAX_ERROR = 500


def channel_blocks(conn: Connection, now: datetime) -> dict[str, dict[str, Any]]:
    """The channels that must not send now: broken, or throttled/paused until a later time."""
    rows = conn.execute(
        select(channel_states).where(
            or_(channel_states.c.until_at.is_(None), channel_states.c.until_at > now)
        )
    )
    return {r.channel: dict(r._mapping) for r in rows}


def set_channel_state(conn: Connection, channel: str, action: ChannelAction, now: datetime) -> None:
    """Record that ``channel`` is throttled, paused or broken (a longer stop wins).

    Several send threads may report the same channel at once (e.g. two 130429 answers): the
    loser of the insert race updates the winner's row instead of failing the delivery.
    """
    cs = channel_states
    reason = action.reason[:_MAX_ERROR]
    exists = conn.execute(select(cs.c.channel).where(cs.c.channel == channel)).first()
    if exists is None:
        try:
            conn.execute(
                cs.insert().values(
                    channel=channel,
                    state=action.state,
                    reason=reason,
                    until_at=action.until,
                    since_at=now,
                )
            )
            return
        except IntegrityError:
            pass  # only the statement failed; the transaction goes on
    # The rules live in the WHERE clause: the update reads the latest row even where this
    # transaction's snapshot (MySQL's REPEATABLE READ) does not show a concurrent insert.
    active = or_(cs.c.until_at.is_(None), cs.c.until_at > now)
    keep = []
    if action.state != "broken":
        keep.append(and_(active, cs.c.state == "broken"))
    if action.until is not None:
        keep.append(and_(active, cs.c.until_at.is_not(None), cs.c.until_at >= action.until))
    conn.execute(
        update(cs)
        .where(cs.c.channel == channel, *(not_(k) for k in keep))
        .values(state=action.state, reason=reason, until_at=action.until, since_at=now)
    )


def clear_channel_state(conn: Connection, channel: str) -> bool:
    """Resume a channel; True when it was stopped."""
    return bool(
        conn.execute(delete(channel_states).where(channel_states.c.channel == channel)).rowcount
    )
