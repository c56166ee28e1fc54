"""Alert recipients besides the client: contacts and users by their e-mail preferences (R-CT-2).

WHMCS copies a client's mail of kind X to every contact with ``Xemails=1`` (``whmcs.md`` §6.3);
the alerts follow the same preferences. A 7.x sub-account and an 8.x user who shares a contact
row's e-mail are told as ``role="user"``; plain contacts as ``role="contact"``. Each carries the
holder's name (``account_name``) so the text can say whose account it is about. An 8.x user
without a contact row receives no mail from WHMCS, so no alert either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from whmcs_bridge.plugin import Recipient, normalise_phone, queries, text_language

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge, Event

    from .settings import ContactSettings

#: The e-mail preference that covers each kind of event subject (whmcs.md §6.3).
PREFERENCE = {
    "invoice": "invoice",
    "service": "product",
    "upgrade": "product",
    "domain": "domain",
    "client": "general",
    "quote": "general",
    "ticket": "support",
    "reply": "support",
}


#: Events only the holder hears of: WHMCS mails a password change to the login it concerns and
#: copies it to no contact, so neither do the alerts.
HOLDER_ONLY = frozenset({"client.password_changed"})


def alert_recipients(
    bridge: Bridge, event: Event, client_id: int, settings: ContactSettings
) -> list[Recipient]:
    """The people of ``client_id`` whose e-mail preference covers the event's subject."""
    kind = PREFERENCE.get(event.subject_type)
    if kind is None or not settings.alert_recipients or event.name in HOLDER_ONLY:
        return []
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        found = queries.people.people(conn, tables, client_id)
    owner = next((p for p in found if p.kind == "owner"), None)
    if owner is None:
        return []
    panel_language = bridge.panel.setting("Language")
    language = text_language(owner.language, panel_language)
    holder = owner.name
    users = {p.contact_id: p for p in found if p.kind == "user" and p.contact_id}
    recipients = []
    for person in found:
        if person.kind not in ("contact", "subaccount"):
            continue
        if not (person.email_preferences or {}).get(kind):
            continue
        user = users.get(person.id)
        role = "user" if user is not None or person.kind == "subaccount" else "contact"
        name_from = user or person
        phone = normalise_phone(person.phone, person.country, settings.argentina_mobile_nine)
        recipients.append(
            Recipient(
                key=f"contact:{person.id}",
                client_id=client_id,
                name=name_from.name,
                first_name=name_from.first_name or name_from.name,
                email=person.email,
                language=text_language(user.language, panel_language) if user else language,
                phone=phone.e164,
                phone_problem=phone.problem,
                phone_note=phone.note,
                raw_phone=phone.raw,
                role=role,
                account_name=holder,
            )
        )
    return recipients
