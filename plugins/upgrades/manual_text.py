"""The manual-path ticket's wording (R-UP-3): what the company writes to the client, in the
client's language, with the quote's figures and how they add up."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .eligibility import UpgradeOption
from .texts import ENGLISH, SPANISH, cycle_name, day, money

# Why the systems cannot do it, as the company tells the client: code -> {language: sentence}.
REASONS = {
    "no_upgrade_paths": {
        SPANISH: "Tu plan actual no tiene cambios de plan automáticos desde el área de clientes",
        ENGLISH: "Your current plan has no automatic plan changes in the client area",
    },
    "no_module": {
        SPANISH: "Este servicio no se puede cambiar de forma automática en el servidor",
        ENGLISH: "This service cannot be changed automatically on its server",
    },
    "not_an_upgrade_path": {
        SPANISH: "Ese plan no está entre los cambios automáticos de tu plan actual",
        ENGLISH: "That plan is not among the automatic changes of your current plan",
    },
}
NOTES = {
    "unpaid_renewal_invoice": {
        SPANISH: "Hay una factura de renovación del servicio pendiente de pago: el cambio se "
        "hace una vez que esté paga.",
        ENGLISH: "A renewal invoice of the service is still unpaid: the change is made once it "
        "is paid.",
    },
    "unpaid_upgrade_invoice": {
        SPANISH: "Hay una factura de un cambio de plan anterior pendiente de pago: el cambio "
        "se hace una vez que esté paga.",
        ENGLISH: "The invoice of an earlier plan change is still unpaid: the change is made "
        "once it is paid.",
    },
}


# The ticket's fixed wording, per language.
TICKET = {
    SPANISH: {
        "asked": "Recibimos el pedido de cambio de plan de {what}: de {source} (ciclo {old}) a "
        "{target} (ciclo {new}).",
        "why": "{reason}, así que el cambio lo hacemos nosotros.",
        "quote": "Presupuesto al {day}:",
        "new_plan": "- Plan nuevo: ",
        "deducted": "- Se descuenta lo ya pagado: ",
        "to_pay": "- A pagar: ",
        "credit": "- Crédito a favor en la cuenta: ",
        "due": "- Próximo vencimiento: ",
        "recurring": "- Importe del plan desde entonces: ",
    },
    ENGLISH: {
        "asked": "We have your request to change the plan of {what}: from {source} ({old}) to "
        "{target} ({new}).",
        "why": "{reason}, so we will make the change ourselves.",
        "quote": "Quote as of {day}:",
        "new_plan": "- New plan: ",
        "deducted": "- Already paid, deducted: ",
        "to_pay": "- To pay: ",
        "credit": "- Account credit: ",
        "due": "- Next due date: ",
        "recurring": "- Plan price from then on: ",
    },
}


@dataclass(frozen=True)
class Reader:
    """Who reads the ticket, and who signs it."""

    first_name: str
    language: str  # es_AR | en
    company: str


def ticket_text(option: UpgradeOption, today: dt.date, reader: Reader) -> tuple[str, str]:
    """Subject and message of the manual-path ticket, as a person of the company writes it:
    in the client's language, dates as dd/mm/yyyy, the quote's figures and how they add up."""
    quote, service, target = option.quote, option.service, option.target
    assert quote is not None and target is not None
    es = reader.language == SPANISH
    lang = SPANISH if es else ENGLISH
    c = quote.currency

    def m(amount: Any) -> str:
        return money(amount, c)

    old, new = cycle_name(service.cycle, lang), cycle_name(option.cycle, lang)
    what = service.domain or option.source.name
    code = option.manual_reason or (
        "not_an_upgrade_path"
        if any(r.code == "not_an_upgrade_path" for r in option.refusals)
        else "no_upgrade_paths"
    )
    reason = REASONS[code][lang]
    hello = f"Hola {reader.first_name}:" if es else f"Hello {reader.first_name},"
    if not reader.first_name:
        hello = "Hola:" if es else "Hello,"
    t = TICKET[lang]
    lines = [
        hello,
        "",
        t["asked"].format(
            what=what, source=option.source.name, old=old, target=target.name, new=new
        ),
        t["why"].format(reason=reason),
        "",
        t["quote"].format(day=day(today)),
        t["new_plan"] + m(quote.new_charge),
        t["deducted"] + m(quote.unused_value),
        t["to_pay"] + m(quote.amount_due),
    ]
    if quote.credit > 0:
        lines.append(t["credit"] + m(quote.credit))
    if quote.next_due_date:
        lines.append(t["due"] + day(quote.next_due_date))
    lines.append(t["recurring"] + f"{m(quote.new_recurring_amount)} ({new})")
    lines += ["", quote.explain(lang)]
    notes = [NOTES[r.code][lang] for r in option.refusals if r.code in NOTES]
    if notes:
        lines += ["", *notes]
    if es:
        lines += [
            "",
            "Te escribimos por este mismo ticket cuando el cambio esté hecho. Si tenés alguna "
            "duda, respondé este mensaje.",
            "",
            "Saludos,",
            f"El equipo de {reader.company}".rstrip(),
        ]
        subject = f"Cambio de plan de {what} a {target.name}"
    else:
        lines += [
            "",
            "We will write in this ticket when the change is done. If you have any question, "
            "just reply to this message.",
            "",
            "Kind regards,",
            f"The {reader.company} team".replace("The  team", "The team"),
        ]
        subject = f"Plan change of {what} to {target.name}"
    return subject, "\n".join(lines)
