"""The ``[plugins.transfers]`` config section, read and checked once at start.

Keys and defaults::

    [plugins.transfers]
    admin = "whmcs-bridge"   # the staff name ticket replies are signed with (AddTicketReply's
                             # adminusername: without one WHMCS posts the reply as the client)
    log_user = "System"      # the "user" of the activity-log lines of a move
    details_differ_at = 1    # R-TR-4: flag when at least this many of the five details differ
    note_tickets = true      # R-TR-9: staff note on the old holder's tickets about a moved service
    template_from = ""       # R-TR-5 notices by WhatsApp: approved template names for the old and
    template_to = ""         # new holder (body: first name, service, date); "" = e-mail only
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SECTION = "plugins.transfers"
KEYS = {"admin", "log_user", "details_differ_at", "note_tickets", "template_from", "template_to"}
#: The details R-TR-4 compares, in the order the flag lists them.
DETAILS = ("name", "company", "country", "phone", "address")


@dataclass(frozen=True)
class TransferSettings:
    admin: str = "whmcs-bridge"
    log_user: str = "System"
    details_differ_at: int = 1
    note_tickets: bool = True
    template_from: str = ""
    template_to: str = ""


def _text(section: dict[str, Any], key: str, default: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{SECTION}.{key}: must be text, got {value!r}")
    return value.strip()


def load_settings(section: dict[str, Any]) -> TransferSettings:
    """Parse the section; raise ValueError naming the first wrong key."""
    unknown = sorted(set(section) - KEYS)
    if unknown:
        raise ValueError(f"{SECTION}.{unknown[0]}: unknown key (known: {', '.join(sorted(KEYS))})")
    at = section.get("details_differ_at", 1)
    if isinstance(at, bool) or not isinstance(at, int) or not 1 <= at <= len(DETAILS):
        raise ValueError(f"{SECTION}.details_differ_at: a whole number from 1 to {len(DETAILS)}")
    note = section.get("note_tickets", True)
    if not isinstance(note, bool):
        raise ValueError(f"{SECTION}.note_tickets: must be true or false")
    log_user = _text(section, "log_user", "System") or "System"
    return TransferSettings(
        admin=_text(section, "admin", "whmcs-bridge") or "whmcs-bridge",
        log_user=log_user,
        details_differ_at=at,
        note_tickets=note,
        template_from=_text(section, "template_from", ""),
        template_to=_text(section, "template_to", ""),
    )
