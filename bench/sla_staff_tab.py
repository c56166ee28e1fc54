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

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sla_status import bench  # noqa: E402
from whmcs_bridge.plugins.sla.staff_tab import sla_tab  # noqa: E402


def main() -> int:
    return bench(
        __doc__.split("\n\n")[0],
        "SLA tab",
        lambda bridge: sla_tab(bridge, "es"),
        lambda tab: f"; {tab.summary} {len(tab.sections[1].rows)} report groups",
        limit=1.5,
    )


if __name__ == "__main__":
    sys.exit(main())
