"""Reading and writing the plugin's own rows (``transfer_requests``, ``transfer_notes``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .model import TransferCheck
from .tables import APPLIED, PENDING, transfer_notes, transfer_requests


@dataclass(frozen=True)
class TransferRequest:
    """One row of ``transfer_requests``, with its stored check."""

    id: int
    service_id: int
    from_client_id: int
    to_client_id: int | None
    target: str
    ticket_id: int | None
    state: str
    check: TransferCheck
    with_domain: bool
    event_key: str | None
    request_reply: str | None
    moved_reply: str | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    applied_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> TransferRequest:
        return cls(
            id=int(row.id),
            service_id=int(row.service_id),
            from_client_id=int(row.from_client_id),
            to_client_id=row.to_client_id,
            target=str(row.target),
            ticket_id=row.ticket_id,
            state=str(row.state),
            check=TransferCheck.from_dict(json.loads(row.check_json)),
            with_domain=bool(row.with_domain),
            event_key=row.event_key,
            request_reply=row.request_reply,
            moved_reply=row.moved_reply,
            note=row.note,
            created_at=row.created_at,
            updated_at=row.updated_at,
            applied_at=row.applied_at,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "service_id": self.service_id,
            "from_client_id": self.from_client_id,
            "to_client_id": self.to_client_id,
            "target": self.target,
            "ticket_id": self.ticket_id,
            "state": self.state,
            "reasons": self.check.codes,
            "with_domain": self.with_domain,
            "request_reply": self.request_reply,
            "moved_reply": self.moved_reply,
            "note": self.note,
            "created_at": self.created_at.isoformat(sep=" "),
            "updated_at": self.updated_at.isoformat(sep=" "),
            "applied_at": self.applied_at.isoformat(sep=" ") if self.applied_at else None,
            "check": self.check.as_dict(),
        }


def encode_check(check: TransferCheck) -> str:
    return json.dumps(check.as_dict(), sort_keys=True, default=str)


def check_columns(check: TransferCheck) -> dict[str, Any]:
    """The columns that hold a check: the snapshot and its reason codes."""
    return {"check_json": encode_check(check), "reasons": ",".join(check.codes)[:255]}


def insert_request(conn: Connection, values: dict[str, Any]) -> int:
    result = conn.execute(insert(transfer_requests).values(values))
    return int(result.inserted_primary_key[0])


def get_request(conn: Connection, request_id: int) -> TransferRequest | None:
    row = conn.execute(
        select(transfer_requests).where(transfer_requests.c.id == request_id)
    ).first()
    return TransferRequest.from_row(row) if row is not None else None


def pending_for_service(conn: Connection, service_id: int) -> TransferRequest | None:
    t = transfer_requests
    row = conn.execute(
        select(t).where(t.c.service_id == service_id, t.c.state == PENDING).order_by(t.c.id)
    ).first()
    return TransferRequest.from_row(row) if row is not None else None


def list_requests(
    conn: Connection, state: str | None = None, limit: int = 100
) -> list[TransferRequest]:
    t = transfer_requests
    query = select(t).order_by(t.c.id.desc()).limit(limit)
    if state:
        query = query.where(t.c.state == state)
    return [TransferRequest.from_row(row) for row in conn.execute(query)]


def applied_by_event(conn: Connection, transfer_id: int | None, key: str) -> TransferRequest | None:
    """The applied request a ``service.moved`` event belongs to (by id, else by event key)."""
    t = transfer_requests
    where = t.c.id == transfer_id if transfer_id else t.c.event_key == key
    row = conn.execute(select(t).where(where, t.c.state == APPLIED)).first()
    return TransferRequest.from_row(row) if row is not None else None


def applied_from_client(conn: Connection, client_id: int) -> list[TransferRequest]:
    """Moves away from ``client_id`` (R-TR-9), newest first; one indexed query."""
    t = transfer_requests
    query = (
        select(t)
        .where(t.c.from_client_id == client_id, t.c.state == APPLIED)
        .order_by(t.c.id.desc())
    )
    return [TransferRequest.from_row(row) for row in conn.execute(query)]


def set_fields(conn: Connection, request_id: int, values: dict[str, Any], **only_when: Any) -> bool:
    """Update a request; with ``only_when`` (column=value, None for NULL) only if they hold.
    True when the row changed: the conditions make it a claim two processes cannot both win."""
    t = transfer_requests
    query = update(t).where(t.c.id == request_id)
    for column, value in only_when.items():
        query = query.where(t.c[column].is_(None) if value is None else t.c[column] == value)
    return conn.execute(query.values(values)).rowcount == 1


def claim_note(conn: Connection, ticket_id: int, transfer_id: int, now: datetime) -> bool:
    """Claim the R-TR-9 note of a ticket (in a transaction of its own); False when another run
    already has it."""
    try:
        conn.execute(
            insert(transfer_notes).values(
                ticket_id=ticket_id,
                transfer_id=transfer_id,
                state="sending",
                created_at=now,
                updated_at=now,
            )
        )
    except IntegrityError:
        return False
    return True


def set_note_state(conn: Connection, ticket_id: int, state: str, now: datetime) -> None:
    conn.execute(
        update(transfer_notes)
        .where(transfer_notes.c.ticket_id == ticket_id)
        .values(state=state, updated_at=now)
    )


def delete_note(conn: Connection, ticket_id: int) -> None:
    conn.execute(delete(transfer_notes).where(transfer_notes.c.ticket_id == ticket_id))


def note_state(conn: Connection, ticket_id: int) -> str | None:
    return conn.execute(
        select(transfer_notes.c.state).where(transfer_notes.c.ticket_id == ticket_id)
    ).scalar()
