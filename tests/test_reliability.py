"""Reliability under attack (issue 12): a lock that cannot be lost silently, a message sent at
most twice, one bad row never stops the bridge, no 500 for a bad request, config checked before
any work, a health check that tells the truth."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from test_dispatch import Recorder, hook_rows
from test_dispatch import _kill_lock_holder as kill_lock_holder
from test_outbox import _DELIVER, ROOT, WA_TOKEN, alerts_section, queue, rows, sends_to

from whmcs_bridge import hookimpl, lock
from whmcs_bridge.config import load_config
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.errors import ConfigError, LockHeld
from whmcs_bridge.lock import LockLost, cycle_lock, server_lock_name
from whmcs_bridge.outbox.tables import outbox
from whmcs_bridge.sandbox.whatsapp_standin import WhatsAppStandIn
from whmcs_bridge.store.tables import events, inbox, outcomes, quarantine
from whmcs_bridge.testing.bridges import delivery_config, make_bridge, sqlite_panel


# --- 1. the lock ---------------------------------------------------------------------------------
class Overlap:
    """Tasks that note how many cycles are inside them at once; the first one waits."""

    def __init__(self) -> None:
        self.inside = 0
        self.most_inside = 0
        self.runs = 0
        self.entered = threading.Event()
        self.go_on = threading.Event()
        self._mutex = threading.Lock()

    @hookimpl
    def bridge_run_tasks(self, bridge: Any) -> str:
        with self._mutex:
            self.inside += 1
            self.runs += 1
            self.most_inside = max(self.most_inside, self.inside)
            first = self.runs == 1
        try:
            if first:
                self.entered.set()
                self.go_on.wait(30)
            return "ran"
        finally:
            with self._mutex:
                self.inside -= 1


@pytest.mark.mariadb
def test_a_lost_lock_stops_the_cycle_and_keeps_a_second_one_out(
    mariadb_84: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lock, "HEARTBEAT_SECONDS", 0.1)
    tasks = Overlap()
    first = make_bridge(mariadb_84, plugins=[("overlap", tasks)])
    second = make_bridge(mariadb_84, plugins=[("overlap", tasks)])
    raised: list[BaseException] = []

    def cycle() -> None:
        try:
            run_cycle(first)
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=cycle)
    thread.start()
    try:
        assert tasks.entered.wait(30)
        lock_name = server_lock_name(first.panel)
        kill_lock_holder(mariadb_84, lock_name)  # the server frees GET_LOCK with the session
        time.sleep(0.5)
        # The lock is free on the server, but the first cycle still runs: its alive lock keeps
        # the second one out (before: it ran beside the first).
        with pytest.raises(LockHeld, match="still running"):
            run_cycle(second)
    finally:
        tasks.go_on.set()
        thread.join(30)
    assert len(raised) == 1 and isinstance(raised[0], LockLost), raised
    message = str(raised[0])
    assert "\n" not in message and "lock on this panel was lost" in message
    assert raised[0].exit_code == 1
    # The first cycle stopped and let its alive lock go: the next one runs at once.
    alive = server_lock_name(first.panel, "cycle-alive")
    with first.panel.connect() as conn:
        assert conn.exec_driver_sql("SELECT IS_USED_LOCK(%s)", (alive,)).scalar() is None
    report = run_cycle(second)
    assert report.ok and report.tasks == {"overlap": "ran"}
    assert tasks.runs == 2 and tasks.most_inside == 1
    # Delivery checks before each batch: a lost lock claims nothing more.
    queued = first.outbox.enqueue(
        event_id=1, recipient_key="r", channel="console", recipient="r", message={"text": "hi"}
    )
    with cycle_lock(first.panel):
        kill_lock_holder(mariadb_84, lock_name)
        time.sleep(0.5)
        with pytest.raises(LockLost):
            first.outbox.deliver_due()
    with first.panel.connect() as conn:
        state = conn.execute(select(outbox.c.state).where(outbox.c.id == queued)).scalar()
    assert state == "queued"
    first.close()
    second.close()


# --- 2. at most one re-send ----------------------------------------------------------------------
def test_a_crash_loop_sends_a_message_at_most_twice(tmp_path: Path) -> None:
    """Each process dies with its send in flight (the stand-in never answers in time); the next
    one finds the row `sending`, calls it unknown and may re-send it once, never twice."""
    url = sqlite_panel(tmp_path / "panel.sqlite", date(2026, 11, 26))
    recipients = ["+5491100000001", "+5491100000002"]
    with WhatsAppStandIn(token=WA_TOKEN) as wa:
        config = delivery_config(
            alerts_section(wa, sending_stale_seconds=0, unknown_grace_seconds=0)
        )
        bridge = make_bridge(url, config=config)
        ids = [queue(bridge, n, to) for n, to in enumerate(recipients, 1)]
        wa.delay(60)  # every answer comes too late: each send is in flight when its process dies
        for _ in range(6):
            seen = len(wa.requests)
            child = subprocess.Popen(
                [sys.executable, "-c", _DELIVER, url, json.dumps(config)],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            deadline = time.monotonic() + 20
            while len(wa.requests) == seen and child.poll() is None:
                assert time.monotonic() < deadline, "the child neither sent nor ended"
                time.sleep(0.02)
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        # Before: one more send per process, without end.
        assert [len(sends_to(wa, to)) for to in recipients] == [2, 2]
        wa.reset()  # answers at once from now on
        report = bridge.outbox.deliver_due()
        assert report.resent == 0 and report.sent == 0
        assert [len(sends_to(wa, to)) for to in recipients] == [0, 0]  # nothing after the reset
        final = {r["id"]: r for r in rows(bridge)}
        for row_id in ids:
            assert final[row_id]["state"] == "unknown" and final[row_id]["duplicate_risk"] == 1
            assert final[row_id]["next_attempt_at"] is None  # it waits for an admin
            assert final[row_id]["attempts"] == 2  # sent, re-sent once; never a third time
        bridge.close()


# --- 3. one row never stops the bridge -----------------------------------------------------------
BACKENDS = ["sqlite", pytest.param("8.4", marks=pytest.mark.mariadb)]


@pytest.fixture(params=BACKENDS)
def panel(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_panel(tmp_path / "panel.sqlite", date(2026, 11, 26))
    return request.getfixturevalue("mariadb_84")


def test_bad_rows_wait_in_quarantine_and_the_rest_goes_on(panel: str) -> None:
    recorder = Recorder()
    bridge = make_bridge(panel, plugins=[("recorder", recorder)])
    mysql = bridge.panel.backend == "mysql"
    at: Any = datetime(2026, 11, 26, 10)
    deep = '{"invoiceid": 1, "x": ' + "[" * 30000 + "]" * 30000 + "}"  # RecursionError
    # 11,000 characters: 22 KB in the inbox, 66 KB once stored (ASCII-escaped) in the events.
    grows = json.dumps({"client_id": 3, "changed": "ñ" * 11000}, ensure_ascii=False)
    rows = [
        ("InvoicePaid", deep, at),
        ("ClientEdit", grows, at),
        ("InvoicePaid", json.dumps({"invoiceid": 2**64}), at),  # once clamped, or OverflowError
        ("ClientChangePassword", json.dumps({"client_id": 2**63 - 1}), at),  # fits: accepted
        ("InvoicePaid", json.dumps({"invoiceid": 4}), at),
    ]
    if mysql:  # MySQL hands a zero date back as text: once an AttributeError
        rows.append(("ClientChangePassword", json.dumps({"client_id": 3}), "0000-00-00 00:00:00"))
    engine = create_engine(panel)
    with engine.begin() as conn:
        if mysql:
            conn.exec_driver_sql("SET SESSION sql_mode=''")  # as WHMCS writes the inbox
        for hook, payload, created in rows:
            conn.execute(
                insert(inbox).values(hook=hook, payload=payload, origin="admin", created_at=created)
            )
        # An event stored before this fix with its data cut: JSONDecodeError at every dispatch.
        conn.execute(
            insert(events).values(
                event_key="client.details_changed:9:2026-11-25",
                name="client.details_changed",
                subject_type="client",
                subject_id=9,
                occurred_at=datetime(2026, 11, 25, 9),
                source="hook",
                origin="admin",
                data='{"changed": "\\u00f1\\u00f1',
                created_at=datetime(2026, 11, 25, 9),
            )
        )
    report = run_cycle(bridge)
    assert report.intake["quarantined"] == len(rows) - 2
    assert recorder.seen == [("client.password_changed", 2**63 - 1), ("invoice.paid", 4)]
    assert report.dispatch["quarantined"] == 1 and len(report.errors) == 1
    assert "the stored event cannot be read: JSONDecodeError" in report.errors[0]
    with engine.connect() as conn:
        reasons = [r.reason for r in conn.execute(select(quarantine).order_by(quarantine.c.id))]
        set_aside = conn.execute(
            select(outcomes.c.status).where(
                outcomes.c.event_id == select(func.min(events.c.id)).scalar_subquery()
            )
        ).scalar()
        unsettled = conn.execute(
            select(func.count()).select_from(events).where(events.c.settled_at.is_(None))
        ).scalar()
    assert reasons[:3] == [
        "payload is nested too deeply to read",
        "the event's data would take 66037 bytes, more than its column holds (65535)",
        f"payload 'invoiceid' is out of range for an id: {2**64}",
    ]
    if mysql:
        assert reasons[3] == "created_at is not a date and time: '0000-00-00 00:00:00'"
    assert set_aside == "quarantined" and unsettled == 0
    again = run_cycle(bridge)  # reported once; the next cycle is clean
    assert again.ok and again.dispatch["events"] == 0
    # A message stored cut before the strict sessions: dead with its reason, delivery goes on.
    cut = bridge.outbox.enqueue(
        event_id=1, recipient_key="r", channel="console", recipient="r", message={"text": "hi"}
    )
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == cut).values(message='{"text": "h'))
    assert bridge.outbox.deliver_due().dead == 1
    with engine.connect() as conn:
        dead = conn.execute(select(outbox).where(outbox.c.id == cut)).one()
    assert dead.state == "dead" and "cannot be read: JSONDecodeError" in dead.last_error
    if mysql:  # the bridge's own writes are strict: too long is an error, never a silent cut
        with pytest.raises(DBAPIError, match="Data too long"), bridge.panel.begin() as conn:
            conn.execute(update(events).values(data="x" * 70000))
    bridge.close()
    engine.dispose()


# --- 5. config checked before any work -----------------------------------------------------------
def _config(tmp_path: Path, url: str, extra: str) -> Path:
    path = tmp_path / "bridge.toml"
    path.write_text(f'[panel]\ndatabase_url = "{url}"\n{extra}', encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[outbox]\nrate_per_second = "fast"\n', "outbox.rate_per_second"),
        ("[outbox]\nrate_per_second = 0\n", "outbox.rate_per_second"),
        ("[outbox]\nrate_per_second = nan\n", "outbox.rate_per_second"),
        ("[outbox]\nrate_per_second = inf\n", "outbox.rate_per_second"),
        ('[channels.whatsapp]\ntimeout = "slow"\n', "channels.whatsapp.timeout"),
        ("[channels.whatsapp]\ntimeout = nan\n", "channels.whatsapp.timeout"),
        ("[channels.telegram]\ntimeout = inf\n", "channels.telegram.timeout"),
        (
            '[api]\nurl = "https://p/"\nidentifier = "i"\nsecret = "s"\ntimeout = nan\n',
            "api.timeout",
        ),
        ("[serve]\ninterval = -5\n", "serve.interval"),
        ("[serve]\ninterval = nan\n", "serve.interval"),
        ("[serve]\nthreads = 0\n", "serve.threads"),
        ("[serve]\nport = 99999\n", "serve.port"),
        ("[serve]\nport = 0\n", "serve.port"),
        ('[serve]\nhost = " "\n', "serve.host"),
    ],
)
def test_each_bad_value_names_its_file_and_key(tmp_path: Path, extra: str, key: str) -> None:
    path = _config(tmp_path, f"sqlite:///{tmp_path / 'panel.sqlite'}", extra)
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    message = str(caught.value)
    assert caught.value.exit_code == 2 and "\n" not in message
    assert message.startswith(f"{path}, key '{key}': ")


def test_an_sqlite_file_in_a_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    path = _config(tmp_path, "sqlite:///nowhere/panel.sqlite", "")
    with pytest.raises(ConfigError, match=r"key 'panel.database_url': .* folder .*nowhere"):
        load_config(str(path))


def _cli(*args: str) -> int:
    from whmcs_bridge.cli import main

    with pytest.raises(SystemExit) as caught:
        main(list(args))
    return int(caught.value.code or 0)


def test_bad_config_and_a_busy_port_stop_before_intake(
    tmp_path: Path, demo_panel: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_engine(demo_panel)
    hook_rows(demo_panel, [("InvoicePaid", {"invoiceid": 4})])

    def inbox_rows() -> int:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(inbox)).scalar() or 0)

    bad = _config(tmp_path, demo_panel, "[serve]\ninterval = -5\n")
    assert _cli("--config", str(bad), "run") == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {bad}, key 'serve.interval': expected seconds from 1 to 86400, got -5"
    with socket.socket() as busy:  # a port in use: once a traceback, after a first cycle
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        good = _config(tmp_path, demo_panel, f"[serve]\nport = {port}\ninterval = 1\n")
        assert _cli("--config", str(good), "serve") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        err[-1]
        == f"error: {good}, key 'serve.port': port {port} on 127.0.0.1 is in use (another serve?)"
    )
    assert inbox_rows() == 1  # no cycle ran
    engine.dispose()
