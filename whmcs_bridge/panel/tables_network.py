"""Network issues, the servers they affect, and client groups.

``tblnetworkissues`` is what staff publish on the panel's service status page (R-SL-3); an issue
of type ``Server`` names a ``tblservers`` row, and ``tblhosting.server`` says which services live
there. ``tblclientgroups`` names the groups an SLA plan can be assigned by.

Columns, types, defaults and keys follow the stock WHMCS 8.4 schema (7.8 has the same columns).
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text, text

from whmcs_bridge.panel.tables_meta import metadata
from whmcs_bridge.panel.types import Money, PanelDateTime, PanelDecimal, PanelEnum

__all__ = ["clientgroups", "networkissues", "servers"]

networkissues = Table(
    "tblnetworkissues",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(150), nullable=False),
    Column("description", Text, nullable=False),
    Column("type", PanelEnum("Server", "System", "Other"), nullable=False),
    Column("affecting", String(100)),
    Column("server", Integer),
    Column("priority", PanelEnum("Critical", "Low", "Medium", "High"), nullable=False),
    Column("startdate", PanelDateTime(), nullable=False),
    Column("enddate", PanelDateTime()),
    Column(
        "status",
        PanelEnum("Reported", "Investigating", "In Progress", "Outage", "Scheduled", "Resolved"),
        nullable=False,
    ),
    Column("lastupdate", PanelDateTime(), nullable=False),
    Column("created_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("updated_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
)

servers = Table(
    "tblservers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("ipaddress", Text, nullable=False),
    Column("assignedips", Text, nullable=False),
    Column("hostname", Text, nullable=False),
    Column("monthlycost", Money(), nullable=False, server_default=text("0.00")),
    Column("noc", Text, nullable=False),
    Column("statusaddress", Text, nullable=False),
    *(
        Column(f"nameserver{n}{suffix}", Text, nullable=False)
        for n in range(1, 6)
        for suffix in ("", "ip")
    ),
    Column("maxaccounts", Integer, nullable=False, server_default=text("0")),
    Column("type", Text, nullable=False),
    Column("username", Text, nullable=False),
    Column("password", Text, nullable=False),  # encrypted by WHMCS; never read by the bridge
    Column("accesshash", Text, nullable=False),
    Column("secure", Text, nullable=False),
    Column("port", Integer),
    Column("active", Integer, nullable=False),
    Column("disabled", Integer, nullable=False),
)

clientgroups = Table(
    "tblclientgroups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("groupname", String(45), nullable=False),
    Column("groupcolour", String(45)),
    Column("discountpercent", PanelDecimal(10, 2), server_default=text("0.00")),
    Column("susptermexempt", Text),
    Column("separateinvoices", Text, nullable=False),
)
