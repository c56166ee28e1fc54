"""The ``[plugins.alerts]`` section: defaults for all eleven R-AL-2 events, and its validation.

An empty section works: every event has a WhatsApp template name, a language code, the order of
its body parameters and, for invoice events, the dynamic URL-button suffix. An admin overrides
any of it per event under ``[plugins.alerts.events."invoice.paid"]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from whmcs_bridge.plugin import ALERT_EVENTS

CHANNELS = ("whatsapp", "console", "telegram")
TEXT_LANGUAGES = ("es_AR", "en")
_COMMON = ("first_name", "full_name", "company_name", "panel_name", "account_name")
_INVOICE = ("invoice_id", "invoice_number", "amount", "due_date", "invoice_url", "date_paid")
_SERVICE = ("service_id", "service_name", "domain", "next_due_date")
_ACCOUNT = ("email", "date_time", "client_area_url")

#: The parameter names each event can put into its template, in no particular order.
EVENT_PARAMS: dict[str, tuple[str, ...]] = {
    "client.added": (*_COMMON, *_ACCOUNT),
    "client.password_changed": (*_COMMON, *_ACCOUNT),
    "client.details_changed": (*_COMMON, *_ACCOUNT),
    "invoice.created": (*_COMMON, *_INVOICE),
    "invoice.cancelled": (*_COMMON, *_INVOICE),
    "invoice.paid": (*_COMMON, *_INVOICE),
    "service.suspended": (*_COMMON, *_SERVICE),
    "service.reactivated": (*_COMMON, *_SERVICE),
    "service.terminated": (*_COMMON, *_SERVICE),
    "quote.available": (
        *_COMMON,
        *("quote_id", "quote_subject", "amount", "valid_until", "quote_url"),
    ),
    "domain.deleted": (*_COMMON, "domain", "date_time"),
}
#: Which parameter may be the suffix of the template's URL button, per event.
BUTTON_PARAMS: dict[str, tuple[str, ...]] = {
    "invoice.created": ("invoice_id",),
    "invoice.cancelled": ("invoice_id",),
    "invoice.paid": ("invoice_id",),
    "quote.available": ("quote_id",),
}
# (template, body parameters in order, button suffix parameter or None)
_DEFAULTS: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "client.added": ("cuenta_creada", ("first_name", "email"), None),
    "client.password_changed": ("alerta_cambio_clave", ("first_name", "date_time"), None),
    "invoice.created": (
        "factura_generada",
        ("first_name", "invoice_number", "amount", "due_date"),
        "invoice_id",
    ),
    "client.details_changed": ("datos_actualizados", ("first_name", "date_time"), None),
    "invoice.cancelled": (
        "factura_cancelada",
        ("first_name", "invoice_number", "amount"),
        "invoice_id",
    ),
    "invoice.paid": ("factura_pagada", ("first_name", "invoice_number", "amount"), "invoice_id"),
    "service.suspended": ("servicio_suspendido", ("first_name", "service_name", "domain"), None),
    "service.reactivated": ("servicio_reactivado", ("first_name", "service_name", "domain"), None),
    "service.terminated": ("servicio_terminado", ("first_name", "service_name", "domain"), None),
    "quote.available": (
        "presupuesto_disponible",
        ("first_name", "quote_id", "quote_subject", "amount", "valid_until"),
        None,
    ),
    "domain.deleted": ("dominio_eliminado", ("first_name", "domain"), None),
}
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TOP_KEYS = {
    "channels",
    "require_opt_in",
    "email_fallback",
    "contacts",
    "argentina_mobile_nine",
    "quiet_hours",
    "template_languages",
    "telegram_chats",
    "events",
    "phone_reminder",
}
# Keys that lived here before the outbox and the channels became core: each now has its own
# section, and an old config is told where, never silently ignored.
MOVED_KEYS = {
    **{
        name: f"[outbox] {name}"
        for name in (
            "rate_per_second",
            "min_interval_per_recipient",
            "unknown_grace_seconds",
            "sending_stale_seconds",
            "max_attempts",
            "retry_base_seconds",
            "retry_cap_seconds",
            "recipient_backoff_seconds",
            "throttle_seconds",
            "pause_seconds",
            "unconfigured_retry_seconds",
            "claim_window",
            "send_concurrency",
            "rate_margin_seconds",
            "delivery_time_budget",
            "webhook_late_minutes",
        )
    },
    **{name: f"[channels.{name}]" for name in ("whatsapp", "telegram", "email", "console")},
}
_EVENT_KEYS = {
    "enabled",
    "template",
    "language",
    "params",
    "button_url_suffix",
    "button_index",
    "contact_template",
    "contact_params",
    "quiet_hours",
}
_TELEGRAM_KEYS = {"table", "client_column", "chat_column"}


@dataclass(frozen=True)
class QuietHours:
    """A daily window (panel-local) in which messages wait; ``start > end`` crosses midnight."""

    start: time
    end: time

    def release_at(self, now: datetime) -> datetime | None:
        """When a message made at ``now`` (aware, panel zone) may leave; ``None`` = at once."""
        clock = now.time()
        if self.start < self.end:
            inside = self.start <= clock < self.end
        else:
            inside = clock >= self.start or clock < self.end
        if not inside:
            return None
        release = datetime.combine(now.date(), self.end, tzinfo=now.tzinfo)
        return release if release > now else release + timedelta(days=1)


@dataclass(frozen=True)
class EventSettings:
    """How one event becomes a WhatsApp template."""

    enabled: bool
    template: str
    language: str
    params: tuple[str, ...]
    button_url_suffix: str | None
    quiet_hours: QuietHours | None
    #: The URL button's position among the approved template's buttons (Meta's "0".."9").
    button_index: int = 0
    #: The template for a contact (or a user) of the account who is not its holder: written
    #: about "the account of <account_name>", never "your" (issue 9 point 6).
    contact_template: str = ""
    contact_params: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertSettings:
    """The validated ``[plugins.alerts]`` section, defaults filled in."""

    channels: tuple[str, ...] = ("whatsapp",)
    # Off by default: these are UTILITY messages about the client's own account, sent to the
    # number the client keeps in its details for that purpose (R-AL-1); see the plugin docstring.
    require_opt_in: bool = False
    email_fallback: bool = True
    contacts: bool = True
    argentina_mobile_nine: bool = True
    template_languages: dict[str, str] = field(default_factory=lambda: {"en": "en"})
    telegram_chats: dict[str, str] | None = None
    events: dict[str, EventSettings] = field(default_factory=dict)
    #: Once a month, e-mail the clients whose phone cannot get WhatsApp to update it (R-AL-1).
    phone_reminder: bool = False

    def event(self, name: str) -> EventSettings:
        return self.events[name]

    def template_language(self, name: str, text_language: str) -> str:
        """The Meta language code for a client whose texts are in ``text_language``."""
        return self.template_languages.get(text_language) or self.events[name].language


def problems(section: dict[str, Any]) -> list[str]:
    """Every problem in the section, each starting with its dotted key; ``[]`` when valid."""
    found: list[str] = []
    _check(section, found)
    return found


def load_settings(section: dict[str, Any]) -> AlertSettings:
    """The section with defaults; raises ValueError naming the first problem."""
    found: list[str] = []
    result = _check(section, found)
    if found:
        raise ValueError(found[0])
    return result


def _key(*parts: str) -> str:
    return ".".join(("plugins.alerts", *parts))


def _bool(section: dict[str, Any], name: str, default: bool, where: str, found: list[str]) -> bool:
    value = section.get(name, default)
    if not isinstance(value, bool):
        found.append(f"{where}.{name}: expected true or false, got {value!r}")
        return default
    return value


def _quiet(value: Any, where: str, found: list[str]) -> QuietHours | None:
    if value is None or value is False:
        return None
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        found.append(f'{where}: expected {{start = "22:00", end = "08:00"}} or false')
        return None
    parsed = []
    for name in ("start", "end"):
        match = _CLOCK.match(str(value[name]))
        if not match:
            found.append(f"{where}.{name}: expected HH:MM (24 h), got {value[name]!r}")
            return None
        parsed.append(time(int(match.group(1)), int(match.group(2))))
    if parsed[0] == parsed[1]:
        found.append(f"{where}: start and end are the same time; leave quiet_hours out instead")
        return None
    return QuietHours(parsed[0], parsed[1])


def _check(section: dict[str, Any], found: list[str]) -> AlertSettings:
    root = "plugins.alerts"
    found.extend(
        f"{_key(k)}: moved: write it as {MOVED_KEYS[k]} (see config/bridge.example.toml)"
        for k in sorted(set(section) & set(MOVED_KEYS))
    )
    found.extend(
        f"{_key(k)}: unknown key; expected one of: {', '.join(sorted(_TOP_KEYS))}"
        for k in sorted(set(section) - _TOP_KEYS - set(MOVED_KEYS))
    )
    channels = section.get("channels", ["whatsapp"])
    if not isinstance(channels, list) or not all(c in CHANNELS for c in channels):
        found.append(f"{_key('channels')}: expected a list of {', '.join(CHANNELS)}")
        channels = ["whatsapp"]
    languages = section.get("template_languages", {"en": "en"})
    if not isinstance(languages, dict) or not all(
        k in TEXT_LANGUAGES and isinstance(v, str) and v for k, v in languages.items()
    ):
        found.append(
            f"{_key('template_languages')}: expected a table of text language "
            f'({", ".join(TEXT_LANGUAGES)}) to Meta language code, e.g. {{en = "en"}}'
        )
        languages = {"en": "en"}
    telegram = _telegram(section.get("telegram_chats"), found)
    quiet = _quiet(section.get("quiet_hours"), _key("quiet_hours"), found)
    events_raw = section.get("events", {})
    if not isinstance(events_raw, dict):
        found.append(f"{_key('events')}: expected a table of event name to settings")
        events_raw = {}
    found.extend(
        f"{_key('events', name)}: unknown event; expected one of: {', '.join(ALERT_EVENTS)}"
        for name in events_raw
        if name not in ALERT_EVENTS
    )
    events = {name: _event(name, events_raw.get(name) or {}, quiet, found) for name in ALERT_EVENTS}
    return AlertSettings(
        channels=tuple(dict.fromkeys(channels)),
        require_opt_in=_bool(section, "require_opt_in", False, root, found),
        email_fallback=_bool(section, "email_fallback", True, root, found),
        contacts=_bool(section, "contacts", True, root, found),
        argentina_mobile_nine=_bool(section, "argentina_mobile_nine", True, root, found),
        phone_reminder=_bool(section, "phone_reminder", False, root, found),
        template_languages=dict(languages),
        telegram_chats=telegram,
        events=events,
    )


def _telegram(value: Any, found: list[str]) -> dict[str, str] | None:
    if value is None:
        return None
    where = _key("telegram_chats")
    ok = isinstance(value, dict) and set(value) <= _TELEGRAM_KEYS and "table" in value
    if not ok or not all(isinstance(v, str) and _IDENTIFIER.match(v) for v in value.values()):
        found.append(
            f'{where}: expected {{table = "...", client_column = "client_id", '
            f'chat_column = "chat_id"}} with plain SQL identifiers'
        )
        return None
    return {"client_column": "client_id", "chat_column": "chat_id", **value}


def _event(
    name: str, raw: Any, default_quiet: QuietHours | None, found: list[str]
) -> EventSettings:
    where = _key("events", name)
    template, params, button = _DEFAULTS[name]
    if not isinstance(raw, dict):
        found.append(f"{where}: expected a table")
        raw = {}
    found.extend(
        f"{where}.{k}: unknown key; expected one of: {', '.join(sorted(_EVENT_KEYS))}"
        for k in sorted(set(raw) - _EVENT_KEYS)
    )
    chosen = raw.get("template", template)
    if not isinstance(chosen, str) or not _TEMPLATE_NAME.match(chosen):
        found.append(f"{where}.template: expected lower-case letters, digits and _, got {chosen!r}")
        chosen = template
    language = raw.get("language", "es_AR")
    if not isinstance(language, str) or not re.match(r"^[a-z]{2,3}(_[A-Z]{2})?$", language):
        found.append(f"{where}.language: expected a Meta language code like es_AR or en")
        language = "es_AR"
    allowed = EVENT_PARAMS[name]
    order = raw.get("params", list(params))
    if not isinstance(order, list) or not all(isinstance(p, str) for p in order):
        found.append(f"{where}.params: expected a list of parameter names")
        order = list(params)
    for param in order:
        if param not in allowed:
            found.append(
                f"{where}.params: unknown parameter {param!r}; expected one of {', '.join(allowed)}"
            )
    order = [p for p in order if p in allowed]
    suffix = raw.get("button_url_suffix", button)
    if suffix is False or suffix == "":
        suffix = None
    if suffix is not None and suffix not in BUTTON_PARAMS.get(name, ()):
        choices = ", ".join(BUTTON_PARAMS.get(name, ())) or "none for this event"
        found.append(f"{where}.button_url_suffix: expected false or one of: {choices}")
        suffix = button
    index = raw.get("button_index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 9:
        found.append(f"{where}.button_index: expected the URL button's position, 0 to 9")
        index = 0
    contact = raw.get("contact_template", f"{chosen}_contacto"[:512])
    if not isinstance(contact, str) or not _TEMPLATE_NAME.match(contact):
        found.append(f"{where}.contact_template: expected lower-case letters, digits and _")
        contact = f"{template}_contacto"
    default_contact = (
        (order[0], "account_name", *order[1:])
        if order[:1] == ["first_name"]
        else ("account_name", *order)
    )
    contact_order = raw.get("contact_params", list(default_contact))
    if not isinstance(contact_order, list) or not all(p in allowed for p in contact_order):
        found.append(f"{where}.contact_params: expected a list of: {', '.join(allowed)}")
        contact_order = list(default_contact)
    quiet = default_quiet
    if "quiet_hours" in raw:
        quiet = _quiet(raw["quiet_hours"], f"{where}.quiet_hours", found)
    return EventSettings(
        enabled=_bool(raw, "enabled", True, where, found),
        template=chosen,
        language=language,
        params=tuple(order),
        button_url_suffix=suffix,
        quiet_hours=quiet,
        button_index=index,
        contact_template=contact,
        contact_params=tuple(contact_order),
    )
