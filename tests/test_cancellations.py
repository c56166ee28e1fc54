"""The cancellations plugin (issue 13, R-CA-1..7) on SQLite and the stock 8.4 and 7.8 schemas.

A small company is built in an empty panel; the WHMCS API is the sandbox, on the bridge's clock,
in the panel's time zone (Buenos Aires, UTC-3), so a request made at 23:50 local is "today"
although it is already tomorrow in UTC.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import create_engine, delete, insert, select, update
from whmcs_bridge.plugins.cancellations.tables import cancellations as cancel_t

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.doctor import plugin_checks
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.outbox.tables import outbox as outbox_t
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.sandbox.actions_cancellations import client_area_cancel, daily_cancellation_task
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.store.tables import inbox
from whmcs_bridge.testing.bridges import FixedClock, make_bridge, utc

ZONE = "America/Argentina/Buenos_Aires"
DAY = date(2026, 12, 10)
DUE = DAY + timedelta(days=40)  # service 1's next due date: the end of its period
D = datetime


def local(day: date, hour: int, minute: int) -> datetime:
    """A UTC instant for a Buenos Aires wall-clock time (UTC-3, no DST)."""
    return utc(day.year, day.month, day.day, hour, minute) + timedelta(hours=3)


def add(conn: Any, table: Any, **values: Any) -> int:
    """Insert a row with only the columns this schema has (7.8 lacks some)."""
    row = blank_row(table, **{k: v for k, v in values.items() if k in table.c})
    result = conn.execute(insert(table).values(row))
    return int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0


def build_company(url: str) -> None:
    """Two clients, three products (one without a module), services, an addon, a domain, a
    technical department, invoices for the period in progress and a renewal generated before
    the request."""
    engine = create_engine(url)
    t = PanelTables.from_database(engine)
    settings = {
        "Language": "spanish",
        "CancelInvoiceOnCancellation": "",
        "AutoCancellationRequests": "",
        "CompanyName": "Hosting Patagonia SRL",
    }
    with engine.begin() as conn:
        conn.execute(delete(t.configuration).where(t.configuration.c.setting.in_(settings)))
        for name, value in settings.items():
            add(conn, t.configuration, setting=name, value=value)
        conn.execute(delete(t.currencies))
        add(conn, t.currencies, id=1, code="ARS", prefix="$", suffix=" ARS", format=3, default=1)
        add(conn, t.ticketdepartments, id=1, name="Soporte Técnico", email="soporte@example.com")
        add(conn, t.productgroups, id=1, name="Hosting Web")
        for pid, name, module in ((1, "Hosting Inicial", "cpanel"), (2, "Hosting Manual", "")):
            add(
                conn,
                t.products,
                id=pid,
                gid=1,
                name=name,
                type="hostingaddon" if False else "hostingaccount",
                paytype="recurring",
                servertype=module,
            )
        for cid, first, email, language, phone in (
            (1, "María", "maria@example.com.ar", "spanish", "+54.2994123456"),
            (2, "John", "john@example.com", "english", "+1.2025550123"),
        ):
            add(
                conn,
                t.clients,
                id=cid,
                firstname=first,
                lastname="Pérez",
                email=email,
                language=language,
                phonenumber=phone,
                country="AR",
                currency=1,
                status="Active",
            )
        services = (
            (1, 1, 1, "maria.com.ar", "Annually", DUE),
            (2, 1, 2, "manual.maria.com.ar", "Monthly", DAY + timedelta(days=20)),
            (3, 2, 1, "john.example.com", "Monthly", DAY + timedelta(days=10)),
        )
        for sid, cid, pid, domain, cycle, due in services:
            add(
                conn,
                t.hosting,
                id=sid,
                userid=cid,
                packageid=pid,
                domain=domain,
                domainstatus="Active",
                billingcycle=cycle,
                amount=100,
                nextduedate=due,
                nextinvoicedate=due,
                regdate=due - timedelta(days=365),
                paymentmethod="mp",
                username=f"user{sid}",
            )
        add(
            conn,
            t.hostingaddons,
            id=1,
            hostingid=1,
            addonid=0,
            userid=1,
            name="Backup extra",
            status="Active",
            billingcycle="Annually",
            recurring=10,
            nextduedate=DUE,
        )
        add(
            conn,
            t.domains,
            id=1,
            userid=1,
            domain="maria.com.ar",
            status="Active",
            recurringamount=20,
            donotrenew=0,
            type="Register",
            registrationdate=DAY,
            expirydate=DUE + timedelta(days=100),
            nextduedate=DUE + timedelta(days=100),
        )
        # The period in progress (overdue, unpaid: stays due) and the renewal generated before
        # the request (for the period after the end: cancelled).
        invoice(conn, t, 10, 1, [("Hosting", 1, DUE - timedelta(days=365))], "Unpaid")
        invoice(conn, t, 11, 1, [("Hosting", 1, DUE), ("Addon", 1, DUE)], "Unpaid")
    engine.dispose()


def invoice(conn: Any, t: PanelTables, iid: int, cid: int, lines: list[Any], status: str) -> None:
    add(
        conn,
        t.invoices,
        id=iid,
        userid=cid,
        date=DAY,
        duedate=DAY,
        status=status,
        subtotal=100 * len(lines),
        total=100 * len(lines),
        paymentmethod="mp",
        taxrate=0,
        taxrate2=0,
    )
    for kind, relid, due in lines:
        add(
            conn,
            t.invoiceitems,
            invoiceid=iid,
            userid=cid,
            type=kind,
            relid=relid,
            description=f"{kind} #{relid}",
            amount=100,
            duedate=due,
            paymentmethod="mp",
        )


class Panel:
    """The bridge under test, its sandbox API and quick reads of the panel."""

    def __init__(self, url: str, sandbox: SandboxPanel, bridge: Bridge) -> None:
        self.url, self.sandbox, self.bridge = url, sandbox, bridge
        self.tables = bridge.panel.tables

    @property
    def clock(self) -> FixedClock:
        return self.bridge.clock  # type: ignore[return-value]

    def cycle(self) -> Any:
        report = run_cycle(self.bridge)
        assert report.ok, report.errors
        return report

    def one(self, table: Any, row_id: int) -> Any:
        with self.bridge.panel.connect() as conn:
            return conn.execute(select(table).where(table.c.id == row_id)).first()

    def row(self, service_id: int) -> Any:
        with self.bridge.panel.connect() as conn:
            return conn.execute(select(cancel_t).where(cancel_t.c.service_id == service_id)).first()

    def messages(self, event_name: str, client_id: int) -> list[dict[str, Any]]:
        with self.bridge.panel.connect() as conn:
            rows = conn.execute(
                select(outbox_t).where(outbox_t.c.client_id == client_id).order_by(outbox_t.c.id)
            ).all()
        found = [json.loads(r.message) for r in rows]
        return [m for m in found if m.get("event") == event_name]

    def calls(self, action: str) -> int:
        return self.sandbox.calls.count(action)

    def sql(self, *statements: Any) -> None:
        with self.bridge.panel.begin() as conn:
            for statement in statements:
                conn.execute(statement)

    def client_cancel(self, service_id: int, kind: str, when: datetime, **extra: Any) -> None:
        engine = self.sandbox.engine
        with engine.begin() as conn:
            client_area_cancel(
                conn, self.sandbox.tables, service_id, kind, "Ya no lo uso", when, **extra
            )


class LossyPanel(SandboxPanel):
    """The sandbox, except that the answers of the actions in :attr:`lose` never arrive: the
    action runs in the panel, and a proxy in front of it answers 502 (PHP timed out behind it)."""

    lose: set[str]
    #: action -> the module's own error text, answered without running the action.
    refuse: dict[str, str]

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = dict(parse_qsl(body.decode())).get("action", "")
        if action in getattr(self, "refuse", {}):
            self.calls.append(action)
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"result": "error", "message": self.refuse[action]}).encode()]
        answer = super().wsgi(environ, lambda *args: None)
        if action in getattr(self, "lose", set()):
            start_response("502 Bad Gateway", [("Content-Type", "text/html")])
            return [b"<html>502 Bad Gateway</html>"]
        start_response("200 OK", [("Content-Type", "application/json")])
        return answer


@pytest.fixture
def panel(empty_panel: tuple[str, str]) -> Iterator[Panel]:
    _kind, url = empty_panel
    make_bridge(url).close()  # the bridge's own tables first: hook rows need the inbox
    build_company(url)
    yield from open_panel(url)


def open_panel(url: str, **section: Any) -> Iterator[Panel]:
    clock_holder: dict[str, Bridge] = {}
    sandbox = LossyPanel(
        create_engine(url),
        identifier="ident",
        secret="api-s3cret",
        clock=lambda: clock_holder["bridge"].clock.panel_now(),
    )
    sandbox.lose = set()
    with sandbox:
        bridge = make_bridge(
            url,
            config={
                "panel": {"timezone": ZONE},
                "outbox": {"min_interval_per_recipient": 0},
                "plugins": {
                    "enabled": ["cancellations"],
                    "cancellations": {"technical_department": "soporte técnico", **section},
                },
                "api": {"url": sandbox.url, "identifier": "ident", "secret": "api-s3cret"},
            },
            now=local(DAY, 9, 0),
        )
        clock_holder["bridge"] = bridge
        try:
            yield Panel(url, sandbox, bridge)
        finally:
            bridge.close()


def set_clock(panel: Panel, day: date, hour: int, minute: int) -> None:
    panel.clock.current = local(day, hour, minute)


# -- the whole life of three requests ------------------------------------------------------------


def test_immediate_end_of_period_and_manual_requests(panel: Panel) -> None:
    """R-CA-7 both kinds, R-CA-2 invoices, R-CA-5 manual path, R-CA-6 held, R-CA-3 domain, the
    client told twice (R-CA-1..5), and nothing early or twice."""
    p = panel
    p.cycle()  # the watchers' baseline: installing the bridge tells nobody old news
    # Client area, End of Billing Period, in the morning; Immediate late at night (UTC: tomorrow).
    p.client_cancel(1, "End of Billing Period", D(2026, 12, 10, 10, 0))
    p.client_cancel(3, "Immediate", D(2026, 12, 10, 23, 50))
    # Through the API (not the client): held (R-CA-6). Its product has no module.
    p.bridge.api.add_cancel_request(2, type="Immediate", reason="pedido por teléfono")
    set_clock(p, DAY, 23, 55)
    p.cycle()

    # Immediate, made at 23:50 local: ended the same day in the panel's time zone.
    s3 = p.one(p.tables.hosting, 3)
    assert (s3.domainstatus, s3.termination_date) == ("Cancelled", DAY)
    assert p.row(3).state == "done" and p.row(3).end_date == DAY
    assert p.calls("ModuleTerminate") == 1
    # End of Billing Period: works until its date; renewal for after the end cancelled (R-CA-2).
    assert (p.row(1).state, p.row(1).end_date, p.row(1).origin) == ("waiting", DUE, "clientarea")
    assert p.one(p.tables.hosting, 1).domainstatus == "Active"
    assert p.one(p.tables.invoices, 11).status == "Cancelled"
    assert p.one(p.tables.invoices, 10).status == "Unpaid"  # the period in progress stays due
    assert p.row(1).domain_action == "renews"  # ask: the domain is never touched
    assert p.one(p.tables.domains, 1).donotrenew in (0, False)
    # Not the client: held, and the client is told that it will be confirmed.
    assert (p.row(2).state, p.row(2).origin) == ("confirm", "api")

    [received] = [m for m in p.messages("cancellation.received", 1) if "Inicial" in m["text"]]
    text = received["text"]
    assert received["language"] == "es_AR"
    assert received["subject"] == "Recibimos tu pedido de cancelación: Hosting Inicial"
    assert f"hasta el {DUE:%d/%m/%Y}" in text and DUE.isoformat() not in text
    for words in (
        "Fin del período de contratación",
        "Lo que ya pagaste no se reintegra",
        "Las facturas del período en curso siguen vigentes",
        "durante 10 años",
        "puede tener un costo adicional",
        "se borra todo del servidor (sitio, bases de datos, correo, FTP)",
        "contratar un servicio nuevo",
        "El dominio maria.com.ar no se cancela",
    ):
        assert words in text, words
    assert "R-CA" not in text
    [held] = [m for m in p.messages("cancellation.received", 1) if "Manual" in m["text"]]
    assert "lo vamos a confirmar con vos" in held["text"]
    assert "Una vez confirmado, el servicio se da de baja ese mismo día." in held["text"]
    assert "se da de baja hoy" not in held["text"]
    [english] = p.messages("cancellation.received", 2)
    assert "The service ends today, 10/12/2026." in english["text"]

    p.cycle()  # dispatches cancellation.completed of service 3
    [ended] = p.messages("cancellation.terminated", 2)
    assert ended["subject"] == "Service cancelled: Hosting Inicial"
    assert "ended on 10/12/2026" in ended["text"]
    assert "Nothing already paid is refunded" in ended["text"]

    # A renewal generated after the request: cancelled too; a shared invoice loses its line only.
    p.sql(*[])
    with p.bridge.panel.begin() as conn:
        invoice(conn, p.tables, 12, 1, [("Hosting", 1, DUE)], "Unpaid")
        invoice(conn, p.tables, 13, 1, [("Hosting", 1, DUE), ("Hosting", 2, DUE)], "Unpaid")
    set_clock(p, DAY + timedelta(days=1), 9, 0)
    p.cycle()
    assert p.one(p.tables.invoices, 12).status == "Cancelled"
    assert p.one(p.tables.invoices, 13).status == "Unpaid"
    with p.bridge.panel.connect() as conn:
        items = p.tables.invoiceitems
        left = conn.execute(select(items.c.relid).where(items.c.invoiceid == 13)).scalars().all()
    assert left == [2]

    # R-CA-6: staff confirm; the product has no module: a ticket lists what to delete (R-CA-5).
    from whmcs_bridge.plugins.cancellations import commands

    commands.confirm(p.bridge, p.row(2), None, "ana")
    assert p.row(2).end_date == DAY + timedelta(days=1)  # Immediate: the day it is confirmed
    p.cycle()
    row2 = p.row(2)
    assert row2.state == "manual" and row2.ticket_id
    ticket = p.one(p.tables.tickets, row2.ticket_id)
    assert ticket.did == 1 and ticket.userid == 1
    for words in ("el sitio", "las bases de datos", "las casillas de correo", "las cuentas FTP"):
        assert words in ticket.message
    assert p.calls("ModuleTerminate") == 1  # never tried on a product without a module
    commands.mark_done(p.bridge, 2)
    assert (p.row(2).state, p.one(p.tables.hosting, 2).domainstatus) == ("done", "Cancelled")

    # The day before the end, one minute to midnight (already the end date in UTC): untouched.
    set_clock(p, DUE - timedelta(days=1), 23, 59)
    p.cycle()
    assert p.one(p.tables.hosting, 1).domainstatus == "Active"
    assert p.row(1).state == "waiting"
    assert p.calls("ModuleTerminate") == 1
    # Its date: terminated, its addon ended, left Cancelled as WHMCS's own task leaves it.
    set_clock(p, DUE, 0, 1)
    p.cycle()
    s1 = p.one(p.tables.hosting, 1)
    assert (s1.domainstatus, s1.termination_date) == ("Cancelled", DUE)
    assert p.one(p.tables.hostingaddons, 1).status == "Cancelled"
    assert p.row(1).state == "done"
    p.cycle()
    p.cycle()
    assert p.calls("ModuleTerminate") == 2  # once per service, never twice
    [ended_es] = [m for m in p.messages("cancellation.terminated", 1) if "Inicial" in m["text"]]
    assert f"se dio de baja el {DUE:%d/%m/%Y}" in ended_es["text"]
    assert len(p.messages("cancellation.received", 1)) == 2  # one per request, never again


@pytest.fixture
def no_renew_panel(empty_panel: tuple[str, str]) -> Iterator[Panel]:
    _kind, url = empty_panel
    make_bridge(url).close()
    build_company(url)
    yield from open_panel(url, domains="no_renew")


def test_lost_answer_whmcs_task_void_domains_and_doctor(no_renew_panel: Panel) -> None:
    """A lost terminate answer (issue 13 point 10), WHMCS's own task first, the domain set not
    to renew (R-CA-3), a held request confirmed by the owner's ticket (R-CA-6), void with its
    activity line, and doctor on WHMCS's settings (R-CA-2)."""
    p = no_renew_panel
    p.cycle()
    from whmcs_bridge.plugins.cancellations import commands

    # A lost ModuleTerminate answer: unknown; the next cycle reads the status, never repeats.
    p.sandbox.lose = {"ModuleTerminate"}
    p.client_cancel(3, "Immediate", D(2026, 12, 10, 9, 0))
    p.cycle()
    assert p.row(3).state == "unknown"
    assert p.one(p.tables.hosting, 3).domainstatus == "Terminated"  # it did run in the panel
    p.sandbox.lose = set()
    p.cycle()
    assert p.row(3).state == "done"
    assert p.one(p.tables.hosting, 3).domainstatus == "Cancelled"
    assert p.calls("ModuleTerminate") == 1

    # WHMCS's own daily task ends an End of Billing Period request on its date: recorded done.
    p.client_cancel(1, "End of Billing Period", D(2026, 12, 10, 9, 5))
    p.cycle()
    assert p.row(1).domain_action == "no_renew"
    domain = p.one(p.tables.domains, 1)
    assert domain.donotrenew in (1, True) and domain.status == "Active"  # never cancelled
    [told] = p.messages("cancellation.received", 1)
    assert "lo marcamos para que no se renueve" in told["text"]
    set_clock(p, DUE, 8, 0)
    with p.sandbox.engine.begin() as conn:
        assert daily_cancellation_task(conn, p.sandbox.tables, DUE) == [1]
    p.cycle()
    assert p.row(1).state == "done" and "ended by WHMCS" in p.row(1).note
    assert p.calls("ModuleTerminate") == 1
    set_clock(p, DAY, 12, 0)

    # R-CA-6: made through the API for John; a ticket from another address does not confirm it,
    # one from the owner's registered e-mail does. (Service 3 ended above: use a new one.)
    with p.bridge.panel.begin() as conn:
        add(
            conn,
            p.tables.hosting,
            id=4,
            userid=2,
            packageid=1,
            domain="shop.example.com",
            domainstatus="Active",
            billingcycle="Monthly",
            amount=100,
            nextduedate=DUE,
            nextinvoicedate=DUE,
            regdate=DAY,
            paymentmethod="mp",
            username="user4",
        )
    p.bridge.api.add_cancel_request(4, type="Immediate", reason="por teléfono")
    p.cycle()
    assert p.row(4).state == "confirm"
    stranger = p.bridge.api.open_ticket(1, "Cancel", "please", name="X", email="x@example.net")
    owner = p.bridge.api.open_ticket(1, "Cancel shop", "yes, cancel it", client_id=2)
    with pytest.raises(BridgeError, match="not sent from the owner's registered e-mail"):
        commands.confirm(p.bridge, p.row(4), stranger.id, "ana")
    commands.confirm(p.bridge, p.row(4), owner.id, "ana")
    assert p.row(4).state == "due" and owner.tid in p.row(4).note
    p.cycle()
    assert p.row(4).state == "done" and p.calls("ModuleTerminate") == 2

    # void: the request withdrawn before it takes effect; its WHMCS row deleted and logged.
    p.bridge.api.add_cancel_request(2, reason="me arrepentí")
    p.cycle()
    row = p.row(2)
    assert row.state == "confirm"
    commands.void(p.bridge, row, "ana")
    assert p.row(2).state == "void"
    with p.bridge.panel.connect() as conn:
        r = p.tables.cancelrequests
        assert conn.execute(select(r.c.id).where(r.c.relid == 2)).first() is None
        log = p.tables.activitylog
        lines = conn.execute(select(log.c.description, log.c.user)).all()
    assert "Cancellation Request Withdrawn - Service ID: 2" in lines[-1].description
    assert lines[-1].user == "ana"
    p.cycle()
    assert p.row(2).state == "void" and p.one(p.tables.hosting, 2).domainstatus == "Active"

    checks = {
        c.name: c for found in p.bridge.hook.bridge_doctor_checks(bridge=p.bridge) for c in found
    }
    assert checks["plugin cancellations: API"].ok
    assert checks["plugin cancellations: CancelInvoiceOnCancellation"].ok
    assert checks["plugin cancellations: technical department"].ok
    p.sql(
        update(p.tables.configuration)
        .where(p.tables.configuration.c.setting == "CancelInvoiceOnCancellation")
        .values(value="on")
    )
    bad = {c.name: c for c in plugin_checks(p.bridge)}[
        "plugin cancellations: CancelInvoiceOnCancellation"
    ]
    assert not bad.ok and "Cancel Invoice on Cancellation Request" in bad.detail


# -- SQLite only: settings, catch-up, a dead run's claim, the CLI --------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    from whmcs_bridge.testing.bridges import sqlite_panel

    url = sqlite_panel(tmp_path / "panel.sqlite", seed=False)
    make_bridge(url).close()
    build_company(url)
    return url


def test_settings_defaults_and_each_bad_key_named() -> None:
    from whmcs_bridge.plugins.cancellations.settings import parse_settings

    default = parse_settings({})
    assert (default.domains, default.require_client_origin) == ("ask", True)
    assert default.template_received == "cancelacion_recibida"
    for section, key in (
        ({"domain": "ask"}, "plugins.cancellations.domain:"),
        ({"domains": "never"}, "plugins.cancellations.domains:"),
        ({"require_client_origin": "yes"}, "plugins.cancellations.require_client_origin:"),
        ({"template_received": "Cancelación"}, "plugins.cancellations.template_received:"),
        ({"technical_department": True}, "plugins.cancellations.technical_department:"),
    ):
        with pytest.raises(ValueError, match=key):
            parse_settings(section)
    import tomllib
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "config" / "bridge.example.toml"
    section = tomllib.loads(example.read_text(encoding="utf-8"))["plugins"]["cancellations"]
    assert parse_settings(section).technical_department == "Soporte Técnico"
    import click
    from whmcs_bridge.plugins.cancellations import bridge_migrations, bridge_register_commands

    [step] = bridge_migrations()
    assert step.version == 1
    group = click.Group()
    bridge_register_commands(cli=group)
    assert sorted(group.commands["cancellations"].commands) == [
        "confirm",
        "done",
        "list",
        "no-renew",
        "show",
        "void",
    ]


def test_requests_from_before_the_bridge_and_the_clients_own_tick(sqlite_url: str) -> None:
    """A request already in the panel when the bridge is installed is taken in by the catch-up
    read (origin unknown: held); the client area's "do not renew" tick is reported, not redone;
    ``domains = "leave"`` never touches a domain."""
    for p in open_panel(sqlite_url, domains="leave"):
        p.client_cancel(1, "End of Billing Period", D(2026, 12, 9, 9, 0), no_renew_domain=True)
        p.sql(delete(inbox))  # made before the hook file was installed
        p.cycle()  # baseline: no event for the old request, the catch-up finds it
        row = p.row(1)
        assert (row.state, row.origin, row.event_id) == ("confirm", "unknown", None)
        assert p.messages("cancellation.received", 1) == []
        # Without the hook file the watcher reports a new request: origin unknown, held, told.
        p.bridge.api.call("UpdateClientProduct", {"serviceid": 2, "status": "Active"})
        p.client_cancel(2, "Immediate", D(2026, 12, 10, 9, 30))
        p.sql(delete(inbox))
        p.cycle()
        assert (p.row(2).state, p.row(2).origin) == ("confirm", "unknown")
        [told] = p.messages("cancellation.received", 1)
        assert "lo vamos a confirmar con vos" in told["text"]
        p.client_cancel(3, "End of Billing Period", D(2026, 12, 10, 9, 0))
        p.cycle()
        assert p.row(3).state == "waiting" and p.row(3).domain_action == "none"
        from whmcs_bridge.plugins.cancellations import commands

        commands.confirm(p.bridge, p.row(1), None, "ana")
        assert p.row(1).domain_action == "client"  # the client ticked it: said, not redone
        assert p.calls("UpdateClientDomain") == 0


def test_a_claim_left_by_a_dead_run_is_settled_by_the_status(sqlite_url: str) -> None:
    """``terminating`` with no answer recorded (a run died around ModuleTerminate): nothing is
    sent again while the panel may still be working on it; a service still active after that is
    terminated, once."""
    from whmcs_bridge.plugins.cancellations import intake

    from whmcs_bridge.panel.queries.cancellations import service_cancel_request

    for p in open_panel(sqlite_url):
        p.cycle()
        p.client_cancel(3, "Immediate", D(2026, 12, 10, 8, 0))
        with p.bridge.panel.connect() as conn:
            request = service_cancel_request(conn, p.tables, 3)
        intake.take_in(p.bridge, request, "clientarea")
        claimed = p.bridge.clock.panel_now() - timedelta(minutes=5)
        p.sql(update(cancel_t).values(state="terminating", state_at=claimed))
        p.cycle()
        assert (p.row(3).state, p.calls("ModuleTerminate")) == ("terminating", 0)
        p.clock.advance(minutes=6)
        p.cycle()  # the claim is 11 minutes old and the service still Active: due again
        assert p.row(3).state == "due" and "did not take effect" in p.row(3).note
        p.cycle()
        p.cycle()
        assert (p.row(3).state, p.calls("ModuleTerminate")) == ("done", 1)
        # The same for the manual path: a run died around OpenTicket; no second ticket.
        p.client_cancel(2, "Immediate", D(2026, 12, 10, 9, 30))
        with p.bridge.panel.connect() as conn:
            request = service_cancel_request(conn, p.tables, 2)
        intake.take_in(p.bridge, request, "clientarea")
        stale = p.bridge.clock.panel_now() - timedelta(minutes=11)
        p.sql(
            update(cancel_t)
            .where(cancel_t.c.service_id == 2)
            .values(state="terminating", state_at=stale)
        )
        p.cycle()
        assert p.row(2).state == "manual" and "none is opened again" in p.row(2).note
        assert p.calls("OpenTicket") == 0


def run_cli(config: Any, *args: str) -> Any:
    return run_bridge(config, "cancellations", *args)


def test_cli_list_show_and_refusals(sqlite_url: str, tmp_path: Any) -> None:
    for p in open_panel(sqlite_url):
        p.cycle()
        p.client_cancel(1, "End of Billing Period", D(2026, 12, 10, 10, 0))
        p.cycle()
        config = tmp_path / "bridge.toml"
        config.write_text(
            f'[panel]\ndatabase_url = "{sqlite_url}"\ntimezone = "{ZONE}"\n'
            '[plugins]\nenabled = ["cancellations"]\n'
        )

        listed = run_cli(config, "list", "--json")
        assert listed.returncode == 0, listed.stderr
        [one] = json.loads(listed.stdout)
        assert one == {
            "id": 1,
            "service_id": 1,
            "client_id": 1,
            "type": "End of Billing Period",
            "state": "waiting",
            "end_date": DUE.isoformat(),
            "reason": "Ya no lo uso",
        }
        shown = run_cli(config, "show", "--id", "1", "--json")
        assert json.loads(shown.stdout)["origin"] == "clientarea"
        missing = run_cli(config, "show", "--id", "99")
        assert missing.returncode == 1 and "Traceback" not in missing.stderr
        assert (
            missing.stderr.strip()
            == "error: no cancellation request #99 (see `cancellations list`)"
        )
        refused = run_cli(config, "done", "--service", "1")
        assert refused.returncode == 1
        assert "has no cancellation waiting for staff" in refused.stderr
        grants = p.bridge.hook.bridge_db_grants(bridge=p.bridge)
        assert [(g.table, g.privileges) for found in grants for g in found] == [
            ("tblcancelrequests", ("DELETE",)),
            ("tblactivitylog", ("INSERT",)),
        ]


@pytest.mark.mariadb
def test_void_with_exactly_the_granted_rights(tmp_path: Any, mariadb_84: str) -> None:
    """``db grants`` names what ``cancellations void`` needs (DELETE on tblcancelrequests,
    INSERT on tblactivitylog) and nothing more: a user with only those lines runs a cycle and
    withdraws a request, and still cannot delete a service."""
    import secrets

    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError, ProgrammingError

    url = mariadb_84
    make_bridge(url).close()
    build_company(url)
    root = create_engine(url)
    sandbox = SandboxPanel(create_engine(url), identifier="ident", secret="api-s3cret")
    with sandbox:
        common = (
            '[plugins]\nenabled = ["cancellations"]\n'
            f'[api]\nurl = "{sandbox.url}"\nidentifier = "ident"\nsecret = "api-s3cret"\n'
        )
        admin = tmp_path / "admin.toml"
        admin.write_text(f'[panel]\ndatabase_url = "{url}"\n{common}')
        upgraded = run_bridge(admin, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        user, password = f"wbca_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
        account = f"'{user}'@'%'"
        grants = run_bridge(admin, "db", "grants", "--user", account)
        assert grants.returncode == 0, grants.stderr
        assert "GRANT DELETE ON" in grants.stdout and "`tblcancelrequests`" in grants.stdout
        assert "GRANT INSERT ON" in grants.stdout and "`tblactivitylog`" in grants.stdout
        with root.begin() as conn:
            conn.execute(text(f"CREATE USER {account} IDENTIFIED BY '{password}'"))
            for line in grants.stdout.strip().splitlines():
                conn.execute(text(line))
            client_area_cancel(
                conn,
                PanelTables.from_database(root),
                1,
                "End of Billing Period",
                "Me mudo",
                D(2026, 12, 10, 10, 0),
            )
        try:
            restricted = make_url(url).set(username=user, password=password)
            config = tmp_path / "bridge.toml"
            config.write_text(
                f'[panel]\ndatabase_url = "{restricted.render_as_string(hide_password=False)}"\n'
                f"{common}"
            )
            cycle = run_bridge(config, "run")
            assert cycle.returncode == 0, cycle.stdout + cycle.stderr
            voided = run_cli(config, "void", "--id", "1", "--by", "ana", "--json")
            assert voided.returncode == 0, voided.stderr
            assert json.loads(voided.stdout)["state"] == "void"
            with root.connect() as conn:
                assert conn.execute(text("SELECT COUNT(*) FROM tblcancelrequests")).scalar() == 0
                line = conn.execute(
                    text("SELECT description, user FROM tblactivitylog ORDER BY id DESC LIMIT 1")
                ).first()
            assert line is not None and line.user == "ana"
            assert line.description.startswith("Cancellation Request Withdrawn - Service ID: 1")
            engine = create_engine(restricted)
            with pytest.raises((OperationalError, ProgrammingError)), engine.begin() as conn:
                conn.execute(text("DELETE FROM tblhosting WHERE id = 1"))
            engine.dispose()
        finally:
            with root.begin() as conn:
                conn.execute(text(f"DROP USER {account}"))
            root.dispose()


def run_bridge(config: Any, *args: str) -> Any:
    import subprocess
    import sys
    from pathlib import Path

    return subprocess.run(
        [sys.executable, "-m", "whmcs_bridge", "--config", str(config), *args],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_overdue_service_ends_at_once_and_its_unpaid_period_stays_due(sqlite_url: str) -> None:
    """End of Billing Period whose date has passed (the service is overdue): carried out at
    once; the unpaid invoice of the period it is in stays due (R-CA-2), not taken for a renewal."""
    for p in open_panel(sqlite_url):
        overdue = DAY - timedelta(days=5)
        p.sql(
            update(p.tables.hosting).where(p.tables.hosting.c.id == 3).values(nextduedate=overdue)
        )
        with p.bridge.panel.begin() as conn:
            invoice(conn, p.tables, 20, 2, [("Hosting", 3, overdue)], "Unpaid")
        p.cycle()
        p.client_cancel(3, "End of Billing Period", D(2026, 12, 10, 11, 0))
        p.cycle()
        assert (p.row(3).state, p.row(3).end_date) == ("done", overdue)
        assert p.one(p.tables.hosting, 3).domainstatus == "Cancelled"
        assert p.one(p.tables.invoices, 20).status == "Unpaid"


def test_a_terminate_the_module_refuses_is_failed_until_staff_act(sqlite_url: str) -> None:
    """ModuleTerminate refused by the module (its own error text): ``failed`` with the reason,
    never retried on its own; ``done --service`` after staff deleted the account."""
    from whmcs_bridge.plugins.cancellations import commands

    for p in open_panel(sqlite_url):
        p.cycle()
        p.sandbox.refuse = {"ModuleTerminate": "cPanel: Could not connect to the server"}
        p.client_cancel(3, "Immediate", D(2026, 12, 10, 9, 0))
        p.cycle()
        row = p.row(3)
        assert row.state == "failed" and "Could not connect to the server" in row.note
        p.cycle()
        assert (
            p.calls("ModuleTerminate") == 1 and p.one(p.tables.hosting, 3).domainstatus == "Active"
        )
        commands.mark_done(p.bridge, 3)
        assert (p.row(3).state, p.one(p.tables.hosting, 3).domainstatus) == ("done", "Cancelled")
