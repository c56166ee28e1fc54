"""Benchmark: queued WhatsApp alerts through the outbox to the stand-in, paced at the rate limit.

    python bench/alerts_throughput.py [URL | --sqlite] [--rate 1000,80] [--count 20000,4000]
                                      [--workers 1,4] [--latency 0.020] [--budget 45]
                                      [--concurrency N] [--margin S]

Default panel: a fresh MariaDB database with the stock WHMCS 8.4 schema (dropped at the end).
A URL must name a panel whose outbox is empty (the benchmark deletes its own rows between runs).

For each rate (with the count at the same place in ``--count``) and each worker count: the
rows are queued through ``Outbox.enqueue``, one per distinct
E.164 number (so per-recipient spacing never holds a send), then that many worker processes call
``deliver_due(time_budget=--budget)`` over and over, as cron cycles would, until no row is left
to claim. The WhatsApp stand-in runs in this (parent) process and holds every answer
``--latency`` seconds; the workers run in their own processes, so their CPU figures are the
bridge's alone. Each worker keeps up to ``send_concurrency`` sends in flight (``--concurrency``
sets the most), all paced by its one token bucket within its share of the rate.

Every worker is configured with ``rate_per_second = --rate``: the cap is shared by all workers
through the panel's database (leased shares in ``mod_whmcs_bridge_rate_shares``), so N workers
send ``--rate`` in total, not N x ``--rate``; the run prints the total against the cap
(``--worker-rate`` sets each worker's rate instead). Note that the cron cycle itself never runs
two deliveries at once (it holds a panel-wide lock): the 1-worker figure is what a production
bridge does.

Printed per run: messages/s overall (count / wall time from the start signal until the last
worker is done) and between the first and the last request the stand-in received, and by tenths
of the run; the most requests the stand-in received in any 1-second window (must be <= --rate);
duplicates and missing messages (by ``biz_opaque_callback_data``); the workers' CPU
(``time.process_time`` and ``getrusage`` user+sys) and CPU per message; where the workers' time
went per message; exceptions out of ``deliver_due`` (counted, then delivery goes on as the next
cycle would). Exit status 1 when a window exceeds the limit, a message was sent twice or not at
all, or a row did not end ``sent``.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import multiprocessing as mp
import os
import queue
import resource
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, func, select

from whmcs_bridge.outbox import recorder, store
from whmcs_bridge.outbox.tables import FAILED, QUEUED, SENT, outbox
from whmcs_bridge.sandbox.whatsapp_standin import WhatsAppStandIn
from whmcs_bridge.testing.bridges import delivery_config, make_bridge, sqlite_panel
from whmcs_bridge.testing.mariadb import drop_database, load_whmcs_schema

TOKEN = "bench-whatsapp-token"
# Rows a worker may still claim; `sending` ones are in another worker's hands.
WAITING = (QUEUED, FAILED)
SERVERS = ("mariadbd", "mysqld")


def alerts_config(
    wa: WhatsAppStandIn,
    rate: float,
    budget: float,
    window: int | None = None,
    concurrency: int | None = None,
    margin: float | None = None,
) -> dict[str, Any]:
    """The config sections the bridges get (the WhatsApp channel points at the stand-in)."""
    whatsapp = {
        "api_base": wa.base_url,
        "version": "v23.0",
        "phone_number_id": wa.phone_number_id,
        "token": TOKEN,
        "app_secret": "bench-app-secret",
        "verify_token": "bench-verify",
    }
    section = {"rate_per_second": rate, "delivery_time_budget": budget, "whatsapp": whatsapp}
    if window is not None:
        section["claim_window"] = window
    if concurrency is not None:
        section["send_concurrency"] = concurrency
    if margin is not None:
        section["rate_margin_seconds"] = margin
    return delivery_config(section)


def message(i: int) -> dict[str, Any]:
    return {
        "event": "invoice.created",
        "language": "en",
        "text": f"Invoice #{i} is ready.",
        "template": "invoice_created",
        "template_language": "en",
        "params": ["Ana", str(i)],
    }


def recipient(i: int) -> str:
    return f"+549110{i:08d}"  # distinct E.164 numbers, 14 digits


def cpu_seconds() -> tuple[float, float, float]:
    """(process_time, getrusage user, getrusage sys) of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.process_time(), usage.ru_utime, usage.ru_stime


def server_cpu() -> float | None:
    """CPU seconds of a local MariaDB/MySQL server process so far, if one is visible."""
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().strip() in SERVERS:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return None


class GcPauses:
    """The garbage collector's pauses in this process (a pause stalls every thread)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.total = 0.0
        self.count = 0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        self.longest = max(self.longest, pause)
        self.total += pause
        self.count += 1

    def close(self) -> None:
        gc.callbacks.remove(self._callback)


# --- the worker processes ---------------------------------------------------------------------
def where_raised(exc: BaseException) -> str:
    """``Type code in function`` of an exception; the function is the last one of the outbox."""
    cause = getattr(exc, "orig", None) or exc
    code = f" {cause.args[0]}" if cause.args and isinstance(cause.args[0], int) else ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "outbox" in f.filename]
    place = f" in {frames[-1].name}" if frames else ""
    return f"{type(cause).__name__}{code}{place}"


def worker(
    url: str, config: dict[str, Any], budget: float, max_seconds: float, ready: Any, go: Any
) -> None:
    """Deliver until no row is left to claim; put this process's figures on ``ready``.

    Like the cycle, an exception out of ``deliver_due`` is counted and the next call goes on.
    """
    bridge = make_bridge(url, config=config, create_tables=False)
    box = bridge.outbox
    _ = box.skip_locked  # reads the server version once, before the clock starts
    channel = box.channels["whatsapp"]
    totals: Counter[str] = Counter()
    totals_lock = threading.Lock()

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                with totals_lock:  # called from the sending threads too
                    totals[name] += time.perf_counter() - started
                    totals[f"{name}_calls"] += 1

        return wrapper

    # Instrumentation of this process only: timers around the calls, no change of behaviour.
    channel.send = timed("send", channel.send)  # type: ignore[method-assign]
    claim_due = timed("claim", store.claim_due)

    def counted_claim(*args: Any, **kwargs: Any) -> Any:
        claims, held = claim_due(*args, **kwargs)
        totals["claim_rows"] += len(claims)
        return claims, held

    store.claim_due = counted_claim  # type: ignore[assignment]
    store.record_sent = timed("record", store.record_sent)  # type: ignore[assignment]
    # Accepted answers are written in groups: time each group's write (calls = groups).
    recorder.write_sent = timed("record", recorder.write_sent)  # type: ignore[assignment]
    shared_acquire = box.shared_rate.acquire

    def timed_shared_acquire() -> float:
        waited = shared_acquire()
        with totals_lock:
            totals["rate_wait"] += waited
        return waited

    box.shared_rate.acquire = timed_shared_acquire  # type: ignore[method-assign]

    @event.listens_for(bridge.panel.engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        totals["statements"] += 1

    with bridge.panel.connect() as conn:
        conn.execute(select(1))
    ready.put(("ready", None))
    go.wait()
    pauses = GcPauses()
    cpu_start = cpu_seconds()
    started = time.perf_counter()
    stops: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    timed_out = False
    waiting = select(func.count()).select_from(outbox).where(outbox.c.state.in_(WAITING))
    while True:
        try:
            stopped = box.deliver_due(time_budget=budget).stopped
        except Exception as exc:
            stopped = "raised"
            errors[where_raised(exc)] += 1
        stops[stopped] += 1
        if stopped != "time budget used":
            with bridge.panel.connect() as conn:
                if not conn.execute(waiting).scalar():
                    break
            pause = time.perf_counter()
            time.sleep(0.01)  # the rows left are claimed or locked by other workers
            totals["idle"] += time.perf_counter() - pause
        if time.perf_counter() - started > max_seconds:
            timed_out = True
            break
    wall = time.perf_counter() - started
    cpu_end = cpu_seconds()
    bridge.close()
    figures = {
        "stops": dict(stops),
        "errors": dict(errors),
        "wall": wall,
        "process_time": cpu_end[0] - cpu_start[0],
        "user": cpu_end[1] - cpu_start[1],
        "sys": cpu_end[2] - cpu_start[2],
        "timed_out": timed_out,
        "gc_longest": pauses.longest,
        "gc_total": pauses.total,
    }
    ready.put(("done", {**totals, **figures}))


# --- measuring --------------------------------------------------------------------------------
def max_in_window(times: list[float], width: float = 1.0) -> int:
    """The most timestamps (sorted) in any half-open window [t, t + width)."""
    return worst_window(times, width)[0]


def worst_window(times: list[float], width: float = 1.0) -> tuple[int, int]:
    """The most timestamps (sorted) in any window [t, t + width), and the index of its first."""
    best, first, j = 0, 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + width:
            j += 1
        if j - i > best:
            best, first = j - i, i
    return best, first


def rate_of(times: list[float]) -> float:
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return (len(times) - 1) / span if span else 0.0


def queue_rows(bridge: Any, count: int, first_event: int) -> float:
    """Queue ``count`` messages through Outbox.enqueue; returns the seconds it took."""
    box = bridge.outbox
    started = time.perf_counter()
    for i in range(count):
        to = recipient(i)
        new_id = box.enqueue(
            event_id=first_event + i,
            recipient_key=f"bench:{to}",
            channel="whatsapp",
            recipient=to,
            message=message(i),
            client_id=i + 1,
        )
        assert new_id is not None
    return time.perf_counter() - started


def run(
    bridge: Any,
    url: str,
    wa: WhatsAppStandIn,
    args: argparse.Namespace,
    workers: int,
    first_event: int,
) -> dict[str, Any]:
    """One measured delivery of ``args.count`` messages by ``workers`` processes."""
    with bridge.panel.begin() as conn:
        conn.execute(delete(outbox))
    wa.reset()
    wa.delay(args.latency)
    worker_rate = args.worker_rate or args.rate
    print(
        f"\n== limit {args.rate:g}/s, {workers} worker process(es) at {worker_rate:g}/s each, "
        f"{args.count} messages, stand-in answers in {args.latency * 1000:g} ms",
        flush=True,
    )
    enqueue_seconds = queue_rows(bridge, args.count, first_event)
    print(
        f"   queued {args.count} rows through Outbox.enqueue in {enqueue_seconds:.1f} s "
        f"({args.count / enqueue_seconds:.0f}/s)",
        flush=True,
    )
    config = alerts_config(
        wa, worker_rate, args.budget, args.claim_window, args.concurrency, args.margin
    )
    ctx = mp.get_context("spawn")
    ready, go = ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=worker, args=(url, config, args.budget, args.timeout, ready, go))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    parent_gc = GcPauses()
    # The stand-in stamps each request when its thread reads it: a collector pause in this process
    # (72 ms seen once its record of 10,000 requests is large) would stamp the requests queued
    # meanwhile together, a burst that never happened. The measuring process does not collect
    # during the run; the bridge's workers do, as in production.
    gc.collect()
    gc.disable()
    parent_start, db_start = cpu_seconds(), server_cpu()
    started = time.perf_counter()
    go.set()
    results: list[dict[str, Any]] = []
    last_note = started
    while len(results) < workers:
        try:
            _, data = ready.get(timeout=1)
        except queue.Empty:
            if time.perf_counter() - last_note >= 15:
                last_note = time.perf_counter()
                print(
                    f"   ... {len(wa.requests)} sent after {last_note - started:.0f} s", flush=True
                )
            if not any(p.is_alive() for p in procs) and ready.empty():
                break
            continue
        results.append(data)
    elapsed = time.perf_counter() - started
    parent_end, db_end = cpu_seconds(), server_cpu()
    for proc in procs:
        proc.join(30)
    parent_cpu = sum(parent_end[1:]) - sum(parent_start[1:])
    db_cpu = db_end - db_start if db_end is not None and db_start is not None else None
    gc.enable()
    parent_gc.close()
    print(
        f"   garbage collector pauses: workers' longest "
        f"{1000 * max((r.get('gc_longest', 0.0) for r in results), default=0.0):.1f} ms; "
        f"stand-in (parent) longest {1000 * parent_gc.longest:.1f} ms "
        f"({parent_gc.count} collections)"
    )
    return report(bridge, wa, args, workers, results, elapsed, parent_cpu, db_cpu)


def report(
    bridge: Any,
    wa: WhatsAppStandIn,
    args: argparse.Namespace,
    workers: int,
    results: list[dict[str, Any]],
    elapsed: float,
    parent_cpu: float,
    db_cpu: float | None,
) -> dict[str, Any]:
    """Print the figures of one run; returns the ones for the summary."""
    sends = [r for r in list(wa.requests) if r["method"] == "POST" and isinstance(r["json"], dict)]
    times = sorted(r["time"] for r in sends)
    if args.dump_times:
        Path(args.dump_times).write_text("\n".join(f"{t:.6f}" for t in times) + "\n")
    ids = Counter(
        str(r["json"].get("biz_opaque_callback_data", "")).removeprefix("wb:") for r in sends
    )
    with bridge.panel.connect() as conn:
        by_state = select(outbox.c.state, func.count()).group_by(outbox.c.state)
        states = {state: n for state, n in conn.execute(by_state)}
        row_ids = {str(i) for i in conn.execute(select(outbox.c.id)).scalars()}
        unsent = conn.execute(
            select(outbox.c.id, outbox.c.state, outbox.c.last_error)
            .where(outbox.c.state != SENT)
            .limit(5)
        ).all()
    for row_id, state, error in unsent:
        print(f"   not sent: outbox {row_id} {state}: {error}")
    duplicates = sum(n - 1 for n in ids.values() if n > 1)
    missing = len(row_ids - set(ids))
    window, first = worst_window(times)
    overall = len(sends) / elapsed
    steady = rate_of(times)
    tenth = max(len(times) // 10, 2)
    tenths = [rate_of(times[k : k + tenth]) for k in range(0, len(times) - 1, tenth)]
    print(
        f"   delivered {states.get(SENT, 0)} in {elapsed:.1f} s: {overall:.1f} messages/s overall,"
        f" {steady:.1f}/s between the first and the last request"
    )
    print(f"   messages/s by tenths of the run: {' '.join(f'{r:.0f}' for r in tenths)}")
    within = window <= args.rate
    reached = steady >= 0.97 * args.rate
    print(
        f"   max {window} requests in any 1-s window at the stand-in "
        f"(limit {args.rate:g}: {'never exceeded' if within else 'EXCEEDED'}); "
        f"limit {'reached' if reached else 'NOT reached'}"
    )
    if not within:
        gaps = [round(1000 * (b - a), 1) for a, b in itertools.pairwise(times[first:])]
        print(
            f"   the worst window starts {times[first] - times[0]:.2f} s into the run; its "
            f"gaps (ms): {gaps[: window + 1]}"
        )
    print(
        f"   stand-in: {len(sends)} sends, {len(ids)} distinct outbox ids "
        f"(biz_opaque_callback_data), {duplicates} sent twice, {missing} never sent; "
        f"rows by state: {states}"
    )
    sent = max(states.get(SENT, 0), 1)
    cpu = sum(r["process_time"] for r in results)
    user = sum(r["user"] for r in results)
    system = sum(r["sys"] for r in results)
    print(
        f"   worker CPU: process_time {cpu:.2f} s; getrusage user+sys {user + system:.2f} s "
        f"(user {user:.2f} + sys {system:.2f}); {1000 * (user + system) / sent:.2f} ms CPU "
        f"per message; {100 * (user + system) / elapsed:.0f}% of one core"
    )
    print(f"   stand-in (parent process) CPU, not the bridge's: {parent_cpu:.2f} s")
    cpu_ms = 1000 * (user + system) / sent
    print(
        f"   total {overall:.1f} messages/s from {workers} worker(s) against the cap of "
        f"{args.rate:g}/s ({100 * overall / args.rate:.1f}% of it); max {window} in any rolling "
        f"second at the stand-in ({'within' if within else 'OVER'} the cap)"
    )
    print(
        f"   figures: {overall:.1f} messages/s, {cpu_ms:.2f} ms CPU per message, max {window} in "
        f"any rolling second at the stand-in, lost {missing}, duplicated {duplicates}"
    )
    if db_cpu is not None:
        print(
            f"   database server CPU (the whole local server, other clients included): "
            f"{db_cpu:.2f} s, {1000 * db_cpu / sent:.2f} ms per message"
        )
    total: Counter[str] = Counter()
    stops: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for r in results:
        total.update({k: v for k, v in r.items() if isinstance(v, int | float)})
        stops.update(r["stops"])
        errors.update(r["errors"])
    if results:
        claims = max(total["claim_calls"], 1)

        def ms(seconds: float) -> str:
            return f"{1000 * seconds / sent:.1f}"

        # Sends overlap (send_concurrency threads per worker): the sending threads' times are
        # summed over threads and do not add up to the wall time; claims run in the main thread.
        print(
            f"   worker wall time per message (summed over workers): {ms(total['wall'])} ms; "
            f"main thread: claim_due {ms(total['claim'])} ({total['claim_calls']:.0f} calls, "
            f"{1000 * total['claim'] / claims:.1f} ms each, "
            f"{total['claim_rows'] / claims:.1f} rows each), idle {ms(total['idle'])}; "
            f"sending threads (summed, overlapping): send {ms(total['send'])} (stand-in holds "
            f"{args.latency * 1000:g}), rate wait {ms(total['rate_wait'])}, record_sent "
            f"{ms(total['record'])}; {total['statements'] / sent:.1f} SQL statements"
        )
        print(
            f"   deliver_due calls: {sum(stops.values())} {dict(stops)}; sends per worker: "
            f"{sorted(int(r['send_calls']) for r in results)}"
        )
        if errors:
            print(f"   exceptions out of deliver_due (the call was repeated): {dict(errors)}")
        if any(r["timed_out"] for r in results):
            print(f"   a worker gave up after --timeout {args.timeout:g} s")
    if len(results) < workers:
        print(f"   only {len(results)} of {workers} workers reported back")
    clean = (
        within
        and not duplicates
        and not missing
        and states == {SENT: args.count}
        and len(results) == workers
    )
    return {
        "rate": args.rate,
        "count": args.count,
        "workers": workers,
        "overall": overall,
        "window": window,
        "cpu_ms": cpu_ms,
        "lost": missing,
        "duplicated": duplicates,
        "errors": sum(errors.values()),
        "clean": clean,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="panel database URL (default: fresh MariaDB 8.4)")
    parser.add_argument("--sqlite", action="store_true", help="a fresh SQLite panel instead")
    parser.add_argument("--rate", default="1000,80", help="messages per second limits, e.g. 80")
    parser.add_argument("--count", default="20000,4000", help="messages to queue, per rate")
    parser.add_argument("--workers", default="1,4", help="worker process counts, e.g. 1,4,16")
    parser.add_argument("--margin", type=float, help="rate_margin_seconds (default: outbox's)")
    parser.add_argument("--dump-times", help="write the stand-in's arrival times to this file")
    parser.add_argument(
        "--worker-rate", type=float, help="rate_per_second of each worker (default: --rate)"
    )
    parser.add_argument("--latency", type=float, default=0.020, help="stand-in answer delay (s)")
    parser.add_argument("--budget", type=float, default=45.0, help="deliver_due time budget (s)")
    parser.add_argument(
        "--claim-window", type=int, help="claim_window of the workers (default: the outbox's)"
    )
    parser.add_argument(
        "--concurrency", type=int, help="send_concurrency of the workers (default: the outbox's)"
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="workers give up after (s)")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    rates = [float(r) for r in args.rate.split(",")]
    sizes = [int(n) for n in args.count.split(",")]
    sizes += sizes[-1:] * (len(rates) - len(sizes))

    tmp: tempfile.TemporaryDirectory[str] | None = None
    drop = None
    if args.sqlite:
        tmp = tempfile.TemporaryDirectory(prefix="alerts-bench-")
        url = sqlite_panel(Path(tmp.name) / "panel.sqlite", seed=False)
    elif args.url:
        url = args.url
    else:
        url = drop = load_whmcs_schema("8.4")
    summary = []
    try:
        with WhatsAppStandIn(token=TOKEN) as wa:
            bridge = make_bridge(url, config=alerts_config(wa, rates[0], args.budget))
            with bridge.panel.connect() as conn:
                existing = conn.execute(select(func.count()).select_from(outbox)).scalar()
            if existing and args.url:
                print(f"the outbox of {bridge.panel.database_label()} holds {existing} rows")
                return 2
            print(f"panel: {bridge.panel.database_label()}; stand-in at {wa.base_url}")
            first_event = 1
            for rate, size in zip(rates, sizes, strict=False):
                for workers in counts:
                    one = argparse.Namespace(**{**vars(args), "rate": rate, "count": size})
                    summary.append(run(bridge, url, wa, one, workers, first_event))
                    first_event += size
            with bridge.panel.begin() as conn:
                conn.execute(delete(outbox))
            bridge.close()
    finally:
        if drop:
            drop_database(drop)
        if tmp:
            tmp.cleanup()
    print("\nsummary:")
    for s in summary:
        print(
            f"   limit {s['rate']:g}/s, {s['count']} messages, {s['workers']:>2} worker(s): "
            f"{s['overall']:7.1f} messages/s, max {s['window']} "
            f"in 1 s, {s['cpu_ms']:.2f} ms CPU/message, lost {s['lost']}, duplicated "
            f"{s['duplicated']}, {s['errors']} deliver_due exceptions"
            f"{'' if s['clean'] else '  <- FAILED a check'}"
        )
    return 0 if all(s["clean"] for s in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
