"""The security notice to a client's owner: someone gained access or a sensitive right.

Fires on ``user.permissions_changed`` (8.x link linked or changed; 7.x sub-account changed) and
on ``contact.added`` of a 7.x sub-account. The owner is told through ``send_notice`` (the
WhatsApp template of the config, e-mail as its fallback) in the owner's language (es_AR or en),
naming who and which rights, with what to do if the owner did not do it. Changes the panel says
the owner made (an invite the owner sent) are not told when ``skip_owner_changes`` is on; for
everything else the panel does not say who, so the owner is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from whmcs_bridge.plugin import SKIP, Notice, queries, send_notice

from .permissions import canonical, label

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge, Event, Skip

    from .settings import ContactSettings

TEMPLATES = Path(__file__).parent / "templates"
NOT_A_LOGIN = "-"
OWNER = "*"


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,  # plain text for WhatsApp and text e-mail
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(language: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, text) of the notice in ``es_AR`` or ``en``."""
    template = environment().get_template(f"{language}/security_notice.j2")
    module = template.make_module(context)
    return str(getattr(module, "subject", "")), str(module).strip()


@dataclass(frozen=True)
class Gain:
    """What an event says someone gained on a client."""

    client_id: int
    person_key: str  # "user:6" / "subaccount:3"
    new_access: bool
    gained: tuple[str, ...]


def _keys(state: object) -> set[str] | None:
    """A remembered permission state as keys; ``None`` when it was no login at all."""
    text = str(state or "").strip()
    if text in ("", NOT_A_LOGIN):
        return None
    if text == OWNER:
        return set(queries.people.PERMISSIONS)
    return {part for part in text.split(",") if part}


def gain_of(event: Event) -> Gain | None:
    """What the event gave someone, or ``None`` when nobody gained anything."""
    data = event.data
    if event.name == "user.permissions_changed":
        client_id = int(data.get("client_id") or event.client_id or 0)
        before, after = _keys(data.get("before")), _keys(data.get("after"))
        # Unlinked, or made the owner (only staff transfer ownership, in the admin area).
        if data.get("change") == "unlinked" or after is None or not client_id:
            return None
        if str(data.get("after")) == OWNER:
            return None
        if "user_id" in data:
            key = f"user:{int(data['user_id'])}"
        else:
            key = f"subaccount:{int(data.get('contact_id') or event.subject_id)}"
        gained = canonical(after - (before or set()))
        return Gain(client_id, key, before is None or data.get("change") == "linked", gained)
    if event.name == "contact.added":
        return Gain(int(event.client_id or 0), f"subaccount:{event.subject_id}", True, ())
    return None


def owner_made_it(bridge: Bridge, event: Event, person: Any) -> bool:
    """True only when the panel records that the owner made the change: the owner's invite."""
    if event.data.get("change") != "linked" or not person.invite_id:
        return False
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        invite = queries.people.invite(conn, tables, person.invite_id)
        owner = queries.people.owner_user_id(conn, tables, person.client_id)
    return (
        invite is not None
        and not invite.invited_by_admin
        and owner is not None
        and invite.invited_by == owner
    )


def security_notice(bridge: Bridge, event: Event, settings: ContactSettings) -> str | Skip:
    """Queue the owner's notice for an event, or say why not; ``SKIP`` for other events."""
    gain = gain_of(event)
    if gain is None:
        return "nobody gained access or a right" if event.name != "contact.added" else SKIP
    if not settings.notify_owner:
        return "owner notices are off (notify_owner = false)"
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        found = queries.people.people(conn, tables, gain.client_id)
    person = next((p for p in found if p.key == gain.person_key), None)
    owner = next((p for p in found if p.kind == "owner"), None)
    if event.name == "contact.added" and (person is None or not person.permissions):
        return SKIP  # an 8.x contact, or a 7.x one that cannot log in: no access gained
    if person is None or owner is None:
        return f"nothing sent: {gain.person_key} of client {gain.client_id} is gone"
    rights = person.permissions if gain.new_access else gain.gained
    told = [k for k in rights if k in settings.notify_rights]
    if not (gain.new_access and settings.notify_on_access) and not told:
        return f"{person.key} gained no right the owner is told about"
    if settings.skip_owner_changes and owner_made_it(bridge, event, person):
        return f"{person.key} joined through the owner's own invite: owner not told"
    return _queue(bridge, event, settings, owner, person, rights, gain.new_access)


def _queue(
    bridge: Bridge,
    event: Event,
    settings: ContactSettings,
    owner: Any,
    person: Any,
    rights: tuple[str, ...],
    new_access: bool,
) -> str:
    url = (bridge.config.system_url or bridge.panel.setting("SystemURL")).strip()
    texts, subjects, params = {}, {}, {}
    for language in ("es_AR", "en"):
        rights_text = ", ".join(label(k, language) for k in rights) or "-"
        context = {
            "first_name": owner.first_name or owner.name,
            "person_name": person.name,
            "person_email": person.email,
            "rights": rights_text,
            "new_access": new_access,
            "client_area_url": url,
        }
        subjects[language], texts[language] = render(language, context)
        params[language] = (context["first_name"], person.name, rights_text)
    notice = Notice(
        event_id=int(event.id or 0),
        client_id=owner.client_id,
        key=f"contacts.security:{person.key}",
        texts=texts,
        subjects=subjects,
        template=settings.whatsapp_template,
        template_language=settings.whatsapp_language,
        params=params,
        channels=settings.channels,
    )
    result = send_notice(bridge, notice)
    summary = f"owner of client {owner.client_id} told about {person.key}: {result.new} queued"
    return "; ".join([summary, *result.notes])
