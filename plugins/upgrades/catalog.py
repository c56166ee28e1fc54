"""What the plugin reads from the panel, in the shapes its pricing needs: a service with its
cycle parsed, a product, its prices in one currency, an upgrade order with its new product and
cycle parsed. Read-only, and no SQL here: every question goes to the panel read layer
(``queries``: services, clients, people, tickets, upgrades), which reads 7.x and 8.x alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection

from whmcs_bridge.plugin import Panel, queries

from .cycles import BillingCycle, ProductPrices, UpgradePricingError, parse_cycle
from .pricing import Currency

#: A product with its group's name (``queries.services.ProductInfo``).
Product = queries.services.ProductInfo


@dataclass(frozen=True)
class Service:
    """A ``tblhosting`` row as the plugin needs it."""

    id: int
    client_id: int
    product_id: int
    domain: str
    status: str
    cycle: BillingCycle
    amount: Decimal
    next_due_date: dt.date | None


@dataclass(frozen=True)
class UpgradeRow:
    """A ``tblupgrades`` row of type ``package``: ``newvalue`` is ``"<pid>,<cycle>"``."""

    id: int
    client_id: int
    service_id: int
    type: str
    date: dt.date | None
    new_product_id: int | None
    new_cycle: BillingCycle | None
    amount: Decimal
    status: str


def load_service(conn: Connection, panel: Panel, service_id: int) -> Service | None:
    """The service, or None when there is no such row."""
    found = queries.service(conn, panel.tables, service_id)
    if found is None:
        return None
    return Service(
        id=found.id,
        client_id=found.client_id,
        product_id=found.product_id,
        domain=found.domain,
        status=found.status,
        cycle=parse_cycle(found.billing_cycle or "Free Account"),
        amount=found.amount,
        next_due_date=found.next_due_date,
    )


def client_currency(conn: Connection, panel: Panel, client_id: int) -> Currency:
    """The client's billing currency (``tblclients.currency``; 0 or unknown -> the default)."""
    currency = queries.currency_of_client(conn, panel.tables, client_id)
    if not currency.id:
        raise UpgradePricingError("the panel has no currency (tblcurrencies is empty)")
    return currency


def product_prices(
    conn: Connection, panel: Panel, product: Product, currency_id: int
) -> ProductPrices | None:
    """The product's prices in one currency; None when it has no pricing row for it."""
    if product.paytype.strip().lower() == "free":
        return ProductPrices.from_pricing_row({}, "free")
    found = queries.product_prices(conn, panel.tables, product.id).get(currency_id)
    if found is None:
        return None
    return ProductPrices.from_cycles(found, product.paytype)


def load_upgrade(conn: Connection, panel: Panel, upgrade_id: int) -> UpgradeRow | None:
    """The upgrade row; ``new_product_id``/``new_cycle`` are None unless it is a ``package``."""
    row = queries.upgrades.upgrade(conn, panel.tables, upgrade_id)
    if row is None:
        return None
    new_pid: int | None = None
    new_cycle: BillingCycle | None = None
    if row.type == "package":
        pid, _, cycle = row.new_value.partition(",")
        try:
            new_pid, new_cycle = int(pid), parse_cycle(cycle)
        except (ValueError, UpgradePricingError):
            new_pid, new_cycle = None, None
    return UpgradeRow(
        id=row.id,
        client_id=row.client_id,
        service_id=row.relid,
        type=row.type,
        date=row.date,
        new_product_id=new_pid,
        new_cycle=new_cycle,
        amount=row.amount,
        status=row.status,
    )
