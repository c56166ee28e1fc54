"""Sandbox ``UpgradeProduct`` (type product) priced by WHMCS's prorata rule (reference §4.1-4.2).

A quote (``calconly``) stores nothing. A real upgrade stores an order and a ``package`` upgrade
row, fires PreUpgradeCheckout, then either invoices the amount (an ``Upgrade`` line, applied
when paid) or, when nothing is due, applies the change at once with CreditOnDowngrade's credit
and fires AfterProductUpgrade.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from whmcs_bridge.panel.money import ZERO_DECIMAL_CODES, Currency, format_money
from whmcs_bridge.sandbox.actions_billing import create_invoice
from whmcs_bridge.sandbox.actions_common import ActionError, Context, action, insert_row, update_row
from whmcs_bridge.sandbox.actions_services import service_or_fail

# system cycle -> (display name, months)
CYCLES = {
    "free": ("Free Account", 0),
    "onetime": ("One Time", 0),
    "monthly": ("Monthly", 1),
    "quarterly": ("Quarterly", 3),
    "semiannually": ("Semi-Annually", 6),
    "annually": ("Annually", 12),
    "biennially": ("Biennially", 24),
    "triennially": ("Triennially", 36),
}


def _system_cycle(name: str) -> str:
    squashed = "".join(ch for ch in name.lower() if ch.isalpha())
    if squashed in ("freeaccount", "free"):
        return "free"
    return squashed if squashed in CYCLES else ""


def _sub_months(day: dt.date, months: int) -> dt.date:
    """PHP's date arithmetic: overflowing days roll into the next month (reference §4.2.1)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    first = dt.date(year, month + 1, 1)
    return first + dt.timedelta(days=day.day - 1)


def _cycle_days(next_due: dt.date, months: int) -> int:
    return (next_due - _sub_months(next_due, months)).days


def _round(amount: Decimal, currency: Currency) -> Decimal:
    places = Decimal(1) if currency.code.upper() in ZERO_DECIMAL_CODES else Decimal("0.01")
    return amount.quantize(places, rounding=ROUND_HALF_UP)


def prorata_price(
    old_amount: Decimal,
    old_cycle: str,
    next_due: dt.date | None,
    new_price: Decimal,
    new_cycle: str,
    today: dt.date,
    currency: Currency,
) -> tuple[Decimal, int, int]:
    """WHMCS's amount due for a package change: (signed amount, days left, days in cycle).

    The stand-in follows WHMCS's documented rule with its own code, never the upgrades plugin's:
    a stand-in sharing our reading of the rule would prove nothing.
    """
    return own_prorata(old_amount, old_cycle, next_due, new_price, new_cycle, today, currency)


def own_prorata(
    old_amount: Decimal,
    old_cycle: str,
    next_due: dt.date | None,
    new_price: Decimal,
    new_cycle: str,
    today: dt.date,
    currency: Currency,
) -> tuple[Decimal, int, int]:
    """The sandbox's own copy of WHMCS's rule (reference §4.2 steps 1-5 and 10)."""
    old_months, new_months = CYCLES[old_cycle][1], CYCLES[new_cycle][1]
    if not old_months or not new_months or next_due is None:
        # Reference §4.2 step 10: Free/One Time sources pay the new cycle less what was paid.
        return _round(new_price - old_amount, currency), 0, 0
    total = _cycle_days(next_due, old_months)
    remaining = (next_due - today).days
    if remaining < 0:
        remaining = total
    credit = old_amount * remaining / total
    new_total = total if new_cycle == old_cycle else _cycle_days(next_due, new_months)
    base = new_price
    if new_cycle != old_cycle and _round(old_amount / old_months, currency) == _round(
        new_price / new_months, currency
    ):
        base = old_amount / old_months * new_months
    debit = base * remaining / new_total
    if currency.code.upper() in ZERO_DECIMAL_CODES:
        debit = debit.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return _round(debit - credit, currency), remaining, total


def _new_price(ctx: Context, product_id: int, cycle: str, currency_id: int) -> Decimal:
    t = ctx.tables.pricing
    row = ctx.conn.execute(
        select(t).where(t.c.type == "product", t.c.relid == product_id, t.c.currency == currency_id)
    ).first()
    if cycle == "free":
        return Decimal("0.00")
    column = "monthly" if cycle == "onetime" else cycle
    price = None if row is None else getattr(row, column)
    if price is None or Decimal(str(price)) < 0:
        raise ActionError("Invalid Billing Cycle Requested")
    return Decimal(str(price))


def _pending_upgrade(ctx: Context, service_id: int) -> bool:
    u, o, i = ctx.tables.upgrades, ctx.tables.orders, ctx.tables.invoices
    row = ctx.conn.execute(
        select(u.c.id)
        .join(o, o.c.id == u.c.orderid)
        .join(i, i.c.id == o.c.invoiceid)
        .where(u.c.relid == service_id, u.c.status == "Pending", i.c.status == "Unpaid")
    ).first()
    return row is not None


def apply_upgrade(ctx: Context, upgrade: Any) -> None:
    """Reference §4.2 step 8 (package part): new product, cycle and recurring amount."""
    new_pid, _, cycle = str(upgrade.newvalue).partition(",")
    service = ctx.row(ctx.tables.hosting, upgrade.relid)
    client = ctx.row(ctx.tables.clients, service.userid)
    price = _new_price(ctx, int(new_pid), cycle, int(client.currency or 0))
    update_row(
        ctx.conn,
        ctx.tables.hosting,
        service.id,
        {
            "packageid": int(new_pid),
            "billingcycle": CYCLES[cycle][0],
            "amount": price,
            "updated_at": ctx.now,
        },
    )
    update_row(ctx.conn, ctx.tables.upgrades, upgrade.id, {"status": "Completed", "paid": "Y"})
    ctx.hook("AfterProductUpgrade", upgradeid=upgrade.id)


def apply_paid_upgrades(ctx: Context, invoice_id: int) -> None:
    """Apply the pending upgrades an invoice just paid (its ``Upgrade`` lines)."""
    items, u = ctx.tables.invoiceitems, ctx.tables.upgrades
    rows = ctx.conn.execute(
        select(u)
        .join(items, items.c.relid == u.c.id)
        .where(items.c.invoiceid == invoice_id, items.c.type == "Upgrade", u.c.status == "Pending")
    ).all()
    for upgrade in rows:
        apply_upgrade(ctx, upgrade)


def _gateways(ctx: Context) -> list[str]:
    t = ctx.tables.paymentgateways
    return sorted({str(g) for g in ctx.conn.execute(select(t.c.gateway).distinct()).scalars()})


@action("UpgradeProduct")
def upgrade_product(ctx: Context) -> dict[str, Any]:
    """Reference §3.3 UpgradeProduct, ``type=product`` only."""
    service = service_or_fail(ctx)
    if ctx.param("type") != "product":
        raise ActionError("Invalid Upgrade Type")
    calconly = ctx.flag("calconly")
    method = str(ctx.param("paymentmethod", ""))
    if not calconly and method not in _gateways(ctx):
        raise ActionError(
            f"Invalid Payment Method. Valid options include {','.join(_gateways(ctx))}"
        )
    new_product = ctx.row(ctx.tables.products, ctx.int_param("newproductid"))
    if new_product is None:
        raise ActionError("Invalid New Product ID")
    old_product = ctx.row(ctx.tables.products, service.packageid)
    cycle = _system_cycle(str(ctx.param("newproductbillingcycle", "")))
    old_cycle = _system_cycle(service.billingcycle)
    if not cycle or not old_cycle:
        raise ActionError("Invalid Billing Cycle Requested")
    in_progress = _pending_upgrade(ctx, service.id)
    if in_progress and not calconly:
        raise ActionError(
            "Unable to accept upgrade order. Previous upgrade invoice for service is still unpaid."
        )
    client = ctx.row(ctx.tables.clients, service.userid)
    currency = ctx.currency(int(client.currency or 0))
    new_price = _new_price(ctx, new_product.id, cycle, currency.id)
    amount, remaining, total = prorata_price(
        Decimal(str(service.amount or 0)),
        old_cycle,
        service.nextduedate,
        new_price,
        cycle,
        ctx.today,
        currency,
    )
    answer: dict[str, Any] = {
        "oldproductid": service.packageid,
        "oldproductname": old_product.name if old_product else "",
        "newproductid": new_product.id,
        "newproductname": new_product.name,
        "daysuntilrenewal": remaining,
        "totaldays": total,
        "newproductbillingcycle": cycle,
        "price": format_money(amount, currency.prefix, currency.suffix, currency.format),
    }
    if calconly:
        return {**answer, "upgradeinprogress": int(in_progress)}
    return {**answer, **_checkout(ctx, service, client, new_product.id, cycle, amount, new_price)}


def _checkout(
    ctx: Context,
    service: Any,
    client: Any,
    new_pid: int,
    cycle: str,
    amount: Decimal,
    new_price: Decimal,
) -> dict[str, Any]:
    method = str(ctx.param("paymentmethod"))
    order_number = str(secrets.randbelow(9 * 10**9) + 10**9)
    order_id = insert_row(
        ctx.conn,
        ctx.tables.orders,
        {
            "ordernum": int(order_number),
            "userid": client.id,
            "date": ctx.now,
            "amount": max(amount, Decimal("0")),
            "paymentmethod": method,
            "status": "Pending",
            "ipaddress": "127.0.0.1",
        },
    )
    upgrade_id = insert_row(
        ctx.conn,
        ctx.tables.upgrades,
        {
            "userid": client.id,
            "orderid": order_id,
            "type": "package",
            "date": ctx.today,
            "relid": service.id,
            "originalvalue": str(service.packageid),
            "newvalue": f"{new_pid},{cycle}",
            "amount": amount,
            "recurringchange": new_price - Decimal(str(service.amount or 0)),
            "status": "Pending",
            "paid": "N",
        },
    )
    ctx.hook(
        "PreUpgradeCheckout",
        client_id=client.id,
        upgradeid=upgrade_id,
        serviceid=service.id,
        amount=amount,
    )
    invoice_id = None
    if amount > 0:
        line = f"Upgrade/Downgrade: service {service.id} to product {new_pid} ({cycle})"
        invoice_id = create_invoice(ctx, client.id, [("Upgrade", upgrade_id, line, amount)], method)
        update_row(ctx.conn, ctx.tables.orders, order_id, {"invoiceid": invoice_id})
    else:
        if amount < 0 and ctx.setting_on("CreditOnDowngrade"):
            insert_row(
                ctx.conn,
                ctx.tables.credit,
                {
                    "clientid": client.id,
                    "date": ctx.today,
                    "description": "Upgrade/Downgrade Credit",
                    "amount": -amount,
                },
            )
            credit = Decimal(str(client.credit or 0)) - amount
            update_row(ctx.conn, ctx.tables.clients, client.id, {"credit": credit})
        elif amount < 0:
            update_row(
                ctx.conn,
                ctx.tables.orders,
                order_id,
                {"notes": f"Credit on Downgrade Disabled ({-amount})"},
            )
        apply_upgrade(ctx, ctx.row(ctx.tables.upgrades, upgrade_id))
    return {
        "id": service.id,
        "orderid": order_id,
        "order_number": order_number,
        "invoiceid": invoice_id,
    }
