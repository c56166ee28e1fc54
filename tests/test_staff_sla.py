"""The SLA tab of the staff page (issue 16): the addon module under php-cli against a running
``serve`` on the sample panel (SQLite), with a fixed clock: tickets waiting for a first answer,
breached first, their time left in business hours, linked to the ticket; the month's report;
Spanish and English; headless chromium shows the tab."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from whmcs_bridge.plugins.sla.staff_tab import LIMIT, duration, time_left, waiting_section

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.sandbox.actions_common import insert_row
from whmcs_bridge.sandbox.staff_screenshots import dump_dom, save_page
from whmcs_bridge.testing.bridges import make_bridge
from whmcs_bridge.testing.staff import page_text, render_staff_page, serving

SECRET = "staff-sla-s3cret"
#: Thursday 26 November 2026, 12:00 in Buenos Aires (the sample panel's "today").
THURSDAY_NOON = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
ENGLISH = {"id": 2, "firstname": "John", "lastname": "Doe", "username": "john",
           "language": "english"}  # fmt: skip


@pytest.fixture
def bridge(demo_panel: str) -> Iterator[Bridge]:
    """The sample panel with the SLA plugin; its seeded ticket KQW-482913 (client 3, opened on
    Monday 23/11, a holiday) is long overdue. Client 2's 'Hosting Avanzado' is the premium plan
    (120 business minutes)."""
    config: dict[str, Any] = {
        "serve": {"wake_secret": SECRET},
        "plugins": {"enabled": ["sla"], "sla": {"products": {"Hosting Avanzado": "premium"}}},
    }
    made = make_bridge(demo_panel, config=config, now=THURSDAY_NOON)
    t = made.panel.tables
    with made.panel.begin() as conn:

        def ticket(tid: str, client: int, dept: int, opened: datetime) -> int:
            return insert_row(
                conn,
                t.tickets,
                {"tid": tid, "did": dept, "userid": client, "title": "Consulta",
                 "message": "Hola", "status": "Open", "urgency": "Medium", "date": opened,
                 "lastreply": opened},
            )  # fmt: skip

        # Premium, 105 of its 120 minutes gone: past the 75 % warning.
        ticket("WRN-000001", 2, 1, datetime(2026, 11, 26, 10, 15))
        # Standard (480 business minutes), opened an hour ago: 7 h left today, 1 h tomorrow.
        ticket("PEN-000001", 1, 2, datetime(2026, 11, 26, 11, 0))
        # Answered by staff after 40 minutes: in the report, not on the board.
        answered = ticket("ANS-000001", 4, 3, datetime(2026, 11, 26, 10, 0))
        insert_row(
            conn,
            t.ticketreplies,
            {"tid": answered, "userid": 0, "admin": "Ana Gómez", "message": "Hola",
             "date": datetime(2026, 11, 26, 10, 40)},
        )  # fmt: skip
    yield made
    made.close()


def test_the_sla_tab_in_spanish_and_english(bridge: Bridge) -> None:
    with serving(bridge) as url:
        page = render_staff_page(url, SECRET, tab="sla")
        english = page_text(render_staff_page(url, SECRET, tab="sla", admin=ENGLISH))
    text = page_text(page)
    assert "SLA 2" in text  # the badge: one overdue, one near its deadline
    assert (
        "3 tickets esperan primera respuesta: 1 vencido, 1 por vencer (horario hábil 10:00-17:00)"
    ) in text
    board = text.split("Tickets sin primera respuesta, por vencimiento")[1].split("Informe")[0]
    # Breached first, then by deadline; each with its plan, department and time left.
    assert board.index("#KQW-482913") < board.index("#WRN-000001") < board.index("#PEN-000001")
    assert (
        "#KQW-482913 Standard Soporte Técnico 25/11/2026 11:00 vencido hace 1 día 1 h hábiles"
    ) in board
    assert "#WRN-000001 Professional (Premium) Soporte Técnico 26/11/2026 12:15 " in board
    assert "quedan 15 min hábiles" in board
    assert "#PEN-000001 Standard Administración 27/11/2026 12:00 queda 1 día hábil" in board
    assert "ANS-000001" not in board  # answered: off the clock
    # Each linked to the ticket in the admin area; tone bad when breached, warn near the end.
    rows = re.findall(r"<tr( class=\"(\w+)\")?><td><a href=\"([^\"]+)\">#(\S+)</a>", page)
    assert [(tone, link, tid) for _, tone, link, tid in rows] == [
        ("danger", "supporttickets.php?action=view&amp;id=1", "KQW-482913"),
        ("warning", "supporttickets.php?action=view&amp;id=2", "WRN-000001"),
        ("", "supporttickets.php?action=view&amp;id=3", "PEN-000001"),
    ]
    # The month's report: per plan and department, first responses in business time.
    report = text.split("Informe de noviembre de 2026 (tickets abiertos en el mes)")[1]
    assert "Standard Ventas 1 40 min 40 min 100 % 0" in report
    assert "Standard Soporte Técnico 1 — — 0 % 1" in report
    assert "Incumplidos: #KQW-482913 (vencía 25/11/2026 11:00)" in report
    assert "Professional (Premium) Soporte Técnico 1 — — — 0" in report

    assert "3 tickets are waiting for a first response: 1 overdue, 1 near the deadline" in english
    assert "#KQW-482913 Standard Soporte Técnico 25/11/2026 11:00 overdue by 1 day 1 h" in english
    assert "15 min left (business hours)" in english
    assert "Report for November 2026" in english and "Standard Ventas 1 40 min 40 min 100% 0" in (
        english
    )
    assert "Breached: #KQW-482913 (due 25/11/2026 11:00)" in english


def test_chromium_shows_the_sla_tab(bridge: Bridge, tmp_path: Path) -> None:
    """A real browser (Debian's chromium, headless) loads the tab as rendered."""
    with serving(bridge) as url:
        page = render_staff_page(url, SECRET, tab="sla")
    dom = dump_dom(save_page(tmp_path, "sla", page), tmp_path / "profile")
    text = page_text(dom)
    assert "Addons > whmcs-bridge" in text and 'data-tab="sla"' in dom
    assert "vencido hace 1 día 1 h hábiles" in text and "Informe de noviembre de 2026" in text
    assert 'href="supporttickets.php?action=view&amp;id=1"' in dom


def test_time_left_words() -> None:
    day = 7 * 60  # a 10:00-17:00 business day
    assert time_left(135, False, "business", day, False) == "quedan 2 h 15 min hábiles"
    assert time_left(60, False, "business", day, False) == "queda 1 h hábil"
    assert time_left(-40, True, "business", day, False) == "vencido hace 40 min hábiles"
    assert time_left(0, True, "business", day, False) == "vencido"  # after hours, past due
    assert time_left(0, False, "business", day, False) == "queda menos de 1 min"
    assert time_left(-1500, True, "24x7", day, False) == "vencido hace 1 día 1 h"
    assert time_left(135, False, "business", day, True) == "2 h 15 min left (business hours)"
    assert time_left(-40, True, "24x7", day, True) == "overdue by 40 min"
    assert duration(3 * day + 125, day, False) == "3 días 2 h 5 min"
    assert time_left(day + 58, False, "business", day, False) == "quedan 1 día 58 min hábiles"
    assert duration(0, day, True) == "0 min" and duration(37.5, day, False) == "38 min"


def test_a_long_board_shows_the_first_rows_and_counts_them_all() -> None:
    def row(i: int, left: int) -> dict[str, Any]:
        return {"ticket_id": i, "tid": f"T-{i}", "plan": "standard", "p1": False,
                "department": "", "clock": "business", "target_minutes": 480,
                "deadline": "2026-11-26T16:00:00-03:00",
                "business_minutes_left": left, "breached": left < 0}  # fmt: skip

    # In sla status's order (by deadline), but breached rows last: they are drawn first.
    rows = [row(1000 + i, 100) for i in range(20)] + [row(i, 400) for i in range(LIMIT)]
    rows += [row(LIMIT + i, -5) for i in range(30)]
    section, breached, at_risk = waiting_section(rows, 0.75, 420, False)
    assert (len(section.rows), breached, at_risk) == (LIMIT, 30, 20)
    assert [r.tone for r in section.rows[:51]] == ["bad"] * 30 + ["warn"] * 20 + [""]
    assert section.rows[0].cells[2] == "—"
