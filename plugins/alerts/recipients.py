"""Who an alert goes to, read from the event's SUBJECT at handling time (R-AL-1, R-CT-2).

The owner of a service is ``tblhosting.userid`` of that service now, not whatever client the
event carried: a service moved to another client must not tell its old owner. Only a deleted
domain, whose row is gone, falls back to the client recorded with the event.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection, select, text

from whmcs_bridge.plugin import (
    Event,
    PanelTables,
    PhoneResult,
    Recipient,
    normalise_phone,
    text_language,
)

#: The e-mail preference of a secondary contact that covers each event (whmcs.md §6.3).
CONTACT_PREFERENCE = {
    "invoice": "invoiceemails",
    "service": "productemails",
    "domain": "domainemails",
    "client": "generalemails",
    "quote": "generalemails",
}
_OWNER_TABLE = {"service": "hosting", "invoice": "invoices", "quote": "quotes"}


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
    if kind not in _OWNER_TABLE:
        raise SubjectGone(f"alerts do not know subject type {kind!r}")
    table = tables[_OWNER_TABLE[kind]]
    owner = conn.execute(select(table.c.userid).where(table.c.id == event.subject_id)).scalar()
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
    clients = tables.clients
    row = conn.execute(select(clients).where(clients.c.id == client_id)).first()
    if row is None:
        return None
    m = row._mapping
    phone = normalise_phone(m.get("phonenumber"), m.get("country"), argentina_nine)
    return _recipient(
        f"client:{client_id}", client_id, m, phone, text_language(m.get("language"), panel_language)
    )


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
    contacts = tables.get("contacts")
    column = CONTACT_PREFERENCE.get(subject_type)
    if contacts is None or column is None or column not in contacts.c:
        return []
    rows = conn.execute(
        select(contacts).where(contacts.c.userid == client_id).order_by(contacts.c.id)
    ).all()
    found = []
    holder = account_name(conn, tables, client_id)
    for row in rows:
        m = row._mapping
        if not _flag(m.get(column)):
            continue
        phone = normalise_phone(m.get("phonenumber"), m.get("country"), argentina_nine)
        person = _recipient(f"contact:{m['id']}", client_id, m, phone, language)
        found.append(replace(person, role="contact", account_name=holder))
    return found


def account_name(conn: Connection, tables: PanelTables, client_id: int) -> str:
    """How a contact knows the account: the company's name, else the holder's full name."""
    clients = tables.clients
    row = conn.execute(
        select(clients.c.firstname, clients.c.lastname, clients.c.companyname).where(
            clients.c.id == client_id
        )
    ).first()
    if row is None:
        return ""
    company = str(row.companyname or "").strip()
    return company or f"{row.firstname or ''} {row.lastname or ''}".strip()


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "on", "true", "yes")
    return bool(value)


def _recipient(key: str, client_id: int, m: object, phone: PhoneResult, language: str) -> Recipient:
    get = m.get  # type: ignore[attr-defined]
    first = str(get("firstname") or "").strip()
    last = str(get("lastname") or "").strip()
    return Recipient(
        key=key,
        client_id=client_id,
        name=f"{first} {last}".strip() or str(get("companyname") or ""),
        first_name=first or str(get("companyname") or ""),
        email=str(get("email") or ""),
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
