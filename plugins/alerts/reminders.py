"""The optional monthly reminder (issue 9 point 8, R-AL-1: the client keeps the number current):
clients whose phone cannot get WhatsApp are asked by e-mail to update it.

``bridge_run_tasks`` raises one ``alerts.phone_reminder`` event per month; its handling queues one
e-mail per such client, so the outbox's (event, recipient, channel) key makes it once a month,
retried like any event if the panel cannot be read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from whmcs_bridge.plugin import Event, event_key, normalise_phone, queries, text_language

from .messages import base_url
from .preferences import read_prefs

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

    from .settings import AlertSettings

EVENT = "alerts.phone_reminder"

TEXTS = {
    "es_AR": (
        "Actualizá tu teléfono para recibir avisos por WhatsApp",
        "Hola {name}, te avisamos por WhatsApp de tus facturas, pagos y servicios, pero {what}."
        "\nPodés cargar tu número de celular en el área de clientes: {url}",
        "no tenés un teléfono cargado en tu cuenta",
        "el teléfono de tu cuenta ({phone}) no puede recibir WhatsApp",
    ),
    "en": (
        "Update your phone to get WhatsApp alerts",
        "Hi {name}, we send alerts about your invoices, payments and services on WhatsApp, but"
        " {what}.\nYou can enter your mobile number in the client area: {url}",
        "your account has no phone number",
        "the phone of your account ({phone}) cannot get WhatsApp",
    ),
}


def monthly_event(bridge: Bridge) -> Event:
    """This month's reminder event (one key per month)."""
    month = int(bridge.clock.today().strftime("%Y%m"))
    return Event(
        key=event_key(EVENT, month),
        name=EVENT,
        subject_type="month",
        subject_id=month,
        occurred_at=bridge.clock.panel_now(),
        source="bridge",
        origin="cron",
    )


def send_reminders(bridge: Bridge, event: Event, settings: AlertSettings) -> str:
    """Queue the month's e-mails; a note for the outcome."""
    tables = bridge.panel.tables
    panel_language = bridge.panel.setting("Language")
    url = base_url(bridge.config.system_url, bridge.panel.setting("SystemURL"))
    queued = 0
    with bridge.panel.connect() as conn:
        clients = queries.client_phones(conn, tables, active_only=True)
        for client in clients:
            phone = normalise_phone(client.phone, client.country, settings.argentina_mobile_nine)
            if phone.e164 is not None or not read_prefs(conn, client.id).allows("*"):
                continue
            language = text_language(client.language, panel_language)
            subject, body, none, unusable = TEXTS.get(language, TEXTS["es_AR"])
            what = unusable.format(phone=client.phone.strip()) if client.phone.strip() else none
            text = body.format(
                name=client.first_name or client.name, what=what, url=f"{url}clientarea.php"
            )
            queued += (
                bridge.outbox.enqueue(
                    event_id=event.id,
                    recipient_key=f"client:{client.id}",
                    channel="email",
                    recipient=str(client.id),
                    message={
                        "event": EVENT,
                        "language": language,
                        "text": text,
                        "subject": subject,
                    },
                    client_id=client.id,
                )
                is not None
            )
    return f"{queued} phone reminder(s) queued"
