"""Every typed API method against the sandbox panel, on SQLite and on MariaDB (8.4 and 7.8).

MariaDB cases fail, never skip, when the server is unreachable. One database and one sandbox per
backend; each test seeds the rows it needs and looks only at those.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, insert, select

from whmcs_bridge.panel.api import (
    ApiAuthError,
    ApiCommandNotFound,
    ApiNotFound,
    ApiValidationError,
    WhmcsApi,
)
from whmcs_bridge.panel.money import Currency
from whmcs_bridge.panel.tables import PanelTables, create_panel_schema
from whmcs_bridge.sandbox.actions_common import insert_row
from whmcs_bridge.sandbox.actions_upgrades import own_prorata
from whmcs_bridge.sandbox.api_server import SandboxPanel, parse_php_form
from whmcs_bridge.sandbox.hook_rows import write_hook_row
from whmcs_bridge.store.tables import inbox
from whmcs_bridge.store.tables import metadata as store_metadata
from whmcs_bridge.testing.mariadb import STOCK_SETTINGS, SchemaPool

IDENT, SECRET = "sandbox-ident-Q7", "sandbox-secret-Z9"
NOW = dt.datetime(2024, 7, 5, 10, 0, 0)
USD = Currency(1, "USD", "$", " USD", 2)
BACKENDS = [
    "sqlite",
    pytest.param("8.4", marks=pytest.mark.mariadb),
    pytest.param("7.8", marks=pytest.mark.mariadb),
]
_serial = itertools.count(1)


@dataclass
class Panel:
    kind: str
    engine: Engine
    tables: PanelTables
    sandbox: SandboxPanel
    api: WhmcsApi

    @property
    def has_users(self) -> bool:
        return "tblusers" in self.tables

    def insert(self, table: str, **values: Any) -> int:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "mysql":
                conn.exec_driver_sql("SET SESSION sql_mode=''")
            return insert_row(conn, self.tables[table], values)

    def rows(self, table: str, **where: Any) -> list[Any]:
        t = self.tables[table]
        query = select(t).where(*(t.c[k] == v for k, v in where.items())).order_by(t.c.id)
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def one(self, table: str, row_id: int) -> Any:
        (row,) = self.rows(table, id=row_id)
        return row

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self.tables[table])).scalar())

    def hooks(self, hook: str) -> list[dict[str, Any]]:
        query = select(inbox.c.payload, inbox.c.origin).where(inbox.c.hook == hook)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(inbox.c.id)).all()
        assert all(origin == "api" for _, origin in rows)
        return [json.loads(payload) for payload, _ in rows]


def _sqlite_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    create_panel_schema(engine)
    settings = {"Version": "8.4.0-release.1", **STOCK_SETTINGS}
    tables = PanelTables.from_database(engine)
    with engine.begin() as conn:
        for key, value in settings.items():
            insert_row(conn, tables.configuration, {"setting": key, "value": value})
        insert_row(
            conn,
            tables.currencies,
            {"id": 1, "code": "USD", "prefix": "$", "suffix": " USD", "format": 2, "default": True},
        )
    return engine


@pytest.fixture(scope="module", params=BACKENDS)
def panel(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    whmcs_databases: SchemaPool,
) -> Iterator[Panel]:
    kind = request.param
    url = None
    if kind == "sqlite":
        engine = _sqlite_engine(tmp_path_factory.mktemp("panel") / "panel.sqlite")
    else:
        url = whmcs_databases.take(kind)
        engine = create_engine(url)
    store_metadata.create_all(engine, tables=[inbox])
    sandbox = SandboxPanel(engine, IDENT, SECRET, clock=lambda: NOW).start()
    api = WhmcsApi(sandbox.url, IDENT, SECRET, backoff=0.01, timeout=10.0)
    try:
        yield Panel(kind, engine, PanelTables.from_database(engine), sandbox, api)
    finally:
        sandbox.stop()
        engine.dispose()
        if url:
            whmcs_databases.give_back(url)


@dataclass
class World:
    client: int
    other_client: int
    p10: int
    p25: int
    manual: int
    service: int
    manual_service: int
    domain: int
    dept: int


@pytest.fixture
def world(panel: Panel) -> World:
    n = next(_serial)
    client = panel.insert(
        "clients",
        firstname="Ana",
        lastname=f"Diaz{n}",
        email=f"ana{n}@example.com",
        phonenumber="+34.612345678",
        country="ES",
        currency=1,
        status="Active",
        datecreated=NOW.date(),
    )
    other = panel.insert("clients", firstname="Bo", email=f"bo{n}@example.com", currency=1)
    p10 = panel.insert("products", type="hostingaccount", name=f"Basic {n}", servertype="cpanel")
    p25 = panel.insert("products", type="hostingaccount", name=f"Pro {n}", servertype="cpanel")
    manual = panel.insert("products", type="other", name=f"Manual {n}", servertype="")
    for pid, price in ((p10, "10.00"), (p25, "25.00"), (manual, "5.00")):
        panel.insert(
            "pricing",
            type="product",
            currency=1,
            relid=pid,
            monthly=Decimal(price),
            **dict.fromkeys(
                ("quarterly", "semiannually", "annually", "biennially", "triennially"),
                Decimal("-1.00"),
            ),
        )
    service = panel.insert(
        "hosting",
        userid=client,
        packageid=p10,
        regdate=dt.date(2024, 1, 15),
        domain=f"ana{n}.example",
        paymentmethod="banktransfer",
        amount=Decimal("10.00"),
        billingcycle="Monthly",
        nextduedate=dt.date(2024, 7, 15),
        nextinvoicedate=dt.date(2024, 7, 15),
        domainstatus="Active",
    )
    manual_service = panel.insert(
        "hosting",
        userid=client,
        packageid=manual,
        amount=Decimal("5.00"),
        billingcycle="Monthly",
        nextduedate=dt.date(2024, 7, 15),
        domainstatus="Active",
    )
    domain = panel.insert(
        "domains", userid=client, type="Register", domain=f"ana{n}.example", status="Active"
    )
    dept = panel.insert("ticketdepartments", name=f"Support {n}", email="support@example.com")
    if not panel.rows("paymentgateways", gateway="banktransfer"):
        panel.insert("paymentgateways", gateway="banktransfer", setting="name", value="Bank")
    return World(client, other, p10, p25, manual, service, manual_service, domain, dept)


def _invoice(panel: Panel, client: int, lines: list[tuple[str, int, str]]) -> int:
    total = sum(Decimal(amount) for *_, amount in lines)
    invoice = panel.insert(
        "invoices",
        userid=client,
        date=NOW.date(),
        duedate=NOW.date(),
        subtotal=total,
        total=total,
        status="Unpaid",
        paymentmethod="banktransfer",
    )
    for kind, relid, amount in lines:
        panel.insert(
            "invoiceitems",
            invoiceid=invoice,
            userid=client,
            type=kind,
            relid=relid,
            description=f"{kind} {relid}",
            amount=Decimal(amount),
        )
    return invoice


# -- the caller's checks ---------------------------------------------------------------------------


def test_bad_secret_is_refused_and_never_logged(
    panel: Panel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api = WhmcsApi(panel.sandbox.url, IDENT, "wrong-secret-777", backoff=0.01)
    with pytest.raises(ApiAuthError, match="Authentication Failed") as caught:
        api.get_clients_details(1)
    for secret in ("wrong-secret-777", IDENT):
        assert secret not in caplog.text and secret not in str(caught.value)


def test_ip_allow_list_and_access_key(panel: Panel, world: World) -> None:
    with SandboxPanel(panel.engine, IDENT, SECRET, ("10.1.2.3",), accesskey="k!@#(1)") as strict:
        with pytest.raises(ApiAuthError, match=r"Invalid IP 127\.0\.0\.1"):
            WhmcsApi(strict.url, IDENT, SECRET).get_clients_details(world.client)
        with pytest.raises(ApiAuthError, match="Invalid Access Key"):
            WhmcsApi(strict.url, IDENT, SECRET, accesskey="nope").get_clients_details(world.client)
        keyed = WhmcsApi(strict.url, IDENT, SECRET, accesskey="k!@#(1)")
        assert keyed.get_clients_details(world.client).id == world.client


# -- clients, contacts, users --------------------------------------------------------------------


def test_get_clients_details(panel: Panel, world: World) -> None:
    client = panel.api.get_clients_details(world.client)
    assert client.id == world.client and client.firstname == "Ana"
    assert client.currency_id == 1 and client.currency_code == "USD"
    assert client.phonecc == "34" and client.credit == Decimal("0.00")
    assert panel.api.get_clients_details(email=client.email).id == world.client
    with pytest.raises(ApiNotFound, match="Client Not Found"):
        panel.api.get_clients_details(999999)
    with pytest.raises(ApiValidationError, match="Either clientid Or email Is Required"):
        panel.api.get_clients_details()


def test_contacts(panel: Panel, world: World) -> None:
    contact_id = panel.api.add_contact(
        world.client,
        firstname="Luz",
        email="luz@example.com",
        email_preferences={"invoice": True, "support": False},
    )
    assert panel.hooks("ContactAdd")[-1] == {"client_id": world.client, "contactid": contact_id}
    (contact,) = panel.api.get_contacts(world.client).items
    assert contact.email == "luz@example.com" and contact.email_preferences["invoice"]
    assert not contact.email_preferences["support"]
    edits_before = len(panel.hooks("ContactEdit"))
    assert panel.api.update_contact(contact_id, lastname="Paz") == contact_id
    assert panel.one("contacts", contact_id).lastname == "Paz"
    assert len(panel.hooks("ContactEdit")) == edits_before  # no call site in WHMCS 8.7
    with pytest.raises(ApiNotFound):
        panel.api.add_contact(999999, firstname="X")
    with pytest.raises(ApiNotFound):
        panel.api.update_contact(999999, firstname="X")


def test_users_actions(panel: Panel, world: World) -> None:
    if not panel.has_users:
        for call in (
            lambda: panel.api.get_users(),
            lambda: panel.api.get_user_permissions(1, world.client),
            lambda: panel.api.update_user_permissions(1, world.client, ["invoices"]),
            lambda: panel.api.create_client_invite(world.client, "x@example.com", ["tickets"]),
        ):
            with pytest.raises(ApiCommandNotFound):
                call()
        return
    n = next(_serial)
    owner = panel.insert("users", first_name="Ana", email=f"owner{n}@example.com")
    helper = panel.insert("users", first_name="Hal", email=f"helper{n}@example.com")
    panel.insert("users_clients", auth_user_id=owner, client_id=world.client, owner=True)
    panel.insert(
        "users_clients", auth_user_id=helper, client_id=world.client, permissions="tickets"
    )
    found = panel.api.get_users(search=f"helper{n}").items
    assert [u.id for u in found] == [helper] and found[0].clients == {world.client: False}
    assert panel.api.get_user_permissions(owner, world.client).is_owner
    assert panel.api.get_user_permissions(helper, world.client).permissions == ("tickets",)
    stored = panel.api.update_user_permissions(helper, world.client, ["orders", "invoices"])
    assert stored == ("invoices", "orders")
    with pytest.raises(ApiValidationError, match="Permissions cannot be set on a client owner"):
        panel.api.update_user_permissions(owner, world.client, ["invoices"])
    with pytest.raises(ApiValidationError, match="User is not associated with client"):
        panel.api.get_user_permissions(helper, world.other_client)
    panel.api.create_client_invite(world.client, f"new{n}@example.com", ["tickets"])
    assert panel.rows("user_invites", email=f"new{n}@example.com")[0].permissions == "tickets"
    with pytest.raises(ApiValidationError, match="User already associated with client"):
        panel.api.create_client_invite(world.client, f"helper{n}@example.com", ["tickets"])
    with pytest.raises(ApiValidationError, match="User permissions are required"):
        panel.api.create_client_invite(world.client, "z@example.com", [])


def test_get_configuration_value(panel: Panel) -> None:
    assert panel.api.get_configuration_value("CancelInvoiceOnCancellation") == "on"
    assert panel.api.get_configuration_value("Version").startswith(
        "7.8" if panel.kind == "7.8" else "8.4"
    )


# -- billing -------------------------------------------------------------------------------------


def test_invoices_read(panel: Panel, world: World) -> None:
    invoice_id = _invoice(panel, world.client, [("Hosting", world.service, "10.00")])
    listed = panel.api.get_invoices(world.client, status="Unpaid")
    assert [i.id for i in listed] == [invoice_id] and listed.items[0].total == Decimal("10.00")
    assert listed.items[0].currencycode == "USD"
    invoice = panel.api.get_invoice(invoice_id)
    assert invoice.balance == Decimal("10.00") and invoice.transactions == []
    assert [(i.type, i.relid) for i in invoice.items] == [("Hosting", world.service)]
    with pytest.raises(ApiNotFound, match="Invoice ID Not Found"):
        panel.api.get_invoice(999999)


def test_update_invoice_paid_is_not_a_payment(panel: Panel, world: World) -> None:
    invoice_id = _invoice(panel, world.client, [("Hosting", world.service, "10.00")])
    paid_rows = len(panel.hooks("InvoicePaid"))
    panel.api.update_invoice(invoice_id, status="Paid", notes="set by hand")
    assert panel.one("invoices", invoice_id).status == "Paid"
    assert len(panel.hooks("InvoicePaid")) == paid_rows
    assert not panel.rows("accounts", invoiceid=invoice_id)
    other = _invoice(panel, world.client, [("Hosting", world.service, "10.00")])
    panel.api.update_invoice(other, status="Cancelled")
    assert panel.hooks("InvoiceCancelled")[-1] == {"invoiceid": other}
    with pytest.raises(ApiValidationError, match="Invalid status Bogus"):
        panel.api.update_invoice(other, status="Bogus")
    with pytest.raises(ApiNotFound):
        panel.api.update_invoice(999999, status="Paid")


def test_add_invoice_payment_fires_invoice_paid(panel: Panel, world: World) -> None:
    invoice_id = _invoice(panel, world.client, [("Hosting", world.service, "10.00")])
    panel.api.add_invoice_payment(
        invoice_id, transid="T-1", gateway="banktransfer", amount=Decimal("4.00")
    )
    assert panel.one("invoices", invoice_id).status == "Unpaid"
    assert {"invoiceid": invoice_id} not in panel.hooks("InvoicePaid")
    panel.api.add_invoice_payment(invoice_id, transid="T-2", gateway="banktransfer", date=NOW)
    assert panel.one("invoices", invoice_id).status == "Paid"
    assert panel.hooks("InvoicePaid")[-1] == {"invoiceid": invoice_id}
    assert [r.amountin for r in panel.rows("accounts", invoiceid=invoice_id)] == [
        Decimal("4.00"),
        Decimal("6.00"),
    ]
    assert panel.api.get_invoice(invoice_id).balance == Decimal("0.00")
    with pytest.raises(ApiNotFound):
        panel.api.add_invoice_payment(999999, transid="T", gateway="banktransfer")


# -- upgrades ------------------------------------------------------------------------------------


def test_upgrade_calconly_reference_example_stores_nothing(panel: Panel, world: World) -> None:
    counts = {t: panel.count(t) for t in ("orders", "upgrades", "invoices")}
    checkouts = len(panel.hooks("PreUpgradeCheckout"))
    quote = panel.api.upgrade_product(world.service, world.p25, "monthly", calconly=True)
    assert quote.price == Decimal("5.00") and quote.price_text == "$5.00 USD"
    assert (quote.days_until_renewal, quote.total_days) == (10, 30)
    assert quote.old_product_id == world.p10 and quote.new_product_id == world.p25
    assert not quote.upgrade_in_progress and quote.order_id is None
    assert {t: panel.count(t) for t in counts} == counts
    assert len(panel.hooks("PreUpgradeCheckout")) == checkouts
    assert own_prorata(
        Decimal(10), "monthly", dt.date(2024, 7, 15), Decimal(25), "monthly", NOW.date(), USD
    ) == (Decimal("5.00"), 10, 30)


def test_upgrade_real_invoices_then_applies_when_paid(panel: Panel, world: World) -> None:
    result = panel.api.upgrade_product(
        world.service, world.p25, "monthly", payment_method="banktransfer", currency=USD
    )
    assert result.price == Decimal("5.00") and result.invoice_id and result.order_id
    (upgrade,) = panel.rows("upgrades", relid=world.service)
    assert (upgrade.type, upgrade.newvalue, upgrade.amount) == (
        "package",
        f"{world.p25},monthly",
        Decimal("5.00"),
    )
    assert panel.hooks("PreUpgradeCheckout")[-1] == {
        "client_id": world.client,
        "upgradeid": upgrade.id,
        "serviceid": world.service,
        "amount": "5.00",
    }
    (line,) = panel.api.get_invoice(result.invoice_id).items
    assert (line.type, line.relid, line.amount) == ("Upgrade", upgrade.id, Decimal("5.00"))
    with pytest.raises(ApiValidationError, match="Previous upgrade invoice"):
        panel.api.upgrade_product(
            world.service, world.p25, "monthly", payment_method="banktransfer", currency=USD
        )
    panel.api.add_invoice_payment(result.invoice_id, transid="U-1", gateway="banktransfer")
    assert panel.one("hosting", world.service).packageid == world.p25
    assert panel.one("hosting", world.service).amount == Decimal("25.00")
    assert panel.hooks("AfterProductUpgrade")[-1] == {"upgradeid": upgrade.id}


def test_downgrade_applies_at_once_with_credit(panel: Panel, world: World) -> None:
    panel.api.update_client_product(world.service, pid=world.p25, recurringamount="25.00")
    result = panel.api.upgrade_product(
        world.service,
        world.p10,
        "monthly",
        payment_method="banktransfer",
        client_id=world.client,
    )
    assert result.price == Decimal("-5.00") and result.price_text == "$-5.00 USD"
    assert result.invoice_id is None
    (upgrade,) = panel.rows("upgrades", relid=world.service)
    assert (upgrade.status, upgrade.paid) == ("Completed", "Y")
    assert panel.one("hosting", world.service).packageid == world.p10
    assert panel.rows("credit", clientid=world.client)[0].amount == Decimal("5.00")
    assert panel.api.get_clients_details(world.client).credit == Decimal("5.00")
    assert panel.hooks("AfterProductUpgrade")[-1] == {"upgradeid": upgrade.id}
    with pytest.raises(ApiNotFound, match="Service ID Not Found"):
        panel.api.upgrade_product(999999, world.p10, "monthly", calconly=True, currency=USD)
    with pytest.raises(ApiValidationError, match="Invalid Payment Method"):
        panel.api.upgrade_product(world.service, world.p25, "monthly", currency=USD)


# -- services, domains, cancellations ------------------------------------------------------------


def test_clients_products(panel: Panel, world: World) -> None:
    page = panel.api.get_clients_products(world.client)
    assert [p.id for p in page] == [world.service, world.manual_service] and page.total == 2
    (service,) = panel.api.get_clients_products(service_id=world.service).items
    assert service.recurringamount == Decimal("10.00") and service.client_id == world.client
    assert service.nextduedate == dt.date(2024, 7, 15) and service.billingcycle == "Monthly"


def test_module_commands(panel: Panel, world: World) -> None:
    panel.api.module_suspend(world.service, "Abuse")
    row = panel.one("hosting", world.service)
    assert (row.domainstatus, row.suspendreason) == ("Suspended", "Abuse")
    assert panel.hooks("AfterModuleSuspend")[-1] == {
        "serviceid": world.service,
        "client_id": world.client,
        "pid": world.p10,
        "suspendreason": "Abuse",
    }
    panel.api.module_unsuspend(world.service)
    assert panel.one("hosting", world.service).domainstatus == "Active"
    assert panel.hooks("AfterModuleUnsuspend")[-1]["serviceid"] == world.service
    panel.api.module_terminate(world.service)
    assert panel.one("hosting", world.service).domainstatus == "Terminated"
    assert panel.hooks("AfterModuleTerminate")[-1]["serviceid"] == world.service
    with pytest.raises(ApiValidationError, match="Service not assigned to a module"):
        panel.api.module_suspend(world.manual_service)
    with pytest.raises(ApiNotFound, match="Service ID not found"):
        panel.api.module_unsuspend(999999)


def test_cancel_request_once_and_cancels_renewal_invoice(panel: Panel, world: World) -> None:
    renewal = _invoice(panel, world.client, [("Hosting", world.service, "10.00")])
    mixed = _invoice(
        panel, world.client, [("Hosting", world.service, "10.00"), ("Domain", world.domain, "12")]
    )
    assert panel.api.add_cancel_request(world.service, type="Immediate", reason="moving") == (
        world.service,
        world.client,
    )
    assert panel.hooks("CancellationRequest")[-1] == {
        "client_id": world.client,
        "serviceid": world.service,
        "type": "Immediate",
    }
    assert panel.one("invoices", renewal).status == "Cancelled"
    assert {"invoiceid": renewal} in panel.hooks("InvoiceCancelled")
    assert panel.one("invoices", mixed).status == "Unpaid"
    assert panel.one("invoices", mixed).total == Decimal("12.00")
    with pytest.raises(ApiValidationError, match="Existing Cancellation Request Exists"):
        panel.api.add_cancel_request(world.service)
    listed = [
        r for r in panel.api.get_cancelled_packages(limitnum=1000) if r.service_id == world.service
    ]
    assert [(r.type, r.reason) for r in listed] == [("Immediate", "moving")]
    with pytest.raises(ApiNotFound, match="Service ID Not Found"):
        panel.api.add_cancel_request(999999)


def test_update_client_product_and_domain(panel: Panel, world: World) -> None:
    assert (
        panel.api.update_client_product(
            world.service, nextduedate="2024-08-15", notes="moved", overideautosuspend="on"
        )
        == world.service
    )
    row = panel.one("hosting", world.service)
    assert row.nextduedate == dt.date(2024, 8, 15) and row.notes == "moved"
    assert panel.api.update_client_domain(world.domain, donotrenew=True) == world.domain
    assert panel.one("domains", world.domain).donotrenew
    with pytest.raises(ApiNotFound):
        panel.api.update_client_product(999999, notes="x")
    with pytest.raises(ApiNotFound):
        panel.api.update_client_domain(999999, donotrenew=True)


# -- tickets, mail, activity log -----------------------------------------------------------------


def test_tickets(panel: Panel, world: World) -> None:
    ticket = panel.api.open_ticket(world.dept, "Slow site", "Help", client_id=world.client)
    assert ticket.id and len(ticket.tid) == 10 and ticket.c
    assert panel.one("tickets", ticket.id).title == "Slow site"
    assert panel.hooks("TicketOpen")[-1] == {
        "ticketid": ticket.id,
        "client_id": world.client,
        "deptid": world.dept,
    }
    panel.api.add_ticket_reply(ticket.id, "More info", clientid=world.client)
    panel.api.add_ticket_reply(ticket.id, "Fixed", adminusername="admin")
    replies = panel.rows("ticketreplies", tid=ticket.id)
    assert [r.admin for r in replies] == ["", "admin"]
    assert panel.hooks("TicketUserReply")[-1] == {
        "ticketid": ticket.id,
        "replyid": replies[0].id,
        "client_id": world.client,
    }
    assert panel.hooks("TicketAdminReply")[-1] == {"ticketid": ticket.id, "replyid": replies[1].id}
    assert panel.one("tickets", ticket.id).status == "Answered"
    with pytest.raises(ApiNotFound, match="Department ID not found"):
        panel.api.open_ticket(999999, "x", "y", client_id=world.client)
    with pytest.raises(ApiNotFound, match="Ticket ID Not Found"):
        panel.api.add_ticket_reply(999999, "x", clientid=world.client)


def test_send_email(panel: Panel, world: World) -> None:
    before = len(panel.sandbox.sent_emails)
    panel.api.send_email("Hosting Account Welcome Email", world.service)
    panel.api.send_email(
        related_id=world.client, customtype="general", customsubject="Hi", custommessage="Body"
    )
    sent = panel.sandbox.sent_emails[before:]
    assert [(m["type"], m["id"]) for m in sent] == [
        ("product", world.service),
        ("general", world.client),
    ]
    with pytest.raises(ApiValidationError, match="Sending Failed"):
        panel.api.send_email("Invoice Created", 999999)


def test_log_activity(panel: Panel, world: World) -> None:
    panel.api.log_activity(f"bridge test {world.client}", client_id=world.client)
    (row,) = panel.rows("activitylog", description=f"bridge test {world.client}")
    assert row.userid == world.client
    assert ("user_id" in panel.tables.activitylog.c) == (panel.kind != "7.8")


# -- pieces --------------------------------------------------------------------------------------


def test_php_form_parsing() -> None:
    parsed = parse_php_form([("a[b]", "1"), ("ids[]", "5"), ("ids[]", "6"), ("x", "y")])
    assert parsed == {"a": {"b": "1"}, "ids": {"0": "5", "1": "6"}, "x": "y"}


def test_no_inbox_no_row(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'bare.sqlite'}")
    with engine.begin() as conn:
        assert not write_hook_row(conn, "InvoicePaid", {"invoiceid": 1}, NOW)
    store_metadata.create_all(engine, tables=[inbox])
    with engine.begin() as conn:
        assert write_hook_row(conn, "InvoicePaid", {"invoiceid": 1}, NOW)
        assert conn.execute(select(inbox.c.payload)).scalar() == '{"invoiceid":1}'
        conn.execute(insert(inbox).values(hook="X", payload="{}", created_at=NOW))
