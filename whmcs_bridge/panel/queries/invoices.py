"""Questions about invoices themselves: one by id, a client's latest, open and overdue ones.

Every query goes through an index WHMCS ships (whmcs.md §1.11-1.12): ``tblinvoices.userid`` and
``tblaccounts.invoiceid``. What a service's lines are billed on is in :mod:`.billing`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select

from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.panel.types import date_is_unset

__all__ = [
    "OPEN_INVOICE_STATUSES",
    "InvoiceInfo",
    "invoice",
    "latest_invoice",
    "open_invoices",
    "overdue_invoice_ids",
    "overdue_invoices",
]

#: Invoices a client still has to pay. WHMCS's own "Overdue" is ``Unpaid`` past its due date;
#: ``Payment Pending`` (a payment awaiting clearance) is open but never overdue.
OPEN_INVOICE_STATUSES = ("Unpaid", "Payment Pending")


@dataclass(frozen=True)
class InvoiceInfo:
    """A ``tblinvoices`` row; ``balance`` is what remains to pay (total minus transactions)."""

    id: int
    invoice_num: str  # '' unless sequential numbering is on
    client_id: int
    date: date | None
    due_date: date | None
    date_paid: datetime | None
    subtotal: Decimal
    credit: Decimal
    tax: Decimal
    tax2: Decimal
    total: Decimal
    balance: Decimal
    status: str  # Draft, Unpaid, Paid, Cancelled, Refunded, Collections, Payment Pending
    payment_method: str
    overdue: bool  # Unpaid and due before the day asked about (False when no day was given)

    @property
    def number(self) -> str:
        """The number WHMCS shows: the custom number, else the id."""
        return self.invoice_num or str(self.id)


def money(value: object) -> Decimal:
    """A money column's value, ``0.00`` when it is not a Decimal (NULL) (shared with
    :mod:`.billing`)."""
    return value if isinstance(value, Decimal) else Decimal("0.00")


def _paid_by_invoice(conn: Connection, tables: PanelTables, ids: Sequence[int]) -> dict[int, Any]:
    accounts = tables.get("accounts")
    if accounts is None or not ids:
        return {}
    query = (
        select(
            accounts.c.invoiceid,
            func.sum(accounts.c.amountin).label("amount_in"),
            func.sum(accounts.c.amountout).label("amount_out"),
        )
        .where(accounts.c.invoiceid.in_(list(ids)))
        .group_by(accounts.c.invoiceid)
    )
    return {
        int(row.invoiceid): Decimal(str(row.amount_in or 0)) - Decimal(str(row.amount_out or 0))
        for row in conn.execute(query)
    }


def invoices_where(
    conn: Connection, tables: PanelTables, where: Any, today: date | None
) -> list[InvoiceInfo]:
    """The invoices matching ``where``, by due date, with their balance (shared with
    :mod:`.billing`)."""
    table = tables.invoices
    rows = conn.execute(select(table).where(where).order_by(table.c.duedate, table.c.id)).all()
    paid = _paid_by_invoice(conn, tables, [int(row.id) for row in rows])
    found = []
    for row in rows:
        total = money(row.total)
        status = str(row.status or "")
        found.append(
            InvoiceInfo(
                id=int(row.id),
                invoice_num=str(row.invoicenum or ""),
                client_id=int(row.userid or 0),
                date=row.date,
                due_date=row.duedate,
                date_paid=row.datepaid,
                subtotal=money(row.subtotal),
                credit=money(row.credit),
                tax=money(row.tax),
                tax2=money(row.tax2),
                total=total,
                balance=(total - paid.get(int(row.id), Decimal(0))).quantize(Decimal("0.01")),
                status=status,
                payment_method=str(row.paymentmethod or ""),
                overdue=bool(today and status == "Unpaid" and row.duedate and row.duedate < today),
            )
        )
    return found


def invoice(
    conn: Connection, tables: PanelTables, invoice_id: int, today: date | None = None
) -> InvoiceInfo | None:
    """The invoice with id ``invoice_id`` (its client is ``client_id``; WHMCS bills in the
    client's currency: :func:`~whmcs_bridge.panel.queries.clients.currency_of_client`), or
    ``None``; ``overdue`` judged against ``today`` when given."""
    found = invoices_where(conn, tables, tables.invoices.c.id == invoice_id, today)
    return found[0] if found else None


def latest_invoice(conn: Connection, tables: PanelTables, client_id: int) -> InvoiceInfo | None:
    """The client's invoice with the highest id, whatever its status; ``None`` when none."""
    table = tables.invoices
    latest = conn.execute(select(func.max(table.c.id)).where(table.c.userid == client_id))
    invoice_id = latest.scalar()
    return None if invoice_id is None else invoice(conn, tables, int(invoice_id))


def open_invoices(
    conn: Connection, tables: PanelTables, client_id: int, today: date
) -> list[InvoiceInfo]:
    """The client's Unpaid and Payment Pending invoices, by due date; ``overdue`` set against
    ``today`` (the panel's local date)."""
    table = tables.invoices
    where = and_(table.c.userid == client_id, table.c.status.in_(OPEN_INVOICE_STATUSES))
    return invoices_where(conn, tables, where, today)


def overdue_invoices(
    conn: Connection, tables: PanelTables, client_id: int, today: date
) -> list[InvoiceInfo]:
    """The client's invoices WHMCS calls overdue: Unpaid with a due date before ``today``."""
    return [invoice for invoice in open_invoices(conn, tables, client_id, today) if invoice.overdue]


def overdue_invoice_ids(
    conn: Connection, tables: PanelTables, client_ids: Iterable[int], today: date
) -> dict[int, list[int]]:
    """The ids of each client's overdue invoices (as :func:`overdue_invoices` judges them), for
    several clients in one indexed query: what a check that only counts them needs."""
    table = tables.invoices
    wanted = sorted(set(client_ids))
    found: dict[int, list[int]] = {client_id: [] for client_id in wanted}
    if not wanted:
        return found
    query = (
        select(table.c.id, table.c.userid)
        .where(
            table.c.userid.in_(wanted),
            table.c.status == "Unpaid",
            table.c.duedate < today,
            ~date_is_unset(table.c.duedate),
        )
        .order_by(table.c.id)
    )
    for row in conn.execute(query):
        found[int(row.userid)].append(int(row.id))
    return found
