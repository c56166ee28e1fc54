"""Dispatch: hands each stored event to every enabled plugin, one plugin at a time.

pluggy would stop at the first exception, so the host calls each plugin's ``bridge_on_event``
separately (``PluginHost.call_each``) and records an outcome per (event, plugin). A failure is
retried by time, with backoff (``[run] retry_base_seconds``, doubling up to an hour), and
quarantined once ``[run] retry_span_hours`` (default 24) are used up, or after ``max_tries``
when set; the other plugins go on. Outcomes are committed for ``[run] outcomes_per_commit``
events at once (default 100), at least every :data:`GROUP_SECONDS` and at the end of each page:
a crash re-runs the handlers of at most that many events (handlers are idempotent by contract),
for a fraction of the statements and of the waits on the disk. With 1, each event's outcomes
are committed as its handlers return and a crash re-runs only those of the event in flight.
"""

from __future__ import annotations

import logging
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from whmcs_bridge.events.model import SKIP, Event
from whmcs_bridge.events.store import unsettled_rows
from whmcs_bridge.lock import ensure_held
from whmcs_bridge.store.tables import events as events_t
from whmcs_bridge.store.tables import outcomes as outcomes_t

if TYPE_CHECKING:
    from whmcs_bridge.bridge import Bridge

log = logging.getLogger(__name__)

FINAL = ("done", "skipped", "quarantined")
#: The longest time outcomes wait unwritten when several events' outcomes share a commit.
GROUP_SECONDS = 0.5


@dataclass
class DispatchReport:
    events: int = 0
    done: int = 0
    failed: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)


def dispatch(bridge: Bridge, batch: int = 500) -> DispatchReport:
    """Give every unsettled event to every enabled plugin that has not finished with it.

    Each event's outcomes are written with those of the next events up to
    ``[run] outcomes_per_commit`` (at once with 1), so a crash re-runs at most the handlers of
    those events. Marking events settled is bookkeeping done per page, once
    their outcomes are written: outcomes alone decide what still has to run.
    """
    report = DispatchReport()
    handlers = [impl.plugin_name for impl in bridge.plugins.impls("bridge_on_event")]
    last_id = 0
    with bridge.panel.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        writer = OutcomeWriter(conn, bridge.config.outcomes_per_commit)
        while True:
            rows = unsettled_rows(conn, last_id, batch)
            if not rows:
                return report
            known = _outcomes(conn, [row.id for row in rows])
            last_id = rows[-1].id
            chunk = []
            for row in rows:
                try:
                    chunk.append(_read(row))
                except Exception as exc:  # one bad stored event never stops dispatch (issue 12)
                    _set_aside(bridge, conn, row.id, exc, handlers, known, report)
            settled: list[int] = []
            try:
                for event in chunk:
                    ensure_held()  # a cycle that lost its lock stops here (outcomes are kept)
                    report.events += 1
                    if _dispatch_one(bridge, writer, event, handlers, known, report):
                        settled.append(event.id or 0)
                    if writer.due():
                        writer.write()
            except BaseException:
                writer.write_if_possible()  # those handlers ran: the next cycle need not
                raise
            writer.write()
            if settled:
                conn.execute(
                    update(events_t)
                    .where(events_t.c.id.in_(settled))
                    .values(settled_at=bridge.clock.panel_now())
                )


class OutcomeWriter:
    """Outcomes not yet written: written once ``group`` events have some, once
    :data:`GROUP_SECONDS` passed since the first of them, and at the end of each page."""

    def __init__(self, conn: Connection, group: int = 1) -> None:
        self.conn = conn
        self.group = group
        self.one_insert = conn.dialect.name in ("mysql", "mariadb")
        self.new_rows: list[dict[str, object]] = []
        self.retried: list[dict[str, object]] = []
        self.events = 0
        self.since = 0.0

    def add(self, new_rows: list[dict[str, object]], retried: list[dict[str, object]]) -> None:
        """One event's outcomes (new rows, and updates of rows a plugin had before)."""
        if not new_rows and not retried:
            return
        if not self.events:
            self.since = time.monotonic()
        self.events += 1
        self.new_rows.extend(new_rows)
        self.retried.extend(retried)

    def due(self) -> bool:
        return self.events > 0 and (
            self.events >= self.group or time.monotonic() - self.since >= GROUP_SECONDS
        )

    def write(self) -> None:
        """Write what waits: one statement for the new rows, one for the updated ones.

        What would be several commits is one explicit transaction: on an autocommit connection
        each row of an executemany is its own statement and commit (and wait on the disk), but
        for PyMySQL's INSERT, sent as one multi-row statement."""
        inserts = min(len(self.new_rows), 1) if self.one_insert else len(self.new_rows)
        commits = inserts + len(self.retried)
        if not commits:
            return
        if commits > 1:
            self.conn.exec_driver_sql("BEGIN")
        try:
            if self.new_rows:
                self.conn.execute(_INSERT_OUTCOMES, self.new_rows)
            if self.retried:
                self.conn.execute(_UPDATE_OUTCOME, self.retried)
        except BaseException:
            if commits > 1:
                with suppress(Exception):  # a lost connection: the first error says it
                    self.conn.exec_driver_sql("ROLLBACK")
            raise
        if commits > 1:
            self.conn.exec_driver_sql("COMMIT")
        self.new_rows, self.retried, self.events = [], [], 0

    def write_if_possible(self) -> None:
        """Write what waits on the way out of a failed dispatch; a failure here is logged
        (the error on its way up says more) and those events' handlers run again."""
        try:
            self.write()
        except Exception as exc:
            log.warning("outcomes of %d events not written: %s", self.events, exc)


def _read(row: Row[Any]) -> Event:
    event = Event.from_row(row)
    if not isinstance(event.data, dict):
        raise ValueError("its data is not a JSON object")
    return event


def _set_aside(
    bridge: Bridge,
    conn: Connection,
    event_id: int,
    exc: Exception,
    handlers: list[str],
    known: dict[tuple[int, str], tuple[Any, ...]],
    report: DispatchReport,
) -> None:
    """An event that cannot be read back (cut data, say): quarantined for every plugin still
    owed it, and settled, so that it is reported once and the events after it go on."""
    reason = f"the stored event cannot be read: {type(exc).__name__}: {exc}"[:1000]
    log.error("event %s: %s", event_id, reason)
    report.events += 1
    report.quarantined += 1
    report.errors.append(f"event {event_id}: {reason}")
    now = bridge.clock.panel_now()
    for plugin in handlers:
        previous = known.get((event_id, plugin))
        if previous and previous[0] in FINAL:
            continue
        values = {"status": "quarantined", "detail": reason, "updated_at": now}
        if previous is None:
            conn.execute(_INSERT_OUTCOMES, [{"event_id": event_id, "plugin": plugin, **values}])
        else:
            retried = {"b_event_id": event_id, "b_plugin": plugin, "tries": previous[1]}
            conn.execute(_UPDATE_OUTCOME, [{**retried, **values}])
    conn.execute(update(events_t).where(events_t.c.id == event_id).values(settled_at=now))


def _outcomes(conn: Connection, ids: list[int]) -> dict[tuple[int, str], tuple[Any, ...]]:
    """(status, tries, updated_at) per (event, plugin)."""
    if not ids:
        return {}
    rows = conn.execute(
        select(
            outcomes_t.c.event_id,
            outcomes_t.c.plugin,
            outcomes_t.c.status,
            outcomes_t.c.tries,
            outcomes_t.c.updated_at,
        ).where(outcomes_t.c.event_id.in_(ids))
    )
    return {(r.event_id, r.plugin): (r.status, r.tries, r.updated_at) for r in rows}


#: The longest wait between two tries of a failing plugin.
RETRY_CAP_SECONDS = 3600.0


def retry_wait(base: float, tries: int) -> float:
    """Seconds after failure number ``tries`` (1-based) before the next try: doubling, capped."""
    return min(RETRY_CAP_SECONDS, base * 2 ** max(tries - 1, 0))


def retried_for(base: float, tries: int) -> float:
    """How long a plugin that failed ``tries`` times has been retried, at the least."""
    return sum(retry_wait(base, n) for n in range(1, tries))


def gives_up(config: Any, tries: int) -> bool:
    """Quarantine after ``tries`` failures: the retry span is used up (or ``max_tries``)."""
    if config.max_tries is not None and tries >= config.max_tries:
        return True
    return retried_for(config.retry_base_seconds, tries + 1) >= config.retry_span_seconds


# Built once: the statement cache then skips compiling them for every event.
_INSERT_OUTCOMES = insert(outcomes_t)
_UPDATE_OUTCOME = (
    update(outcomes_t)
    .where(
        outcomes_t.c.event_id == bindparam("b_event_id"),
        outcomes_t.c.plugin == bindparam("b_plugin"),
    )
    .values(
        status=bindparam("status"),
        tries=bindparam("tries"),
        detail=bindparam("detail"),
        updated_at=bindparam("updated_at"),
    )
)


def _dispatch_one(
    bridge: Bridge,
    writer: OutcomeWriter,
    event: Event,
    handlers: list[str],
    known: dict[tuple[int, str], tuple[Any, ...]],
    report: DispatchReport,
) -> bool:
    """Run the handlers still owed this event; True when no plugin needs it any more."""
    settled = True
    assert event.id is not None
    new_rows: list[dict[str, object]] = []
    retried: list[dict[str, object]] = []
    now = bridge.clock.panel_now()
    owed: dict[str, int] = {}
    config = bridge.config
    for plugin in handlers:
        previous = known.get((event.id, plugin))
        if previous and previous[0] in FINAL:
            continue
        # tries 0: re-queued by hand (`events retry`), due at once.
        if previous and previous[0] == "failed" and previous[1] and previous[2] is not None:
            wait = retry_wait(config.retry_base_seconds, previous[1])
            due = previous[2] + timedelta(seconds=wait)
            if now < due:
                settled = False  # retried by time, not by cycles: its next try is later
                continue
        owed[plugin] = previous[1] if previous else 0
    for result in bridge.plugins.call_each(
        "bridge_on_event", only=owed, bridge=bridge, event=event
    ):
        plugin, tries = result.plugin, owed[result.plugin] + 1
        if not result.ok:
            status = "quarantined" if gives_up(config, tries) else "failed"
            detail = str(result.error)[:1000]
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
            note = result.value
            status = "skipped" if note is SKIP else "done"
            detail = "" if note is None or note is SKIP else str(note)[:1000]
            report.done += 1
        values = {"status": status, "tries": tries, "detail": detail, "updated_at": now}
        if known.get((event.id, plugin)) is None:
            new_rows.append({"event_id": event.id, "plugin": plugin, **values})
        else:
            retried.append({"b_event_id": event.id, "b_plugin": plugin, **values})
    writer.add(new_rows, retried)
    return settled
