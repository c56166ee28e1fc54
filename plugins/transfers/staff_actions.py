"""The Transferencias tab's buttons: **Aprobar** (the same apply as ``transfer apply --id N
--yes``) and **Rechazar** (cancel the request and reply on the ticket with the reasons), each
refused when the check, run again when pressed, says other than what the page showed
(:func:`.staff.version_of`); each records the admin in the request's note and the activity log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import StaffActionResult, StaffAdmin, log_staff_action

from . import store
from .apply import NotApplicable, apply_transfer, reject_transfer
from .model import TransferCheck
from .staff import PREFIX, judge, party_label, version_of
from .staff_words import STATE_WORDS, WORDS, finding_words
from .tables import PENDING
from .texts import service_label

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

_REPLY_ES = {
    "sent": "respuesta enviada en el ticket #{t}",
    "unknown": "la respuesta de WHMCS se perdió: mirar el ticket #{t} antes de responder",
    "skipped": "sin [api]: no se respondió en el ticket #{t}; responder a mano",
    "failed": "WHMCS rechazó la respuesta en el ticket #{t} (ver el log); responder a mano",
}


# -- the buttons ------------------------------------------------------------------------------


def _reasons_es(check: TransferCheck, problem: str) -> str:
    found = [finding_words(r, "es") for r in check.reasons]
    if problem.startswith("recipient:"):
        found.append(WORDS["es"]["other_recipient"].format(id=problem.split(":", 1)[1]))
    elif problem:
        found.append(problem)
    return "; ".join(found) or "ahora se puede aplicar"


def act(
    bridge: Bridge, name: str, params: dict[str, Any], version: str, admin: StaffAdmin
) -> StaffActionResult:
    """Carry out ``transfers.approve`` or ``transfers.reject`` for ``admin``, once the request
    is still pending and its check, run again now, says what the page showed."""
    verb = name.removeprefix(PREFIX)
    if verb not in ("approve", "reject"):
        return StaffActionResult.refused(f"no action {name}", 404)
    request_id = params.get("id")
    if not isinstance(request_id, int) or isinstance(request_id, bool):
        return StaffActionResult.refused("expected id: the transfer request's number")
    with bridge.panel.connect() as conn:
        request = store.get_request(conn, request_id)
    if request is None:
        return StaffActionResult.changed(f"la transferencia #{request_id} ya no existe")
    if request.state != PENDING:
        state = STATE_WORDS["es"].get(request.state, request.state)
        return StaffActionResult.changed(f"la transferencia #{request_id} ahora está {state}")
    check, problem = judge(bridge, request)
    if version_of(request, check, problem) != version:
        return StaffActionResult.changed(
            f"la verificación de la transferencia #{request_id} cambió: "
            f"{_reasons_es(check, problem)}"
        )
    if verb == "reject":
        return _reject(bridge, request, check, admin)
    if check.reasons or problem:
        return StaffActionResult.refused(
            f"la transferencia #{request_id} no se puede aplicar: {_reasons_es(check, problem)}"
        )
    return _approve(bridge, request, bool(params.get("with_domain")), admin)


def _approve(
    bridge: Bridge, request: store.TransferRequest, with_domain: bool, admin: StaffAdmin
) -> StaffActionResult:
    try:
        result = apply_transfer(bridge, request.id, with_domain=with_domain, by=admin.label)
    except NotApplicable as exc:
        return StaffActionResult.changed(str(exc))
    if not result.applied:
        return StaffActionResult.changed(
            f"la verificación de la transferencia #{request.id} cambió al aplicarla: "
            f"{_reasons_es(result.check, '')}"
        )
    to_id = int(request.to_client_id or 0)
    domains = len(result.moved.domain_ids) if result.moved else 0
    note = log_staff_action(
        bridge,
        admin,
        f"whmcs-bridge: transfer request #{request.id} applied: service {request.service_id} "
        f"moved from client {request.from_client_id} to client {to_id}"
        + (" with its domain" if domains else ""),
        request.from_client_id,
    )
    check = result.check
    text = (
        f"transferencia #{request.id} aplicada: {service_label(check)} pasó de "
        f"{party_label(check.holder, '')} a {party_label(check.recipient, '')}"
        + (" con su dominio" if domains else "")
        + "; los avisos y la respuesta en el ticket salen en el próximo ciclo."
    )
    return StaffActionResult(True, f"{text} {note}".strip())


def _reject(
    bridge: Bridge, request: store.TransferRequest, check: TransferCheck, admin: StaffAdmin
) -> StaffActionResult:
    outcome = reject_transfer(bridge, request, check, by=admin.label)
    if outcome is None:
        return StaffActionResult.changed(f"la transferencia #{request.id} cambió: mirá de nuevo")
    log_note = log_staff_action(
        bridge,
        admin,
        f"whmcs-bridge: transfer request #{request.id} of service {request.service_id} "
        "rejected" + (f", ticket {request.ticket_id} reply {outcome}" if request.ticket_id else ""),
        request.from_client_id,
    )
    reply = (
        _REPLY_ES.get(outcome, outcome).format(t=request.ticket_id)
        if request.ticket_id
        else "sin ticket: avisar al cliente a mano"
    )
    text = f"transferencia #{request.id} rechazada: el pedido se canceló; {reply}."
    return StaffActionResult(True, f"{text} {log_note}".strip())
