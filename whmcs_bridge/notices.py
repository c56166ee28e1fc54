"""Telling one client something through the outbox: WhatsApp when it can, else e-mail.

A plugin that must tell a client about its own work (a cancellation received, a service moved, a
security notice) builds a :class:`Notice` with its texts per language and calls
:func:`send_notice`. The client is read now (R-AL-1: the phone of the client's details; its
language), and one message per channel is queued under the notice's event, so repeating the call
queues nothing twice. Opt-outs recorded by the alerts plugin are not read here: these notices
are about the client's own account and requests, not alerts it can turn off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from whmcs_bridge.panel.queries.clients import client
from whmcs_bridge.phones import normalise_phone

if TYPE_CHECKING:
    from whmcs_bridge.bridge import Bridge

#: WHMCS language name (``tblclients.language``, lower case) -> our text language.
LANGUAGES = {"spanish": "es_AR", "english": "en"}
DEFAULT_LANGUAGE = "es_AR"


def text_language(stored: str | None, panel_default: str = "") -> str:
    """Our text language for a WHMCS language name; an empty one means the panel's default."""
    name = (stored or "").strip().lower() or panel_default.strip().lower()
    return LANGUAGES.get(name, DEFAULT_LANGUAGE)


@dataclass(frozen=True)
class Notice:
    """One thing to tell one client.

    :param event_id: the stored event the notice is about (the outbox keeps one message per
        event, recipient and channel: the idempotency of the whole call).
    :param key: tells several notices of one event apart (``"received"``, ``"terminated"``).
    :param texts: the full text per language (``es_AR``, ``en``): the e-mail body, and the
        console's text; the client's language is chosen, else ``es_AR``, else any.
    :param subjects: the e-mail subject per language.
    :param template: the approved WhatsApp template's name, or ``None`` for e-mail only
        (WhatsApp cannot carry free text outside a conversation the client opened).
    :param params: the template's body parameters, in order, per language or one list for all.
    """

    event_id: int
    client_id: int
    key: str
    texts: dict[str, str]
    subjects: dict[str, str] = field(default_factory=dict)
    template: str | None = None
    template_language: str | None = None
    params: tuple[str, ...] | dict[str, tuple[str, ...]] = ()
    channels: tuple[str, ...] = ("whatsapp", "email")


@dataclass(frozen=True)
class NoticeResult:
    """What :func:`send_notice` did: outbox ids queued (``None`` for already queued) and notes."""

    queued: list[int | None]
    notes: list[str]

    @property
    def new(self) -> int:
        return sum(1 for outbox_id in self.queued if outbox_id is not None)


def _pick(values: dict[str, str], language: str) -> str:
    return values.get(language) or values.get(DEFAULT_LANGUAGE) or next(iter(values.values()), "")


def send_notice(bridge: Bridge, notice: Notice) -> NoticeResult:
    """Queue a notice to a client: WhatsApp (template) with e-mail as its fallback, or e-mail.

    Returns the outbox ids and one note per thing not done (client gone, phone unusable, no
    WhatsApp template or channel). Under ``--dry-run`` nothing is queued.
    """
    notes: list[str] = []
    with bridge.panel.connect() as conn:
        holder = client(conn, bridge.panel.tables, notice.client_id)
    if holder is None:
        return NoticeResult([], [f"client {notice.client_id} is not in the panel: nothing sent"])
    language = text_language(holder.language, bridge.panel.setting("Language"))
    text = _pick(notice.texts, language)
    subject = _pick(notice.subjects, language) if notice.subjects else ""
    email = {
        "channel": "email",
        "recipient": str(holder.id),
        "message": {"event": notice.key, "language": language, "text": text, "subject": subject},
    }
    recipient_key = f"client:{holder.id}:{notice.key}"
    queued: list[int | None] = []
    whatsapp = "whatsapp" in notice.channels and notice.template
    if whatsapp:
        phone = normalise_phone(holder.phone, holder.country, True)
        offered = "whatsapp" in bridge.outbox.channels
        if phone.e164 and offered:
            params = notice.params
            if isinstance(params, dict):
                params = params.get(language) or params.get(DEFAULT_LANGUAGE) or ()
            message = {
                "event": notice.key,
                "language": language,
                "text": text,
                "template": notice.template,
                "template_language": notice.template_language or language,
                "params": list(params),
            }
            queued.append(
                bridge.outbox.enqueue(
                    event_id=notice.event_id,
                    recipient_key=recipient_key,
                    channel="whatsapp",
                    recipient=phone.e164,
                    message=message,
                    client_id=holder.id,
                    fallback=email if "email" in notice.channels else None,
                )
            )
            return NoticeResult(queued, notes)
        notes.append(
            "WhatsApp channel not configured" if not offered else f"phone: {phone.problem}"
        )
    if "email" in notice.channels:
        channel = "email" if "email" in bridge.outbox.channels else "console"
        if channel == "console":
            notes.append("no e-mail channel (no [api]): shown on the console")
        queued.append(
            bridge.outbox.enqueue(
                event_id=notice.event_id,
                recipient_key=recipient_key,
                channel=channel,
                recipient=str(holder.id),
                message=email["message"],
                client_id=holder.id,
            )
        )
    return NoticeResult(queued, notes)
