"""Sandbox actions for invoices, payments and currencies (reference §3.3, §2.2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, func, select

from whmcs_bridge.sandbox.actions_common import (
    ActionError,
    Context,
    action,
    insert_row,
    money,
    page,
    text_date,
    update_row,
)

STATUSES = ("Draft", "Unpaid", "Paid", "Cancelled", "Refunded", "Collections", "Payment Pending")


def paid_so_far(conn: Connection, ctx: Context, invoice_id: int) -> Decimal:
    """Payments minus refunds recorded in ``tblaccounts`` for an invoice."""
    t = ctx.tables.accounts
    total = conn.execute(
        select(func.coalesce(func.sum(t.c.amountin - t.c.amountout), 0)).where(
            t.c.invoiceid == invoice_id
        )
    ).scalar()
    return Decimal(str(total or 0))


def recalculate(ctx: Context, invoice_id: int) -> None:
    """Recompute subtotal and total from the lines (tax left as stored)."""
    items = ctx.tables.invoiceitems
    subtotal = ctx.conn.execute(
        select(func.coalesce(func.sum(items.c.amount), 0)).where(items.c.invoiceid == invoice_id)
    ).scalar()
    invoice = ctx.row(ctx.tables.invoices, invoice_id)
    amount = Decimal(str(subtotal or 0))
    total = amount + (invoice.tax or 0) + (invoice.tax2 or 0) - (invoice.credit or 0)
    update_row(
        ctx.conn, ctx.tables.invoices, invoice_id, {"subtotal": amount, "total": max(total, 0)}
    )


def cancel_invoice(ctx: Context, invoice_id: int) -> None:
    """Set an invoice Cancelled and fire InvoiceCancelled."""
    update_row(
        ctx.conn,
        ctx.tables.invoices,
        invoice_id,
        {"status": "Cancelled", "date_cancelled": ctx.now, "updated_at": ctx.now},
    )
    ctx.hook("InvoiceCancelled", invoiceid=invoice_id)


def create_invoice(
    ctx: Context, client_id: int, lines: list[tuple[str, int, str, Decimal]], method: str
) -> int:
    """An Unpaid invoice due today with ``(type, relid, description, amount)`` lines."""
    total = sum((amount for *_, amount in lines), Decimal("0"))
    invoice_id = insert_row(
        ctx.conn,
        ctx.tables.invoices,
        {
            "userid": client_id,
            "date": ctx.today,
            "duedate": ctx.today,
            "subtotal": total,
            "total": total,
            "status": "Unpaid",
            "paymentmethod": method,
            "created_at": ctx.now,
            "updated_at": ctx.now,
        },
    )
    for kind, relid, description, amount in lines:
        insert_row(
            ctx.conn,
            ctx.tables.invoiceitems,
            {
                "invoiceid": invoice_id,
                "userid": client_id,
                "type": kind,
                "relid": relid,
                "description": description,
                "amount": amount,
                "duedate": ctx.today,
                "paymentmethod": method,
            },
        )
    ctx.hook("InvoiceCreated", invoiceid=invoice_id, source="api")
    return invoice_id


def _invoice(ctx: Context) -> Any:
    invoice = ctx.row(ctx.tables.invoices, ctx.int_param("invoiceid"))
    if invoice is None:
        raise ActionError("Invoice ID Not Found")
    return invoice


def _invoice_out(row: Any) -> dict[str, Any]:
    data = row._asdict()
    for key in ("subtotal", "credit", "tax", "tax2", "total"):
        data[key] = money(data.get(key))
    for key in ("date", "duedate", "datepaid", "date_cancelled", "date_refunded"):
        if key in data:
            data[key] = text_date(data[key])
    return data


@action("GetInvoices")
def get_invoices(ctx: Context) -> dict[str, Any]:
    """Reference §3.3: invoices by client and status (``Overdue`` = Unpaid and past due)."""
    t, clients = ctx.tables.invoices, ctx.tables.clients
    query = select(
        t,
        clients.c.firstname,
        clients.c.lastname,
        clients.c.companyname,
        clients.c.currency.label("client_currency"),
    ).join(clients, clients.c.id == t.c.userid, isouter=True)
    if ctx.param("userid"):
        query = query.where(t.c.userid == ctx.int_param("userid"))
    status = ctx.param("status")
    if status == "Overdue":
        query = query.where(t.c.status == "Unpaid", t.c.duedate < ctx.today)
    elif status:
        query = query.where(t.c.status == status)
    descending = str(ctx.param("order", "desc")).lower() != "asc"
    query = query.order_by(t.c.id.desc() if descending else t.c.id)
    rows = []
    for row in ctx.conn.execute(query):
        data = _invoice_out(row)
        currency = ctx.currency(int(data.pop("client_currency") or 0))
        data.update(
            currencycode=currency.code,
            currencyprefix=currency.prefix,
            currencysuffix=currency.suffix,
        )
        rows.append(data)
    return page(ctx, rows, "invoices", "invoice")


@action("GetInvoice")
def get_invoice(ctx: Context) -> dict[str, Any]:
    """Reference §3.3: one invoice with lines, balance and transactions."""
    invoice = _invoice(ctx)
    items = ctx.tables.invoiceitems
    lines = ctx.conn.execute(
        select(items).where(items.c.invoiceid == invoice.id).order_by(items.c.id)
    )
    accounts = ctx.tables.accounts
    payments = ctx.conn.execute(select(accounts).where(accounts.c.invoiceid == invoice.id))
    balance = Decimal(str(invoice.total or 0)) - paid_so_far(ctx.conn, ctx, invoice.id)
    data = _invoice_out(invoice)
    data.pop("id")
    transactions = [
        {
            "id": p.id,
            "userid": p.userid,
            "gateway": p.gateway,
            "date": text_date(p.date),
            "description": p.description,
            "amountin": money(p.amountin),
            "fees": money(p.fees),
            "amountout": money(p.amountout),
            "transid": p.transid,
            "invoiceid": p.invoiceid,
        }
        for p in payments
    ]
    return {
        "invoiceid": invoice.id,
        **data,
        "balance": money(balance),
        "items": {
            "item": [
                {
                    "id": i.id,
                    "type": i.type,
                    "relid": i.relid,
                    "description": i.description,
                    "amount": money(i.amount),
                    "taxed": int(bool(i.taxed)),
                }
                for i in lines
            ]
        },
        "transactions": {"transaction": transactions} if transactions else "",
    }


@action("UpdateInvoice")
def update_invoice(ctx: Context) -> dict[str, Any]:
    """Reference §3.3. ``status=Paid`` only flips the column: no payment, no InvoicePaid."""
    invoice = _invoice(ctx)
    status = ctx.param("status")
    if status is not None and status not in STATUSES:
        raise ActionError(f"Invalid status {status}")
    values: dict[str, Any] = {"updated_at": ctx.now}
    for name in ("paymentmethod", "notes", "date", "duedate", "datepaid", "taxrate", "taxrate2"):
        if ctx.param(name) is not None:
            values[name] = ctx.param(name)
    if status is not None:
        values["status"] = status
    update_row(ctx.conn, ctx.tables.invoices, invoice.id, values)
    items = ctx.tables.invoiceitems
    lines_changed = False
    for line_id, description in dict(ctx.params.get("itemdescription") or {}).items():
        amount = dict(ctx.params.get("itemamount") or {}).get(line_id, "0")
        taxed = dict(ctx.params.get("itemtaxed") or {}).get(line_id, "0")
        update_row(
            ctx.conn,
            items,
            int(line_id),
            {"description": description, "amount": Decimal(amount), "taxed": taxed == "1"},
        )
        lines_changed = True
    for line_id in dict(ctx.params.get("deletelineids") or {}).values():
        ctx.conn.execute(
            delete(items).where(items.c.id == int(line_id), items.c.invoiceid == invoice.id)
        )
        lines_changed = True
    new_lines = dict(ctx.params.get("newitemdescription") or {})
    for key, description in new_lines.items():
        insert_row(
            ctx.conn,
            items,
            {
                "invoiceid": invoice.id,
                "userid": invoice.userid,
                "description": description,
                "amount": Decimal(dict(ctx.params.get("newitemamount") or {}).get(key, "0")),
                "taxed": dict(ctx.params.get("newitemtaxed") or {}).get(key) == "1",
            },
        )
        lines_changed = True
    if lines_changed:
        recalculate(ctx, invoice.id)
    if status == "Cancelled" and invoice.status != "Cancelled":
        ctx.hook("InvoiceCancelled", invoiceid=invoice.id)
    return {"invoiceid": invoice.id}


@action("AddInvoicePayment")
def add_invoice_payment(ctx: Context) -> dict[str, Any]:
    """Reference §3.3: record a payment; paid in full -> Paid, InvoicePaid, upgrades applied."""
    invoice = _invoice(ctx)
    if not ctx.param("transid"):
        raise ActionError("Transaction ID is required")
    if not ctx.param("gateway"):
        raise ActionError("Payment Gateway is required")
    paid = paid_so_far(ctx.conn, ctx, invoice.id)
    total = Decimal(str(invoice.total or 0))
    amount = Decimal(str(ctx.param("amount", total - paid)))
    insert_row(
        ctx.conn,
        ctx.tables.accounts,
        {
            "userid": invoice.userid,
            "currency": 0,
            "gateway": ctx.param("gateway"),
            "date": ctx.param("date", ctx.now),
            "description": "Invoice Payment",
            "amountin": amount,
            "fees": Decimal(str(ctx.param("fees", "0"))),
            "rate": Decimal("1"),
            "transid": ctx.param("transid"),
            "invoiceid": invoice.id,
        },
    )
    if invoice.status == "Unpaid" and paid + amount >= total:
        update_row(
            ctx.conn,
            ctx.tables.invoices,
            invoice.id,
            {"status": "Paid", "datepaid": ctx.now, "updated_at": ctx.now},
        )
        ctx.hook("InvoicePaid", invoiceid=invoice.id)
        from whmcs_bridge.sandbox.actions_upgrades import apply_paid_upgrades

        apply_paid_upgrades(ctx, invoice.id)
    return {}


@action("GetCurrencies")
def get_currencies(ctx: Context) -> dict[str, Any]:
    """The panel's currencies with prefix, suffix, format and rate."""
    t = ctx.tables.currencies
    rows = [
        {
            "id": r.id,
            "code": r.code,
            "prefix": r.prefix,
            "suffix": r.suffix,
            "format": int(r.format),
            "rate": f"{Decimal(str(r.rate or 1)):.5f}",
        }
        for r in ctx.conn.execute(select(t).order_by(t.c.id))
    ]
    return {"totalresults": len(rows), "currencies": {"currency": rows}}


@action("AddCredit")
def add_credit(ctx: Context) -> dict[str, Any]:
    """Add account credit: a ``tblcredit`` line and the client's balance; returns the balance."""
    client = ctx.row(ctx.tables.clients, ctx.int_param("clientid"))
    if client is None:
        raise ActionError("Client ID Not Found")
    try:
        amount = Decimal(str(ctx.param("amount", "0")))
    except ArithmeticError:
        amount = Decimal(0)
    if amount <= 0:
        raise ActionError("Amount must be greater than zero")
    insert_row(
        ctx.conn,
        ctx.tables.credit,
        {
            "clientid": client.id,
            "date": ctx.param("date") or ctx.today,
            "description": str(ctx.param("description", "")),
            "amount": amount,
        },
    )
    balance = Decimal(str(client.credit or 0)) + amount
    update_row(ctx.conn, ctx.tables.clients, client.id, {"credit": balance})
    return {"newbalance": money(balance)}
