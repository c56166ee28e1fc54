"""``sla status``, ``sla plan`` and ``sla report``: what the commands print, as plain data."""

from __future__ import annotations

import math
import statistics
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from whmcs_bridge.plugin import Bridge, BridgeError, queries

from .catalog import KINDS, PLAN_LABELS
from .deadlines import rounds_of, survey
from .plans import plan_of, target_for
from .tables import clocks
from .tasks import timer_of


def status(bridge: Bridge) -> list[dict[str, Any]]:
    """Open tickets waiting for a staff answer, earliest deadline first, breached included.

    ``business_minutes_left`` counts minutes of the ticket's clock (business hours, or every
    minute for a 24x7 clock), negative once breached. A stored deadline (fixed when the round
    was first seen) wins over one computed now.
    """
    timer = timer_of(bridge)
    now = bridge.clock.panel_now()
    with bridge.panel.connect() as conn:
        _, waiting = survey(conn, bridge.panel.tables, timer, use_stored=True)
    found = []
    for c in waiting:
        left = timer.minutes_left(now, c.deadline, c.target.clock)
        found.append(
            {
                "ticket_id": c.ticket.id,
                "tid": c.ticket.tid,
                "client_id": c.ticket.client_id,
                "plan": c.plan.plan,
                "department": c.ticket.department_name,
                "sla": c.target.kind,
                "p1": c.target.p1,
                "clock": c.target.clock,
                "target_minutes": c.target.minutes,
                "round": c.round.number,
                "deadline": timer.iso(c.deadline),
                "business_minutes_left": left,
                "breached": now >= c.deadline,
                "_sort": (c.deadline, c.ticket.id),
            }
        )
    found.sort(key=lambda item: item.pop("_sort"))
    return found


def client_plan(bridge: Bridge, client_id: int) -> dict[str, Any]:
    """R-SL-6/7 for one client: its plan, why, its targets and its channels."""
    timer = timer_of(bridge)
    settings = timer.settings
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        if queries.clients.client(conn, tables, client_id) is None:
            raise BridgeError(f"client {client_id} is not in the panel")
        held = queries.holdings.holdings_of_clients(conn, tables, [client_id]).get(client_id)
    choice = plan_of(settings, held)
    plan = settings.plan(choice.plan)
    targets = {}
    for kind in KINDS:  # R-SL-2..5 with this plan's target
        minutes, clock = plan.target_minutes, plan.clock
        if kind in (2, 3):
            clock = "24x7"
        elif kind == 4:
            minutes = min(minutes, settings.sla4_minutes)
        targets[f"sla{kind}"] = {"minutes": minutes, "clock": clock, "kind": KINDS[kind]}
    result: dict[str, Any] = {
        "client_id": client_id,
        "plan": plan.name,
        "label": PLAN_LABELS[plan.name],
        "because": choice.because,
        "first_response": {"minutes": plan.target_minutes, "clock": plan.clock},
        "targets": targets,
        "channels": list(plan.channels),
    }
    if plan.name == "full":
        result["p1"] = {
            "minutes": settings.p1_minutes,
            "clock": settings.p1_clock,
            "priority": settings.p1_priority,
            "departments": sorted(settings.critical_departments),
        }
    return result


def _percentile(values: list[int], share: float) -> int | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def first_clocks(
    conn: Connection, ticket_ids: list[int], start: datetime, end: datetime
) -> dict[tuple[int, int], Any]:
    """The stored first-round clocks (plan, deadline) of these tickets, opened from ``start``
    to ``end``, by (ticket, 1): a first round starts when its ticket was opened, so one range
    query finds them, with no list of ids to send."""
    wanted = set(ticket_ids)
    c = clocks.c
    query = select(c.ticket_id, c.plan, c.deadline).where(
        c.round == 1, c.started_at >= start, c.started_at < end
    )
    return {
        (int(row.ticket_id), 1): row for row in conn.execute(query) if int(row.ticket_id) in wanted
    }


def report(bridge: Bridge, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per plan and department, tickets opened from ``start`` to ``end`` (panel-local, end
    excluded): first response median and 90th percentile in business minutes, share answered
    within target, and the breaches."""
    timer = timer_of(bridge)
    settings = timer.settings
    now = bridge.clock.panel_now()
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        # Light rows and joined replies, no list of ids to send: a month of a busy panel.
        tickets = queries.tickets.ticket_heads_opened_between(conn, tables, start, end)
        replies = queries.tickets.reply_times_opened_between(conn, tables, start, end)
        stored = first_clocks(conn, [t.id for t in tickets], start, end)
        wanted = (t.client_id for t in tickets if (t.id, 1) not in stored)
        holdings = queries.holdings.holdings_of_clients(conn, tables, wanted)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for ticket in tickets:
        if ticket.opened_at is None or ticket.admin:
            continue  # no date, or opened by staff: no first response was owed
        first = rounds_of(ticket.opened_at, replies.get(ticket.id, []), False)[0]
        row: Any = stored.get((ticket.id, 1))
        if row is not None:
            plan, deadline = row.plan, row.deadline
        else:
            choice = plan_of(settings, holdings.get(ticket.client_id))
            target = target_for(
                settings, choice.plan, ticket.department_id, ticket.department_name, ticket.priority
            )
            plan, deadline = choice.plan, timer.schedule(ticket.opened_at, target)[1]
        group = groups.setdefault(
            (plan, ticket.department_name),
            {
                "plan": plan,
                "department": ticket.department_name,
                "tickets": 0,
                "minutes": [],
                "within": 0,
                "decided": 0,
                "breaches": [],
            },
        )
        group["tickets"] += 1
        answered = first.answered_at
        if answered is not None:
            group["minutes"].append(max(0, timer.business_minutes(ticket.opened_at, answered)))
        late = (answered or now) > deadline
        if answered is not None or late:
            group["decided"] += 1
            group["within"] += not late
        if late:
            group["breaches"].append(
                {
                    "ticket_id": ticket.id,
                    "tid": ticket.tid,
                    "deadline": timer.iso(deadline),
                    "answered": timer.iso(answered) if answered else None,
                }
            )
    found = []
    for key in sorted(groups):
        group = groups[key]
        minutes = group.pop("minutes")
        decided, within = group.pop("decided"), group.pop("within")
        group["median_first_response"] = statistics.median(minutes) if minutes else None
        group["p90_first_response"] = _percentile(minutes, 0.9)
        group["within_target"] = round(within / decided, 4) if decided else None
        found.append(group)
    return found


__all__ = ["client_plan", "report", "status"]
