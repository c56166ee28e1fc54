"""The panel read layer (clients, services, billing, tickets) on SQLite and the stock 8.4 and 7.8
schemas, rows written as WHMCS's non-strict session would (blank_row), and on the demo panel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert
from sqlalchemy.engine import make_url

from whmcs_bridge.panel import queries
from whmcs_bridge.panel.database import Panel
from whmcs_bridge.panel.money import Currency
from whmcs_bridge.panel.queries.billing import InvoiceItem, _period
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.testing.bridges import whmcs_writes

D = Decimal
TODAY = date(2026, 11, 26)


@pytest.fixture
def panel(empty_panel: tuple[str, str]) -> Iterator[tuple[str, Panel]]:
    """(kind, panel) over an empty panel; MariaDB's stock currency is removed."""
    kind, url = empty_panel
    found = Panel(make_url(url))
    with found.begin() as conn:
        conn.execute(delete(found.tables.currencies))
    yield kind, found
    found.dispose()


def add(conn: Connection, tables: PanelTables, table_name: str, /, **values: Any) -> int:
    """Insert a row as WHMCS would (blanks for NOT NULL columns); returns its id."""
    table = tables[table_name]
    result = conn.execute(insert(table).values(**blank_row(table, **values)))
    return int(result.inserted_primary_key[0])


def seed_catalogue(conn: Connection, tables: PanelTables) -> None:
    """Two currencies, a product group, three products and their prices."""
    add(
        conn, tables, "currencies", id=1, code="ARS", prefix="$", suffix=" ARS", format=3, default=1
    )
    add(conn, tables, "currencies", id=2, code="USD", prefix="US$", format=2, default=0)
    add(conn, tables, "productgroups", id=1, name="Hosting Web")
    for pid, name, paytype, module in (
        (1, "Hosting Inicial", "recurring", "cpanel"),
        (2, "Instalación", "onetime", ""),
        (3, "Prueba", "free", ""),
    ):
        add(conn, tables, "products", id=pid, gid=1, name=name, paytype=paytype, servertype=module)
        add(conn, tables, "products", id=pid + 10, gid=9, name=f"{name} (huérfano)")
    cycles = dict.fromkeys(queries.CYCLES, D("-1.00"))
    add(conn, tables, "pricing", type="product", currency=1, relid=1,
        **{**cycles, "monthly": D("10.00"), "annually": D("100.00")})  # fmt: skip
    add(conn, tables, "pricing", type="product", currency=2, relid=1,
        **{**cycles, "annually": D("0.00")})  # fmt: skip
    add(conn, tables, "pricing", type="product", currency=1, relid=2,
        **{**cycles, "monthly": D("50.00")})  # fmt: skip
    add(conn, tables, "pricing", type="addon", currency=1, relid=1, **{**cycles, "monthly": D("3")})


def test_clients_and_services(panel: tuple[str, Panel]) -> None:
    kind, bridge_panel = panel
    tables = bridge_panel.tables
    with bridge_panel.begin() as conn:
        seed_catalogue(conn, tables)
        add(conn, tables, "clients", id=1, firstname="María", lastname="González",
            companyname="", email="Maria@Example.com.ar", phonenumber="+54.2994123456",
            country="ar", status="Active", language="spanish", currency=2, groupid=3,
            datecreated=date(2024, 5, 1), city="Neuquén", tax_id="20-12345678-9",
            credit=D("12.5"), password="secret-hash")  # fmt: skip
        add(conn, tables, "clients", id=2, firstname="Juan", lastname="Pérez",
            email="juan@example.com ", currency=0, status="Closed")  # fmt: skip
        add(conn, tables, "clients", id=3, firstname="Juan", lastname="Duplicado",
            email="JUAN@example.com", currency=1)  # fmt: skip
        add(conn, tables, "hosting", id=7, userid=1, packageid=1, server=4,
            domain="maria.com.ar", domainstatus="Active", billingcycle="Annually",
            amount=D("100.00"), firstpaymentamount=D("120.00"), regdate=date(2025, 12, 1),
            nextduedate=date(2026, 12, 1), nextinvoicedate=date(2026, 11, 17),
            paymentmethod="mercadopago")  # fmt: skip
        add(conn, tables, "hosting", id=8, userid=1, packageid=11, domainstatus="Cancelled",
            billingcycle="Free Account", nextduedate="0000-00-00")  # fmt: skip
        add(conn, tables, "hosting", id=9, userid=2, packageid=404, domainstatus="Active")
        add(conn, tables, "addons", id=1, name="Backup diario", billingcycle="Monthly")
        add(conn, tables, "hostingaddons", id=5, hostingid=7, addonid=1, name="",
            status="Active", billingcycle="Monthly", recurring=D("3.00"),
            nextduedate=date(2026, 12, 1))  # fmt: skip
        add(conn, tables, "hostingaddons", id=6, hostingid=7, addonid=0, name="IP dedicada",
            status="Pending", billingcycle="Annually", setupfee=D("5"))  # fmt: skip

    with bridge_panel.connect() as conn:
        maria = queries.client(conn, tables, 1)
        assert maria is not None
        assert (maria.full_name, maria.email, maria.phone) == (
            "María González",
            "Maria@Example.com.ar",
            "+54.2994123456",
        )
        assert (maria.country, maria.status, maria.language, maria.group_id) == (
            "AR",
            "Active",
            "spanish",
            3,
        )
        assert maria.currency == Currency(2, "USD", "US$", "", 2)
        assert (maria.created, maria.city, maria.tax_id, maria.credit) == (
            date(2024, 5, 1),
            "Neuquén",
            "20-12345678-9",
            D("12.50"),
        )
        assert not hasattr(maria, "password")
        juan = queries.client(conn, tables, 2)
        assert juan is not None and juan.currency.code == "ARS"  # currency 0: the default
        assert juan.created is None and juan.credit == D("0.00")  # zero date, blank money
        assert queries.client(conn, tables, 99) is None
        assert queries.currency_of_client(conn, tables, 1).code == "USD"
        assert queries.currency_of_client(conn, tables, 99).code == "ARS"

        found = queries.client_by_email(conn, tables, " MARIA@example.COM.AR ")
        assert found is not None and found.id == 1
        assert [c.id for c in queries.clients_by_email(conn, tables, "juan@EXAMPLE.com")] == [2, 3]
        assert queries.client_by_email(conn, tables, "juan@example.com").id == 2  # type: ignore[union-attr]
        assert queries.client_by_email(conn, tables, "nadie@example.com") is None
        assert queries.clients_by_email(conn, tables, "  ") == []

        service = queries.service(conn, tables, 7)
        assert service is not None
        assert (service.client_id, service.product_id, service.product_name) == (
            1,
            1,
            "Hosting Inicial",
        )
        assert (service.group_id, service.group_name, service.module, service.server_id) == (
            1,
            "Hosting Web",
            "cpanel",
            4,
        )
        assert (service.domain, service.status, service.billing_cycle, service.paytype) == (
            "maria.com.ar",
            "Active",
            "Annually",
            "recurring",
        )
        assert (service.amount, service.first_payment_amount) == (D("100.00"), D("120.00"))
        assert (service.next_due_date, service.reg_date) == (date(2026, 12, 1), date(2025, 12, 1))
        backup, ip = service.addons
        assert (backup.id, backup.addon_id, backup.name, backup.status) == (
            5,
            1,
            "Backup diario",  # '' in tblhostingaddons: the catalogue's name
            "Active",
        )
        assert (backup.billing_cycle, backup.recurring, backup.next_due_date) == (
            "Monthly",
            D("3.00"),
            date(2026, 12, 1),
        )
        assert (ip.name, ip.setup_fee, ip.next_due_date, ip.reg_date) == (
            "IP dedicada",
            D("5.00"),
            None,
            None,
        )
        orphan = queries.service(conn, tables, 9)  # its product is gone
        assert orphan is not None and (orphan.product_name, orphan.group_name) == ("", "")
        assert queries.service(conn, tables, 404) is None

        assert [s.id for s in queries.services_of_client(conn, tables, 1)] == [7, 8]
        active = queries.services_of_client(conn, tables, 1, statuses=("Active",))
        assert [s.id for s in active] == [7]
        free = queries.services_of_client(conn, tables, 1)[1]
        assert (free.next_due_date, free.group_name, free.addons) == (None, "", ())

        assert queries.product_prices(conn, tables, 1) == {
            1: {"monthly": D("10.00"), "annually": D("100.00")},
            2: {"annually": D("0.00")},  # 0.00 is offered for free; -1.00 is not offered
        }
        assert queries.product_prices(conn, tables, 2) == {1: {"onetime": D("50.00")}}
        assert queries.product_prices(conn, tables, 3) == {
            1: {"free": D("0.00")},
            2: {"free": D("0.00")},
        }
        assert queries.product_prices(conn, tables, 404) == {}
    assert kind in ("sqlite", "8.4", "7.8")


def seed_billing(conn: Connection, tables: PanelTables) -> None:
    """Client 1's service 7 (addon 5, upgrade order 3) and its invoices; client 2's one."""
    add(conn, tables, "clients", id=1, firstname="Ana", email="ana@example.com", currency=1)
    add(conn, tables, "clients", id=2, firstname="Otro", email="otro@example.com", currency=1)
    add(conn, tables, "hosting", id=7, userid=1, packageid=1, domainstatus="Active",
        billingcycle="Monthly", nextduedate=date(2026, 12, 1))  # fmt: skip
    add(conn, tables, "hostingaddons", id=5, hostingid=7, addonid=1, billingcycle="Monthly")
    add(conn, tables, "upgrades", id=3, userid=1, type="package", relid=7, newvalue="2,monthly")
    add(conn, tables, "upgrades", id=4, userid=1, type="package", relid=99)
    for iid, client_id, status, due, total in (
        (10, 1, "Paid", date(2026, 10, 1), D("30.00")),
        (11, 1, "Unpaid", date(2026, 11, 1), D("33.00")),  # overdue
        (12, 1, "Payment Pending", date(2026, 11, 2), D("10.00")),  # open, never overdue
        (13, 1, "Unpaid", date(2026, 11, 26), D("20.00")),  # due today: not overdue yet
        (14, 1, "Cancelled", date(2026, 9, 1), D("30.00")),
        (15, 2, "Unpaid", date(2026, 1, 1), D("99.00")),
        (16, 1, "Unpaid", date(2026, 11, 20), D("7.00")),  # no line of service 7
    ):
        add(conn, tables, "invoices", id=iid, userid=client_id, status=status, duedate=due,
            date=due, total=total, subtotal=total, invoicenum=f"A-{iid}" if iid == 11 else "",
            paymentmethod="mercadopago", taxrate=D("0"), taxrate2=D("0"))  # fmt: skip
    add(conn, tables, "accounts", userid=1, invoiceid=11, amountin=D("13.00"), transid="p1")
    for invoice_id, kind, relid, description, due in (
        (10, "Hosting", 7, "Hosting Inicial - a.com (01/10/2026 - 31/10/2026)", date(2026, 10, 1)),
        (11, "Hosting", 7, "Hosting Inicial - a.com (01/11/2026 - 30/11/2026)", date(2026, 11, 1)),
        (11, "Addon", 5, "Complemento - Backup (01/11/2026 - 30/11/2026)", date(2026, 11, 1)),
        (12, "Upgrade", 3, "Cambio de plan", None),
        (13, "Hosting", 7, "Renovación manual", date(2026, 12, 1)),
        (14, "Hosting", 7, "Hosting Inicial (2026-09-01 - 2026-09-30)", date(2026, 9, 1)),
        (15, "Hosting", 7, "Billed to the other client", None),
        (16, "Upgrade", 4, "Another service's upgrade", None),
        (16, "Addon", 7, "An addon id that equals the service id", None),
    ):
        add(conn, tables, "invoiceitems", invoiceid=invoice_id, type=kind, relid=relid,
            description=description, duedate=due, amount=D("10.00"),
            userid=2 if invoice_id == 15 else 1)  # fmt: skip


def test_billing(panel: tuple[str, Panel]) -> None:
    _kind, bridge_panel = panel
    tables = bridge_panel.tables
    with bridge_panel.begin() as conn:
        seed_billing(conn, tables)
    with bridge_panel.connect() as conn:
        open_ = queries.open_invoices(conn, tables, 1, TODAY)
        assert [(i.id, i.status, i.overdue) for i in open_] == [
            (11, "Unpaid", True),
            (12, "Payment Pending", False),
            (16, "Unpaid", True),
            (13, "Unpaid", False),
        ]
        first = open_[0]
        assert (first.number, first.total, first.balance) == ("A-11", D("33.00"), D("20.00"))
        assert (open_[1].number, open_[1].date_paid) == ("12", None)
        assert [i.id for i in queries.overdue_invoices(conn, tables, 1, TODAY)] == [11, 16]
        assert queries.overdue_invoices(conn, tables, 3, TODAY) == []

        unpaid = queries.unpaid_items_of_service(conn, tables, 7)
        assert [(u.item.invoice_id, u.item.type, u.item.relid, u.blocks_move) for u in unpaid] == [
            (11, "Hosting", 7, True),
            (11, "Addon", 5, False),
            (12, "Upgrade", 3, False),
            (13, "Hosting", 7, True),
        ]
        assert (unpaid[0].invoice_number, unpaid[0].invoice_status) == ("A-11", "Unpaid")
        assert unpaid[0].item.amount == D("10.00")
        # A former owner's invoices are read when named.
        both = queries.unpaid_items_of_service(conn, tables, 7, client_ids=[1, 2])
        assert [u.item.invoice_id for u in both] == [11, 11, 12, 13, 15]
        assert queries.unpaid_items_of_service(conn, tables, 404) == []

        billed = queries.invoices_for_service(conn, tables, 7)
        assert [b.invoice.id for b in billed] == [10, 11, 12, 13, 14]
        periods = {b.invoice.id: (b.period_start, b.period_end) for b in billed}
        assert periods[10] == (date(2026, 10, 1), date(2026, 10, 31))
        assert periods[11] == (date(2026, 11, 1), date(2026, 11, 30))
        assert periods[12] == (None, None)  # an upgrade order: no period
        assert periods[13] == (date(2026, 12, 1), date(2026, 12, 31))  # from the cycle
        assert periods[14] == (date(2026, 9, 1), date(2026, 9, 30))
        assert [item.type for item in billed[1].items] == ["Hosting", "Addon"]
        assert billed[0].invoice.status == "Paid"


def test_tickets(panel: tuple[str, Panel]) -> None:
    kind, bridge_panel = panel
    tables = bridge_panel.tables
    opened = datetime(2026, 11, 20, 9, 30)
    with bridge_panel.begin() as conn:
        add(conn, tables, "ticketdepartments", id=1, name="Soporte Técnico")
        for tid, status, did, merged in (
            (1, "Open", 1, 0),
            (2, "Closed", 1, 0),
            (3, "Customer-Reply", 2, 0),
            (4, "Esperando proveedor", 1, 0),
            (5, "Open", 1, 1),  # merged into ticket 1
            (6, "In Progress", 1, 0),
        ):
            add(conn, tables, "tickets", id=tid, tid=f"ABC-{tid:06d}", did=did, userid=3,
                contactid=0, name="Lucía", email=" lucia@example.com ", title=f"Asunto {tid}",
                message="No anda el correo", status=status, urgency="High", date=opened,
                lastreply=datetime(2026, 11, 21, 8), service="S7" if tid == 1 else "",
                merged_ticket_id=merged)  # fmt: skip
        for reply_id, admin, day in ((1, "", 20), (2, "Pablo Soporte", 21), (3, "Otra", 22)):
            add(conn, tables, "ticketreplies", id=reply_id, tid=1, userid=0 if admin else 3,
                admin=admin, date=datetime(2026, 11, day, 10), message=f"respuesta {reply_id}",
                name="" if admin else "Lucía")  # fmt: skip

    with bridge_panel.connect() as conn:
        found = queries.ticket(conn, tables, 1)
        assert found is not None
        assert (found.tid, found.client_id, found.department_id, found.department_name) == (
            "ABC-000001",
            3,
            1,
            "Soporte Técnico",
        )
        assert (found.email, found.name, found.subject, found.status, found.priority) == (
            "lucia@example.com",
            "Lucía",
            "Asunto 1",
            "Open",
            "High",
        )
        assert (found.opened_at, found.last_reply) == (opened, datetime(2026, 11, 21, 8))
        assert (found.service_id, found.domain_id, found.admin, found.requestor_id) == (
            7,
            None,
            "",
            0,
        )
        other = queries.ticket(conn, tables, 3)
        assert other is not None and other.department_name == ""  # department 2 is gone
        assert queries.ticket(conn, tables, 404) is None

        thread = queries.replies(conn, tables, 1)
        assert [(r.id, r.by_staff, r.admin) for r in thread] == [
            (1, False, ""),
            (2, True, "Pablo Soporte"),
            (3, True, "Otra"),
        ]
        assert thread[0].client_id == 3 and thread[0].date == datetime(2026, 11, 20, 10)
        staff = queries.first_staff_reply(conn, tables, 1)
        assert staff is not None and (staff.id, staff.admin) == (2, "Pablo Soporte")
        assert queries.first_staff_reply(conn, tables, 3) is None
        assert queries.replies(conn, tables, 3) == []

        # tblticketstatuses empty: the stock statuses count as open.
        assert [t.id for t in queries.open_tickets(conn, tables)] == [1, 3, 6]
    with bridge_panel.begin() as conn:
        for title, active in (
            ("Open", 1),
            ("Closed", 0),
            ("Esperando proveedor", 1),
            ("In Progress", 1),
            ("Customer-Reply", 0),
        ):
            add(conn, tables, "ticketstatuses", title=title, showactive=active)
    with bridge_panel.connect() as conn:
        assert queries.open_statuses(conn, tables) == ("Open", "Esperando proveedor", "In Progress")
        assert [t.id for t in queries.open_tickets(conn, tables, page_size=1)] == [1, 4, 6]
        assert [t.id for t in queries.open_tickets(conn, tables, after_id=1)] == [4, 6]
        assert [t.id for t in queries.open_tickets(conn, tables, department_ids=[2])] == []
    assert kind in ("sqlite", "8.4", "7.8")


def test_demo_panel(demo_panel: str) -> None:
    panel = Panel(make_url(demo_panel))
    tables = panel.tables
    today = date(2026, 11, 26)
    with panel.connect() as conn:
        lucia = queries.client(conn, tables, 3)
        assert lucia is not None
        assert (lucia.company, lucia.language, lucia.currency.code) == (
            "Panadería La Espiga",
            "",
            "ARS",
        )
        emily = queries.client_by_email(conn, tables, "EMILY@carterdesign.example.com")
        assert emily is not None and (emily.id, emily.language) == (5, "english")

        service = queries.service(conn, tables, 2)
        assert service is not None
        assert (service.product_name, service.group_name, service.module) == (
            "Hosting Avanzado",
            "Hosting Web",
            "cpanel",
        )
        assert queries.product_prices(conn, tables, 2) == {
            1: {"semiannually": D("80.00"), "annually": D("150.00")}
        }
        assert [s.id for s in queries.services_of_client(conn, tables, 2)] == [2, 7]

        overdue = queries.overdue_invoices(conn, tables, 3, today)
        assert [(i.id, i.number, i.balance) for i in overdue] == [(3, "A-00003", D("100.00"))]
        assert [i.id for i in queries.open_invoices(conn, tables, 4, today)] == [4]
        assert queries.overdue_invoices(conn, tables, 4, today) == []
        unpaid = queries.unpaid_items_of_service(conn, tables, 3)
        assert [(u.item.invoice_id, u.blocks_move) for u in unpaid] == [(3, True)]
        assert queries.unpaid_items_of_service(conn, tables, 1) == []
        billed = queries.invoices_for_service(conn, tables, 1)
        assert [(b.invoice.id, b.invoice.status) for b in billed] == [(1, "Paid")]
        assert billed[0].period_end is not None  # from the annual cycle: no dates in the line

        opened = list(queries.open_tickets(conn, tables))
        assert [(t.id, t.department_name, t.status) for t in opened] == [
            (1, "Soporte Técnico", "Open")
        ]
        assert queries.first_staff_reply(conn, tables, 1) is None
    panel.dispose()


@pytest.mark.parametrize(
    ("description", "cycle", "end"),
    [
        ("Plan (01/12/2026 - 30/11/2027)", "Annually", date(2027, 11, 30)),
        ("Plan (12/01/2026 - 11/30/2027)", "Annually", date(2027, 11, 30)),  # MM/DD/YYYY
        ("Plan (2026-12-01 - 2027-11-30)", "Annually", date(2027, 11, 30)),
        ("Plan (01.12.2026 - 31.12.2026)", "", date(2026, 12, 31)),
        ("Plan (05/12/2026 - 04/12/2027)", "Monthly", date(2026, 12, 31)),  # another start
        ("Plan sin fechas", "Monthly", date(2026, 12, 31)),
        ("Plan sin fechas", "Semi-Annually", date(2027, 5, 31)),
        ("Plan sin fechas", "One Time", None),
    ],
)
def test_the_period_a_line_pays(description: str, cycle: str, end: date | None) -> None:
    start = date(2026, 12, 1)
    line = InvoiceItem(1, 1, 1, "Hosting", 7, description, D("1.00"), start)
    assert _period(line, cycle) == (start, end)


def test_upgrade_questions(panel: tuple[str, Panel]) -> None:
    """What the upgrades plugin asks: a product, its upgrade paths, a service's configurable
    options, an upgrade order and its invoice line, the unpaid invoices that block an upgrade,
    a login's permissions (both models), the ticket a stopped run opened."""
    _kind, bridge_panel = panel
    tables = bridge_panel.tables
    users = queries.people.has_users(tables)
    opened = datetime(2026, 11, 20, 9, 30)
    with bridge_panel.begin() as conn:
        seed_catalogue(conn, tables)
        seed_billing(conn, tables)
        for source, target in ((1, 2), (1, 3), (1, 2), (2, 1)):
            add(conn, tables, "product_upgrade_products", product_id=source,
                upgrade_product_id=target)  # fmt: skip
        add(conn, tables, "hostingconfigoptions", relid=7, configid=1, optionid=2, qty=0)
        add(conn, tables, "upgrades", id=5, userid=1, orderid=8, type="package",
            date=date(2026, 11, 20), relid=7, originalvalue="1", newvalue="3,annually",
            amount=D("12.50"), status="Completed", paid="Y")  # fmt: skip
        add(conn, tables, "invoices", id=17, userid=1, status="Unpaid", duedate=TODAY,
            date=TODAY, taxrate=D("0"), taxrate2=D("0"))  # fmt: skip
        add(conn, tables, "invoiceitems", id=90, invoiceid=17, userid=1, type="Upgrade",
            relid=3, description="Cambio de plan: Hosting Inicial => Instalación",
            amount=D("4.75"), taxed=1)  # fmt: skip
        if users:
            for uid in (1, 2, 3):
                add(conn, tables, "users", id=uid, first_name=f"U{uid}", email=f"u{uid}@a.com")
            for uid, client_id, owner, rights in (
                (1, 1, 1, ""),
                (2, 1, 0, "invoices,bogus,orders"),
                (3, 2, 0, ""),
            ):
                add(conn, tables, "users_clients", auth_user_id=uid, client_id=client_id,
                    owner=owner, permissions=rights)  # fmt: skip
        else:
            add(conn, tables, "contacts", id=1, userid=1, subaccount=1,
                permissions="tickets,orders", email="sub@a.com")  # fmt: skip
            add(conn, tables, "contacts", id=2, userid=1, subaccount=0, permissions="orders")
        add(conn, tables, "ticketdepartments", id=1, name="Administración")
        for tid, client_id, title, when in (
            (1, 1, "Cambio de plan", datetime(2026, 11, 19, 9)),  # before the claim
            (2, 1, "Cambio de plan", datetime(2026, 11, 20, 10)),
            (3, 1, "Cambio de plan", datetime(2026, 11, 20, 11)),
            (4, 2, "Cambio de plan", datetime(2026, 11, 20, 9, 45)),  # another client's
            (5, 1, "Otra consulta", datetime(2026, 11, 20, 9, 40)),
        ):
            add(conn, tables, "tickets", id=tid, tid=f"UPG-{tid:03d}", did=1, userid=client_id,
                title=title, date=when, status="Open")  # fmt: skip

    with bridge_panel.connect() as conn:
        product = queries.services.product(conn, tables, 1)
        assert product is not None
        assert (product.name, product.paytype, product.group_id, product.group_name) == (
            "Hosting Inicial",
            "recurring",
            1,
            "Hosting Web",
        )
        assert product.module == "cpanel"
        orphan = queries.services.product(conn, tables, 12)
        assert orphan is not None
        assert (orphan.group_id, orphan.group_name, orphan.module) == (9, "", "")
        assert queries.services.product(conn, tables, 404) is None
        assert queries.services.upgrade_targets(conn, tables, 1) == [2, 3]  # each once
        assert queries.services.upgrade_targets(conn, tables, 3) == []
        assert queries.services.has_config_options(conn, tables, 7)
        assert not queries.services.has_config_options(conn, tables, 9)

        order = queries.upgrades.upgrade(conn, tables, 5)
        assert order is not None
        assert (order.client_id, order.order_id, order.type, order.relid) == (1, 8, "package", 7)
        assert (order.original_value, order.new_value, order.date) == (
            "1",
            "3,annually",
            date(2026, 11, 20),
        )
        assert (order.amount, order.status, order.paid) == (D("12.50"), "Completed", True)
        pending = queries.upgrades.upgrade(conn, tables, 3)
        assert pending is not None and (pending.status, pending.paid) == ("Pending", False)
        assert queries.upgrades.upgrade(conn, tables, 404) is None
        line = queries.upgrades.upgrade_invoice_line(conn, tables, 3)  # the newest of two
        assert line is not None
        assert (line.id, line.invoice_id, line.amount, line.taxed, line.invoice_status) == (
            90,
            17,
            D("4.75"),
            True,
            "Unpaid",
        )
        assert line.description == "Cambio de plan: Hosting Inicial => Instalación"
        older = queries.upgrades.upgrade_invoice_line(conn, tables, 4)
        assert older is not None and (older.invoice_id, older.taxed) == (16, False)
        assert queries.upgrades.upgrade_invoice_line(conn, tables, 5) is None  # nothing was due
        # Every Unpaid invoice with the line, whoever it was issued to (15: another client).
        assert queries.upgrades.unpaid_renewal_invoice_ids(conn, tables, 7) == [11, 13, 15]
        assert queries.upgrades.unpaid_renewal_invoice_ids(conn, tables, 404) == []
        # Upgrade 3's lines: invoice 12 is Payment Pending, 17 Unpaid; 16 bills service 99's.
        assert queries.upgrades.unpaid_upgrade_invoice_ids(conn, tables, 7) == [17]
        assert queries.upgrades.unpaid_upgrade_invoice_ids(conn, tables, 99) == [16]

        every = queries.people.PERMISSIONS
        rights = queries.people.login_permissions
        if users:
            assert rights(conn, tables, 1, 1) == every  # the owner
            assert rights(conn, tables, 1, 2) == ("invoices", "orders")  # unknown keys dropped
            assert rights(conn, tables, 1, 3) is None  # not linked to client 1
            assert rights(conn, tables, 2, 3) == ()
        else:
            assert rights(conn, tables, 1, 0) == every  # the client's own login
            assert rights(conn, tables, 1, 1) == ("tickets", "orders")  # canonical order
            assert rights(conn, tables, 1, 2) is None  # a contact that does not log in
            assert rights(conn, tables, 2, 1) is None  # another client's sub-account

        titled = queries.tickets.ticket_titled_since
        found = titled(conn, tables, 1, "Cambio de plan", opened)
        assert found is not None
        assert (found.id, found.tid, found.department_name) == (2, "UPG-002", "Administración")
        assert titled(conn, tables, 1, "Cambio de plan", datetime(2026, 11, 21)) is None
        assert titled(conn, tables, 3, "Cambio de plan", opened) is None
        assert queries.tickets.department_id(conn, tables, "ADMINISTRACIÓN") == 1


def test_alert_subjects(panel: tuple[str, Panel]) -> None:
    """What an alert reads of its subject: an invoice, a quote (in its own currency or its
    client's) and a domain by id or a client's latest, a service's suspension reason, a panel
    setting, and a contact's company (the alerts plugin, issue 18 point 3)."""
    kind, bridge_panel = panel
    tables = bridge_panel.tables
    with whmcs_writes(bridge_panel) as conn:
        seed_catalogue(conn, tables)  # currency 1 ARS (default), 2 USD
        add(conn, tables, "clients", id=1, firstname="Ana", lastname="Gómez",
            companyname=" Ana SRL ", email="ana@example.com", currency=2)  # fmt: skip
        add(conn, tables, "clients", id=2, firstname="Beto", email="beto@example.com", currency=0)
        for iid, client_id, status, paid in (
            (10, 1, "Paid", datetime(2026, 11, 2, 10, 30)),
            (11, 1, "Unpaid", "0000-00-00 00:00:00"),
            (12, 2, "Unpaid", "0000-00-00 00:00:00"),
        ):
            add(conn, tables, "invoices", id=iid, userid=client_id, status=status,
                duedate=date(2026, 11, 1), date=date(2026, 10, 20), datepaid=paid,
                total=D("30.00"), subtotal=D("30.00"), invoicenum="A-10" if iid == 10 else "",
                taxrate=D("0"), taxrate2=D("0"))  # fmt: skip
        for qid, client_id, currency in ((3, 1, 0), (4, 1, 1), (5, 0, 0), (6, 2, 99)):
            add(conn, tables, "quotes", id=qid, userid=client_id, currency=currency,
                subject=" Migración de sitio ", stage="Delivered", total=D("80.00"),
                validuntil=date(2026, 12, 19))  # fmt: skip
        add(conn, tables, "domains", id=2, userid=1, domain=" laespiga.com.ar ", status="Active",
            registrar="resellerclub", expirydate=date(2027, 3, 1))  # fmt: skip
        add(conn, tables, "domains", id=3, userid=1, domain="otra.com.ar", expirydate="0000-00-00")
        add(conn, tables, "hosting", id=7, userid=1, packageid=1, domainstatus="Suspended",
            suspendreason="Falta de pago")  # fmt: skip
        add(conn, tables, "hosting", id=8, userid=1, packageid=1, domainstatus="Suspended")
        cfg = tables.configuration
        conn.execute(delete(cfg).where(cfg.c.setting == "AutoUnsuspend"))  # a stock row, if any
        conn.execute(insert(cfg).values(**blank_row(cfg, setting="AutoUnsuspend", value="on")))
        add(conn, tables, "contacts", id=4, userid=1, firstname="", lastname="",
            companyname=" Estudio Contable ", email="estudio@example.com", invoiceemails=1,
            generalemails=0)  # fmt: skip

    with bridge_panel.connect() as conn:
        paid = queries.billing.invoice(conn, tables, 10)
        assert paid is not None
        assert (paid.client_id, paid.number, paid.status, paid.total, paid.balance) == (
            1, "A-10", "Paid", D("30.00"), D("30.00"))  # fmt: skip
        assert (paid.due_date, paid.date_paid, paid.overdue) == (
            date(2026, 11, 1), datetime(2026, 11, 2, 10, 30), False)  # fmt: skip
        unpaid = queries.billing.invoice(conn, tables, 11, TODAY)
        assert unpaid is not None and (unpaid.number, unpaid.date_paid, unpaid.overdue) == (
            "11", None, True)  # fmt: skip
        assert queries.billing.invoice(conn, tables, 404) is None
        latest = queries.billing.latest_invoice(conn, tables, 1)
        assert latest is not None and latest.id == 11  # whatever its status
        assert queries.billing.latest_invoice(conn, tables, 9) is None

        quote = queries.quotes.quote(conn, tables, 3)
        assert quote is not None
        assert (quote.client_id, quote.subject, quote.stage, quote.total, quote.valid_until) == (
            1, "Migración de sitio", "Delivered", D("80.00"), date(2026, 12, 19))  # fmt: skip
        assert quote.currency.code == "USD"  # no currency of its own: the client's
        currencies = {q: queries.quotes.quote(conn, tables, q) for q in (4, 5, 6)}
        assert {q: (i.client_id, i.currency.code) for q, i in currencies.items() if i} == {
            4: (1, "ARS"),  # its own, not the client's USD
            5: (0, "ARS"),  # a lead's: the default
            6: (2, "ARS"),  # a currency since deleted: the default
        }
        assert queries.quotes.quote(conn, tables, 404) is None
        newest = queries.quotes.latest_quote(conn, tables, 1)
        assert newest is not None and newest.id == 4
        assert queries.quotes.latest_quote(conn, tables, 9) is None

        domain = queries.domains.domain(conn, tables, 2)
        assert domain is not None
        assert (domain.client_id, domain.domain, domain.status, domain.registrar) == (
            1, "laespiga.com.ar", "Active", "resellerclub")  # fmt: skip
        assert domain.expiry_date == date(2027, 3, 1)
        last = queries.domains.latest_domain(conn, tables, 1)
        assert last is not None and (last.id, last.domain, last.expiry_date) == (
            3, "otra.com.ar", None)  # fmt: skip
        assert queries.domains.domain(conn, tables, 404) is None
        assert queries.domains.latest_domain(conn, tables, 2) is None

        suspended = {s.id: s.suspend_reason for s in queries.services_of_client(conn, tables, 1)}
        assert suspended == {7: "Falta de pago", 8: ""}  # '' = "Overdue on Payment"

        setting = queries.configuration.setting
        assert setting(conn, tables, "AutoUnsuspend") == "on"
        assert setting(conn, tables, "NoSuchSetting") == ""
        assert setting(conn, tables, "NoSuchSetting", "off") == "off"

        people = {p.key: p for p in queries.people.people(conn, tables, 1)}
        contact = people["contact:4"]
        assert (contact.company, contact.name, contact.email) == (
            "Estudio Contable", "estudio@example.com", "estudio@example.com")  # fmt: skip
        prefs = contact.email_preferences or {}
        assert (prefs["invoice"], prefs["general"]) == (True, False)
        owner = next(p for p in people.values() if p.kind == "owner")
        assert owner.company == "Ana SRL"  # no owner user linked on 8.x: the client record
    assert kind in ("sqlite", "8.4", "7.8")
