"""Alert texts and WhatsApp template parameters, built from the panel's current rows.

Texts are Jinja2 templates, one per event and language (``templates/<language>/<event>.j2``); a
template may ``{% set subject = ... %}`` for the e-mail subject. WhatsApp does not send our text:
business-initiated messages must be approved templates, so the same facts also go out as the
template's body parameters, in the order the config names them (messaging.md §1.3-1.4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Connection

from whmcs_bridge.plugin import Currency, Event, PanelTables, Recipient, queries, sanitize_param

from .settings import AlertSettings

TEMPLATES = Path(__file__).parent / "templates"
#: What a template parameter becomes when its value is empty: Meta rejects empty parameters.
EMPTY_PARAM = "-"


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,  # plain text for WhatsApp, Telegram and text e-mail, never HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def day(value: date | datetime | None) -> str:
    """DD/MM/YYYY, as the client panel shows dates; '' for WHMCS's unset dates."""
    return value.strftime("%d/%m/%Y") if value else ""


def base_url(configured: str, panel_setting: str) -> str:
    """The client area's address with a trailing slash: the config's, else WHMCS's SystemURL."""
    url = (configured or panel_setting).strip()
    return url if not url or url.endswith("/") else url + "/"


def subject_context(
    conn: Connection,
    tables: PanelTables,
    event: Event,
    client_id: int,
    system_url: str,
    panel_name: str,
) -> dict[str, Any]:
    """The facts about the event's subject that texts and parameters use, read now.

    :raises LookupError: the subject row is gone (except a deleted domain, named by the event).
    """
    client = queries.client(conn, tables, client_id)
    currency = client.currency if client else queries.currency_row(conn, tables, None)
    when = event.occurred_at
    ctx: dict[str, Any] = {
        "changed_fields": detail_groups(event.data.get("changed")),
        "event": event.name,
        "panel_name": panel_name,
        "system_url": system_url,
        "client_area_url": f"{system_url}clientarea.php",
        "company_name": client.company if client else "",
        "date": day(when),
        "time": when.strftime("%H:%M"),
        "date_time": f"{day(when)} {when:%H:%M}",
    }
    loader = _LOADERS.get(event.subject_type)
    if loader is not None:
        ctx.update(loader(conn, tables, event, currency, system_url))
    return ctx


def _invoice(
    conn: Connection, tables: PanelTables, event: Event, currency: Currency, url: str
) -> dict[str, Any]:
    invoice = queries.billing.invoice(conn, tables, event.subject_id)
    if invoice is None:
        raise LookupError(f"invoice {event.subject_id} is not in the panel")
    return {
        "invoice_id": str(invoice.id),
        "invoice_number": invoice.invoice_num.strip() or str(invoice.id),
        "amount": currency.format_amount(invoice.total),
        "due_date": day(invoice.due_date),
        "date_paid": day(invoice.date_paid),
        "invoice_url": f"{url}viewinvoice.php?id={invoice.id}",
    }


def _service(
    conn: Connection, tables: PanelTables, event: Event, currency: Currency, url: str
) -> dict[str, Any]:
    service = queries.service(conn, tables, event.subject_id)
    if service is None:
        raise LookupError(f"service {event.subject_id} is not in the panel")
    # whmcs.md §5.2: payment unsuspends only a service suspended with an empty reason (WHMCS's
    # "Overdue on Payment") whose product has a module, and only with AutoUnsuspend on.
    back = (
        not service.suspend_reason.strip()
        and bool(service.module)
        and _setting_on(conn, tables, "AutoUnsuspend")
    )
    return {
        "service_id": str(service.id),
        "service_name": service.product_name.strip() or f"#{service.id}",
        "domain": service.domain.strip(),
        "next_due_date": day(service.next_due_date),
        "suspension_reason": suspension_reason(service.suspend_reason),
        "reactivates_on_payment": back,
    }


_ABUSE = re.compile(r"abus|spam|phishing|malware|fraud|fraude|virus|dmca|copyright", re.I)
_OVERDUE = re.compile(r"overdue|payment|unpaid|impag|pago|vencid|deuda|mora", re.I)


def suspension_reason(text: object) -> str:
    """``overdue`` (WHMCS stores '' for "Overdue on Payment"; an admin may type "Falta de
    pago"), ``abuse`` or ``other``."""
    reason = str(text or "").strip()
    if _ABUSE.search(reason):
        return "abuse"
    if not reason or _OVERDUE.search(reason):
        return "overdue"
    return "other"


def _setting_on(conn: Connection, tables: PanelTables, name: str) -> bool:
    value = queries.configuration.setting(conn, tables, name)
    return value.strip().lower() in ("on", "1", "yes", "true")


def _quote(
    conn: Connection, tables: PanelTables, event: Event, currency: Currency, url: str
) -> dict[str, Any]:
    quote = queries.quotes.quote(conn, tables, event.subject_id)
    if quote is None:
        raise LookupError(f"quote {event.subject_id} is not in the panel")
    # The quote's own currency (a quote may be in another), else the client's.
    return {
        "quote_id": str(quote.id),
        "quote_subject": quote.subject,
        "amount": quote.currency.format_amount(quote.total),
        "valid_until": day(quote.valid_until),
        "quote_url": f"{url}viewquote.php?id={quote.id}",
    }


def _domain(
    conn: Connection, tables: PanelTables, event: Event, currency: Currency, url: str
) -> dict[str, Any]:
    # The row is usually gone already: the hook file and the watcher keep the name in the event.
    name = str(event.data.get("domain") or "").strip()
    if not name:
        found = queries.domains.domain(conn, tables, event.subject_id)
        name = found.domain if found else ""
    return {"domain": name or f"#{event.subject_id}"}


_LOADERS = {"invoice": _invoice, "service": _service, "quote": _quote, "domain": _domain}


def recipient_context(ctx: dict[str, Any], recipient: Recipient) -> dict[str, Any]:
    """The subject's facts plus who is addressed, and whose account it is."""
    return {
        **ctx,
        "first_name": recipient.first_name,
        "full_name": recipient.name,
        "email": recipient.email,
        "language": recipient.language,
        "account_name": recipient.account_name or ctx.get("company_name") or "",
        "changed": changed_phrase(ctx.get("changed_fields"), recipient.language),
    }


#: Client fields (ClientEdit's names) an alert is about, grouped as a client names them.
DETAIL_GROUPS = {
    "firstname": "name",
    "lastname": "name",
    "companyname": "company",
    "email": "email",
    "phonenumber": "phone",
    "address1": "address",
    "address2": "address",
    "city": "address",
    "state": "address",
    "postcode": "address",
    "country": "address",
    "tax_id": "tax_id",
    "language": "language",
}
_DETAIL_WORDS = {
    "es_AR": {
        "name": "tu nombre",
        "company": "el nombre de tu empresa",
        "email": "tu e-mail",
        "phone": "tu teléfono",
        "address": "tu domicilio",
        "tax_id": "tu número de identificación fiscal",
        "language": "tu idioma",
        "and": "y",
    },
    "en": {
        "name": "your name",
        "company": "your company name",
        "email": "your e-mail address",
        "phone": "your phone number",
        "address": "your address",
        "tax_id": "your tax ID",
        "language": "your language",
        "and": "and",
    },
}


def detail_groups(changed: Any) -> list[str] | None:
    """The contact or security details among ClientEdit's changed field names, in a fixed
    order; ``None`` when the event does not say which fields changed (a watcher saw it)."""
    if not isinstance(changed, list):
        return None
    found = {
        DETAIL_GROUPS[str(name).lower()] for name in changed if str(name).lower() in DETAIL_GROUPS
    }
    order = list(dict.fromkeys(DETAIL_GROUPS.values()))
    return [group for group in order if group in found]


def changed_phrase(groups: list[str] | None, language: str) -> str:
    """``tu teléfono y tu e-mail``; '' when unknown."""
    if not groups:
        return ""
    words = _DETAIL_WORDS.get(language, _DETAIL_WORDS["en"])
    names = [words[g] for g in groups]
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {words['and']} {names[-1]}"


def render(
    event_name: str, language: str, context: dict[str, Any], for_owner: bool = True
) -> tuple[str, str]:
    """(text, e-mail subject) of ``event_name`` in ``language``; a contact or a user who is
    not the holder gets the text written for someone of the account (``contact/``)."""
    name = f"{language}/{event_name}.j2"
    if not for_owner and (TEMPLATES / language / "contact" / f"{event_name}.j2").exists():
        name = f"{language}/contact/{event_name}.j2"
    template = environment().get_template(name)
    module = template.make_module(context)
    text = "\n".join(line.rstrip() for line in str(module).strip().splitlines())
    subject = str(getattr(module, "subject", "") or event_name)
    return text, subject


def template_params(names: tuple[str, ...], context: dict[str, Any]) -> list[str]:
    """The body parameters in the configured order, each safe for Meta (no newline, not empty)."""
    return [sanitize_param(str(context.get(name) or "")) or EMPTY_PARAM for name in names]


def build_message(
    settings: AlertSettings, event_name: str, context: dict[str, Any], recipient: Recipient
) -> dict[str, Any]:
    """The outbox ``message`` for one recipient: rendered text plus the template call."""
    full = recipient_context(context, recipient)
    owner = recipient.is_client
    text, subject = render(event_name, recipient.language, full, owner)
    chosen = settings.event(event_name)
    suffix = chosen.button_url_suffix
    language = settings.template_language(event_name, recipient.language)
    message = {
        "event": event_name,
        "language": recipient.language,
        "text": text,
        # Someone of the account who is not its holder gets the template written for them.
        "template": chosen.template if owner else chosen.contact_template,
        "template_language": language,
        "params": template_params(chosen.params if owner else chosen.contact_params, full),
        "button_url_suffix": (
            (sanitize_param(str(full.get(suffix) or "")) or EMPTY_PARAM) if suffix else None
        ),
        "subject": subject,
    }
    if suffix and chosen.button_index:
        message["button_index"] = str(chosen.button_index)
    if language != chosen.language:
        # Not approved in the client's language (132001): the event's own language next.
        message["template_fallback_language"] = chosen.language
    return message


@dataclass(frozen=True)
class Delivery:
    """One ``outbox.enqueue`` call."""

    recipient_key: str
    channel: str
    recipient: str
    message: dict[str, Any]
    fallback: dict[str, Any] | None = None


def plan_deliveries(
    settings: AlertSettings,
    recipient: Recipient,
    message: dict[str, Any],
    opted_in: bool,
    telegram_chat: str | None,
) -> tuple[list[Delivery], list[str]]:
    """The sends for one recipient on the configured channels, and notes on what was not sent.

    A client whose phone cannot be used (or who has not opted in, when that is required) is
    told by e-mail instead: recipient = the client id, for the e-mail channel to address
    through WHMCS. Contacts get no e-mail fallback: WHMCS already copies them the panel's own
    e-mail of the same kind, which is what their e-mail preference asked for. ``opted_in`` is
    the client's opt-in; when opt-in is required, contacts get no WhatsApp. A recipient whose
    phone an earlier one of the event has (``phone_shared_with``) gets nothing on it.
    """
    found: list[Delivery] = []
    notes: list[str] = []
    email_reason = None
    key = recipient.key
    email = Delivery(key, "email", str(recipient.client_id), message)
    shared = recipient.phone_shared_with
    if shared:
        notes.append(f"{key}: same phone as {shared}, who is sent to on it")
    for channel in settings.channels:
        if channel in ("whatsapp", "console") and shared:
            continue
        if channel == "whatsapp":
            if recipient.phone is None:
                email_reason = (
                    f"phone {recipient.raw_phone!r} not usable ({recipient.phone_problem})"
                )
            elif settings.require_opt_in and not recipient.is_client:
                # Opt-ins are recorded per client only (alert_prefs has no contact column), and
                # the client's opt-in does not speak for its contacts' numbers.
                email_reason = "contacts have no WhatsApp opt-in of their own"
            elif settings.require_opt_in and not opted_in:
                email_reason = "no WhatsApp opt-in recorded"
            else:
                fallback = None
                if settings.email_fallback and recipient.is_client:
                    fallback = {
                        "channel": "email",
                        "recipient": email.recipient,
                        "message": message,
                    }
                found.append(Delivery(key, "whatsapp", recipient.phone, message, fallback))
        elif channel == "console":
            found.append(Delivery(key, "console", recipient.phone or recipient.email, message))
        elif channel == "telegram":
            if telegram_chat:
                found.append(Delivery(key, "telegram", telegram_chat, message))
            else:
                notes.append(f"{key}: no Telegram chat id known, telegram skipped")
    if email_reason:
        if settings.email_fallback and recipient.is_client:
            found.append(email)
            notes.append(f"{key}: {email_reason}, sent by e-mail instead")
        else:
            notes.append(f"{key}: {email_reason}, not sent by WhatsApp")
    return found, notes
