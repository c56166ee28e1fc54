"""What clients read about a transfer (Spanish, es_AR with voseo as the alerts say it, and
English), and the staff note of R-TR-9.

Client texts name no rule, no internal code and no ISO date; they never tell one holder
anything about the other account beyond what the holder asked for (the other side's overdue
invoices are "the other account is not up to date", not their numbers).
"""

from __future__ import annotations

from datetime import date

from .model import Reason, TransferCheck

ES, EN = "es_AR", "en"  # the text languages of send_notice

_STATUS_ES = {
    "Pending": "pendiente",
    "Suspended": "suspendido",
    "Cancelled": "cancelado",
    "Terminated": "dado de baja",
    "Fraud": "en revisión",
    "Completed": "finalizado",
}


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def service_label(check: TransferCheck) -> str:
    product = str(check.service.get("product") or "").strip() or f"#{check.service_id}"
    domain = str(check.service.get("domain") or "").strip()
    return f"{product} ({domain})" if domain else product


def _numbers(ids: list[int]) -> str:
    return ", ".join(f"N° {i}" for i in ids)


def plain_reason(reason: Reason) -> str:
    """One reason in plain Spanish words, for the holder who asked."""
    ids = reason.ids
    code = reason.code
    if code == "service_not_active":
        status = _STATUS_ES.get(str(ids.get("status")), "inactivo")
        return (
            f"el servicio no está activo (está {status}); solo se pueden pasar servicios activos."
        )
    if code == "same_client":
        return "el servicio ya está en esa cuenta."
    if code == "target_missing":
        return (
            "la cuenta que lo va a recibir todavía no existe: quien lo reciba tiene que crear "
            "primero su propia cuenta, con su propio e-mail."
        )
    if code == "target_ambiguous":
        return "hay más de una cuenta con ese e-mail; necesitamos saber exactamente cuál es."
    if code == "target_not_active":
        return "la cuenta que lo va a recibir no está activa."
    if code == "same_email":
        return (
            "las dos cuentas comparten un e-mail; cada cuenta tiene que tener su propio e-mail "
            "y su propia contraseña."
        )
    if code == "overdue_invoices" and ids.get("side") == "from":
        return (
            f"tu cuenta tiene facturas vencidas ({_numbers(list(ids.get('invoice_ids', [])))}); "
            "las dos cuentas tienen que estar al día."
        )
    if code == "overdue_invoices":
        return "la otra cuenta tiene facturas vencidas; las dos cuentas tienen que estar al día."
    if code == "unpaid_service_items":
        return (
            "el servicio tiene facturas sin pagar "
            f"({_numbers(list(ids.get('invoice_ids', [])))}); primero hay que pagarlas."
        )
    if code == "pending_upgrade":
        return (
            "hay un cambio de plan del servicio esperando el pago "
            f"({_numbers(list(ids.get('invoice_ids', [])))})."
        )
    if code == "open_cancellation":
        return "el servicio tiene un pedido de cancelación pendiente."
    if code == "currency_mismatch":
        return "las dos cuentas facturan en monedas distintas."
    if code == "not_from_owner":
        return (
            "el pedido tiene que llegar desde el e-mail registrado del titular del servicio, "
            "y este ticket no vino de ese e-mail."
        )
    return "hay un dato que tenemos que revisar con vos."


def plain_reason_en(reason: Reason) -> str:
    """One reason in plain English words, for the holder who asked (see :func:`plain_reason`)."""
    ids = reason.ids
    code = reason.code
    texts = {
        "service_not_active": "the service is not active; only active services can be moved.",
        "same_client": "the service is already in that account.",
        "target_missing": "the account that would receive it does not exist yet: whoever "
        "receives it must first create their own account, with their own e-mail.",
        "target_ambiguous": "more than one account has that e-mail; we need to know exactly "
        "which one it is.",
        "target_not_active": "the account that would receive it is not active.",
        "same_email": "both accounts share an e-mail; each account needs its own e-mail and "
        "its own password.",
        "open_cancellation": "the service has a pending cancellation request.",
        "currency_mismatch": "the two accounts are billed in different currencies.",
        "not_from_owner": "the request must come from the service holder's registered e-mail, "
        "and this ticket did not.",
    }
    numbers = ", ".join(f"#{i}" for i in ids.get("invoice_ids", []))
    if code == "overdue_invoices" and ids.get("side") == "from":
        return f"your account has overdue invoices ({numbers}); both accounts must be up to date."
    if code == "overdue_invoices":
        return "the other account has overdue invoices; both accounts must be up to date."
    if code == "unpaid_service_items":
        return f"the service has unpaid invoices ({numbers}); they must be paid first."
    if code == "pending_upgrade":
        return f"a plan change of the service is waiting for payment ({numbers})."
    return texts.get(code, "there is something we need to check with you.")


_REJECT = {
    ES: (
        "Hola {name},",
        "Hola,",
        "{hello} revisamos tu pedido para pasar el servicio {label} a otra cuenta",
        "{head} y no podemos hacer el cambio, porque:",
        "{head} y no pudimos confirmarlo, así que no vamos a hacer el cambio.",
        "Tu servicio sigue en tu cuenta como está. Respondé este ticket si querés que lo "
        "revisemos de nuevo.",
    ),
    EN: (
        "Hi {name},",
        "Hi,",
        "{hello} we reviewed your request to move the service {label} to another account",
        "{head} and we cannot make the change, because:",
        "{head} and we could not confirm it, so we are not making the change.",
        "Your service stays in your account as it is. Reply to this ticket if you want us to "
        "look at it again.",
    ),
}


def reject_reply(check: TransferCheck, first_name: str, language: str) -> str:
    """The ticket reply when staff turn a pending request down: the reasons the check gives
    now, in the client's language (``es_AR`` or ``en``), or, when it gives none, that staff
    could not confirm it; never a rule id."""
    english = language == EN
    named, hi, head, because, unconfirmed, after = _REJECT[EN if english else ES]
    hello = named.format(name=first_name) if first_name else hi
    head = head.format(hello=hello, label=service_label(check))
    if check.reasons:
        plain = plain_reason_en if english else plain_reason
        lines = [because.format(head=head), *[f"- {plain(r)}" for r in check.reasons]]
    else:
        lines = [unconfirmed.format(head=head)]
    return "\n".join([*lines, "", after])


def request_reply(check: TransferCheck, first_name: str) -> str:
    """The ticket reply to a transfer request: what happens next, or what blocks it."""
    hello = f"Hola {first_name}," if first_name else "Hola,"
    label = service_label(check)
    if check.reasons:
        lines = [
            f"{hello} por ahora no podemos pasar el servicio {label} a otra cuenta, porque:",
            *[f"- {plain_reason(r)}" for r in check.reasons],
            "",
            "Cuando esté resuelto, respondé este ticket y lo revisamos de nuevo.",
        ]
        return "\n".join(lines)
    to = check.recipient
    who = (to.company or to.name) if to else "la otra cuenta"
    lines = [
        f"{hello} recibimos tu pedido para pasar el servicio {label} a la cuenta de {who}.",
        "Lo revisamos y te avisamos en este ticket cuando el cambio esté hecho.",
    ]
    if check.flag("details_differ"):
        lines.append("Antes de hacerlo te vamos a llamar para confirmar algunos datos.")
    stays = check.flag("domain_stays")
    if stays:
        lines.append(
            f"El dominio {stays.ids.get('domain')} queda en tu cuenta, salvo que nos pidas "
            "pasarlo también."
        )
    lines.append(
        "Las facturas ya emitidas quedan en tu cuenta. Después del cambio, cada cuenta ve sus "
        "servicios ingresando con su propio e-mail y contraseña."
    )
    return "\n".join(lines)


def moved_reply(check: TransferCheck, first_name: str, when: date, domain_moved: bool) -> str:
    """The ticket reply once the move is done."""
    hello = f"Hola {first_name}," if first_name else "Hola,"
    to = check.recipient
    who = (to.company or to.name) if to else "la otra cuenta"
    lines = [
        f"{hello} listo: desde el {day(when)} el servicio {service_label(check)} está en la "
        f"cuenta de {who}.",
        "Las facturas ya emitidas quedan en tu cuenta. Cada cuenta ve sus servicios ingresando "
        "con su propio e-mail y contraseña.",
    ]
    stays = check.flag("domain_stays")
    if stays and domain_moved:
        lines.append(f"El dominio {stays.ids.get('domain')} pasó también a esa cuenta.")
    elif stays:
        lines.append(f"El dominio {stays.ids.get('domain')} sigue en tu cuenta.")
    return "\n".join(lines)


def notice(
    side: str, language: str, first_name: str, label: str, when: date, url: str
) -> tuple[str, str]:
    """(subject, text) of the R-TR-5 notice to the old (``from``) or new (``to``) holder."""
    login = f" {url}" if url else ""
    if language == EN:
        hello = f"Hi {first_name}," if first_name else "Hi,"
        if side == "from":
            return (
                f"Service moved to another account: {label}",
                f"{hello} as you asked, on {day(when)} the service {label} moved to another "
                "account. Invoices already issued stay in your account; the service no longer "
                f"shows in your client area.{login}",
            )
        return (
            f"New service in your account: {label}",
            f"{hello} on {day(when)} the service {label} moved to your account. Log in with "
            f"your own e-mail and password to see it in your client area.{login}",
        )
    hello = f"Hola {first_name}," if first_name else "Hola,"
    if side == "from":
        return (
            f"Servicio pasado a otra cuenta: {label}",
            f"{hello} como pediste, el {day(when)} el servicio {label} pasó a otra cuenta. Las "
            "facturas ya emitidas quedan en tu cuenta; el servicio ya no aparece en tu área de "
            f"clientes.{login}",
        )
    return (
        f"Nuevo servicio en tu cuenta: {label}",
        f"{hello} el {day(when)} el servicio {label} pasó a tu cuenta. Ingresá con tu propio "
        f"e-mail y contraseña para verlo en tu área de clientes.{login}",
    )


def staff_note(
    transfer_id: int, service_id: int, label: str, from_id: int, to_id: int, when: date
) -> str:
    """The R-TR-9 note on a ticket the old holder opened about the moved service (staff only)."""
    return (
        f"Atención (R-TR-9): el servicio #{service_id} {label} pasó del cliente #{from_id} al "
        f"cliente #{to_id} el {day(when)} (traspaso #{transfer_id}). Este ticket lo abrió el "
        "titular anterior: sobre ese servicio se atiende solo al titular actual de cada cuenta."
    )
