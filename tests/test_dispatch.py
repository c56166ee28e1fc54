"""Intake from the inbox and dispatch: once per event and plugin, failures isolated, crash-safe."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.engine import make_url

from whmcs_bridge import hookimpl
from whmcs_bridge.config import OUTCOMES_PER_COMMIT
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.events.store import list_events, retry_event
from whmcs_bridge.lock import cycle_lock, server_lock_name
from whmcs_bridge.panel.database import Panel
from whmcs_bridge.store.migrate import upgrade
from whmcs_bridge.store.tables import events, inbox, quarantine
from whmcs_bridge.testing.bridges import make_bridge

ROOT = Path(__file__).resolve().parent.parent


def hook_rows(url: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
    engine = create_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(inbox),
            [
                {
                    "hook": hook,
                    "payload": json.dumps(payload),
                    "origin": "clientarea",
                    "created_at": datetime(2026, 11, 26, 10, 0),
                }
                for hook, payload in rows
            ],
        )
    engine.dispose()


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    @hookimpl
    def bridge_on_event(self, bridge: Any, event: Any) -> str:
        self.seen.append((event.name, event.subject_id))
        return "noted"


class Failing:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def bridge_on_event(self, bridge: Any, event: Any) -> None:
        self.calls += 1
        raise RuntimeError("printer on fire")


def test_inbox_rows_become_events_once(demo_panel: str) -> None:
    recorder = Recorder()
    bridge = make_bridge(demo_panel, plugins=[("recorder", recorder)])
    run_cycle(bridge)  # baseline
    hook_rows(
        demo_panel,
        [
            ("InvoicePaid", {"invoiceid": 4}),
            ("InvoicePaid", {"invoiceid": 4}),
            ("AfterModuleSuspend", {"serviceid": 2, "client_id": 2, "pid": 2, "suspendreason": ""}),
        ],
    )
    with create_engine(demo_panel).begin() as conn:  # what WHMCS itself changed
        conn.exec_driver_sql("UPDATE tblhosting SET domainstatus='Suspended' WHERE id=2")
        conn.exec_driver_sql("UPDATE tblinvoices SET status='Paid' WHERE id=4")
    report = run_cycle(bridge)
    assert report.intake["inbox_rows"] == 3
    assert sorted(recorder.seen) == [("invoice.paid", 4), ("service.suspended", 2)]
    with bridge.panel.connect() as conn:
        found = {e.name: e for e, _ in list_events(conn)}
        assert conn.execute(select(func.count()).select_from(inbox)).scalar() == 0
    assert found["invoice.paid"].client_id == 4  # looked up from tblinvoices
    assert found["service.suspended"].origin == "clientarea"
    run_cycle(bridge)
    assert len(recorder.seen) == 2


def test_malformed_rows_are_quarantined_with_reason(demo_panel: str) -> None:
    bridge = make_bridge(demo_panel)
    hook_rows(demo_panel, [("InvoicePaid", {"invoiceid": "abc"}), ("NoSuchHook", {"x": 1})])
    engine = create_engine(demo_panel)
    with engine.begin() as conn:
        conn.execute(
            insert(inbox).values(
                hook="InvoicePaid",
                payload="{not json",
                origin="admin",
                created_at=datetime(2026, 11, 26),
            )
        )
    report = run_cycle(bridge)
    assert report.intake["quarantined"] == 3
    with engine.connect() as conn:
        reasons = sorted(r.reason for r in conn.execute(select(quarantine)))
    assert any("not a number" in r for r in reasons)
    assert any("unknown hook 'NoSuchHook'" in r for r in reasons)
    assert any("Expecting property name" in r for r in reasons)


@pytest.mark.parametrize("per_commit", [1, 100])
def test_failing_plugin_does_not_block_others_and_is_quarantined(
    demo_panel: str, per_commit: int
) -> None:
    recorder, failing = Recorder(), Failing()
    run = {"max_tries": 3, "retry_base_seconds": 0, "outcomes_per_commit": per_commit}
    bridge = make_bridge(
        demo_panel,
        config={"run": run},
        plugins=[("recorder", recorder), ("failing", failing)],
    )
    hook_rows(demo_panel, [("InvoicePaid", {"invoiceid": 4})])
    first = run_cycle(bridge)
    assert recorder.seen == [("invoice.paid", 4)] and first.dispatch["failed"] == 1
    assert not first.ok and "printer on fire" in first.errors[0]
    run_cycle(bridge)
    third = run_cycle(bridge)
    assert failing.calls == 3 and third.dispatch["quarantined"] == 1
    run_cycle(bridge)
    assert failing.calls == 3 and recorder.seen == [("invoice.paid", 4)]
    with bridge.panel.connect() as conn:
        ((event, outcomes),) = list_events(conn)
    assert {o["plugin"]: o["status"] for o in outcomes} == {
        "recorder": "done",
        "failing": "quarantined",
    }
    with bridge.panel.begin() as conn:
        assert retry_event(conn, event.id, datetime(2026, 11, 26)) == 1
    run_cycle(bridge)
    assert failing.calls == 4 and recorder.seen == [("invoice.paid", 4)]


CRASHING_PLUGIN = """
import os, time
from pathlib import Path
from whmcs_bridge import hookimpl

LOG = Path(os.environ["WB_RECORD"])

@hookimpl
def bridge_on_event(bridge, event):
    if os.environ.get("WB_HANG_ON") == str(event.subject_id):
        Path(os.environ["WB_READY"]).write_text("in flight")
        time.sleep(60)
    with LOG.open("a") as f:
        f.write(f"{event.id}\\n")
"""


@pytest.mark.parametrize(
    ("per_commit", "count", "first"),
    [(1, 20, 10), (4, 20, 10), (None, 150, 130)],
    ids=["1", "4", "default"],
)
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("8.4", marks=pytest.mark.mariadb)])
def test_kill_9_between_intake_and_dispatch(
    tmp_path: Path,
    demo_panel: str,
    kind: str,
    per_commit: int | None,
    count: int,
    first: int,
    request: pytest.FixtureRequest,
) -> None:
    """Killed while a handler hangs: the next run handles every event; those whose outcomes
    were committed are not handled again (all of them with one event's outcomes per commit;
    otherwise all but fewer than ``outcomes_per_commit``, the last handled before the kill:
    with the default of 100, at most 99 of the 130)."""
    url = demo_panel if kind == "sqlite" else request.getfixturevalue("mariadb_84")
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "crashy.py").write_text(CRASHING_PLUGIN)
    config = tmp_path / "bridge.toml"
    run = "" if per_commit is None else f"[run]\noutcomes_per_commit = {per_commit}\n"
    config.write_text(
        f'[panel]\ndatabase_url = "{url}"\n{run}'
        '[plugins]\nenabled = ["crashy"]\nplugins_dir = "plugins"\n'
    )
    bound = per_commit or OUTCOMES_PER_COMMIT
    hang_on = 20 + first  # events 20.. are stored; the handler hangs after ``first`` of them
    record, ready = tmp_path / "record.txt", tmp_path / "ready"
    env = {
        **os.environ,
        "WB_RECORD": str(record),
        "WB_READY": str(ready),
        "WB_HANG_ON": str(hang_on),
    }
    command = [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "run"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)  # baseline
    hook_rows(url, [("InvoicePaid", {"invoiceid": i}) for i in range(20, 20 + count)])
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    for _ in range(400):
        if ready.exists():
            break
        time.sleep(0.05)
    assert ready.exists(), f"the cycle never reached event {hang_on}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = record.read_text().split()
    assert len(before) == first  # handled before the kill
    env.pop("WB_HANG_ON")
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    handled = record.read_text().split()
    assert len(set(handled)) == count  # every event
    again = [event for event in before if handled.count(event) > 1]
    # Handled again: only the last events before the kill, fewer than one commit's worth.
    assert len(again) < bound and again == before[len(before) - len(again) :]
    engine = create_engine(url)
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(events).where(events.c.settled_at.is_(None))
            ).scalar()
            == 0
        )


def test_admin_service_edit_is_checked_at_once(
    demo_panel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from whmcs_bridge.intake.watchers import base

    monkeypatch.setattr(base, "SWEEP_SLICE", 1)  # the sweep would take cycles to get there
    recorder = Recorder()
    bridge = make_bridge(demo_panel, plugins=[("recorder", recorder)])
    run_cycle(bridge)
    run_cycle(bridge)
    with create_engine(demo_panel).begin() as conn:  # an admin terminates a service by hand
        conn.exec_driver_sql("UPDATE tblhosting SET domainstatus='Terminated' WHERE id=6")
    hook_rows(demo_panel, [("AdminServiceEdit", {"serviceid": 6, "client_id": 5})])
    run_cycle(bridge)
    assert recorder.seen == [("service.terminated", 6)]


class CycleFailed(RuntimeError):
    """What a cycle raised; the lock's release must not replace it."""


def _kill_lock_holder(url: str, lock_name: str) -> None:
    """End, from another session, the session holding ``lock_name`` (as a server restart or a
    wait_timeout would)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        holder = conn.exec_driver_sql("SELECT IS_USED_LOCK(%s)", (lock_name,)).scalar()
        assert holder is not None
        conn.exec_driver_sql(f"KILL {int(holder)}")
    engine.dispose()


@pytest.mark.mariadb
@pytest.mark.parametrize("fails", [False, True], ids=["returns", "raises"])
def test_a_lost_lock_connection_does_not_hide_the_cycle_result(
    mariadb_84: str, fails: bool, caplog: pytest.LogCaptureFixture
) -> None:
    panel = Panel(make_url(mariadb_84))
    lock_name = server_lock_name(panel)
    try:
        with caplog.at_level(logging.WARNING, logger="whmcs_bridge.lock"):
            if fails:
                with pytest.raises(CycleFailed), cycle_lock(panel):
                    _kill_lock_holder(mariadb_84, lock_name)
                    raise CycleFailed("the cycle's own error")
            else:
                with cycle_lock(panel):
                    _kill_lock_holder(mariadb_84, lock_name)
        assert "could not release lock" in caplog.text
        with cycle_lock(panel):  # the server freed the lock with the session
            pass
    finally:
        panel.dispose()
