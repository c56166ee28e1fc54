"""Clients stop and restart alerts themselves (issue 9 point 9): "BAJA" / "STOP" written to our
WhatsApp number opts the client of that number out of every alert, "ALTA" / "START" back in;
each is confirmed with a free-form reply, which WhatsApp allows because the client just wrote
(the 24-hour customer-service window, messaging.md §1.4).

The webhook stores each inbound message as a ``whatsapp.message_received`` event; this module
reads it in the cycle. The number is matched against every client's phone, normalised as the
alerts normalise it, so "+54 9 261 15 544-3322" in the panel matches wa_id 5492615443322.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import normalise_phone, queries, text_language

from . import preferences as prefs

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge, Event

    from .settings import AlertSettings

STOP_WORDS = frozenset({"BAJA", "STOP", "DESUSCRIBIR", "UNSUBSCRIBE"})
START_WORDS = frozenset({"ALTA", "START"})

REPLIES = {
    ("stop", "es_AR"): (
        "Listo, recibimos tu pedido de baja: desde ahora no te enviamos más avisos de tu cuenta."
        " Si querés volver a recibirlos, respondé ALTA."
    ),
    ("stop", "en"): (
        "Done: from now on we will not send you alerts about your account."
        " To receive them again, reply START."
    ),
    ("start", "es_AR"): (
        "Listo, vas a volver a recibir los avisos de tu cuenta por WhatsApp."
        " Si querés dejar de recibirlos, respondé BAJA."
    ),
    ("start", "en"): (
        "Done: you will receive alerts about your account on WhatsApp again."
        " To stop them, reply STOP."
    ),
}


def keyword(text: str) -> str | None:
    """``stop``, ``start`` or None: the message is one of the words, in any case, with or
    without accents and punctuation ("Baja.", "stop!")."""
    plain = unicodedata.normalize("NFKD", text)
    word = "".join(ch for ch in plain if ch.isalpha()).upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


@dataclass(frozen=True)
class Sender:
    """A client whose phone is the number that wrote."""

    client_id: int
    language: str


def clients_with_number(bridge: Bridge, e164: str, nine: bool) -> list[Sender]:
    """The clients whose stored phone normalises to ``e164``."""
    tables = bridge.panel.tables
    panel_language = bridge.panel.setting("Language")
    with bridge.panel.connect() as conn:
        rows = queries.client_phones(conn, tables, ending=e164[-4:])
        found = [r for r in rows if normalise_phone(r.phone, r.country, nine).e164 == e164]
        if not found:  # separators inside the last digits ("544-33 22"): read them all
            rows = queries.client_phones(conn, tables)
            found = [r for r in rows if normalise_phone(r.phone, r.country, nine).e164 == e164]
    return [Sender(r.id, text_language(r.language, panel_language)) for r in found]


def handle_message(bridge: Bridge, event: Event, settings: AlertSettings) -> Any:
    """Apply a BAJA / ALTA message and queue its confirmation; a note for the outcome, or
    ``None`` when the message is no keyword (the event is not for alerts)."""
    word = keyword(str(event.data.get("text") or ""))
    if word is None:
        return None
    wa_id = "".join(ch for ch in str(event.data.get("wa_id") or "") if ch.isdigit())
    e164 = f"+{wa_id}"
    senders = clients_with_number(bridge, e164, settings.argentina_mobile_nine)
    if not senders:
        return f"{word} from {e164[:-4]}****: no client has this number, nothing changed"
    by = f"whatsapp:{e164}"
    now = bridge.clock.panel_now()
    with bridge.panel.begin() as conn:
        for sender in senders:
            if word == "stop":
                prefs.record(conn, sender.client_id, prefs.OPT_OUT, None, by, now, "BAJA")
            else:
                prefs.remove(conn, sender.client_id, prefs.OPT_OUT, None)
                prefs.record(conn, sender.client_id, prefs.OPT_IN, None, by, now, "ALTA")
    first = senders[0]
    text = REPLIES[(word, first.language if first.language in ("es_AR", "en") else "es_AR")]
    bridge.outbox.enqueue(
        event_id=event.id,
        recipient_key=f"whatsapp:{e164}",
        channel="whatsapp",
        recipient=e164,
        message={
            "event": event.name,
            "language": first.language,
            "text": text,
            "free_form": True,
        },
        client_id=first.client_id,
    )
    ids = ", ".join(str(s.client_id) for s in senders)
    done = "opted out of every alert" if word == "stop" else "opted back in"
    return f"client(s) {ids} {done} by WhatsApp; confirmation queued"
