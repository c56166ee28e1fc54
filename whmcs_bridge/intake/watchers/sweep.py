"""Watchers of rows that can change at any time: a remembered state per row, checked by sweeps.

Clients, contacts, domains and login links are never "closed", and WHMCS's ``updated_at``
columns have no index, so there is no cheap way to ask what changed. Instead each cycle compares
one slice of :data:`~whmcs_bridge.intake.watchers.base.SWEEP_SLICE` rows, by primary-key range,
with the states remembered in ``seen``, round-robin: two queries per cycle (the slice joined with
its remembered states, and a count of the remembered ids of the range that tells whether any
row was deleted; plus one for new rows) whatever the size of the table. A change no hook reports
is found within ``ceil(rows / SWEEP_SLICE)`` cycles; a change a hook reports is taken from the
hook at once (:meth:`SweepWatcher.refresh`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, select

from whmcs_bridge.events.model import Event
from whmcs_bridge.intake.watcher import WatchContext
from whmcs_bridge.intake.watchers.base import (
    CoreWatcher,
    make_event,
    pages,
    seen_states,
    sweep_slice,
)
from whmcs_bridge.store.tables import seen as seen_t


class SweepWatcher(CoreWatcher):
    """A state per row in ``seen``: new rows above the cursor, one sweep slice per cycle."""

    @property
    def namespace(self) -> str:
        return self.name

    def state_of(self, row: Row[Any]) -> str:
        raise NotImplementedError

    def added(self, ctx: WatchContext, row: Row[Any]) -> list[Event]:
        return []

    def changed(self, ctx: WatchContext, row: Row[Any], old: str, new: str) -> list[Event]:
        return []

    def gone(self, ctx: WatchContext, subject_id: int, old: str) -> list[Event]:
        return []

    def remember_all(self, ctx: WatchContext) -> None:
        for rows in pages(ctx, select(*self.columns()), self.table):
            ctx.remember(self.namespace, {row.id: self.state_of(row) for row in rows})

    def on_new(self, ctx: WatchContext, rows: Sequence[Row[Any]]) -> list[Event]:
        found: list[Event] = []
        for row in rows:
            found.extend(self.added(ctx, row))
        ctx.remember(self.namespace, {row.id: self.state_of(row) for row in rows})
        return found

    def check(self, ctx: WatchContext, cursor: dict[str, Any]) -> list[Event]:
        table, namespace = self.table, self.namespace
        known = seen_t.alias("known")
        # The slice's rows come with what was remembered of each (one join, one row each).
        query = select(*self.columns(), known.c.state.label("remembered")).select_from(
            table.outerjoin(
                known, and_(known.c.watcher == namespace, known.c.subject_id == table.c.id)
            )
        )
        part = sweep_slice(ctx, query, table, cursor.get("sweep", 0), self.sweep_size)
        found: list[Event] = []
        fresh: dict[int, str] = {}
        matched = 0
        for row in part.rows:
            old = row.remembered
            if old is not None:
                matched += 1
            new = self.state_of(row)
            if old == new:
                continue
            if old is not None:
                found.extend(self.changed(ctx, row, old, new))
            # A row never remembered (written in the instant between two reads) is learnt quietly.
            fresh[row.id] = new
        in_range = [seen_t.c.watcher == namespace, seen_t.c.subject_id > part.above]
        if part.upto is not None:
            in_range.append(seen_t.c.subject_id <= part.upto)
        remembered = ctx.conn.execute(select(func.count()).where(*in_range)).scalar_one()
        gone: dict[int, str] = {}
        if remembered != matched:  # some remembered rows of the range were deleted
            gone = {
                int(row.subject_id): str(row.state)
                for row in ctx.conn.execute(
                    select(seen_t.c.subject_id, seen_t.c.state)
                    .select_from(seen_t.outerjoin(table, table.c.id == seen_t.c.subject_id))
                    .where(*in_range, table.c.id.is_(None))
                )
            }
        for subject_id, old in gone.items():
            found.extend(self.gone(ctx, subject_id, old))
        ctx.remember(namespace, fresh)
        ctx.forget(namespace, gone)
        cursor["sweep"] = part.next_position
        return found

    def current(self, ctx: WatchContext, subject_id: int) -> Row[Any] | None:
        return ctx.conn.execute(
            select(*self.columns()).where(self.table.c.id == subject_id)
        ).first()

    def refresh(self, ctx: WatchContext, subject_id: int) -> None:
        """Remember a subject's current state: a hook has reported its change already."""
        row = self.current(ctx, subject_id)
        if row is not None:
            ctx.remember(self.namespace, {row.id: self.state_of(row)})


class DomainWatcher(SweepWatcher):
    """``domain.deleted`` when a remembered domain is gone; its name travels in the event."""

    name = "domains"
    table_name = "domains"

    def columns(self) -> list[ColumnElement[Any]]:
        c = self.table.c
        return [c.id, c.userid, c.domain]

    def state_of(self, row: Row[Any]) -> str:
        return f"{row.userid}|{row.domain}"

    def gone(self, ctx: WatchContext, subject_id: int, old: str) -> list[Event]:
        client, _, name = old.partition("|")
        return [make_event(ctx, "domain.deleted", subject_id, client, {"domain": name})]

    def observe(self, ctx: WatchContext, event: Event) -> None:
        if event.name != "domain.deleted":
            return
        if not event.data.get("domain"):
            # The hook sent no name (the row was gone already): use the one remembered, the
            # last chance to know it. ``data`` is the event's own dict, stored after this.
            old = seen_states(ctx, self.namespace, [event.subject_id]).get(event.subject_id)
            if old is not None:
                event.data["domain"] = old.partition("|")[2]
        ctx.forget(self.namespace, [event.subject_id])
