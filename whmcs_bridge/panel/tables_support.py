"""Support tickets, their replies and departments.

Columns, types, defaults and keys follow the stock WHMCS 8.4 schema; index names carry the
table name because SQLite index names are per database, not per table.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, text

from whmcs_bridge.panel.tables_meta import metadata
from whmcs_bridge.panel.types import PanelBool, PanelDateTime, PanelEnum

__all__ = ["ticketdepartments", "ticketreplies", "tickets", "ticketstatuses"]

tickets = Table(
    "tbltickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tid", String(128)),
    Column("did", Integer, nullable=False),
    Column("userid", Integer, nullable=False),
    Column("contactid", Integer, nullable=False),
    Column("requestor_id", Integer, nullable=False, server_default=text("0")),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("cc", Text, nullable=False),
    Column("c", Text, nullable=False),
    Column("ipaddress", String(64)),
    Column("date", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("title", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("status", String(64), nullable=False),
    Column("urgency", Text, nullable=False),
    Column("admin", Text, nullable=False),
    Column("attachment", Text, nullable=False),
    Column("attachments_removed", PanelBool(), nullable=False, server_default=text("0")),
    Column("lastreply", PanelDateTime(), nullable=False),
    Column("flag", Integer, nullable=False),
    Column("clientunread", PanelBool(), nullable=False),
    Column("adminunread", Text, nullable=False),
    Column("replyingadmin", Integer, nullable=False),
    Column("replyingtime", PanelDateTime(), nullable=False),
    Column("service", Text, nullable=False),
    Column("merged_ticket_id", Integer, nullable=False, server_default=text("0")),
    Column(
        "editor", PanelEnum("plain", "markdown", "bbcode"), nullable=False, server_default="plain"
    ),
    Column("updated_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Index("tbltickets_tid_c", "tid", "c", mysql_length={"c": 64}),
    Index("tbltickets_userid", "userid"),
    Index("tbltickets_date", "date"),
    Index("tbltickets_did", "did"),
    Index("tbltickets_merged_ticket_id", "merged_ticket_id", "id"),
    Index("tbltickets_status", "status"),
)


ticketreplies = Table(
    "tblticketreplies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tid", Integer, nullable=False),
    Column("userid", Integer, nullable=False),
    Column("contactid", Integer, nullable=False),
    Column("requestor_id", Integer, nullable=False, server_default=text("0")),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("date", PanelDateTime(), nullable=False),
    Column("message", Text, nullable=False),
    Column("admin", Text, nullable=False),
    Column("attachment", Text, nullable=False),
    Column("attachments_removed", PanelBool(), nullable=False, server_default=text("0")),
    Column("rating", Integer, nullable=False),
    Column("editor", PanelEnum("plain", "markdown"), nullable=False, server_default="plain"),
    Index("tblticketreplies_tid_date", "tid", "date"),
)


ticketdepartments = Table(
    "tblticketdepartments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("clientsonly", PanelBool(text_style=True), nullable=False),
    Column("piperepliesonly", PanelBool(text_style=True), nullable=False),
    Column("noautoresponder", PanelBool(text_style=True), nullable=False),
    Column("hidden", PanelBool(text_style=True), nullable=False),
    Column("order", Integer, nullable=False),
    Column("host", Text, nullable=False),
    Column("port", Text, nullable=False),
    Column("login", Text, nullable=False),
    Column("password", Text, nullable=False),
    Column("mail_auth_config", Text),
    Column("feedback_request", PanelBool(), nullable=False, server_default=text("0")),
    Index("tblticketdepartments_name", "name", mysql_length={"name": 64}),
)


# Ticket statuses: the defaults and the admin's own; showactive marks the ones that count as open.
ticketstatuses = Table(
    "tblticketstatuses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(64), nullable=False),
    Column("color", Text, nullable=False),
    Column("sortorder", Integer, nullable=False),
    Column("showactive", PanelBool(), nullable=False),
    Column("showawaiting", PanelBool(), nullable=False),
    Column("autoclose", PanelBool(), nullable=False),
)


# Staff-only notes on a ticket (AddTicketNote): the client never sees them.
ticketnotes = Table(
    "tblticketnotes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticketid", Integer, nullable=False),
    Column("admin", Text, nullable=False),
    Column("date", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("message", Text, nullable=False),
    Column("attachments", Text, nullable=False),
    Column("attachments_removed", PanelBool(), nullable=False, server_default=text("0")),
    Column("editor", PanelEnum("plain", "markdown"), nullable=False, server_default="plain"),
    Index("tblticketnotes_ticketid_date", "ticketid", "date"),
)
