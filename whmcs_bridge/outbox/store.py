"""The outbox's database work: claiming due rows, recording answers, channel states.

Every function takes a connection inside the caller's transaction. Claims are made safe twice:
``FOR UPDATE SKIP LOCKED`` where the server has it (several workers share the rows without
waiting on each other), and an update guarded by the row's previous state everywhere, so that on
SQLite (or an old MySQL) two claimers can never both win the same row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
    union_all,
    update,
)

from whmcs_bridge.channels.base import SendError, SendResult
from whmcs_bridge.outbox.channel_state import (
    channel_blocks,
    clear_channel_state,
    set_channel_state,
)
from whmcs_bridge.outbox.policy import Decision
from whmcs_bridge.outbox.server import is_contention, supports_skip_locked
from whmcs_bridge.outbox.tables import (
    DUE_STATES,
    SENDING,
    SENT,
    UNKNOWN,
    channel_states,
    outbox,
)

# Channel states and the server's abilities live in their own modules; their names stay
# importable from here.
__all__ = [
    "Claimed",
    "channel_blocks",
    "claim_due",
    "clear_channel_state",
    "find_for_status",
    "hold_recipient",
    "is_contention",
    "record_failure",
    "record_sent",
    "recover_stale",
    "rows_by_state",
    "set_channel_state",
    "supports_skip_locked",
]

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
    busy: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
    channel_room: Mapping[str, int] | None = None,
    default_room: int | None = None,
) -> tuple[list[Claimed], datetime | None]:
    """Mark up to ``limit`` due rows ``sending`` (one per recipient) and return them.

    A row whose recipient got a send less than ``spacing`` seconds ago stays where it is; the
    second value is the earliest time such a held row may go. A row whose recipient is in
    ``busy`` (a send to it is in flight in this process) or already taken by this claim waits for
    a later claim, so one recipient's messages never overtake each other. ``channel_room`` caps
    the rows taken per channel; a channel missing from it gets ``default_room`` (None: no cap).
    Rows of a channel in ``blocked`` or stopped in ``channel_states`` are left alone.

    The due rows are read per due state, each part walking the ``(state, next_attempt_at, id)``
    index in order and stopping after a page of rows (MySQL: the parts in one ``UNION ALL``):
    a claim reads and locks O(page) rows however long the queue is, where an ``IN`` on the state
    made the server read, sort and lock every due row. The page starts at twice ``limit`` and
    grows up to ``window`` only when held or busy recipients leave the batch short.
    """
    size = max(limit, window)
    page = min(size, max(2 * limit, 8))
    while True:
        candidates, full_page = _candidates(conn, now, page, blocked, skip_locked, is_mysql)
        taken, held_until = _choose(
            candidates, now, limit, spacing, busy, channel_room, default_room
        )
        if len(taken) >= limit or not full_page or page >= size:
            break
        page = min(size, page * 4)
    if not taken:
        return [], held_until
    won: set[int] = set()
    for state in DUE_STATES:
        ids = [r["id"] for r in taken if r["state"] == state]
        if not ids:
            continue
        values: dict[str, Any] = {
            "state": SENDING,
            "claimed_at": now,
            "claim_token": token,
            "attempts": o.c.attempts + 1,
            "updated_at": now,
        }
        if state == UNKNOWN:
            # The re-send is at risk from its claim on, not from its answer: a process killed
            # during it leaves the row marked, and a marked row is never re-sent again.
            values["duplicate_risk"] = 1
        changed = conn.execute(
            update(o).where(o.c.id.in_(ids), o.c.state == state).values(**values)
        ).rowcount
        if changed == len(ids):
            won.update(ids)
        elif changed:
            # Another claimer (SQLite: no row locks) took some meanwhile; ours carry our token.
            won.update(
                conn.execute(
                    select(o.c.id).where(
                        o.c.id.in_(ids), o.c.claim_token == token, o.c.state == SENDING
                    )
                ).scalars()
            )
    claimed = [
        Claimed(row, token, row["state"], row["claimed_at"]) for row in taken if row["id"] in won
    ]
    return claimed, held_until


_LAST_SEND = "_last_send"


@cache
def _due_query(n: int) -> Select[Any]:
    """The first ``:page`` due rows of state ``:state_<n>``, in order, with their recipient's
    last send; built once (a statement this size costs more to build than to run)."""
    earlier = o.alias("earlier")
    last_send = (
        select(func.max(earlier.c.claimed_at))
        .where(earlier.c.channel == o.c.channel, earlier.c.recipient == o.c.recipient)
        .scalar_subquery()
        .label(_LAST_SEND)
    )
    now = bindparam("now", type_=o.c.next_attempt_at.type)
    stopped = select(channel_states.c.channel).where(
        or_(channel_states.c.until_at.is_(None), channel_states.c.until_at > now)
    )
    return (
        select(o, last_send)
        .where(
            o.c.state == bindparam(f"state_{n}", type_=o.c.state.type),
            o.c.next_attempt_at <= now,
            o.c.channel.notin_(stopped),
            o.c.channel.notin_(bindparam("blocked", expanding=True, type_=o.c.channel.type)),
        )
        .order_by(o.c.next_attempt_at, o.c.id)
        .limit(bindparam("page", type_=Integer))
    )


@cache
def _due_union(skip_locked: bool) -> CompoundSelect:
    """MySQL: the due queries of every state in one statement, each part with its own lock."""
    parts = [_due_query(n).with_for_update(skip_locked=skip_locked) for n in range(len(DUE_STATES))]
    return union_all(*parts)


def _candidates(
    conn: Connection,
    now: datetime,
    page: int,
    blocked: set[str],
    skip_locked: bool,
    is_mysql: bool,
) -> tuple[list[dict[str, Any]], bool]:
    """The first ``page`` due rows in order, and whether a state had more than that."""
    params: dict[str, Any] = {"now": now, "page": page, "blocked": sorted(blocked)}
    params.update({f"state_{n}": state for n, state in enumerate(DUE_STATES)})
    if is_mysql:
        # One statement: each part is parenthesized with its own ORDER BY, LIMIT and lock.
        results = [conn.execute(_due_union(skip_locked), params).mappings().all()]
    else:
        # SQLite cannot order and limit the parts of a compound select: one query per state.
        results = [
            conn.execute(_due_query(n), params).mappings().all() for n in range(len(DUE_STATES))
        ]
    rows = [dict(r) for result in results for r in result]
    counts = Counter(r["state"] for r in rows)
    rows.sort(key=lambda r: (r["next_attempt_at"], r["id"]))
    return rows[:page], any(n >= page for n in counts.values())


def _choose(
    candidates: list[dict[str, Any]],
    now: datetime,
    limit: int,
    spacing: float,
    busy: set[tuple[str, str]] | frozenset[tuple[str, str]],
    channel_room: Mapping[str, int] | None,
    default_room: int | None,
) -> tuple[list[dict[str, Any]], datetime | None]:
    """The candidates to claim, in order, and when the earliest held one may go."""
    room: dict[str, int | None] = dict(channel_room or {})
    taken: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    held_until: datetime | None = None
    gap = timedelta(seconds=spacing)
    for row in candidates:
        if len(taken) >= limit:
            break
        last = row.pop(_LAST_SEND, None)
        key = (row["channel"], row["recipient"])
        if key in seen or key in busy:
            seen.add(key)
            continue  # taken by this claim or in flight: free again once that send is done
        seen.add(key)
        free_at = last + gap if last else now
        if free_at > now:
            held_until = free_at if held_until is None else min(held_until, free_at)
            continue
        left = room.get(row["channel"], default_room)
        if left is not None:
            if left <= 0:
                continue
            room[row["channel"]] = left - 1
        taken.append(row)
    return taken, held_until


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
    if result.provider_status and result.provider_status != "accepted":
        # Meta accepted it but holds it (held_for_quality_assessment, paused): keep the word.
        values["last_error"] = f"accepted with message_status {result.provider_status}"
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
