"""Dispatch: hands each stored event to every enabled plugin, one plugin at a time.

pluggy would stop at the first exception, so the host calls each plugin's ``bridge_on_event``
separately and records an outcome per (event, plugin). A failure is retried in later cycles and
quarantined after ``max_tries``; the other plugins go on. Outcomes are committed per event: a
crash re-runs only the handlers of the event in flight, and handlers are idempotent for that.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Connection, insert, select, update

from whmcs_bridge.events.model import Event
from whmcs_bridge.events.store import unsettled
from whmcs_bridge.store.tables import events as events_t
from whmcs_bridge.store.tables import outcomes as outcomes_t

if TYPE_CHECKING:
    from whmcs_bridge.bridge import Bridge

log = logging.getLogger(__name__)

FINAL = ("done", "skipped", "quarantined")


@dataclass
class DispatchReport:
    events: int = 0
    done: int = 0
    failed: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)


def dispatch(bridge: Bridge, batch: int = 500) -> DispatchReport:
    """Give every unsettled event to every enabled plugin that has not finished with it.

    Each event's outcomes are committed as soon as its handlers return, so a crash re-runs at
    most the handlers of the one event in flight. Marking events settled is bookkeeping done per
    batch: outcomes alone decide what still has to run.
    """
    report = DispatchReport()
    handlers = [
        (impl.plugin_name, impl.function) for impl in bridge.plugins.impls("bridge_on_event")
    ]
    last_id = 0
    with bridge.panel.connect() as conn:
        while True:
            with conn.begin():
                chunk = unsettled(conn, last_id, batch)
                known = _outcomes(conn, [e.id for e in chunk if e.id is not None])
            if not chunk:
                return report
            last_id = chunk[-1].id or last_id
            settled: list[int] = []
            for event in chunk:
                report.events += 1
                with conn.begin():
                    if _dispatch_one(bridge, conn, event, handlers, known, report):
                        settled.append(event.id or 0)
            if settled:
                with conn.begin():
                    conn.execute(
                        update(events_t)
                        .where(events_t.c.id.in_(settled))
                        .values(settled_at=bridge.clock.panel_now())
                    )


def _outcomes(conn: Connection, ids: list[int]) -> dict[tuple[int, str], tuple[str, int]]:
    if not ids:
        return {}
    rows = conn.execute(
        select(
            outcomes_t.c.event_id, outcomes_t.c.plugin, outcomes_t.c.status, outcomes_t.c.tries
        ).where(outcomes_t.c.event_id.in_(ids))
    )
    return {(r.event_id, r.plugin): (r.status, r.tries) for r in rows}


def _dispatch_one(
    bridge: Bridge,
    conn: Connection,
    event: Event,
    handlers: list[tuple[str, object]],
    known: dict[tuple[int, str], tuple[str, int]],
    report: DispatchReport,
) -> bool:
    """Run the handlers still owed this event; True when no plugin needs it any more."""
    settled = True
    assert event.id is not None
    for plugin, function in handlers:
        previous = known.get((event.id, plugin))
        if previous and previous[0] in FINAL:
            continue
        tries = (previous[1] if previous else 0) + 1
        try:
            note = function(bridge=bridge, event=event)  # type: ignore[operator]
        except Exception as exc:
            status = "quarantined" if tries >= bridge.config.max_tries else "failed"
            detail = f"{type(exc).__name__}: {exc}"[:1000]
            log.warning(
                "plugin %s failed on event %s (%s), try %d: %s",
                plugin,
                event.id,
                event.name,
                tries,
                detail,
            )
            report.errors.append(f"{plugin} on event {event.id}: {detail}")
            if status == "failed":
                report.failed += 1
                settled = False
            else:
                report.quarantined += 1
        else:
            status = "skipped" if note == "skip" else "done"
            detail = "" if note in (None, "skip") else str(note)[:1000]
            report.done += 1
        _save(conn, event.id, plugin, status, tries, detail, bridge.clock.panel_now(), previous)
    return settled


def _save(
    conn: Connection,
    event_id: int,
    plugin: str,
    status: str,
    tries: int,
    detail: str,
    now: object,
    previous: tuple[str, int] | None,
) -> None:
    values = {"status": status, "tries": tries, "detail": detail, "updated_at": now}
    if previous is None:
        conn.execute(insert(outcomes_t).values(event_id=event_id, plugin=plugin, **values))
    else:
        conn.execute(
            update(outcomes_t)
            .where(outcomes_t.c.event_id == event_id, outcomes_t.c.plugin == plugin)
            .values(**values)
        )
