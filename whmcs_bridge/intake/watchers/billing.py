"""Watchers of billing rows that stay open for a while: invoices, quotes and upgrades.

Each remembers its OPEN rows in ``seen`` (state = the row's status) and finds the ones that
moved on with one join: ``seen LEFT JOIN tblX ON id WHERE status <> seen.state OR deleted``. The
open set is what is still unpaid, undelivered or pending, never history, so an idle cycle costs
two queries each (the new rows, the join).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, or_, select

from whmcs_bridge.events.model import Event
from whmcs_bridge.intake.watcher import WatchContext
from whmcs_bridge.intake.watchers.base import CoreWatcher, make_event, pages
from whmcs_bridge.store.tables import seen as seen_t


class OpenSetWatcher(CoreWatcher):
    """Rows above the cursor are new; remembered open rows are compared with one join."""

    status_column = "status"
    open_states: tuple[str, ...] = ()

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
        table, status = self.table, self.table.c[self.status_column]
        query = (
            select(seen_t.c.subject_id, seen_t.c.state, *self.columns())
            .select_from(seen_t.outerjoin(table, table.c.id == seen_t.c.subject_id))
            .where(
                seen_t.c.watcher == self.name, or_(table.c.id.is_(None), status != seen_t.c.state)
            )
        )
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
        if event.name in ("invoice.paid", "invoice.cancelled"):
            ctx.forget(self.name, [event.subject_id])
        elif event.name == "invoice.created":
            known = ctx.conn.execute(
                select(seen_t.c.state).where(
                    seen_t.c.watcher == self.name, seen_t.c.subject_id == event.subject_id
                )
            ).scalar()
            if known == "Draft":
                ctx.remember(self.name, {event.subject_id: "Unpaid"})


class QuoteWatcher(OpenSetWatcher):
    """``quote.available`` when a quote reaches stage Delivered."""

    name = "quotes"
    table_name = "quotes"
    status_column = "stage"
    open_states = ("Draft", "On Hold")

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
