"""Questions about what bills a service: its invoice lines, what it still owes.

Every query goes through an index WHMCS ships (whmcs.md §1.11-1.12): ``tblinvoices.userid``,
``tblinvoiceitems (userid, type, relid)`` and ``invoiceid``, ``tblaccounts.invoiceid``. There is
no index on an item's ``relid`` alone, so a service's items are looked up under the client that
was billed for them: the service's owner unless ``client_ids`` names others (a former owner:
WHMCS leaves invoices with the client they were issued to, whmcs.md §3.6).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from whmcs_bridge.panel.queries.invoices import (
    OPEN_INVOICE_STATUSES,
    InvoiceInfo,
    invoice,
    invoices_where,
    latest_invoice,
    money,
    open_invoices,
    overdue_invoice_ids,
    overdue_invoices,
)
from whmcs_bridge.panel.tables import PanelTables

__all__ = [
    "OPEN_INVOICE_STATUSES",
    "InvoiceInfo",
    "InvoiceItem",
    "ServiceInvoice",
    "UnpaidItem",
    "invoice",
    "invoices_for_service",
    "latest_invoice",
    "open_invoices",
    "overdue_invoice_ids",
    "overdue_invoices",
    "unpaid_items_of_service",
]

#: Item types that bill a service itself (``relid`` = tblhosting.id).
SERVICE_ITEM_TYPES = ("Hosting", "PromoHosting")


@dataclass(frozen=True)
class InvoiceItem:
    """A ``tblinvoiceitems`` row: ``type`` says what ``relid`` points at (whmcs.md §1.12)."""

    id: int
    invoice_id: int
    client_id: int
    type: str  # Hosting, Addon, Upgrade, PromoHosting, Domain..., '' for a manual line
    relid: int
    description: str
    amount: Decimal
    due_date: date | None  # for Hosting/Addon: the due date the line pays (its period's start)


@dataclass(frozen=True)
class UnpaidItem:
    """An item of a service on an open invoice."""

    item: InvoiceItem
    invoice_status: str
    invoice_number: str
    invoice_due_date: date | None

    @property
    def blocks_move(self) -> bool:
        """WHMCS refuses to move the service to another client while this line is unpaid
        (items of type Hosting on an Unpaid invoice, whmcs.md §3.6)."""
        return self.item.type == "Hosting" and self.invoice_status == "Unpaid"


@dataclass(frozen=True)
class ServiceInvoice:
    """An invoice that bills a service, with the service's lines on it and the period they pay.

    The period comes from the line WHMCS wrote (``"... (01/12/2026 - 31/12/2026)"``) or, for a
    line without dates, from its due date and the service's cycle; ``None`` when neither says.
    """

    invoice: InvoiceInfo
    items: tuple[InvoiceItem, ...]
    period_start: date | None
    period_end: date | None


def _owner(conn: Connection, tables: PanelTables, service_id: int) -> Any:
    hosting = tables.hosting
    return conn.execute(
        select(hosting.c.userid, hosting.c.billingcycle).where(hosting.c.id == service_id)
    ).first()


def _service_lines(
    tables: PanelTables, service_id: int, addon_ids: Sequence[int], upgrade_ids: Sequence[int]
) -> Any:
    items = tables.invoiceitems
    lines = [and_(items.c.type.in_(SERVICE_ITEM_TYPES), items.c.relid == service_id)]
    if addon_ids:
        lines.append(and_(items.c.type == "Addon", items.c.relid.in_(list(addon_ids))))
    if upgrade_ids:
        lines.append(and_(items.c.type == "Upgrade", items.c.relid.in_(list(upgrade_ids))))
    return or_(*lines)


def _related_ids(
    conn: Connection, tables: PanelTables, service_id: int
) -> tuple[list[int], list[int]]:
    """The service's addon ids and the ids of its upgrade orders (tblupgrades)."""
    addons = tables.hostingaddons
    addon_ids = list(
        conn.execute(select(addons.c.id).where(addons.c.hostingid == service_id)).scalars()
    )
    upgrades = tables.get("upgrades")
    upgrade_ids: list[int] = []
    if upgrades is not None:
        mine = and_(upgrades.c.type != "addon", upgrades.c.relid == service_id)
        if addon_ids:
            mine = or_(mine, and_(upgrades.c.type == "addon", upgrades.c.relid.in_(addon_ids)))
        upgrade_ids = list(conn.execute(select(upgrades.c.id).where(mine)).scalars())
    return addon_ids, upgrade_ids


def _item(row: Any) -> InvoiceItem:
    return InvoiceItem(
        id=int(row.id),
        invoice_id=int(row.invoiceid or 0),
        client_id=int(row.userid or 0),
        type=str(row.type or ""),
        relid=int(row.relid or 0),
        description=str(row.description or ""),
        amount=money(row.amount),
        due_date=row.duedate,
    )


def _items_of_service(
    conn: Connection,
    tables: PanelTables,
    service_id: int,
    client_ids: Iterable[int] | None,
    extra: Any = None,
) -> tuple[list[Any], Any]:
    """The service's invoice lines (with their invoice's status), and its tblhosting row."""
    owner = _owner(conn, tables, service_id)
    billed = set(client_ids or ())
    if client_ids is None and owner is not None:
        billed.add(int(owner.userid))
    if not billed:
        return [], owner
    addon_ids, upgrade_ids = _related_ids(conn, tables, service_id)
    items, invoices = tables.invoiceitems, tables.invoices
    where = and_(
        items.c.userid.in_(sorted(billed)),
        _service_lines(tables, service_id, addon_ids, upgrade_ids),
    )
    if extra is not None:
        where = and_(where, extra)
    query = (
        select(
            items,
            invoices.c.status.label("invoice_status"),
            invoices.c.invoicenum.label("invoice_num"),
            invoices.c.duedate.label("invoice_due"),
        )
        .select_from(items.join(invoices, invoices.c.id == items.c.invoiceid))
        .where(where)
        .order_by(items.c.invoiceid, items.c.id)
    )
    return conn.execute(query).all(), owner


def unpaid_items_of_service(
    conn: Connection,
    tables: PanelTables,
    service_id: int,
    client_ids: Iterable[int] | None = None,
) -> list[UnpaidItem]:
    """The service's lines (its own, its addons', its upgrade orders') on open invoices.

    Those with :attr:`UnpaidItem.blocks_move` are what WHMCS refuses a move for. Lines are
    looked up under ``client_ids``, by default the service's owner (see the module docstring).
    """
    invoices = tables.invoices
    rows, _owner_row = _items_of_service(
        conn, tables, service_id, client_ids, invoices.c.status.in_(OPEN_INVOICE_STATUSES)
    )
    return [
        UnpaidItem(
            item=_item(row),
            invoice_status=str(row.invoice_status or ""),
            invoice_number=str(row.invoice_num or "") or str(row.invoiceid),
            invoice_due_date=row.invoice_due,
        )
        for row in rows
    ]


def invoices_for_service(
    conn: Connection,
    tables: PanelTables,
    service_id: int,
    client_ids: Iterable[int] | None = None,
) -> list[ServiceInvoice]:
    """Every invoice with a line for the service (or its addons or upgrade orders), by invoice
    id, whatever its status, with the period the service's own line pays."""
    rows, owner = _items_of_service(conn, tables, service_id, client_ids)
    by_invoice: dict[int, list[InvoiceItem]] = {}
    for row in rows:
        by_invoice.setdefault(int(row.invoiceid), []).append(_item(row))
    if not by_invoice:
        return []
    cycle = str(owner.billingcycle or "") if owner is not None else ""
    found = invoices_where(conn, tables, tables.invoices.c.id.in_(sorted(by_invoice)), None)
    result = []
    for billed in sorted(found, key=lambda found_invoice: found_invoice.id):
        lines = tuple(by_invoice[billed.id])
        periods = [
            _period(line, cycle)
            for line in lines
            if line.type == "Hosting" and line.relid == service_id
        ]
        starts = [start for start, _end in periods if start]
        ends = [end for _start, end in periods if end]
        result.append(
            ServiceInvoice(
                invoice=billed,
                items=lines,
                period_start=min(starts) if starts else None,
                period_end=max(ends) if ends else None,
            )
        )
    return result


_DATES = re.compile(
    r"\((\d{1,4})[./-](\d{1,2})[./-](\d{1,4})\s*-\s*(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})\)"
)
_CYCLE_MONTHS = {
    "monthly": 1,
    "quarterly": 3,
    "semi-annually": 6,
    "semiannually": 6,
    "annually": 12,
    "biennially": 24,
    "triennially": 36,
}


def _read_date(parts: Sequence[str], order: str) -> date | None:
    values = dict(zip(order, (int(part) for part in parts), strict=True))
    try:
        return date(values["y"], values["m"], values["d"])
    except ValueError:
        return None


def _add_months(start: date, months: int) -> date:
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def _period(line: InvoiceItem, cycle: str) -> tuple[date | None, date | None]:
    """The period a Hosting line pays: the dates WHMCS wrote in its description, read in the
    panel's date format (the one whose start is the line's due date), else the due date and
    the service's cycle."""
    start = line.due_date
    for match in _DATES.finditer(line.description):
        first, second = match.groups()[:3], match.groups()[3:]
        orders = ("ymd",) if len(first[0]) == 4 else ("dmy", "mdy")
        for order in orders:
            begin, end = _read_date(first, order), _read_date(second, order)
            if begin and end and begin <= end and (start is None or begin == start):
                return begin, end
    months = _CYCLE_MONTHS.get(cycle.strip().lower())
    if start is None or months is None:
        return start, None
    return start, _add_months(start, months) - timedelta(days=1)
