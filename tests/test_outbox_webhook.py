"""The WhatsApp status webhook handlers, called as ``serve`` will call them, on SQLite and MariaDB.

Bodies are Meta's exact ``messages`` webhooks (``build_status_webhook``), signed over the raw
bytes; messages are first really sent to the WhatsApp stand-in so the wamids are real.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict
from sqlalchemy import delete, select, update

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.channels import registry
from whmcs_bridge.channels.webhook import receive_status, verify_subscription
from whmcs_bridge.outbox.tables import outbox
from whmcs_bridge.sandbox.whatsapp_standin import WhatsAppStandIn, build_status_webhook, sign
from whmcs_bridge.store.tables import events as events_t
from whmcs_bridge.testing.bridges import delivery_config, make_bridge, sqlite_panel
from whmcs_bridge.testing.mariadb import SchemaPool

WA_TOKEN = "EAAGwebhookSECRETtoken0123456789"
APP_SECRET = "webhook-app-secret"
VERIFY = "verify-token-42"
A = "+5491100000001"
BACKENDS = ["sqlite", pytest.param("8.4", marks=pytest.mark.mariadb)]


@dataclass
class Request:
    """What ``serve`` hands a route handler."""

    method: str
    path: str = "/webhooks/whatsapp"
    query: dict[str, str] = field(default_factory=dict)
    headers: CaseInsensitiveDict[str] = field(default_factory=CaseInsensitiveDict)
    body: bytes = b""


@pytest.fixture(params=BACKENDS)
def panel_url(
    request: pytest.FixtureRequest, tmp_path: Path, whmcs_databases: SchemaPool
) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_panel(tmp_path / "panel.sqlite", date(2026, 11, 26), seed=False)
        return
    url = whmcs_databases.take(request.param)
    yield url
    whmcs_databases.give_back(url)


@pytest.fixture
def wa() -> Iterator[WhatsAppStandIn]:
    with WhatsAppStandIn(token=WA_TOKEN) as server:
        yield server


@pytest.fixture
def bridge(panel_url: str, wa: WhatsAppStandIn) -> Iterator[Bridge]:
    whatsapp = {
        "api_base": wa.base_url,
        "version": "v23.0",
        "phone_number_id": wa.phone_number_id,
        "token": WA_TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY,
    }
    section = {"min_interval_per_recipient": 0, "whatsapp": whatsapp}
    made = make_bridge(panel_url, config=delivery_config(section))
    yield made
    made.close()


def queue(bridge: Bridge, event_id: int = 1, **kwargs: Any) -> int:
    message = {"event": "invoice.paid", "language": "en", "text": "Paid", "template": "paid"}
    row_id = bridge.outbox.enqueue(
        event_id=event_id,
        recipient_key="client:1",
        channel="whatsapp",
        recipient=A,
        message=message,
        **kwargs,
    )
    assert row_id is not None
    return row_id


def send_one(bridge: Bridge, wa: WhatsAppStandIn, event_id: int = 1, **kwargs: Any) -> int:
    row_id = queue(bridge, event_id, **kwargs)
    assert bridge.outbox.deliver_due().sent == 1
    return row_id


def state(bridge: Bridge, row_id: int) -> dict[str, Any]:
    with bridge.panel.connect() as conn:
        found = conn.execute(select(outbox).where(outbox.c.id == row_id)).first()
    assert found is not None
    return dict(found._mapping)


def post(
    bridge: Bridge,
    wa: WhatsAppStandIn,
    row_id: int,
    status: str,
    signature: Any = True,
    wamid: str | None = None,
    **kw: Any,
) -> tuple[int, bytes]:
    """Post a signed status for ``row_id``, about its current wamid unless ``wamid`` is given."""
    body = build_status_webhook(
        wamid=wamid or state(bridge, row_id)["provider_message_id"],
        status=status,
        recipient_id=A.lstrip("+"),
        phone_number_id=kw.pop("phone_number_id", wa.phone_number_id),
        biz_opaque_callback_data=kw.pop("callback", f"wb:{row_id}"),
        **kw,
    )
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    if signature is True:
        headers["X-Hub-Signature-256"] = sign(APP_SECRET, raw)
    elif signature:
        headers["x-hub-signature-256"] = signature
    status_code, _, answer = receive_status(bridge, Request("POST", headers=headers, body=raw))
    return status_code, answer


def test_routes_are_registered() -> None:
    routes: list[tuple[str, str, Any]] = []
    registry.bridge_register_routes(register=lambda *route: routes.append(route))
    assert routes == [
        ("GET", "/webhooks/whatsapp", verify_subscription),
        ("POST", "/webhooks/whatsapp", receive_status),
    ]


def test_subscription_handshake(bridge: Bridge) -> None:
    good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    assert verify_subscription(bridge, Request("GET", query=good)) == (
        200,
        [("Content-Type", "text/plain; charset=utf-8")],
        b"1158201444",
    )
    wrong = {**good, "hub.verify_token": "guess"}
    assert verify_subscription(bridge, Request("GET", query=wrong))[0] == 403
    assert verify_subscription(bridge, Request("GET", query={**good, "hub.mode": "x"}))[0] == 403


def test_signature_wrong_or_missing_is_401_and_changes_nothing(
    bridge: Bridge, wa: WhatsAppStandIn
) -> None:
    row_id = send_one(bridge, wa)
    assert post(bridge, wa, row_id, "delivered", signature=None)[0] == 401
    assert post(bridge, wa, row_id, "delivered", signature="sha256=" + "0" * 64)[0] == 401
    # Signed with the right secret over other bytes (a re-serialised body) fails too.
    other = sign(APP_SECRET, b"{}")
    assert post(bridge, wa, row_id, "delivered", signature=other)[0] == 401
    assert post(bridge, wa, row_id, "delivered", signature=sign(WA_TOKEN, b"x"))[0] == 401
    assert state(bridge, row_id)["state"] == "sent"
    code, answer = post(bridge, wa, row_id, "delivered")
    assert code == 200 and json.loads(answer) == {"statuses": 1, "applied": 1, "messages": 0}
    assert state(bridge, row_id)["state"] == "delivered"


def test_states_only_move_forward_and_duplicates_are_ignored(
    bridge: Bridge, wa: WhatsAppStandIn
) -> None:
    row_id = send_one(bridge, wa)
    assert json.loads(post(bridge, wa, row_id, "read")[1])["applied"] == 1
    read = state(bridge, row_id)
    assert read["state"] == "read" and read["delivered_at"] is not None  # read implies delivered
    assert json.loads(post(bridge, wa, row_id, "delivered")[1])["applied"] == 0
    assert json.loads(post(bridge, wa, row_id, "read")[1])["applied"] == 0  # Meta's repeat
    assert json.loads(post(bridge, wa, row_id, "sent")[1])["applied"] == 0
    assert json.loads(post(bridge, wa, row_id, "failed")[1])["applied"] == 0
    assert state(bridge, row_id)["state"] == "read"


def test_stale_status_still_applies_when_it_moves_forward(
    bridge: Bridge, wa: WhatsAppStandIn
) -> None:
    row_id = send_one(bridge, wa)
    three_days_ago = int(time.time()) - 3 * 86400
    code, answer = post(bridge, wa, row_id, "delivered", timestamp=three_days_ago)
    assert code == 200 and json.loads(answer)["applied"] == 1
    row = state(bridge, row_id)
    assert row["state"] == "delivered"
    assert abs((bridge.outbox.now() - row["delivered_at"]).total_seconds() - 3 * 86400) < 60
    old_sent = int(time.time()) - 2 * 86400
    assert json.loads(post(bridge, wa, row_id, "sent", timestamp=old_sent)[1])["applied"] == 0


def test_failed_131026_webhook_dead_letters_and_queues_the_fallback(
    bridge: Bridge, wa: WhatsAppStandIn
) -> None:
    fallback = {"channel": "console", "recipient": "1", "message": {"event": "x", "text": "t"}}
    row_id = send_one(bridge, wa, fallback=fallback)
    assert json.loads(post(bridge, wa, row_id, "failed", error_code=131026)[1])["applied"] == 1
    dead = state(bridge, row_id)
    assert dead["state"] == "dead" and dead["error_code"] == 131026
    assert json.loads(post(bridge, wa, row_id, "failed", error_code=131026)[1])["applied"] == 0
    with bridge.panel.connect() as conn:
        fallbacks = conn.execute(select(outbox).where(outbox.c.fallback_of == row_id)).all()
    assert len(fallbacks) == 1 and fallbacks[0].channel == "console"
    assert bridge.outbox.deliver_due().sent == 1


def test_failed_transient_webhook_schedules_a_retry(bridge: Bridge, wa: WhatsAppStandIn) -> None:
    row_id = send_one(bridge, wa)
    post(bridge, wa, row_id, "failed", error_code=131000)
    row = state(bridge, row_id)
    assert row["state"] == "failed" and row["next_attempt_at"] > bridge.outbox.now()


def applied(answer: tuple[int, bytes]) -> int:
    assert answer[0] == 200
    return int(json.loads(answer[1])["applied"])


def test_old_wamids_failed_repeated_after_the_retry_is_ignored(
    bridge: Bridge, wa: WhatsAppStandIn
) -> None:
    row_id = send_one(bridge, wa)
    first = state(bridge, row_id)["provider_message_id"]
    assert applied(post(bridge, wa, row_id, "failed", error_code=131000)) == 1
    with bridge.panel.begin() as conn:  # the retry's time has come
        conn.execute(
            update(outbox).where(outbox.c.id == row_id).values(next_attempt_at=bridge.outbox.now())
        )
    assert applied(post(bridge, wa, row_id, "failed", error_code=131000, wamid=first)) == 0
    assert bridge.outbox.deliver_due().sent == 1
    second = state(bridge, row_id)["provider_message_id"]
    assert second and second != first
    # Meta repeats the first message's failure: the retried, sent row must not fail again.
    assert applied(post(bridge, wa, row_id, "failed", error_code=131000, wamid=first)) == 0
    assert applied(post(bridge, wa, row_id, "delivered", wamid=first)) == 0
    row = state(bridge, row_id)
    assert row["state"] == "sent" and row["provider_message_id"] == second
    assert bridge.outbox.deliver_due().sent == 0
    assert len(wa.requests) == 2  # no third send
    assert applied(post(bridge, wa, row_id, "delivered")) == 1  # the current message still counts


def test_late_status_of_a_purged_row_leaves_the_row_that_reused_its_id(
    bridge: Bridge, wa: WhatsAppStandIn
) -> None:
    old_id = send_one(bridge, wa)
    old_wamid = state(bridge, old_id)["provider_message_id"]
    new_id = bridge.outbox.enqueue(
        event_id=2,
        recipient_key="client:1",
        channel="whatsapp",
        recipient=A,
        message={"event": "invoice.paid", "language": "en", "text": "Paid", "template": "paid"},
    )
    assert new_id is not None
    with bridge.panel.begin() as conn:  # purged, and its id handed out again
        conn.execute(delete(outbox).where(outbox.c.id == old_id))
        conn.execute(update(outbox).where(outbox.c.id == new_id).values(id=old_id))
    assert applied(post(bridge, wa, old_id, "read", wamid=old_wamid)) == 0
    queued = state(bridge, old_id)
    assert queued["state"] == "queued" and queued["provider_message_id"] is None
    assert bridge.outbox.deliver_due().sent == 1
    assert applied(post(bridge, wa, old_id, "read", wamid=old_wamid)) == 0
    assert applied(post(bridge, wa, old_id, "failed", wamid=old_wamid)) == 0
    assert state(bridge, old_id)["state"] == "sent"


def test_garbage_and_statuses_for_no_row(bridge: Bridge, wa: WhatsAppStandIn) -> None:
    raw = b"not json"
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    headers["X-Hub-Signature-256"] = sign(APP_SECRET, raw)
    assert receive_status(bridge, Request("POST", headers=headers, body=raw))[0] == 400
    body = build_status_webhook(
        wamid="wamid.nobody",
        status="delivered",
        recipient_id="1",
        phone_number_id=wa.phone_number_id,
        biz_opaque_callback_data="wb:987654",
    )
    raw = json.dumps(body).encode()
    headers["X-Hub-Signature-256"] = sign(APP_SECRET, raw)
    code, _, answer = receive_status(bridge, Request("POST", headers=headers, body=raw))
    assert code == 200 and json.loads(answer) == {"statuses": 1, "applied": 0, "messages": 0}


# --- issue 9 point 11: only our number's statuses, only our callback data ----------------------
def test_another_apps_callback_data_never_settles_our_row(
    bridge: Bridge, wa: WhatsAppStandIn
) -> None:
    ours = send_one(bridge, wa, event_id=1)
    theirs = send_one(bridge, wa, event_id=2)
    their_wamid = state(bridge, theirs)["provider_message_id"]
    # Another app on the account tags its own message "1": it names no row of ours.
    assert applied(post(bridge, wa, ours, "read", wamid="wamid.other", callback=str(ours))) == 0
    assert state(bridge, ours)["state"] == "sent"
    # A status without our data is matched by its wamid.
    assert applied(post(bridge, wa, theirs, "delivered", wamid=their_wamid, callback=None)) == 1
    assert state(bridge, theirs)["state"] == "delivered"
    # A status for another phone number of the account is not even read.
    code, answer = post(bridge, wa, ours, "read", phone_number_id="999000111")
    assert code == 200 and json.loads(answer)["statuses"] == 0
    assert state(bridge, ours)["state"] == "sent"


def test_held_message_status_is_recorded(bridge: Bridge, wa: WhatsAppStandIn) -> None:
    wa.message_status_next.append("held_for_quality_assessment")
    row = state(bridge, send_one(bridge, wa))
    assert row["state"] == "sent"
    assert row["last_error"] == "accepted with message_status held_for_quality_assessment"


def test_inbound_messages_become_events_once(bridge: Bridge, wa: WhatsAppStandIn) -> None:
    from whmcs_bridge.sandbox.whatsapp_standin import build_message_webhook

    body = build_message_webhook(
        from_="5492615443322", text="BAJA", phone_number_id=wa.phone_number_id
    )
    raw = json.dumps(body).encode()
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    headers["X-Hub-Signature-256"] = sign(APP_SECRET, raw)
    for expected in (1, 0):  # Meta repeats webhooks: one event per wamid
        code, _, answer = receive_status(bridge, Request("POST", headers=headers, body=raw))
        assert code == 200 and json.loads(answer)["messages"] == expected
    with bridge.panel.connect() as conn:
        (event,) = conn.execute(
            select(events_t).where(events_t.c.name == "whatsapp.message_received")
        ).all()
    assert (event.subject_type, event.subject_id) == ("phone", 5492615443322)
    assert json.loads(event.data)["text"] == "BAJA"


def test_serve_takes_webhooks_up_to_metas_3_mb(bridge: Bridge, wa: WhatsAppStandIn) -> None:
    """Meta batches statuses: a 2.9 MB signed webhook goes through serve's app, read whole."""
    import io

    from whmcs_bridge.serve.app import BridgeApp

    row_id = send_one(bridge, wa)
    body = build_status_webhook(
        wamid=state(bridge, row_id)["provider_message_id"],
        status="delivered",
        recipient_id=A.lstrip("+"),
        phone_number_id=wa.phone_number_id,
        biz_opaque_callback_data=f"wb:{row_id}",
    )
    # Another field of the same delivery, as big as Meta allows the whole to be.
    event = {"event": "ACCOUNT_UPDATE", "detail": "x" * 2_900_000}
    body["entry"][0]["changes"].append({"field": "account_update", "value": event})
    raw = json.dumps(body).encode()
    assert 2_900_000 < len(raw) < 3 * 1024 * 1024
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/webhooks/whatsapp",
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json",
        "HTTP_X_HUB_SIGNATURE_256": sign(APP_SECRET, raw),
        "wsgi.input": io.BytesIO(raw),
    }
    app = BridgeApp(bridge, wake=lambda: None, health=lambda: {"ok": True})
    code, _headers, answer = app.handle(environ)
    assert code == 200 and json.loads(answer)["applied"] == 1
    assert state(bridge, row_id)["state"] == "delivered"


def test_not_configured_answers_404(panel_url: str) -> None:
    plain = make_bridge(panel_url)
    try:
        assert verify_subscription(plain, Request("GET"))[0] == 404
        assert receive_status(plain, Request("POST", body=b"{}"))[0] == 404
    finally:
        plain.close()


def test_display_name_not_approved_pauses_the_channel_and_fails_doctor(
    bridge: Bridge, wa: WhatsAppStandIn
) -> None:
    for event_id, code in ((1, 131057), (2, 131037)):
        wa.fail_next(code=code)
        row_id = queue(bridge, event_id)
        bridge.outbox.deliver_due()
        row = state(bridge, row_id)
        assert row["error_code"] == code and row["state"] in ("failed", "queued")
    (check,) = [c for c in registry.bridge_doctor_checks(bridge) if c.name == "channel whatsapp"]
    assert not check.ok and "131037" in check.detail
