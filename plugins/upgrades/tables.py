"""The plugin's own table: manual upgrade requests, one per (service, target product).

The unique key is what makes the manual path (R-UP-3) open at most one ticket per (service,
target), even when two processes ask at once: the one whose insert wins opens the ticket, the
other reads the row.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, UniqueConstraint

from whmcs_bridge.store.tables import PREFIX, Id, metadata

upgrade_requests = Table(
    f"{PREFIX}upgrade_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("service_id", Integer, nullable=False),
    Column("product_id", Integer, nullable=False),
    Column("client_id", Integer, nullable=False),
    Column("billing_cycle", String(16), nullable=False),
    Column("amount", String(32), nullable=False),  # the quoted amount, a Decimal as text
    # claimed: a process owns it and is opening the ticket; opened: the ticket exists;
    # unknown: OpenTicket's answer was lost, so a ticket may exist and none is opened again.
    Column("status", String(16), nullable=False),
    Column("ticket_id", Integer, nullable=True),
    Column("ticket_tid", String(32), nullable=True),
    Column("note", Text, nullable=True),
    Column("claimed_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("service_id", "product_id", name="uq_upgrade_request_service_product"),
)
