"""Watchers of billing rows that stay open for a while: invoices, quotes and upgrades.

Each remembers its OPEN rows in ``seen`` (state = the row's status): what is still unpaid,
undelivered or pending, never history. A remembered row that moved on is found by a join,
``seen LEFT JOIN tblX ON id WHERE status <> seen.state OR deleted``, that returns only the rows
that changed, over three parts of the open set:

* the rows of the clients and the ids the activity log named since the last cycle
  (:attr:`WatchContext.dirty`, read by ``intake/activity.py``): through ``tblinvoices.userid``'s
  index, or the open set itself for the small ones (quotes, upgrades); nothing when nothing was
  logged;
* one slice of :data:`~whmcs_bridge.intake.watchers.base.OPEN_SLICE` remembered ids, round-robin
  (an index-only read finds where it ends, then the join over that id range), for changes nobody
  logged;
* the whole open set when the feed says everything is dirty (no activity log, the bridge's first
  cycle on it, or a burst of more lines than one read takes).

Detection latency: a change WHMCS logs (a payment, a cancellation, an admin's edit) or a hook
reports is found in the next cycle; a direct database edit that neither logs nor calls a hook is
found within ``ceil(open set / OPEN_SLICE)`` cycles (all in the next cycle while the open set is
no larger than one slice). An idle cycle costs three queries each (new rows, where the slice ends,
the slice's join) whatever the size of the history or of the open set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, or_, select

from whmcs_bridge.events.model import Event
from whmcs_bridge.intake.watcher import WatchContext
from whmcs_bridge.intake.watchers.base import (
    CoreWatcher,
    chunks,
    make_event,
    open_slice_end,
    pages,
    seen_states,
)
from whmcs_bridge.store.tables import seen as seen_t


class OpenSetWatcher(CoreWatcher):
    """Rows above the cursor are new; remembered open rows are compared as the module says."""

    status_column = "status"
    open_states: tuple[str, ...] = ()
    #: The kind of :class:`~whmcs_bridge.intake.watcher.Dirty` ids that are this table's ids.
    dirty_kind: str | None = None
    #: The table has an index on ``userid``: a logged client's rows are read through it.
    #: Without one, the (small) open set is joined and filtered on ``userid``.
    client_index = False
    #: A column holding a service id (``tblupgrades.relid``), matched with the logged services.
    service_column: str | None = None

    def columns(self) -> list[ColumnElement[Any]]:
        c = self.table.c
        return [c.id, c.userid, c[self.status_column].label("status")]

    def new_events(self, ctx: WatchContext, row: Row[Any]) -> list[Event]:
        return []

    def moved_on(self, ctx: WatchContext, row: Row[Any], old: str) -> list[Event]:
        return []

    def remember_all(self, ctx: WatchContext) -> None:
        status = self.table.c[self.status_column]
        query = select(*self.columns()).where(status.in_(self.open_states))
        for rows in pages(ctx, query, self.table):
            ctx.remember(self.name, {row.id: row.status for row in rows})

    def on_new(self, ctx: WatchContext, rows: Sequence[Row[Any]]) -> list[Event]:
        found: list[Event] = []
        for row in rows:
            found.extend(self.new_events(ctx, row))
        ctx.remember(
            self.name, {row.id: row.status for row in rows if row.status in self.open_states}
        )
        return found

    def check(self, ctx: WatchContext, cursor: dict[str, Any]) -> list[Event]:
        if ctx.dirty.everything:
            return self._apply(ctx, self._changed())
        return [*self._logged(ctx), *self._slice(ctx, cursor)]

    def _changed(self, *where: ColumnElement[bool]) -> Select[Any]:
        """Remembered open rows (filtered by ``where``) whose status moved on, or deleted."""
        table, status = self.table, self.table.c[self.status_column]
        return (
            select(seen_t.c.subject_id, seen_t.c.state, *self.columns())
            .select_from(seen_t.outerjoin(table, table.c.id == seen_t.c.subject_id))
            .where(
                seen_t.c.watcher == self.name,
                or_(table.c.id.is_(None), status != seen_t.c.state),
                *where,
            )
        )

    def _logged(self, ctx: WatchContext) -> list[Event]:
        """The open rows of what the activity log named: no query when it named nothing."""
        dirty, table = ctx.dirty, self.table
        found: list[Event] = []
        if dirty.clients and self.client_index:
            status = table.c[self.status_column]
            for chunk in chunks(dirty.clients):
                query = (
                    select(seen_t.c.subject_id, seen_t.c.state, *self.columns())
                    .select_from(
                        table.join(
                            seen_t,
                            and_(seen_t.c.watcher == self.name, seen_t.c.subject_id == table.c.id),
                        )
                    )
                    .where(table.c.userid.in_(chunk), status != seen_t.c.state)
                )
                found.extend(self._apply(ctx, query))
        named: list[ColumnElement[bool]] = []
        if self.dirty_kind:
            named += [seen_t.c.subject_id.in_(c) for c in chunks(dirty.of(self.dirty_kind))]
        if dirty.clients and not self.client_index:
            named += [table.c.userid.in_(c) for c in chunks(dirty.clients)]
        if self.service_column and dirty.services:
            column = table.c[self.service_column]
            named += [column.in_(c) for c in chunks(dirty.services)]
        if named:
            found.extend(self._apply(ctx, self._changed(or_(*named))))
        return found

    def _slice(self, ctx: WatchContext, cursor: dict[str, Any]) -> list[Event]:
        """One round-robin slice of the open set, for the changes nobody logged."""
        position = int(cursor.get("open", 0))
        end = open_slice_end(ctx, self.name, position)
        where = [seen_t.c.subject_id > position]
        if end is not None:
            where.append(seen_t.c.subject_id <= end)
        found = self._apply(ctx, self._changed(*where))
        if end is not None or position:
            cursor["open"] = end or 0
        return found

    def _apply(self, ctx: WatchContext, query: Select[Any]) -> list[Event]:
        found: list[Event] = []
        still_open: dict[int, str] = {}
        closed: list[int] = []
        for row in ctx.conn.execute(query).all():
            if row.id is None:
                closed.append(row.subject_id)
                continue
            found.extend(self.moved_on(ctx, row, row.state))
            if row.status in self.open_states:
                still_open[row.id] = row.status
            else:
                closed.append(row.id)
        ctx.remember(self.name, still_open)
        ctx.forget(self.name, closed)
        return found


INVOICE_OPEN = ("Draft", "Unpaid", "Payment Pending", "Collections")


class InvoiceWatcher(OpenSetWatcher):
    """``invoice.created`` (once it leaves Draft), ``invoice.paid`` and ``invoice.cancelled``."""

    name = "invoices"
    table_name = "invoices"
    open_states = INVOICE_OPEN
    dirty_kind = "invoices"
    client_index = True

    def _outcome(self, ctx: WatchContext, row: Row[Any]) -> list[Event]:
        if row.status == "Paid":
            return [make_event(ctx, "invoice.paid", row.id, row.userid)]
        if row.status == "Cancelled":
            return [make_event(ctx, "invoice.cancelled", row.id, row.userid)]
        return []

    def new_events(self, ctx: WatchContext, row: Row[Any]) -> list[Event]:
        if row.status == "Draft":
            return []
        created = make_event(ctx, "invoice.created", row.id, row.userid)
        return [created, *self._outcome(ctx, row)]

    def moved_on(self, ctx: WatchContext, row: Row[Any], old: str) -> list[Event]:
        if old != "Draft":
            return self._outcome(ctx, row)
        if row.status == "Cancelled":
            return []  # a draft thrown away was never sent to anyone
        if row.status in INVOICE_OPEN or row.status == "Paid":
            created = make_event(ctx, "invoice.created", row.id, row.userid)
            return [created, *self._outcome(ctx, row)]
        return []

    def observe(self, ctx: WatchContext, event: Event) -> None:
        self.observe_many(ctx, [event])

    def observe_many(self, ctx: WatchContext, events: list[Event]) -> None:
        """A batch of hook reports in a few queries (a cron run creates thousands at once)."""
        ctx.forget(
            self.name,
            [e.subject_id for e in events if e.name in ("invoice.paid", "invoice.cancelled")],
        )
        created = [e.subject_id for e in events if e.name == "invoice.created"]
        if created:
            drafts = seen_states(ctx, self.name, created)
            ctx.remember(self.name, {i: "Unpaid" for i, s in drafts.items() if s == "Draft"})


class QuoteWatcher(OpenSetWatcher):
    """``quote.available`` when a quote reaches stage Delivered."""

    name = "quotes"
    table_name = "quotes"
    status_column = "stage"
    open_states = ("Draft", "On Hold")
    dirty_kind = "quotes"

    def new_events(self, ctx: WatchContext, row: Row[Any]) -> list[Event]:
        return self.moved_on(ctx, row, "")

    def moved_on(self, ctx: WatchContext, row: Row[Any], old: str) -> list[Event]:
        if row.status != "Delivered":
            return []
        return [make_event(ctx, "quote.available", row.id, row.userid)]

    def observe(self, ctx: WatchContext, event: Event) -> None:
        if event.name == "quote.available":
            ctx.forget(self.name, [event.subject_id])


class UpgradeWatcher(OpenSetWatcher):
    """``upgrade.ordered`` for every new ``tblupgrades`` row, ``upgrade.completed`` after."""

    name = "upgrades"
    table_name = "upgrades"
    open_states = ("Pending",)
    service_column = "relid"

    def columns(self) -> list[ColumnElement[Any]]:
        c = self.table.c
        return [*super().columns(), c.relid, c.type, c.amount]

    def _completed(self, ctx: WatchContext, row: Row[Any]) -> list[Event]:
        if row.status != "Completed":
            return []
        data = {"serviceid": row.relid, "type": row.type}
        return [make_event(ctx, "upgrade.completed", row.id, row.userid, data)]

    def new_events(self, ctx: WatchContext, row: Row[Any]) -> list[Event]:
        data = {"serviceid": row.relid, "type": row.type, "amount": str(row.amount)}
        ordered = make_event(ctx, "upgrade.ordered", row.id, row.userid, data)
        return [ordered, *self._completed(ctx, row)]

    def moved_on(self, ctx: WatchContext, row: Row[Any], old: str) -> list[Event]:
        return self._completed(ctx, row)

    def observe(self, ctx: WatchContext, event: Event) -> None:
        if event.name == "upgrade.completed":
            ctx.forget(self.name, [event.subject_id])
