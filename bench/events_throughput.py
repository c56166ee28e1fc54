"""Benchmark (b) and (c): 10,000 fresh events through intake and dispatch to a no-op plugin.

    python bench/events_throughput.py [URL]   (default: a fresh MariaDB 8.4 stock schema)

Writes 10,000 inbox rows as the hook file would (a mix of hooks), then runs cycles until every
event is settled; prints events per second for intake and dispatch together, and the memory peak.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from whmcs_bridge import hookimpl
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.store.tables import events, inbox
from whmcs_bridge.testing.bridges import make_bridge
from whmcs_bridge.testing.mariadb import load_whmcs_schema

COUNT = 10_000


class NoOp:
    """The cheapest possible plugin: dispatch cost is the bridge's own."""

    @hookimpl
    def bridge_on_event(self, bridge: Any, event: Any) -> None:
        return None


def inbox_rows(count: int, offset: int = 0) -> list[dict[str, Any]]:
    hooks = [
        ("InvoiceCreated", lambda i: {"invoiceid": i, "source": "autogen"}),
        ("InvoicePaid", lambda i: {"invoiceid": i}),
        ("ClientAdd", lambda i: {"client_id": i, "user_id": i}),
        ("TicketOpen", lambda i: {"ticketid": i, "client_id": i % 500 + 1, "deptid": 1}),
        (
            "AfterModuleSuspend",
            lambda i: {"serviceid": i, "client_id": i % 500 + 1, "pid": 1, "suspendreason": ""},
        ),
    ]
    now = datetime.now().replace(microsecond=0)
    return [
        {
            "hook": hooks[i % len(hooks)][0],
            "payload": json.dumps(hooks[i % len(hooks)][1](i + 1)),
            "origin": "cron",
            "created_at": now,
        }
        for i in range(count)
    ]


def drain(bridge: Any) -> tuple[float, int]:
    """Run cycles until every inbox row is an event every plugin has handled."""
    started = time.perf_counter()
    cycles = 0
    while True:
        report = run_cycle(bridge)
        cycles += 1
        assert report.ok, report.errors
        with bridge.panel.connect() as conn:
            left = conn.execute(select(func.count()).select_from(inbox)).scalar()
            unsettled = conn.execute(
                select(func.count()).select_from(events).where(events.c.settled_at.is_(None))
            ).scalar()
        if not left and not unsettled:
            return time.perf_counter() - started, cycles


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else load_whmcs_schema("8.4")
    bridge = make_bridge(url, plugins=[("noop", NoOp())])
    run_cycle(bridge)  # baseline of the watchers
    with bridge.panel.begin() as conn:
        conn.execute(insert(inbox), inbox_rows(COUNT))
    # Timed without the memory tracer, which slows Python several times (but not SQL).
    elapsed, cycles = drain(bridge)
    with bridge.panel.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(events)).scalar()
    with bridge.panel.begin() as conn:
        conn.execute(insert(inbox), inbox_rows(COUNT, offset=COUNT))
    tracemalloc.start()
    drain(bridge)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{stored} events through intake and dispatch in {elapsed:.2f} s over {cycles} cycles: "
        f"{stored / elapsed:.0f} events/s; memory peak {peak / 2**20:.1f} MB (second batch, traced)"
    )


if __name__ == "__main__":
    main()
