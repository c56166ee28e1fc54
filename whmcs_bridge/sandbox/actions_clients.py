"""Sandbox actions for clients (reference §3.2); contacts and users are in ``actions_contacts``."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from whmcs_bridge.sandbox.actions_common import (
    ActionError,
    Context,
    action,
    money,
    text_date,
)

EMAIL_KINDS = ("general", "invoice", "support", "product", "domain", "affiliate")
#: Secrets and legacy card/bank storage never leave the panel.
HIDDEN = frozenset({"password", "authdata", "securityqans", "pwresetkey", "cardnum", "bankacct"})


def _client_prefs(raw: Any) -> dict[str, int]:
    try:
        stored = json.loads(raw) if raw else {}
    except ValueError:
        stored = {}
    return {kind: int(bool(int(stored.get(kind, 1) or 0))) for kind in EMAIL_KINDS}


def _phone_cc(phone: str) -> tuple[str, str]:
    if phone.startswith("+") and "." in phone:
        cc, _, number = phone[1:].partition(".")
        return cc, number
    return "", phone


@action("GetClientsDetails")
def get_clients_details(ctx: Context) -> dict[str, Any]:
    """Reference §3.2: the client by ``clientid`` or ``email``."""
    t = ctx.tables.clients
    if ctx.param("clientid"):
        query = select(t).where(t.c.id == ctx.int_param("clientid"))
    elif ctx.param("email"):
        query = select(t).where(t.c.email == ctx.param("email"))
    else:
        raise ActionError("Either clientid Or email Is Required")
    row = ctx.conn.execute(query).first()
    if row is None:
        raise ActionError("Client Not Found")
    data = row._asdict()
    cc, number = _phone_cc(str(data.get("phonenumber") or ""))
    currency = ctx.currency(int(data.get("currency") or 0))
    client = {
        **{k: v for k, v in data.items() if k not in HIDDEN and not isinstance(v, bytes)},
        "client_id": row.id,
        "userid": row.id,
        "fullname": f"{row.firstname} {row.lastname}".strip(),
        "countrycode": data.get("country", ""),
        "phonecc": cc,
        "phonenumberformatted": f"+{cc}.{number}" if cc else number,
        "currency": data.get("currency", 0),
        "currency_code": currency.code,
        "credit": money(data.get("credit")),
        "email_preferences": _client_prefs(data.get("email_preferences")),
        "datecreated": text_date(data.get("datecreated")),
        "lastlogin": text_date(data.get("lastlogin")),
    }
    links = ctx.tables.get("users_clients")
    users = ctx.tables.get("users")
    if links is not None and users is not None:
        rows = ctx.conn.execute(
            select(users.c.id, users.c.first_name, users.c.last_name, users.c.email, links.c.owner)
            .join(links, links.c.auth_user_id == users.c.id)
            .where(links.c.client_id == row.id)
        )
        client["users"] = {
            "user": [
                {
                    "id": u.id,
                    "name": f"{u.first_name} {u.last_name}".strip(),
                    "email": u.email,
                    "is_owner": bool(u.owner),
                }
                for u in rows
            ]
        }
    return {**client, "client": client}
