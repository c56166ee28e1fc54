"""Questions about support tickets: a ticket, its replies, the open ones, the first staff answer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from whmcs_bridge.panel.queries.ticket_clock import (
    DEFAULT_OPEN_STATUSES,
    TicketHead,
    open_statuses,
    open_ticket_heads,
    open_ticket_reply_times,
    reply_times,
    reply_times_opened_between,
    ticket_heads_opened_between,
)
from whmcs_bridge.panel.tables import PanelTables

__all__ = [
    "DEFAULT_OPEN_STATUSES",
    "TicketHead",
    "TicketInfo",
    "TicketReply",
    "department_names",
    "first_staff_reply",
    "not_from_owner",
    "open_statuses",
    "open_ticket_heads",
    "open_ticket_reply_times",
    "open_tickets",
    "replies",
    "reply_times",
    "reply_times_opened_between",
    "ticket",
    "ticket_heads_opened_between",
    "ticket_titled_since",
    "tickets_opened_between",
]


@dataclass(frozen=True)
class TicketInfo:
    """A ``tbltickets`` row (whmcs.md §1.17) with its department's name."""

    id: int
    tid: str  # the public ticket number (mask), e.g. 'KQW-482913'
    client_id: int  # 0 = a guest
    contact_id: int
    requestor_id: int  # tblusers.id of the login who opened it (8.x; 0 on 7.x)
    department_id: int
    department_name: str
    email: str
    name: str
    subject: str
    message: str
    status: str
    priority: str  # tbltickets.urgency: Low | Medium | High
    opened_at: datetime | None  # panel-local time
    last_reply: datetime | None
    admin: str  # the staff member's name when staff opened it, else ''
    service_id: int | None  # the related service ('S12' in tbltickets.service)
    domain_id: int | None  # the related domain ('D7')


@dataclass(frozen=True)
class TicketReply:
    """A ``tblticketreplies`` row: by staff when ``admin`` holds a name, else by the client side."""

    id: int
    ticket_id: int
    date: datetime | None  # panel-local time
    admin: str  # the staff member's name, '' for a client reply
    client_id: int
    contact_id: int
    requestor_id: int  # tblusers.id (8.x; 0 on 7.x and for staff)
    name: str
    email: str
    message: str

    @property
    def by_staff(self) -> bool:
        """Whether a staff member wrote it."""
        return bool(self.admin.strip())


def _related(service: str) -> tuple[int | None, int | None]:
    text = service.strip().upper()
    if len(text) > 1 and text[1:].isdigit():
        if text[0] == "S":
            return int(text[1:]), None
        if text[0] == "D":
            return None, int(text[1:])
    return None, None


def _value(row: Any, name: str, default: Any = "") -> Any:
    value = row._mapping.get(name)
    return default if value is None else value


def _ticket_info(row: Any) -> TicketInfo:
    service_id, domain_id = _related(str(_value(row, "service")))
    return TicketInfo(
        id=int(row.id),
        tid=str(_value(row, "tid")),
        client_id=int(_value(row, "userid", 0)),
        contact_id=int(_value(row, "contactid", 0)),
        requestor_id=int(_value(row, "requestor_id", 0)),
        department_id=int(_value(row, "did", 0)),
        department_name=str(_value(row, "department_name")),
        email=str(_value(row, "email")).strip(),
        name=str(_value(row, "name")),
        subject=str(_value(row, "title")),
        message=str(_value(row, "message")),
        status=str(_value(row, "status")),
        priority=str(_value(row, "urgency")),
        opened_at=row._mapping.get("date"),
        last_reply=row._mapping.get("lastreply"),
        admin=str(_value(row, "admin")).strip(),
        service_id=service_id,
        domain_id=domain_id,
    )


def _tickets_query(tables: PanelTables) -> Any:
    tickets, departments = tables.tickets, tables.ticketdepartments
    wanted = (
        "id",
        "tid",
        "did",
        "userid",
        "contactid",
        "requestor_id",
        "name",
        "email",
        "date",
        "title",
        "message",
        "status",
        "urgency",
        "admin",
        "lastreply",
        "service",
    )
    return select(
        *(tickets.c[name] for name in wanted if name in tickets.c),
        departments.c.name.label("department_name"),
    ).select_from(tickets.outerjoin(departments, departments.c.id == tickets.c.did))


def ticket(conn: Connection, tables: PanelTables, ticket_id: int) -> TicketInfo | None:
    """The ticket with id ``ticket_id`` (tbltickets.id, not the mask), or ``None``."""
    row = conn.execute(_tickets_query(tables).where(tables.tickets.c.id == ticket_id)).first()
    return None if row is None else _ticket_info(row)


def _reply(row: Any) -> TicketReply:
    return TicketReply(
        id=int(row.id),
        ticket_id=int(row.tid),
        date=row.date,
        admin=str(_value(row, "admin")).strip(),
        client_id=int(_value(row, "userid", 0)),
        contact_id=int(_value(row, "contactid", 0)),
        requestor_id=int(_value(row, "requestor_id", 0)),
        name=str(_value(row, "name")),
        email=str(_value(row, "email")).strip(),
        message=str(_value(row, "message")),
    )


def replies(conn: Connection, tables: PanelTables, ticket_id: int) -> list[TicketReply]:
    """The ticket's replies, oldest first (the opening message is the ticket's own)."""
    table = tables.ticketreplies
    query = select(table).where(table.c.tid == ticket_id).order_by(table.c.date, table.c.id)
    return [_reply(row) for row in conn.execute(query)]


def first_staff_reply(conn: Connection, tables: PanelTables, ticket_id: int) -> TicketReply | None:
    """The earliest reply a staff member wrote, or ``None`` while staff has not answered."""
    table = tables.ticketreplies
    query = (
        select(table)
        .where(table.c.tid == ticket_id, table.c.admin != "")
        .order_by(table.c.date, table.c.id)
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _reply(row)


def open_tickets(
    conn: Connection,
    tables: PanelTables,
    *,
    department_ids: Iterable[int] | None = None,
    after_id: int = 0,
    page_size: int = 500,
) -> Iterator[TicketInfo]:
    """The open tickets (see :func:`open_statuses`) by id, read ``page_size`` at a time.

    Merged tickets are left out. Pass the last id seen as ``after_id`` to resume. The pages are
    separate queries, so a long walk holds no cursor open on the panel.
    """
    tickets = tables.tickets
    where = [tickets.c.status.in_(open_statuses(conn, tables))]
    if "merged_ticket_id" in tickets.c:
        where.append(tickets.c.merged_ticket_id == 0)
    if department_ids is not None:
        where.append(tickets.c.did.in_(list(department_ids)))
    last = after_id
    while True:
        query = (
            _tickets_query(tables)
            .where(*where, tickets.c.id > last)
            .order_by(tickets.c.id)
            .limit(page_size)
        )
        rows = conn.execute(query).all()
        for row in rows:
            yield _ticket_info(row)
        if len(rows) < page_size:
            return
        last = int(rows[-1].id)


def department_id(conn: Connection, tables: PanelTables, wanted: int | str | None) -> int | None:
    """A ticket department by id or by name (any case), as a config names it; ``None`` when
    none matches (or nothing was named)."""
    if wanted is None or not str(wanted).strip():
        return None
    departments = tables.ticketdepartments
    rows = conn.execute(
        select(departments.c.id, departments.c.name).order_by(departments.c.id)
    ).all()
    text = str(wanted).strip()
    if text.isdigit():
        return next((int(r.id) for r in rows if int(r.id) == int(text)), None)
    # Python's casefold, not SQL lower(): SQLite lowers ASCII only ("Técnico").
    return next((int(r.id) for r in rows if str(r.name).casefold() == text.casefold()), None)


def ticket_titled_since(
    conn: Connection, tables: PanelTables, client_id: int, title: str, since: datetime
) -> TicketInfo | None:
    """The client's first ticket (lowest id) titled exactly ``title`` and opened at or after
    ``since`` (panel-local), merged ones included; ``None`` when there is none. What finds the
    ticket a run opened before it stopped without recording it."""
    tickets = tables.tickets
    query = (
        _tickets_query(tables)
        .where(tickets.c.userid == client_id, tickets.c.title == title, tickets.c.date >= since)
        .order_by(tickets.c.id)
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _ticket_info(row)


def tickets_opened_between(
    conn: Connection, tables: PanelTables, start: datetime, end: datetime
) -> list[TicketInfo]:
    """Tickets opened from ``start`` (included) to ``end`` (excluded), any status, by id;
    merged tickets left out. Times are panel-local."""
    tickets = tables.tickets
    where = [tickets.c.date >= start, tickets.c.date < end]
    if "merged_ticket_id" in tickets.c:
        where.append(tickets.c.merged_ticket_id == 0)
    query = _tickets_query(tables).where(*where).order_by(tickets.c.id)
    return [_ticket_info(row) for row in conn.execute(query)]


def department_names(conn: Connection, tables: PanelTables, ids: Iterable[int]) -> dict[int, str]:
    """Ticket department names by id (``tblticketdepartments``), for the ids that exist."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return {}
    table = tables.ticketdepartments
    rows = conn.execute(select(table.c.id, table.c.name).where(table.c.id.in_(wanted)))
    return {int(department): str(name or "") for department, name in rows}


def not_from_owner(
    conn: Connection, tables: PanelTables, ticket: TicketInfo, client_id: int, email: str
) -> str | None:
    """Why a ticket does not stand for the account holder's own word, or ``None`` when it does.

    It must be the client's, opened neither by staff nor by a contact, and sent from the holder's
    registered e-mail: on 8.x by the owner login (``requestor_id``), on 7.x by the client itself
    (an e-mail on the ticket, if any, must be ``email``, the registered one). Used wherever the
    company's rules ask for the owner's own request (a service move, a cancellation).
    """
    from whmcs_bridge.panel.queries.people import owner_user_id

    if ticket.client_id != client_id:
        who = f"client {ticket.client_id}" if ticket.client_id else f"a guest ({ticket.email})"
        return f"ticket {ticket.id} was sent by {who}, not by the account's holder {client_id}"
    if ticket.admin:
        return f"ticket {ticket.id} was opened by staff ({ticket.admin}), not by the holder"
    if ticket.contact_id:
        return f"ticket {ticket.id} was sent by contact {ticket.contact_id}, not by the holder"
    if ticket.requestor_id:
        if ticket.requestor_id == owner_user_id(conn, tables, client_id):
            return None
        return (
            f"ticket {ticket.id} was sent by login user {ticket.requestor_id}, "
            "who is not the account's owner"
        )
    sender = ticket.email.strip().lower()
    if sender and sender != email.strip().lower():
        return f"ticket {ticket.id} was sent from {sender}, not the holder's registered e-mail"
    return None
