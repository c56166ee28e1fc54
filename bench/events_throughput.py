"""Benchmark (b) and (c): fresh events through intake and dispatch to a no-op plugin.

    python bench/events_throughput.py [URL] [--count N] [--sqlite] [--schema 8.4|7.8]
                                      [--traced N[,N...]] [--outcomes-per-commit N]

Default: a fresh MariaDB database with the stock WHMCS 8.4 schema (dropped at the end);
``--sqlite`` uses a fresh SQLite panel instead, URL any panel the bridge can open.

Writes ``--count`` inbox rows (default 10,000) as the hook file would (a mix of hooks, a fifth of
them repeatable alerts keyed per occurrence), then runs cycles until every event is settled;
prints events per second for intake and dispatch together, the SQL statements and the process's
CPU per event. Then, for each ``--traced`` batch size (default: the same count), writes a batch
and drains it again under ``tracemalloc``: the memory peak must not grow with the batch
(``--traced 10000,100000`` shows it; the tracer slows Python several times, so it is not timed).
``--outcomes-per-commit`` sets ``[run] outcomes_per_commit`` (default: the config's, 100; 1
commits each event's outcomes as its handlers return).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select

from whmcs_bridge import hookimpl
from whmcs_bridge.config import OUTCOMES_PER_COMMIT
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.store.tables import events, inbox
from whmcs_bridge.testing.bridges import make_bridge, sqlite_panel
from whmcs_bridge.testing.mariadb import drop_database, load_whmcs_schema

COUNT = 10_000
WRITE_PAGE = 10_000  # inbox rows per INSERT when filling the inbox


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
        for i in range(offset, offset + count)
    ]


def fill_inbox(bridge: Any, count: int, offset: int) -> None:
    """Write ``count`` rows in pages, so that filling a large batch stays small too."""
    for start in range(0, count, WRITE_PAGE):
        with bridge.panel.begin() as conn:
            conn.execute(insert(inbox), inbox_rows(min(WRITE_PAGE, count - start), offset + start))


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


def count_events(bridge: Any) -> int:
    with bridge.panel.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar() or 0)


def measure(url: str, count: int, traced: list[int], per_commit: int) -> None:
    config = {"run": {"outcomes_per_commit": per_commit}}
    bridge = make_bridge(url, config=config, plugins=[("noop", NoOp())])
    run_cycle(bridge)  # baseline of the watchers
    statements = [0]

    @event.listens_for(bridge.panel.engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        statements[0] += 1

    fill_inbox(bridge, count, 0)
    statements[0] = 0
    # Timed without the memory tracer, which slows Python several times (but not SQL).
    cpu = time.process_time()
    elapsed, cycles = drain(bridge)
    cpu = time.process_time() - cpu
    stored = count_events(bridge)
    print(
        f"{stored} events through intake and dispatch in {elapsed:.2f} s over {cycles} cycles: "
        f"{stored / elapsed:.0f} events/s; {statements[0] / stored:.2f} SQL statements and "
        f"{cpu / stored * 1e6:.0f} us of this process's CPU per event "
        f"(outcomes of {per_commit} event(s) per commit)",
        flush=True,
    )
    offset = count
    for size in traced:
        fill_inbox(bridge, size, offset)
        offset += size
        before = count_events(bridge)
        tracemalloc.start()
        drain(bridge)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"batch of {count_events(bridge) - before} events (traced): "
            f"memory peak {peak / 2**20:.1f} MB",
            flush=True,
        )
    bridge.panel.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="a panel database (default: a fresh one)")
    parser.add_argument("--count", type=int, default=COUNT, help="events in the timed batch")
    parser.add_argument("--sqlite", action="store_true", help="a fresh SQLite panel")
    parser.add_argument("--schema", default="8.4", choices=("8.4", "7.8"), help="stock schema")
    parser.add_argument(
        "--traced",
        default=None,
        help='batch sizes drained under tracemalloc, comma-separated (default: --count; "": none)',
    )
    parser.add_argument(
        "--outcomes-per-commit",
        type=int,
        default=OUTCOMES_PER_COMMIT,
        help="[run] outcomes_per_commit (default %(default)s, the config's)",
    )
    args = parser.parse_args()
    sizes = str(args.count) if args.traced is None else args.traced  # "": none
    traced = [int(n) for n in sizes.split(",") if n.strip()]
    if args.url:
        measure(args.url, args.count, traced, args.outcomes_per_commit)
    elif args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            url = sqlite_panel(Path(folder) / "panel.sqlite")
            measure(url, args.count, traced, args.outcomes_per_commit)
    else:
        url = load_whmcs_schema(args.schema)
        try:
            measure(url, args.count, traced, args.outcomes_per_commit)
        finally:
            drop_database(url)


if __name__ == "__main__":
    main()
