"""The services watcher: suspended, reactivated, terminated and moved to another client.

``tblhosting`` holds every service ever sold, so the watcher splits what it remembers (state
``<domainstatus>|<userid>``) in two namespaces of ``seen``:

* ``services``: the OPEN services, Pending or Suspended (a small set). One join per cycle finds
  those whose status or client changed, or that were deleted.
* ``services.sweep``: all the others, compared one slice per cycle (see ``sweep.py``).

Active -> Suspended is found at once although Active services are only swept: the Suspended
services are read through the ``domainstatus`` index and anti-joined with the open set. So only
Active -> Terminated/Cancelled and moves of services that are not open wait for the sweep, unless a
hook reports them first. An idle cycle costs five queries (new rows, open join, anti-join, sweep
slice, remembered states of the slice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, literal, or_, select

from whmcs_bridge.events.model import Event
from whmcs_bridge.intake.watcher import WatchContext
from whmcs_bridge.intake.watchers.base import make_event, pages, seen_states, sweep_slice
from whmcs_bridge.intake.watchers.sweep import SweepWatcher
from whmcs_bridge.store.tables import seen as seen_t

OPEN = ("Pending", "Suspended")
ENDED = ("Terminated", "Cancelled")
SWEPT = "services.sweep"
# What the module hooks say the status became (the database may say Cancelled for Terminated).
IMPLIED = {
    "service.suspended": ("Suspended",),
    "service.reactivated": ("Active",),
    "service.terminated": ENDED,
}


class ServiceWatcher(SweepWatcher):
    """``service.suspended``, ``service.reactivated``, ``service.terminated``, ``service.moved``."""

    name = "services"
    table_name = "hosting"

    @property
    def namespace(self) -> str:
        return SWEPT

    def columns(self) -> list[ColumnElement[Any]]:
        c = self.table.c
        return [c.id, c.userid, c.domainstatus.label("status")]

    def state_of(self, row: Row[Any]) -> str:
        return f"{row.status}|{row.userid}"

    def _place(self, ctx: WatchContext, states: dict[int, str]) -> None:
        """Remember states in the namespace their status belongs to, forgetting the other."""
        open_set = {i: s for i, s in states.items() if s.partition("|")[0] in OPEN}
        swept = {i: s for i, s in states.items() if i not in open_set}
        ctx.remember(self.name, open_set)
        ctx.forget(self.name, swept)
        ctx.remember(SWEPT, swept)
        ctx.forget(SWEPT, open_set)

    def transition(self, ctx: WatchContext, subject_id: int, old: str, new: str) -> list[Event]:
        old_status, _, old_client = old.partition("|")
        new_status, _, new_client = new.partition("|")
        found: list[Event] = []
        if old_client and old_client != new_client:
            data = {"from_client_id": int(old_client), "to_client_id": int(new_client)}
            found.append(make_event(ctx, "service.moved", subject_id, new_client, data))
        name = None
        if new_status == "Suspended" and old_status != "Suspended":
            name = "service.suspended"
        elif old_status == "Suspended" and new_status == "Active":
            name = "service.reactivated"
        elif new_status in ENDED and old_status not in ENDED:
            name = "service.terminated"
        if name:
            found.append(make_event(ctx, name, subject_id, new_client))
        return found

    def remember_all(self, ctx: WatchContext) -> None:
        for rows in pages(ctx, select(*self.columns()), self.table):
            ctx.remember(self.name, {r.id: self.state_of(r) for r in rows if r.status in OPEN})
            ctx.remember(SWEPT, {r.id: self.state_of(r) for r in rows if r.status not in OPEN})

    def on_new(self, ctx: WatchContext, rows: Sequence[Row[Any]]) -> list[Event]:
        # A service is born Pending or Active; older statuses on a new row are an import.
        self._place(ctx, {row.id: self.state_of(row) for row in rows})
        return []

    def check(self, ctx: WatchContext, cursor: dict[str, Any]) -> list[Event]:
        return [*self._open_set(ctx), *self._newly_suspended(ctx), *self._sweep(ctx, cursor)]

    def hinted(self, ctx: WatchContext, hints: list[tuple[str, dict[str, Any]]]) -> list[Event]:
        """Check at once the services an admin edited (``ServiceEdit``, ``AdminServiceEdit``,
        ``ServiceDelete`` rows): a manual status change or move needs no sweep to be found."""
        ids = sorted(
            {int(p["serviceid"]) for _, p in hints if str(p.get("serviceid", "")).isdigit()}
        )
        if not ids:
            return []
        rows = ctx.conn.execute(select(*self.columns()).where(self.table.c.id.in_(ids))).all()
        before = {**seen_states(ctx, SWEPT, ids), **seen_states(ctx, self.name, ids)}
        found: list[Event] = []
        states: dict[int, str] = {}
        for row in rows:
            states[row.id] = self.state_of(row)
            old = before.get(row.id)
            if old is not None and old != states[row.id]:
                found.extend(self.transition(ctx, row.id, old, states[row.id]))
        self._place(ctx, states)
        return found

    def _open_set(self, ctx: WatchContext) -> list[Event]:
        hosting = self.table
        # No CAST: a cast string takes the connection's collation, which MySQL refuses to mix
        # with the column's; concat() converts the number with the column's own.
        current = hosting.c.domainstatus.concat(literal("|")).concat(hosting.c.userid)
        query = (
            select(seen_t.c.subject_id, seen_t.c.state, *self.columns())
            .select_from(seen_t.outerjoin(hosting, hosting.c.id == seen_t.c.subject_id))
            .where(
                seen_t.c.watcher == self.name,
                or_(hosting.c.id.is_(None), current != seen_t.c.state),
            )
        )
        found: list[Event] = []
        states: dict[int, str] = {}
        deleted: list[int] = []
        for row in ctx.conn.execute(query).all():
            if row.id is None:
                deleted.append(row.subject_id)
                continue
            states[row.id] = self.state_of(row)
            found.extend(self.transition(ctx, row.id, row.state, states[row.id]))
        ctx.forget(self.name, deleted)
        self._place(ctx, states)
        return found

    def _newly_suspended(self, ctx: WatchContext) -> list[Event]:
        hosting = self.table
        query = (
            select(*self.columns())
            .select_from(
                hosting.outerjoin(
                    seen_t,
                    and_(seen_t.c.watcher == self.name, seen_t.c.subject_id == hosting.c.id),
                )
            )
            .where(hosting.c.domainstatus == "Suspended", seen_t.c.subject_id.is_(None))
        )
        rows = ctx.conn.execute(query).all()
        if not rows:
            return []
        before = seen_states(ctx, SWEPT, [row.id for row in rows])
        found: list[Event] = []
        states = {row.id: self.state_of(row) for row in rows}
        for row in rows:
            found.extend(self.transition(ctx, row.id, before.get(row.id, ""), states[row.id]))
        self._place(ctx, states)
        return found

    def _sweep(self, ctx: WatchContext, cursor: dict[str, Any]) -> list[Event]:
        part = sweep_slice(
            ctx, select(*self.columns()), self.table, cursor.get("sweep", 0), self.sweep_size
        )
        query = select(seen_t.c.watcher, seen_t.c.subject_id, seen_t.c.state).where(
            seen_t.c.watcher.in_((self.name, SWEPT)), seen_t.c.subject_id > part.above
        )
        if part.upto is not None:
            query = query.where(seen_t.c.subject_id <= part.upto)
        known: dict[str, dict[int, str]] = {self.name: {}, SWEPT: {}}
        for seen_row in ctx.conn.execute(query):
            known[seen_row.watcher][int(seen_row.subject_id)] = seen_row.state
        opened, swept = known[self.name], known[SWEPT]
        found: list[Event] = []
        states: dict[int, str] = {}
        for row in part.rows:
            new = self.state_of(row)
            old = swept.pop(row.id, None)
            if row.id in opened:
                continue  # the open-set join has compared it already
            if old != new:
                if old is not None:
                    found.extend(self.transition(ctx, row.id, old, new))
                states[row.id] = new
        ctx.forget(SWEPT, swept)  # remembered services that were deleted
        self._place(ctx, states)
        cursor["sweep"] = part.next_position
        return found

    def observe(self, ctx: WatchContext, event: Event) -> None:
        statuses = IMPLIED.get(event.name)
        if statuses is None:
            return
        row = self.current(ctx, event.subject_id)
        if row is None:
            return
        status = row.status if row.status in statuses else statuses[0]
        query = select(seen_t.c.state).where(
            seen_t.c.watcher.in_((self.name, SWEPT)), seen_t.c.subject_id == row.id
        )
        old = ctx.conn.execute(query).scalar()
        # Keep the client we knew: a move in the same cycle is still the watcher's to report.
        client = (old or "").partition("|")[2] or str(row.userid)
        self._place(ctx, {row.id: f"{status}|{client}"})
