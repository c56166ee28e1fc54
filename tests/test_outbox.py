"""The outbox over real loopback stand-ins (WhatsApp, the sandbox WHMCS API), SQLite and MariaDB.

Nothing of ours is mocked: messages are queued, claimed, sent over HTTP to the stand-ins, and the
rows are read back from the database. Small pacing values keep the timing tests fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import OperationalError

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.doctor import plugin_checks
from whmcs_bridge.outbox.pacing import TokenBucket
from whmcs_bridge.outbox.settings import OutboxSettings
from whmcs_bridge.outbox.tables import outbox
from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.sandbox.actions_common import insert_row
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.sandbox.whatsapp_standin import Json, WhatsAppStandIn
from whmcs_bridge.testing.bridges import delivery_config, make_bridge, sqlite_panel
from whmcs_bridge.testing.mariadb import SchemaPool

ROOT = Path(__file__).resolve().parent.parent
WA_TOKEN = "EAAGoutboxSECRETtoken0123456789"
APP_SECRET = "outbox-app-secret"
IDENT, SECRET = "outbox-ident-Q7", "outbox-secret-Z9"
TODAY = date(2026, 11, 26)
BACKENDS = ["sqlite", pytest.param("8.4", marks=pytest.mark.mariadb)]
A, B, C = "+5491100000001", "+5491100000002", "+5491100000003"


def message(event: str = "invoice.created", **extra: Any) -> dict[str, Any]:
    return {
        "event": event,
        "language": "en",
        "text": "Invoice #7 is ready.",
        "template": "invoice_created",
        "template_language": "en",
        "params": ["Ana", "7"],
        "subject": "Invoice #7",
        **extra,
    }


@pytest.fixture(params=BACKENDS)
def panel_url(
    request: pytest.FixtureRequest, tmp_path: Path, whmcs_databases: SchemaPool
) -> Iterator[str]:
    """A panel with the sample company (client 1 exists), on SQLite or MariaDB + WHMCS 8.4."""
    if request.param == "sqlite":
        yield sqlite_panel(tmp_path / "panel.sqlite", TODAY)
        return
    url = whmcs_databases.take(request.param)
    engine = create_engine(url)
    with engine.begin() as conn:
        clients = PanelTables.from_database(conn).clients
        insert_row(conn, clients, {"id": 1, "firstname": "Ana", "email": "ana@example.com"})
    engine.dispose()
    yield url
    whmcs_databases.give_back(url)


@pytest.fixture
def wa() -> Iterator[WhatsAppStandIn]:
    with WhatsAppStandIn(token=WA_TOKEN) as server:
        yield server


def alerts_section(wa: WhatsAppStandIn, **settings: Any) -> dict[str, Any]:
    whatsapp = {
        "api_base": wa.base_url,
        "version": "v23.0",
        "phone_number_id": wa.phone_number_id,
        "token": WA_TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": "verify-me",
        "timeout": settings.pop("timeout", 5),
    }
    base = {"rate_per_second": 1000, "min_interval_per_recipient": 0, "whatsapp": whatsapp}
    return {**base, **settings}


@pytest.fixture
def bridges(panel_url: str, wa: WhatsAppStandIn) -> Iterator[Callable[..., Bridge]]:
    """Build bridges over the panel and the stand-in; all are closed at the end."""
    made: list[Bridge] = []

    def build(now: datetime | None = None, api: dict[str, str] | None = None, **settings: Any):
        config: dict[str, Any] = delivery_config(alerts_section(wa, **settings))
        if api:
            config["api"] = api
        bridge = make_bridge(panel_url, config=config, now=now)
        made.append(bridge)
        return bridge

    yield build
    for bridge in made:
        bridge.close()


def rows(bridge: Bridge) -> list[dict[str, Any]]:
    with bridge.panel.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(outbox).order_by(outbox.c.id))]


def row(bridge: Bridge, row_id: int) -> dict[str, Any]:
    return next(r for r in rows(bridge) if r["id"] == row_id)


def sends_to(wa: WhatsAppStandIn, to: str) -> list[Json]:
    return [r for r in wa.requests if isinstance(r["json"], dict) and r["json"].get("to") == to]


def queue(bridge: Bridge, event_id: int, to: str, **kwargs: Any) -> int:
    new_id = bridge.outbox.enqueue(
        event_id=event_id,
        recipient_key=f"client:{event_id}:{to}",
        channel=kwargs.pop("channel", "whatsapp"),
        recipient=to,
        message=message(),
        client_id=1,
        **kwargs,
    )
    assert new_id is not None
    return new_id


# --- queueing -----------------------------------------------------------------------------------
def test_enqueue_twice_makes_one_row(bridges: Callable[..., Bridge]) -> None:
    bridge = bridges()
    args = {"event_id": 5, "recipient_key": "client:1", "channel": "whatsapp", "recipient": A}
    first = bridge.outbox.enqueue(**args, message=message())
    assert isinstance(first, int)
    assert bridge.outbox.enqueue(**args, message=message(text="changed")) is None
    assert len(rows(bridge)) == 1
    assert json.loads(rows(bridge)[0]["message"])["text"] == "Invoice #7 is ready."
    bridge.outbox.dry_run = True
    assert bridge.outbox.enqueue(**{**args, "event_id": 6}, message=message()) is None
    assert len(rows(bridge)) == 1


def test_sends_and_records_provider_ids(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn
) -> None:
    bridge = bridges()
    ids = [queue(bridge, 1, A), queue(bridge, 2, B, channel="console")]
    report = bridge.outbox.deliver_due()
    assert report.sent == 2 and report.stopped == "nothing due"
    sent = row(bridge, ids[0])
    assert sent["state"] == "sent" and sent["provider_message_id"].startswith("wamid.")
    assert sent["provider_recipient_id"] == A.lstrip("+") and sent["duplicate_risk"] == 0
    body = sends_to(wa, A)[0]["json"]
    assert body["biz_opaque_callback_data"] == f"wb:{ids[0]}"
    assert body["template"]["name"] == "invoice_created"
    assert row(bridge, ids[1])["provider_message_id"] == f"console-{ids[1]}"


# --- error classes ------------------------------------------------------------------------------
def test_pair_rate_131056_delays_only_that_recipient(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn
) -> None:
    bridge = bridges(recipient_backoff_seconds=60)
    wa.fail_for(A, 131056)
    first_a, second_a, only_b = queue(bridge, 1, A), queue(bridge, 2, A), queue(bridge, 3, B)
    report = bridge.outbox.deliver_due()
    assert report.sent == 1 and report.retry == 1
    assert len(sends_to(wa, A)) == 1 and len(sends_to(wa, B)) == 1
    now = bridge.outbox.now()
    for held in (first_a, second_a):
        assert row(bridge, held)["state"] == "queued"
        assert (row(bridge, held)["next_attempt_at"] - now).total_seconds() > 50
    assert row(bridge, first_a)["error_code"] == 131056
    assert row(bridge, only_b)["state"] == "sent"
    assert bridge.outbox.channel_health()["whatsapp"] is None  # the channel keeps flowing


def test_throughput_130429_backs_off_the_channel(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn
) -> None:
    bridge = bridges(throttle_seconds=0.5)
    wa.fail_next(130429)
    ids = [queue(bridge, 1, A), queue(bridge, 2, B), queue(bridge, 3, C)]
    console = queue(bridge, 4, "ops", channel="console")
    report = bridge.outbox.deliver_due()
    assert len(wa.requests) == 1  # nothing more to WhatsApp while throttled
    assert row(bridge, console)["state"] == "sent"  # other channels keep going
    assert report.retry == 1
    assert (bridge.outbox.channel_health()["whatsapp"] or "").startswith("throttled until")
    time.sleep(0.6)
    report = bridge.outbox.deliver_due()
    assert report.sent == 3
    assert [row(bridge, i)["state"] for i in ids] == ["sent"] * 3
    assert bridge.outbox.channel_health()["whatsapp"] is None


def test_no_whatsapp_131026_dead_and_email_fallback_through_the_api(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn, panel_url: str
) -> None:
    engine = create_engine(panel_url)
    with SandboxPanel(engine, IDENT, SECRET) as sandbox:
        api = {"url": sandbox.url, "identifier": IDENT, "secret": SECRET}
        bridge = bridges(api=api)
        wa.fail_for(A, 131026)
        fallback = {"channel": "email", "recipient": "1", "message": message(text="Hi Ana\nbye")}
        original = queue(bridge, 1, A, fallback=fallback)
        report = bridge.outbox.deliver_due()
        assert report.dead == 1 and report.fallbacks == 1 and report.sent == 1
        dead = row(bridge, original)
        assert dead["state"] == "dead" and dead["error_code"] == 131026
        assert "undeliverable" in dead["last_error"]
        mail = next(r for r in rows(bridge) if r["fallback_of"] == original)
        assert mail["channel"] == "email" and mail["state"] == "sent"
        assert mail["recipient_key"] == dead["recipient_key"] + ":fallback"
        assert len(sandbox.sent_emails) == 1
        sent = sandbox.sent_emails[0]
        assert sent["id"] == 1 and sent["type"] == "general" and sent["subject"] == "Invoice #7"
        assert sent["message"] == "Hi Ana<br />\nbye"
        bridge.outbox.deliver_due()
        assert len(sandbox.sent_emails) == 1
    engine.dispose()


def test_permanent_error_is_dead_at_once(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn
) -> None:
    bridge = bridges()
    wa.fail_next(132001)
    dead = queue(bridge, 1, A)
    assert bridge.outbox.deliver_due().dead == 1
    assert row(bridge, dead)["state"] == "dead" and row(bridge, dead)["error_code"] == 132001
    bridge.outbox.deliver_due()
    assert len(wa.requests) == 1


def test_a_channel_no_plugin_offers_waits_in_the_queue(bridges: Callable[..., Bridge]) -> None:
    """A message for a channel not enabled goes back to the queue with its reason (it was left
    ``sending`` by an AttributeError before)."""
    bridge = bridges()
    waiting = queue(bridge, 1, "12345", channel="telegram")
    bridge.outbox.deliver_due()
    found = row(bridge, waiting)
    assert (found["state"], found["error_kind"]) == ("queued", "channel_broken")
    assert "no enabled plugin offers the channel 'telegram'" in found["last_error"]


def test_transient_errors_retry_with_backoff_then_dead(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn
) -> None:
    bridge = bridges(retry_base_seconds=0.2, max_attempts=3)
    wa.fail_next(131000, times=5)
    retried = queue(bridge, 1, A)
    started = bridge.outbox.now()
    bridge.outbox.deliver_due()
    ended = bridge.outbox.now()
    first = row(bridge, retried)
    assert first["state"] == "failed" and first["failures"] == 1
    # The failure was recorded between `started` and `ended`: half fixed, half jitter.
    assert (first["next_attempt_at"] - started).total_seconds() >= 0.1
    assert (first["next_attempt_at"] - ended).total_seconds() <= 0.2
    bridge.outbox.deliver_due()
    assert len(wa.requests) == 1  # not before its time
    for _ in range(2):
        time.sleep(0.45)
        bridge.outbox.deliver_due()
    final = row(bridge, retried)
    assert final["state"] == "dead" and final["failures"] == 3 and len(wa.requests) == 3


def test_token_190_stops_the_channel_and_doctor_says_so(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn
) -> None:
    bridge = bridges()
    wa.fail_next(190)
    ids = [queue(bridge, 1, A), queue(bridge, 2, B)]
    bridge.outbox.deliver_due()
    assert len(wa.requests) == 1
    health = bridge.outbox.channel_health()["whatsapp"]
    assert health and health.startswith("stopped since") and "190" in health
    assert WA_TOKEN not in health
    bridge.outbox.deliver_due()
    assert len(wa.requests) == 1  # stays stopped until someone acts
    assert [row(bridge, i)["state"] for i in ids] == ["queued", "queued"]
    checks = {c.name: c for c in plugin_checks(bridge)}
    assert checks["channel whatsapp"].ok is False
    assert "190" in checks["channel whatsapp"].detail
    assert "outbox resume whatsapp" in checks["channel whatsapp"].detail
    assert checks["channel console"].ok is True
    assert bridge.outbox.resume_channel("whatsapp") is True
    assert bridge.outbox.deliver_due().sent == 2
    assert {c.name: c.ok for c in plugin_checks(bridge)}["channel whatsapp"] is True


def test_spam_131048_pauses_the_channel(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn
) -> None:
    bridge = bridges(pause_seconds=3600)
    wa.fail_next(131048)
    queue(bridge, 1, A), queue(bridge, 2, B)
    bridge.outbox.deliver_due()
    assert len(wa.requests) == 1
    assert (bridge.outbox.channel_health()["whatsapp"] or "").startswith("paused until")
    checks = {c.name: c for c in plugin_checks(bridge)}
    assert checks["channel whatsapp"].ok is False and "131048" in checks["channel whatsapp"].detail


# --- unknown outcomes ---------------------------------------------------------------------------
START = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def _lost_answer(bridges: Callable[..., Bridge], wa: WhatsAppStandIn) -> tuple[Bridge, int]:
    bridge = bridges(now=START, timeout=0.3)
    wa.delay(1.0, times=1)
    lost = queue(bridge, 1, A)
    report = bridge.outbox.deliver_due()
    assert report.unknown == 1
    assert row(bridge, lost)["state"] == "unknown" and row(bridge, lost)["error_kind"] == "unknown"
    return bridge, lost


def test_timeout_is_unknown_and_resent_once_after_the_grace_period(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn
) -> None:
    bridge, lost = _lost_answer(bridges, wa)
    bridge.outbox.deliver_due()
    bridge.clock.advance(seconds=899)  # type: ignore[attr-defined]
    bridge.outbox.deliver_due()
    assert len(sends_to(wa, A)) == 1  # never before the grace period
    bridge.clock.advance(seconds=2)  # type: ignore[attr-defined]
    report = bridge.outbox.deliver_due()
    assert report.resent == 1 and len(sends_to(wa, A)) == 2
    again = row(bridge, lost)
    assert again["state"] == "sent" and again["duplicate_risk"] == 1
    bridge.clock.advance(seconds=3600)  # type: ignore[attr-defined]
    bridge.outbox.deliver_due()
    assert len(sends_to(wa, A)) == 2  # exactly once more


def test_webhook_settles_an_unknown_send_without_resending(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn
) -> None:
    from whmcs_bridge.channels.whatsapp import StatusUpdate

    bridge, lost = _lost_answer(bridges, wa)
    deadline = time.monotonic() + 5
    while not wa.sent and time.monotonic() < deadline:
        time.sleep(0.05)  # the stand-in answers (to nobody) after its delay
    wamid = next(iter(wa.sent))
    update = StatusUpdate(lost, wamid, "delivered", datetime.now(UTC), A.lstrip("+"))
    assert bridge.outbox.apply_status(update) is True
    bridge.clock.advance(seconds=3600)  # type: ignore[attr-defined]
    bridge.outbox.deliver_due()
    assert len(sends_to(wa, A)) == 1
    settled = row(bridge, lost)
    assert settled["state"] == "delivered" and settled["duplicate_risk"] == 0
    assert settled["provider_message_id"] == wamid


class SlowStandIn(WhatsAppStandIn):
    """Holds the answer to one recipient until released (a send in flight)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hold: set[str] = set()
        self.release = threading.Event()

    def _answer(self, request: Json) -> tuple[int, Json | str]:
        body = request["json"]
        if isinstance(body, dict) and body.get("to") in self.hold:
            self.release.wait(30)
        return super()._answer(request)


_DELIVER = """
import json, sys
from whmcs_bridge.testing.bridges import make_bridge
bridge = make_bridge(sys.argv[1], config=json.loads(sys.argv[2]))
bridge.outbox.deliver_due()
"""


def test_kill_9_during_delivery_loses_nothing_and_marks_the_in_flight_message(
    panel_url: str,
) -> None:
    with SlowStandIn(token=WA_TOKEN) as wa:
        config = delivery_config(
            alerts_section(wa, sending_stale_seconds=1, unknown_grace_seconds=0)
        )
        bridge = make_bridge(panel_url, config=config)
        recipients = [f"+54911000000{i}" for i in range(1, 6)]
        ids = [queue(bridge, i, to) for i, to in enumerate(recipients, 1)]
        wa.hold.add(recipients[2])
        child = subprocess.Popen(
            [sys.executable, "-c", _DELIVER, panel_url, json.dumps(config)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        deadline = time.monotonic() + 30
        while not sends_to(wa, recipients[2]) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sends_to(wa, recipients[2]), "the child never reached the slow send"
        # Sends overlap: let the others (answered at once) be recorded, so that the held one is
        # the only message in flight when the process dies.
        others = [i for n, i in enumerate(ids) if n != 2]
        while time.monotonic() < deadline and any(
            row(bridge, i)["state"] != "sent" for i in others
        ):
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        assert row(bridge, ids[2])["state"] == "sending"  # the evidence a crash leaves
        wa.hold.clear()
        wa.release.set()
        time.sleep(1.2)  # older than sending_stale_seconds
        report = bridge.outbox.deliver_due()
        assert report.recovered == 1 and report.resent == 1
        final = {r["id"]: r for r in rows(bridge)}
        assert all(final[i]["state"] == "sent" for i in ids)
        counts = [len(sends_to(wa, to)) for to in recipients]
        assert counts == [1, 1, 2, 1, 1]
        assert [final[i]["duplicate_risk"] for i in ids] == [0, 0, 1, 0, 0]
        bridge.close()


# --- pacing -------------------------------------------------------------------------------------
def test_global_rate_is_never_exceeded(bridges: Callable[..., Bridge], wa: WhatsAppStandIn) -> None:
    rate = 20
    bridge = bridges(rate_per_second=rate)
    for i in range(1, 31):
        queue(bridge, i, f"+549110000{i:04d}")
    assert bridge.outbox.deliver_due().sent == 30
    times = sorted(r["time"] for r in wa.requests)
    # Network jitter between our send and the stand-in's clock, and the margin by which a start
    # may follow one that woke a little late (TokenBucket).
    slack = 0.01 + OutboxSettings().rate_margin_seconds
    assert all(b - a >= 1 / rate - slack for a, b in pairwise(times))
    assert all(times[i + rate] - times[i] >= 1 - slack for i in range(len(times) - rate))


def test_token_bucket_with_a_fake_clock() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(80, clock=lambda: now[0], sleep=sleep)
    stamps = []
    for _ in range(400):
        bucket.acquire()
        stamps.append(now[0])
    assert all(stamps[i + 80] - stamps[i] >= 1 - 1e-9 for i in range(len(stamps) - 80))


def test_six_seconds_per_recipient_holds_while_others_flow(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn
) -> None:
    gap = 0.4
    bridge = bridges(min_interval_per_recipient=gap)
    for event_id in (1, 2, 3):
        queue(bridge, event_id, A)
    queue(bridge, 4, B)
    report = bridge.outbox.deliver_due()
    assert report.sent == 4
    a_times = [r["time"] for r in sends_to(wa, A)]
    assert all(b - a >= gap - 0.01 for a, b in pairwise(a_times))
    assert sends_to(wa, B)[0]["time"] < a_times[1]  # B did not wait behind A


def test_spacing_waits_only_within_the_time_budget(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn
) -> None:
    bridge = bridges(min_interval_per_recipient=30)
    queue(bridge, 1, A), queue(bridge, 2, A)
    started = time.monotonic()
    report = bridge.outbox.deliver_due(time_budget=2)
    assert time.monotonic() - started < 2
    assert report.sent == 1 and report.stopped == "next message waits for recipient spacing"


def test_sends_overlap_while_the_rate_still_holds(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn
) -> None:
    rate, latency, count = 25, 0.2, 10
    bridge = bridges(rate_per_second=rate, send_concurrency=5)
    wa.delay(latency)
    for i in range(1, count + 1):
        queue(bridge, i, f"+549110000{i:04d}")
    started = time.monotonic()
    report = bridge.outbox.deliver_due()
    elapsed = time.monotonic() - started
    assert report.sent == count and report.stopped == "nothing due"
    assert elapsed < 0.7 * count * latency  # one at a time would take 2 s
    times = sorted(r["time"] for r in wa.requests)
    # Several requests were waiting for their answer at once (the stand-in holds each 0.2 s).
    overlap = max(sum(1 for t in times if s <= t < s + latency) for s in times)
    assert overlap >= 3, [round(b - a, 4) for a, b in pairwise(times)]
    # Network jitter between our start and the stand-in's clock, and the margin by which a start
    # may follow one that woke a little late (TokenBucket).
    slack = 0.01 + OutboxSettings().rate_margin_seconds
    gaps = [round(b - a, 4) for a, b in pairwise(times)]
    assert all(gap >= 1 / rate - slack for gap in gaps), gaps
    assert {r["state"] for r in rows(bridge)} == {"sent"}


def test_threads_share_one_rate_limit() -> None:
    rate, per_thread, threads = 100, 20, 8
    seen = threading.local()  # each thread's last clock reading: the start it was let through at

    def clock() -> float:
        seen.now = time.monotonic()
        return seen.now

    bucket = TokenBucket(rate, clock=clock)
    stamps: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(per_thread):
            bucket.acquire()
            with lock:
                stamps.append(seen.now)

    workers = [threading.Thread(target=take) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    stamps.sort()
    assert len(stamps) == per_thread * threads
    assert all(stamps[i + rate] - stamps[i] >= 1 for i in range(len(stamps) - rate))
    # Slots are handed out 1/rate apart (no burst): the whole run cannot be quicker than that.
    assert stamps[-1] - stamps[0] >= (len(stamps) - 1) / rate - 0.01


def _lock_error(code: int) -> OperationalError:
    text = "Deadlock found when trying to get lock" if code == 1213 else "Lock wait timeout"
    return OperationalError("SELECT ... FOR UPDATE SKIP LOCKED", {}, Exception(code, text))


def test_a_deadlock_in_a_claim_is_nothing_claimed_not_an_error(
    bridges: Callable[..., Bridge], wa: WhatsAppStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from whmcs_bridge.outbox import store

    bridge = bridges()
    ids = [queue(bridge, i, to) for i, to in enumerate((A, B, C), 1)]
    real = store.claim_due
    failures = [_lock_error(1213), _lock_error(1205), _lock_error(1213)]

    def claim_due(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop(0)
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "claim_due", claim_due)
    report = bridge.outbox.deliver_due()
    assert report.sent == 3 and report.stopped == "nothing due"
    assert [row(bridge, i)["state"] for i in ids] == ["sent"] * 3
    assert len(wa.requests) == 3

    # Always contended: the delivery gives up for now, quietly, and the rows stay queued.
    queue(bridge, 9, A)
    monkeypatch.setattr(
        store, "claim_due", lambda *a, **k: (_ for _ in ()).throw(_lock_error(1213))
    )
    report = bridge.outbox.deliver_due()
    assert report.sent == 0 and report.stopped == "claims contended"
    assert rows(bridge)[-1]["state"] == "queued"


def test_claim_index_migration_is_idempotent(panel_url: str) -> None:
    from whmcs_bridge.outbox.tables import DUE_INDEX, OLD_DUE_INDEX
    from whmcs_bridge.store import migrate

    engine = create_engine(panel_url)
    migrate.upgrade(engine)

    def indexes() -> set[str]:
        with engine.connect() as conn:
            return {i["name"] for i in inspect(conn).get_indexes(outbox.name)}

    assert DUE_INDEX in indexes() and OLD_DUE_INDEX not in indexes()
    # A panel at version 4: the old (state, next_attempt_at) index, not the new one.
    mysql = engine.dialect.name in ("mysql", "mariadb")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP INDEX {DUE_INDEX}" + (f" ON {outbox.name}" if mysql else ""))
        conn.exec_driver_sql(
            f"CREATE INDEX {OLD_DUE_INDEX} ON {outbox.name} (state, next_attempt_at)"
        )
        conn.exec_driver_sql(
            "UPDATE mod_whmcs_bridge_meta SET value = '4' WHERE name = 'schema_version'"
        )
    assert migrate.upgrade(engine) == (4, migrate.SCHEMA_VERSION)
    assert DUE_INDEX in indexes() and OLD_DUE_INDEX not in indexes()
    for step in migrate.MIGRATIONS:  # every step again: no error
        with engine.begin() as conn:
            step.apply(conn)
    assert DUE_INDEX in indexes() and OLD_DUE_INDEX not in indexes()
    engine.dispose()


# --- several workers, and the CLI ----------------------------------------------------------------
def test_two_workers_share_the_rows_without_sending_twice(
    bridges: Callable[..., Bridge], panel_url: str
) -> None:
    from whmcs_bridge.channels import console

    first, second = bridges(), bridges()
    assert first.outbox.skip_locked is panel_url.startswith("mysql")
    ids = [queue(first, i, f"chat-{i}", channel="console") for i in range(1, 41)]
    console.SENT.clear()
    workers = [threading.Thread(target=b.outbox.deliver_due) for b in (first, second)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    sent_ids = [m.outbox_id for m in console.SENT]
    assert sorted(sent_ids) == ids  # every message once, none twice
    assert {r["state"] for r in rows(first)} == {"sent"}


def test_two_threads_stopping_the_same_channel_at_once_do_not_collide(
    bridges: Callable[..., Bridge],
) -> None:
    from whmcs_bridge.outbox import store
    from whmcs_bridge.outbox.policy import ChannelAction
    from whmcs_bridge.outbox.tables import channel_states

    bridge = bridges()
    now = bridge.outbox.now()
    actions = [
        ChannelAction("throttled", "130429 (first)", now + timedelta(seconds=30)),
        ChannelAction("throttled", "130429 (second)", now + timedelta(seconds=60)),
    ]
    # Both read "no state yet" before either writes: the insert race of two failing sends.
    both_read = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def report(action: ChannelAction) -> None:
        try:
            with bridge.panel.begin() as conn:
                assert conn.execute(select(channel_states)).first() is None
                both_read.wait()
                store.set_channel_state(conn, "whatsapp", action, now)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=report, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with bridge.panel.connect() as conn:
        states = [dict(r._mapping) for r in conn.execute(select(channel_states))]
    assert len(states) == 1 and states[0]["until_at"] == actions[1].until  # the longer stop wins


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "outbox", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_cli_list_show_retry_purge(tmp_path: Path, wa: WhatsAppStandIn) -> None:
    url = sqlite_panel(tmp_path / "panel.sqlite", seed=False)
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[panel]\ndatabase_url = "{url}"\n[channels.whatsapp]\n'
        f'api_base = "{wa.base_url}"\nphone_number_id = "{wa.phone_number_id}"\n'
        f'token = "{WA_TOKEN}"\n',
        encoding="utf-8",
    )
    bridge = make_bridge(url, config=delivery_config(alerts_section(wa, timeout=0.3)))
    wa.fail_for(A, 132001)
    dead = queue(bridge, 1, A)
    bridge.outbox.deliver_due()
    wa.delay(1.0, times=1)
    lost = queue(bridge, 2, B)
    bridge.outbox.deliver_due()
    wa.reset()  # A is reachable again
    listed = json.loads(_cli(config, "list", "--json").stdout)
    assert {r["id"]: r["state"] for r in listed} == {dead: "dead", lost: "unknown"}
    only = _cli(config, "list", "--state", "dead")
    assert only.returncode == 0 and f"{dead} " in only.stdout and "unknown" not in only.stdout
    shown = _cli(config, "show", str(dead), "--json")
    assert json.loads(shown.stdout)["message"]["template"] == "invoice_created"
    assert WA_TOKEN not in shown.stdout
    refused = _cli(config, "retry", str(lost))
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert _cli(config, "retry", str(lost), "--force").returncode == 0
    assert row(bridge, lost)["state"] == "queued" and row(bridge, lost)["duplicate_risk"] == 1
    assert _cli(config, "retry", str(dead)).returncode == 0
    bridge.outbox.deliver_due()
    assert {r["state"] for r in rows(bridge)} == {"sent"}
    kept = _cli(config, "purge", "--older-than", "1")
    assert kept.returncode == 0 and kept.stdout.startswith("0 message(s)")
    with bridge.panel.begin() as conn:
        old = bridge.outbox.now() - timedelta(days=3)
        conn.execute(outbox.update().where(outbox.c.id == dead).values(updated_at=old))
    purged = _cli(config, "purge", "--older-than", "1")
    assert purged.stdout.startswith("1 message(s)")
    assert [r["id"] for r in rows(bridge)] == [lost]
    assert json.loads(_cli(config, "channels", "--json").stdout) == {
        "whatsapp": None,
        "console": None,
    }
    bridge.close()
