"""Clients and their numbers (issue 9 points 8, 9): ``alerts phones`` lists who cannot get
WhatsApp and why; "BAJA" / "ALTA" written to our number opts a client out and back in, confirmed
by a free-form reply inside the window the client opened. Over the sample company on SQLite,
with Meta's exact inbound webhook and the WhatsApp stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict
from sqlalchemy import select, update
from whmcs_bridge.plugins.alerts.inbound import keyword
from whmcs_bridge.plugins.alerts.preferences import read_prefs

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.channels.webhook import receive_status
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.sandbox.hook_rows import write_hook_row
from whmcs_bridge.sandbox.whatsapp_standin import WhatsAppStandIn, build_message_webhook, sign
from whmcs_bridge.testing.bridges import make_bridge, utc

NOW = utc(2026, 11, 26, 15, 0)
APP_SECRET = "inbound-app-secret"
CARLOS = "5492615443322"  # client 4 keeps "0261 155-443322" (AR) in its details


@pytest.fixture
def wa() -> Iterator[WhatsAppStandIn]:
    with WhatsAppStandIn() as server:
        yield server


@pytest.fixture
def bridge(demo_panel: str, wa: WhatsAppStandIn) -> Iterator[Bridge]:
    whatsapp = {
        "api_base": wa.base_url,
        "phone_number_id": wa.phone_number_id,
        "token": wa.token,
        "app_secret": APP_SECRET,
        "verify_token": "v",
    }
    config = {
        "plugins": {"enabled": ["alerts"]},
        "channels": {"whatsapp": whatsapp},
        "outbox": {"min_interval_per_recipient": 0},
    }
    made = make_bridge(demo_panel, config=config, now=NOW)
    run_cycle(made)  # baseline
    yield made
    made.close()


class Request:
    """What ``serve`` hands the webhook route."""

    def __init__(self, body: bytes) -> None:
        self.method, self.path, self.query, self.body = "POST", "/webhooks/whatsapp", {}, body
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        self.headers["X-Hub-Signature-256"] = sign(APP_SECRET, body)


def write(bridge: Bridge, wa: WhatsAppStandIn, from_: str, text: str) -> None:
    """The client writes to us: Meta posts the webhook (and the client's window opens)."""
    wa.open_windows.add(from_)
    body = build_message_webhook(from_=from_, text=text, phone_number_id=wa.phone_number_id)
    code, _, answer = receive_status(bridge, Request(json.dumps(body).encode()))
    assert code == 200 and json.loads(answer)["messages"] == 1


def replies(wa: WhatsAppStandIn) -> list[str]:
    return [r["json"]["text"]["body"] for r in wa.requests if r["json"].get("type") == "text"]


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("BAJA", "stop"),
        ("baja.", "stop"),
        (" Stop! ", "stop"),
        ("bajá", "stop"),
        ("Alta", "start"),
        ("START", "start"),
        ("quiero la baja", None),
        ("hola", None),
        ("", None),
    ],
)
def test_keywords(text: str, word: str | None) -> None:
    assert keyword(text) == word


def test_baja_opts_the_client_out_confirms_and_alta_opts_back_in(
    bridge: Bridge, wa: WhatsAppStandIn
) -> None:
    write(bridge, wa, CARLOS, "BAJA")
    report = run_cycle(bridge)
    assert report.ok, report.errors
    with bridge.panel.connect() as conn:
        assert not read_prefs(conn, 4).allows("invoice.paid")
    (reply,) = replies(wa)
    assert reply.startswith("Listo, recibimos tu pedido de baja")
    assert wa.requests[-1]["json"]["to"] == f"+{CARLOS}"
    # An alert for Carlos now goes nowhere, on any channel.
    with bridge.panel.begin() as conn:
        t = bridge.panel.tables
        conn.execute(update(t.invoices).where(t.invoices.c.id == 4).values(status="Paid"))
    sent_before = len(wa.requests)
    run_cycle(bridge)
    assert len(wa.requests) == sent_before
    write(bridge, wa, CARLOS, "alta")
    run_cycle(bridge)
    with bridge.panel.connect() as conn:
        prefs = read_prefs(conn, 4)
    assert prefs.allows("invoice.paid") and prefs.opted_in
    assert replies(wa)[-1].startswith("Listo, vas a volver a recibir los avisos")


def test_other_messages_and_unknown_numbers_change_nothing(
    bridge: Bridge, wa: WhatsAppStandIn
) -> None:
    write(bridge, wa, CARLOS, "hola, ¿cuánto debo?")
    write(bridge, wa, "5491100000000", "STOP")  # nobody's number
    report = run_cycle(bridge)
    assert report.ok, report.errors
    with bridge.panel.connect() as conn:
        assert read_prefs(conn, 4).allows("invoice.paid")
    assert replies(wa) == []


def test_cli_phones_lists_who_cannot_get_whatsapp_and_why(
    bridge: Bridge, demo_panel: str, tmp_path: Path, capsys: Any
) -> None:
    from whmcs_bridge.cli import main

    t = bridge.panel.tables
    with bridge.panel.begin() as conn:
        conn.execute(
            update(t.clients).where(t.clients.c.id == 2).values(phonenumber="", country="AR")
        )
        conn.execute(
            update(t.clients)
            .where(t.clients.c.id == 3)
            .values(phonenumber="+44 20 7946 0958", country="GB")
        )
        conn.execute(
            update(t.clients)
            .where(t.clients.c.id == 1)
            .values(phonenumber="+54 9 261 15 544-3322")  # both the 9 and the 15: usable
        )
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[panel]\ndatabase_url = "{demo_panel}"\n[plugins]\nenabled = ["alerts"]\n',
        encoding="utf-8",
    )
    main(["--config", str(config), "alerts", "phones", "--json"])
    listed = json.loads(capsys.readouterr().out)
    assert [(c["client_id"], c["problem"]) for c in listed["unusable"]] == [
        (2, "no phone number in the client's details"),
        (3, "a landline, not a mobile: it cannot get WhatsApp"),
    ]
    assert listed["checked"] >= 4
    main(["--config", str(config), "alerts", "phones"])
    out = capsys.readouterr().out
    assert "a landline, not a mobile" in out
    assert out.rstrip().endswith("client(s) cannot get WhatsApp alerts on their phone")


def test_a_landline_goes_by_email_at_once(bridge: Bridge, wa: WhatsAppStandIn) -> None:
    t = bridge.panel.tables
    with bridge.panel.begin() as conn:
        conn.execute(
            update(t.clients)
            .where(t.clients.c.id == 3)
            .values(phonenumber="+55 11 3456-7890", country="BR")
        )
        write_hook_row(conn, "InvoicePaid", {"invoiceid": 3}, bridge.clock.panel_now())
    run_cycle(bridge)
    assert [r for r in wa.requests if r["json"].get("to") == "+551134567890"] == []


def test_monthly_reminder_asks_clients_with_unusable_phones_once_a_month(
    demo_panel: str, wa: WhatsAppStandIn
) -> None:
    from whmcs_bridge.outbox.tables import outbox

    bridge = make_bridge(
        demo_panel,
        config={"plugins": {"enabled": ["alerts"], "alerts": {"phone_reminder": True}}},
        now=NOW,
    )
    t = bridge.panel.tables
    with bridge.panel.begin() as conn:
        conn.execute(update(t.clients).where(t.clients.c.id == 2).values(phonenumber=""))
        conn.execute(
            update(t.clients)
            .where(t.clients.c.id == 3)
            .values(phonenumber="+44 20 7946 0958", country="GB")
        )

    def reminders() -> list[tuple[str, str]]:
        with bridge.panel.connect() as conn:
            rows = conn.execute(select(outbox).where(outbox.c.channel == "email")).all()
        found = [(r.recipient, json.loads(r.message)) for r in rows]
        return [(to, m["text"]) for to, m in found if m["event"] == "alerts.phone_reminder"]

    for _ in range(3):
        run_cycle(bridge)
    sent = reminders()
    assert [to for to, _text in sent] == ["2", "3"]
    assert sent[0][1].startswith(
        "Hola Juan Pablo, te avisamos por WhatsApp de tus facturas, pagos y servicios, pero no"
        " tenés un teléfono cargado en tu cuenta."
    )
    assert "el teléfono de tu cuenta (+44 20 7946 0958) no puede recibir WhatsApp" in sent[1][1]
    bridge.clock.advance(days=3)  # type: ignore[attr-defined]  # 29 November
    run_cycle(bridge)
    run_cycle(bridge)
    assert len(reminders()) == 2  # once a month
    bridge.clock.advance(days=3)  # type: ignore[attr-defined]  # 2 December
    run_cycle(bridge)
    run_cycle(bridge)
    assert len(reminders()) == 4
    bridge.close()
