"""Questions about upgrade orders (``tblupgrades``, whmcs.md §1.13): an order, the invoice line
that bills it, and the unpaid invoices that keep the client area from taking a new one.

An upgrade order's ``relid`` is the service (``tblhosting.id``) for types ``package`` and
``configoptions`` and the addon (``tblhostingaddons.id``) for type ``addon``; a ``package``
order's ``newvalue`` is ``"<product id>,<cycle>"``. Its invoice line is a ``tblinvoiceitems``
row of type ``Upgrade`` whose ``relid`` is the order's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from whmcs_bridge.panel.tables import PanelTables

__all__ = [
    "UpgradeInvoiceLine",
    "UpgradeOrder",
    "unpaid_renewal_invoice_ids",
    "unpaid_upgrade_invoice_ids",
    "upgrade",
    "upgrade_invoice_line",
]


@dataclass(frozen=True)
class UpgradeOrder:
    """A ``tblupgrades`` row."""

    id: int
    client_id: int
    order_id: int
    type: str  # service | addon | package | configoptions
    date: date | None
    relid: int  # the service; the addon (tblhostingaddons.id) for type addon
    original_value: str
    new_value: str  # package: '<product id>,<cycle>' (cycle as a system name: 'annually')
    amount: Decimal
    status: str  # Pending | Completed
    paid: bool


@dataclass(frozen=True)
class UpgradeInvoiceLine:
    """The ``Upgrade`` line of an upgrade order, with its invoice's status."""

    id: int
    invoice_id: int
    description: str
    amount: Decimal
    taxed: bool
    invoice_status: str  # Draft, Unpaid, Paid, Cancelled, ...


def _money(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or "0"))


def _text(row: Any, name: str) -> str:
    return str(row._mapping.get(name) or "")


def upgrade(conn: Connection, tables: PanelTables, upgrade_id: int) -> UpgradeOrder | None:
    """The upgrade order with this id, or ``None``."""
    table = tables.upgrades
    row = conn.execute(select(table).where(table.c.id == upgrade_id)).first()
    if row is None:
        return None
    return UpgradeOrder(
        id=int(row.id),
        client_id=int(row.userid or 0),
        order_id=int(row.orderid or 0),
        type=_text(row, "type"),
        date=row.date,
        relid=int(row.relid or 0),
        original_value=_text(row, "originalvalue"),
        new_value=_text(row, "newvalue"),
        amount=_money(row.amount),
        status=_text(row, "status"),
        paid=_text(row, "paid") == "Y",
    )


def upgrade_invoice_line(
    conn: Connection, tables: PanelTables, upgrade_id: int
) -> UpgradeInvoiceLine | None:
    """The ``Upgrade`` invoice line of an upgrade order (the newest when there are several), or
    ``None`` when no invoice was made (nothing was due)."""
    items, invoices = tables.invoiceitems, tables.invoices
    row = conn.execute(
        select(items, invoices.c.status.label("invoice_status"))
        .join(invoices, invoices.c.id == items.c.invoiceid)
        .where(items.c.type == "Upgrade", items.c.relid == upgrade_id)
        .order_by(items.c.id.desc())
    ).first()
    if row is None:
        return None
    return UpgradeInvoiceLine(
        id=int(row.id),
        invoice_id=int(row.invoiceid),
        description=str(row.description or ""),
        amount=_money(row.amount),
        taxed=bool(row.taxed),
        invoice_status=str(row.invoice_status or ""),
    )


def _unpaid_invoice_ids(
    conn: Connection, tables: PanelTables, source: Any, *where: Any
) -> list[int]:
    """Ids of the ``Unpaid`` invoices of ``source`` (invoices joined with their items) whose
    lines match ``where``, ascending."""
    invoices = tables.invoices
    query = (
        select(invoices.c.id)
        .select_from(source)
        .where(*where, invoices.c.status == "Unpaid")
        .distinct()
        .order_by(invoices.c.id)
    )
    return [int(r) for r in conn.execute(query).scalars()]


def unpaid_renewal_invoice_ids(conn: Connection, tables: PanelTables, service_id: int) -> list[int]:
    """Ids of the ``Unpaid`` invoices with a ``Hosting`` line of the service, ascending: the
    client area refuses an upgrade while one is open (whmcs.md §4.1)."""
    items, invoices = tables.invoiceitems, tables.invoices
    source = invoices.join(items, items.c.invoiceid == invoices.c.id)
    return _unpaid_invoice_ids(
        conn, tables, source, items.c.type == "Hosting", items.c.relid == service_id
    )


def unpaid_upgrade_invoice_ids(conn: Connection, tables: PanelTables, service_id: int) -> list[int]:
    """Ids of the ``Unpaid`` invoices with an ``Upgrade`` line of an upgrade order of the
    service, ascending: the client area refuses another upgrade meanwhile (whmcs.md §4.1)."""
    items, invoices, orders = tables.invoiceitems, tables.invoices, tables.upgrades
    source = invoices.join(items, items.c.invoiceid == invoices.c.id).join(
        orders, orders.c.id == items.c.relid
    )
    return _unpaid_invoice_ids(
        conn, tables, source, items.c.type == "Upgrade", orders.c.relid == service_id
    )
