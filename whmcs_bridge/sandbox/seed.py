"""Sample panel data for the demo and the tests: a small Argentine hosting company, in Spanish.

Here: its settings and currencies, products priced per cycle in ``tblpricing`` (``-1.00`` where a
cycle is not offered), clients in Argentina with ``+54.`` phones, and what they hold: services in
every status and domains. Its paid, unpaid and cancelled invoices, a quote and the payment gateway
are in :mod:`whmcs_bridge.sandbox.seed_billing`; its ticket departments and a ticket in
:mod:`whmcs_bridge.sandbox.seed_support`. :func:`seed_panel` fills all of it. Dates are relative
to ``today`` so the data always looks current.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert

from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import metadata
from whmcs_bridge.sandbox.seed_billing import seed_billing
from whmcs_bridge.sandbox.seed_support import seed_support

D = Decimal
NOT_OFFERED = D("-1.00")

SETTINGS = {
    "Version": "8.4.0-release.1",
    "CompanyName": "Hosting Patagonia SRL",
    "SystemURL": "https://clientes.hostingpatagonia.com.ar/",
    "Language": "spanish",
    "DateFormat": "DD/MM/YYYY",
    "DefaultCountry": "AR",
    "PhoneNumberDropdown": "1",
    "CancelInvoiceOnCancellation": "on",
    "CreditOnDowngrade": "on",
    "AutoCancellationRequests": "on",
    "AutoSuspension": "on",
    "AutoSuspensionDays": "5",
    "AutoUnsuspend": "on",
}

# (id, gid, name, servertype, annually, monthly, semiannually)
PRODUCTS = [
    (1, 1, "Hosting Inicial", "cpanel", D("100.00"), NOT_OFFERED, NOT_OFFERED),
    (2, 1, "Hosting Avanzado", "cpanel", D("150.00"), NOT_OFFERED, D("80.00")),
    (3, 1, "Hosting Empresa", "cpanel", D("300.00"), D("30.00"), NOT_OFFERED),
    (4, 2, "VPS Administrado", "", D("1200.00"), D("110.00"), NOT_OFFERED),
]
UPGRADE_PATHS = [(1, 2), (1, 3), (2, 3), (2, 1)]

# (id, first, last, company, email, city, phone, language)
CLIENTS = [
    (
        1,
        "María",
        "González",
        "",
        "maria.gonzalez@example.com.ar",
        "Neuquén",
        "+54.2994123456",
        "spanish",
    ),
    (
        2,
        "Juan Pablo",
        "Fernández",
        "Estudio Fernández",
        "jp@estudiofernandez.example.com.ar",
        "Córdoba",
        "+54.3514987654",
        "spanish",
    ),
    (
        3,
        "Lucía",
        "Martínez",
        "Panadería La Espiga",
        "lucia@laespiga.example.com.ar",
        "Rosario",
        "+54.3415550101",
        "",
    ),
    (
        4,
        "Carlos",
        "Rodríguez",
        "",
        "carlos.rodriguez@example.com.ar",
        "Mendoza",
        "0261 155-443322",
        "spanish",
    ),
    (
        5,
        "Emily",
        "Carter",
        "Carter Design",
        "emily@carterdesign.example.com",
        "Bariloche",
        "+54.2944112233",
        "english",
    ),
]


def _products(conn: Connection) -> None:
    groups = metadata.tables["tblproductgroups"]
    for gid, name in ((1, "Hosting Web"), (2, "Servidores VPS")):
        conn.execute(insert(groups).values(**blank_row(groups, id=gid, name=name)))
    products = metadata.tables["tblproducts"]
    pricing = metadata.tables["tblpricing"]
    for pid, gid, name, module, annually, monthly, semi in PRODUCTS:
        conn.execute(
            insert(products).values(
                **blank_row(
                    products,
                    id=pid,
                    gid=gid,
                    name=name,
                    type="hostingaccount",
                    paytype="recurring",
                    servertype=module,
                    autosetup="payment",
                    description=f"Plan {name}",
                )
            )
        )
        conn.execute(
            insert(pricing).values(
                **blank_row(
                    pricing,
                    type="product",
                    currency=1,
                    relid=pid,
                    monthly=monthly,
                    quarterly=NOT_OFFERED,
                    semiannually=semi,
                    annually=annually,
                    biennially=NOT_OFFERED,
                    triennially=NOT_OFFERED,
                    msetupfee=D("0"),
                    qsetupfee=D("0"),
                    ssetupfee=D("0"),
                    asetupfee=D("0"),
                    bsetupfee=D("0"),
                    tsetupfee=D("0"),
                )
            )
        )
    upgrades = metadata.tables["tblproduct_upgrade_products"]
    for source, target in UPGRADE_PATHS:
        conn.execute(insert(upgrades).values(product_id=source, upgrade_product_id=target))


def _clients(conn: Connection, today: date) -> None:
    clients = metadata.tables["tblclients"]
    users = metadata.tables["tblusers"]
    links = metadata.tables["tblusers_clients"]
    for cid, first, last, company, email, city, phone, language in CLIENTS:
        created = today - timedelta(days=900 - cid * 120)
        conn.execute(
            insert(clients).values(
                **blank_row(
                    clients,
                    id=cid,
                    firstname=first,
                    lastname=last,
                    companyname=company,
                    email=email,
                    address1="Av. San Martín 123",
                    city=city,
                    state="",
                    postcode="8300",
                    country="AR",
                    phonenumber=phone,
                    currency=1,
                    datecreated=created,
                    language=language,
                    status="Active",
                    password="$2y$10$legacyhashlegacyhashlegacyhashlegacyha",
                    created_at=datetime.combine(created, datetime.min.time()),
                    updated_at=datetime.combine(created, datetime.min.time()),
                )
            )
        )
        conn.execute(
            insert(users).values(
                **blank_row(
                    users,
                    id=cid,
                    first_name=first,
                    last_name=last,
                    email=email,
                    password=f"$2y$10$demo{cid:02d}hashdemohashdemohashdemohashdemohashdemo",
                    language=language,
                )
            )
        )
        conn.execute(
            insert(links).values(**blank_row(links, auth_user_id=cid, client_id=cid, owner=1))
        )
    # A bookkeeper who may see and pay invoices of client 2 (R-CT-2).
    conn.execute(
        insert(users).values(
            **blank_row(
                users,
                id=6,
                first_name="Sofía",
                last_name="Pérez",
                email="sofia@contadora.example.com.ar",
                password="$2y$10$demo06hash",
            )
        )
    )
    conn.execute(
        insert(links).values(
            **blank_row(links, auth_user_id=6, client_id=2, owner=0, permissions="invoices,tickets")
        )
    )
    contacts = metadata.tables["tblcontacts"]
    conn.execute(
        insert(contacts).values(
            **blank_row(
                contacts,
                userid=2,
                firstname="Sofía",
                lastname="Pérez",
                email="sofia@contadora.example.com.ar",
                phonenumber="+54.3514000111",
                country="AR",
                invoiceemails=1,
                generalemails=0,
                productemails=0,
                domainemails=0,
                supportemails=0,
                affiliateemails=0,
            )
        )
    )


# (id, client, product, domain, status, cycle, amount, months until due)
SERVICES = [
    (1, 1, 1, "mariagonzalez.com.ar", "Active", "Annually", D("100.00"), 6),
    (2, 2, 2, "estudiofernandez.com.ar", "Active", "Annually", D("150.00"), 3),
    (3, 3, 1, "laespiga.com.ar", "Suspended", "Annually", D("100.00"), -1),
    (4, 4, 3, "crodriguez.com.ar", "Pending", "Monthly", D("30.00"), 0),
    (5, 1, 4, "vps1.mariagonzalez.com.ar", "Terminated", "Monthly", D("110.00"), -8),
    (6, 5, 2, "carterdesign.com", "Active", "Annually", D("150.00"), 9),
    (7, 2, 3, "tienda.estudiofernandez.com.ar", "Cancelled", "Monthly", D("30.00"), -3),
]


def _services(conn: Connection, today: date) -> None:
    hosting = metadata.tables["tblhosting"]
    for sid, cid, pid, domain, status, cycle, amount, months in SERVICES:
        due = today + timedelta(days=30 * months)
        conn.execute(
            insert(hosting).values(
                **blank_row(
                    hosting,
                    id=sid,
                    userid=cid,
                    orderid=sid,
                    packageid=pid,
                    domain=domain,
                    domainstatus=status,
                    billingcycle=cycle,
                    amount=amount,
                    firstpaymentamount=amount,
                    regdate=due - timedelta(days=365),
                    nextduedate=due,
                    nextinvoicedate=due,
                    paymentmethod="mercadopago",
                    username=domain.split(".")[0][:8],
                )
            )
        )
    domains = metadata.tables["tbldomains"]
    for did, cid, name in (
        (1, 1, "mariagonzalez.com.ar"),
        (2, 3, "laespiga.com.ar"),
        (3, 5, "carterdesign.com"),
    ):
        conn.execute(
            insert(domains).values(
                **blank_row(
                    domains,
                    id=did,
                    userid=cid,
                    type="Register",
                    domain=name,
                    status="Active",
                    registrationdate=today - timedelta(days=400),
                    expirydate=today + timedelta(days=330),
                    nextduedate=today + timedelta(days=330),
                    recurringamount=D("25.00"),
                    registrar="nicar",
                    paymentmethod="mercadopago",
                )
            )
        )


def seed_panel(conn: Connection, today: date) -> dict[str, Any]:
    """Fill an empty panel schema with the sample company; returns a short summary."""
    settings = metadata.tables["tblconfiguration"]
    for name, value in SETTINGS.items():
        conn.execute(insert(settings).values(**blank_row(settings, setting=name, value=value)))
    currencies = metadata.tables["tblcurrencies"]
    conn.execute(
        insert(currencies).values(
            **blank_row(
                currencies,
                id=1,
                code="ARS",
                prefix="$",
                suffix=" ARS",
                format=3,
                rate=D("1.00000"),
                default=1,
            )
        )
    )
    conn.execute(
        insert(currencies).values(
            **blank_row(
                currencies,
                id=2,
                code="USD",
                prefix="US$",
                suffix="",
                format=2,
                rate=D("0.00100"),
                default=0,
            )
        )
    )
    _products(conn)
    _clients(conn, today)
    _services(conn, today)
    seed_billing(conn, today)
    seed_support(conn, today)
    return {"clients": len(CLIENTS), "services": len(SERVICES), "products": len(PRODUCTS)}
