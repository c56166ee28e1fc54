"""Benchmark (a) and (c): an idle cycle (nothing new in the panel) on a generated panel.

    python bench/idle_cycle.py URL [URL ...]

For each database: the first cycle (baseline), then idle cycles; prints SQL statements issued per
idle cycle, median wall time, and the memory peak (tracemalloc) of the baseline and of an idle
cycle. Generate the panels with bench/generate.py.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from typing import Any

from sqlalchemy import event

from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.testing.bridges import make_bridge


def measure(url: str, idle_cycles: int = 7) -> dict[str, Any]:
    bridge = make_bridge(url)
    statements: list[str] = []

    @event.listens_for(bridge.panel.engine, "before_cursor_execute")
    def _count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    tracemalloc.start()
    started = time.perf_counter()
    run_cycle(bridge)
    baseline_seconds = time.perf_counter() - started
    _, baseline_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    times, counts = [], []
    for _ in range(idle_cycles):
        statements.clear()
        started = time.perf_counter()
        report = run_cycle(bridge)
        times.append(time.perf_counter() - started)
        counts.append(len(statements))
        assert report.intake["new_events"] == 0, report.intake
    _, idle_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with bridge.panel.connect() as conn:
        invoices = conn.exec_driver_sql("SELECT COUNT(*) FROM tblinvoices").scalar()
    bridge.close()
    return {
        "invoices": invoices,
        "baseline_s": round(baseline_seconds, 2),
        "baseline_peak_mb": round(baseline_peak / 2**20, 1),
        "idle_statements": max(counts),
        "idle_median_ms": round(statistics.median(times) * 1000, 1),
        "idle_peak_mb": round(idle_peak / 2**20, 2),
        "last_statements": list(statements),
    }


def main() -> None:
    results = [measure(url) for url in sys.argv[1:]]
    for r in results:
        print(
            f"{r['invoices']:>9} invoices: idle cycle {r['idle_statements']} SQL statements, "
            f"median {r['idle_median_ms']} ms, memory peak {r['idle_peak_mb']} MB "
            f"(baseline {r['baseline_s']} s, peak {r['baseline_peak_mb']} MB)"
        )
    if "-v" in sys.argv or len(results) == 1:
        for statement in results[-1]["last_statements"]:
            print("   ", " ".join(statement.split())[:160])
    if len(results) >= 2:
        small, big = results[0], results[-1]
        print(
            f"time ratio {big['invoices']}/{small['invoices']} invoices: "
            f"{big['idle_median_ms'] / small['idle_median_ms']:.2f}x"
        )


if __name__ == "__main__":
    main()
