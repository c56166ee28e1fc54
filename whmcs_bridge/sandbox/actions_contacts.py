"""Sandbox actions for contacts and WHMCS 8 users (reference ``whmcs.md`` §3.2, §3.5, §6).

Both models answer as WHMCS does: on 7.x a contact may be a sub-account (``subaccount``,
``password2``, ``permissions``) whose e-mail must be unique; on 8.x those params are ignored
with WHMCS's warning, and logins are users linked to clients (``UpdateUserPermissions``,
``CreateClientInvite``, ``DeleteUserClient``), refused on a 7.x panel as unknown commands.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, func, select

from whmcs_bridge.sandbox.actions_common import (
    ActionError,
    Context,
    action,
    insert_row,
    page,
    text_date,
    update_row,
)

EMAIL_KINDS = ("general", "invoice", "support", "product", "domain", "affiliate")
#: The 13 permission keys in WHMCS's canonical order (reference §1.4, §3.5).
PERMISSIONS = (
    "profile",
    "contacts",
    "products",
    "manageproducts",
    "productsso",
    "domains",
    "managedomains",
    "invoices",
    "quotes",
    "tickets",
    "affiliates",
    "emails",
    "orders",
)
CONTACT_FIELDS = (
    "firstname",
    "lastname",
    "companyname",
    "email",
    "address1",
    "address2",
    "city",
    "state",
    "postcode",
    "country",
    "phonenumber",
    "tax_id",
)
#: What WHMCS 8 answers beside success when a 7.x sub-account param is sent (reference §3.2).
SUBACCOUNT_WARNING = (
    "Sub Accounts are no longer supported. Please use AddUser and CreateClientInvite"
)
_SUBACCOUNT_PARAMS = ("subaccount", "password2", "permissions")


def _contact_out(row: Any) -> dict[str, Any]:
    data = {k: v for k, v in row._asdict().items() if k not in {"password", "pwresetkey"}}
    for kind in EMAIL_KINDS:
        key = f"{kind}emails"
        if key in data:
            data[key] = int(bool(data[key]))
    return data


@action("GetContacts")
def get_contacts(ctx: Context) -> dict[str, Any]:
    """Reference §3.2: contacts, filtered by client and exact field values."""
    t = ctx.tables.contacts
    query = select(t).order_by(t.c.id)
    if ctx.param("userid"):
        query = query.where(t.c.userid == ctx.int_param("userid"))
    for name in CONTACT_FIELDS:
        if ctx.param(name) is not None and name in t.c:
            query = query.where(t.c[name] == ctx.param(name))
    rows = [_contact_out(r) for r in ctx.conn.execute(query)]
    return page(ctx, rows, "contacts", "contact")


def _split(value: Any) -> list[str]:
    if isinstance(value, dict):
        value = ",".join(str(v) for v in value.values())
    return [p.strip() for p in str(value or "").split(",") if p.strip()]


def _contact_values(ctx: Context) -> dict[str, Any]:
    values = {name: ctx.params[name] for name in CONTACT_FIELDS if name in ctx.params}
    prefs = ctx.params.get("email_preferences")
    if isinstance(prefs, dict):
        for kind in EMAIL_KINDS:
            if kind in prefs:
                values[f"{kind}emails"] = str(prefs[kind]).lower() in {"1", "true", "on"}
    return values


def _is_8(ctx: Context) -> bool:
    return ctx.tables.get("users") is not None


def _subaccount_values(ctx: Context, current: Any = None) -> dict[str, Any]:
    """7.x: the sub-account columns the request sets (its password stored as a hash)."""
    values: dict[str, Any] = {}
    if "subaccount" in ctx.params:
        values["subaccount"] = ctx.flag("subaccount")
    if ctx.param("password2"):
        values["password"] = "$2y$10$" + secrets.token_hex(26)  # never the plain text
    if "permissions" in ctx.params:
        wanted = _split(ctx.params.get("permissions"))
        values["permissions"] = ",".join(p for p in PERMISSIONS if p in wanted)
    return values


def _email_taken(ctx: Context, email: str, contact_id: int = 0) -> bool:
    """7.x: a sub-account's e-mail may belong to no client and no other contact."""
    clients, contacts = ctx.tables.clients, ctx.tables.contacts
    if not email:
        return False
    taken = ctx.conn.execute(select(func.count()).where(clients.c.email == email)).scalar()
    taken = (
        taken
        or ctx.conn.execute(
            select(func.count()).where(contacts.c.email == email, contacts.c.id != contact_id)
        ).scalar()
    )
    return bool(taken)


@action("AddContact")
def add_contact(ctx: Context) -> dict[str, Any]:
    """Reference §3.2: a contact for ``clientid``; on 7.x possibly a sub-account. Fires
    ContactAdd."""
    client_id = ctx.int_param("clientid")
    if ctx.row(ctx.tables.clients, client_id) is None:
        raise ActionError("Client ID Not Found")
    values = {"userid": client_id, **_contact_values(ctx), "created_at": ctx.now}
    values["updated_at"] = ctx.now
    answer: dict[str, Any] = {}
    if _is_8(ctx):
        if any(name in ctx.params for name in _SUBACCOUNT_PARAMS):
            answer["warning"] = SUBACCOUNT_WARNING
    else:
        values.update(_subaccount_values(ctx))
        if values.get("subaccount") and _email_taken(ctx, str(values.get("email") or "")):
            raise ActionError("Duplicate Email Address")
    contact_id = insert_row(ctx.conn, ctx.tables.contacts, values)
    ctx.hook("ContactAdd", client_id=client_id, contactid=contact_id)
    return {"contactid": contact_id, **answer}


@action("UpdateContact")
def update_contact(ctx: Context) -> dict[str, Any]:
    """Reference §3.2: edit a contact (7.x: also its sub-account rights). WHMCS 8.7's API
    fires no ContactEdit here (§2.2)."""
    contact_id = ctx.int_param("contactid")
    if not contact_id:
        raise ActionError("Contact ID Required")
    current = ctx.row(ctx.tables.contacts, contact_id)
    if current is None:
        raise ActionError("Contact ID Not Found")
    values = {**_contact_values(ctx), "updated_at": ctx.now}
    answer: dict[str, Any] = {}
    if _is_8(ctx):
        if any(name in ctx.params for name in _SUBACCOUNT_PARAMS):
            answer["warning"] = SUBACCOUNT_WARNING
    else:
        values.update(_subaccount_values(ctx, current))
        sub = values.get("subaccount", bool(current.subaccount))
        email = str(values.get("email", current.email) or "")
        if sub and _email_taken(ctx, email, contact_id):
            raise ActionError("Duplicate Email Address")
    update_row(ctx.conn, ctx.tables.contacts, contact_id, values)
    return {"contactid": contact_id, **answer}


@action("GetUsers", since_8=True)
def get_users(ctx: Context) -> dict[str, Any]:
    """Reference §3.5: users with the clients each belongs to."""
    users, links = ctx.tables.users, ctx.tables.users_clients
    query = select(users).order_by(users.c.id)
    search = ctx.param("search")
    if search:
        like = f"{search}%"
        query = query.where(
            users.c.email.like(like) | users.c.first_name.like(like) | users.c.last_name.like(like)
        )
    out = []
    for u in ctx.conn.execute(query):
        clients = ctx.conn.execute(
            select(links.c.client_id, links.c.owner).where(links.c.auth_user_id == u.id)
        )
        out.append(
            {
                "id": u.id,
                "firstname": u.first_name,
                "lastname": u.last_name,
                "email": u.email,
                "datecreated": text_date(u.created_at),
                "validationdata": "",
                "clients": [{"id": c.client_id, "isOwner": bool(c.owner)} for c in clients],
            }
        )
    answer = page(ctx, out, "users", "user")
    answer["users"] = answer["users"]["user"] if answer["users"] else []
    return answer


def _link(ctx: Context) -> Any:
    links = ctx.tables.users_clients
    user_id, client_id = ctx.int_param("user_id"), ctx.int_param("client_id")
    if ctx.row(ctx.tables.users, user_id) is None:
        raise ActionError("Invalid user id")
    if ctx.row(ctx.tables.clients, client_id) is None:
        raise ActionError("Invalid client id")
    row = ctx.conn.execute(
        select(links).where(links.c.auth_user_id == user_id, links.c.client_id == client_id)
    ).first()
    if row is None:
        raise ActionError("User is not associated with client")
    return row


@action("GetUserPermissions", since_8=True)
def get_user_permissions(ctx: Context) -> dict[str, Any]:
    """Reference §3.5: the user's permissions on the client (all of them for the owner)."""
    link = _link(ctx)
    granted = list(PERMISSIONS) if link.owner else _split(link.permissions)
    return {
        "user_id": link.auth_user_id,
        "client_id": link.client_id,
        "is_owner": bool(link.owner),
        "permissions": [p for p in PERMISSIONS if p in granted],
    }


@action("UpdateUserPermissions", since_8=True)
def update_user_permissions(ctx: Context) -> dict[str, Any]:
    """Reference §3.5: replace a non-owner's permissions (stored in canonical order)."""
    link = _link(ctx)
    if link.owner:
        raise ActionError("Permissions cannot be set on a client owner")
    wanted = _split(ctx.param("permissions"))
    if not wanted:
        raise ActionError("Missing permissions definition")
    unknown = [p for p in wanted if p not in PERMISSIONS]
    if unknown:
        raise ActionError(f"Invalid permission: {unknown[0]}")
    stored = [p for p in PERMISSIONS if p in wanted]
    update_row(
        ctx.conn,
        ctx.tables.users_clients,
        link.id,
        {"permissions": ",".join(stored), "updated_at": ctx.now},
    )
    return {"user_id": link.auth_user_id, "client_id": link.client_id, "permissions": stored}


@action("DeleteUserClient", since_8=True)
def delete_user_client(ctx: Context) -> dict[str, Any]:
    """Reference §3.5: unlink a user from a client; never its owner."""
    link = _link(ctx)
    if link.owner:
        raise ActionError("You cannot remove the account owner")
    links = ctx.tables.users_clients
    ctx.conn.execute(delete(links).where(links.c.id == link.id))
    return {}


@action("GetPermissionsList")
def get_permissions_list(ctx: Context) -> dict[str, Any]:
    """Reference §3.5: the 13 permission keys (WHMCS answers ``status``, not ``result``)."""
    return {"status": "success", "permissions": {"permission": list(PERMISSIONS)}}


@action("CreateClientInvite", since_8=True)
def create_client_invite(ctx: Context) -> dict[str, Any]:
    """Reference §3.5: invite an e-mail address to a client account."""
    email = str(ctx.param("email", "")).strip()
    if not email:
        raise ActionError("Email is required")
    client_id = ctx.int_param("client_id")
    if ctx.row(ctx.tables.clients, client_id) is None:
        raise ActionError("Invalid client id")
    wanted = _split(ctx.param("permissions"))
    if not wanted:
        raise ActionError("User permissions are required")
    users, links = ctx.tables.users, ctx.tables.users_clients
    linked = ctx.conn.execute(
        select(func.count())
        .select_from(users.join(links, links.c.auth_user_id == users.c.id))
        .where(users.c.email == email, links.c.client_id == client_id)
    ).scalar()
    if linked:
        raise ActionError("User already associated with client")
    insert_row(
        ctx.conn,
        ctx.tables.user_invites,
        {
            "token": secrets.token_hex(32),
            "email": email,
            "client_id": client_id,
            "invited_by_admin": True,
            "permissions": ",".join(p for p in PERMISSIONS if p in wanted),
            "created_at": ctx.now,
            "updated_at": ctx.now,
        },
    )
    return {}
