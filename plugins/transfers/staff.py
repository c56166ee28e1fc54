"""The Transferencias tab of the staff page in the WHMCS admin area (issue 16): transfer requests
waiting for staff, checked again as the page is drawn, and the buttons staff use on them.

Pending requests come first, oldest first, each with the check re-run now
(:func:`.owner_request.check_for_request`): every reason and flag in plain words (Spanish, or
English for an English admin) under the row, the ticket the owner asked in, the service and
both clients linked to their WHMCS pages.
Buttons: **Aprobar** runs the same apply as ``transfer apply --id N --yes``
(:func:`.apply.apply_transfer`; "con el dominio" as ``--with-domain`` when the domain of the same
name would stay), offered only while the check allows it; **Rechazar** cancels the request
(:func:`.apply.cancel_transfer`) and replies on the ticket with the reasons, in the client's
language (:func:`.texts.reject_reply`, sent by :func:`.owner_request.reply_on_ticket`).

A button carries the ``version`` of what was drawn: the request's state and the check's verdict,
reasons and flags. It is refused (409) when the check, run again when pressed, says anything else
(an invoice that became overdue meanwhile stops an approval). Each action records the admin in
the request's note and in the panel's activity log. The second section lists the requests
applied, cancelled or refused lately.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from whmcs_bridge.plugin import (
    BridgeError,
    StaffAction,
    StaffActionResult,
    StaffAdmin,
    StaffRow,
    StaffSection,
    StaffTab,
    fingerprint,
    is_english,
    log_staff_action,
)

from . import store
from .apply import NotApplicable, apply_transfer, reject_transfer
from .model import WHMCS, Finding, TransferCheck
from .owner_request import check_for_request
from .tables import APPLIED, CANCELLED, PENDING, REFUSED, transfer_requests
from .texts import day, service_label

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

PREFIX = "transfers."
LIMIT = 50  # rows per section: the page is for the day's work, `transfer list` for more
RECENT_DAYS = 30
RECENT_STATES = (APPLIED, CANCELLED, REFUSED)

WORDS = {
    "es": {
        "title": "Transferencias",
        "pending": "Pendientes (verificadas ahora)",
        "recent": f"Aplicadas, rechazadas o canceladas (últimos {RECENT_DAYS} días)",
        "columns": [
            "ticket",
            "servicio",
            "titular actual",
            "nuevo titular",
            "verificación",
            "pedido",
        ],
        "recent_columns": [
            "ticket",
            "servicio",
            "titular anterior",
            "nuevo titular",
            "estado",
            "pedido",
        ],
        "none": "Ninguna.",
        "no_ticket": "sin ticket",
        "allowed": "se puede aplicar",
        "refused": "no se puede aplicar",
        "flags_n": "{n} aviso(s)",
        "reasons_n": "{n} motivo(s)",
        "reasons": "Motivos",
        "flags": "Avisos",
        "clean": "Sin motivos ni avisos: se puede aplicar.",
        "note": "Nota",
        "other_recipient": "el destinatario cambió: ahora es el cliente #{id}; cancelar y "
        "pedir de nuevo",
        "gone": "no se pudo verificar: {problem}",
        "summary": "Pendientes: {pending} ({allowed} se pueden aplicar, {refused} no); "
        "recientes: {recent}",
        "b_approve": "Aprobar",
        "b_domain": "Aprobar con el dominio",
        "b_reject": "Rechazar",
        "q_approve": "¿Aplicar la transferencia #{id}: {service} de {from_} a {to}? El servicio "
        "pasa ahora; los avisos a los dos titulares y la respuesta en el ticket salen en el "
        "próximo ciclo.",
        "q_stays": " El dominio {domain} queda con {from_}.",
        "q_domain": " El dominio {domain} pasa también.",
        "q_reject": "¿Rechazar la transferencia #{id} ({service} a {to})? Se cancela el pedido y "
        "se responde en el ticket con los motivos, en el idioma del cliente.",
        "q_reject_no_ticket": "¿Rechazar la transferencia #{id} ({service} a {to})? Se cancela "
        "el pedido (no tiene ticket: avisar al cliente a mano).",
    },
    "en": {
        "title": "Transfers",
        "pending": "Pending (checked now)",
        "recent": f"Applied, refused or cancelled (last {RECENT_DAYS} days)",
        "columns": ["ticket", "service", "current holder", "new holder", "check", "request"],
        "recent_columns": ["ticket", "service", "former holder", "new holder", "state", "request"],
        "none": "None.",
        "no_ticket": "no ticket",
        "allowed": "can be applied",
        "refused": "cannot be applied",
        "flags_n": "{n} flag(s)",
        "reasons_n": "{n} reason(s)",
        "reasons": "Reasons",
        "flags": "Flags",
        "clean": "No reasons and no flags: it can be applied.",
        "note": "Note",
        "other_recipient": "the recipient changed: it is now client #{id}; cancel it and ask again",
        "gone": "could not be checked: {problem}",
        "summary": "Pending: {pending} ({allowed} can be applied, {refused} cannot); "
        "recent: {recent}",
        "b_approve": "Approve",
        "b_domain": "Approve with the domain",
        "b_reject": "Reject",
        "q_approve": "Apply transfer #{id}: {service} from {from_} to {to}? The service moves "
        "now; the notices to both holders and the ticket reply go out with the next cycle.",
        "q_stays": " The domain {domain} stays with {from_}.",
        "q_domain": " The domain {domain} moves too.",
        "q_reject": "Reject transfer #{id} ({service} to {to})? The request is cancelled and "
        "the ticket gets a reply with the reasons, in the client's language.",
        "q_reject_no_ticket": "Reject transfer #{id} ({service} to {to})? The request is "
        "cancelled (it has no ticket: tell the client yourself).",
    },
}
STATE_WORDS = {
    "es": {PENDING: "pendiente", APPLIED: "aplicada", CANCELLED: "cancelada",
           REFUSED: "rechazada por la verificación al pedirla"},
    "en": {PENDING: "pending", APPLIED: "applied", CANCELLED: "cancelled",
           REFUSED: "refused by the check when asked"},
}  # fmt: skip
_STATUS_ES = {
    "Active": "activo", "Pending": "pendiente", "Suspended": "suspendido",
    "Cancelled": "cancelado", "Terminated": "dado de baja", "Fraud": "marcado como fraude",
    "Completed": "finalizado", "Inactive": "inactivo", "Closed": "cerrado",
}  # fmt: skip
_DETAILS_ES = {"name": "nombre", "company": "empresa", "country": "país", "phone": "teléfono",
               "address": "dirección"}  # fmt: skip
_REPLY_ES = {
    "sent": "respuesta enviada en el ticket #{t}",
    "unknown": "la respuesta de WHMCS se perdió: mirar el ticket #{t} antes de responder",
    "skipped": "sin [api]: no se respondió en el ticket #{t}; responder a mano",
    "failed": "WHMCS rechazó la respuesta en el ticket #{t} (ver el log); responder a mano",
}


# -- plain words ------------------------------------------------------------------------------


def _numbers(ids: Any) -> str:
    return ", ".join(f"#{i}" for i in ids or [])


def _spanish(finding: Finding) -> str | None:
    """A reason or flag in plain Spanish for staff (numbers and rules shown), or None."""
    ids = finding.ids
    status = _STATUS_ES.get(str(ids.get("status", "")), str(ids.get("status", "")).lower())
    invoices = _numbers(ids.get("invoice_ids"))
    code = finding.code
    if code == "service_not_active":
        return f"el servicio está {status}: solo se mueven servicios activos"
    if code == "same_client":
        return f"el servicio ya es del cliente #{ids.get('client_id')}"
    if code == "target_missing" and "email" in ids:
        return (
            f"ningún cliente tiene el e-mail {ids['email']}: crear el cliente primero y "
            "verificar de nuevo"
        )
    if code == "target_missing":
        return f"el cliente #{ids.get('client_id')} no existe: crearlo primero y verificar de nuevo"
    if code == "target_ambiguous":
        return (
            f"los clientes {_numbers(ids.get('client_ids'))} comparten el e-mail pedido: dos "
            "clientes no pueden tener el mismo; pedirlo por número de cliente una vez corregido"
        )
    if code == "target_not_active":
        return (
            f"el cliente #{ids.get('client_id')} está {status}: el nuevo titular debe estar activo"
        )
    if code == "same_email":
        return (
            f"las dos cuentas comparten el e-mail {', '.join(ids.get('emails', []))}: cada cuenta "
            "necesita su propio e-mail"
        )
    if code == "overdue_invoices":
        who = "titular actual" if ids.get("side") == "from" else "nuevo titular"
        return (
            f"el cliente #{ids.get('client_id')} ({who}) tiene facturas vencidas ({invoices}): "
            "las dos cuentas tienen que estar al día"
        )
    if code == "unpaid_service_items":
        return (
            f"el servicio o sus addons están en facturas impagas ({invoices}): WHMCS no lo mueve "
            "hasta que se paguen o se anulen"
        )
    if code == "pending_upgrade":
        return (
            f"un cambio de plan del servicio espera el pago (factura {invoices}): su factura "
            "quedaría con el titular anterior"
        )
    if code == "open_cancellation":
        return (
            f"el servicio tiene un pedido de baja abierto (#{ids.get('cancel_request_id')}): "
            "retirarlo o dejar que se cumpla primero"
        )
    if code == "currency_mismatch":
        return (
            f"el servicio se factura en {ids.get('from_currency')} y el nuevo titular en "
            f"{ids.get('to_currency')}: WHMCS dejaría los importes en la moneda equivocada"
        )
    if code == "not_from_owner":
        return (
            f"el ticket #{ids.get('ticket_id')} no lo envió el titular desde su e-mail registrado"
        )
    if code == "details_differ":
        fields = ", ".join(_DETAILS_ES.get(f, f) for f in ids.get("fields", []))
        return (
            f"difieren los datos de los titulares ({fields}): verificar por teléfono antes "
            "de aplicar"
        )
    if code == "addons_move":
        what = [f"addon {_numbers([i])}" for i in ids.get("addon_ids", [])]
        what += [f"pedido SSL {_numbers([i])}" for i in ids.get("ssl_order_ids", [])]
        return f"se mueven con el servicio: {'; '.join(what)}"
    if code == "domain_stays":
        return (
            f"el dominio {ids.get('domain')} queda con el titular actual, salvo que se apruebe "
            "con el dominio"
        )
    return None


def finding_words(finding: Finding, lang: str) -> str:
    """One reason or flag in plain words, with the rule it comes from."""
    rule = "WHMCS" if finding.rule == WHMCS else finding.rule
    text = (_spanish(finding) if lang == "es" else None) or finding.text
    return f"{text} ({rule})"


def _detail(check: TransferCheck, lang: str, extra: list[str]) -> str:
    words = WORDS[lang]
    parts = []
    if check.reasons:
        reasons = "; ".join(finding_words(r, lang) for r in check.reasons)
        parts.append(f"{words['reasons']}: {reasons}")
    if check.flags:
        parts.append(f"{words['flags']}: {'; '.join(finding_words(f, lang) for f in check.flags)}")
    return " — ".join([*extra, *parts]) or words["clean"]


# -- what the page draws ----------------------------------------------------------------------


def judge(bridge: Bridge, request: store.TransferRequest) -> tuple[TransferCheck, str]:
    """The check run now for a stored request, and what stops it beyond its reasons ('' none):
    a recipient that is now another client, or a service gone from the panel (then the stored
    check is returned)."""
    try:
        check = check_for_request(bridge, request)
    except BridgeError as exc:
        return request.check, str(exc)
    recipient = check.recipient
    if not check.reasons and (recipient is None or recipient.id != request.to_client_id):
        return check, f"recipient:{recipient.id if recipient else 0}"
    return check, ""


def version_of(request: store.TransferRequest, check: TransferCheck, problem: str) -> str:
    """What a pending row was drawn from: the request's state and the check's verdict, reasons
    and flags (ids included, so one more overdue invoice is a change)."""
    return fingerprint(
        request.id,
        request.state,
        request.service_id,
        request.to_client_id,
        check.verdict,
        problem,
        [asdict(r) for r in check.reasons],
        [asdict(f) for f in check.flags],
    )


def _party(party: Any, fallback: str) -> str:
    if party is None:
        return fallback
    name = party.name or party.company
    company = f" ({party.company})" if party.company and party.company != name else ""
    return f"#{party.id} {name}{company}"


def _cells(
    request: store.TransferRequest, check: TransferCheck, lang: str, state: str
) -> tuple[list[str], list[str]]:
    """(cells, links) shared by both sections: ticket, service, the two clients, state, asked."""
    words = WORDS[lang]
    holder_id = request.to_client_id if request.state == APPLIED else request.from_client_id
    to_id = request.to_client_id
    cells = [
        f"#{request.ticket_id}" if request.ticket_id else words["no_ticket"],
        service_label(check),
        _party(check.holder, f"#{request.from_client_id}"),
        _party(check.recipient, request.target),
        state,
        f"#{request.id}, {day(request.created_at.date())}",
    ]
    links = [
        f"supporttickets.php?action=view&id={request.ticket_id}" if request.ticket_id else "",
        f"clientsservices.php?userid={holder_id}&id={request.service_id}",
        f"clientssummary.php?userid={request.from_client_id}",
        f"clientssummary.php?userid={to_id}" if to_id else "",
        "",
        "",
    ]
    return cells, links


def _pending_row(bridge: Bridge, request: store.TransferRequest, lang: str) -> StaffRow:
    words = WORDS[lang]
    check, problem = judge(bridge, request)
    extra = []
    if problem.startswith("recipient:"):
        extra.append(words["other_recipient"].format(id=problem.split(":", 1)[1]))
    elif problem:
        extra.append(words["gone"].format(problem=problem))
    can_apply = not check.reasons and not problem
    if can_apply:
        state = words["allowed"]
        if check.flags:
            state += "; " + words["flags_n"].format(n=len(check.flags))
    else:
        state = words["refused"]
        if check.reasons:
            state += ": " + words["reasons_n"].format(n=len(check.reasons))
    cells, links = _cells(request, check, lang, state)
    return StaffRow(
        cells,
        link=links[0],
        links=links,
        actions=_actions(request, check, version_of(request, check, problem), can_apply, lang),
        tone="" if can_apply and not check.flags else ("warn" if can_apply else "bad"),
        detail=_detail(check, lang, extra),
    )


def _actions(
    request: store.TransferRequest,
    check: TransferCheck,
    version: str,
    can_apply: bool,
    lang: str,
) -> list[StaffAction]:
    words = WORDS[lang]
    names = {
        "id": request.id,
        "service": service_label(check),
        "from_": _party(check.holder, f"#{request.from_client_id}"),
        "to": _party(check.recipient, request.target),
    }
    apply_cli = f"whmcs-bridge transfer apply --id {request.id} --yes"
    found = []
    stays = check.flag("domain_stays")
    if can_apply:
        question = words["q_approve"].format(**names)
        if stays:
            question += words["q_stays"].format(domain=stays.ids.get("domain"), **names)
        found.append(
            StaffAction(
                PREFIX + "approve", words["b_approve"], question, {"id": request.id}, version,
                cli=apply_cli,
            )
        )  # fmt: skip
        if stays:
            found.append(
                StaffAction(
                    PREFIX + "approve",
                    words["b_domain"],
                    words["q_approve"].format(**names)
                    + words["q_domain"].format(domain=stays.ids.get("domain")),
                    {"id": request.id, "with_domain": True},
                    version,
                    cli=apply_cli + " --with-domain",
                )
            )
    question = words["q_reject" if request.ticket_id else "q_reject_no_ticket"].format(**names)
    found.append(
        StaffAction(
            PREFIX + "reject", words["b_reject"], question, {"id": request.id}, version,
            cli=f"whmcs-bridge transfer cancel {request.id} --reply", danger=True,
        )
    )  # fmt: skip
    return found


def _recent_row(request: store.TransferRequest, lang: str) -> StaffRow:
    words = WORDS[lang]
    state = STATE_WORDS[lang].get(request.state, request.state)
    when = request.applied_at if request.state == APPLIED else request.updated_at
    state += f" {'el' if lang == 'es' else 'on'} {when:%d/%m/%Y %H:%M}"
    cells, links = _cells(request, request.check, lang, state)
    extra = [f"{words['note']}: {' '.join(request.note.split())[:300]}"] if request.note else []
    # A request refused when asked: what refused it (its flags no longer matter).
    refused = replace(request.check, flags=())
    detail = _detail(refused, lang, extra) if request.state == REFUSED else " — ".join(extra)
    return StaffRow(cells, link=links[0], links=links, detail=detail)


def tab(bridge: Bridge, language: str) -> StaffTab:
    """The Transferencias tab in the admin's language (``es`` or ``en``)."""
    lang = "en" if is_english(language) else "es"
    words = WORDS[lang]
    t = transfer_requests
    since = bridge.clock.panel_now() - timedelta(days=RECENT_DAYS)
    with bridge.panel.connect() as conn:
        pending = [
            store.TransferRequest.from_row(row)
            for row in conn.execute(
                select(t).where(t.c.state == PENDING).order_by(t.c.id).limit(LIMIT)
            )
        ]
        recent = [
            store.TransferRequest.from_row(row)
            for row in conn.execute(
                select(t)
                .where(t.c.state.in_(RECENT_STATES), t.c.updated_at >= since)
                .order_by(t.c.updated_at.desc(), t.c.id.desc())
                .limit(LIMIT)
            )
        ]
    rows = [_pending_row(bridge, request, lang) for request in pending]
    allowed = sum(1 for row in rows if row.actions[0].name == PREFIX + "approve")
    sections = [
        StaffSection(words["pending"], list(words["columns"]), rows, words["none"]),
        StaffSection(
            words["recent"],
            list(words["recent_columns"]),
            [_recent_row(request, lang) for request in recent],
            words["none"],
        ),
    ]
    summary = words["summary"].format(
        pending=len(rows), allowed=allowed, refused=len(rows) - allowed, recent=len(recent)
    )
    return StaffTab("transferencias", words["title"], summary, sections, order=10,
                    badge=len(rows))  # fmt: skip


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
        f"{_party(check.holder, '')} a {_party(check.recipient, '')}"
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
