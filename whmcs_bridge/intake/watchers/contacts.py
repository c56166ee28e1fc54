"""Watchers of contacts and of who may act for a client: contact added, changed, removed, and
``user.permissions_changed`` (WHMCS 8: a ``tblusers_clients`` link; WHMCS 7: a sub-account
contact).

Permission lists are short (13 keys at most), so they are remembered as they are and the event
can say what they were before; an unusually long list is remembered as a digest.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Row

from whmcs_bridge.events.model import Event, event_key
from whmcs_bridge.intake.watcher import WatchContext
from whmcs_bridge.intake.watchers.accounts import (
    CLIENT_FIELDS,
    field_columns,
    field_positions,
    fields_digest,
)
from whmcs_bridge.intake.watchers.base import chunks, digest, make_event, seen_states
from whmcs_bridge.intake.watchers.sweep import SweepWatcher
from whmcs_bridge.panel.tables import PanelTables

EMAIL_PREFERENCES = (
    "domainemails",
    "generalemails",
    "invoiceemails",
    "productemails",
    "supportemails",
    "affiliateemails",
)
CONTACT_FIELDS = CLIENT_FIELDS + EMAIL_PREFERENCES
NOT_A_LOGIN = "-"  # a contact that is no sub-account: it has no permissions at all
OWNER = "*"  # an owner has every permission whatever the column says


def permissions_text(value: object, room: int = 120) -> str:
    keys = sorted({key.strip() for key in str(value or "").split(",") if key.strip()})
    text = ",".join(keys)
    return text if len(text) <= room else "#" + digest([text])[:40]


def permissions_event(
    ctx: WatchContext, subject_id: int, client_id: object, data: dict[str, Any]
) -> Event:
    """``user.permissions_changed``, keyed by the day AND the change itself: two different
    changes of one login on one day are two events, one change seen twice is one."""
    found = make_event(ctx, "user.permissions_changed", subject_id, client_id, data)
    change = digest([data.get("before"), data.get("after")])[:12]
    return replace(found, key=event_key(found.name, subject_id, f"{ctx.today}:{change}"))


def _split(state: str) -> tuple[str, str, str]:
    first, _, rest = state.partition("|")
    second, _, third = rest.partition("|")
    return first, second, third


class ContactWatcher(SweepWatcher):
    """``contact.added``, ``contact.changed``, ``contact.removed``; on WHMCS 7 also
    ``user.permissions_changed`` for sub-account contacts (subject: the contact).

    State: ``<client id>|<digest of fields and e-mail preferences>|<permissions or '-'>``.
    """

    name = "contacts"
    table_name = "contacts"

    def __init__(self, tables: PanelTables, sweep_size: int | None = None) -> None:
        super().__init__(tables, sweep_size)
        c = self.table.c
        self.logins_here = tables.get("users") is None and "permissions" in c and "subaccount" in c
        self.positions = field_positions(self.columns(), CONTACT_FIELDS)

    def columns(self) -> list[ColumnElement[Any]]:
        c = self.table.c
        logins = [c.subaccount, c.permissions] if self.logins_here else []
        return [c.id, c.userid, *field_columns(self.table, CONTACT_FIELDS), *logins]

    def state_of(self, row: Row[Any]) -> str:
        access = NOT_A_LOGIN
        if self.logins_here and row.subaccount:
            access = permissions_text(row.permissions)
        return f"{row.userid}|{fields_digest(row, CONTACT_FIELDS, self.positions)}|{access}"

    def logged(self, ctx: WatchContext) -> list[ColumnElement[bool]]:
        return [self.table.c.userid.in_(chunk) for chunk in chunks(ctx.dirty.clients)]

    def added(self, ctx: WatchContext, row: Row[Any]) -> list[Event]:
        return [make_event(ctx, "contact.added", row.id, row.userid)]

    def changed(self, ctx: WatchContext, row: Row[Any], old: str, new: str) -> list[Event]:
        old_client, old_fields, old_access = _split(old)
        new_client, new_fields, new_access = _split(new)
        found: list[Event] = []
        if (old_client, old_fields) != (new_client, new_fields):
            found.append(make_event(ctx, "contact.changed", row.id, row.userid))
        if old_access != new_access:
            data = {"contact_id": row.id, "before": old_access, "after": new_access}
            found.append(permissions_event(ctx, row.id, row.userid, data))
        return found

    def gone(self, ctx: WatchContext, subject_id: int, old: str) -> list[Event]:
        client = _split(old)[0]
        return [make_event(ctx, "contact.removed", subject_id, client)]

    def observe(self, ctx: WatchContext, event: Event) -> None:
        if event.name == "contact.removed":
            ctx.forget(self.namespace, [event.subject_id])
        elif event.name == "contact.changed":
            row = self.current(ctx, event.subject_id)
            if row is None:
                return
            new = self.state_of(row)
            old = seen_states(ctx, self.namespace, [row.id]).get(row.id)
            if old is not None:
                # ContactEdit says nothing about permissions: a change there is still news.
                client, fields, _ = _split(new)
                new = f"{client}|{fields}|{_split(old)[2]}"
            ctx.remember(self.namespace, {row.id: new})


class LinkWatcher(SweepWatcher):
    """WHMCS 8: ``user.permissions_changed`` when a ``tblusers_clients`` link's permissions
    change, and when a user is linked to a client or unlinked from it (``data["change"]`` is
    ``linked`` / ``unlinked``, the missing side ``'-'``). An owner's link coming or going is a
    client created or deleted, reported as such elsewhere.

    The subject is the link (``tblusers_clients.id``); the data names the user and the client.
    State: ``<user id>|<client id>|<permissions, or '*' for the owner>``.
    """

    name = "user_links"
    table_name = "users_clients"

    def columns(self) -> list[ColumnElement[Any]]:
        c = self.table.c
        return [c.id, c.auth_user_id, c.client_id, c.owner, c.permissions]

    def state_of(self, row: Row[Any]) -> str:
        access = OWNER if row.owner else permissions_text(row.permissions)
        return f"{row.auth_user_id}|{row.client_id}|{access}"

    def logged(self, ctx: WatchContext) -> list[ColumnElement[bool]]:
        return [self.table.c.client_id.in_(chunk) for chunk in chunks(ctx.dirty.clients)]

    def changed(self, ctx: WatchContext, row: Row[Any], old: str, new: str) -> list[Event]:
        before, after = _split(old)[2], _split(new)[2]
        if before == after:
            return []
        data = {
            "user_id": row.auth_user_id,
            "client_id": row.client_id,
            "before": before,
            "after": after,
        }
        return [permissions_event(ctx, row.id, row.client_id, data)]

    def added(self, ctx: WatchContext, row: Row[Any]) -> list[Event]:
        if row.owner:
            return []
        data = {
            "user_id": row.auth_user_id,
            "client_id": row.client_id,
            "before": NOT_A_LOGIN,
            "after": permissions_text(row.permissions),
            "change": "linked",
        }
        return [permissions_event(ctx, row.id, row.client_id, data)]

    def gone(self, ctx: WatchContext, subject_id: int, old: str) -> list[Event]:
        user, client, access = _split(old)
        if access == OWNER:
            return []
        data = {
            "user_id": int(user),
            "client_id": int(client),
            "before": access,
            "after": NOT_A_LOGIN,
            "change": "unlinked",
        }
        return [permissions_event(ctx, subject_id, client, data)]
