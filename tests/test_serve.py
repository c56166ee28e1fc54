"""``serve``: signed wake-ups, health, plugin routes, cycles on a timer; and doctor's API check."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine

from whmcs_bridge import hookimpl
from whmcs_bridge.doctor import core_checks
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.serve.app import BridgeApp, json_response
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


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        (signed(secret="wrong"), "bad signature"),
        (signed(timestamp=int(time.time()) - 400), "stale"),
        ({"X-Bridge-Timestamp": "yesterday", "X-Bridge-Signature": "sha256=00"}, "unix time"),
        # Once a TypeError (compare_digest on non-ASCII) and an OverflowError: 500s.
        (
            {"X-Bridge-Timestamp": str(int(time.time())), "X-Bridge-Signature": "sha256=é" * 9},
            "malformed X-Bridge-Signature",
        ),
        ({"X-Bridge-Timestamp": "9" * 4000, "X-Bridge-Signature": "sha256=00"}, "unix time"),
        ({"X-Bridge-Timestamp": "١٧٠٠٠٠٠٠٠٠", "X-Bridge-Signature": "sha256=00"}, "unix time"),
        (
            {"X-Bridge-Timestamp": str(int(time.time())), "X-Bridge-Signature": "sha256=00"},
            "malformed X-Bridge-Signature",
        ),
    ],
)
def test_wake_refused_with_401(
    app: tuple[BridgeApp, list[str]], headers: dict[str, str], reason: str
) -> None:
    wsgi, woken = app
    status, _, body = wsgi.handle(environ("POST", "/wake", headers=headers))
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
