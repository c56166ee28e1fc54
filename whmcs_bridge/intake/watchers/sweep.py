"""Watchers of rows that can change at any time: a remembered state per row, checked by sweeps.

Clients, contacts, domains and login links are never "closed", and WHMCS's ``updated_at``
columns have no index, so there is no cheap way to ask what changed. Each cycle looks at:

* the rows of the clients the activity log named since the last cycle
  (:attr:`WatchContext.dirty`, read by ``intake/activity.py``; WHMCS logs a client's edits of
  its profile, an admin's, contact and domain changes with the client): one query through the
  table's primary key or client index, none when nothing was logged, so a change WHMCS logs is
  found in the next cycle whatever the size of the table;
* one slice of :data:`~whmcs_bridge.intake.watchers.base.SWEEP_SLICE` rows, by primary-key
  range, compared with the states remembered in ``seen``, round-robin: two queries per cycle (the
  slice joined with its remembered states, and a count of the remembered ids of the range that
  tells whether any row was deleted; plus one for new rows) whatever the size of the table.

A change nobody logged and no hook reported (a direct database edit) is found by the slices,
within ``ceil(rows / SWEEP_SLICE)`` cycles; a change a hook reports is taken from the hook at
once (:meth:`SweepWatcher.refresh`). A deleted row is found by the slices (or its hook).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, func, or_, select

from whmcs_bridge.events.model import Event
from whmcs_bridge.intake.watcher import WatchContext
from whmcs_bridge.intake.watchers.base import (
    CoreWatcher,
    chunks,
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

    def logged(self, ctx: WatchContext) -> list[ColumnElement[bool]]:
        """Conditions that select the rows of the subjects the activity log named (one per
        chunk of ids, OR-ed); none, and no query, when it named none of them."""
        return []

    def _with_remembered(self) -> Select[Any]:
        """The watched columns and, as ``remembered``, the state ``seen`` holds (one join)."""
        table, known = self.table, seen_t.alias("known")
        return select(*self.columns(), known.c.state.label("remembered")).select_from(
            table.outerjoin(
                known, and_(known.c.watcher == self.namespace, known.c.subject_id == table.c.id)
            )
        )

    def _compare(
        self, ctx: WatchContext, rows: Sequence[Row[Any]]
    ) -> tuple[list[Event], dict[int, str], int]:
        """Events for the rows whose state moved on, their new states, how many were known."""
        found: list[Event] = []
        fresh: dict[int, str] = {}
        matched = 0
        for row in rows:
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
        return found, fresh, matched

    def check(self, ctx: WatchContext, cursor: dict[str, Any]) -> list[Event]:
        found: list[Event] = []
        named = [] if ctx.dirty.everything else self.logged(ctx)
        if named:
            rows = ctx.conn.execute(self._with_remembered().where(or_(*named))).all()
            logged, fresh, _ = self._compare(ctx, rows)
            found.extend(logged)
            ctx.remember(self.namespace, fresh)
        table, namespace = self.table, self.namespace
        part = sweep_slice(
            ctx, self._with_remembered(), table, cursor.get("sweep", 0), self.sweep_size
        )
        changed, fresh, matched = self._compare(ctx, part.rows)
        found.extend(changed)
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

    def logged(self, ctx: WatchContext) -> list[ColumnElement[bool]]:
        return [self.table.c.userid.in_(chunk) for chunk in chunks(ctx.dirty.clients)]

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
