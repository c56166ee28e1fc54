"""Telling staff, and only staff: warnings and breaches (Telegram chat, e-mail through WHMCS's
``SendAdminEmail``, the on-call person's WhatsApp) and staff-only ticket notes (``AddTicketNote``).

Nothing here ever reaches a client: no ticket reply, no client e-mail. Staff messages go through
the outbox with no panel event behind them (``event_id`` 0) and a recipient key naming the clock
and the stage, so a retried cycle never queues one twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from whmcs_bridge.plugin import ApiError, ApiOutcomeUnknown, ApiValidationError, Bridge, queries

from . import texts
from .deadlines import Timer, claim, due_rounds
from .settings import SlaSettings
from .tables import clocks

log = logging.getLogger(__name__)

NOTE_COLUMNS = {"warning": "warning_note", "breach": "breach_note", "channel": "channel_note"}


def staff_deliveries(
    settings: SlaSettings, department_id: int, department_name: str
) -> list[tuple[str, str]]:
    """(channel, recipient) for the department's staff, from ``[plugins.sla.notify]``."""
    notify = settings.staff_for(department_id, department_name)
    found = []
    if notify.telegram_chat:
        found.append(("telegram", notify.telegram_chat))
    if notify.email:
        found.append(("email", f"admin:{department_id}" if department_id else "admin"))
    if notify.whatsapp:
        found.append(("whatsapp", notify.whatsapp))
    return found


def queue_staff_alert(
    bridge: Bridge, settings: SlaSettings, row: Any, stage: str, dept: str, left: int
) -> int:
    """Queue the warning or breach to the department's staff; returns messages queued."""
    subject, text = texts.staff_alert(
        stage, row.tid, int(row.ticket_id), row.plan, dept, row.deadline, left
    )
    queued = 0
    notify = settings.staff_for(int(row.department_id), dept)
    for channel, recipient in staff_deliveries(settings, int(row.department_id), dept):
        message: dict[str, Any] = {
            "event": f"sla.{stage}",
            "language": "es_AR",
            "text": text,
            "subject": subject,
        }
        if channel == "whatsapp" and notify.whatsapp_template:
            message.update(
                template=notify.whatsapp_template,
                template_language="es_AR",
                params=[
                    "aviso" if stage == "warning" else "incumplido",
                    str(row.tid),
                    texts.when(row.deadline),
                ],
            )
        if bridge.outbox.enqueue(
            event_id=0,
            recipient_key=f"sla:{row.id}:{stage}",
            channel=channel,
            recipient=recipient,
            message=message,
        ):
            queued += 1
    return queued


def add_note(bridge: Bridge, row_id: int, ticket_id: int, kind: str, message: str) -> str:
    """Add a staff-only note to the ticket once: the state is claimed first (``sending``), so a
    lost answer is never followed by a second note. Returns the state reached."""
    column = clocks.c[NOTE_COLUMNS[kind]]
    with bridge.panel.begin() as conn:
        won = conn.execute(
            update(clocks)
            .where(clocks.c.id == row_id, column.is_(None))
            .values({column.name: "sending"})
        ).rowcount
    if not won:
        return "taken"
    outcome: str | None
    try:
        bridge.api.call("AddTicketNote", {"ticketid": ticket_id, "message": message})
        outcome = "done"
    except ApiOutcomeUnknown:
        outcome = "unknown"
    except ApiValidationError as exc:
        log.warning("sla: note on ticket %s refused: %s", ticket_id, exc)
        outcome = "failed"
    except ApiError as exc:  # transient: try again next cycle
        log.warning("sla: note on ticket %s not added: %s", ticket_id, exc)
        outcome = None
    with bridge.panel.begin() as conn:
        conn.execute(update(clocks).where(clocks.c.id == row_id).values({column.name: outcome}))
    return outcome or "retry"


def warn_and_breach(
    bridge: Bridge, settings: SlaSettings, timer: Timer, now: datetime
) -> dict[str, int]:
    """Send the warnings and breaches that are due, each once; retry notes not added yet."""
    counts = {"warnings": 0, "breaches": 0, "messages": 0, "notes": 0}
    with bridge.panel.connect() as conn:
        rows = due_rounds(conn, now)
        names = queries.tickets.department_names(
            conn, bridge.panel.tables, {int(r.department_id) for r in rows}
        )
    for row in rows:
        stage = "breach" if row.deadline <= now else "warning"
        dept = names.get(int(row.department_id), str(row.department_id))
        left = timer.minutes_left(now, row.deadline, row.clock)
        # Queued first (the outbox keeps one per clock, stage and channel), then recorded: a
        # crash in between queues nothing twice and records it next cycle.
        messages = queue_staff_alert(bridge, settings, row, stage, dept, left)
        with bridge.panel.begin() as conn:
            if not claim(conn, int(row.id), stage, now):
                continue
        counts["breaches" if stage == "breach" else "warnings"] += 1
        counts["messages"] += messages
    counts["notes"] = add_pending_notes(bridge)
    return counts


def add_pending_notes(bridge: Bridge) -> int:
    """Add the staff notes of warnings and breaches recorded but not noted yet."""
    if not bridge.has_api:
        return 0
    query = select(clocks).where(
        or_(
            (clocks.c.warning_state == "sent") & clocks.c.warning_note.is_(None),
            (clocks.c.breach_state == "sent") & clocks.c.breach_note.is_(None),
            clocks.c.channel_request.is_not(None) & clocks.c.channel_note.is_(None),
        )
    )
    with bridge.panel.connect() as conn:
        rows = conn.execute(query).all()
    added = 0
    for row in rows:
        for kind, message in notes_of(row):
            added += add_note(bridge, int(row.id), int(row.ticket_id), kind, message) == "done"
    return added


def notes_of(row: Any) -> list[tuple[str, str]]:
    found = []
    if row.channel_request and row.channel_note is None:
        found.append(("channel", texts.channel_note(row.plan, parse_request(row.channel_request))))
    if row.warning_state == "sent" and row.warning_note is None:
        found.append(
            (
                "warning",
                texts.staff_note("warning", row.plan, row.target_minutes, row.clock, row.deadline),
            )
        )
    if row.breach_state == "sent" and row.breach_note is None:
        found.append(
            (
                "breach",
                texts.staff_note("breach", row.plan, row.target_minutes, row.clock, row.deadline),
            )
        )
    return found


def format_request(missing: list[tuple[str, str]]) -> str:
    """``phone:professional,whatsapp:full``: what is stored in ``channel_request``."""
    return ",".join(f"{channel}:{owner}" for channel, owner in missing)[:64]


def parse_request(stored: str) -> list[tuple[str, str]]:
    pairs = (item.partition(":") for item in stored.split(",") if item)
    return [(channel, owner) for channel, _, owner in pairs]
