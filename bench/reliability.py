"""Reliability under kill -9 (issue 12): trials of killed processes, counted at a stand-in.

    python bench/reliability.py [--trials N] [--backends sqlite,mariadb] [--seed S]
                                [--experiments delivery,dispatch,end-to-end,lock]

Run by hand, loopback only, bounded (each child is killed or ends within seconds; a trial is a
few children, then clean runs that finish the work). A WhatsApp Cloud API stand-in on 127.0.0.1
answers every send after a random delay, so that kills land while sends are in flight.

Experiments (each trial uses fresh messages, events or inbox rows):

- delivery: 12 queued messages; up to 6 delivering processes in a row, each killed with
  ``kill -9`` at a random moment; then clean deliveries.
- dispatch: 12 stored events; a bench plugin queues one message per event; up to 6 cycles in a
  row (dispatch and delivery), each killed at a random moment; then clean cycles.
- end-to-end: 12 rows in the hook inbox; the same, starting from intake.
- lock (MariaDB): a cycle dispatching 60 events (20 ms each); at a random moment the server ends
  its lock connection (``KILL``), and a second cycle starts at once. Both record when each of
  their handlers ran: an overlap is a handler of one running while one of the other does.

Per experiment it prints: trials, kills, messages, lost (a message that never reached the
stand-in and is not held for an admin), held for an admin (``unknown`` after a re-send: never
sent again without ``outbox retry --force``) and, of those, unsent (no send reached the stand-in:
both processes died before the request left), duplicated (reached the stand-in more than once),
duplicated and marked (those with ``duplicate_risk``), the most sends of one message; for the
lock, the overlapping cycles, how often the first cycle stopped on the lost lock (exit 1) and
the second was refused while the first still ran.

Measured on 2026-12-04 (2 shared cores, ``--trials 5``, SQLite and MariaDB 8.4 schema): lost 0,
most sends of one message 2, every duplicate marked, 0 overlapping cycles in 5 lock trials
(before issue 12: up to 5 sends of one message, and 3 overlapping cycles in 3 lock trials).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whmcs_bridge import hookimpl  # noqa: E402
from whmcs_bridge.events.model import Event, event_key  # noqa: E402
from whmcs_bridge.outbox.tables import outbox  # noqa: E402
from whmcs_bridge.sandbox.whatsapp_standin import WhatsAppStandIn  # noqa: E402
from whmcs_bridge.store.tables import inbox  # noqa: E402
from whmcs_bridge.testing.bridges import make_bridge, sqlite_panel  # noqa: E402

TOKEN = "bench-reliability-token"
MESSAGES = 12
KILLS = 6
LOCK_EVENTS = 60
LOCK_PACE = 0.02
HEARTBEAT = 0.25
MESSAGE = {
    "event": "invoice.paid",
    "language": "en",
    "text": "Payment received.",
    "template": "bench_paid",
    "template_language": "en",
}


# --- the child processes ------------------------------------------------------------------------
class BenchPlugin:
    """Queues one message per event; appends ``pid start end`` per handled event to a file."""

    def __init__(self, record: str, pace: float) -> None:
        self.record, self.pace = record, pace

    @hookimpl
    def bridge_on_event(self, bridge: Any, event: Any) -> str:
        started = time.time()
        if self.pace:
            time.sleep(self.pace)
        bridge.outbox.enqueue(
            event_id=event.id,
            recipient_key=f"bench:{event.subject_id}",
            channel="whatsapp",
            recipient=recipient(event.subject_id),
            message=MESSAGE,
        )
        with open(self.record, "a", encoding="utf-8") as out:
            out.write(f"{os.getpid()} {event.id} {started:.6f} {time.time():.6f}\n")
        return "queued"


def recipient(n: int) -> str:
    return f"+549110{n:07d}"


def child(spec: dict[str, Any]) -> int:
    """One delivering process or one cycle (exit 0 done, 1 lock lost, 3 skipped)."""
    from whmcs_bridge import lock
    from whmcs_bridge.cycle import run_cycle
    from whmcs_bridge.errors import BridgeError, LockHeld

    # Sooner than in production (2 s): a cycle whose lock is lost stops sooner. The same code.
    lock.HEARTBEAT_SECONDS = HEARTBEAT
    plugin = BenchPlugin(spec["record"], spec.get("pace", 0.0))
    bridge = make_bridge(spec["url"], config=spec["config"], plugins=[("bench", plugin)])
    if spec["mode"] == "deliver":
        bridge.outbox.deliver_due()
        return 0
    go = spec.get("go")
    if go:  # started in advance: the cycle begins the moment the file appears
        bridge.panel.ping()
        while not os.path.exists(go):
            time.sleep(0.002)
    try:
        run_cycle(bridge)
    except LockHeld:
        return 3
    except BridgeError as exc:  # LockLost: the cycle stopped on its lost lock
        print(exc, file=sys.stderr)
        return 1
    return 0


# --- the stand-in -------------------------------------------------------------------------------
class SlowStandIn(WhatsAppStandIn):
    """Accepts every send after a random delay (the request is recorded when it arrives)."""

    def __init__(self, seed: int, most: float) -> None:
        super().__init__(token=TOKEN)
        self.rng = random.Random(seed)
        self.most = most

    def _answer(self, request: dict[str, Any]) -> tuple[Any, ...]:
        with self._lock:
            pause = self.rng.uniform(0, self.most)
        time.sleep(pause)
        return super()._answer(request)

    def sends(self) -> Counter[str]:
        with self._lock:
            bodies = [r["json"] for r in self.requests]
        return Counter(b["to"] for b in bodies if isinstance(b, dict) and "to" in b)


# --- one experiment -----------------------------------------------------------------------------
@dataclass
class Tally:
    name: str
    backend: str
    trials: int = 0
    messages: int = 0
    lost: int = 0
    held: int = 0
    held_unsent: int = 0  # held, and no send of it ever reached the stand-in
    duplicated: int = 0
    duplicated_marked: int = 0
    most_sends: int = 0
    kills: int = 0
    seconds: float = 0.0
    extra: dict[str, int] = field(default_factory=dict)

    def count(
        self, sends: Counter[str], rows: dict[str, dict[str, Any]], wanted: list[str]
    ) -> None:
        """Score one trial: ``wanted`` recipients, their outbox rows and sends."""
        self.trials += 1
        self.messages += len(wanted)
        for to in wanted:
            n = sends.get(to, 0)
            row = rows.get(to)
            waits = row is not None and row["state"] == "unknown" and row["next_attempt_at"] is None
            self.held += int(waits)
            self.held_unsent += int(waits and n == 0)
            if n == 0 and not waits:
                self.lost += 1
            if n > 1:
                self.duplicated += 1
                self.duplicated_marked += int(bool(row and row["duplicate_risk"]))
            self.most_sends = max(self.most_sends, n)


class Lab:
    def __init__(self, args: argparse.Namespace, workdir: Path, wa: SlowStandIn) -> None:
        self.args, self.workdir, self.wa = args, workdir, wa
        self.rng = random.Random(args.seed)
        self.record = str(workdir / "handled.txt")
        self.config: dict[str, Any] = {
            "channels": {
                "whatsapp": {
                    "api_base": wa.base_url,
                    "version": "v23.0",
                    "phone_number_id": wa.phone_number_id,
                    "token": TOKEN,
                    "timeout": 5,
                }
            },
            "outbox": {
                "min_interval_per_recipient": 0,
                "sending_stale_seconds": 0,  # one process at a time: any `sending` row is stale
                "unknown_grace_seconds": 0,
                "delivery_time_budget": 20,
            },
        }
        self.urls: list[str] = []
        self.experiment = 0

    def number(self, trial: int, i: int) -> int:
        """A number of its own for each message of each trial of each experiment (the stand-in
        counts the sends by recipient, over the whole run)."""
        return self.experiment * 100_000 + 1000 * (trial + 1) + i

    def panel(self, backend: str, name: str) -> str:
        self.experiment += 1
        if backend == "sqlite":
            return sqlite_panel(self.workdir / f"{name}.sqlite", date(2026, 11, 26), seed=False)
        from whmcs_bridge.testing.mariadb import load_whmcs_schema

        url = load_whmcs_schema("8.4")
        self.urls.append(url)
        return url

    def spawn(
        self, url: str, mode: str, pace: float = 0.0, go: str = ""
    ) -> subprocess.Popen[bytes]:
        spec = {"url": url, "config": self.config, "mode": mode, "record": self.record}
        spec.update(pace=pace, go=go)
        return subprocess.Popen(
            [sys.executable, __file__, "--child", json.dumps(spec)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill_series(self, url: str, mode: str, tally: Tally) -> None:
        """Up to KILLS processes in a row, each killed at a random moment (or ending first)."""
        for _ in range(KILLS):
            proc = self.spawn(url, mode)
            deadline = time.monotonic() + self.rng.uniform(0.8, 3.0)  # ~0.8 s to start up
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                tally.kills += 1
            proc.wait(30)

    def rows(self, bridge: Any, wanted: list[str]) -> dict[str, dict[str, Any]]:
        with bridge.panel.connect() as conn:
            found = conn.execute(select(outbox).where(outbox.c.recipient.in_(wanted)))
            return {r.recipient: dict(r._mapping) for r in found}

    # --- the experiments ----------------------------------------------------------------------
    def delivery(self, backend: str) -> Tally:
        tally = Tally("delivery", backend)
        url = self.panel(backend, "delivery")
        bridge = make_bridge(url, config=self.config)
        for trial in range(self.args.trials):
            wanted = [recipient(self.number(trial, i)) for i in range(MESSAGES)]
            for i, to in enumerate(wanted):
                bridge.outbox.enqueue(
                    event_id=self.number(trial, i),
                    recipient_key=f"bench:{to}",
                    channel="whatsapp",
                    recipient=to,
                    message=MESSAGE,
                )
            self.kill_series(url, "deliver", tally)
            for _ in range(5):  # clean deliveries finish what the killed ones left
                if bridge.outbox.deliver_due().stopped == "nothing due":
                    break
            tally.count(self.wa.sends(), self.rows(bridge, wanted), wanted)
        bridge.close()
        return tally

    def _events(self, bridge: Any, url: str, trial: int, from_inbox: bool) -> list[str]:
        numbers = [self.number(trial, i) for i in range(MESSAGES)]
        if from_inbox:
            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(
                    insert(inbox),
                    [
                        {
                            "hook": "InvoicePaid",
                            "payload": json.dumps({"invoiceid": n}),
                            "origin": "admin",
                            "created_at": datetime.now().replace(microsecond=0),
                        }
                        for n in numbers
                    ],
                )
            engine.dispose()
        else:
            bridge.emit(*(bench_event(n) for n in numbers))
        return [recipient(n) for n in numbers]

    def cycles(self, backend: str, from_inbox: bool) -> Tally:
        name = "end-to-end" if from_inbox else "dispatch"
        tally = Tally(name, backend)
        url = self.panel(backend, name)
        bridge = make_bridge(
            url, config=self.config, plugins=[("bench", BenchPlugin(self.record, 0))]
        )

        clean_cycles(bridge, 1)  # the watchers' baselines, so that the kills meet the real work
        for trial in range(self.args.trials):
            wanted = self._events(bridge, url, trial, from_inbox)
            self.kill_series(url, "cycle", tally)
            clean_cycles(bridge)
            tally.count(self.wa.sends(), self.rows(bridge, wanted), wanted)
        bridge.close()
        return tally

    def lock(self) -> Tally:
        from whmcs_bridge.lock import server_lock_name

        tally = Tally("lock", "mariadb")
        tally.extra = {
            "overlapping cycles": 0,
            "first stopped (exit 1)": 0,
            "second refused while the first ran": 0,
        }
        url = self.panel("mariadb", "lock")
        bridge = make_bridge(
            url, config=self.config, plugins=[("bench", BenchPlugin(self.record, 0))]
        )
        clean_cycles(bridge, 1)
        lock_name = server_lock_name(bridge.panel)
        admin = create_engine(url)
        for trial in range(self.args.trials):
            numbers = [self.number(trial, i) for i in range(LOCK_EVENTS)]
            bridge.emit(*(bench_event(n) for n in numbers))
            Path(self.record).write_text("")
            go = self.workdir / f"go-{trial}"
            second = self.spawn(url, "cycle", pace=LOCK_PACE, go=str(go))  # ready and waiting
            first = self.spawn(url, "cycle", pace=LOCK_PACE)
            holder = None
            deadline = time.monotonic() + 20
            with admin.connect() as conn:
                while holder is None and first.poll() is None and time.monotonic() < deadline:
                    holder = conn.execute(select_lock_holder(), {"n": lock_name}).scalar()
                    time.sleep(0.01)
                time.sleep(self.rng.uniform(0.2, 1.0))
                if holder is not None and first.poll() is None:
                    conn.exec_driver_sql(f"KILL {int(holder)}")
                    tally.kills += 1
            go.touch()  # the second cycle starts at once: the lock is free on the server
            first_rc, second_rc = first.wait(60), second.wait(60)
            tally.extra["first stopped (exit 1)"] += int(first_rc == 1)
            tally.extra["second refused while the first ran"] += int(second_rc == 3)
            tally.extra["overlapping cycles"] += int(overlapping(Path(self.record)))
            clean_cycles(bridge)
            wanted = [recipient(n) for n in numbers]
            tally.count(self.wa.sends(), self.rows(bridge, wanted), wanted)
        admin.dispose()
        bridge.close()
        return tally


def clean_cycles(bridge: Any, count: int = 3) -> None:
    """Cycles nobody kills (again after a LockHeld: a killed child's locks may still be in
    the server's hands for a moment)."""
    from whmcs_bridge import lock
    from whmcs_bridge.cycle import run_cycle
    from whmcs_bridge.errors import LockHeld

    lock.HEARTBEAT_SECONDS = HEARTBEAT
    done = 0
    deadline = time.monotonic() + 60
    while done < count:
        try:
            run_cycle(bridge)
            done += 1
        except LockHeld:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def select_lock_holder() -> Any:
    from sqlalchemy import text

    return text("SELECT IS_USED_LOCK(:n)")


def bench_event(n: int) -> Event:
    return Event(
        key=event_key("invoice.paid", n),
        name="invoice.paid",
        subject_type="invoice",
        subject_id=n,
        occurred_at=datetime.now().replace(microsecond=0),
        source="bridge",
    )


def overlapping(record: Path) -> bool:
    """Whether a handler of one process ran while one of another process did."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for line in record.read_text().splitlines():
        pid, _, start, end = line.split()
        spans.setdefault(pid, []).append((float(start), float(end)))
    if len(spans) < 2:
        return False
    first, second = list(spans.values())[:2]
    return any(s1 < e2 and s2 < e1 for s1, e1 in first for s2, e2 in second)


def report(tallies: list[Tally]) -> None:
    head = (
        f"{'experiment':<11} {'backend':<8} {'trials':>6} {'kills':>5} {'messages':>8} "
        f"{'lost':>4} {'held':>4} {'unsent':>6} {'dup':>4} {'dup+marked':>10} {'most sends':>10} "
        f"{'s':>5}"
    )
    print(head)
    for t in tallies:
        print(
            f"{t.name:<11} {t.backend:<8} {t.trials:>6} {t.kills:>5} {t.messages:>8} "
            f"{t.lost:>4} {t.held:>4} {t.held_unsent:>6} {t.duplicated:>4} "
            f"{t.duplicated_marked:>10} {t.most_sends:>10} {t.seconds:>5.0f}"
        )
        for key, value in t.extra.items():
            print(f"{'':<21}{key}: {value} of {t.trials}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--backends", default="sqlite,mariadb")
    parser.add_argument("--experiments", default="delivery,dispatch,end-to-end,lock")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    backends = args.backends.split(",")
    experiments = args.experiments.split(",")
    tallies: list[Tally] = []
    with tempfile.TemporaryDirectory() as tmp, SlowStandIn(args.seed, 1.0) as wa:
        lab = Lab(args, Path(tmp), wa)
        plan: list[tuple[str, Any]] = []
        for backend in backends:
            if "delivery" in experiments:
                plan.append(("delivery", lambda b=backend: lab.delivery(b)))
            if "dispatch" in experiments:
                plan.append(("dispatch", lambda b=backend: lab.cycles(b, False)))
            if "end-to-end" in experiments:
                plan.append(("end-to-end", lambda b=backend: lab.cycles(b, True)))
        if "lock" in experiments and "mariadb" in backends:
            plan.append(("lock", lab.lock))
        try:
            for name, run in plan:
                started = time.monotonic()
                tally = run()
                tally.seconds = time.monotonic() - started
                tallies.append(tally)
                print(f"... {name} on {tally.backend}: {tally.seconds:.0f} s", file=sys.stderr)
        finally:
            from whmcs_bridge.testing.mariadb import drop_database

            for url in lab.urls:
                drop_database(url)
    report(tallies)
    return 0


if __name__ == "__main__":
    threading.excepthook = lambda hook_args: None  # the stand-in's answers to killed clients
    sys.exit(main())
