"""The Transferencias tab's words (Spanish, or English for an English admin): titles, columns,
buttons and questions, and every reason and flag of the check in plain words for staff.
"""

from __future__ import annotations

from typing import Any

from .model import WHMCS, Finding, TransferCheck
from .tables import APPLIED, CANCELLED, PENDING, REFUSED

RECENT_DAYS = 30

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


def detail_text(check: TransferCheck, lang: str, extra: list[str]) -> str:
    words = WORDS[lang]
    parts = []
    if check.reasons:
        reasons = "; ".join(finding_words(r, lang) for r in check.reasons)
        parts.append(f"{words['reasons']}: {reasons}")
    if check.flags:
        parts.append(f"{words['flags']}: {'; '.join(finding_words(f, lang) for f in check.flags)}")
    return " — ".join([*extra, *parts]) or words["clean"]
