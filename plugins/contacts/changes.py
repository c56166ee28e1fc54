"""Granting, revoking and inviting through the WHMCS API, on both models (R-CT-2).

WHMCS 8.x: rights live on the user's link to the client (``UpdateUserPermissions``), new people
are invited (``CreateClientInvite``). WHMCS 7.x: rights live on a sub-account contact
(``UpdateContact`` ``permissions``), a new person is a contact added as a sub-account
(``AddContact``). The owner's rights are never changed: the owner holds every right. Every
check that WHMCS would refuse anyway is made here first, so the admin reads one clear line;
what WHMCS still refuses is shown as WHMCS said it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import ApiError, ApiOutcomeUnknown, BridgeError, queries

from .permissions import canonical

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
#: Params never shown (dry run, --json, errors).
_HIDDEN = frozenset({"password2"})


@dataclass
class Change:
    """One API call that changes who may act for a client, and what it changes."""

    client_id: int
    action: str
    params: dict[str, Any]
    who: str  # "user:6 Sofía Pérez <sofia@...>" or the invited e-mail
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    note: str = ""
    answer: dict[str, Any] = field(default_factory=dict)

    @property
    def needed(self) -> bool:
        return self.action != ""

    def shown_params(self) -> dict[str, Any]:
        return {k: ("***" if k in _HIDDEN else v) for k, v in self.params.items()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "who": self.who,
            "action": self.action or None,
            "params": self.shown_params(),
            "before": list(self.before),
            "after": list(self.after),
            "note": self.note,
        }


def _target(bridge: Bridge, client_id: int, user_id: int | None, contact_id: int | None) -> Any:
    tables = bridge.panel.tables
    users = queries.people.has_users(tables)
    if (user_id is None) == (contact_id is None):
        raise BridgeError("name exactly one person: --user ID or --contact ID")
    with bridge.panel.connect() as conn:
        found = queries.people.people(conn, tables, client_id)
    if not found:
        raise BridgeError(f"client {client_id} is not in the panel")
    if users and contact_id is not None:
        raise BridgeError(
            f"on WHMCS 8 a contact only receives e-mail and holds no rights; name the login "
            f"with --user, or invite contact {contact_id}'s address with 'contacts invite'"
        )
    if not users and user_id is not None:
        raise BridgeError("WHMCS 7 has no users: name the sub-account with --contact ID")
    if user_id is not None:
        person = next((p for p in found if p.kind in ("owner", "user") and p.id == user_id), None)
        if person is None:
            raise BridgeError(f"user {user_id} is not linked to client {client_id}")
    else:
        person = next((p for p in found if p.contact_id == contact_id and p.kind != "user"), None)
        if person is None:
            raise BridgeError(f"contact {contact_id} is not a contact of client {client_id}")
        if person.kind == "contact":
            raise BridgeError(
                f"contact {contact_id} is not a sub-account, so it cannot log in and holds no "
                f"rights; invite the person with 'contacts invite'"
            )
    if person.kind == "owner":
        raise BridgeError(
            f"{person.name} is the owner of client {client_id}: the owner holds every right "
            f"and its rights cannot be changed"
        )
    return person


def plan_rights(
    bridge: Bridge,
    client_id: int,
    keys: tuple[str, ...],
    grant: bool,
    user_id: int | None = None,
    contact_id: int | None = None,
) -> Change:
    """The call that grants (or revokes) ``keys``; ``action == ""`` when nothing changes."""
    person = _target(bridge, client_id, user_id, contact_id)
    before = person.permissions
    after = canonical(set(before) | set(keys)) if grant else canonical(set(before) - set(keys))
    who = f"{person.key} {person.name} <{person.email}>"
    change = Change(client_id, "", {}, who, before, after)
    if after == before:
        change.note = "nothing to change: " + (
            "already held" if grant else "none of these rights is held"
        )
        return change
    if not after:
        remedy = (
            "remove the user from the account in the panel (Users tab)"
            if person.kind == "user"
            else "turn the sub-account off in the panel"
        )
        raise BridgeError(
            f"revoking every right of {person.name} leaves none, which WHMCS refuses; {remedy}"
        )
    if person.kind == "user":
        change.action = "UpdateUserPermissions"
        change.params = {
            "user_id": person.id,
            "client_id": client_id,
            "permissions": ",".join(after),
        }
    else:
        change.action = "UpdateContact"
        change.params = {"contactid": person.id, "permissions": ",".join(after)}
    return change


def plan_invite(
    bridge: Bridge,
    client_id: int,
    email: str,
    keys: tuple[str, ...],
    first_name: str = "",
    last_name: str = "",
) -> Change:
    """The call that lets a new person act for the client with ``keys``."""
    address = email.strip()
    if not _EMAIL.match(address):
        raise BridgeError(f"{email!r} is not an e-mail address")
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        found = queries.people.people(conn, tables, client_id)
        pending = queries.people.pending_invites(conn, tables, client_id)
    if not found:
        raise BridgeError(f"client {client_id} is not in the panel")
    same = [p for p in found if p.email.lower() == address.lower() and p.can_log_in]
    if same:
        raise BridgeError(
            f"{address} already logs in to client {client_id} as {same[0].key}; "
            f"change its rights with 'contacts grant'"
        )
    if any(i.email.lower() == address.lower() for i in pending):
        raise BridgeError(f"{address} has an invite to client {client_id} not yet accepted")
    if queries.people.has_users(tables):
        params: dict[str, Any] = {
            "client_id": client_id,
            "email": address,
            "permissions": ",".join(keys),
        }
        return Change(client_id, "CreateClientInvite", params, address, (), keys)
    params = {
        "clientid": client_id,
        "firstname": first_name,
        "lastname": last_name,
        "email": address,
        "subaccount": 1,
        # Nobody knows it: the person sets their own with "forgot password" (7.x sub-accounts).
        "password2": secrets.token_urlsafe(24),
        "permissions": ",".join(keys),
    }
    change = Change(client_id, "AddContact", params, address, (), keys)
    change.note = "the person sets a password with 'Forgot password?' on the login page"
    return change


def apply(bridge: Bridge, change: Change) -> Change:
    """Make the call; WHMCS's refusals and lost answers become one-line :class:`BridgeError`."""
    if not change.needed:
        return change
    try:
        change.answer = bridge.api.call(change.action, change.params)
    except ApiOutcomeUnknown:
        raise BridgeError(
            f"the answer to {change.action} was lost: check client {change.client_id} in the "
            f"panel ('contacts list') before trying again"
        ) from None
    except ApiError as exc:
        raise BridgeError(f"WHMCS refused {change.action}: {exc.message}") from None
    stored = change.answer.get("permissions")
    if isinstance(stored, list):
        change.after = canonical(str(p) for p in stored)
    return change
