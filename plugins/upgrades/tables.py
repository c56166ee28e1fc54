"""The plugin's own tables: manual upgrade requests, and what a checkout price promised.

The unique key of ``upgrade_requests`` is what makes the manual path (R-UP-3) open at most one
ticket per (service, target), even when two processes ask at once: the one whose insert wins
opens the ticket, the other reads the row.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Integer, String, Table, Text, UniqueConstraint

from whmcs_bridge.plugin import PREFIX, Id, metadata

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

# What a checkout price promised beyond the amount WHMCS invoices: the cycle restarting on the
# day of the order (``full``, and ``difference`` across a change of cycle) and the unused value
# granted as account credit (``full_unused = "credit"``). WHMCS's PreUpgradeCheckout takes only
# an amount, so the bridge carries these out itself when the upgrade completes.
upgrade_followups = Table(
    f"{PREFIX}upgrade_followups",
    metadata,
    Column("upgrade_id", Integer, primary_key=True, autoincrement=False),
    Column("service_id", Integer, nullable=False),
    Column("client_id", Integer, nullable=False),
    Column("policy", String(16), nullable=False),
    Column("next_due_date", Date, nullable=True),  # None: the due date stays as WHMCS keeps it
    Column("credit", String(32), nullable=False),  # a Decimal as text; "0.00" for none
    # pending: waits for the upgrade to complete; crediting: AddCredit was sent, so a retry
    # never sends it again; done; unknown: AddCredit's answer was lost (an admin checks).
    Column("status", String(16), nullable=False),
    Column("note", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
