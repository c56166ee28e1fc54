"""The people of a client: who may act for it and who hears from it, on both WHMCS models.

WHMCS 7.x keeps everybody in ``tblcontacts``: a contact with ``subaccount=1`` logs in with the
``permissions`` it holds (comma list). WHMCS 8.x moved logins to ``tblusers``, linked to clients
by ``tblusers_clients`` (permissions, ``owner`` flag); its contacts only receive mail
(``whmcs.md`` §1.2-1.4, §6). Both answer here as :class:`Person` rows of one shape.

The panel-wide scans the audit uses are in :mod:`.people_scans`; they, and :func:`pending_invites`
of the whole panel, stream in primary-key pages (:func:`_pages`) so an audit of a big panel holds
one page at a time and every query is a range on a primary key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Table, select

from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.panel.types import date_is_unset, parse_panel_bool

#: WHMCS's 13 permission keys, in its canonical order (``whmcs.md`` §1.4, §3.5, §6.2).
PERMISSIONS: tuple[str, ...] = (
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
#: The e-mail preference kinds (``whmcs.md`` §6.3): client JSON keys; contacts' ``<kind>emails``.
EMAIL_KINDS: tuple[str, ...] = ("general", "invoice", "product", "domain", "support", "affiliate")
#: The kinds of person, as ``contacts list`` shows them.
KINDS = ("owner", "user", "subaccount", "contact")
#: Rows per page of a panel-wide scan.
SCAN_PAGE = 5000


@dataclass(frozen=True)
class Person:
    """One person who can act for a client or hears from it.

    ``kind``: ``owner`` (8.x: the owner user; 7.x: the client record), ``user`` (8.x login linked
    without ownership), ``subaccount`` (7.x contact that logs in), ``contact`` (mail only).
    ``id`` is the ``tblusers.id`` of owners and users on 8.x, the client id of a 7.x owner, and
    the ``tblcontacts.id`` of sub-accounts and contacts. ``email_preferences`` is ``None`` for an
    8.x user, whom WHMCS never mails by preference; ``contact_id`` names the contact row of the
    same client with the same e-mail, when there is one (its preferences then apply).
    """

    kind: str
    id: int
    client_id: int
    first_name: str
    last_name: str
    email: str
    permissions: tuple[str, ...]
    email_preferences: dict[str, bool] | None
    last_login: datetime | None = None
    phone: str = ""
    country: str = ""
    language: str = ""
    link_id: int | None = None
    invite_id: int | None = None
    contact_id: int | None = None
    created_at: datetime | None = None
    company: str = ""  # the contact's or the owner client's company name

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    @property
    def can_log_in(self) -> bool:
        return self.kind in ("owner", "user", "subaccount")

    @property
    def key(self) -> str:
        """``owner:5``, ``user:6``, ``subaccount:3``, ``contact:7``: what the CLI names."""
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Invite:
    """A ``tbluser_invites`` row (8.x): an e-mail asked to join a client with some rights."""

    id: int
    client_id: int
    email: str
    permissions: tuple[str, ...]
    invited_by: int
    invited_by_admin: bool
    created_at: datetime | None
    accepted_at: datetime | None = None


def split_permissions(value: object) -> tuple[str, ...]:
    """A stored permission list in canonical order; unknown keys are dropped."""
    wanted = {part.strip() for part in str(value or "").split(",") if part.strip()}
    return tuple(key for key in PERMISSIONS if key in wanted)


def client_preferences(raw: object) -> dict[str, bool]:
    """``tblclients.email_preferences`` (8.x JSON; NULL, absent or unreadable = all on)."""
    try:
        stored = json.loads(str(raw)) if raw else {}
    except ValueError:
        stored = {}
    if not isinstance(stored, dict):
        stored = {}
    return {kind: parse_panel_bool(stored.get(kind, 1)) for kind in EMAIL_KINDS}


def contact_preferences(row: Any) -> dict[str, bool]:
    """A contact row's ``<kind>emails`` columns as preferences."""
    m = row._mapping
    return {kind: parse_panel_bool(m.get(f"{kind}emails")) for kind in EMAIL_KINDS}


def has_users(tables: PanelTables) -> bool:
    """WHMCS 8.x: logins live in ``tblusers`` + ``tblusers_clients``."""
    return tables.get("users") is not None and tables.get("users_clients") is not None


def _text(value: object) -> str:
    return str(value or "").strip()


def _contact_person(row: Any, logins: bool) -> Person:
    m = row._mapping
    sub = logins and parse_panel_bool(m.get("subaccount"))
    return Person(
        kind="subaccount" if sub else "contact",
        id=int(m["id"]),
        client_id=int(m["userid"]),
        first_name=_text(m.get("firstname")),
        last_name=_text(m.get("lastname")),
        email=_text(m.get("email")),
        permissions=split_permissions(m.get("permissions")) if sub else (),
        email_preferences=contact_preferences(row),
        phone=_text(m.get("phonenumber")),
        country=_text(m.get("country")),
        contact_id=int(m["id"]),
        created_at=m.get("created_at"),
        company=_text(m.get("companyname")),
    )


def _client_owner(row: Any) -> Person:
    m = row._mapping
    return Person(
        kind="owner",
        id=int(m["id"]),
        client_id=int(m["id"]),
        first_name=_text(m.get("firstname")),
        last_name=_text(m.get("lastname")),
        email=_text(m.get("email")),
        permissions=PERMISSIONS,
        email_preferences=client_preferences(m.get("email_preferences")),
        last_login=m.get("lastlogin"),
        phone=_text(m.get("phonenumber")),
        country=_text(m.get("country")),
        language=_text(m.get("language")),
        company=_text(m.get("companyname")),
    )


def _user_columns(tables: PanelTables) -> list[Any]:
    users, links = tables.users, tables.users_clients
    return [
        links.c.id.label("link_id"),
        links.c.client_id,
        links.c.owner,
        links.c.permissions,
        links.c.invite_id,
        links.c.last_login.label("link_login"),
        links.c.created_at.label("linked_at"),
        users.c.id.label("user_id"),
        users.c.first_name,
        users.c.last_name,
        users.c.email,
        users.c.language,
        users.c.last_login.label("user_login"),
    ]


def _user_person(row: Any, client: Person | None) -> Person:
    m = row._mapping
    owner = parse_panel_bool(m["owner"])
    logins = [t for t in (m.get("link_login"), m.get("user_login")) if t is not None]
    return Person(
        kind="owner" if owner else "user",
        id=int(m["user_id"]),
        client_id=int(m["client_id"]),
        first_name=_text(m.get("first_name")),
        last_name=_text(m.get("last_name")),
        email=_text(m.get("email")),
        permissions=PERMISSIONS if owner else split_permissions(m.get("permissions")),
        # The owner hears what the client record's preferences let through.
        email_preferences=client.email_preferences if owner and client else None,
        last_login=max(logins) if logins else None,
        phone=client.phone if owner and client else "",
        country=client.country if client else "",
        language=_text(m.get("language")) or (client.language if client else ""),
        link_id=int(m["link_id"]),
        invite_id=int(m.get("invite_id") or 0) or None,
        created_at=m.get("linked_at"),
    )


def people(conn: Connection, tables: PanelTables, client_id: int) -> list[Person]:
    """Everyone who can act for or hear from a client: the owner first, then users or
    sub-accounts, then mail-only contacts; ``[]`` when the client does not exist (R-CT-1/2)."""
    clients = tables.clients
    row = conn.execute(select(clients).where(clients.c.id == client_id)).first()
    if row is None:
        return []
    client = _client_owner(row)
    found: list[Person] = []
    users = has_users(tables)
    if users:
        links = tables.users_clients
        query = (
            select(*_user_columns(tables))
            .select_from(links.join(tables.users, tables.users.c.id == links.c.auth_user_id))
            .where(links.c.client_id == client_id)
            .order_by(links.c.owner.desc(), links.c.id)
        )
        found = [_user_person(r, client) for r in conn.execute(query)]
    if not any(p.kind == "owner" for p in found):
        found.insert(0, client)  # 7.x, or an 8.x client whose owner link is missing
    contacts = tables.get("contacts")
    if contacts is not None:
        logins = not users and "subaccount" in contacts.c
        rows = conn.execute(
            select(contacts).where(contacts.c.userid == client_id).order_by(contacts.c.id)
        )
        mail = [_contact_person(r, logins) for r in rows]
        by_email = {p.email.lower(): p for p in mail if p.email}
        # An 8.x user hears through the contact row that shares its e-mail, if any.
        found = [
            _with_contact(p, by_email.get(p.email.lower())) if p.kind == "user" else p
            for p in found
        ]
        found.extend(sorted(mail, key=lambda p: (p.kind != "subaccount", p.id)))
    return found


def _with_contact(person: Person, contact: Person | None) -> Person:
    if contact is None:
        return person
    return replace(
        person,
        contact_id=contact.id,
        email_preferences=contact.email_preferences,
        phone=contact.phone,
        country=contact.country or person.country,
    )


def person(conn: Connection, tables: PanelTables, client_id: int, key: str) -> Person | None:
    """One person of a client by :attr:`Person.key` (``user:6``) or bare kind and id."""
    return next((p for p in people(conn, tables, client_id) if p.key == key), None)


def person_by_email(
    conn: Connection, tables: PanelTables, client_id: int, email: str
) -> Person | None:
    """The person of a client with this e-mail (case-insensitive): a login first, else a contact."""
    wanted = email.strip().lower()
    matches = [p for p in people(conn, tables, client_id) if p.email.lower() == wanted]
    matches.sort(key=lambda p: KINDS.index(p.kind))
    return matches[0] if matches else None


def pending_invites(
    conn: Connection, tables: PanelTables, client_id: int | None = None
) -> list[Invite]:
    """Invites not accepted and not withdrawn (8.x ``tbluser_invites``), of one client or all."""
    invites = tables.get("user_invites")
    if invites is None:
        return []
    query = select(invites).where(date_is_unset(invites.c.accepted_at))
    if "deleted_at" in invites.c:
        query = query.where(date_is_unset(invites.c.deleted_at))
    if client_id is not None:
        query = query.where(invites.c.client_id == client_id)
    found = []
    for rows in _pages(conn, query, invites):
        found.extend(_invite(r) for r in rows)
    return found


def _invite(row: Any) -> Invite:
    m = row._mapping
    return Invite(
        id=int(m["id"]),
        client_id=int(m["client_id"]),
        email=_text(m.get("email")),
        permissions=split_permissions(m.get("permissions")),
        invited_by=int(m.get("invited_by") or 0),
        invited_by_admin=parse_panel_bool(m.get("invited_by_admin")),
        created_at=m.get("created_at"),
        accepted_at=m.get("accepted_at"),
    )


def invite(conn: Connection, tables: PanelTables, invite_id: int) -> Invite | None:
    """One invite by id (8.x), or ``None``."""
    invites = tables.get("user_invites")
    if invites is None or not invite_id:
        return None
    row = conn.execute(select(invites).where(invites.c.id == invite_id)).first()
    return _invite(row) if row is not None else None


def login_permissions(
    conn: Connection, tables: PanelTables, client_id: int, user_id: int
) -> tuple[str, ...] | None:
    """The permission keys a login holds on a client (canonical order); all of them for the
    owner; ``None`` when the login may not act for the client.

    8.x: ``user_id`` is a ``tblusers.id`` and its ``tblusers_clients`` link decides (``owner``
    holds every key). 7.x: ``user_id`` 0 is the client's own login (every key); any other is a
    ``tblcontacts.id`` of the client with ``subaccount`` set (whmcs.md §1.4, §6.1)."""
    if has_users(tables):
        links = tables.users_clients
        row = conn.execute(
            select(links.c.owner, links.c.permissions).where(
                links.c.client_id == client_id, links.c.auth_user_id == user_id
            )
        ).first()
        if row is None:
            return None
        return PERMISSIONS if parse_panel_bool(row.owner) else split_permissions(row.permissions)
    if user_id == 0:
        return PERMISSIONS
    contacts = tables.contacts
    row = conn.execute(
        select(contacts.c.subaccount, contacts.c.permissions).where(
            contacts.c.id == user_id, contacts.c.userid == client_id
        )
    ).first()
    if row is None or not parse_panel_bool(row.subaccount):
        return None
    return split_permissions(row.permissions)


def owner_user_id(conn: Connection, tables: PanelTables, client_id: int) -> int | None:
    """The ``tblusers.id`` of a client's owner (8.x), or ``None``."""
    if not has_users(tables):
        return None
    links = tables.users_clients
    return conn.execute(
        select(links.c.auth_user_id).where(links.c.client_id == client_id, links.c.owner == 1)
    ).scalar()


# -- paging ------------------------------------------------------------------------------------


def _pages(
    conn: Connection, query: Select[Any], table: Table, row_key: str = "id"
) -> Iterator[list[Any]]:
    """``query`` in primary-key pages of :data:`SCAN_PAGE` rows (a range scan per page).

    ``row_key`` is the name the query gives ``table.c.id`` (it may be labelled)."""
    last = 0
    while True:
        rows = conn.execute(
            query.where(table.c.id > last).order_by(table.c.id).limit(SCAN_PAGE)
        ).all()
        if not rows:
            return
        yield rows
        last = int(rows[-1]._mapping[row_key])
        if len(rows) < SCAN_PAGE:
            return
