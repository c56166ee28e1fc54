"""Alerts by e-mail against WHMCS's real answers (issue 9 points 13, 14): the API role's refusals,
SendEmail's own nl2br, and its "Sending Failed" for SMTP trouble. The sandbox panel answers as
whmcs.md §0.1 says WHMCS does with API credentials."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from whmcs_bridge import hookimpl
from whmcs_bridge.bridge import Bridge
from whmcs_bridge.channels import registry
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.outbox.tables import outbox
from whmcs_bridge.panel.api import (
    ApiAuthError,
    ApiCommandNotFound,
    ApiPermissionError,
    ApiValidationError,
    classify_error,
)
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.testing.bridges import make_bridge, sqlite_panel

IDENT, SECRET = "alerts-ident-K2", "alerts-secret-W8"


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ('Invalid Permissions: API action "sendemail" is not allowed', ApiPermissionError),
        ('Invalid API Action: "frobnicate" is not a valid API action', ApiCommandNotFound),
        ("Invalid administrative identifier", ApiAuthError),
        ("Administrator Account Disabled", ApiAuthError),
        ("Invalid password provided", ApiAuthError),
        ("Sending Failed. Please see documentation.", ApiValidationError),
    ],
)
def test_whmcs_refusals_of_api_credentials_are_typed(message: str, error: type) -> None:
    assert type(classify_error("SendEmail", message)) is error


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxPanel]:
    url = sqlite_panel(tmp_path / "panel.sqlite", date(2026, 11, 26))
    engine = create_engine(url)
    with SandboxPanel(engine, IDENT, SECRET) as panel:
        panel.db_url = url  # type: ignore[attr-defined]
        yield panel
    engine.dispose()


@pytest.fixture
def bridge(sandbox: SandboxPanel) -> Iterator[Bridge]:
    api = {"url": sandbox.url, "identifier": IDENT, "secret": SECRET}
    made = make_bridge(
        sandbox.db_url,  # type: ignore[attr-defined]
        config={"api": api, "outbox": {"min_interval_per_recipient": 0}},
    )
    yield made
    made.close()


def mail(bridge: Bridge, event_id: int, text: str = "Hola Ana,\ntu factura está paga.") -> int:
    message = {"event": "invoice.paid", "language": "es_AR", "text": text, "subject": "Pago"}
    row_id = bridge.outbox.enqueue(
        event_id=event_id,
        recipient_key="client:1",
        channel="email",
        recipient="1",
        message=message,
    )
    assert row_id is not None
    return row_id


def state(bridge: Bridge, row_id: int) -> dict[str, Any]:
    query = select(outbox).where(outbox.c.id == row_id)
    with bridge.panel.connect() as conn:
        return dict(conn.execute(query).one()._mapping)


def test_sendemail_line_breaks_are_not_doubled(bridge: Bridge, sandbox: SandboxPanel) -> None:
    mail(bridge, 1, "Hola Ana <Sra.>,\ntu factura está paga.\n\nGracias")
    assert bridge.outbox.deliver_due().sent == 1
    (sent,) = sandbox.sent_emails
    # WHMCS's nl2br() makes the <br />; we send plain line breaks.
    assert sent["message"] == (
        "Hola Ana &lt;Sra.&gt;,<br />\ntu factura está paga.<br />\n<br />\nGracias"
    )


def test_a_role_without_sendemail_pauses_email_and_doctor_names_the_permission(
    bridge: Bridge, sandbox: SandboxPanel
) -> None:
    sandbox.role_actions = {"getclientsdetails"}
    first, second = mail(bridge, 1), mail(bridge, 2)
    report = bridge.outbox.deliver_due()
    assert report.dead == 0 and report.sent == 0
    assert {state(bridge, first)["state"], state(bridge, second)["state"]} == {"queued"}
    assert sandbox.sent_emails == []
    (check,) = [c for c in registry.bridge_doctor_checks(bridge) if c.name == "channel email"]
    assert not check.ok
    assert "API role" in check.detail and "SendEmail" in check.detail
    # The admin grants it and resumes: both go, nothing was lost.
    sandbox.role_actions = None
    assert bridge.outbox.resume_channel("email")
    assert bridge.outbox.deliver_due().sent == 2


def test_sending_failed_is_retried_not_dead_lettered(bridge: Bridge, sandbox: SandboxPanel) -> None:
    sandbox.mail_failures = 1
    row_id = mail(bridge, 1)
    assert bridge.outbox.deliver_due().retry == 1
    failed = state(bridge, row_id)
    assert failed["state"] == "failed" and "Sending Failed" in failed["last_error"]
    with bridge.panel.begin() as conn:  # the retry's time has come
        conn.execute(
            outbox.update().where(outbox.c.id == row_id).values(next_attempt_at=bridge.outbox.now())
        )
    assert bridge.outbox.deliver_due().sent == 1
    assert len(sandbox.sent_emails) == 1


@pytest.mark.mariadb
def test_text_survives_a_utf8mb4_panel(mariadb_84: str) -> None:
    """Issue 9 point 5: a client named "María José 🧉" in utf8mb4 tables keeps the 🧉."""
    from whmcs_bridge.panel import queries

    engine = create_engine(mariadb_84.replace("charset=utf8", "charset=utf8mb4"))
    with engine.begin() as conn:
        conn.exec_driver_sql("SET SESSION sql_mode=''")
        conn.exec_driver_sql("ALTER TABLE tblclients CONVERT TO CHARACTER SET utf8mb4")
        conn.exec_driver_sql(
            "INSERT INTO tblclients (id, firstname, lastname, email, currency)"
            " VALUES (7, 'María José 🧉', 'Núñez', 'mj@example.com.ar', 1)"
        )
    engine.dispose()
    bridge = make_bridge(mariadb_84)  # its URL says charset=utf8, as older configs do
    try:
        assert bridge.panel.engine.url.query["charset"] == "utf8mb4"
        with bridge.panel.connect() as conn:
            found = queries.client(conn, bridge.panel.tables, 7)
        assert found is not None and found.first_name == "María José 🧉"
    finally:
        bridge.close()


class _Failing:
    """A plugin whose every try fails, as one does while the WHMCS API is down."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def bridge_on_event(self, bridge: Bridge, event: Any) -> str:
        self.calls += 1
        raise RuntimeError("WHMCS API unreachable")


def test_a_failing_plugin_is_retried_by_time_then_quarantined(tmp_path: Path) -> None:
    """Issue 9 point 3: under ``serve`` a cycle runs every few seconds; an outage of minutes
    must not use up the tries. Backoff from 60 s, doubling to an hour, for 24 hours."""
    from datetime import timedelta

    from whmcs_bridge.events.dispatch import dispatch, retry_wait
    from whmcs_bridge.sandbox.hook_rows import write_hook_row
    from whmcs_bridge.testing.bridges import utc

    failing = _Failing()
    url = sqlite_panel(tmp_path / "panel.sqlite", date(2026, 11, 26))
    bridge = make_bridge(url, plugins=[("failing", failing)], now=utc(2026, 11, 26, 15, 0))
    clock = bridge.clock
    with bridge.panel.begin() as conn:
        write_hook_row(conn, "InvoicePaid", {"invoiceid": 4}, clock.panel_now())
    run_cycle(bridge)
    assert failing.calls == 1
    for _ in range(5):  # serve's cycles, seconds apart: nothing is due yet
        clock.advance(seconds=5)
        dispatch(bridge)
    assert failing.calls == 1
    clock.advance(seconds=40)
    dispatch(bridge)
    assert failing.calls == 2  # 60 s after the first failure
    started = clock.panel_now() - timedelta(seconds=60)
    quarantined_at = None
    while quarantined_at is None:
        clock.advance(seconds=retry_wait(60, failing.calls))  # each try when it is due
        report = dispatch(bridge)
        if report.quarantined:
            quarantined_at = clock.panel_now()
    # The last try is the last one inside the 24 hours: the next would fall beyond them.
    assert timedelta(hours=23) <= quarantined_at - started <= timedelta(hours=24)
    calls = failing.calls
    clock.advance(hours=2)
    dispatch(bridge)
    assert failing.calls == calls  # quarantined: no more tries
    from whmcs_bridge.events.store import retry_event

    with bridge.panel.begin() as conn:  # an admin re-queues it: the next cycle tries at once
        assert retry_event(conn, 1, clock.panel_now()) == 1
    dispatch(bridge)
    assert failing.calls == calls + 1
    bridge.close()


def test_sandbox_answers_as_whmcs_does_with_api_credentials(sandbox: SandboxPanel) -> None:
    """whmcs.md §0.1: HTTP 403 and WHMCS's texts for an unknown or a forbidden action."""
    from whmcs_bridge.panel.api import WhmcsApi

    api = WhmcsApi(sandbox.url, IDENT, SECRET, attempts=1)
    with pytest.raises(ApiCommandNotFound, match='Invalid API Action: "Frobnicate"'):
        api.call("Frobnicate", {})
    sandbox.role_actions = {"getclientsdetails"}
    with pytest.raises(ApiPermissionError, match='API action "sendemail" is not allowed'):
        api.call("SendEmail", {"customtype": "general", "id": 1})
