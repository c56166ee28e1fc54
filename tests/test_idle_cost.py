"""An idle cycle costs the same on a small panel and on one ten times larger (issue 17), and what
the sweeps gave up for it is found another way: the activity log names the client at once.

Not a timing test: it counts the SQL statements of an idle intake and, on MariaDB, the rows the
server examined for them (the session's ``Handler_read_*`` counters), on SQLite and on the stock
WHMCS 8.4 and 7.8 schemas.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import event, func, select
from test_watchers import Panel, seed
from test_watchers import database as database  # the fixture, by its name
from test_watchers import panel as panel  # the fixture, by its name

from whmcs_bridge.events.model import Event
from whmcs_bridge.intake.watchers import base as watcher_base

SLICE = 4


@pytest.fixture(autouse=True)
def thin_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watcher_base, "OPEN_SLICE", SLICE)
    monkeypatch.setattr(watcher_base, "SWEEP_SLICE", SLICE)


def grow(p: Panel, client: int, count: int) -> None:
    """``count`` clients, each with a service (some Suspended or Pending) and two invoices."""
    for n in range(count):
        owner = p.insert("clients", firstname=f"Bulk{n}", email=f"bulk{n}@example.com")
        status = "Suspended" if n % 3 == 0 else "Pending" if n % 7 == 0 else "Active"
        p.insert("hosting", userid=owner, domainstatus=status, domain=f"b{n}.test")
        p.insert("invoices", userid=owner, status="Unpaid" if n % 2 else "Paid")
        p.insert("invoices", userid=client, status="Paid")


class Meter:
    """Statements of the intake and, on MariaDB, the rows the server examined for them."""

    READS = ("first", "key", "last", "next", "prev", "rnd", "rnd_next")

    def __init__(self, p: Panel) -> None:
        self.engine = p.bridge.panel.engine
        self.mariadb = p.backend != "sqlite"
        self.statements = 0
        self.examined = 0

    def _handler_reads(self, dbapi_cursor: Any) -> int:
        raw = dbapi_cursor.connection.cursor()
        raw.execute("SHOW SESSION STATUS LIKE 'Handler_read%%'")
        counts = {name.lower(): int(value) for name, value in raw.fetchall()}
        raw.close()
        return sum(counts.get(f"handler_read_{kind}", 0) for kind in self.READS)

    def before(self, conn: Any, cursor: Any, *args: Any) -> None:
        self.statements += 1
        if self.mariadb:
            conn.info["reads_before"] = self._handler_reads(cursor)

    def after(self, conn: Any, cursor: Any, *args: Any) -> None:
        if self.mariadb:
            self.examined += self._handler_reads(cursor) - conn.info.pop("reads_before")

    def idle_cycles(self, p: Panel, cycles: int) -> tuple[int, int]:
        """The most statements and rows examined of ``cycles`` idle intakes."""
        most = (0, 0)
        event.listen(self.engine, "before_cursor_execute", self.before)
        event.listen(self.engine, "after_cursor_execute", self.after)
        try:
            for _ in range(cycles):
                self.statements = self.examined = 0
                assert p.intake() == []
                most = (max(most[0], self.statements), max(most[1], self.examined))
        finally:
            event.remove(self.engine, "before_cursor_execute", self.before)
            event.remove(self.engine, "after_cursor_execute", self.after)
        return most


def test_an_idle_cycle_costs_the_same_on_a_panel_ten_times_larger(panel: Panel) -> None:
    ids = seed(panel)
    grow(panel, ids["c1"], 12)
    assert panel.intake() == []
    with panel.bridge.panel.connect() as conn:
        services = conn.execute(select(func.count()).select_from(panel.tables.hosting)).scalar()
    rounds = 2 * math.ceil(services / SLICE) + 2  # every slice of the small panel, twice
    small = Meter(panel).idle_cycles(panel, rounds)

    grow(panel, ids["c2"], 120)
    assert panel.intake()  # the new rows: news, then the panel is idle again
    large = Meter(panel).idle_cycles(panel, rounds)

    assert large[0] == small[0], (small, large)
    if panel.backend != "sqlite":
        # The slices read as many rows on both; only where a slice ends differs a little.
        assert large[1] <= small[1] * 1.25, (small, large)


@pytest.mark.parametrize("logged", [True, False])
def test_a_logged_client_edit_is_found_next_cycle_not_by_the_sweep(
    panel: Panel, logged: bool
) -> None:
    ids = seed(panel)
    grow(panel, ids["c1"], 3 * SLICE)
    assert panel.intake() == []
    assert panel.intake() == []  # the sweep's first slice (c1, c2, ...) is behind it now
    target = ids["c2"]
    panel.update("clients", target, city="Mendoza")
    if logged:  # the line WHMCS writes with a profile edit (reference §1.19: the client in userid)
        panel.log(f"Client Profile Modified - User ID: {target}", target)

    found = [(e.name, e.subject_id) for e in panel.intake()]

    assert found == ([("client.details_changed", target)] if logged else [])


def test_a_logged_contact_change_is_found_next_cycle(panel: Panel) -> None:
    ids = seed(panel)
    grow(panel, ids["c1"], 3 * SLICE)
    for n in range(3 * SLICE):
        panel.insert("contacts", userid=ids["c2"], firstname=f"Pad{n}")
    assert panel.intake() == []
    last = panel.insert("contacts", userid=ids["c2"], firstname="Last")
    assert [e.name for e in panel.intake()] == ["contact.added"]
    panel.update("contacts", last, email="last@example.com")
    panel.log(f"Contact Modified - User ID: {ids['c2']} - Contact ID: {last}", ids["c2"])

    found = panel.intake()

    assert [(e.name, e.subject_id) for e in found] == [("contact.changed", last)]


def test_an_open_service_moved_without_a_log_line_is_found_by_the_sweep(panel: Panel) -> None:
    ids = seed(panel)
    grow(panel, ids["c1"], 3 * SLICE)
    assert panel.intake() == []
    with panel.bridge.panel.connect() as conn:
        services = conn.execute(select(func.count()).select_from(panel.tables.hosting)).scalar()
    # The open slice compares statuses through the index: a move keeps the status.
    panel.update("hosting", ids["s_susp"], userid=ids["c2"])
    found: list[Event] = []
    for _ in range(math.ceil(services / SLICE) + 1):
        found.extend(panel.intake())

    assert [(e.name, e.subject_id, e.client_id) for e in found] == [
        ("service.moved", ids["s_susp"], ids["c2"])
    ]
    assert found[0].data == {"from_client_id": ids["c1"], "to_client_id": ids["c2"]}
