"""What follows a move, from dispatch: the notices to both holders (R-TR-5), the reply on the
request's ticket, and the staff note on the old holder's later tickets (R-TR-9).

Each step is idempotent. The notices are outbox rows keyed by (event, recipient, channel), so a
retried event queues nothing twice; the ticket reply and each note are claimed in the plugin's
tables before the API is called, so a retry never sends them twice (an answer lost in flight is
recorded as ``unknown`` for staff to look at).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from whmcs_bridge.plugin import (
    SKIP,
    ApiError,
    ApiOutcomeUnknown,
    ConfigError,
    Notice,
    Skip,
    queries,
    send_notice,
)

from . import store
from .owner_request import reply_on_ticket, settings_of
from .texts import EN, ES, day, moved_reply, notice, service_label, staff_note

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge, Event


def _send_notice(
    bridge: Bridge, event: Event, client: queries.ClientInfo, side: str, when: Any, label: str
) -> str:
    """The R-TR-5 notice to one holder, in both languages (the client's is picked)."""
    url = bridge.panel.setting("SystemURL").strip()
    url = f"{url.rstrip('/')}/clientarea.php" if url else ""
    texts, subjects = {}, {}
    for language in (ES, EN):
        subjects[language], texts[language] = notice(
            side, language, client.first_name, label, when, url
        )
    settings = settings_of(bridge)
    template = settings.template_from if side == "from" else settings.template_to
    result = send_notice(
        bridge,
        Notice(
            event_id=int(event.id or 0),
            client_id=client.id,
            key=f"transfer.{side}",
            texts=texts,
            subjects=subjects,
            template=template or None,
            params=(client.first_name or "-", label, day(when)),
        ),
    )
    done = f"notice to client {client.id}: {result.new} queued"
    return "; ".join([done, *result.notes])


def on_moved(bridge: Bridge, event: Event) -> str | Skip:
    """``service.moved`` of one of our transfers: notices to both holders, the ticket reply."""
    with bridge.panel.connect() as conn:
        request = store.applied_by_event(conn, event.data.get("transfer_id"), event.key)
        if request is None:
            return SKIP  # a move made in WHMCS itself: not one this plugin authorised
        tables = bridge.panel.tables
        old = queries.client(conn, tables, request.from_client_id)
        new = queries.client(conn, tables, int(request.to_client_id or 0))
    when = (request.applied_at or event.occurred_at).date()
    label = service_label(request.check)
    notes = []
    for side, client in (("from", old), ("to", new)):
        if client is None:
            notes.append(f"the {side} client is not in the panel: no notice")
            continue
        notes.append(_send_notice(bridge, event, client, side, when, label))
    notes.append(_moved_reply(bridge, request, old, when))
    return "; ".join(notes)


def _moved_reply(
    bridge: Bridge, request: store.TransferRequest, old: queries.ClientInfo | None, when: Any
) -> str:
    if not request.ticket_id:
        return "no ticket to reply on"
    with bridge.panel.begin() as conn:
        claimed = store.set_fields(conn, request.id, {"moved_reply": "sending"}, moved_reply=None)
    if not claimed:
        return f"ticket {request.ticket_id}: reply already {request.moved_reply or 'sending'}"
    text = moved_reply(request.check, old.first_name if old else "", when, request.with_domain)
    outcome = reply_on_ticket(bridge, request.ticket_id, text)
    with bridge.panel.begin() as conn:
        store.set_fields(conn, request.id, {"moved_reply": outcome})
    return f"ticket {request.ticket_id}: reply {outcome}"


def _mentions(ticket: queries.TicketInfo, domain: str) -> bool:
    if not domain:
        return False
    pattern = re.compile(rf"(?<![\w.-]){re.escape(domain.lower())}(?![\w-])")
    return bool(pattern.search(f"{ticket.subject}\n{ticket.message}".lower()))


def on_ticket_opened(bridge: Bridge, event: Event) -> str | Skip:
    """R-TR-9: a ticket the old holder opens about a service moved away gets a staff note."""
    if not settings_of(bridge).note_tickets:
        return SKIP
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        # Most tickets are not a former holder's: the plugin's own table says so first.
        if event.client_id and not store.applied_from_client(conn, event.client_id):
            return SKIP
        ticket = queries.ticket(conn, tables, event.subject_id)
        if ticket is None or not ticket.client_id:
            return SKIP
        moves = store.applied_from_client(conn, ticket.client_id)
    about = None
    for move in moves:
        if ticket.opened_at and move.applied_at and ticket.opened_at < move.applied_at:
            continue
        domain = str(move.check.service.get("domain") or "")
        domain_ids = move.check.flag("domain_stays")
        moved_domains = list(domain_ids.ids.get("domain_ids", [])) if domain_ids else []
        if (
            ticket.service_id == move.service_id
            or (move.with_domain and ticket.domain_id in moved_domains)
            or _mentions(ticket, domain)
        ):
            about = move
            break
    if about is None:
        return SKIP
    now = bridge.clock.panel_now()
    try:
        with bridge.panel.begin() as conn:
            claimed = store.claim_note(conn, ticket.id, about.id, now)
    except IntegrityError:  # another run's claim won at commit
        claimed = False
    if not claimed:
        return f"ticket {ticket.id}: R-TR-9 note already handled"
    when = (about.applied_at or now).date()
    message = staff_note(
        about.id,
        about.service_id,
        service_label(about.check),
        about.from_client_id,
        int(about.to_client_id or 0),
        when,
    )
    try:
        bridge.api.call("AddTicketNote", {"ticketid": ticket.id, "message": message})
        state = "sent"
    except ApiOutcomeUnknown:
        state = "unknown"
    except ConfigError:
        with bridge.panel.begin() as conn:
            store.delete_note(conn, ticket.id)
        return f"ticket {ticket.id}: no [api], the R-TR-9 note for transfer {about.id} not added"
    except ApiError:
        with bridge.panel.begin() as conn:  # the retry claims it again
            store.delete_note(conn, ticket.id)
        raise
    with bridge.panel.begin() as conn:
        store.set_note_state(conn, ticket.id, state, bridge.clock.panel_now())
    return f"ticket {ticket.id}: R-TR-9 note {state} (transfer {about.id})"
