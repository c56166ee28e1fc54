"""Watchers of rows that only ever appear: tickets, ticket replies and cancellation requests.

Each reads the rows above its cursor, by primary key, and emits one event per row; nothing is
remembered in ``seen``. An idle cycle costs one query each (the new rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, select

from whmcs_bridge.events.model import Event
from whmcs_bridge.intake.watcher import WatchContext
from whmcs_bridge.intake.watchers.base import CoreWatcher, make_event


class TicketWatcher(CoreWatcher):
    """``ticket.opened`` for every new ``tbltickets`` row."""

    name = "tickets"
    table_name = "tickets"

    def columns(self) -> list[ColumnElement[Any]]:
        c = self.table.c
        return [c.id, c.userid, c.did, c.date]

    def on_new(self, ctx: WatchContext, rows: Sequence[Row[Any]]) -> list[Event]:
        return [
            make_event(ctx, "ticket.opened", row.id, row.userid, {"deptid": row.did}, row.date)
            for row in rows
        ]


class ReplyWatcher(CoreWatcher):
    """``ticket.replied`` for every new ``tblticketreplies`` row, with the ticket's client."""

    name = "ticket_replies"
    table_name = "ticketreplies"

    def new_rows_query(self) -> Select[Any]:
        replies, tickets = self.table, self.tables.tickets
        # The reply's own userid is 0 for staff replies; the ticket names the client.
        return select(
            replies.c.id,
            replies.c.tid,
            replies.c.date,
            replies.c.admin,
            tickets.c.userid.label("client_id"),
        ).select_from(replies.outerjoin(tickets, tickets.c.id == replies.c.tid))

    def on_new(self, ctx: WatchContext, rows: Sequence[Row[Any]]) -> list[Event]:
        return [
            make_event(
                ctx,
                "ticket.replied",
                row.id,
                row.client_id,
                {"ticketid": row.tid, "by": "staff" if row.admin else "client"},
                row.date,
            )
            for row in rows
        ]


class CancellationWatcher(CoreWatcher):
    """``cancellation.requested`` for every new ``tblcancelrequests`` row.

    The subject is the service (``relid``), as the hook reports it, and the key's day is the
    day of the request, which is the day the hook's row was written.
    """

    name = "cancellations"
    table_name = "cancelrequests"

    def new_rows_query(self) -> Select[Any]:
        requests, hosting = self.table, self.tables.hosting
        return select(
            requests.c.id,
            requests.c.relid,
            requests.c.date,
            requests.c.type,
            hosting.c.userid.label("client_id"),
        ).select_from(requests.outerjoin(hosting, hosting.c.id == requests.c.relid))

    def on_new(self, ctx: WatchContext, rows: Sequence[Row[Any]]) -> list[Event]:
        return [
            make_event(
                ctx,
                "cancellation.requested",
                row.relid,
                row.client_id,
                {"type": row.type, "request_id": row.id},
                row.date,
            )
            for row in rows
            if row.relid
        ]
