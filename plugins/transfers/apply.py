"""``transfer apply``: check again, then move in ONE transaction (whmcs.md §3.6).

The transaction sets the request ``applied`` (only if it is still ``pending``: the claim two
runs cannot both win), moves the service, its addons, its SSL orders and optionally the domain
of the same name (guarded by the old owner), writes WHMCS's own activity-log lines on both
clients, and stores the ``service.moved`` event. Either all of that is committed or none of it:
a run killed in between leaves nothing half-moved, and a crash after the commit leaves the event
for dispatch, which sends the notices and the ticket reply (:mod:`.notices`). A second apply
finds the request ``applied`` and moves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from whmcs_bridge.plugin import (
    BridgeError,
    Event,
    event_key,
    queries,
    record_events,
    text_language,
)

from . import store
from .model import TransferCheck
from .owner_request import check_for_request, reply_on_ticket, settings_of
from .tables import APPLIED, CANCELLED, PENDING
from .texts import reject_reply

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge


class NotApplicable(BridgeError):
    """The request is not pending (applied, refused or cancelled): nothing to apply."""


@dataclass(frozen=True)
class ApplyResult:
    request_id: int
    check: TransferCheck
    applied: bool
    moved: queries.moves.MovedRows | None = None
    event_key: str | None = None


def with_note(note: str | None, line: str) -> str:
    """The request's note with one more line (who approved or turned it down)."""
    return f"{note}; {line}" if note else line


def apply_transfer(
    bridge: Bridge, request_id: int, with_domain: bool = False, by: str = ""
) -> ApplyResult:
    """Re-check request ``request_id`` and, when still allowed, apply it.

    :param by: who applied it (the staff page's admin), kept in the request's note in the
        same transaction as the move.

    :return: ``applied`` False (and the new check, stored on the request) when the check now
        refuses; the request stays pending.
    :raises NotApplicable: the request is not pending (a second apply moves nothing).
    """
    with bridge.panel.connect() as conn:
        request = store.get_request(conn, request_id)
    if request is None:
        raise NotApplicable(f"no transfer request {request_id}")
    if request.state != PENDING:
        when = f" on {request.applied_at:%d/%m/%Y %H:%M}" if request.applied_at else ""
        raise NotApplicable(
            f"transfer request {request_id} is {request.state}{when}: nothing to apply"
        )
    check = check_for_request(bridge, request)
    now = bridge.clock.panel_now()
    if check.reasons or check.recipient is None or check.recipient.id != request.to_client_id:
        with bridge.panel.begin() as conn:
            store.set_fields(
                conn, request_id, {**store.check_columns(check), "updated_at": now}, state=PENDING
            )
        return ApplyResult(request_id, check, applied=False)
    stays = check.flag("domain_stays")
    domain_ids = list(stays.ids.get("domain_ids", [])) if (with_domain and stays) else []
    to_id = check.recipient.id
    from_id = request.from_client_id
    key = event_key("service.moved", request.service_id, now.date().isoformat())
    event = Event(
        key=key,
        name="service.moved",
        subject_type="service",
        subject_id=request.service_id,
        occurred_at=now,
        source="bridge",
        client_id=to_id,
        origin="admin",
        data={
            "from_client_id": from_id,
            "to_client_id": to_id,
            "transfer_id": request_id,
            "domain_ids": domain_ids,
        },
    )
    tables = bridge.panel.tables
    log_user = settings_of(bridge).log_user
    with bridge.panel.begin() as conn:
        claimed = store.set_fields(
            conn,
            request_id,
            {
                "state": APPLIED,
                "with_domain": bool(domain_ids),
                "event_key": key,
                "applied_at": now,
                "updated_at": now,
                **store.check_columns(check),
                **({"note": with_note(request.note, f"approved by {by}")} if by else {}),
            },
            state=PENDING,
        )
        if not claimed:
            raise NotApplicable(f"transfer request {request_id} was applied by another run")
        moved = queries.moves.move_service(
            conn, tables, request.service_id, from_id, to_id, domain_ids
        )
        for line in queries.moves.move_log_lines(request.service_id, from_id, to_id, domain_ids):
            for client_id in (from_id, to_id):
                queries.moves.log_activity(conn, tables, client_id, line, log_user, now)
        if not record_events(conn, [event], now):
            # The service already moved once today (its day key is the watchers' too): this
            # move's own key keeps its notices.
            key = event_key("service.moved", request.service_id, f"{now.date()}:t{request_id}")
            record_events(conn, [replace(event, key=key)], now)
            store.set_fields(conn, request_id, {"event_key": key})
    return ApplyResult(request_id, check, applied=True, moved=moved, event_key=key)


def cancel_transfer(bridge: Bridge, request: store.TransferRequest, by: str = "") -> bool:
    """Withdraw a pending (or refused) request; False when it changed meanwhile (the claim is
    its state as read). ``by``: who withdrew it, kept in the request's note."""
    values: dict[str, object] = {"state": CANCELLED, "updated_at": bridge.clock.panel_now()}
    if by:
        values["note"] = with_note(request.note, f"rejected by {by}")
    with bridge.panel.begin() as conn:
        return store.set_fields(conn, request.id, values, state=request.state)


def reject_transfer(
    bridge: Bridge, request: store.TransferRequest, check: TransferCheck, by: str = ""
) -> str | None:
    """Withdraw the request and reply on its ticket with the reasons ``check`` gives, in the
    holder's language (:func:`.texts.reject_reply`: no rule ids). Returns the reply's state
    (sent, unknown, skipped, failed; ``none`` without a ticket), also kept in the note, or
    ``None`` when the request changed meanwhile (nothing done)."""
    if not cancel_transfer(bridge, request, by):
        return None
    if not request.ticket_id:
        return "none"
    with bridge.panel.connect() as conn:
        client = queries.client(conn, bridge.panel.tables, request.from_client_id)
    language = text_language(client.language if client else "", bridge.panel.setting("Language"))
    text = reject_reply(check, client.first_name if client else "", language)
    outcome = reply_on_ticket(bridge, request.ticket_id, text)
    note = with_note(request.note, f"rejected by {by}") if by else request.note
    with bridge.panel.begin() as conn:
        line = f"ticket {request.ticket_id} reply {outcome}"
        store.set_fields(conn, request.id, {"note": with_note(note, line)})
    return outcome
