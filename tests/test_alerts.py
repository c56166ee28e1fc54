"""The alerts plugin (R-AL-1, R-AL-2, R-CT-2): each of the eleven events, from a panel change
made as WHMCS makes it to the message queued, on SQLite and on the stock WHMCS 8.4 schema."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, delete, insert, select, update
from whmcs_bridge.plugins.alerts import settings as alert_settings

from whmcs_bridge import hookimpl
from whmcs_bridge.bridge import Bridge
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.events.catalog import ALERT_EVENTS
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.phones import normalise_phone
from whmcs_bridge.sandbox.hook_rows import write_hook_row
from whmcs_bridge.sandbox.seed import SETTINGS, seed_panel
from whmcs_bridge.store.tables import outcomes as outcomes_t
from whmcs_bridge.testing.bridges import make_bridge, utc

TODAY = date(2026, 11, 26)
NOW = utc(2026, 11, 26, 15, 0)  # 12:00 in Buenos Aires
URL = "https://clientes.hostingpatagonia.com.ar/"
ALERTS = {"plugins": {"enabled": ["alerts"]}}


class RecordingOutbox:
    """Stands in for ``bridge.outbox``: records enqueue calls, one per (event, key, channel)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def enqueue(self, **call: Any) -> int | None:
        key = (call["event_id"], call["recipient_key"], call["channel"])
        if any((c["event_id"], c["recipient_key"], c["channel"]) == key for c in self.calls):
            return None
        self.calls.append(call)
        return len(self.calls)

    def deliver_due(self) -> Any:
        return _NothingDelivered()

    def of(self, event: str, key: str | None = None) -> list[dict[str, Any]]:
        return [
            c
            for c in self.calls
            if c["message"]["event"] == event and (key is None or c["recipient_key"] == key)
        ]


class _NothingDelivered:
    def as_dict(self) -> dict[str, Any]:
        return {}


def recording(bridge: Bridge) -> RecordingOutbox:
    box = RecordingOutbox()
    bridge.__dict__["outbox"] = box  # Bridge.outbox is a cached_property
    return box


@pytest.fixture
def panel(demo_panel: str) -> str:
    return demo_panel


def alerts_bridge(url: str, section: dict[str, Any] | None = None, now: datetime = NOW) -> Bridge:
    config: dict[str, Any] = {"plugins": {"enabled": ["alerts"]}}
    if section is not None:
        config["plugins"]["alerts"] = section
    return make_bridge(url, config=config, now=now)


def sql(bridge: Bridge, change: Callable[[Connection, Any], None]) -> None:
    with bridge.panel.begin() as conn:
        change(conn, bridge.panel.tables)


# --- the eleven events: the change WHMCS makes, and the message the client gets ---------------
def _client_added(conn: Connection, t: Any) -> None:
    conn.execute(
        insert(t.clients).values(
            **blank_row(
                t.clients,
                id=6,
                firstname="Ana",
                lastname="López",
                email="ana.lopez@example.com.ar",
                country="AR",
                phonenumber="+54.1155551234",
                currency=1,
                language="spanish",
                status="Active",
                datecreated=TODAY,
            )
        )
    )


def _invoice_created(conn: Connection, t: Any) -> None:
    conn.execute(
        insert(t.invoices).values(
            **blank_row(
                t.invoices,
                id=7,
                userid=1,
                invoicenum="A-00007",
                date=TODAY,
                duedate=date(2026, 12, 6),
                subtotal="1234.56",
                total="1234.56",
                status="Unpaid",
                paymentmethod="mercadopago",
            )
        )
    )


def _set(table: str, row_id: int, **values: Any) -> Callable[[Connection, Any], None]:
    def change(conn: Connection, t: Any) -> None:
        target = t[table]
        conn.execute(update(target).where(target.c.id == row_id).values(**values))

    return change


def _domain_deleted(conn: Connection, t: Any) -> None:
    conn.execute(delete(t.domains).where(t.domains.c.id == 1))


SIGN_IN = f"{URL}clientarea.php"
# event -> (change, client key, E.164 to, template, params, button suffix, exact text)
CASES: dict[str, tuple[Any, ...]] = {
    "client.added": (
        _client_added,
        "client:6",
        "+5491155551234",
        "cuenta_creada",
        ["Ana", "ana.lopez@example.com.ar"],
        None,
        "Hola Ana, ¡te damos la bienvenida a Hosting Patagonia SRL! Tu cuenta quedó creada con el"
        f" e-mail ana.lopez@example.com.ar.\nPodés ingresar al área de clientes acá: {SIGN_IN}",
    ),
    "client.password_changed": (
        _set("users", 1, password="$2y$10$anotherhashanotherhashanotherhashanoth"),
        "client:1",
        "+5492994123456",
        "alerta_cambio_clave",
        ["María", "26/11/2026 12:00"],
        None,
        "Hola María, te avisamos que la contraseña de tu cuenta se cambió el 26/11/2026 a las"
        " 12:00.\nSi fuiste vos, no tenés que hacer nada. Si no fuiste vos, restablecela ya desde"
        f" {SIGN_IN} y escribinos de inmediato.",
    ),
    "invoice.created": (
        _invoice_created,
        "client:1",
        "+5492994123456",
        "factura_generada",
        ["María", "A-00007", "$1.234,56 ARS", "06/12/2026"],
        "7",
        "Hola María, generamos tu factura A-00007 por $1.234,56 ARS, con vencimiento el"
        f" 06/12/2026.\nPodés verla y pagarla acá: {URL}viewinvoice.php?id=7",
    ),
    "client.details_changed": (
        _set("clients", 3, address1="Bv. Oroño 456"),
        "client:3",
        "+5493415550101",
        "datos_actualizados",
        ["Lucía", "26/11/2026 12:00"],
        None,
        "Hola Lucía, te avisamos que los datos de tu cuenta se modificaron el 26/11/2026 a las"
        " 12:00.\nSi no reconocés este cambio, escribinos de inmediato desde el área de clientes:"
        f" {SIGN_IN}",
    ),
    "invoice.cancelled": (
        _set("invoices", 3, status="Cancelled"),
        "client:3",
        "+5493415550101",
        "factura_cancelada",
        ["Lucía", "A-00003", "$100,00 ARS"],
        "3",
        "Hola Lucía, la factura A-00003 por $100,00 ARS fue anulada: ya no tenés que pagarla."
        f"\nPodés verla acá: {URL}viewinvoice.php?id=3\nSi tenés alguna duda, escribinos"
        " desde el área de clientes.",
    ),
    "invoice.paid": (
        _set("invoices", 4, status="Paid", datepaid=datetime(2026, 11, 26, 11, 58)),
        "client:4",
        "+5492615443322",
        "factura_pagada",
        ["Carlos", "A-00004", "$30,00 ARS"],
        "4",
        "Hola Carlos, recibimos el pago de tu factura A-00004 por $30,00 ARS. ¡Gracias!\nPodés"
        f" ver el comprobante acá: {URL}viewinvoice.php?id=4",
    ),
    "service.suspended": (
        _set("hosting", 1, domainstatus="Suspended"),
        "client:1",
        "+5492994123456",
        "servicio_suspendido",
        ["María", "Hosting Inicial", "mariagonzalez.com.ar"],
        None,
        "Hola María, tu servicio Hosting Inicial (mariagonzalez.com.ar) fue suspendido por falta"
        " de pago.\nAl pagar las facturas vencidas el servicio se reactiva solo. Ante cualquier"
        f" duda, escribinos desde el área de clientes: {SIGN_IN}",
    ),
    "service.reactivated": (
        _set("hosting", 3, domainstatus="Active"),
        "client:3",
        "+5493415550101",
        "servicio_reactivado",
        ["Lucía", "Hosting Inicial", "laespiga.com.ar"],
        None,
        "Hola Lucía, ¡buenas noticias! Tu servicio Hosting Inicial (laespiga.com.ar) ya está"
        " activo nuevamente.",
    ),
    "service.terminated": (
        _set("hosting", 2, domainstatus="Terminated"),
        "client:2",
        "+5493514987654",
        "servicio_terminado",
        ["Juan Pablo", "Hosting Avanzado", "estudiofernandez.com.ar"],
        None,
        "Hola Juan Pablo, tu servicio Hosting Avanzado (estudiofernandez.com.ar) fue dado de"
        " baja.\nSi querés volver a contratarlo o creés que es un error, escribinos desde el área"
        f" de clientes: {SIGN_IN}",
    ),
    "quote.available": (
        _set("quotes", 1, stage="Delivered"),
        "client:2",
        "+5493514987654",
        "presupuesto_disponible",
        ["Juan Pablo", "1", "Migración de sitio y casillas", "$80,00 ARS", "11/12/2026"],
        None,
        "Hola Juan Pablo, te preparamos el presupuesto #1 (Migración de sitio y casillas) por"
        " $80,00 ARS, válido hasta el 11/12/2026.\nPodés verlo y aceptarlo acá:"
        f" {URL}viewquote.php?id=1",
    ),
    "domain.deleted": (
        _domain_deleted,
        "client:1",
        "+5492994123456",
        "dominio_eliminado",
        ["María", "mariagonzalez.com.ar"],
        None,
        "Hola María, el dominio mariagonzalez.com.ar fue eliminado de tu cuenta y ya no figura en"
        f" nuestro sistema.\nSi no lo esperabas, escribinos desde el área de clientes: {SIGN_IN}",
    ),
}


def test_cases_cover_the_eleven_events() -> None:
    assert list(CASES) == list(ALERT_EVENTS)


def check_case(box: RecordingOutbox, event: str) -> None:
    _change, key, to, template, params, suffix, text = CASES[event]
    (call,) = [c for c in box.of(event, key) if c["channel"] == "whatsapp"]
    assert call["recipient"] == to
    assert call["client_id"] == int(key.split(":")[1])
    assert call["not_before"] is None
    message = call["message"]
    assert message["template"] == template
    assert message["template_language"] == "es_AR"
    assert message["language"] == "es_AR"
    assert message["params"] == params
    assert message["button_url_suffix"] == suffix
    assert message["text"] == text
    assert call["fallback"] == {"channel": "email", "recipient": key[7:], "message": message}


@pytest.mark.parametrize("event", list(CASES))
def test_each_event_queues_its_spanish_message(panel: str, event: str) -> None:
    bridge = alerts_bridge(panel)
    box = recording(bridge)
    run_cycle(bridge)  # baseline: installing the bridge tells nobody old news
    assert box.calls == []
    sql(bridge, CASES[event][0])
    report = run_cycle(bridge)
    assert report.ok, report.errors
    check_case(box, event)
    run_cycle(bridge)  # nothing twice
    assert len(box.of(event, CASES[event][1])) == 1


def _seed_mariadb(url: str) -> None:
    bridge = make_bridge(url, create_tables=False)
    t = bridge.panel.tables
    with bridge.panel.engine.begin() as conn:
        # The stock dump ships settings and a USD currency; the sample company brings its own.
        conn.execute(delete(t.configuration).where(t.configuration.c.setting.in_(SETTINGS)))
        conn.execute(delete(t.currencies))
        seed_panel(conn, TODAY)  # every row through blank_row, as WHMCS's sql_mode='' fills it
    bridge.close()


@pytest.mark.mariadb
def test_all_eleven_events_on_whmcs_84(mariadb_84: str) -> None:
    _seed_mariadb(mariadb_84)
    bridge = alerts_bridge(mariadb_84)
    box = recording(bridge)
    run_cycle(bridge)
    for event in CASES:
        sql(bridge, CASES[event][0])
    report = run_cycle(bridge)
    assert report.ok, report.errors
    for event in CASES:
        check_case(box, event)
    bridge.close()


def test_other_events_are_skipped(panel: str) -> None:
    bridge = alerts_bridge(panel)
    recording(bridge)
    run_cycle(bridge)
    with bridge.panel.begin() as conn:
        write_hook_row(
            conn, "ContactAdd", {"client_id": 2, "contactid": 1}, bridge.clock.panel_now()
        )
    run_cycle(bridge)
    assert outcome_statuses(bridge) == [("contact.added", "skipped", "")]


def outcome_statuses(bridge: Bridge) -> list[tuple[str, str, str]]:
    from whmcs_bridge.store.tables import events as events_t

    with bridge.panel.connect() as conn:
        rows = conn.execute(
            select(events_t.c.name, outcomes_t.c.status, outcomes_t.c.detail)
            .join(outcomes_t, outcomes_t.c.event_id == events_t.c.id)
            .where(outcomes_t.c.plugin == "alerts")
            .order_by(events_t.c.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


# --- recipients ---------------------------------------------------------------------------------
def test_service_owner_is_read_from_the_service_not_the_event(panel: str) -> None:
    """Regression: the hook says client 1, but service 3 belongs to client 3 now."""
    bridge = alerts_bridge(panel)
    box = recording(bridge)
    run_cycle(bridge)
    with bridge.panel.begin() as conn:
        values = {"serviceid": 3, "client_id": 1, "pid": 1, "suspendreason": "Overdue"}
        write_hook_row(conn, "AfterModuleSuspend", values, bridge.clock.panel_now())
    run_cycle(bridge)
    (call,) = box.of("service.suspended")
    assert call["recipient_key"] == "client:3"
    assert call["client_id"] == 3
    assert call["recipient"] == "+5493415550101"
    assert call["message"]["params"] == ["Lucía", "Hosting Inicial", "laespiga.com.ar"]


def test_invalid_phone_goes_by_email_and_is_recorded(
    panel: str, caplog: pytest.LogCaptureFixture
) -> None:
    bridge = alerts_bridge(panel)
    box = recording(bridge)
    sql(bridge, _set("clients", 4, phonenumber="12345"))
    run_cycle(bridge)
    sql(bridge, CASES["invoice.paid"][0])
    with caplog.at_level(logging.WARNING, logger="whmcs_bridge.plugins.alerts"):
        run_cycle(bridge)
    (call,) = box.of("invoice.paid")
    assert (call["channel"], call["recipient"], call["fallback"]) == ("email", "4", None)
    assert call["message"]["text"] == CASES["invoice.paid"][6]
    note = dict((name, detail) for name, _status, detail in outcome_statuses(bridge))
    assert (
        "client:4: phone '12345' not usable (not a valid number for its country)"
        in note["invoice.paid"]
    )
    assert "sent by e-mail instead" in note["invoice.paid"]
    assert "client:4 phone '12345': not a valid number for its country" in caplog.text


def test_contact_with_invoice_emails_gets_invoices_not_services(panel: str) -> None:
    bridge = alerts_bridge(panel)
    box = recording(bridge)
    run_cycle(bridge)
    sql(bridge, _set("invoices", 2, status="Unpaid"))  # not an alert by itself: no transition seen
    sql(bridge, CASES["service.terminated"][0])
    sql(bridge, CASES["quote.available"][0])
    with bridge.panel.begin() as conn:
        write_hook_row(conn, "InvoicePaid", {"invoiceid": 2}, bridge.clock.panel_now())
    run_cycle(bridge)
    keys = {(c["message"]["event"], c["recipient_key"]) for c in box.calls}
    assert ("invoice.paid", "contact:1") in keys
    assert ("invoice.paid", "client:2") in keys
    assert ("service.terminated", "contact:1") not in keys
    assert ("quote.available", "contact:1") not in keys  # generalemails = 0
    (sofia,) = box.of("invoice.paid", "contact:1")
    assert sofia["recipient"] == "+5493514000111"
    assert sofia["fallback"] is None  # WHMCS already copies her its own invoice e-mail
    # Issue 9 point 6: written to a contact of the account, about the account, never "your".
    message = sofia["message"]
    assert message["template"] == "factura_pagada_contacto"
    assert message["params"] == ["Sofía", "Estudio Fernández", "A-00002", "$150,00 ARS"]
    assert message["text"].startswith(
        "Hola Sofía, te escribimos como contacto de la cuenta de Estudio Fernández: recibimos el"
        " pago de la factura A-00002"
    )
    assert "tu factura" not in message["text"]


def _invoice_paid_for_client_2(bridge: Bridge) -> None:
    with bridge.panel.begin() as conn:
        write_hook_row(conn, "InvoicePaid", {"invoiceid": 2}, bridge.clock.panel_now())
    run_cycle(bridge)


def test_contact_sharing_the_clients_phone_gets_one_whatsapp(panel: str) -> None:
    bridge = alerts_bridge(panel)
    box = recording(bridge)
    run_cycle(bridge)
    with bridge.panel.connect() as conn:
        clients = bridge.panel.tables.clients
        phone, country = conn.execute(
            select(clients.c.phonenumber, clients.c.country).where(clients.c.id == 2)
        ).one()
    sql(bridge, _set("contacts", 1, phonenumber=phone, country=country))
    _invoice_paid_for_client_2(bridge)
    whatsapp = [c for c in box.of("invoice.paid") if c["channel"] == "whatsapp"]
    assert [c["recipient_key"] for c in whatsapp] == ["client:2"]
    notes = {name: detail for name, _status, detail in outcome_statuses(bridge)}
    assert "contact:1: same phone as client:2" in notes["invoice.paid"]


def test_require_opt_in_gives_contacts_no_whatsapp_on_the_clients_opt_in(panel: str) -> None:
    from whmcs_bridge.plugins.alerts.preferences import OPT_IN, record

    bridge = alerts_bridge(panel, {"require_opt_in": True})
    box = recording(bridge)
    run_cycle(bridge)
    with bridge.panel.begin() as conn:
        record(conn, 2, OPT_IN, None, "test", bridge.clock.panel_now())
    _invoice_paid_for_client_2(bridge)
    assert [(c["recipient_key"], c["channel"]) for c in box.of("invoice.paid")] == [
        ("client:2", "whatsapp")
    ]
    notes = {name: detail for name, _status, detail in outcome_statuses(bridge)}
    assert "contact:1: contacts have no WhatsApp opt-in of their own" in notes["invoice.paid"]


def test_contacts_can_be_turned_off(panel: str) -> None:
    bridge = alerts_bridge(panel, {"contacts": False})
    box = recording(bridge)
    run_cycle(bridge)
    with bridge.panel.begin() as conn:
        write_hook_row(conn, "InvoicePaid", {"invoiceid": 2}, bridge.clock.panel_now())
    run_cycle(bridge)
    assert [c["recipient_key"] for c in box.calls] == ["client:2"]


def test_english_client_gets_english_text(panel: str) -> None:
    bridge = alerts_bridge(panel)
    box = recording(bridge)
    run_cycle(bridge)
    sql(bridge, _set("hosting", 6, domainstatus="Suspended"))
    run_cycle(bridge)
    (call,) = box.of("service.suspended")
    assert call["recipient"] == "+5492944112233"
    message = call["message"]
    assert (message["language"], message["template_language"]) == ("en", "en")
    assert message["template"] == "servicio_suspendido"
    # Issue 9 point 15: not approved in English (132001), the event's Spanish goes instead.
    assert message["template_fallback_language"] == "es_AR"
    assert message["text"] == (
        "Hi Emily, your service Hosting Avanzado (carterdesign.com) has been suspended for"
        " non-payment.\nPaying the overdue invoices reactivates it automatically. If you have"
        f" any questions, contact us from the client area: {SIGN_IN}"
    )
    assert message["subject"] == "Service suspended: Hosting Avanzado"


# --- preferences, quiet hours, channels -----------------------------------------------------------
def test_opt_out_all_and_per_event(panel: str) -> None:
    from whmcs_bridge.plugins.alerts.preferences import OPT_OUT, read_prefs, record

    bridge = alerts_bridge(panel)
    box = recording(bridge)
    run_cycle(bridge)
    at = bridge.clock.panel_now()
    with bridge.panel.begin() as conn:
        record(conn, 4, OPT_OUT, "invoice.paid", "test", at)
        record(conn, 3, OPT_OUT, None, "test", at)
        assert read_prefs(conn, 4).allows("invoice.created")
    sql(bridge, CASES["invoice.paid"][0])
    sql(bridge, CASES["invoice.cancelled"][0])  # client 3
    sql(bridge, _set("hosting", 4, domainstatus="Suspended"))  # client 4, another event
    run_cycle(bridge)
    assert [(c["message"]["event"], c["recipient_key"]) for c in box.calls] == [
        ("service.suspended", "client:4")
    ]
    notes = {name: detail for name, _status, detail in outcome_statuses(bridge)}
    assert "client 4 opted out of invoice.paid" in notes["invoice.paid"]
    assert "client 3 opted out of invoice.cancelled" in notes["invoice.cancelled"]


def test_require_opt_in_sends_by_email_until_opted_in(panel: str) -> None:
    from whmcs_bridge.plugins.alerts.preferences import OPT_IN, record

    bridge = alerts_bridge(panel, {"require_opt_in": True})
    box = recording(bridge)
    run_cycle(bridge)
    with bridge.panel.begin() as conn:
        record(conn, 1, OPT_IN, None, "test", bridge.clock.panel_now())
    sql(bridge, CASES["service.suspended"][0])  # client 1, opted in
    sql(bridge, CASES["service.terminated"][0])  # client 2, not
    run_cycle(bridge)
    assert box.of("service.suspended")[0]["channel"] == "whatsapp"
    assert [c["channel"] for c in box.of("service.terminated")] == ["email"]


@pytest.mark.parametrize(
    ("utc_now", "expected"),
    [
        (utc(2026, 11, 27, 2, 30), datetime(2026, 11, 27, 8, 0)),  # 23:30 local -> next morning
        (utc(2026, 11, 26, 9, 0), datetime(2026, 11, 26, 8, 0)),  # 06:00 local -> same morning
        (utc(2026, 11, 26, 15, 0), None),  # noon: at once
    ],
)
def test_quiet_hours_defer_to_the_end_of_the_window(
    panel: str, utc_now: datetime, expected: datetime | None
) -> None:
    quiet = {"start": "22:00", "end": "08:00"}
    bridge = alerts_bridge(panel, {"quiet_hours": quiet}, now=utc_now)
    box = recording(bridge)
    run_cycle(bridge)
    sql(bridge, CASES["invoice.paid"][0])
    run_cycle(bridge)
    (call,) = box.of("invoice.paid")
    zone = ZoneInfo("America/Argentina/Buenos_Aires")
    want = expected.replace(tzinfo=zone) if expected else None
    assert call["not_before"] == want


def test_quiet_hours_can_be_lifted_per_event(panel: str) -> None:
    section = {
        "quiet_hours": {"start": "22:00", "end": "08:00"},
        "events": {"invoice.paid": {"quiet_hours": False}},
    }
    bridge = alerts_bridge(panel, section, now=utc(2026, 11, 27, 2, 30))
    box = recording(bridge)
    run_cycle(bridge)
    sql(bridge, CASES["invoice.paid"][0])
    run_cycle(bridge)
    assert box.of("invoice.paid")[0]["not_before"] is None


def test_config_overrides_template_params_and_console_channel(panel: str) -> None:
    section = {
        "channels": ["whatsapp", "console", "telegram"],
        "events": {
            "invoice.paid": {
                "template": "pago_ok",
                "language": "es",
                "params": ["invoice_number", "first_name", "date_paid"],
                "button_url_suffix": False,
            }
        },
    }
    bridge = alerts_bridge(panel, section)
    box = recording(bridge)
    run_cycle(bridge)
    sql(bridge, CASES["invoice.paid"][0])
    run_cycle(bridge)
    calls = box.of("invoice.paid")
    assert [c["channel"] for c in calls] == ["whatsapp", "console"]
    message = calls[0]["message"]
    assert (message["template"], message["template_language"]) == ("pago_ok", "es")
    assert message["params"] == ["A-00004", "Carlos", "26/11/2026"]
    assert message["button_url_suffix"] is None
    assert "template_fallback_language" not in message  # Carlos's language is the event's
    notes = {name: detail for name, _status, detail in outcome_statuses(bridge)}
    assert "no Telegram chat id known, telegram skipped" in notes["invoice.paid"]


def test_the_url_buttons_index_comes_from_the_template_config(panel: str) -> None:
    section = {"events": {"invoice.created": {"button_index": 1}}}
    bridge = alerts_bridge(panel, section)
    box = recording(bridge)
    run_cycle(bridge)
    sql(bridge, CASES["invoice.created"][0])
    run_cycle(bridge)
    (call,) = [c for c in box.of("invoice.created") if c["channel"] == "whatsapp"]
    assert call["message"]["button_index"] == "1"
    problems = alert_settings.problems({"events": {"invoice.paid": {"button_index": 12}}})
    assert problems == [
        "plugins.alerts.events.invoice.paid.button_index: expected the URL button's position,"
        " 0 to 9"
    ]


def test_config_problems_name_their_keys() -> None:
    found = alert_settings.problems(
        {
            "channels": ["sms"],
            "quiet_hours": {"start": "25:00", "end": "08:00"},
            "events": {
                "invoice.paid": {"params": ["first_name", "foo"], "button_url_suffix": "x"},
                "invoice.lost": {},
            },
            "rate_per_second": 10,  # now the outbox's key, in [outbox]
        }
    )
    assert found == [
        "plugins.alerts.rate_per_second: moved: write it as [outbox] rate_per_second "
        "(see config/bridge.example.toml)",
        "plugins.alerts.channels: expected a list of whatsapp, console, telegram",
        "plugins.alerts.quiet_hours.start: expected HH:MM (24 h), got '25:00'",
        "plugins.alerts.events.invoice.lost: unknown event; expected one of: "
        + ", ".join(ALERT_EVENTS),
        "plugins.alerts.events.invoice.paid.params: unknown parameter 'foo'; expected one of "
        "first_name, full_name, company_name, panel_name, account_name, invoice_id, invoice_number,"
        " amount, "
        "due_date, invoice_url, date_paid",
        "plugins.alerts.events.invoice.paid.button_url_suffix: expected false or one of: "
        "invoice_id",
    ]
    assert alert_settings.problems({}) == []


def test_invalid_section_stops_start_up(panel: str) -> None:
    from whmcs_bridge.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown parameter 'foo'"):
        alerts_bridge(panel, {"events": {"invoice.paid": {"params": ["foo"]}}})


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("+54.2994123456", "AR", "+5492994123456"),  # WHMCS form, mobile 9 missing
        ("0261 155-443322", "AR", "+5492615443322"),  # local form with trunk 0 and 15
        ("+54 9 11 2345-6789", "AR", "+5491123456789"),
        ("+54.0261155443322", "AR", "+5492615443322"),
        ("+44.7911123456", "AR", "+447911123456"),
        ("12345", "AR", None),
        ("", "AR", None),
        ("7911123456", "", None),
        # Issue 9 point 8: what people really type, both the 9 and the 15.
        ("+54 9 261 15 544-3322", "AR", "+5492615443322"),
        ("+54.9261155443322", "AR", "+5492615443322"),
        # Clearly landlines: no WhatsApp, the fallback goes at once.
        ("+44 20 7946 0958", "GB", None),
        ("+55 11 3456-7890", "BR", None),
        ("+1 800 555 0199", "US", None),
    ],
)
def test_phone_normalisation(raw: str, country: str, e164: str | None) -> None:
    if raw.startswith(("+44 20", "+55 11 3", "+1 800")):
        assert "not a mobile" in (normalise_phone(raw, country).problem or "")
    result = normalise_phone(raw, country)
    assert result.e164 == e164
    assert (result.problem is None) == (e164 is not None)


# --- the CLI and the real outbox ----------------------------------------------------------------
@pytest.fixture
def cli_config(tmp_path: Path, panel: str) -> Iterator[Path]:
    make_bridge(panel, config=ALERTS).close()  # bridge tables
    path = tmp_path / "bridge.toml"
    path.write_text(
        f'[panel]\ndatabase_url = "{panel}"\n[plugins]\nenabled = ["alerts"]\n', encoding="utf-8"
    )
    yield path


def run_cli(config: Path, *args: str) -> None:
    from whmcs_bridge.cli import main

    main(["--config", str(config), "alerts", *args])


def test_cli_optout_optin_and_prefs(cli_config: Path, panel: str, capsys: Any) -> None:
    run_cli(cli_config, "optout", "--client", "4", "--event", "invoice.paid", "--by", "ana")
    run_cli(cli_config, "optin", "--client", "4", "--by", "ana")
    run_cli(cli_config, "optin", "--client", "4")
    out = capsys.readouterr().out
    assert "client 4 opted out of invoice.paid" in out
    assert "(no change: it was already so)" in out
    run_cli(cli_config, "prefs", "--client", "4", "--json")
    listed = json.loads(capsys.readouterr().out)
    assert [(p["kind"], p["event"], p["by"]) for p in listed] == [
        ("optout", "invoice.paid", "ana"),
        ("optin", "*", "ana"),
    ]
    bridge = alerts_bridge(panel)
    box = recording(bridge)
    run_cycle(bridge)
    sql(bridge, CASES["invoice.paid"][0])
    run_cycle(bridge)
    assert box.calls == []
    run_cli(cli_config, "optout", "--client", "4", "--event", "invoice.paid", "--undo")
    assert "opt-out withdrawn" in capsys.readouterr().out


def test_cli_preview_in_the_clients_language(cli_config: Path, capsys: Any) -> None:
    run_cli(cli_config, "preview", "--client", "1", "--json")
    shown = {item["event"]: item for item in json.loads(capsys.readouterr().out)}
    assert set(shown) == set(ALERT_EVENTS)
    assert shown["invoice.created"]["subject"] == "invoice:1"
    assert shown["invoice.created"]["message"]["params"][1:3] == ["A-00001", "$100,00 ARS"]
    assert shown["quote.available"] == {
        "event": "quote.available",
        "missing": "client has no quote",
    }
    assert shown["domain.deleted"]["message"]["params"] == ["María", "mariagonzalez.com.ar"]
    run_cli(cli_config, "preview", "--client", "5")
    out = capsys.readouterr().out
    assert (
        "Hi Emily, your service Hosting Avanzado (carterdesign.com) has been suspended for" in out
    )


def test_cli_test_dry_run_prints_the_request_and_queues_nothing(
    cli_config: Path, capsys: Any
) -> None:
    run_cli(cli_config, "test", "--event", "invoice.paid", "--client", "4", "--dry-run")
    out = capsys.readouterr().out
    assert "Hola Carlos, recibimos el pago de tu factura A-00004 por $30,00 ARS." in out
    body = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert body["to"] == "+5492615443322"
    assert body["template"]["name"] == "factura_pagada"
    assert body["template"]["components"][1]["parameters"] == [{"type": "text", "text": "4"}]
    assert "dry run: nothing queued" in out


class StandInChannels:
    """Offers the WhatsApp channel pointed at the loopback stand-in."""

    def __init__(self, server: Any) -> None:
        self.server = server

    @hookimpl
    def bridge_register_channels(self, register: Any, bridge: Bridge) -> None:
        from whmcs_bridge.channels.whatsapp import WhatsAppChannel

        server = self.server
        register(WhatsAppChannel(server.base_url, "v21.0", server.phone_number_id, server.token))


def test_through_the_real_outbox_meta_gets_this_exact_request(panel: str) -> None:
    from whmcs_bridge.sandbox.whatsapp_standin import WhatsAppStandIn

    with WhatsAppStandIn() as server:
        server.registered_templates = {("factura_generada", "es_AR"): 4}
        config = {"plugins": {"enabled": ["alerts"]}, "outbox": {"min_interval_per_recipient": 0}}
        bridge = make_bridge(
            panel, config=config, now=NOW, plugins=[("wa", StandInChannels(server))]
        )
        run_cycle(bridge)
        sql(bridge, CASES["invoice.created"][0])
        report = run_cycle(bridge)
        assert report.ok, report.errors
        (request,) = server.requests
    assert request["path"] == f"/v21.0/{server.phone_number_id}/messages"
    body = request["json"]
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+5492994123456",
        "type": "template",
        "template": {
            "name": "factura_generada",
            "language": {"code": "es_AR"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "María"},
                        {"type": "text", "text": "A-00007"},
                        {"type": "text", "text": "$1.234,56 ARS"},
                        {"type": "text", "text": "06/12/2026"},
                    ],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": "7"}],
                },
            ],
        },
        "biz_opaque_callback_data": body["biz_opaque_callback_data"],
    }
    assert body["biz_opaque_callback_data"].startswith("wb:")


@pytest.mark.parametrize("event", list(CASES))
def test_each_event_reaches_the_whatsapp_stand_in_exactly(panel: str, event: str) -> None:
    """The panel change, a cycle, and the exact request Meta receives for each R-AL-2 event."""
    from whmcs_bridge.sandbox.whatsapp_standin import WhatsAppStandIn

    change, _key, to, template, params, suffix, _text = CASES[event]
    with WhatsAppStandIn() as server:
        server.registered_templates = {(template, "es_AR"): len(params)}
        config = {"plugins": {"enabled": ["alerts"]}, "outbox": {"min_interval_per_recipient": 0}}
        bridge = make_bridge(
            panel, config=config, now=NOW, plugins=[("wa", StandInChannels(server))]
        )
        run_cycle(bridge)
        sql(bridge, change)
        report = run_cycle(bridge)
        assert report.ok, report.errors
        run_cycle(bridge)  # nothing is sent twice
        (request,) = server.requests
    components: list[dict[str, Any]] = [
        {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
    ]
    if suffix is not None:
        components.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": suffix}],
            }
        )
    body = request["json"]
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {"name": template, "language": {"code": "es_AR"}, "components": components},
        "biz_opaque_callback_data": body["biz_opaque_callback_data"],
    }


# --- issue 9: the right words to the right person ----------------------------------------------
def _client_edit(bridge: Bridge, client_id: int, changed: list[str]) -> None:
    with bridge.panel.begin() as conn:
        write_hook_row(
            conn,
            "ClientEdit",
            {"client_id": client_id, "changed": changed},
            bridge.clock.panel_now(),
        )


def test_details_changed_only_for_contact_details_and_names_them(panel: str) -> None:
    bridge = alerts_bridge(panel)
    box = recording(bridge)
    run_cycle(bridge)
    _client_edit(bridge, 3, ["notes", "groupid"])  # an admin's note: nothing to tell
    run_cycle(bridge)
    assert box.calls == []
    notes = [detail for name, _s, detail in outcome_statuses(bridge) if "details" in name]
    assert notes == ["0 message(s) queued; nothing sent: no contact or security detail changed"]
    _client_edit(bridge, 5, ["phonenumber", "notes", "email"])
    run_cycle(bridge)
    (call,) = [c for c in box.of("client.details_changed") if c["channel"] == "whatsapp"]
    assert call["message"]["text"].startswith(
        "Hi Emily, on 26/11/2026 at 12:00 these details of your account were changed: your"
        " e-mail address and your phone number."
    )


def test_details_changed_text_in_spanish_names_what_changed() -> None:
    from whmcs_bridge.plugins.alerts.messages import changed_phrase, detail_groups

    groups = detail_groups(["phonenumber", "email", "city", "postcode"])
    assert changed_phrase(groups, "es_AR") == "tu e-mail, tu teléfono y tu domicilio"
    assert changed_phrase(detail_groups(["phonenumber"]), "es_AR") == "tu teléfono"
    assert detail_groups(None) is None and detail_groups(["notes"]) == []


def test_a_contact_is_told_about_the_account_not_about_their_own_password(panel: str) -> None:
    bridge = alerts_bridge(panel)
    box = recording(bridge)
    run_cycle(bridge)
    sql(bridge, _set("contacts", 1, generalemails=1))
    sql(bridge, _set("users", 2, password="$2y$10$yetanotherhashyetanotherhashyetanothe"))
    run_cycle(bridge)
    (owner,) = box.of("client.password_changed", "client:2")
    assert "la contraseña de tu cuenta se cambió" in owner["message"]["text"]
    (sofia,) = box.of("client.password_changed", "contact:1")
    text = sofia["message"]["text"]
    assert text.startswith(
        "Hola Sofía, te escribimos como contacto de la cuenta de Estudio Fernández: el 26/11/2026"
        " a las 12:00 se cambió la contraseña de acceso a esa cuenta."
    )
    assert "tu contraseña" not in text and "tu cuenta" not in text
    assert sofia["message"]["template"] == "alerta_cambio_clave_contacto"
    assert sofia["message"]["params"] == ["Sofía", "Estudio Fernández", "26/11/2026 12:00"]


@pytest.mark.parametrize(
    ("reason", "product", "expected"),
    [
        ("", 1, "Al pagar las facturas vencidas el servicio se reactiva solo."),
        ("", 4, "Cuando pagues las facturas vencidas, escribinos"),  # no module
        ("Falta de pago", 1, "Cuando pagues las facturas vencidas, escribinos"),  # typed reason
        ("Abuse: spam sent from the account", 1, "Detectamos un uso que no cumple"),
        ("Pedido del cliente", 1, "Para saber el motivo y cómo reactivarlo, escribinos a soporte"),
    ],
)
def test_the_suspension_text_follows_its_reason(
    panel: str, reason: str, product: int, expected: str
) -> None:
    bridge = alerts_bridge(panel)
    box = recording(bridge)
    run_cycle(bridge)
    # Product 4 has no module: paying does not bring it back by itself (whmcs.md §5.2).
    sql(bridge, _set("hosting", 1, packageid=product, suspendreason=reason))
    sql(bridge, _set("hosting", 1, domainstatus="Suspended"))
    run_cycle(bridge)
    (call,) = [c for c in box.of("service.suspended") if c["channel"] == "whatsapp"]
    text = call["message"]["text"]
    assert text.splitlines()[1].startswith(expected)
    assert ("por falta de pago" in text) == (reason in ("", "Falta de pago"))


# --- issue 9 point 1: every occurrence once, never a repeat lost ---------------------------------
def _module_hook(bridge: Bridge, hook: str, status: str) -> None:
    sql(bridge, _set("hosting", 1, domainstatus=status))
    with bridge.panel.begin() as conn:
        values = {"serviceid": 1, "client_id": 1, "pid": 1}
        if hook == "AfterModuleSuspend":
            values["suspendreason"] = ""
        write_hook_row(conn, hook, values, bridge.clock.panel_now())


def test_suspend_reactivate_suspend_in_one_day_are_three_alerts(panel: str) -> None:
    bridge = alerts_bridge(panel)
    box = recording(bridge)
    run_cycle(bridge)
    for hook, status in (
        ("AfterModuleSuspend", "Suspended"),
        ("AfterModuleUnsuspend", "Active"),
        ("AfterModuleSuspend", "Suspended"),
    ):
        bridge.clock.advance(minutes=20)  # type: ignore[attr-defined]
        _module_hook(bridge, hook, status)
        run_cycle(bridge)
    sent = [c["message"]["event"] for c in box.calls if c["channel"] == "whatsapp"]
    assert sent == ["service.suspended", "service.reactivated", "service.suspended"]
    # The second password change of the day is a security alert too.
    for n in (1, 2):
        bridge.clock.advance(minutes=5)  # type: ignore[attr-defined]
        sql(bridge, _set("users", 1, password=f"$2y$10${n}anotherhashanotherhashanotherhashanot"))
        with bridge.panel.begin() as conn:
            write_hook_row(conn, "UserChangePassword", {"user_id": 1}, bridge.clock.panel_now())
        run_cycle(bridge)
    assert len(box.of("client.password_changed", "client:1")) == 2


def test_a_change_the_watcher_saw_before_the_hook_row_is_one_alert(panel: str) -> None:
    bridge = alerts_bridge(panel)
    box = recording(bridge)
    run_cycle(bridge)
    sql(bridge, _set("hosting", 1, domainstatus="Suspended"))
    run_cycle(bridge)  # the watcher polled between WHMCS's update and the hook's insert
    bridge.clock.advance(seconds=30)  # type: ignore[attr-defined]
    with bridge.panel.begin() as conn:
        values = {"serviceid": 1, "client_id": 1, "pid": 1, "suspendreason": ""}
        write_hook_row(conn, "AfterModuleSuspend", values, bridge.clock.panel_now())
    run_cycle(bridge)
    assert len(box.of("service.suspended", "client:1")) == 1
