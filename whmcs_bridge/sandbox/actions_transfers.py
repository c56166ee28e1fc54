"""Sandbox actions the transfers plugin uses beyond the ticket ones (reference §3.4).

``AddTicketReply`` and ``LogActivity`` are in ``actions_tickets``; moving a service has no API
action at all (whmcs.md §3.6). What is left is ``AddTicketNote`` (developers.whmcs.com
api-reference/addticketnote): ``ticketid`` or ``ticketnum`` (the public mask), ``message``
required, optional ``markdown`` and ``created``; the answer is only ``result``. The note is
staff-only: WHMCS sends no e-mail and fires no reply hook for it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from whmcs_bridge.sandbox.actions_common import ActionError, Context, action, insert_row


@action("AddTicketNote")
def add_ticket_note(ctx: Context) -> dict[str, Any]:
    """A staff-only note on a ticket, by id or by its public number."""
    tickets = ctx.tables.tickets
    ticket = None
    if ctx.int_param("ticketid"):
        ticket = ctx.row(tickets, ctx.int_param("ticketid"))
    elif ctx.param("ticketnum"):
        query = select(tickets).where(tickets.c.tid == str(ctx.param("ticketnum")))
        ticket = ctx.conn.execute(query).first()
    if ticket is None:
        raise ActionError("Ticket ID Not Found")
    if not ctx.param("message"):
        raise ActionError("Message is required")
    insert_row(
        ctx.conn,
        ctx.tables.ticketnotes,
        {
            "ticketid": ticket.id,
            "admin": "API",
            "date": ctx.now,
            "message": ctx.param("message"),
            "attachments": "",
            "editor": "markdown" if ctx.flag("markdown") else "plain",
        },
    )
    return {}
