"""Intake and dispatch a page at a time (issue 17): per-page lookups find what per-row ones did,
and outcomes written in groups are not lost when dispatch stops in the middle of a group."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from whmcs_bridge import hookimpl
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.events.model import Event, event_key
from whmcs_bridge.events.store import record_events
from whmcs_bridge.intake import inbox, run_intake
from whmcs_bridge.sandbox.hook_rows import write_hook_row
from whmcs_bridge.store.tables import events, outcomes
from whmcs_bridge.testing.bridges import make_bridge


def _watcher_report(service_id: int, seen: Any) -> Event:
    """``service.suspended`` as the services watcher stores it (keyed by the moment seen)."""
    return Event(
        key=event_key("service.suspended", service_id, f"{seen:%Y-%m-%dT%H:%M:%S}"),
        name="service.suspended",
        subject_type="service",
        subject_id=service_id,
        occurred_at=seen,
        source="watcher",
        client_id=1,
    )


def test_a_page_of_occurrences_takes_the_keys_of_the_watchers_reports(
    empty_panel: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "LOOKUP_CHUNK", 2)  # three subjects: two lookup queries
    _, url = empty_panel
    bridge = make_bridge(url)
    now = bridge.clock.panel_now().replace(microsecond=0)
    near = _watcher_report(1, now - timedelta(seconds=30))
    older = _watcher_report(1, now - timedelta(seconds=90))
    far = _watcher_report(2, now - timedelta(seconds=inbox.SAME_CHANGE_SECONDS + 60))
    with bridge.panel.begin() as conn:
        record_events(conn, [older, near, far], now)
        for service_id in (1, 2, 3, 1):
            values = {"serviceid": service_id, "client_id": 1, "pid": 1, "suspendreason": ""}
            write_hook_row(conn, "AfterModuleSuspend", values, now)

    report = run_intake(bridge)

    assert (report.inbox_rows, report.found, report.new_events) == (4, 4, 2)
    with bridge.panel.connect() as conn:
        keys = {
            row.event_key: row.source
            for row in conn.execute(select(events.c.event_key, events.c.source))
        }
    # Service 1: both rows are the change the watcher saw last (its newest report in the window).
    assert keys[near.key] == keys[older.key] == keys[far.key] == "watcher"
    hook_keys = sorted(key for key, source in keys.items() if source == "hook")
    assert [key.rsplit(":", 3)[0] for key in hook_keys] == [
        "service.suspended:2",
        "service.suspended:3",
    ]
    assert all("#" in key for key in hook_keys)  # keyed by their own occurrence


class StopsAt:
    """Records each event it is given; on the event of subject ``stop_at`` the process "dies"
    (an exception no plugin isolation catches, as a lost lock or ^C)."""

    def __init__(self, stop_at: int | None) -> None:
        self.stop_at = stop_at
        self.seen: list[int] = []

    @hookimpl
    def bridge_on_event(self, bridge: Any, event: Any) -> None:
        if event.subject_id == self.stop_at:
            raise KeyboardInterrupt
        self.seen.append(event.subject_id)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("8.4", marks=pytest.mark.mariadb)])
def test_a_dispatch_stopped_mid_group_keeps_the_outcomes_of_the_handlers_that_ran(
    kind: str, demo_panel: str, request: pytest.FixtureRequest
) -> None:
    url = demo_panel if kind == "sqlite" else request.getfixturevalue("mariadb_84")
    plugin = StopsAt(stop_at=1007)
    bridge = make_bridge(
        url, config={"run": {"outcomes_per_commit": 100}}, plugins=[("stops", plugin)]
    )
    run_cycle(bridge)  # baseline
    with bridge.panel.begin() as conn:
        for invoice_id in range(1000, 1012):
            write_hook_row(conn, "InvoicePaid", {"invoiceid": invoice_id}, bridge.clock.panel_now())

    with pytest.raises(KeyboardInterrupt):
        run_cycle(bridge)

    assert plugin.seen == list(range(1000, 1007))
    with bridge.panel.connect() as conn:
        written = conn.execute(select(func.count()).select_from(outcomes)).scalar()
    assert written == 7  # the group of seven was written on the way out, not lost
    plugin.stop_at = None
    report = run_cycle(bridge)
    assert report.ok and report.dispatch["done"] == 5
    assert plugin.seen == list(range(1000, 1012))  # each once
