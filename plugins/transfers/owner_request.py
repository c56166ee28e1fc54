"""``transfer request``: the owner asks in a ticket (R-TR-3); the request is stored with its check
and the ticket gets a reply saying what happens next, or what blocks it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import (
    ApiError,
    ApiOutcomeUnknown,
    BridgeError,
    ConfigError,
    queries,
)

from . import store
from .check import check_transfer
from .model import BadTransferArgument, Reason, TransferCheck, parse_target
from .settings import TransferSettings, load_settings
from .tables import PENDING, REFUSED
from .texts import request_reply

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestResult:
    request: store.TransferRequest
    reply_text: str
    reply_problem: str | None  # why the ticket reply was not sent, when it was not


def settings_of(bridge: Bridge) -> TransferSettings:
    settings = bridge.settings("transfers")
    return settings if settings is not None else load_settings(bridge.plugin_config("transfers"))


def reply_on_ticket(bridge: Bridge, ticket_id: int, text: str) -> str:
    """AddTicketReply as staff; returns the reply's state: sent, unknown (the answer was lost),
    skipped (no ``[api]``) or failed (WHMCS refused, logged)."""
    settings = settings_of(bridge)
    # A staff reply: without adminusername WHMCS would post it as the client's own.
    params: dict[str, Any] = {
        "ticketid": ticket_id,
        "message": text,
        "adminusername": settings.admin,
    }
    try:
        bridge.api.call("AddTicketReply", params)
    except ApiOutcomeUnknown:
        return "unknown"
    except ConfigError:
        return "skipped"
    except ApiError as exc:
        log.warning("transfers: AddTicketReply on ticket %s refused: %s", ticket_id, exc.message)
        return "failed"
    return "sent"


def create_request(
    bridge: Bridge, ticket_id: int, service_id: int, target_text: str
) -> RequestResult:
    """Store a transfer request judged now, and reply on its ticket (R-TR-3)."""
    target = parse_target(target_text)
    settings = settings_of(bridge)
    tables = bridge.panel.tables
    today = bridge.clock.today()
    with bridge.panel.connect() as conn:
        ticket = queries.ticket(conn, tables, ticket_id)
        if ticket is None:
            raise BadTransferArgument(f"--ticket {ticket_id}: no such ticket in the panel")
        check = check_transfer(conn, tables, settings, service_id, target, today)
        holder = check.holder
        assert holder is not None
        problem = queries.tickets.not_from_owner(conn, tables, ticket, holder.id, holder.email)
        if problem:
            refusal = Reason("not_from_owner", "R-TR-3", problem, {"ticket_id": ticket.id})
            check = replace(check, reasons=(refusal, *check.reasons))
        earlier = store.pending_for_service(conn, service_id)
        if earlier is not None:
            raise BridgeError(
                f"request {earlier.id} for service {service_id} is already pending: "
                f"apply or cancel it first (transfer cancel {earlier.id})"
            )
        holder_info = queries.client(conn, tables, holder.id)
    text = request_reply(check, holder_info.first_name if holder_info else "")
    now = bridge.clock.panel_now()
    state = REFUSED if check.reasons else PENDING
    with bridge.panel.begin() as conn:
        request_id = store.insert_request(
            conn,
            {
                "service_id": service_id,
                "from_client_id": holder.id,
                "to_client_id": check.recipient.id if check.recipient else None,
                "target": str(target),
                "ticket_id": ticket_id,
                "state": state,
                "with_domain": False,
                "request_reply": "sending",
                "created_at": now,
                "updated_at": now,
                **store.check_columns(check),
            },
        )
    outcome = reply_on_ticket(bridge, ticket_id, text)
    with bridge.panel.begin() as conn:
        store.set_fields(
            conn, request_id, {"request_reply": outcome, "updated_at": bridge.clock.panel_now()}
        )
        request = store.get_request(conn, request_id)
    assert request is not None
    problem = None if outcome == "sent" else _why_not(outcome)
    return RequestResult(request, text, problem)


def _why_not(outcome: str) -> str:
    return {
        "unknown": "the panel's answer to AddTicketReply was lost: look at the ticket before "
        "replying again",
        "skipped": "no [api] section: the reply was not sent; paste it into the ticket",
    }.get(outcome, "WHMCS refused AddTicketReply: see the log; paste the reply into the ticket")


def check_for_request(bridge: Bridge, request: store.TransferRequest) -> TransferCheck:
    """The check again, now, for a stored request's service and target."""
    target: int | str = request.to_client_id or parse_target(request.target)
    with bridge.panel.connect() as conn:
        return check_transfer(
            conn,
            bridge.panel.tables,
            settings_of(bridge),
            request.service_id,
            target,
            bridge.clock.today(),
        )
