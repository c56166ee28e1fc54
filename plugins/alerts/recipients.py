"""Who an alert goes to, read from the event's SUBJECT at handling time (R-AL-1, R-CT-2).

The owner of a service is ``tblhosting.userid`` of that service now, not whatever client the
event carried: a service moved to another client must not tell its old owner. Only a deleted
domain, whose row is gone, falls back to the client recorded with the event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, text

from whmcs_bridge.plugin import (
    Event,
    PanelTables,
    PhoneResult,
    Recipient,
    normalise_phone,
    queries,
    text_language,
)

#: The e-mail preference of a secondary contact that covers each event (whmcs.md §6.3): the
#: kind of ``tblcontacts.<kind>emails``.
CONTACT_PREFERENCE = {
    "invoice": "invoice",
    "service": "product",
    "domain": "domain",
    "client": "general",
    "quote": "general",
}
#: How each subject with an owner is read; each answer names its ``client_id``.
_SUBJECTS: dict[str, Callable[[Connection, PanelTables, int], Any]] = {
    "service": queries.service,
    "invoice": queries.billing.invoice,
    "quote": queries.quotes.quote,
}


class SubjectGone(LookupError):
    """The event's subject row no longer exists, so nobody can be told about it."""


def owner_of(conn: Connection, tables: PanelTables, event: Event) -> int:
    """The client the event's subject belongs to now; raises :class:`SubjectGone`."""
    kind = event.subject_type
    if kind == "client":
        return event.subject_id
    if kind == "domain":
        # DomainDelete: the row is gone; the hook and the watcher both record its client.
        if event.client_id:
            return int(event.client_id)
        raise SubjectGone(f"domain {event.subject_id} is gone and the event names no client")
    read = _SUBJECTS.get(kind)
    if read is None:
        raise SubjectGone(f"alerts do not know subject type {kind!r}")
    subject = read(conn, tables, event.subject_id)
    owner = subject.client_id if subject is not None else 0
    if not owner:
        raise SubjectGone(f"{kind} {event.subject_id} is not in the panel (or has no client)")
    return int(owner)


def client_recipient(
    conn: Connection,
    tables: PanelTables,
    client_id: int,
    panel_language: str,
    argentina_nine: bool = True,
) -> Recipient | None:
    """The client as a recipient, its phone normalised; ``None`` when the client is gone."""
    client = queries.client(conn, tables, client_id)
    if client is None:
        return None
    phone = normalise_phone(client.phone, client.country, argentina_nine)
    language = text_language(client.language, panel_language)
    names = (client.first_name, client.last_name, client.company)
    return _recipient(f"client:{client_id}", client_id, names, client.email, phone, language)


def contact_recipients(
    conn: Connection,
    tables: PanelTables,
    client_id: int,
    subject_type: str,
    language: str,
    argentina_nine: bool = True,
) -> list[Recipient]:
    """Secondary contacts whose e-mail preference covers this kind of event (R-CT-2).

    Contacts have no language of their own: they get the client's.
    """
    wanted = CONTACT_PREFERENCE.get(subject_type)
    if wanted is None:
        return []
    # The tblcontacts rows (7.x sub-accounts too), by id; 8.x users are not contacts.
    contacts = sorted(
        (
            p
            for p in queries.people.people(conn, tables, client_id)
            if p.kind in ("subaccount", "contact")
        ),
        key=lambda p: p.id,
    )
    found = []
    holder = account_name(conn, tables, client_id)
    for contact in contacts:
        if not (contact.email_preferences or {}).get(wanted):
            continue
        phone = normalise_phone(contact.phone, contact.country, argentina_nine)
        names = (contact.first_name, contact.last_name, contact.company)
        key = f"contact:{contact.id}"
        person = _recipient(key, client_id, names, contact.email, phone, language)
        found.append(replace(person, role="contact", account_name=holder))
    return found


def account_name(conn: Connection, tables: PanelTables, client_id: int) -> str:
    """How a contact knows the account: the company's name, else the holder's full name."""
    client = queries.client(conn, tables, client_id)
    if client is None:
        return ""
    return client.company.strip() or client.full_name


def _recipient(
    key: str,
    client_id: int,
    names: tuple[str, str, str],
    email: str,
    phone: PhoneResult,
    language: str,
) -> Recipient:
    """``names``: first name, last name, company (the name when the others are blank)."""
    first, last, company = (name.strip() for name in names)
    return Recipient(
        key=key,
        client_id=client_id,
        name=f"{first} {last}".strip() or company,
        first_name=first or company,
        email=email,
        language=language,
        phone=phone.e164,
        phone_problem=phone.problem,
        phone_note=phone.note,
        raw_phone=phone.raw,
    )


def telegram_chat(
    conn: Connection, mapping: dict[str, str] | None, recipient: Recipient
) -> str | None:
    """The client's Telegram chat id from the configured mapping table; ``None`` without one.

    WHMCS keeps no Telegram chat ids, so Telegram needs a table an admin (or a bot) fills.
    """
    if mapping is None or not recipient.is_client:
        return None
    # Identifiers were checked against a plain-identifier pattern when the config was read.
    query = text(
        f"SELECT {mapping['chat_column']} FROM {mapping['table']}"
        f" WHERE {mapping['client_column']} = :client_id"
    )
    value = conn.execute(query, {"client_id": recipient.client_id}).scalar()
    return str(value) if value else None


def merge(primary: Recipient | None, extra: list[list[Recipient] | None]) -> list[Recipient]:
    """The client first, then what the hooks named, each person once (the first answer wins).

    A phone is sent to once per event: a later person with a phone already taken (a contact
    who gave the client's number) keeps it but is marked ``phone_shared_with`` the first.
    """
    found: dict[str, Recipient] = {}
    phones: dict[str, str] = {}
    for person in [primary, *(r for group in extra for r in group or ())]:
        if person is None or person.key in found:
            continue
        if person.phone is not None:
            if person.phone in phones:
                person = replace(person, phone_shared_with=phones[person.phone])
            else:
                phones[person.phone] = person.key
        found[person.key] = person
    return list(found.values())
