"""The ``[plugins.contacts]`` section: the owner's security notice, alert recipients, the audit.

Every key has a default, so an empty section works::

    [plugins.contacts]
    notify_owner = true              # tell the owner when someone gains access or a right
    notify_rights = ["profile", "contacts", "managedomains", "invoices", "emails", "orders"]
    notify_on_access = true          # a new login on the account, whatever its rights
    skip_owner_changes = true        # not when the panel says the owner did it (an invite)
    channels = ["whatsapp", "email"] # WhatsApp template, else (or as its fallback) e-mail
    whatsapp_template = "alerta_acceso_cuenta"
    whatsapp_language = "es_AR"      # the template's language code at Meta
    alert_recipients = true          # contacts and users hear alerts by e-mail preference
    argentina_mobile_nine = true
    stale_login_days = 365           # audit: logins unused this long that still hold rights
    many_clients = 5                 # audit: a user linked to this many clients or more
    invite_days = 14                 # audit: invites not accepted after this many days
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .permissions import PERMISSIONS, SENSITIVE

CHANNELS = ("whatsapp", "email")
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")


@dataclass(frozen=True)
class ContactSettings:
    """The validated section, defaults filled in."""

    notify_owner: bool = True
    notify_rights: tuple[str, ...] = SENSITIVE
    notify_on_access: bool = True
    skip_owner_changes: bool = True
    channels: tuple[str, ...] = ("whatsapp", "email")
    whatsapp_template: str = "alerta_acceso_cuenta"
    whatsapp_language: str = "es_AR"
    alert_recipients: bool = True
    argentina_mobile_nine: bool = True
    stale_login_days: int = 365
    many_clients: int = 5
    invite_days: int = 14


_DEFAULTS = ContactSettings()


def _where(name: str) -> str:
    return f"plugins.contacts.{name}"


def load_settings(section: dict[str, Any]) -> ContactSettings:
    """Read the section; raises ``ValueError("plugins.contacts.<key>: ...")`` on a bad value."""
    known = set(ContactSettings.__dataclass_fields__)
    unknown = sorted(set(section) - known)
    if unknown:
        raise ValueError(
            f"{_where(unknown[0])}: unknown key; expected one of: {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {}
    for name in known:
        if name not in section:
            continue
        value = section[name]
        default = getattr(_DEFAULTS, name)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{_where(name)}: expected true or false, got {value!r}")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{_where(name)}: expected a whole number above 0, got {value!r}")
        elif isinstance(default, tuple):
            value = _names(name, value, PERMISSIONS if name == "notify_rights" else CHANNELS)
        elif not isinstance(value, str):
            raise ValueError(f"{_where(name)}: expected text, got {value!r}")
        values[name] = value
    settings = ContactSettings(**values)
    if not _TEMPLATE_NAME.match(settings.whatsapp_template):
        raise ValueError(
            f"{_where('whatsapp_template')}: a WhatsApp template name is lower-case letters, "
            f"digits and _, got {settings.whatsapp_template!r}"
        )
    if not _LANGUAGE_CODE.match(settings.whatsapp_language):
        raise ValueError(
            f"{_where('whatsapp_language')}: expected a language code such as es_AR or en, "
            f"got {settings.whatsapp_language!r}"
        )
    return settings


def _names(name: str, value: Any, valid: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{_where(name)}: expected a list of names, got {value!r}")
    wrong = [v for v in value if v not in valid]
    if wrong:
        raise ValueError(f"{_where(name)}: unknown {wrong[0]!r}; valid: {', '.join(valid)}")
    return tuple(v for v in valid if v in value)
