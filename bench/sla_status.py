"""Benchmark: ``sla status`` over 10,000 open tickets (issue 14: under a second).

    python bench/sla_status.py [URL | --sqlite] [--tickets 10000] [--clients 4000] [--runs 3]

Default panel: a fresh MariaDB database with the stock WHMCS 8.4 schema (dropped at the end);
``--sqlite`` uses a temporary SQLite file. The panel gets ``--clients`` clients (a third with a
service of a product mapped to a plan, a tenth in a mapped client group), four departments (two
of them with an SLA kind), ``--tickets`` open tickets opened over the last 90 days, and replies
on a third of them (client replies, staff replies, reopened tickets). Measured twice: before any
cycle (no stored clock: every plan and deadline computed on the spot) and after one (every
deadline stored, as in steady use).

Printed: wall seconds per ``sla status`` (the same work as ``whmcs-bridge sla status --json``
minus printing), best and median of ``--runs``, with the number of rows, and the best CPU
seconds of this process (the database server's time is in the wall figure only); the first run
includes building the holiday tables. Exit status 1 when a best run takes 1 s or more.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from whmcs_bridge.plugins.sla import report, tasks  # noqa: E402
from whmcs_bridge.plugins.sla.deadlines import store_clocks, survey  # noqa: E402

from whmcs_bridge.panel.rows import blank_row  # noqa: E402
from whmcs_bridge.store.migrate import upgrade  # noqa: E402
from whmcs_bridge.testing.bridges import make_bridge, sqlite_panel  # noqa: E402

T = TypeVar("T")
NOW = datetime(2026, 11, 27, 19, 30, tzinfo=UTC)
SLA = {
    "products": {"Soporte Full": "full", "Soporte Premium": "premium"},
    "client_groups": {"Corporativos": "professional"},
    "departments": {"Desarrollo web": 4, "Mantenimiento": 2},
    "critical_departments": ["Urgencias"],
}


def blanks(table: object, values: dict[str, object]) -> dict[str, object]:
    """Values plus what WHMCS leaves to MySQL's non-strict mode."""
    return blank_row(table, **values)  # type: ignore[arg-type]


def fill(bridge: object, tickets: int, clients: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    t = bridge.panel.tables  # type: ignore[attr-defined]
    local_now = NOW.astimezone(bridge.clock.timezone).replace(tzinfo=None)  # type: ignore[attr-defined]
    with bridge.panel.begin() as conn:  # type: ignore[attr-defined]
        depts = ["Soporte", "Desarrollo web", "Mantenimiento", "Urgencias"]
        conn.execute(
            insert(t.ticketdepartments),
            [blanks(t.ticketdepartments, {"id": i + 1, "name": n}) for i, n in enumerate(depts)],
        )
        conn.execute(
            insert(t.clientgroups), [blanks(t.clientgroups, {"id": 1, "groupname": "Corporativos"})]
        )
        products = ["Hosting", "Soporte Full", "Soporte Premium"]
        conn.execute(
            insert(t.products),
            [blanks(t.products, {"id": i + 1, "name": n}) for i, n in enumerate(products)],
        )
        conn.execute(
            insert(t.clients),
            [
                blanks(
                    t.clients,
                    {
                        "id": i,
                        "firstname": f"C{i}",
                        "email": f"c{i}@x.test",
                        "groupid": int(i % 10 == 0),
                    },
                )
                for i in range(1, clients + 1)
            ],
        )
        conn.execute(
            insert(t.hosting),
            [
                blanks(
                    t.hosting,
                    {"userid": i, "packageid": 1 + (i % 3), "domainstatus": "Active"},
                )
                for i in range(1, clients + 1)
                if i % 3 == 0 or i % 7 == 0
            ],
        )
        ticket_rows, reply_rows = [], []
        for i in range(1, tickets + 1):
            opened = local_now - timedelta(minutes=rng.randrange(0, 90 * 24 * 60))
            ticket_rows.append(
                blanks(
                    t.tickets,
                    {
                        "id": i,
                        "tid": f"BEN-{i:06d}",
                        "did": rng.randrange(1, 5),
                        "userid": rng.randrange(1, clients + 1),
                        "date": opened,
                        "title": "Consulta",
                        "message": "Hola, tengo un problema con mi sitio.",
                        "status": rng.choice(["Open", "Customer-Reply", "In Progress"]),
                        "urgency": rng.choice(["Low", "Medium", "High"]),
                        "lastreply": opened,
                    },
                )
            )
            if i % 3 == 0:
                pattern = rng.choice([[""], ["Staff"], ["Staff", ""], ["", "Staff", ""]])
                for n, admin in enumerate(pattern):
                    reply_rows.append(
                        blanks(
                            t.ticketreplies,
                            {
                                "tid": i,
                                "date": opened + timedelta(minutes=10 * (n + 1)),
                                "admin": admin,
                                "message": "...",
                            },
                        )
                    )
        for start in range(0, len(ticket_rows), 2000):
            conn.execute(insert(t.tickets), ticket_rows[start : start + 2000])
        for start in range(0, len(reply_rows), 2000):
            conn.execute(insert(t.ticketreplies), reply_rows[start : start + 2000])


def open_panel(description: str) -> tuple[argparse.Namespace, str, Callable[[str], None] | None]:
    """The benches' options, the panel's URL and how to drop it at the end (None: keep it)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("url", nargs="?", help="a panel database URL (default: fresh MariaDB 8.4)")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.sqlite:
        return args, sqlite_panel(Path(tempfile.mkdtemp()) / "panel.sqlite", seed=False), None
    if args.url:
        return args, args.url, None
    from whmcs_bridge.testing.mariadb import drop_database, load_whmcs_schema

    return args, load_whmcs_schema("8.4"), drop_database


def filled_bridge(url: str, args: argparse.Namespace) -> Any:
    """A bridge with the sla plugin over ``url``, its tables made, the panel filled."""
    bridge = make_bridge(url, config={"plugins": {"enabled": ["sla"], "sla": SLA}}, now=NOW)
    upgrade(bridge.panel.engine, bridge.plugins.migrations())
    fill(bridge, args.tickets, args.clients)
    return bridge


def scenarios(bridge: Any) -> Iterator[str]:
    """Before any cycle (every deadline computed), then after one stored the deadlines."""
    yield "before any cycle (every deadline computed)"
    with bridge.panel.connect() as conn:
        _, waiting = survey(conn, bridge.panel.tables, tasks.timer_of(bridge))
    with bridge.panel.begin() as conn:
        store_clocks(conn, waiting, "sync", bridge.clock.panel_now())
    yield "after a cycle (stored)"


def timed(runs: int, work: Callable[[], T]) -> tuple[list[float], list[float], T]:
    """Wall and CPU seconds of each of ``runs`` calls of ``work``, and its last answer."""
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        answer = work()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return times, cpu, answer


def runs_text(times: list[float], cpu: list[float]) -> str:
    return (
        f"best {min(times):.3f} s, median {statistics.median(times):.3f} s "
        f"(runs {', '.join(f'{t:.3f}' for t in times)}); CPU best {min(cpu):.3f} s"
    )


def bench(
    description: str, what: str, work: Callable[[Any], T], line: Callable[[T], str], limit: float
) -> int:
    """Fill a panel, time ``work(bridge)`` in both scenarios, print ``line(answer)`` for each;
    exit status 1 when a best run takes ``limit`` seconds or more."""
    args, url, drop = open_panel(description)
    try:
        bridge = filled_bridge(url, args)
        backend = "sqlite" if args.sqlite else bridge.panel.backend
        results = {}
        for scenario in scenarios(bridge):
            times, cpu, answer = timed(args.runs, lambda: work(bridge))
            results[scenario] = min(times)
            print(
                f"{what}, {backend}, {scenario}: {args.tickets} open tickets{line(answer)}; "
                f"{runs_text(times, cpu)}"
            )
        bridge.close()
        return 0 if max(results.values()) < limit else 1
    finally:
        if drop is not None:
            drop(url)


def main() -> int:
    return bench(
        __doc__.split("\n\n")[0],
        "sla status",
        lambda bridge: len(report.status(bridge)),
        lambda rows: f", {rows} waiting",
        limit=1.0,
    )


if __name__ == "__main__":
    sys.exit(main())
