"""Times in the panel's zone (issue 9 point 4): the hook file records PHP's zone; rows written
in another zone are read in ``[panel] timezone``, so a hook row and a watcher's report of the
same moment carry the same time; ``doctor`` says when the two zones differ."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import insert, select

# The hook file's php-cli harness and its php fixture (tests/test_hook_file.py).
from test_hook_file import PANEL_TZ, Panel
from test_hook_file import php as php  # the fixture, by its name

from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.doctor import zone_check
from whmcs_bridge.sandbox.hook_rows import write_hook_row
from whmcs_bridge.store.tables import events as events_t
from whmcs_bridge.store.tables import meta
from whmcs_bridge.testing.bridges import make_bridge, sqlite_panel, utc

NOW = utc(2026, 11, 26, 15, 0)  # 12:00 in Buenos Aires


def test_hook_rows_written_in_utc_are_read_in_the_panels_zone(tmp_path: Path) -> None:
    url = sqlite_panel(tmp_path / "panel.sqlite", date(2026, 11, 26))
    bridge = make_bridge(url, now=NOW)
    run_cycle(bridge)
    assert zone_check(bridge) is None  # no hook row yet: nothing to compare
    with bridge.panel.begin() as conn:
        conn.execute(insert(meta).values(name="php_timezone", value="UTC"))
        # PHP runs in UTC: it writes 15:00 for the moment the panel calls 12:00.
        write_hook_row(conn, "InvoicePaid", {"invoiceid": 4}, datetime(2026, 11, 26, 15, 0))
    run_cycle(bridge)
    with bridge.panel.connect() as conn:
        occurred = conn.execute(
            select(events_t.c.occurred_at).where(events_t.c.name == "invoice.paid")
        ).scalar_one()
    assert occurred == bridge.clock.panel_now() == datetime(2026, 11, 26, 12, 0)
    check = zone_check(bridge)
    assert check is not None and not check.ok
    assert check.detail.startswith(
        "PHP runs in UTC, [panel] timezone is America/Argentina/Buenos_Aires"
    )
    assert '[panel] timezone = "UTC"' in check.detail
    bridge.close()


def test_doctor_is_content_when_php_and_the_panel_agree(tmp_path: Path) -> None:
    url = sqlite_panel(tmp_path / "panel.sqlite", date(2026, 11, 26))
    bridge = make_bridge(url, now=NOW)
    with bridge.panel.begin() as conn:
        # Another name of the same zone (PHP's older alias) is the same clock.
        conn.execute(insert(meta).values(name="php_timezone", value="America/Buenos_Aires"))
    check = zone_check(bridge)
    assert check is not None and check.ok
    bridge.close()


def test_the_hook_file_records_phps_zone(php: str, tmp_path: Path) -> None:
    """Under php-cli (tests/php/harness.php) with date.timezone=America/Sao_Paulo."""
    panel = Panel(php, tmp_path)
    meta.create(panel.engine)
    fired = panel.fire(("InvoicePaid", {"invoiceid": 7}), ("InvoicePaid", {"invoiceid": 8}))
    assert fired.returncode == 0, fired.stderr
    with panel.engine.connect() as conn:
        rows = conn.execute(select(meta.c.name, meta.c.value)).all()
    assert [tuple(r) for r in rows] == [("php_timezone", PANEL_TZ)]
    assert len(panel.raw_rows()) == 2
