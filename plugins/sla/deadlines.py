"""Response clocks: rounds of a ticket, their deadlines, and keeping the stored clocks in step.

A ticket's first round starts when it was opened and stops at the first staff reply; a client's
reply does not stop it. When ``reopen_starts_new_clock`` is on, a client's reply after staff
answered starts the next round (a reopened ticket waits for an answer again). Every open ticket
(any status WHMCS counts as open; Closed never is) whose current round has no staff reply is on
the clock, tickets already open when the plugin was enabled included, counted from their
opening.

Deadlines are computed once, when the round is first seen (``ticket.opened``, or the sync of a
cycle), and stored: a later change of plan or config does not move a promise already made.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from whmcs_bridge.plugin import queries

from .plans import PlanChoice, Target, plan_of, target_for
from .settings import SlaSettings
from .tables import clocks, state

TicketInfo = queries.tickets.TicketInfo | queries.tickets.TicketHead
TRACKING_SINCE = "tracking_since"


@dataclass(frozen=True)
class Round:
    number: int
    started_at: datetime
    answered_at: datetime | None = None


def rounds_of(
    opened_at: datetime,
    replies: Iterable[tuple[datetime, bool]],
    reopen: bool,
    opened_by_staff: bool = False,
) -> list[Round]:
    """The response rounds of a ticket from its replies ``(date, by_staff)``, oldest first.

    A ticket staff opened (``TicketOpenAdmin``) waits for the client, not for staff: its first
    round counts as answered at the opening, and the client's reply starts the next one.
    """
    found: list[Round] = []
    current = Round(1, opened_at, opened_at if opened_by_staff else None)
    for date, by_staff in replies:
        if current.answered_at is None:
            if by_staff:
                current = Round(current.number, current.started_at, date)
        elif reopen and not by_staff and date >= current.answered_at:
            found.append(current)
            current = Round(current.number + 1, date)
    found.append(current)
    return found


def _is_fixed(tz: tzinfo) -> bool:
    return isinstance(tz, timezone)


@dataclass(frozen=True)
class Clocked:
    """A ticket's current round with what it is held to."""

    ticket: TicketInfo
    round: Round
    plan: PlanChoice
    target: Target
    warn_at: datetime  # naive panel-local
    deadline: datetime


class Timer:
    """Deadlines and time left, on the plugin's clocks, in the panel's time zone."""

    def __init__(self, settings: SlaSettings, panel_tz: tzinfo) -> None:
        self.settings = settings
        self.panel_tz = panel_tz
        # Converting through a ZoneInfo is slow (thousands of tickets): the panel's offset is
        # looked up once per hour of local time and applied as a fixed offset, the calendar's
        # own tz object when it is the same offset (no conversion at all then).
        self._offsets: dict[tuple[int, int, int, int], tzinfo] = {}
        calendar_tz = settings.calendar.tz
        self._fixed = {calendar_tz.utcoffset(None): calendar_tz} if _is_fixed(calendar_tz) else {}

    def _fixed_tz(self, naive: datetime) -> tzinfo:
        key = (naive.year, naive.month, naive.day, naive.hour)
        found = self._offsets.get(key)
        if found is None:
            offset = self.panel_tz.utcoffset(naive) or timedelta(0)
            found = self._fixed.setdefault(offset, timezone(offset))
            self._offsets[key] = found
        return found

    def _aware(self, naive: datetime) -> datetime:
        return naive.replace(tzinfo=self._fixed_tz(naive))

    def _naive(self, aware: datetime) -> datetime:
        guess = aware.astimezone(self._fixed_tz(aware.replace(tzinfo=None)))
        local = guess.replace(tzinfo=None)
        if self._fixed_tz(local) is guess.tzinfo:
            return local
        return aware.astimezone(self.panel_tz).replace(tzinfo=None)  # across a DST change

    def schedule(
        self, started_at: datetime, target: Target, warning: bool = True
    ) -> tuple[datetime, datetime]:
        """(warn_at, deadline) of a round that started at ``started_at`` (naive panel-local);
        without ``warning`` the first is the deadline too (a reader that only shows deadlines).
        """
        clock = self.settings.clock(target.clock)
        start = self._aware(started_at)
        deadline = self._naive(clock.add(start, target.minutes))
        if not warning:
            return deadline, deadline
        warn_minutes = max(1, math.floor(target.minutes * self.settings.warn_at))
        return self._naive(clock.add(start, warn_minutes)), deadline

    def minutes_left(self, now: datetime, deadline: datetime, clock_name: str) -> int:
        """Minutes of the round's clock from ``now`` to ``deadline``; negative once breached."""
        clock = self.settings.clock(clock_name)
        return clock.minutes_between(self._aware(now), self._aware(deadline))

    def business_minutes(self, start: datetime, end: datetime) -> int:
        """Business minutes between two naive panel-local moments (for reports)."""
        return self.settings.calendar.minutes_between(self._aware(start), self._aware(end))

    def iso(self, naive: datetime) -> str:
        """ISO 8601 with the panel's offset."""
        return self._aware(naive).isoformat()


def clock_ticket(
    timer: Timer,
    ticket: TicketInfo,
    replies: list[tuple[datetime, bool]],
    held: Any,
    stored: Any = None,
    plans: dict[int, PlanChoice] | None = None,
    warning: bool = True,
) -> tuple[list[Round], Clocked | None]:
    """The ticket's rounds, and its current round when that one waits for staff.

    :param stored: the round's stored clock, when there is one: its plan, target and deadline
        stand (a promise made is not moved by a later change of plan or config).
    :param plans: a cache of plans by client id, for many tickets of one client.
    """
    if ticket.opened_at is None:
        return [], None
    settings = timer.settings
    rounds = rounds_of(
        ticket.opened_at, replies, settings.reopen_starts_new_clock, bool(ticket.admin)
    )
    current = rounds[-1]
    if current.answered_at is not None:
        return rounds, None
    if stored is not None and int(stored.round) == current.number:
        target = Target(int(stored.target_minutes), stored.clock, int(stored.kind), bool(stored.p1))
        plan = PlanChoice(stored.plan, "stored")
        return rounds, Clocked(ticket, current, plan, target, stored.warn_at, stored.deadline)
    plan = plans.get(ticket.client_id) if plans is not None else None
    if plan is None:
        plan = plan_of(settings, held)
        if plans is not None:
            plans[ticket.client_id] = plan
    target = target_for(
        settings, plan.plan, ticket.department_id, ticket.department_name, ticket.priority
    )
    warn_at, deadline = timer.schedule(current.started_at, target, warning)
    return rounds, Clocked(ticket, current, plan, target, warn_at, deadline)


def open_clocks(conn: Connection) -> dict[int, Any]:
    """The stored clocks still running, by ticket id (one per ticket: its current round)."""
    c = clocks.c
    query = select(
        c.ticket_id, c.round, c.plan, c.kind, c.p1, c.clock, c.target_minutes, c.warn_at, c.deadline
    ).where(c.answered_at.is_(None), c.closed_at.is_(None))
    found: dict[int, Any] = {}
    for row in conn.execute(query):
        current = found.get(int(row.ticket_id))
        if current is None or int(row.round) > int(current.round):
            found[int(row.ticket_id)] = row
    return found


def survey(
    conn: Connection, tables: Any, timer: Timer, use_stored: bool = False
) -> tuple[dict[int, list[Round]], list[Clocked]]:
    """Every open ticket's rounds, and the rounds waiting for staff (one pass, a few queries
    per thousand tickets). ``use_stored`` (a reader: ``sla status``): a round with a stored
    clock keeps its deadline, and warning times are not computed."""
    tickets = queries.tickets.open_ticket_heads(conn, tables)
    replies = queries.tickets.open_ticket_reply_times(conn, tables)
    stored = open_clocks(conn) if use_stored else {}
    wanted = (t.client_id for t in tickets if t.id not in stored)
    holdings = queries.holdings.holdings_of_clients(conn, tables, wanted)
    plans: dict[int, PlanChoice] = {}
    rounds: dict[int, list[Round]] = {}
    waiting: list[Clocked] = []
    for ticket in tickets:
        found, clocked = clock_ticket(
            timer,
            ticket,
            replies.get(ticket.id, []),
            holdings.get(ticket.client_id),
            stored.get(ticket.id),
            plans,
            warning=not use_stored,
        )
        rounds[ticket.id] = found
        if clocked is not None:
            waiting.append(clocked)
    return rounds, waiting


def clock_row(clocked: Clocked, source: str, now: datetime) -> dict[str, Any]:
    t = clocked.ticket
    return {
        "ticket_id": t.id,
        "round": clocked.round.number,
        "tid": t.tid[:128],
        "client_id": t.client_id,
        "department_id": t.department_id,
        "plan": clocked.plan.plan,
        "kind": clocked.target.kind,
        "p1": int(clocked.target.p1),
        "clock": clocked.target.clock,
        "target_minutes": clocked.target.minutes,
        "started_at": clocked.round.started_at,
        "warn_at": clocked.warn_at,
        "deadline": clocked.deadline,
        # Every row names every column: an executemany takes its columns from the first row.
        "warning_state": None,
        "breach_state": None,
        "breached_at": None,
        "warning_note": None,
        "breach_note": None,
        "source": source,
        "created_at": now,
        "updated_at": now,
    }


def tracking_since(conn: Connection, now: datetime) -> datetime:
    """When the plugin first kept clocks (recorded on first use)."""
    value = conn.execute(select(state.c.value).where(state.c.name == TRACKING_SINCE)).scalar()
    if value is not None:
        return datetime.fromisoformat(value)
    conn.execute(insert(state).values(name=TRACKING_SINCE, value=now.isoformat(sep=" ")))
    return now


def store_clocks(conn: Connection, waiting: Iterable[Clocked], source: str, now: datetime) -> int:
    """Insert the rounds not stored yet; returns how many. A round that was already breached
    before the plugin kept clocks is recorded as breached, and not announced."""
    waiting = list(waiting)
    since = tracking_since(conn, now)
    existing: set[tuple[int, int]] = set()
    closed: set[tuple[int, int]] = set()
    ids = sorted({c.ticket.id for c in waiting})
    for start in range(0, len(ids), 1000):
        query = select(clocks.c.ticket_id, clocks.c.round, clocks.c.closed_at).where(
            clocks.c.ticket_id.in_(ids[start : start + 1000])
        )
        for ticket_id, number, closed_at in conn.execute(query):
            existing.add((int(ticket_id), int(number)))
            if closed_at is not None:
                closed.add((int(ticket_id), int(number)))
    for clocked in waiting:
        # Closed unanswered, then open again (staff reopened it): the same clock runs on.
        if (clocked.ticket.id, clocked.round.number) in closed:
            conn.execute(
                update(clocks)
                .where(clocks.c.ticket_id == clocked.ticket.id)
                .where(clocks.c.round == clocked.round.number)
                .values(closed_at=None, updated_at=now)
            )
    rows = []
    for clocked in waiting:
        if (clocked.ticket.id, clocked.round.number) in existing:
            continue
        row = clock_row(clocked, source, now)
        if source == "sync" and clocked.deadline < since:
            row.update(
                warning_state="skipped",
                breach_state="before_tracking",
                breached_at=clocked.deadline,
                warning_note="done",
                breach_note="done",
            )
        elif source == "sync" and clocked.warn_at < since:
            row.update(warning_state="skipped", warning_note="done")
        rows.append(row)
    for start in range(0, len(rows), 1000):
        conn.execute(insert(clocks), rows[start : start + 1000])
    return len(rows)


def settle_clocks(
    conn: Connection, rounds: dict[int, list[Round]], now: datetime
) -> tuple[int, int]:
    """Stop the stored clocks that staff answered, and take closed tickets off the clock.

    :return: (answered, closed) counts.
    """
    query = select(clocks.c.id, clocks.c.ticket_id, clocks.c.round).where(
        clocks.c.answered_at.is_(None), clocks.c.closed_at.is_(None)
    )
    answered = closed = 0
    for row in conn.execute(query).all():
        found = rounds.get(int(row.ticket_id))
        if found is None:
            conn.execute(
                update(clocks).where(clocks.c.id == row.id).values(closed_at=now, updated_at=now)
            )
            closed += 1
            continue
        match = next((r for r in found if r.number == int(row.round)), None)
        if match is not None and match.answered_at is not None:
            values = {"answered_at": match.answered_at, "updated_at": now}
        elif match is None or match.number < found[-1].number:
            # The round is gone (a staff reply deleted, reopening turned off) or superseded.
            values = {"closed_at": now, "updated_at": now}
        else:
            continue
        conn.execute(update(clocks).where(clocks.c.id == row.id).values(**values))
        answered += "answered_at" in values
        closed += "closed_at" in values
    return answered, closed


def due_rounds(conn: Connection, now: datetime) -> list[Any]:
    """Stored open rounds whose warning or breach is due."""
    query = (
        select(clocks)
        .where(
            clocks.c.answered_at.is_(None),
            clocks.c.closed_at.is_(None),
            or_(
                and_(clocks.c.breach_state.is_(None), clocks.c.deadline <= now),
                and_(clocks.c.warning_state.is_(None), clocks.c.warn_at <= now),
            ),
        )
        .order_by(clocks.c.deadline, clocks.c.id)
    )
    return list(conn.execute(query))


def claim(conn: Connection, row_id: int, stage: str, now: datetime) -> bool:
    """Record a warning or a breach; True only for the one process whose update wins."""
    if stage == "breach":
        values = {"breach_state": "sent", "breached_at": now, "updated_at": now}
        where = clocks.c.breach_state.is_(None)
    else:
        values = {"warning_state": "sent", "warning_sent_at": now, "updated_at": now}
        where = clocks.c.warning_state.is_(None)
    result = conn.execute(update(clocks).where(clocks.c.id == row_id, where).values(**values))
    if result.rowcount == 1 and stage == "breach":
        # One message at a breach: a warning not sent by now is not sent afterwards.
        conn.execute(
            update(clocks)
            .where(clocks.c.id == row_id, clocks.c.warning_state.is_(None))
            .values(warning_state="skipped", warning_note="done")
        )
    return result.rowcount == 1
