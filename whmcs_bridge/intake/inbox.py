"""Turns the rows ``hooks/whmcs_bridge.php`` wrote into events; malformed rows go to quarantine.

The mapping from WHMCS hook to event is data (:data:`HOOKS`, in ``hook_rules.py``); the few
hooks that need a lookup (which client owns an invoice, which clients a login user owns) say so.
A drain reads its rows as one page: every lookup is one query per page, not one per row.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from whmcs_bridge.events.catalog import OCCURRENCE_EVENTS, REPEATABLE_EVENTS
from whmcs_bridge.events.model import Event, event_key
from whmcs_bridge.intake.hook_rules import HINT_HOOKS, HOOKS, HookRule
from whmcs_bridge.intake.watcher import WatchContext
from whmcs_bridge.store.tables import events as events_t
from whmcs_bridge.store.tables import inbox as inbox_t
from whmcs_bridge.store.tables import meta as meta_t
from whmcs_bridge.store.tables import quarantine as quarantine_t

DELETE_CHUNK = 1000  # ids per DELETE ... IN (...)
LOOKUP_CHUNK = 1000  # ids per SELECT ... IN (...)
MAX_ID = 2**63 - 1  # the events' BIGINT columns: a larger id is refused, never clamped
MAX_DATA_BYTES = 65_535  # MySQL TEXT, the events' data column
# An event's data is part of its row's payload plus the hook's name, and json.dumps writes a
# character in at most 12 bytes (an escaped surrogate pair): a payload this short always fits.
SURELY_STORABLE = (MAX_DATA_BYTES - 200) // 12
MAX_REASON = 1000

log = logging.getLogger(__name__)

__all__ = ["HINT_HOOKS", "HOOKS", "HookRule", "drain_inbox", "events_from_row"]


class MalformedRow(ValueError):
    """An inbox row that cannot become an event; the message is the quarantine reason."""


def _int(payload: dict[str, Any], key: str) -> int:
    """The positive integer id under ``key``, or :class:`MalformedRow` saying what is wrong."""
    value = payload.get(key)
    if isinstance(value, bool) or value is None:
        raise MalformedRow(f"payload has no '{key}'")
    if isinstance(value, float) and not value.is_integer():
        raise MalformedRow(f"payload '{key}' is not a whole number: {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise MalformedRow(f"payload '{key}' is not a number: {value!r}") from None
    if number <= 0:
        raise MalformedRow(f"payload '{key}' is not a valid id: {number}")
    if number > MAX_ID:
        raise MalformedRow(f"payload '{key}' is out of range for an id: {number}")
    return number


def _optional_int(payload: dict[str, Any], key: str) -> int | None:
    """Like :func:`_int`, but absent, blank or 0 (WHMCS's "none") is ``None``."""
    if payload.get(key) in (None, "", 0, "0"):
        return None
    return _int(payload, key)


def _fill_clients(
    ctx: WatchContext, pending: list[tuple[int, str, int, int | None]], found: list[Event]
) -> None:
    """Look up, one query per table, the client of events whose hook did not say it."""
    by_table: dict[str, set[int]] = {}
    for _, table, lookup_id, _ in pending:
        by_table.setdefault(table, set()).add(lookup_id)
    owners: dict[tuple[str, int], int] = {}
    for name, ids in by_table.items():
        table = ctx.tables.get(name)
        if table is None:
            continue
        id_list = sorted(ids)
        for start in range(0, len(id_list), 1000):
            chunk = id_list[start : start + 1000]
            rows = ctx.conn.execute(select(table.c.id, table.c.userid).where(table.c.id.in_(chunk)))
            owners.update({(name, row.id): row.userid for row in rows})
    for index, table, lookup_id, fallback in pending:
        client_id = owners.get((table, lookup_id)) or fallback
        found[index] = replace(found[index], client_id=int(client_id) if client_id else None)


def events_from_row(
    ctx: WatchContext,
    hook: str,
    payload: dict[str, Any],
    origin: str,
    created_at: Any,
    row_id: int | None = None,
) -> tuple[list[Event], tuple[str, int] | None]:
    """The events one inbox row stands for (often one, none for hints, several for a user),
    and the (table, id) whose owner is the client, when the hook does not say it.

    A repeatable event is keyed by its occurrence (issue 9 point 1): the row's time and id, so
    suspend, reactivate, suspend in one day are three events."""
    if hook in HINT_HOOKS:
        return [], None
    occurred = created_at or ctx.now
    if not isinstance(occurred, datetime):
        # MySQL hands a zero date ('0000-00-00 00:00:00') back as text.
        raise MalformedRow(f"created_at is not a date and time: {str(created_at)[:40]!r}")
    rule = HOOKS.get(hook)
    if rule is None:
        raise MalformedRow(f"unknown hook '{hook}'")
    if rule.client_from == "users_clients":
        user_id = _int(payload, rule.id_key)
        return _password_events(ctx, user_id, origin, occurred, row_id), None
    if rule.when is not None and not rule.when(payload):
        return [], None
    subject_id = _int(payload, rule.id_key)
    client_id = _optional_int(payload, "client_id")
    lookup = None
    if rule.client_from == "tickets_of_reply":
        lookup = ("tickets", _int(payload, "ticketid"))
    elif rule.client_from:
        lookup = (rule.client_from, subject_id)
    if rule.event in OCCURRENCE_EVENTS:
        key = occurrence_key(rule.event, subject_id, occurred, row_id)
    else:
        day = occurred.date().isoformat() if rule.event in REPEATABLE_EVENTS else None
        key = event_key(rule.event, subject_id, day)
    event = Event(
        key=key,
        name=rule.event,
        subject_type=rule.subject,
        subject_id=subject_id,
        client_id=client_id,
        occurred_at=occurred,
        source="hook",
        origin=origin,
        data={k: payload[k] for k in rule.data_keys if k in payload} | {"hook": hook},
    )
    return [event], lookup


#: A watcher's report this close to a hook row's time is the same change seen first by the
#: watcher (it polled between WHMCS's update and the hook's insert): the row takes its key.
SAME_CHANGE_SECONDS = 120


def occurrence_key(name: str, subject_id: int, occurred: datetime, row_id: int | None) -> str:
    """The key of one occurrence reported by a hook row: its time and row id.

    :func:`adopt_watcher_keys` then gives it the key of a watcher's report of the same change,
    when one was stored moments before."""
    stamp = f"{occurred:%Y-%m-%dT%H:%M:%S}"
    return event_key(name, subject_id, f"{stamp}#{row_id}" if row_id is not None else stamp)


def adopt_watcher_keys(ctx: WatchContext, found: list[Event]) -> None:
    """Give each occurrence in ``found`` the key of the newest watcher report of the same change
    (same event and subject, within :data:`SAME_CHANGE_SECONDS`), read for the whole page in
    one query per 1000 subjects (a cron run reports thousands at once)."""
    indexes = [i for i, event in enumerate(found) if event.name in OCCURRENCE_EVENTS]
    if not indexes:
        return
    window = timedelta(seconds=SAME_CHANGE_SECONDS)
    wanted = [found[i] for i in indexes]
    names = sorted({event.name for event in wanted})
    subjects = sorted({event.subject_id for event in wanted})
    earliest = min(event.occurred_at for event in wanted) - window
    latest = max(event.occurred_at for event in wanted) + window
    seen: dict[tuple[str, int], list[Any]] = {}
    for start in range(0, len(subjects), LOOKUP_CHUNK):
        rows = ctx.conn.execute(
            select(
                events_t.c.id,
                events_t.c.event_key,
                events_t.c.name,
                events_t.c.subject_id,
                events_t.c.occurred_at,
            ).where(
                events_t.c.name.in_(names),
                events_t.c.subject_id.in_(subjects[start : start + LOOKUP_CHUNK]),
                events_t.c.source == "watcher",
                events_t.c.occurred_at.between(earliest, latest),
            )
        )
        for row in rows:
            seen.setdefault((row.name, row.subject_id), []).append(row)
    if not seen:
        return
    for index in indexes:
        event = found[index]
        same = [
            row
            for row in seen.get((event.name, event.subject_id), ())
            if abs(row.occurred_at - event.occurred_at) <= window
        ]
        if same:
            found[index] = replace(event, key=str(max(same, key=lambda row: row.id).event_key))


def _password_events(
    ctx: WatchContext, user_id: int, origin: str, occurred: Any, row_id: int | None = None
) -> list[Event]:
    """WHMCS 8 reports a login user's password change; each client the user owns is told."""
    links = ctx.tables.get("users_clients")
    if links is None:
        return []
    owned = ctx.conn.execute(
        select(links.c.client_id).where(links.c.auth_user_id == user_id, links.c.owner == 1)
    ).scalars()
    name = "client.password_changed"
    return [
        Event(
            key=occurrence_key(name, client_id, occurred, row_id),
            name="client.password_changed",
            subject_type="client",
            subject_id=client_id,
            client_id=client_id,
            occurred_at=occurred,
            source="hook",
            origin=origin,
            data={"hook": "UserChangePassword", "user_id": user_id},
        )
        for client_id in owned
    ]


@dataclass
class Drained:
    """What one pass over the inbox found."""

    events: list[Event]
    hints: list[tuple[str, dict[str, Any]]]  # rows that only ask a watcher to look again
    rows: int
    quarantined: int


def drain_inbox(ctx: WatchContext, limit: int = 5000) -> Drained:
    """Read up to ``limit`` inbox rows into events and watcher hints; quarantine the bad ones.

    The rows are deleted in the caller's transaction, the same one that stores the events.
    """
    rows = ctx.conn.execute(select(inbox_t).order_by(inbox_t.c.id).limit(limit)).all()
    php_zone = hook_zone(ctx.conn) if rows else None
    found: list[Event] = []
    hints: list[tuple[str, dict[str, Any]]] = []
    pending: list[tuple[int, str, int, int | None]] = []
    set_aside: list[dict[str, Any]] = []
    for row in rows:
        try:
            payload = json.loads(row.payload)
            if not isinstance(payload, dict):
                raise MalformedRow("payload is not a JSON object")
            if row.hook in HINT_HOOKS:
                hints.append((row.hook, payload))
                continue
            new, lookup = events_from_row(
                ctx,
                row.hook,
                payload,
                row.origin or "unknown",
                _in_panel_zone(ctx, row, php_zone),
                row.id,
            )
            if len(row.payload) > SURELY_STORABLE:
                for event in new:
                    _check_storable(event)
            if lookup is not None:
                pending.append((len(found), *lookup, new[0].client_id))
            found.extend(new)
        except SQLAlchemyError:
            raise  # the database failed, not the row: the transaction is gone
        except Exception as exc:  # one row never stops intake (issue 12): it waits in quarantine
            reason = _reason(exc)
            log.warning("inbox row %s (%s) quarantined: %s", row.id, row.hook, reason)
            set_aside.append(
                {
                    "inbox_id": row.id,
                    "hook": row.hook,
                    "payload": row.payload,
                    "reason": reason,
                    "created_at": ctx.now,
                }
            )
    if set_aside:
        ctx.conn.execute(insert(quarantine_t), set_aside)
    _fill_clients(ctx, pending, found)
    adopt_watcher_keys(ctx, found)
    delete_rows(ctx.conn, [row.id for row in rows])
    return Drained(found, hints, len(rows), len(set_aside))


def _check_storable(event: Event) -> None:
    """Refuse an event whose data would not fit its column (it would be cut, or refused)."""
    size = len(json.dumps(event.data, sort_keys=True, default=str).encode())
    if size > MAX_DATA_BYTES:
        raise MalformedRow(
            f"the event's data would take {size} bytes, more than its column holds "
            f"({MAX_DATA_BYTES})"
        )


def _reason(exc: Exception) -> str:
    """The quarantine reason: the row's fault in words, or the error that reading it raised."""
    if isinstance(exc, MalformedRow | json.JSONDecodeError):
        text = str(exc)
    elif isinstance(exc, RecursionError):
        text = "payload is nested too deeply to read"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:MAX_REASON]


def delete_rows(conn: Connection, ids: list[int]) -> None:
    """Delete exactly the inbox rows that were read, never a range.

    On InnoDB a row with a lower id can commit after a higher one was read (ids are taken at
    insert, rows become visible at commit): ``id <= max`` would delete it unread.
    """
    for start in range(0, len(ids), DELETE_CHUNK):
        chunk = ids[start : start + DELETE_CHUNK]
        conn.execute(delete(inbox_t).where(inbox_t.c.id.in_(chunk)))


#: ``mod_whmcs_bridge_meta`` name under which the hook file keeps PHP's time zone.
PHP_ZONE_KEY = "php_timezone"


def hook_zone(conn: Connection) -> ZoneInfo | None:
    """The zone PHP writes ``created_at`` in, as the hook file recorded it (None: not yet, or
    not a zone Python knows)."""
    name = conn.execute(select(meta_t.c.value).where(meta_t.c.name == PHP_ZONE_KEY)).scalar()
    try:
        return ZoneInfo(str(name)) if name else None
    except (ValueError, ZoneInfoNotFoundError):
        return None


def _in_panel_zone(ctx: WatchContext, row: Any, php_zone: ZoneInfo | None) -> Any:
    """A hook row's ``created_at`` in the panel's zone, as a watcher's time of the same moment
    is (issue 9 point 4): converted when PHP runs in another zone than ``[panel] timezone``."""
    created = row.created_at
    if php_zone is None or not isinstance(created, datetime) or php_zone == ctx.clock.timezone:
        return created
    moment = created.replace(tzinfo=php_zone)
    return moment.astimezone(ctx.clock.timezone).replace(tzinfo=None)
