"""What the plugin reads from the panel: services, products, prices, currencies, upgrade paths,
upgrade rows and their invoices, login permissions. Read-only; every query goes through
``bridge.panel.tables`` so older schemas (7.x) are read with the columns they have.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, select

from whmcs_bridge.plugin import Panel, queries

from .cycles import BillingCycle, ProductPrices, UpgradePricingError, parse_cycle
from .pricing import Currency

ALL_PERMISSIONS = "*"


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
class Product:
    """A ``tblproducts`` row with its group's name."""

    id: int
    name: str
    group_id: int
    group_name: str
    paytype: str
    module: str  # tblproducts.servertype, '' = no provisioning module


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


@dataclass(frozen=True)
class InvoiceLine:
    """An invoice item with the status of its invoice."""

    id: int
    invoice_id: int
    description: str
    amount: Decimal
    taxed: bool
    invoice_status: str


def _money(value: object) -> Decimal:
    return Decimal(str(value if value is not None else "0"))


def load_service(conn: Connection, panel: Panel, service_id: int) -> Service | None:
    """The service, or None when there is no such row."""
    h = panel.tables.hosting
    row = conn.execute(select(h).where(h.c.id == service_id)).first()
    if row is None:
        return None
    return Service(
        id=int(row.id),
        client_id=int(row.userid or 0),
        product_id=int(row.packageid or 0),
        domain=str(row.domain or ""),
        status=str(row.domainstatus or ""),
        cycle=parse_cycle(str(row.billingcycle or "Free Account")),
        amount=_money(row.amount),
        next_due_date=row.nextduedate,
    )


def load_product(conn: Connection, panel: Panel, product_id: int) -> Product | None:
    """The product with its group name, or None."""
    p, g = panel.tables.products, panel.tables.productgroups
    row = conn.execute(
        select(p.c.id, p.c.name, p.c.gid, p.c.paytype, p.c.servertype, g.c.name.label("group"))
        .select_from(p.outerjoin(g, g.c.id == p.c.gid))
        .where(p.c.id == product_id)
    ).first()
    if row is None:
        return None
    return Product(
        id=int(row.id),
        name=str(row.name or ""),
        group_id=int(row.gid or 0),
        group_name=str(row.group or ""),
        paytype=str(row.paytype or "recurring"),
        module=str(row.servertype or "").strip(),
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
    t = panel.tables.pricing
    row = conn.execute(
        select(t).where(t.c.type == "product", t.c.relid == product.id, t.c.currency == currency_id)
    ).first()
    if row is None:
        return None
    return ProductPrices.from_pricing_row(row._mapping, product.paytype)


def has_config_options(conn: Connection, panel: Panel, service_id: int) -> bool:
    """Whether the service has configurable option choices (``tblhostingconfigoptions``)."""
    t = panel.tables.get("tblhostingconfigoptions")
    if t is None:
        return False
    return conn.execute(select(t.c.id).where(t.c.relid == service_id).limit(1)).first() is not None


def ticket_since(
    conn: Connection, panel: Panel, client_id: int, title: str, since: dt.datetime
) -> tuple[int, str] | None:
    """(id, tid) of the client's ticket titled ``title`` opened at or after ``since``."""
    t = panel.tables.tickets
    row = conn.execute(
        select(t.c.id, t.c.tid)
        .where(t.c.userid == client_id, t.c.title == title, t.c.date >= since)
        .order_by(t.c.id)
        .limit(1)
    ).first()
    return None if row is None else (int(row.id), str(row.tid))


def upgrade_targets(conn: Connection, panel: Panel, product_id: int) -> list[int]:
    """The products a client may move this product to (``tblproduct_upgrade_products``)."""
    t = panel.tables.product_upgrade_products
    rows = conn.execute(
        select(t.c.upgrade_product_id).where(t.c.product_id == product_id).order_by(t.c.id)
    ).scalars()
    return list(dict.fromkeys(int(r) for r in rows))


def load_upgrade(conn: Connection, panel: Panel, upgrade_id: int) -> UpgradeRow | None:
    """The upgrade row; ``new_product_id``/``new_cycle`` are None unless it is a ``package``."""
    u = panel.tables.upgrades
    row = conn.execute(select(u).where(u.c.id == upgrade_id)).first()
    if row is None:
        return None
    new_pid: int | None = None
    new_cycle: BillingCycle | None = None
    if str(row.type) == "package":
        pid, _, cycle = str(row.newvalue or "").partition(",")
        try:
            new_pid, new_cycle = int(pid), parse_cycle(cycle)
        except (ValueError, UpgradePricingError):
            new_pid, new_cycle = None, None
    return UpgradeRow(
        id=int(row.id),
        client_id=int(row.userid or 0),
        service_id=int(row.relid or 0),
        type=str(row.type or ""),
        date=row.date,
        new_product_id=new_pid,
        new_cycle=new_cycle,
        amount=_money(row.amount),
        status=str(row.status or ""),
    )


def upgrade_invoice_line(conn: Connection, panel: Panel, upgrade_id: int) -> InvoiceLine | None:
    """The ``Upgrade`` invoice line of an upgrade (newest first), or None when none was made."""
    items, inv = panel.tables.invoiceitems, panel.tables.invoices
    row = conn.execute(
        select(items, inv.c.status.label("invoice_status"))
        .join(inv, inv.c.id == items.c.invoiceid)
        .where(items.c.type == "Upgrade", items.c.relid == upgrade_id)
        .order_by(items.c.id.desc())
    ).first()
    if row is None:
        return None
    return InvoiceLine(
        id=int(row.id),
        invoice_id=int(row.invoiceid),
        description=str(row.description or ""),
        amount=_money(row.amount),
        taxed=bool(row.taxed),
        invoice_status=str(row.invoice_status or ""),
    )


def unpaid_renewal_invoices(conn: Connection, panel: Panel, service_id: int) -> list[int]:
    """Unpaid invoices holding a ``Hosting`` line of the service (reference 4.1 (a))."""
    items, inv = panel.tables.invoiceitems, panel.tables.invoices
    rows = conn.execute(
        select(inv.c.id)
        .join(items, items.c.invoiceid == inv.c.id)
        .where(items.c.type == "Hosting", items.c.relid == service_id, inv.c.status == "Unpaid")
        .distinct()
        .order_by(inv.c.id)
    ).scalars()
    return [int(r) for r in rows]


def unpaid_upgrade_invoices(conn: Connection, panel: Panel, service_id: int) -> list[int]:
    """Unpaid invoices holding an ``Upgrade`` line of an upgrade of the service (4.1 (b))."""
    items, inv, u = panel.tables.invoiceitems, panel.tables.invoices, panel.tables.upgrades
    rows = conn.execute(
        select(inv.c.id)
        .join(items, items.c.invoiceid == inv.c.id)
        .join(u, u.c.id == items.c.relid)
        .where(items.c.type == "Upgrade", u.c.relid == service_id, inv.c.status == "Unpaid")
        .distinct()
        .order_by(inv.c.id)
    ).scalars()
    return [int(r) for r in rows]


def login_permissions(
    conn: Connection, panel: Panel, client_id: int, user_id: int
) -> set[str] | None:
    """The permissions a login has on the client: ``{"*"}`` for all, None when it has no access.

    WHMCS 8 (reference 1.4, 6.1): ``tblusers_clients`` owner=1 has all, others the CSV. WHMCS 7
    (no tblusers_clients): ``user_id`` 0 is the client itself (all); else a sub-account contact
    of the client (``tblcontacts.subaccount=1``) with its CSV.
    """
    links = panel.tables.get("users_clients")
    if links is not None:
        row = conn.execute(
            select(links.c.owner, links.c.permissions).where(
                links.c.client_id == client_id, links.c.auth_user_id == user_id
            )
        ).first()
        if row is None:
            return None
        return {ALL_PERMISSIONS} if int(row.owner or 0) == 1 else _csv(row.permissions)
    if user_id == 0:
        return {ALL_PERMISSIONS}
    contacts = panel.tables.contacts
    row = conn.execute(
        select(contacts.c.subaccount, contacts.c.permissions).where(
            contacts.c.id == user_id, contacts.c.userid == client_id
        )
    ).first()
    if row is None or not int(row.subaccount or 0):
        return None
    return _csv(row.permissions)


def _csv(value: object) -> set[str]:
    return {p.strip() for p in str(value or "").split(",") if p.strip()}


def department_id(conn: Connection, panel: Panel, wanted: int | str) -> int | None:
    """A ticket department by id or name (any case); None when none matches."""
    d = panel.tables.ticketdepartments
    rows = conn.execute(select(d.c.id, d.c.name).order_by(d.c.id)).all()
    text = str(wanted).strip()
    for row in rows:
        if text.isdigit() and int(row.id) == int(text):
            return int(row.id)
    # Python's casefold, not SQL lower(): SQLite lowers ASCII only ("Administración").
    return next((int(r.id) for r in rows if str(r.name).casefold() == text.casefold()), None)
