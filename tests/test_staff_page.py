"""The staff page in the WHMCS admin area (issue 16): the addon module under php-cli against a
running ``serve`` on the sample panel, its core tabs (Inicio, Alertas), actions with WHMCS's
CSRF token, a state that changed since the page was drawn, and ``serve`` down or refusing."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.outbox.tables import outbox
from whmcs_bridge.panel.tables import metadata
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.sandbox.staff_screenshots import dump_dom, save_page
from whmcs_bridge.store.tables import events as events_t
from whmcs_bridge.store.tables import outcomes as outcomes_t
from whmcs_bridge.testing.bridges import make_bridge
from whmcs_bridge.testing.staff import (
    ADDON,
    action_form,
    page_text,
    render_staff_page,
    serving,
)

SECRET = "staff-page-s3cret"


@pytest.fixture
def sandbox(demo_panel: str) -> Iterator[SandboxPanel]:
    with SandboxPanel(create_engine(demo_panel), identifier="ident", secret="api") as panel:
        yield panel


@pytest.fixture
def bridge(demo_panel: str, sandbox: SandboxPanel) -> Iterator[Bridge]:
    config: dict[str, Any] = {
        "serve": {"wake_secret": SECRET},
        "api": {"url": sandbox.url, "identifier": "ident", "secret": "api"},
    }
    made = make_bridge(demo_panel, config=config)
    yield made
    made.close()


def dead_message(bridge: Bridge) -> int:
    now = datetime(2026, 12, 4, 10, 0)
    row = {
        "event_id": 1, "recipient_key": "client:4", "channel": "whatsapp",
        "recipient": "+5492615443322", "client_id": 4, "state": "dead", "attempts": 1,
        "message": json.dumps({"event": "invoice.paid", "text": "Hola"}),
        "error_code": 131026, "last_error": "Message undeliverable",
        "created_at": now, "updated_at": now,
    }  # fmt: skip
    with bridge.panel.begin() as conn:
        return int(conn.execute(insert(outbox).values(**row)).inserted_primary_key[0])


def quarantined_event(bridge: Bridge) -> int:
    now = datetime(2026, 12, 4, 10, 0)
    with bridge.panel.begin() as conn:
        event_id = conn.execute(
            insert(events_t).values(
                event_key="invoice.paid:9", name="invoice.paid", subject_type="invoice",
                subject_id=9, client_id=4, occurred_at=now, source="hook", data="{}",
                created_at=now,
            )
        ).inserted_primary_key[0]  # fmt: skip
        conn.execute(
            insert(outcomes_t).values(
                event_id=event_id, plugin="alerts", status="quarantined", tries=5,
                detail="LookupError: invoice 9 is gone", updated_at=now,
            )
        )  # fmt: skip
    return int(event_id)


def test_home_and_alerts_tabs_and_a_retry_by_an_admin(bridge: Bridge, demo_panel: str) -> None:
    message_id = dead_message(bridge)
    event_id = quarantined_event(bridge)
    with serving(bridge) as url:
        home = render_staff_page(url, SECRET)
        text = page_text(home)
        assert "Inicio" in text and "Alertas 1" in text  # the tab and its badge
        assert "Último ciclo: hace 12 s" in text
        assert f"{event_id} invoice.paid invoice #9 alerts quarantined" in text
        assert "LookupError: invoice 9 is gone" in text

        alerts = render_staff_page(url, SECRET, tab="alertas")
        assert "131026 Message undeliverable" in page_text(alerts)
        assert 'href="clientssummary.php?userid=4"' in alerts
        post = action_form(alerts, "core.retry_message")
        assert json.loads(post["wb_params"]) == {"message_id": message_id}

        refused = render_staff_page(url, SECRET, tab="alertas", post=post, token="other")
        assert "El formulario venció" in page_text(refused)
        done = render_staff_page(url, SECRET, tab="alertas", post=post)
        assert f"Hecho: mensaje {message_id} en cola otra vez (era dead)" in page_text(done)
        again = render_staff_page(url, SECRET, tab="alertas", post=post)
        assert "No se hizo: cambió desde que se mostró la página" in page_text(again)

        retried = render_staff_page(url, SECRET, post=action_form(home, "core.retry_event"))
        assert f"Hecho: evento {event_id}: 1 reintento(s)" in page_text(retried)

    with bridge.panel.connect() as conn:
        state = conn.execute(select(outbox.c.state).where(outbox.c.id == message_id)).scalar()
        log = metadata.tables["tblactivitylog"]
        lines = conn.execute(select(log.c.description)).scalars().all()
    assert state == "queued"
    assert any(
        f"message {message_id} queued again (by Ana Gómez (admin #1)" in line for line in lines
    )
    assert any(f"event {event_id} retried (by Ana Gómez" in line for line in lines)


def test_english_for_an_english_admin(bridge: Bridge) -> None:
    admin = {"id": 2, "firstname": "John", "lastname": "Doe", "username": "john",
             "language": "english"}  # fmt: skip
    with serving(bridge) as url:
        text = page_text(render_staff_page(url, SECRET, admin=admin))
    assert "Home" in text and "Last cycle: 12 s ago" in text


def test_serve_down_or_refusing_is_one_line_with_the_commands(bridge: Bridge) -> None:
    down = page_text(render_staff_page("http://127.0.0.1:9", SECRET))
    assert down.startswith("whmcs-bridge serve no responde en http://127.0.0.1:9")
    assert "whmcs-bridge transfer apply --id N --yes" in down
    assert "whmcs-bridge cancellations confirm --id N" in down
    with serving(bridge) as url:
        wrong = page_text(render_staff_page(url, "not-the-secret"))
    assert "HTTP 401 bad signature" in wrong and "Traceback" not in wrong


def test_the_addon_module_declares_itself_to_whmcs() -> None:
    lint = subprocess.run(["php", "-l", str(ADDON)], capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    import os

    env = {**os.environ, "WB_CALL": "config"}
    done = subprocess.run(
        ["php", str(ADDON.parents[3] / "tests" / "php" / "addon_harness.php")],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    config = json.loads(done.stdout)
    assert config["name"] == "whmcs-bridge" and set(config["fields"]) == {"serve_url", "secret"}


def test_chromium_shows_each_core_tab(bridge: Bridge, tmp_path: Path) -> None:
    """A real browser (Debian's chromium, headless) loads each tab as rendered."""
    dead_message(bridge)
    with serving(bridge) as url:
        pages = {tab: render_staff_page(url, SECRET, tab=tab) for tab in ("inicio", "alertas")}
    for tab, page in pages.items():
        dom = dump_dom(save_page(tmp_path, tab, page), tmp_path / "profile")
        text = page_text(dom)
        assert "Addons > whmcs-bridge" in text and "Último ciclo" in text, text[:300]
        assert ("Mensajes fallidos" in text) == (tab == "alertas")
        assert 'class="nav nav-tabs wb-tabs"' in dom
