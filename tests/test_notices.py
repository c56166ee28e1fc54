"""send_notice: a plugin tells a client through WhatsApp with e-mail behind it, or by e-mail."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from whmcs_bridge.outbox.tables import outbox
from whmcs_bridge.plugin import Bridge, Notice, send_notice
from whmcs_bridge.testing.bridges import make_bridge

TEXTS = {"es_AR": "Hola Carlos, recibimos tu pedido.", "en": "Hi Carlos, we got your request."}
SUBJECTS = {"es_AR": "Recibimos tu pedido", "en": "We got your request"}


def rows(bridge: Bridge) -> list[dict[str, Any]]:
    with bridge.panel.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(outbox).order_by(outbox.c.id))]


def notice(**changes: Any) -> Notice:
    values: dict[str, Any] = {
        "event_id": 7,
        "client_id": 4,
        "key": "request.received",
        "texts": TEXTS,
        "subjects": SUBJECTS,
        "template": "pedido_recibido",
        "params": ("Carlos",),
    }
    return Notice(**{**values, **changes})


def test_whatsapp_with_email_behind_it_once(demo_panel: str) -> None:
    whatsapp = {"phone_number_id": "1234", "token": "t0k3n"}
    bridge = make_bridge(demo_panel, config={"channels": {"whatsapp": whatsapp}})
    first = send_notice(bridge, notice())
    again = send_notice(bridge, notice())
    assert first.new == 1 and first.notes == [] and again.new == 0
    (sent,) = rows(bridge)
    message = json.loads(sent["message"])
    assert sent["channel"] == "whatsapp" and sent["recipient"].startswith("+549")
    assert message["template"] == "pedido_recibido" and message["params"] == ["Carlos"]
    assert message["text"] == TEXTS["es_AR"]  # the client's language (Spanish panel)
    fallback = json.loads(sent["fallback"])
    assert fallback["channel"] == "email" and fallback["message"]["subject"] == SUBJECTS["es_AR"]
    bridge.close()


def test_without_whatsapp_the_text_goes_by_email_or_console(demo_panel: str) -> None:
    bridge = make_bridge(demo_panel)  # no [api]: no e-mail channel either
    result = send_notice(bridge, notice())
    assert result.new == 1
    assert result.notes == [
        "WhatsApp channel not configured",
        "no e-mail channel (no [api]): shown on the console",
    ]
    (sent,) = rows(bridge)
    assert sent["channel"] == "console" and json.loads(sent["message"])["text"] == TEXTS["es_AR"]
    gone = send_notice(bridge, notice(client_id=999, event_id=8))
    assert gone.queued == [] and "client 999 is not in the panel" in gone.notes[0]
    bridge.close()
