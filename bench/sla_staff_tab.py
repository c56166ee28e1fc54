"""Benchmark: the staff page's SLA tab over 10,000 open tickets (issue 16; ``sla status``'s
bench is the baseline: under a second).

    python bench/sla_staff_tab.py [URL | --sqlite] [--tickets 10000] [--clients 4000] [--runs 3]

The panel is filled as in ``bench/sla_status.py`` (tickets opened over the last 90 days, a
third of them with replies); the tab computes ``sla status`` (every waiting ticket, the first
200 drawn) and this month's ``sla report``. Measured before any cycle (every deadline computed)
and after one (deadlines stored). Printed: wall seconds per tab, best and median, with the
number of waiting tickets and report groups, and the best CPU seconds of this process. Exit
status 1 when a best run takes 1.5 s or more.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sla_status import NOW, SLA, fill  # noqa: E402
from whmcs_bridge.plugins.sla import tasks  # noqa: E402
from whmcs_bridge.plugins.sla.deadlines import store_clocks, survey  # noqa: E402
from whmcs_bridge.plugins.sla.staff_tab import sla_tab  # noqa: E402

from whmcs_bridge.store.migrate import upgrade  # noqa: E402
from whmcs_bridge.testing.bridges import make_bridge, sqlite_panel  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="a panel database URL (default: fresh MariaDB 8.4)")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    drop = None
    if args.sqlite:
        url = sqlite_panel(Path(tempfile.mkdtemp()) / "panel.sqlite", seed=False)
    elif args.url:
        url = args.url
    else:
        from whmcs_bridge.testing.mariadb import drop_database, load_whmcs_schema

        url, drop = load_whmcs_schema("8.4"), drop_database
    try:
        bridge = make_bridge(url, config={"plugins": {"enabled": ["sla"], "sla": SLA}}, now=NOW)
        upgrade(bridge.panel.engine, bridge.plugins.migrations())
        fill(bridge, args.tickets, args.clients)
        backend = "sqlite" if args.sqlite else bridge.panel.backend
        results = {}
        for scenario in ("before any cycle (every deadline computed)", "after a cycle (stored)"):
            if scenario.startswith("after"):
                with bridge.panel.connect() as conn:
                    _, waiting = survey(conn, bridge.panel.tables, tasks.timer_of(bridge))
                with bridge.panel.begin() as conn:
                    store_clocks(conn, waiting, "sync", bridge.clock.panel_now())
            times, cpu = [], []
            for _ in range(args.runs):
                started, started_cpu = time.perf_counter(), time.process_time()
                tab = sla_tab(bridge, "es")
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
            results[scenario] = min(times)
            print(
                f"SLA tab, {backend}, {scenario}: {args.tickets} open tickets; {tab.summary} "
                f"{len(tab.sections[1].rows)} report groups; best {min(times):.3f} s, median "
                f"{statistics.median(times):.3f} s (runs {', '.join(f'{t:.3f}' for t in times)}); "
                f"CPU best {min(cpu):.3f} s"
            )
        bridge.close()
        return 0 if max(results.values()) < 1.5 else 1
    finally:
        if drop is not None:
            drop(url)


if __name__ == "__main__":
    sys.exit(main())
