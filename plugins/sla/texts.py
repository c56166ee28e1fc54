"""Texts: staff warnings and notes (never sent to a client), and the incident notices clients
get (es_AR and en; dates dd/mm/yyyy, no internal codes).
"""

from __future__ import annotations

from datetime import datetime

from .catalog import PLAN_LABELS

CHANNEL_LABELS = {
    "phone": "soporte telefónico",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "remote_support": "soporte remoto",
}


def when(moment: datetime) -> str:
    """dd/mm/yyyy HH:MM."""
    return moment.strftime("%d/%m/%Y %H:%M")


def staff_alert(
    stage: str, tid: str, ticket_id: int, plan: str, department: str, deadline: datetime, left: int
) -> tuple[str, str]:
    """(subject, text) of a warning or breach for staff: Telegram, e-mail, on-call WhatsApp."""
    label = PLAN_LABELS[plan]
    if stage == "warning":
        subject = f"SLA: el ticket #{tid} vence el {when(deadline)}"
        text = (
            f"Ticket #{tid} (id {ticket_id}, {department}) sin primera respuesta.\n"
            f"Plan {label}: vence el {when(deadline)}, quedan {left} min."
        )
    else:
        subject = f"SLA incumplido: ticket #{tid}"
        text = (
            f"Ticket #{tid} (id {ticket_id}, {department}) superó su plazo de primera respuesta "
            f"({when(deadline)}), plan {label}. Responder cuanto antes."
        )
    return subject, text


def staff_note(stage: str, plan: str, target: int, clock: str, deadline: datetime) -> str:
    """The staff-only ticket note (AddTicketNote): the client never sees it."""
    label = PLAN_LABELS[plan]
    unit = "min hábiles" if clock == "business" else "min corridos"
    if stage == "warning":
        return (
            f"[SLA] Aviso: sin primera respuesta. Plan {label}, objetivo {target} {unit}; "
            f"vence el {when(deadline)}."
        )
    return (
        f"[SLA] Incumplido: el plazo de primera respuesta venció el {when(deadline)} "
        f"(plan {label})."
    )


def channel_note(plan: str, missing: list[tuple[str, str]]) -> str:
    """R-SL-7: the client asked for channels its plan lacks (staff-only note)."""
    parts = [
        f"{CHANNEL_LABELS.get(channel, channel)} (incluido desde el plan {PLAN_LABELS[owner]})"
        for channel, owner in missing
    ]
    return f"[SLA] El cliente pide {', '.join(parts)}; su plan {PLAN_LABELS[plan]} no lo incluye."


INCIDENT_TEXTS = {
    ("opened", "es_AR"): (
        "Incidente en el servidor {server}: {title}",
        "Hola {first_name}, estamos trabajando en un inconveniente que afecta al servidor "
        "{server}, donde está {services}: {title}.\n"
        "Podés seguir el estado del servicio en {status_url}",
    ),
    ("opened", "en"): (
        "Incident on server {server}: {title}",
        "Hi {first_name}, we are working on a problem affecting server {server}, where "
        "{services} is hosted: {title}.\n"
        "You can follow the service status at {status_url}",
    ),
    ("resolved", "es_AR"): (
        "Resuelto: {title}",
        "Hola {first_name}, el inconveniente del servidor {server} ({title}) quedó resuelto "
        "el {date}. Gracias por tu paciencia.",
    ),
    ("resolved", "en"): (
        "Resolved: {title}",
        "Hi {first_name}, the problem on server {server} ({title}) was resolved on {date}. "
        "Thank you for your patience.",
    ),
}


def incident_notice(stage: str, language: str, facts: dict[str, str]) -> tuple[str, str]:
    """(subject, text) of an incident notice for a client."""
    subject, text = INCIDENT_TEXTS[(stage, language if language == "en" else "es_AR")]
    return subject.format(**facts), text.format(**facts)


def services_phrase(domains: tuple[str, ...], language: str) -> str:
    """'tu servicio example.com' / 'your service example.com' (up to three names)."""
    shown = ", ".join(domains[:3]) + ("..." if len(domains) > 3 else "")
    if language == "en":
        return f"your service {shown}".strip() if domains else "your service"
    return f"tu servicio {shown}".strip() if domains else "tu servicio"
