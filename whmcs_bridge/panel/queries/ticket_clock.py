"""What a clock over thousands of tickets reads, cheaply: which statuses count as open, light
ticket heads, and reply times as ``(date, by_staff)`` without the message text."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from whmcs_bridge.panel.tables import PanelTables

__all__ = [
    "DEFAULT_OPEN_STATUSES",
    "TicketHead",
    "open_statuses",
    "open_ticket_heads",
    "open_ticket_reply_times",
    "reply_times",
    "reply_times_opened_between",
    "ticket_heads_opened_between",
]

#: The stock statuses with ``showactive`` set, for a panel whose tblticketstatuses is empty.
DEFAULT_OPEN_STATUSES = ("Open", "Answered", "Customer-Reply", "On Hold", "In Progress")


def open_statuses(conn: Connection, tables: PanelTables) -> tuple[str, ...]:
    """The statuses that count as open: those tblticketstatuses shows as active (the admin's
    own included), or the stock ones when the panel lists none."""
    statuses = tables.get("ticketstatuses")
    if statuses is not None:
        query = (
            select(statuses.c.title)
            .where(statuses.c.showactive != 0)
            .order_by(statuses.c.sortorder, statuses.c.id)
        )
        found = tuple(str(title) for title in conn.execute(query).scalars())
        if found or conn.execute(select(statuses.c.id).limit(1)).first() is not None:
            return found
    return DEFAULT_OPEN_STATUSES


def reply_times(
    conn: Connection, tables: PanelTables, ticket_ids: Iterable[int]
) -> dict[int, list[tuple[datetime, bool]]]:
    """For many tickets at once: each ticket's replies as ``(date, by_staff)``, oldest first.

    Only two columns are read (no message text), a thousand tickets per query: what an SLA
    clock over thousands of open tickets needs. Tickets without replies are absent.
    """
    table = tables.ticketreplies
    ids = sorted({int(i) for i in ticket_ids})
    found: dict[int, list[tuple[datetime, bool]]] = {}
    for start in range(0, len(ids), 1000):
        query = (
            select(table.c.tid, table.c.date, table.c.admin)
            .where(table.c.tid.in_(ids[start : start + 1000]))
            .order_by(table.c.tid, table.c.date, table.c.id)
        )
        for row in conn.execute(query):
            if row.date is not None:
                found.setdefault(int(row.tid), []).append(
                    (row.date, bool(str(row.admin or "").strip()))
                )
    return found


class TicketHead(NamedTuple):
    """The few fields of an open ticket a clock over thousands of them needs (cheap to build)."""

    id: int
    tid: str
    client_id: int  # 0 = a guest
    department_id: int
    department_name: str
    status: str
    priority: str  # tbltickets.urgency
    opened_at: datetime | None  # panel-local
    admin: str  # the staff member's name when staff opened it, else ''


def _ticket_heads(conn: Connection, tables: PanelTables, where: list[Any]) -> list[TicketHead]:
    """Tickets matching ``where`` (merged ones left out) in one query, by id, as heads."""
    tickets, departments = tables.tickets, tables.ticketdepartments
    if "merged_ticket_id" in tickets.c:
        where = [*where, tickets.c.merged_ticket_id == 0]
    query = (
        select(
            tickets.c.id,
            tickets.c.tid,
            tickets.c.userid,
            tickets.c.did,
            departments.c.name,
            tickets.c.status,
            tickets.c.urgency,
            tickets.c.date,
            tickets.c.admin,
        )
        .select_from(tickets.outerjoin(departments, departments.c.id == tickets.c.did))
        .where(*where)
        .order_by(tickets.c.id)
    )
    return [
        TicketHead(*row[:4], row[4] or "", row[5], row[6], row[7], (row[8] or "").strip())
        for row in conn.execute(query)
    ]


def _joined_reply_times(
    conn: Connection, tables: PanelTables, where: list[Any]
) -> dict[int, list[tuple[datetime, bool]]]:
    """Reply times of the tickets matching ``where`` (merged ones left out), one joined query."""
    tickets, table = tables.tickets, tables.ticketreplies
    if "merged_ticket_id" in tickets.c:
        where = [*where, tickets.c.merged_ticket_id == 0]
    query = (
        select(table.c.tid, table.c.date, table.c.admin)
        .select_from(table.join(tickets, tickets.c.id == table.c.tid))
        .where(*where)
        .order_by(table.c.tid, table.c.date, table.c.id)
    )
    found: dict[int, list[tuple[datetime, bool]]] = {}
    for ticket_id, date, admin in conn.execute(query):
        if date is not None:
            found.setdefault(int(ticket_id), []).append((date, bool((admin or "").strip())))
    return found


def open_ticket_heads(conn: Connection, tables: PanelTables) -> list[TicketHead]:
    """Every open ticket (see :func:`.tickets.open_tickets`) in one query, by id, as a
    :class:`TicketHead`: what a deadline over thousands of tickets needs, read cheaply."""
    return _ticket_heads(conn, tables, [tables.tickets.c.status.in_(open_statuses(conn, tables))])


def ticket_heads_opened_between(
    conn: Connection, tables: PanelTables, start: datetime, end: datetime
) -> list[TicketHead]:
    """:func:`.tickets.tickets_opened_between` as light :class:`TicketHead` rows (a month's
    report over thousands of tickets reads no message text)."""
    tickets = tables.tickets
    return _ticket_heads(conn, tables, [tickets.c.date >= start, tickets.c.date < end])


def reply_times_opened_between(
    conn: Connection, tables: PanelTables, start: datetime, end: datetime
) -> dict[int, list[tuple[datetime, bool]]]:
    """:func:`reply_times` of the tickets opened from ``start`` to ``end`` (end excluded), in
    one joined query: the companion of :func:`ticket_heads_opened_between`."""
    tickets = tables.tickets
    return _joined_reply_times(conn, tables, [tickets.c.date >= start, tickets.c.date < end])


def open_ticket_reply_times(
    conn: Connection, tables: PanelTables
) -> dict[int, list[tuple[datetime, bool]]]:
    """:func:`reply_times` of every open ticket (see :func:`.tickets.open_tickets`) in one
    joined query, with no list of ids to send: the companion of :func:`open_ticket_heads`."""
    status = tables.tickets.c.status.in_(open_statuses(conn, tables))
    return _joined_reply_times(conn, tables, [status])
