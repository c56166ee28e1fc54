"""Per-client alert preferences: opt-out of every alert or of one event, and WhatsApp opt-in.

Each record keeps who made it and when (panel-local time), so a complaint can be answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from .tables import ALL_EVENTS, alert_prefs

OPT_OUT = "optout"
OPT_IN = "optin"


@dataclass(frozen=True)
class ClientPrefs:
    """What one client chose: the events it opted out of (``*`` = all) and its opt-in."""

    opted_out: frozenset[str]
    opted_in: bool

    def allows(self, event: str) -> bool:
        return not ({ALL_EVENTS, event} & self.opted_out)


def read_prefs(conn: Connection, client_id: int) -> ClientPrefs:
    rows = conn.execute(
        select(alert_prefs.c.kind, alert_prefs.c.event).where(alert_prefs.c.client_id == client_id)
    ).all()
    return ClientPrefs(
        opted_out=frozenset(r.event for r in rows if r.kind == OPT_OUT),
        opted_in=any(r.kind == OPT_IN for r in rows),
    )


def record(
    conn: Connection,
    client_id: int,
    kind: str,
    event: str | None,
    by: str,
    now: datetime,
    note: str = "",
) -> bool:
    """Store a preference; False when the same one was already recorded (kept unchanged)."""
    key = event or ALL_EVENTS
    exists = conn.execute(
        select(alert_prefs.c.id).where(
            alert_prefs.c.client_id == client_id,
            alert_prefs.c.kind == kind,
            alert_prefs.c.event == key,
        )
    ).first()
    if exists:
        return False
    conn.execute(
        insert(alert_prefs).values(
            client_id=client_id,
            kind=kind,
            event=key,
            created_by=by[:128],
            created_at=now,
            note=note,
        )
    )
    return True


def remove(conn: Connection, client_id: int, kind: str, event: str | None) -> bool:
    """Withdraw a preference; False when there was none."""
    result = conn.execute(
        delete(alert_prefs).where(
            alert_prefs.c.client_id == client_id,
            alert_prefs.c.kind == kind,
            alert_prefs.c.event == (event or ALL_EVENTS),
        )
    )
    return bool(result.rowcount)


def list_prefs(conn: Connection, client_id: int) -> list[dict[str, object]]:
    rows = conn.execute(
        select(alert_prefs).where(alert_prefs.c.client_id == client_id).order_by(alert_prefs.c.id)
    ).all()
    return [
        {
            "kind": r.kind,
            "event": r.event,
            "by": r.created_by,
            "at": r.created_at.isoformat(sep=" "),
            "note": r.note,
        }
        for r in rows
    ]
