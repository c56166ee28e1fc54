"""Storing events once, and reading them back for dispatch and for ``whmcs-bridge events``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from whmcs_bridge.events.model import Event
from whmcs_bridge.store.tables import events as events_t
from whmcs_bridge.store.tables import outcomes as outcomes_t


def record_events(conn: Connection, new: Iterable[Event], now: datetime) -> int:
    """Insert events, ignoring any whose key is already stored; returns how many were new."""
    rows = [
        {
            "event_key": e.key,
            "name": e.name,
            "subject_type": e.subject_type,
            "subject_id": e.subject_id,
            "client_id": e.client_id,
            "occurred_at": e.occurred_at,
            "source": e.source,
            "origin": e.origin,
            "data": json.dumps(e.data, sort_keys=True, default=str),
            "created_at": now,
        }
        for e in new
    ]
    if not rows:
        return 0
    statement = (
        insert(events_t)
        .prefix_with("IGNORE", dialect="mysql")
        .prefix_with("OR IGNORE", dialect="sqlite")
    )
    result = conn.execute(statement, rows)
    # executemany rowcount is the number of rows really inserted on both drivers.
    return max(result.rowcount, 0)


def record_settled(conn: Connection, event: Event, now: datetime) -> int:
    """Insert one event that no plugin is to act on (already settled); returns its id.

    For a message that needs an event to hang on, such as ``alerts test``.
    """
    result = conn.execute(
        insert(events_t).values(
            event_key=event.key,
            name=event.name,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            client_id=event.client_id,
            occurred_at=event.occurred_at,
            source=event.source,
            origin=event.origin,
            data=json.dumps(event.data, sort_keys=True, default=str),
            created_at=now,
            settled_at=now,
        )
    )
    return int(result.inserted_primary_key[0])


def unsettled(conn: Connection, after_id: int, limit: int) -> list[Event]:
    """Events still waiting for some plugin, oldest first, after ``after_id``."""
    return [Event.from_row(row) for row in unsettled_rows(conn, after_id, limit)]


def unsettled_rows(conn: Connection, after_id: int, limit: int) -> list[Row[Any]]:
    """The stored rows of :func:`unsettled` (dispatch reads each one on its own)."""
    return list(
        conn.execute(
            select(events_t)
            .where(events_t.c.settled_at.is_(None), events_t.c.id > after_id)
            .order_by(events_t.c.id)
            .limit(limit)
        ).all()
    )


def iter_unsettled(conn: Connection, batch: int = 500) -> Iterator[list[Event]]:
    last = 0
    while True:
        chunk = unsettled(conn, last, batch)
        if not chunk:
            return
        yield chunk
        last = chunk[-1].id or last


def list_events(
    conn: Connection,
    *,
    name: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[tuple[Event, list[dict[str, object]]]]:
    """Newest events first, with each plugin's outcome."""
    query = select(events_t).order_by(events_t.c.id.desc()).limit(limit)
    if name:
        query = query.where(events_t.c.name == name)
    if since:
        query = query.where(events_t.c.occurred_at >= since)
    found = [Event.from_row(row) for row in conn.execute(query)]
    outcomes: dict[int, list[dict[str, object]]] = {}
    ids = [e.id for e in found]
    if ids:
        for row in conn.execute(
            select(outcomes_t).where(outcomes_t.c.event_id.in_(ids)).order_by(outcomes_t.c.plugin)
        ):
            outcomes.setdefault(row.event_id, []).append(
                {
                    "plugin": row.plugin,
                    "status": row.status,
                    "tries": row.tries,
                    "detail": row.detail,
                    "updated_at": row.updated_at.isoformat(sep=" "),
                }
            )
    return [(e, outcomes.get(e.id or 0, [])) for e in found]


def retry_event(conn: Connection, event_id: int, now: datetime) -> int:
    """Re-queue an event's quarantined (or failed) outcomes; returns how many were re-queued."""
    result = conn.execute(
        update(outcomes_t)
        .where(
            outcomes_t.c.event_id == event_id,
            outcomes_t.c.status.in_(("quarantined", "failed")),
        )
        .values(status="failed", tries=0, updated_at=now)
    )
    conn.execute(update(events_t).where(events_t.c.id == event_id).values(settled_at=None))
    return result.rowcount


def count_events(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(events_t)).scalar_one()
