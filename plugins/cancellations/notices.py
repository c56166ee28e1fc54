"""What the client reads (R-CA-1..5 told when a request is received and when the service ends),
and the technical department's ticket for a product without a module (R-CA-5).

Texts are Jinja2 templates in ``templates/<language>/`` (``es_AR`` and ``en``), plain text with
``{% set subject = ... %}`` for the e-mail subject; dates are dd/mm/yyyy. WhatsApp sends an
approved template instead (``template_received`` / ``template_terminated``) whose body
parameters are, in order: first name, service name, type ("Inmediata"/"Immediate"...), the
end date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from whmcs_bridge.plugin import Notice, queries, send_notice

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge, Event

TEMPLATES = Path(__file__).parent / "templates"
TYPE_LABELS = {
    "es_AR": {True: "Inmediata", False: "Fin del período de contratación"},
    "en": {True: "Immediate", False: "End of billing period"},
}


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,  # plain text: WhatsApp, Telegram and text e-mail, never HTML
        trim_blocks=True,
        lstrip_blocks=True,
    )


def dmy(day: date | None) -> str:
    """A date as the client reads it: dd/mm/yyyy."""
    return day.strftime("%d/%m/%Y") if day else ""


def render(kind: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """(text, subject) of ``received`` or ``terminated`` in ``language``."""
    module = environment().get_template(f"{language}/{kind}.j2").make_module(context)
    lines = [line.rstrip() for line in str(module).strip().splitlines()]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text, str(getattr(module, "subject", ""))


@dataclass(frozen=True)
class Letter:
    """One notice for one client, in both languages (the client's is chosen when sent)."""

    key: str  # cancellation.received | cancellation.terminated
    client_id: int
    texts: dict[str, str]
    subjects: dict[str, str]
    template: str
    params: dict[str, list[str]]


def letter(bridge: Bridge, row: Any, kind: str, held: bool = False) -> Letter | None:
    """The ``received``/``terminated`` notice of a request, read from the panel now."""
    from .store import settings_of

    settings = settings_of(bridge)
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        service = queries.services.service(conn, tables, int(row.service_id))
        # The service's holder now (a service moved since the request tells its new holder).
        holder = service.client_id if service else int(row.client_id)
        client = queries.clients.client(conn, tables, holder)
        domain_name = ""
        if row.domain_id and service is not None:
            found = queries.cancellations.hosting_domain(conn, tables, holder, service.domain)
            domain_name = found.domain if found else ""
    if client is None:
        return None
    immediate = row.type == "Immediate"
    end = row.end_date if kind == "received" else (row.state_at.date() if row.state_at else None)
    context = {
        "first_name": client.first_name or client.full_name,
        "service_name": service.product_name if service else f"#{row.service_id}",
        "domain": service.domain if service else "",
        "immediate": immediate,
        "end_date": dmy(end),
        "held": held,
        "domain_action": row.domain_action or "none",
        "domain_name": domain_name,
    }
    texts, subjects, params = {}, {}, {}
    for lang in TYPE_LABELS:
        texts[lang], subjects[lang] = render(kind, lang, context)
        params[lang] = [
            str(context["first_name"]),
            str(context["service_name"]),
            TYPE_LABELS[lang][immediate],
            str(context["end_date"]),
        ]
    template = settings.template_received if kind == "received" else settings.template_terminated
    return Letter(f"cancellation.{kind}", client.id, texts, subjects, template, params)


def send(bridge: Bridge, event: Event, item: Letter) -> str:
    """Queue the notice to the client (WhatsApp template, e-mail as its fallback, or e-mail);
    returns a note for the event's outcome. Safe to repeat: nothing is queued twice."""
    assert event.id is not None
    result = send_notice(
        bridge,
        Notice(
            event_id=event.id,
            client_id=item.client_id,
            key=item.key,
            texts=item.texts,
            subjects=item.subjects,
            template=item.template,
            params={lang: tuple(values) for lang, values in item.params.items()},
        ),
    )
    return "; ".join([f"{result.new} message(s) queued", *result.notes])


def manual_ticket(row: Any, service: Any) -> tuple[str, str]:
    """Subject and message (Spanish, for staff) of the R-CA-5 ticket: what to delete by hand."""
    name = f"{service.product_name} {service.domain}".strip()
    lines = [
        f"El cliente pidió la cancelación del servicio #{service.id} ({name}).",
        f"Tipo: {row.type}; se da de baja el {dmy(row.end_date)}.",
        "",
        "El producto no tiene módulo de aprovisionamiento, así que WHMCS no puede borrar la "
        "cuenta. Hay que borrar a mano del servidor:",
        f"- el sitio (archivos de {service.domain or 'la cuenta'})",
        "- las bases de datos",
        "- las casillas de correo",
        "- las cuentas FTP",
        "",
        "Las copias de seguridad se conservan 10 años: no las borren.",
        f"Cuando esté hecho: whmcs-bridge cancellations done --service {service.id}",
    ]
    return f"Baja manual: servicio #{service.id} {service.domain}".strip(), "\n".join(lines)
