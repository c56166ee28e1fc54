"""One cap for all workers (issue 17): shares of the rate leased through the panel's database;
and the accepted answers written in groups.

Several bridges (each with its own Outbox, token bucket and connections, as separate processes
have) deliver at once against the WhatsApp stand-in; the stand-in's own record of when each
request arrived is what is checked, as Meta measures it. The margin is generous so the checks
hold on a loaded machine: this is a test of the sharing, not of timing precision.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, inspect, select, update
from test_outbox import alerts_section, panel_url, queue, rows, wa  # noqa: F401 (fixtures)

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.channels.base import SendResult
from whmcs_bridge.outbox import store
from whmcs_bridge.outbox.recorder import write_sent
from whmcs_bridge.outbox.shared_rate import SharedRate, rate_shares, register
from whmcs_bridge.outbox.tables import outbox
from whmcs_bridge.sandbox.whatsapp_standin import WhatsAppStandIn
from whmcs_bridge.store import migrate
from whmcs_bridge.testing.bridges import delivery_config, make_bridge


def most_in_one_second(times: list[float]) -> int:
    """The most timestamps in any window [t, t + 1)."""
    times = sorted(times)
    best, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + 1.0:
            j += 1
        best = max(best, j - i)
    return best


@pytest.fixture
def bridges(panel_url: str, wa: WhatsAppStandIn) -> Iterator[Callable[..., Bridge]]:  # noqa: F811
    made: list[Bridge] = []

    def build(now: datetime | None = None, **settings: Any) -> Bridge:
        bridge = make_bridge(panel_url, config=delivery_config(alerts_section(wa, **settings)))
        made.append(bridge)
        return bridge

    yield build
    for bridge in made:
        bridge.close()


def test_four_workers_share_one_cap_at_the_stand_in(
    bridges: Callable[..., Bridge],
    wa: WhatsAppStandIn,  # noqa: F811
) -> None:
    rate, count = 20, 60
    # Each worker alone may send `rate` per second; four separate buckets would allow 80/s.
    workers = [bridges(rate_per_second=rate, rate_margin_seconds=0.25) for _ in range(4)]
    ids = [queue(workers[0], i, f"+549110000{i:04d}") for i in range(1, count + 1)]
    sent: Counter[int] = Counter()
    stops: list[str] = []

    def deliver(n: int) -> None:
        # Like cron cycles: again until nothing is left (on SQLite a claim that lost the race
        # for its rows to another worker ends its delivery with nothing claimed).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            report = workers[n].outbox.deliver_due(time_budget=30)
            sent[n] += report.sent
            stops.append(report.stopped)
            if not any(r["state"] == "queued" for r in rows(workers[n])):
                return
            time.sleep(0.01)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sends = [r for r in wa.requests if isinstance(r["json"], dict)]
    ids_sent = Counter(int(r["json"]["biz_opaque_callback_data"][3:]) for r in sends)  # wb:<id>
    assert sorted(ids_sent) == ids and set(ids_sent.values()) == {1}  # each once
    assert {r["state"] for r in rows(workers[0])} == {"sent"}
    assert sum(1 for n in sent.values() if n) >= 2, (sent, stops)  # several workers really sent
    assert most_in_one_second([r["time"] for r in sends]) <= rate


def refreshed(engine: Engine, *workers: SharedRate) -> list[float]:
    """Each worker renews its share in its own transaction, in turn; their shares."""
    shares = []
    for worker in workers:
        with engine.begin() as conn:
            shares.append(worker.refresh(conn))
        worker.confirm()
    return shares


def never_over(engine: Engine, rate: float, *workers: SharedRate) -> None:
    """What every worker may send now, plus what each gave up less than a window ago, stays
    within the rate (the invariant the provider's window needs)."""
    with engine.connect() as conn:
        held = conn.execute(select(func.sum(rate_shares.c.held_milli))).scalar() or 0
    assert sum(w.share for w in workers) <= rate
    assert held <= rate * 1000 + 1  # each row's held part is at least its share


def test_a_joining_worker_waits_for_the_others_to_give_up_their_part(
    panel_url: str,  # noqa: F811
) -> None:
    make_bridge(panel_url).close()  # the migrations, the shared rate's among them
    engine = create_engine(panel_url)
    rate = 80.0
    first, second = (SharedRate(rate, margin=0.01, lease=3.0) for _ in range(2))
    try:
        register(engine.begin, first)
        # Alone, a worker has the whole rate at once: no wait, no margin taken off the share.
        assert refreshed(engine, first) == [80.0]
        register(engine.begin, second)
        # The second gets nothing while the first still holds it all ...
        assert refreshed(engine, second) == [0.0]
        # ... the first lowers to half, but its starts of the last second still count ...
        assert refreshed(engine, first, second) == [40.0, 0.0]
        never_over(engine, rate, first, second)
        # ... until the provider's window has passed them (1 s and the margin): renewing the
        # lowered share meanwhile does not make the old one count longer.
        time.sleep(0.5)
        assert refreshed(engine, first, second) == [40.0, 0.0]
        time.sleep(0.55)
        assert refreshed(engine, second, first) == [40.0, 40.0]
        never_over(engine, rate, first, second)
        # A worker that stops refreshing (killed, stalled) is counted until its lease ends and
        # its last window has passed; then the other takes its part.
        with engine.begin() as conn:
            conn.execute(
                update(rate_shares)
                .where(rate_shares.c.worker == second.worker)
                .values(expires_us=rate_shares.c.expires_us - 2_900_000)  # lease almost over
            )
        assert refreshed(engine, first) == [40.0]
        time.sleep(1.2)
        assert refreshed(engine, first) == [80.0]
        with engine.connect() as conn:  # the dead worker's row is gone
            workers = conn.execute(select(rate_shares.c.worker)).scalars().all()
        assert workers == [first.worker]
        # A delivery that ends gives its share back: the next worker waits only for the window.
        first.release(engine.begin)
        assert first.share == 0
        register(engine.begin, second)
        assert refreshed(engine, second) == [0.0]
        time.sleep(1.05)
        assert refreshed(engine, second) == [80.0]
    finally:
        engine.dispose()


def test_a_refresh_killed_midway_changes_nothing(panel_url: str) -> None:  # noqa: F811
    make_bridge(panel_url).close()
    engine = create_engine(panel_url)
    first, second = SharedRate(10.0, margin=0.0), SharedRate(10.0, margin=0.0)
    try:
        register(engine.begin, first)
        register(engine.begin, second)
        assert refreshed(engine, first) == [5.0]  # the second is alive: half each
        conn = engine.connect()
        conn.begin()
        second.refresh(conn)
        conn.invalidate()  # the connection is gone, as with kill -9 inside the transaction
        conn.close()
        with engine.connect() as conn:
            rows = {r.worker: r.share_milli for r in conn.execute(select(rate_shares))}
        assert rows == {first.worker: 5_000, second.worker: 0}
        # A refresh whose transaction did not commit is never used: the others do not know it.
        assert second.share == 0
        # The step is idempotent and keeps the rows.
        for step in migrate.MIGRATIONS:
            with engine.begin() as conn:
                step.apply(conn)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(rate_shares)).scalar() == 2
            assert not inspect(conn).has_table(migrate.OLD_RATE_SLOTS)
    finally:
        engine.dispose()


def test_answers_written_in_one_group_keep_what_each_row_needs(
    panel_url: str,  # noqa: F811
    wa: WhatsAppStandIn,  # noqa: F811
) -> None:
    """The grouped write (issue 17): a row a webhook moved on keeps its state and gets the ids,
    a re-send is marked, a held answer keeps its word; one executemany for the others."""
    bridge = make_bridge(panel_url, config=delivery_config(alerts_section(wa)))
    try:
        box = bridge.outbox
        ids = [queue(bridge, i, f"+54911000001{i:02d}") for i in (1, 2, 3)]
        with bridge.panel.begin() as conn:
            claims, _ = store.claim_due(
                conn,
                now=box.now(),
                token="group-token",
                limit=3,
                blocked=set(),
                spacing=0,
                skip_locked=box.skip_locked,
                is_mysql=box.is_mysql,
            )
        assert sorted(c.id for c in claims) == ids
        by_id = {c.id: c for c in claims}
        with bridge.panel.begin() as conn:  # a status webhook got to the second row first
            conn.execute(update(outbox).where(outbox.c.id == ids[1]).values(state="delivered"))
        now = box.now()
        entries = [
            (by_id[ids[0]], SendResult("wamid.A", "5491100000101"), now, False),
            (by_id[ids[1]], SendResult("wamid.B", "5491100000102"), now, False),
            (by_id[ids[2]], SendResult("wamid.C", None, "held_for_quality_assessment"), now, True),
        ]
        with bridge.panel.begin() as conn:
            write_sent(conn, entries)
        final = {r["id"]: r for r in rows(bridge)}
        first, second, third = (final[i] for i in ids)
        assert (first["state"], first["provider_message_id"], first["duplicate_risk"]) == (
            "sent",
            "wamid.A",
            0,
        )
        assert first["sent_at"] is not None and first["last_error"] is None
        assert (second["state"], second["provider_message_id"]) == ("delivered", "wamid.B")
        assert (third["state"], third["duplicate_risk"]) == ("sent", 1)
        assert third["last_error"] == "accepted with message_status held_for_quality_assessment"
    finally:
        bridge.close()


def test_an_idle_delivery_takes_no_share(
    bridges: Callable[..., Bridge],
    wa: WhatsAppStandIn,  # noqa: F811
) -> None:
    """Nothing due: no row, no statement for the rate (an idle cycle costs what it did); once
    something is sent, the worker's row is there, and given back when the delivery ends."""
    bridge = bridges()
    assert bridge.outbox.deliver_due().stopped == "nothing due"
    with bridge.panel.connect() as conn:
        assert conn.execute(select(func.count()).select_from(rate_shares)).scalar() == 0
    queue(bridge, 1, "+5491100000001")
    assert bridge.outbox.deliver_due().sent == 1
    with bridge.panel.connect() as conn:
        (row,) = conn.execute(select(rate_shares)).all()
    assert row.worker == bridge.outbox.shared_rate.worker and row.share_milli == 0  # given back
    rate = bridge.outbox.settings.rate_per_second
    assert row.held_milli == rate * 1000  # still counted for the provider's window
