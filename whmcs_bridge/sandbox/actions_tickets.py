"""Sandbox actions for tickets, e-mail, the activity log and settings (reference §3.4, §3.5)."""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from sqlalchemy import select

from whmcs_bridge.sandbox.actions_common import (
    ActionError,
    Context,
    action,
    insert_row,
    update_row,
)

PRIORITIES = ("Low", "Medium", "High")
#: Stock client templates the sandbox knows, with their type (which decides the related id).
TEMPLATES = {
    "Client Signup Email": "general",
    "Password Reset Confirmation": "general",
    "Credit Card Expiring Soon": "general",
    "Hosting Account Welcome Email": "product",
    "Service Suspension Notification": "product",
    "Service Unsuspension Notification": "product",
    "Cancellation Request Confirmation": "product",
    "Upgrade Order Confirmation": "product",
    "Domain Registration Confirmation": "domain",
    "Domain Renewal Confirmation": "domain",
    "Invoice Created": "invoice",
    "Invoice Payment Confirmation": "invoice",
    "Invoice Payment Reminder": "invoice",
    "Support Ticket Opened": "support",
    "Support Ticket Reply": "support",
}
EMAIL_TYPES = ("general", "product", "domain", "invoice", "support", "affiliate")


def _ticket_mask() -> str:
    letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(3))
    return f"{letters}-{secrets.randbelow(900000) + 100000}"


@action("OpenTicket")
def open_ticket(ctx: Context) -> dict[str, Any]:
    """Reference §3.4: a new ticket; fires TicketOpen (TicketOpenAdmin with ``admin``)."""
    dept_id = ctx.int_param("deptid")
    if ctx.row(ctx.tables.ticketdepartments, dept_id) is None:
        raise ActionError("Department ID not found")
    if not ctx.param("subject"):
        raise ActionError("Subject is required")
    if not ctx.param("message"):
        raise ActionError("Message is required")
    client_id = ctx.int_param("clientid")
    name, email = str(ctx.param("name", "")), str(ctx.param("email", ""))
    if client_id:
        client = ctx.row(ctx.tables.clients, client_id)
        if client is None:
            raise ActionError("Client ID Not Found")
        name, email = f"{client.firstname} {client.lastname}".strip(), client.email
    elif not (name and email):
        raise ActionError("Name and email address are required if not a client")
    service = ""
    if ctx.int_param("serviceid"):
        service = f"S{ctx.int_param('serviceid')}"
    elif ctx.int_param("domainid"):
        service = f"D{ctx.int_param('domainid')}"
    priority = ctx.param("priority", "Medium")
    tid, access = _ticket_mask(), secrets.token_hex(4)
    ticket_id = insert_row(
        ctx.conn,
        ctx.tables.tickets,
        {
            "tid": tid,
            "did": dept_id,
            "userid": client_id,
            "contactid": ctx.int_param("contactid"),
            "name": "" if client_id else name,
            "email": "" if client_id else email,
            "c": access,
            "ipaddress": "127.0.0.1",
            "date": ctx.now,
            "title": ctx.param("subject"),
            "message": ctx.param("message"),
            "status": "Open",
            "urgency": priority if priority in PRIORITIES else "Medium",
            "admin": str(ctx.param("admin", "")) if ctx.flag("admin") else "",
            "lastreply": ctx.now,
            "service": service,
            "updated_at": ctx.now,
        },
    )
    hook = "TicketOpenAdmin" if ctx.flag("admin") else "TicketOpen"
    ctx.hook(hook, ticketid=ticket_id, client_id=client_id, deptid=dept_id)
    return {"id": ticket_id, "tid": tid, "c": access}


@action("AddTicketReply")
def add_ticket_reply(ctx: Context) -> dict[str, Any]:
    """Reference §3.4: a client reply (TicketUserReply) or a staff one (TicketAdminReply)."""
    ticket = ctx.row(ctx.tables.tickets, ctx.int_param("ticketid"))
    if ticket is None:
        raise ActionError("Ticket ID Not Found")
    if not ctx.param("message"):
        raise ActionError("Message is required")
    admin = str(ctx.param("adminusername", ""))
    client_id = 0 if admin else ctx.int_param("clientid", ticket.userid)
    if client_id and ctx.row(ctx.tables.clients, client_id) is None:
        raise ActionError("Client ID Not Found")
    reply_id = insert_row(
        ctx.conn,
        ctx.tables.ticketreplies,
        {
            "tid": ticket.id,
            "userid": client_id,
            "contactid": ctx.int_param("contactid"),
            "name": str(ctx.param("name", "")),
            "email": str(ctx.param("email", "")),
            "date": ctx.now,
            "message": ctx.param("message"),
            "admin": admin,
        },
    )
    status = ctx.param("status", "Answered" if admin else "Customer-Reply")
    update_row(
        ctx.conn,
        ctx.tables.tickets,
        ticket.id,
        {"status": status, "lastreply": ctx.now, "updated_at": ctx.now},
    )
    if admin:
        ctx.hook("TicketAdminReply", ticketid=ticket.id, replyid=reply_id)
    else:
        ctx.hook("TicketUserReply", ticketid=ticket.id, replyid=reply_id, client_id=client_id)
    return {}


def _related_exists(ctx: Context, kind: str, related_id: int) -> bool:
    table = {
        "general": ctx.tables.clients,
        "product": ctx.tables.hosting,
        "domain": ctx.tables.domains,
        "invoice": ctx.tables.invoices,
        "support": ctx.tables.tickets,
    }.get(kind)
    if table is None:
        return related_id > 0
    return ctx.row(table, related_id) is not None


@action("SendEmail")
def send_email(ctx: Context) -> dict[str, Any]:
    """Reference §3.4: a template or custom mail; kept in ``SandboxPanel.sent_emails``."""
    name = ctx.param("messagename")
    kind = ctx.param("customtype")
    if name:
        kind = TEMPLATES.get(str(name))
        if kind is None:
            raise ActionError("Email Template not found")
    elif kind not in EMAIL_TYPES:
        raise ActionError("A valid message name or custom type is required")
    elif not ctx.param("custommessage"):
        raise ActionError("Custom message is required")
    related_id = ctx.int_param("id")
    if not _related_exists(ctx, str(kind), related_id) or ctx.panel.take_mail_failure():
        # whmcs.md §0.1: one text for a bad related id and for an SMTP failure alike.
        raise ActionError("Sending Failed. Please see documentation.")
    message = str(ctx.param("custommessage", ""))
    if not ctx.param("nonl2br"):
        message = re.sub(r"(\r\n|\n\r|\n|\r)", r"<br />\1", message)  # PHP's nl2br()
    ctx.panel.record_email(
        {
            "messagename": name,
            "type": kind,
            "id": related_id,
            "subject": ctx.param("customsubject", name),
            "message": message,
            "customvars": ctx.params.get("customvars"),
            "date": ctx.now,
        }
    )
    return {}


@action("LogActivity")
def log_activity(ctx: Context) -> dict[str, Any]:
    """Reference §3.4: an activity log line (7.8 has no user_id/admin_id columns)."""
    if not ctx.param("description"):
        raise ActionError("Description is required")
    client_id = ctx.int_param("clientid") or ctx.int_param("userid")
    ctx.activity(str(ctx.param("description")), client_id)
    return {}


@action("GetConfigurationValue")
def get_configuration_value(ctx: Context) -> dict[str, Any]:
    """Reference §5.4: one ``tblconfiguration`` value."""
    setting = ctx.param("setting")
    if not setting:
        raise ActionError("Parameter setting is required")
    t = ctx.tables.configuration
    row = ctx.conn.execute(select(t.c.value).where(t.c.setting == setting)).first()
    if row is None:
        raise ActionError("Setting not found")
    return {"setting": setting, "value": row.value}
