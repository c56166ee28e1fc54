"""``serve``: signed wake-ups, health, plugin routes, cycles on a timer; and doctor's API check."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, update

from whmcs_bridge import hookimpl
from whmcs_bridge.doctor import core_checks
from whmcs_bridge.outbox.tables import outbox
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.sandbox.whatsapp_standin import WhatsAppStandIn, build_status_webhook
from whmcs_bridge.sandbox.whatsapp_standin import sign as wa_sign
from whmcs_bridge.serve.app import BridgeApp, json_response
from whmcs_bridge.serve.runner import CycleRunner
from whmcs_bridge.serve.signing import sign, verify
from whmcs_bridge.testing.bridges import make_bridge

ROOT = Path(__file__).resolve().parent.parent
SECRET = "wake-s3cret"


class Routes:
    @hookimpl
    def bridge_register_routes(self, register):  # type: ignore[no-untyped-def]
        register("GET", "/hello", lambda bridge, request: json_response(200, {"q": request.query}))


def environ(
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    query: str = "",
) -> dict[str, object]:
    import io

    env: dict[str, object] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "REMOTE_ADDR": "127.0.0.1",
    }
    for key, value in (headers or {}).items():
        env["HTTP_" + key.upper().replace("-", "_")] = value
    return env


@pytest.fixture
def app(demo_panel: str) -> tuple[BridgeApp, list[str]]:
    bridge = make_bridge(
        demo_panel, config={"serve": {"wake_secret": SECRET}}, plugins=[("routes", Routes())]
    )
    woken: list[str] = []
    return BridgeApp(bridge, wake=lambda: woken.append("wake"), health=lambda: {"ok": True}), woken


def signed(body: bytes = b"", timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {"X-Bridge-Timestamp": str(ts), "X-Bridge-Signature": sign(secret, ts, body)}


def test_wake_with_valid_signature(app: tuple[BridgeApp, list[str]]) -> None:
    wsgi, woken = app
    status, _, _ = wsgi.handle(environ("POST", "/wake", headers=signed()))
    assert status == 202 and woken == ["wake"]


def _now() -> str:
    return str(int(time.time()))


# Headers are built when the test runs, not when the module is collected: a suite that runs
# for more than five minutes would otherwise send "now" as a stale timestamp.
@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (dict, "missing"),
        (lambda: signed(secret="wrong"), "bad signature"),
        (lambda: signed(timestamp=int(time.time()) - 400), "stale"),
        (
            lambda: {"X-Bridge-Timestamp": "yesterday", "X-Bridge-Signature": "sha256=00"},
            "unix time",
        ),
        # Once a TypeError (compare_digest on non-ASCII) and an OverflowError: 500s.
        (
            lambda: {"X-Bridge-Timestamp": _now(), "X-Bridge-Signature": "sha256=é" * 9},
            "malformed X-Bridge-Signature",
        ),
        (
            lambda: {"X-Bridge-Timestamp": "9" * 4000, "X-Bridge-Signature": "sha256=00"},
            "unix time",
        ),
        (
            lambda: {"X-Bridge-Timestamp": "١٧٠٠٠٠٠٠٠٠", "X-Bridge-Signature": "sha256=00"},
            "unix time",
        ),
        (
            lambda: {"X-Bridge-Timestamp": _now(), "X-Bridge-Signature": "sha256=00"},
            "malformed X-Bridge-Signature",
        ),
    ],
)
def test_wake_refused_with_401(
    app: tuple[BridgeApp, list[str]], headers: Callable[[], dict[str, str]], reason: str
) -> None:
    wsgi, woken = app
    status, _, body = wsgi.handle(environ("POST", "/wake", headers=headers()))
    assert status == 401 and reason in json.loads(body)["error"] and woken == []


def test_signature_covers_the_body() -> None:
    ts = int(time.time())
    assert verify(SECRET, str(ts), sign(SECRET, ts, b"{}"), b"{}") is None
    assert verify(SECRET, str(ts), sign(SECRET, ts, b"{}"), b"{ }") == "bad signature"


def test_a_valid_signature_in_upper_case_hex_is_accepted() -> None:
    ts = int(time.time())
    prefix, _, digest = sign(SECRET, ts, b"{}").partition("=")
    assert verify(SECRET, str(ts), f"{prefix}={digest.upper()}", b"{}") is None


def test_plugin_routes_and_unknown_paths(app: tuple[BridgeApp, list[str]]) -> None:
    wsgi, _ = app
    status, _, body = wsgi.handle(environ("GET", "/hello", query="a=1"))
    assert status == 200 and json.loads(body) == {"q": {"a": "1"}}
    assert wsgi.handle(environ("GET", "/nowhere"))[0] == 404
    assert wsgi.handle(environ("GET", "/wake"))[0] == 405


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_process_answers_and_runs_cycles(tmp_path: Path, demo_panel: str) -> None:
    port = free_port()
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[panel]\ndatabase_url = "{demo_panel}"\n[serve]\nport = {port}\n'
        f'interval = 1\nwake_secret = "{SECRET}"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "serve"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                health = requests.get(f"{base}/healthz", timeout=1)
                if health.json()["cycles"] >= 2:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        assert health.status_code == 200 and health.json()["cycles"] >= 2  # the timer runs cycles
        assert requests.post(f"{base}/wake", timeout=2).status_code == 401
        assert requests.post(f"{base}/wake", headers=signed(), timeout=2).status_code == 202
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)


def test_doctor_checks_the_api(tmp_path: Path, demo_panel: str) -> None:
    engine = create_engine(demo_panel)
    with SandboxPanel(engine, identifier="ident", secret="api-s3cret") as sandbox:
        good = make_bridge(
            demo_panel,
            config={"api": {"url": sandbox.url, "identifier": "ident", "secret": "api-s3cret"}},
        )
        assert next(c for c in core_checks(good) if c.name == "whmcs api").ok
        bad = make_bridge(
            demo_panel,
            config={"api": {"url": sandbox.url, "identifier": "ident", "secret": "wrong-s3cret"}},
        )
        check = next(c for c in core_checks(bad) if c.name == "whmcs api")
        assert not check.ok and "Authentication Failed" in check.detail
        assert "wrong-s3cret" not in check.detail
    gone = make_bridge(
        demo_panel,
        config={
            "api": {"url": f"http://127.0.0.1:{free_port()}", "identifier": "i", "secret": "s"}
        },
    )
    check = next(c for c in core_checks(gone) if c.name == "whmcs api")
    assert not check.ok and "127.0.0.1" in check.detail


# --- no 500 from a bad request (issue 12 point 4) -------------------------------------------------
APP_SECRET = "serve-app-s3cret"
PHONE_ID = "106540352242922"


@pytest.fixture
def webhook_app(demo_panel: str) -> Iterator[tuple[BridgeApp, int]]:
    """The app with the WhatsApp webhook configured, and one sent message (outbox id) to talk of."""
    channel = {"token": "t0ken", "app_secret": APP_SECRET, "phone_number_id": PHONE_ID}
    bridge = make_bridge(demo_panel, config={"channels": {"whatsapp": channel}})
    row_id = bridge.outbox.enqueue(
        event_id=1,
        recipient_key="client:1",
        channel="whatsapp",
        recipient="+5491100000001",
        message={"event": "invoice.created", "language": "en", "text": "hi"},
    )
    assert row_id is not None
    with bridge.panel.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(state="sent", provider_message_id="wamid.A")
        )
    yield BridgeApp(bridge, wake=lambda: None, health=lambda: {"ok": True}), row_id
    bridge.close()


def status_body(row_id: int, **fields: Any) -> str:
    """A status webhook about the sent row, with ``fields`` (raw JSON text) put in its status."""
    body = build_status_webhook(
        wamid="wamid.A",
        status="failed",
        recipient_id="5491100000001",
        phone_number_id=PHONE_ID,
        biz_opaque_callback_data=f"wb:{row_id}",
    )
    item = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    for name in fields:
        item[name] = f"@{name}@"
    raw = json.dumps(body)
    for name, text in fields.items():
        raw = raw.replace(f'"@{name}@"', text)
    return raw


@pytest.mark.parametrize(
    ("make", "signature", "status"),
    [
        # Once a TypeError in compare_digest: 500.
        (lambda row: status_body(row), "sha256=" + "é" * 64, 401),
        (lambda row: status_body(row), "sha256=" + "0" * 63 + "\u0660", 401),
        # Signed, but what Meta never sends: once OverflowError, ValueError, TypeError...
        (lambda row: status_body(row, timestamp="1e400"), None, 400),
        (lambda row: status_body(row, timestamp="-Infinity"), None, 400),
        (lambda row: status_body(row, timestamp='"99999999999999"'), None, 400),
        (lambda row: status_body(row, timestamp="1" + "0" * 5000), None, 400),
        (lambda row: status_body(row, id='["wamid.A"]'), None, 400),
        (lambda row: status_body(row, errors='[{"code": 131026, "title": ["x"]}]'), None, 400),
        (lambda row: status_body(row, errors='[{"code": 99999999999}]'), None, 400),
        (lambda row: '{"object": ' + "[" * 100_000 + "]" * 100_000 + "}", None, 400),
        # Someone else's callback data, however long, is nobody's row: answered, not applied.
        (lambda row: status_body(row, biz_opaque_callback_data='"wb:' + "9" * 30 + '"'), None, 200),
    ],
)
def test_a_bad_webhook_is_a_4xx_with_one_log_line(
    webhook_app: tuple[BridgeApp, int],
    caplog: pytest.LogCaptureFixture,
    make: Any,
    signature: str | None,
    status: int,
) -> None:
    wsgi, row_id = webhook_app
    raw = make(row_id).encode()
    header = signature or wa_sign(APP_SECRET, raw)
    with caplog.at_level(logging.INFO, logger="whmcs_bridge"):
        caplog.clear()
        answer, _, _ = wsgi.handle(
            environ("POST", "/webhooks/whatsapp", raw, {"X-Hub-Signature-256": header})
        )
    assert answer == status
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    if status >= 400:
        assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "Traceback" not in caplog.text


def test_a_negative_content_length_is_a_400(app: tuple[BridgeApp, list[str]]) -> None:
    wsgi, woken = app
    env = environ("POST", "/wake", headers=signed())
    env["CONTENT_LENGTH"] = "-1"
    assert wsgi.handle(env)[0] == 400 and woken == []


# --- /healthz tells the truth (issue 12 point 6) ---------------------------------------------
def test_healthz_is_503_naming_a_stopped_channel(demo_panel: str) -> None:
    with WhatsAppStandIn(token="the-real-token") as wa:
        channel = {
            "api_base": wa.base_url,
            "version": "v23.0",
            "phone_number_id": wa.phone_number_id,
            "token": "a-revoked-token",  # Meta answers 190: the channel stops until resumed
        }
        config = {"channels": {"whatsapp": channel}, "outbox": {"min_interval_per_recipient": 0}}
        bridge = make_bridge(demo_panel, config=config)
        bridge.outbox.enqueue(
            event_id=1,
            recipient_key="client:1",
            channel="whatsapp",
            recipient="+5491100000001",
            message={"event": "invoice.created", "language": "en", "text": "hi", "template": "t"},
        )
        runner = CycleRunner(bridge, interval=60)
        wsgi = BridgeApp(bridge, wake=runner.wake, health=runner.health)
        assert wsgi.handle(environ("GET", "/healthz"))[0] == 200
        runner._run_once()  # one cycle: the send meets the dead token
        status, _, body = wsgi.handle(environ("GET", "/healthz"))
        health = json.loads(body)
        assert status == 503 and health["ok"] is False  # once 200 and ok: true
        assert list(health["stopped_channels"]) == ["whatsapp"]
        assert "190" in health["stopped_channels"]["whatsapp"]
        assert "a-revoked-token" not in body.decode()
        bridge.outbox.resume_channel("whatsapp")
        assert wsgi.handle(environ("GET", "/healthz"))[0] == 200
        bridge.close()
