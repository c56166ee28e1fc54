"""The services watcher: suspended, reactivated, terminated and moved to another client.

``tblhosting`` holds every service ever sold, so the watcher splits what it remembers (state
``<domainstatus>|<userid>``) in two namespaces of ``seen``:

* ``services``: the OPEN services, Pending or Suspended;
* ``services.sweep``: all the others.

Each cycle it compares:

* every service of the clients, and every service, the activity log named since the last cycle
  (:attr:`WatchContext.dirty`; WHMCS logs module commands, the cron's suspensions, admins'
  edits and moves with the client): one query through the ``userid`` index, none when nothing
  was logged. Any change of those, open or not, is found in the next cycle;
* one round-robin slice of :data:`~whmcs_bridge.intake.watchers.base.OPEN_SLICE` open services
  through the ``domainstatus`` index, never the table's pages: their remembered states (a range
  of ``seen``) against the Pending and Suspended ids of the same id range (an index-only read,
  the index holds the id). A service that left the open set, went from Pending to Suspended, was
  deleted, or is Suspended without being remembered as open (the Active -> Suspended nobody
  logged) differs, and only those rows are read;
* one slice of :data:`~whmcs_bridge.intake.watchers.base.SWEEP_SLICE` services by id, open or
  not, compared in SQL with either namespace (only those that changed return): the changes the
  index cannot show, a service moved to another client without a log line, an Active service
  terminated.

When the feed says everything is dirty (no activity log, the first cycle, a burst of lines) the
whole open set is compared, status and client, and all Suspended services are anti-joined with
it, as one query each.

Detection latency: a change logged by WHMCS or reported by a hook, next cycle; a direct database
edit nobody logged, within ``ceil(open services / OPEN_SLICE)`` cycles for a change of an open
service's status or a new suspension, within ``ceil(services / SWEEP_SLICE)`` cycles for the
others (an Active service terminated, any service moved). An idle cycle costs five queries
whatever the size of the panel: new rows; the open slice's remembered states and its index
range; where the sweep slice ends, its services that changed or were deleted. The pages it reads
are a few of ``seen`` and of the index, and the sweep slice's: the same number on any panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, literal, null, or_, select, union_all

from whmcs_bridge.events.model import Event
from whmcs_bridge.intake.watcher import WatchContext
from whmcs_bridge.intake.watchers.base import (
    chunks,
    make_event,
    open_slice_states,
    pages,
    seen_states,
)
from whmcs_bridge.intake.watchers.sweep import SweepWatcher
from whmcs_bridge.store.tables import seen as seen_t

OPEN = ("Pending", "Suspended")
ENDED = ("Terminated", "Cancelled")
# Statuses of a service that was set up: only such a service can be "terminated" for the client.
# Pending -> Cancelled is an order cancelled (or judged fraud) before provisioning: no news.
PROVISIONED = ("Active", "Suspended")
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
        elif new_status in ENDED and old_status in PROVISIONED:
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
        if ctx.dirty.everything:
            found = [*self._open_set(ctx), *self._newly_suspended(ctx)]
        else:
            found = [*self._logged(ctx), *self._open_slice(ctx, cursor)]
        found.extend(self._sweep(ctx, cursor))
        return found

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

    def _current(self) -> ColumnElement[str]:
        """A service's state computed in SQL, to compare with the remembered one."""
        c = self.table.c
        # No CAST: a cast string takes the connection's collation, which MySQL refuses to mix
        # with the column's; concat() converts the number with the column's own.
        return c.domainstatus.concat(literal("|")).concat(c.userid)

    def _logged(self, ctx: WatchContext) -> list[Event]:
        """Every service of what the activity log named, compared with both namespaces."""
        dirty, hosting = ctx.dirty, self.table
        named = [hosting.c.userid.in_(c) for c in chunks(dirty.clients)]
        named += [hosting.c.id.in_(c) for c in chunks(dirty.services)]
        if not named:
            return []
        opened, swept = seen_t.alias("opened"), seen_t.alias("swept")
        query = (
            select(
                *self.columns(),
                opened.c.state.label("open_state"),
                swept.c.state.label("swept_state"),
            )
            .select_from(
                hosting.outerjoin(
                    opened, and_(opened.c.watcher == self.name, opened.c.subject_id == hosting.c.id)
                ).outerjoin(
                    swept, and_(swept.c.watcher == SWEPT, swept.c.subject_id == hosting.c.id)
                )
            )
            .where(or_(*named))
        )
        found: list[Event] = []
        states: dict[int, str] = {}
        for row in ctx.conn.execute(query).all():
            new = self.state_of(row)
            old = row.open_state if row.open_state is not None else row.swept_state
            if old == new:
                continue
            if old is not None:
                found.extend(self.transition(ctx, row.id, old, new))
            states[row.id] = new
        self._place(ctx, states)
        return found

    def _open_set(self, ctx: WatchContext) -> list[Event]:
        """The open services that changed, status or client, or were deleted: all of them."""
        hosting = self.table
        current = self._current()
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
        """All Suspended services not remembered as open."""
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

    def _open_slice(self, ctx: WatchContext, cursor: dict[str, Any]) -> list[Event]:
        """One slice of the open set against the ``domainstatus`` index; only what differs is
        read from the table. A move of an open service (its client changed, its status not)
        does not show in the index: the activity log names it, or the sweep finds it."""
        position = int(cursor.get("open", 0))
        remembered, end = open_slice_states(ctx, self.name, position)
        hosting, status = self.table, self.table.c.domainstatus
        # Up to the last row read as new: a row committed since is the next cycle's new row.
        upto = end if end is not None else int(cursor.get("max", 0))
        listed = {
            int(row.id): str(row.status)
            for row in ctx.conn.execute(
                select(hosting.c.id, status.label("status")).where(
                    status.in_(OPEN), hosting.c.id > position, hosting.c.id <= upto
                )
            )
        }
        if end is not None or position:
            cursor["open"] = end or 0
        differ = {i for i, state in remembered.items() if listed.get(i) != state.partition("|")[0]}
        differ.update(listed.keys() - remembered.keys())
        if not differ:
            return []
        rows = [
            row
            for chunk in chunks(differ)
            for row in ctx.conn.execute(select(*self.columns()).where(hosting.c.id.in_(chunk)))
        ]
        unknown = [row.id for row in rows if row.id not in remembered]
        before = {**seen_states(ctx, SWEPT, unknown), **remembered}
        found: list[Event] = []
        states: dict[int, str] = {}
        for row in rows:
            new = self.state_of(row)
            old = before.get(row.id, "")
            if old != new:
                found.extend(self.transition(ctx, row.id, old, new))
                states[row.id] = new
        present = {row.id for row in rows}
        ctx.forget(self.name, [i for i in differ if i in remembered and i not in present])
        self._place(ctx, states)
        return found

    def _sweep(self, ctx: WatchContext, cursor: dict[str, Any]) -> list[Event]:
        """One slice of the services, compared in SQL: only changes return.

        Where the slice ends is an index-only read; then one statement returns the services of
        the slice whose status or client differ from what either namespace remembers (or that
        neither remembers), and the ones ``services.sweep`` remembers that were deleted (the
        open slice finds the open ones).
        """
        hosting = self.table
        position = int(cursor.get("sweep", 0))
        end = ctx.conn.execute(
            select(hosting.c.id)
            .where(hosting.c.id > position)
            .order_by(hosting.c.id)
            .limit(1)
            .offset(max(self.sweep_size, 1) - 1)
        ).scalar()

        def in_slice(column: ColumnElement[Any]) -> list[ColumnElement[bool]]:
            return [column > position] + ([column <= end] if end is not None else [])

        opened, swept = seen_t.alias("opened"), seen_t.alias("swept")
        old = func.coalesce(opened.c.state, swept.c.state)
        changed = (
            select(*self.columns(), old.label("old"))
            .select_from(
                hosting.outerjoin(
                    opened, and_(opened.c.watcher == self.name, opened.c.subject_id == hosting.c.id)
                ).outerjoin(
                    swept, and_(swept.c.watcher == SWEPT, swept.c.subject_id == hosting.c.id)
                )
            )
            .where(
                *in_slice(hosting.c.id),
                or_(old.is_(None), self._current() != old),
            )
        )
        gone = (
            select(
                seen_t.c.subject_id.label("id"),
                null().label("userid"),
                null().label("status"),
                seen_t.c.state.label("old"),
            )
            .select_from(seen_t.outerjoin(hosting, hosting.c.id == seen_t.c.subject_id))
            .where(
                seen_t.c.watcher == SWEPT, *in_slice(seen_t.c.subject_id), hosting.c.id.is_(None)
            )
        )
        found: list[Event] = []
        states: dict[int, str] = {}
        deleted: list[int] = []
        for row in ctx.conn.execute(union_all(changed, gone)).all():
            if row.status is None:
                deleted.append(int(row.id))
                continue
            new = self.state_of(row)
            if row.old is not None:
                found.extend(self.transition(ctx, row.id, row.old, new))
            # A row never remembered (written in the instant between two reads) is learnt quietly.
            states[row.id] = new
        ctx.forget(SWEPT, deleted)
        self._place(ctx, states)
        cursor["sweep"] = end or 0
        return found

    def observe(self, ctx: WatchContext, event: Event) -> None:
        self.observe_many(ctx, [event])

    def observe_many(self, ctx: WatchContext, events: list[Event]) -> None:
        """Remember what module hooks reported, for a whole batch in three queries."""
        implied = {e.subject_id: IMPLIED[e.name] for e in events if e.name in IMPLIED}
        if not implied:
            return
        ids = sorted(implied)
        rows = ctx.conn.execute(select(*self.columns()).where(self.table.c.id.in_(ids))).all()
        old = {**seen_states(ctx, SWEPT, ids), **seen_states(ctx, self.name, ids)}
        states: dict[int, str] = {}
        for row in rows:
            statuses = implied[row.id]
            status = row.status if row.status in statuses else statuses[0]
            # Keep the client we knew: a move in the same cycle is still the watcher's to report.
            client = old.get(row.id, "").partition("|")[2] or str(row.userid)
            states[row.id] = f"{status}|{client}"
        self._place(ctx, states)
