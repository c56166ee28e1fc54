"""Benchmark (a) and (c): an idle cycle (nothing new in the panel) on generated panels.

    python bench/idle_cycle.py URL [URL ...] [-v] [--cycles N]

For each database: a first cycle (the baseline on a fresh one), then idle cycles; prints the SQL
statements issued per idle cycle, the median wall time of an idle cycle, and the memory peak
(tracemalloc) of the first cycle and of an idle cycle. Generate the panels with bench/generate.py.

The idle cycles of the databases are interleaved (one of each in turn), so that load from
elsewhere on the machine weighs on all of them alike, and they are timed with tracemalloc off:
tracing allocations slows Python code several times and SQL not at all, which would distort the
comparison. The memory peaks come from separate traced cycles.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from typing import Any

from sqlalchemy import event

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.testing.bridges import make_bridge


class Panel:
    def __init__(self, url: str) -> None:
        self.bridge: Bridge = make_bridge(url)
        self.statements: list[str] = []
        self.times: list[float] = []
        self.counts: list[int] = []

        @event.listens_for(self.bridge.panel.engine, "before_cursor_execute")
        def _count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            self.statements.append(statement)

    def cycle(self) -> float:
        self.statements.clear()
        started = time.perf_counter()
        report = run_cycle(self.bridge)
        elapsed = time.perf_counter() - started
        assert report.intake["new_events"] == 0, report.intake
        return elapsed

    def traced_peak(self) -> float:
        tracemalloc.start()
        try:
            self.cycle()
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()


def measure(urls: list[str], idle_cycles: int) -> list[dict[str, Any]]:
    panels = [Panel(url) for url in urls]
    firsts = []
    for panel in panels:
        tracemalloc.start()
        started = time.perf_counter()
        run_cycle(panel.bridge)
        firsts.append((time.perf_counter() - started, tracemalloc.get_traced_memory()[1] / 2**20))
        tracemalloc.stop()
    for panel in panels:  # warm-up: caches, the first slices
        panel.cycle()
    for _ in range(idle_cycles):
        for panel in panels:
            panel.times.append(panel.cycle())
            panel.counts.append(len(panel.statements))
    results = []
    for panel, (first_s, first_mb) in zip(panels, firsts, strict=True):
        peaks = [panel.traced_peak() for _ in range(3)]
        with panel.bridge.panel.connect() as conn:
            invoices = conn.exec_driver_sql("SELECT COUNT(*) FROM tblinvoices").scalar()
        results.append(
            {
                "invoices": invoices,
                "baseline_s": round(first_s, 2),
                "baseline_peak_mb": round(first_mb, 1),
                "idle_statements": max(panel.counts),
                "idle_median_ms": round(statistics.median(panel.times) * 1000, 1),
                "idle_min_ms": round(min(panel.times) * 1000, 1),
                "idle_peak_mb": round(max(peaks), 2),
                "last_statements": list(panel.statements),
            }
        )
        panel.bridge.close()
    return results


def main() -> None:
    args = sys.argv[1:]
    verbose = "-v" in args
    idle_cycles = 25
    if "--cycles" in args:
        at = args.index("--cycles")
        idle_cycles = int(args[at + 1])
        del args[at : at + 2]
    urls = [a for a in args if a != "-v"]
    results = measure(urls, idle_cycles)
    for r in results:
        print(
            f"{r['invoices']:>9} invoices: idle cycle {r['idle_statements']} SQL statements, "
            f"median {r['idle_median_ms']} ms (fastest {r['idle_min_ms']} ms), "
            f"memory peak {r['idle_peak_mb']} MB "
            f"(first cycle {r['baseline_s']} s, peak {r['baseline_peak_mb']} MB)"
        )
    if verbose or len(results) == 1:
        for statement in results[-1]["last_statements"]:
            print("   ", " ".join(statement.split())[:160])
    if len(results) >= 2:
        small, big = results[0], results[-1]
        print(
            f"time ratio {big['invoices']}/{small['invoices']} invoices: "
            f"{big['idle_median_ms'] / small['idle_median_ms']:.2f}x "
            f"(fastest cycles: {big['idle_min_ms'] / small['idle_min_ms']:.2f}x)"
        )


if __name__ == "__main__":
    main()
