"""Questions about services: a service with its product, group and addons; a product's prices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, literal, select

from whmcs_bridge.panel.tables import PanelTables

__all__ = [
    "CYCLES",
    "AddonInfo",
    "ProductInfo",
    "ServiceInfo",
    "has_config_options",
    "product",
    "product_prices",
    "service",
    "services_by_id",
    "services_of_client",
    "upgrade_targets",
]

#: The recurring ``tblpricing`` columns, shortest cycle first; also the keys of
#: :func:`product_prices` (plus ``onetime`` and ``free``).
CYCLES = ("monthly", "quarterly", "semiannually", "annually", "biennially", "triennially")


@dataclass(frozen=True)
class AddonInfo:
    """A ``tblhostingaddons`` row (whmcs.md §1.6); ``name`` falls back to the catalogue's."""

    id: int
    addon_id: int  # tbladdons.id, 0 for a custom addon
    service_id: int
    name: str
    status: str
    billing_cycle: str  # display form: 'Monthly', 'Annually', 'One Time', 'Free Account'...
    recurring: Decimal
    setup_fee: Decimal
    next_due_date: date | None
    reg_date: date | None


@dataclass(frozen=True)
class ServiceInfo:
    """A ``tblhosting`` row (whmcs.md §1.5) with its product, group and addons."""

    id: int
    client_id: int
    product_id: int
    product_name: str
    product_type: str  # hostingaccount | reselleraccount | server | other
    paytype: str  # free | onetime | recurring
    group_id: int
    group_name: str
    module: str  # tblproducts.servertype, '' = no provisioning module
    server_id: int  # 0 = none
    domain: str
    status: str  # tblhosting.domainstatus: Pending, Active, Suspended, Terminated, ...
    billing_cycle: str  # display form, as tblhosting.billingcycle stores it
    amount: Decimal  # the recurring amount
    first_payment_amount: Decimal
    next_due_date: date | None
    next_invoice_date: date | None
    reg_date: date | None
    payment_method: str
    addons: tuple[AddonInfo, ...]
    suspend_reason: str = ""  # tblhosting.suspendreason: '' = WHMCS's "Overdue on Payment"


@dataclass(frozen=True)
class ProductInfo:
    """A ``tblproducts`` row (whmcs.md §1.7) with its group's name (``''`` without a group)."""

    id: int
    name: str
    product_type: str  # hostingaccount | reselleraccount | server | other
    paytype: str  # as stored: free | onetime | recurring ('' reads as recurring)
    group_id: int
    group_name: str
    module: str  # tblproducts.servertype, '' = no provisioning module


def _money(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal("0.00")


def _addons_of(
    conn: Connection, tables: PanelTables, service_ids: Sequence[int]
) -> dict[int, list[AddonInfo]]:
    """The addons of these services, by service id (one query, through the hostingid index)."""
    found: dict[int, list[AddonInfo]] = {}
    if not service_ids:
        return found
    ha = tables.hostingaddons
    catalogue = tables.get("addons")
    columns: list[Any] = [ha]
    source: Any = ha
    if catalogue is not None:
        columns.append(catalogue.c.name.label("catalogue_name"))
        source = ha.outerjoin(catalogue, catalogue.c.id == ha.c.addonid)
    query = (
        select(*columns)
        .select_from(source)
        .where(ha.c.hostingid.in_(list(service_ids)))
        .order_by(ha.c.hostingid, ha.c.id)
    )
    for row in conn.execute(query):
        values = row._mapping
        name = str(values["name"] or "").strip() or str(values.get("catalogue_name") or "")
        found.setdefault(int(values["hostingid"]), []).append(
            AddonInfo(
                id=int(values["id"]),
                addon_id=int(values["addonid"] or 0),
                service_id=int(values["hostingid"]),
                name=name,
                status=str(values["status"] or ""),
                billing_cycle=str(values["billingcycle"] or ""),
                recurring=_money(values["recurring"]),
                setup_fee=_money(values["setupfee"]),
                next_due_date=values["nextduedate"],
                reg_date=values["regdate"],
            )
        )
    return found


def _services(conn: Connection, tables: PanelTables, where: Any) -> list[ServiceInfo]:
    h, p, g = tables.hosting, tables.products, tables.productgroups
    query = (
        select(
            h.c.id,
            h.c.userid,
            h.c.packageid,
            h.c.server,
            h.c.domain,
            h.c.domainstatus,
            h.c.billingcycle,
            h.c.amount,
            h.c.firstpaymentamount,
            h.c.nextduedate,
            h.c.nextinvoicedate,
            h.c.regdate,
            h.c.paymentmethod,
            (h.c.suspendreason if "suspendreason" in h.c else literal("")).label("suspended"),
            p.c.name.label("product_name"),
            p.c.type.label("product_type"),
            p.c.paytype,
            p.c.servertype,
            p.c.gid,
            g.c.name.label("group_name"),
        )
        .select_from(h.outerjoin(p, p.c.id == h.c.packageid).outerjoin(g, g.c.id == p.c.gid))
        .where(where)
        .order_by(h.c.id)
    )
    rows = conn.execute(query).all()
    addons = _addons_of(conn, tables, [int(row.id) for row in rows])
    return [
        ServiceInfo(
            id=int(row.id),
            client_id=int(row.userid or 0),
            product_id=int(row.packageid or 0),
            product_name=str(row.product_name or ""),
            product_type=str(row.product_type or ""),
            paytype=str(row.paytype or "").strip().lower(),
            group_id=int(row.gid or 0),
            group_name=str(row.group_name or ""),
            module=str(row.servertype or "").strip(),
            server_id=int(row.server or 0),
            domain=str(row.domain or ""),
            status=str(row.domainstatus or ""),
            billing_cycle=str(row.billingcycle or ""),
            amount=_money(row.amount),
            first_payment_amount=_money(row.firstpaymentamount),
            next_due_date=row.nextduedate,
            next_invoice_date=row.nextinvoicedate,
            reg_date=row.regdate,
            payment_method=str(row.paymentmethod or ""),
            addons=tuple(addons.get(int(row.id), ())),
            suspend_reason=str(row.suspended or ""),
        )
        for row in rows
    ]


def service(conn: Connection, tables: PanelTables, service_id: int) -> ServiceInfo | None:
    """The service with its product, group and addons, or ``None`` when there is no such row."""
    found = _services(conn, tables, tables.hosting.c.id == service_id)
    return found[0] if found else None


def services_by_id(
    conn: Connection, tables: PanelTables, service_ids: Iterable[int]
) -> dict[int, ServiceInfo]:
    """The services with these ids that exist, with product, group and addons (a page of rows:
    a few queries per thousand ids, not one per service)."""
    ids = sorted({int(i) for i in service_ids})
    found: dict[int, ServiceInfo] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        found.update((s.id, s) for s in _services(conn, tables, tables.hosting.c.id.in_(chunk)))
    return found


def services_of_client(
    conn: Connection,
    tables: PanelTables,
    client_id: int,
    statuses: Iterable[str] | None = None,
) -> list[ServiceInfo]:
    """A client's services by id, optionally only those in ``statuses`` (``('Active',)``)."""
    h = tables.hosting
    where = h.c.userid == client_id
    if statuses is not None:
        where = where & h.c.domainstatus.in_(list(statuses))
    return _services(conn, tables, where)


def product_prices(
    conn: Connection, tables: PanelTables, product_id: int
) -> dict[int, dict[str, Decimal]]:
    """A product's recurring price per currency id and cycle (``tblpricing`` type ``product``).

    Cycles are the lowercase column names of :data:`CYCLES`; a cycle priced ``-1.00`` (any
    negative price) is not offered and absent. A ``onetime`` product has one key ``onetime``
    (its price is stored in ``monthly``); a ``free`` product has ``free`` at 0.00 in every
    currency (its pricing rows mean nothing, whmcs.md §1.9). A currency without a pricing
    row is absent; an unknown product gives ``{}``.
    """
    products, pricing = tables.products, tables.pricing
    paytype = conn.execute(
        select(products.c.paytype).where(products.c.id == product_id)
    ).scalar_one_or_none()
    if paytype is None:
        return {}
    paytype = str(paytype).strip().lower()
    if paytype == "free":
        currency_ids = conn.execute(select(tables.currencies.c.id)).scalars()
        return {int(cid): {"free": Decimal("0.00")} for cid in currency_ids}
    rows = conn.execute(
        select(pricing)
        .where(pricing.c.type == "product", pricing.c.relid == product_id)
        .order_by(pricing.c.currency, pricing.c.id)
    ).all()
    prices: dict[int, dict[str, Decimal]] = {}
    for row in rows:
        currency_id = int(row.currency)
        if currency_id in prices:
            continue  # WHMCS reads the first row of a currency
        if paytype == "onetime":
            cycles = {"onetime": row.monthly}
        else:
            cycles = {cycle: row._mapping[cycle] for cycle in CYCLES}
        prices[currency_id] = {
            cycle: amount for cycle, amount in cycles.items() if amount is not None and amount >= 0
        }
    return prices


def product(conn: Connection, tables: PanelTables, product_id: int) -> ProductInfo | None:
    """The product with its group's name, or ``None`` when there is no such row."""
    p, g = tables.products, tables.productgroups
    row = conn.execute(
        select(
            p.c.id,
            p.c.name,
            p.c.type,
            p.c.gid,
            p.c.paytype,
            p.c.servertype,
            g.c.name.label("group_name"),
        )
        .select_from(p.outerjoin(g, g.c.id == p.c.gid))
        .where(p.c.id == product_id)
    ).first()
    if row is None:
        return None
    return ProductInfo(
        id=int(row.id),
        name=str(row.name or ""),
        product_type=str(row.type or ""),
        paytype=str(row.paytype or "recurring"),
        group_id=int(row.gid or 0),
        group_name=str(row.group_name or ""),
        module=str(row.servertype or "").strip(),
    )


def upgrade_targets(conn: Connection, tables: PanelTables, product_id: int) -> list[int]:
    """The products the client area offers to move this product to
    (``tblproduct_upgrade_products``), in the order they were set, each once."""
    t = tables.product_upgrade_products
    rows = conn.execute(
        select(t.c.upgrade_product_id).where(t.c.product_id == product_id).order_by(t.c.id)
    ).scalars()
    return list(dict.fromkeys(int(r) for r in rows))


def has_config_options(conn: Connection, tables: PanelTables, service_id: int) -> bool:
    """Whether the service has configurable option choices (``tblhostingconfigoptions``;
    ``False`` on a panel without that table)."""
    t = tables.get("hostingconfigoptions")
    if t is None:
        return False
    return conn.execute(select(t.c.id).where(t.c.relid == service_id).limit(1)).first() is not None
