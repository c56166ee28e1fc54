"""What every core watcher shares: its cursor row, event building, new rows above an id, sweeps.

Each watcher keeps ONE cursor row (JSON: the highest id it has seen, ids still in flight, the
position of its sweep); the intake reads all cursors in one query and writes back those that
moved. Subjects whose state must be remembered (an open invoice, a client's digest) live in the
bridge's ``seen`` table under a namespace named after the watcher.

Two ways of reading stay bounded however old the panel is:

* new rows: ``WHERE id > cursor ORDER BY id LIMIT n`` on the primary key;
* a sweep: for tables where any row may change (clients, contacts, domains, services), each cycle
  compares one slice of :data:`SWEEP_SLICE` ids with what was remembered, round-robin. A change
  that no hook reports is therefore seen within ``ceil(rows / SWEEP_SLICE)`` cycles.
* an open set (unpaid invoices, pending or suspended services...): the subjects the activity log
  named (:attr:`WatchContext.dirty`) at once, and one slice of :data:`OPEN_SLICE` remembered ids,
  round-robin (:func:`open_slice_end`), for the changes nobody logged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Table, func, select

from whmcs_bridge.events.catalog import OCCURRENCE_EVENTS, REPEATABLE_EVENTS, spec
from whmcs_bridge.events.model import Event, event_key
from whmcs_bridge.intake.watcher import WatchContext
from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.store.tables import seen as seen_t

#: Rows one sweeping watcher compares per cycle besides those the activity log named. Only
#: changes nobody logged and no hook reported (direct database edits) wait for it. A slice's
#: rows are read from the table's own pages, which on a large panel are not in the server's
#: cache when the sweep comes round to them (once per round): the slice is kept small so that an
#: idle cycle on a 1M-invoice panel costs little more than on a 10k one (bench/idle_cycle.py;
#: 2,000 rows gave 1.5-1.8x, 500 gives 1.2-1.4x). A round of 100,000 clients takes 200 cycles,
#: of 300,000 services 600.
SWEEP_SLICE = 500
#: Remembered open subjects (unpaid invoices, suspended services, ...) one open-set watcher
#: compares per cycle besides those the activity log named (see ``billing.py``). Only changes
#: nobody logged wait for it: on a 1M-invoice panel (24,000 open services, 7,000 open invoices)
#: a round takes 48 and 14 cycles. The services' slice is compared through an index, the
#: invoices' through the rows themselves.
OPEN_SLICE = 500
#: New rows read per query, and how many such batches one cycle reads at most.
NEW_ROWS_BATCH = 1000
NEW_ROWS_MAX_BATCHES = 5
#: Rows read per query while a baseline pages through a whole table.
BASELINE_PAGE = 5000
#: A hole in the ids above the cursor may be a row whose transaction has not committed yet
#: (InnoDB hands out ids at INSERT, rows appear at COMMIT): it is looked up again this many
#: cycles. Holes wider than GAP_WIDTH are an auto-increment jump, not rows in flight.
GAP_CHECKS = 10
GAP_WIDTH = 50
MAX_GAPS = 200

# Events a subject can have again: client alerts keyed per occurrence, others by the day.
REPEATABLE = REPEATABLE_EVENTS


def digest(values: Iterable[object]) -> str:
    """A sha256 hex digest of values; only the digest is stored, never the values."""
    text = json.dumps([None if v is None else str(v) for v in values], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def client_or_none(value: object) -> int | None:
    """WHMCS writes 0 for "no client" (a prospect's quote, a guest's ticket)."""
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def make_event(
    ctx: WatchContext,
    name: str,
    subject_id: int,
    client_id: object = None,
    data: dict[str, Any] | None = None,
    occurred: datetime | None = None,
) -> Event:
    """An event found by a watcher: a repeatable alert keyed by the moment it was seen, other
    repeatable events by the day, as the inbox keys the hook's report of them."""
    when = occurred or ctx.now
    # A repeatable event is keyed by the moment its transition was seen (issue 9 point 1); a
    # hook row of the same change finds this key (inbox.occurrence_key).
    seen = None
    if name in OCCURRENCE_EVENTS:
        seen = f"{when:%Y-%m-%dT%H:%M:%S}"
    elif name in REPEATABLE:
        seen = when.date().isoformat()
    return Event(
        key=event_key(name, subject_id, seen),
        name=name,
        subject_type=spec(name).subject,
        subject_id=int(subject_id),
        occurred_at=when,
        source="watcher",
        client_id=client_or_none(client_id),
        data=data or {},
    )


def load_cursor(ctx: WatchContext, name: str) -> dict[str, Any]:
    text = ctx.cursor(name)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def save_cursor(ctx: WatchContext, name: str, value: dict[str, Any]) -> None:
    ctx.set_cursor(name, json.dumps(value, sort_keys=True))


def max_id(ctx: WatchContext, table: Table) -> int:
    return int(ctx.conn.execute(select(func.max(table.c.id))).scalar() or 0)


def pages(ctx: WatchContext, query: Select[Any], table: Table) -> Iterator[Sequence[Row[Any]]]:
    """A whole table (or the part ``query`` filters) in primary-key pages: baselines only."""
    last = 0
    while True:
        rows = ctx.conn.execute(
            query.where(table.c.id > last).order_by(table.c.id).limit(BASELINE_PAGE)
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id
        if len(rows) < BASELINE_PAGE:
            return


def seen_states(
    ctx: WatchContext,
    namespace: str,
    ids: Iterable[int] | None = None,
    above: int | None = None,
    upto: int | None = None,
) -> dict[int, str]:
    """Remembered states of one namespace: for ``ids``, or for the id range (above, upto]."""
    query = select(seen_t.c.subject_id, seen_t.c.state).where(seen_t.c.watcher == namespace)
    if ids is not None:
        wanted = list(ids)
        if not wanted:
            return {}
        query = query.where(seen_t.c.subject_id.in_(wanted))
    if above is not None:
        query = query.where(seen_t.c.subject_id > above)
    if upto is not None:
        query = query.where(seen_t.c.subject_id <= upto)
    return {int(row.subject_id): str(row.state) for row in ctx.conn.execute(query)}


def open_slice_end(ctx: WatchContext, namespace: str, position: int) -> int | None:
    """Where the slice of :data:`OPEN_SLICE` remembered ids after ``position`` ends.

    ``None``: fewer remain, the slice runs to the end and the next one starts again at 0. One
    index-only read of ``seen``; the caller then compares the range (position, end] with one
    join that returns only the rows that changed.
    """
    return ctx.conn.execute(
        select(seen_t.c.subject_id)
        .where(seen_t.c.watcher == namespace, seen_t.c.subject_id > position)
        .order_by(seen_t.c.subject_id)
        .limit(1)
        .offset(max(OPEN_SLICE, 1) - 1)
    ).scalar()


def open_slice_states(
    ctx: WatchContext, namespace: str, position: int
) -> tuple[dict[int, str], int | None]:
    """The remembered states of the :data:`OPEN_SLICE` ids after ``position``, and where the
    slice ends (``None``: fewer remain, the next slice starts again at 0). One range read of
    ``seen``'s primary key, for a caller that compares them through an index of its own."""
    size = max(OPEN_SLICE, 1)
    rows = ctx.conn.execute(
        select(seen_t.c.subject_id, seen_t.c.state)
        .where(seen_t.c.watcher == namespace, seen_t.c.subject_id > position)
        .order_by(seen_t.c.subject_id)
        .limit(size)
    ).all()
    end = int(rows[-1].subject_id) if len(rows) == size else None
    return {int(row.subject_id): str(row.state) for row in rows}, end


def chunks(ids: Iterable[int], size: int = 1000) -> Iterator[list[int]]:
    """Sorted ids in lists of at most ``size`` (for ``IN`` lists)."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


@dataclass
class SweepSlice:
    """One slice of a table, with the id range it covers: (above, upto], upto None = the end."""

    rows: Sequence[Row[Any]]
    above: int
    upto: int | None

    @property
    def next_position(self) -> int:
        return 0 if self.upto is None else self.upto


def sweep_slice(
    ctx: WatchContext, query: Select[Any], table: Table, position: int, size: int
) -> SweepSlice:
    """The next ``size`` rows after ``position``; a short slice wraps the sweep to the start."""
    rows = ctx.conn.execute(
        query.where(table.c.id > position).order_by(table.c.id).limit(size)
    ).all()
    upto = rows[-1].id if len(rows) == size else None
    return SweepSlice(rows, position, upto)


class CoreWatcher:
    """The skeleton of a core watcher: a JSON cursor, new rows above an id, then its checks.

    Subclasses set :attr:`name` and :attr:`table_name`, and override :meth:`columns`,
    :meth:`on_new`, :meth:`check` and :meth:`remember_all` as they need.
    """

    name = ""
    table_name = ""

    def __init__(self, tables: PanelTables, sweep_size: int | None = None) -> None:
        self.tables = tables
        self.table: Table = tables[self.table_name]
        self.sweep_size = sweep_size or SWEEP_SLICE

    # What a subclass tells.
    def columns(self) -> list[ColumnElement[Any]]:
        return [self.table.c.id]

    def new_rows_query(self) -> Select[Any]:
        return select(*self.columns())

    def on_new(self, ctx: WatchContext, rows: Sequence[Row[Any]]) -> list[Event]:
        return []

    def check(self, ctx: WatchContext, cursor: dict[str, Any]) -> list[Event]:
        return []

    def remember_all(self, ctx: WatchContext) -> None:
        """Baseline: remember the state of what this watcher tracks, as it is now."""

    # The Watcher protocol.
    def baseline(self, ctx: WatchContext) -> None:
        cursor = {"max": max_id(ctx, self.table), "sweep": 0}
        self.remember_all(ctx)
        save_cursor(ctx, self.name, cursor)

    def poll(self, ctx: WatchContext) -> list[Event]:
        cursor = load_cursor(ctx, self.name)
        before = dict(cursor)
        found = self.read_new(ctx, cursor)
        found.extend(self.check(ctx, cursor))
        if cursor != before:
            save_cursor(ctx, self.name, cursor)
        return found

    def observe(self, ctx: WatchContext, event: Event) -> None:
        """By default nothing: the event's key alone makes the hook's report and ours one."""

    def read_new(self, ctx: WatchContext, cursor: dict[str, Any]) -> list[Event]:
        found: list[Event] = []
        gaps: dict[str, int] = dict(cursor.get("gaps") or {})
        if gaps:
            rows = ctx.conn.execute(
                self.new_rows_query()
                .where(self.table.c.id.in_([int(i) for i in gaps]))
                .order_by(self.table.c.id)
            ).all()
            found.extend(self.on_new(ctx, rows))
            late = {str(row.id) for row in rows}
            gaps = {i: n - 1 for i, n in gaps.items() if i not in late and n > 1}
        after = int(cursor.get("max", 0))
        for _ in range(NEW_ROWS_MAX_BATCHES):
            rows = ctx.conn.execute(
                self.new_rows_query()
                .where(self.table.c.id > after)
                .order_by(self.table.c.id)
                .limit(NEW_ROWS_BATCH)
            ).all()
            if not rows:
                break
            for row in rows:
                if row.id - after - 1 <= GAP_WIDTH:
                    for missing in range(after + 1, row.id):
                        if len(gaps) < MAX_GAPS:
                            gaps[str(missing)] = GAP_CHECKS
                after = int(row.id)
            found.extend(self.on_new(ctx, rows))
            if len(rows) < NEW_ROWS_BATCH:
                break
        cursor["max"] = after
        if gaps:
            cursor["gaps"] = gaps
        else:
            cursor.pop("gaps", None)
        return found
