"""What the plugin does each cycle and on ``ticket.opened``."""

from __future__ import annotations

from sqlalchemy import select, update

from whmcs_bridge.plugin import Bridge, Event, queries

from .deadlines import Timer, clock_ticket, settle_clocks, store_clocks, survey
from .plans import missing_channels, plan_of
from .settings import SlaSettings, parse_settings
from .staff import add_pending_notes, format_request, warn_and_breach
from .tables import clocks


def settings_of(bridge: Bridge) -> SlaSettings:
    """The settings read at start (``bridge_load_settings``), or read now."""
    found = bridge.settings("sla")
    return found if isinstance(found, SlaSettings) else parse_settings(bridge.plugin_config("sla"))


def timer_of(bridge: Bridge) -> Timer:
    return Timer(settings_of(bridge), bridge.clock.timezone)


def on_ticket_opened(bridge: Bridge, event: Event) -> str:
    """Store the new ticket's first deadline; note a channel its plan lacks (R-SL-7)."""
    timer = timer_of(bridge)
    settings = timer.settings
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        ticket = queries.tickets.ticket(conn, tables, event.subject_id)
        if ticket is None:
            return f"ticket {event.subject_id} is not in the panel"
        replies = queries.tickets.reply_times(conn, tables, [ticket.id]).get(ticket.id, [])
        held = queries.holdings.holdings_of_clients(conn, tables, [ticket.client_id])
    _, clocked = clock_ticket(timer, ticket, replies, held.get(ticket.client_id))
    if clocked is None:
        return f"ticket #{ticket.tid} already answered or without a date: no clock"
    if bridge.dry_run:
        return f"dry run: ticket #{ticket.tid} due {clocked.deadline:%Y-%m-%d %H:%M}"
    now = bridge.clock.panel_now()
    with bridge.panel.begin() as conn:
        store_clocks(conn, [clocked], "event", now)
    note = ""
    missing = missing_channels(settings, clocked.plan.plan, f"{ticket.subject}\n{ticket.message}")
    if missing and clocked.round.number == 1:
        with bridge.panel.begin() as conn:
            conn.execute(
                update(clocks)
                .where(clocks.c.ticket_id == ticket.id, clocks.c.round == 1)
                .where(clocks.c.channel_request.is_(None))
                .values(channel_request=format_request(missing))
            )
        if bridge.has_api:
            add_pending_notes(bridge)
        note = f"; asks for {', '.join(c for c, _ in missing)}, not in its plan: staff note"
    return (
        f"ticket #{ticket.tid}: plan {clocked.plan.plan}, SLA {clocked.target.kind}, "
        f"due {clocked.deadline:%Y-%m-%d %H:%M}{note}"
    )


def run(bridge: Bridge) -> str:
    """One cycle: store new rounds, stop answered ones, then warn and record breaches."""
    timer = timer_of(bridge)
    now = bridge.clock.panel_now()
    with bridge.panel.connect() as conn:
        rounds, waiting = survey(conn, bridge.panel.tables, timer)
    if bridge.dry_run:
        return f"dry run: {len(waiting)} ticket(s) waiting for staff"
    with bridge.panel.begin() as conn:
        added = store_clocks(conn, waiting, "sync", now)
        answered, closed = settle_clocks(conn, rounds, now)
    counts = warn_and_breach(bridge, timer.settings, timer, now)
    return (
        f"{len(waiting)} waiting, {added} new clock(s), {answered} answered, {closed} closed; "
        f"{counts['warnings']} warning(s), {counts['breaches']} breach(es), "
        f"{counts['messages']} staff message(s), {counts['notes']} note(s)"
    )


def stored_clocks(bridge: Bridge, ticket_ids: list[int]) -> dict[tuple[int, int], object]:
    """Stored clocks of these tickets by (ticket, round)."""
    found: dict[tuple[int, int], object] = {}
    with bridge.panel.connect() as conn:
        for start in range(0, len(ticket_ids), 1000):
            query = select(clocks).where(clocks.c.ticket_id.in_(ticket_ids[start : start + 1000]))
            for row in conn.execute(query):
                found[(int(row.ticket_id), int(row.round))] = row
    return found


__all__ = ["on_ticket_opened", "plan_of", "run", "settings_of", "stored_clocks", "timer_of"]
