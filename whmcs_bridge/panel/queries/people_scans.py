"""Panel-wide reads of people, for the contacts audit and lists that name many clients: shared
e-mails, every non-owner login, who hears invoices, users linked to many clients, client names.

The scans stream in primary-key pages (:func:`.people._pages`) so an audit of a big panel holds
one page at a time and every query is a range on a primary key; rows come back as the
:class:`.people.Person` of :mod:`.people`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from whmcs_bridge.panel.queries.people import (
    Person,
    _contact_person,
    _pages,
    _text,
    _user_columns,
    _user_person,
    has_users,
)
from whmcs_bridge.panel.tables import PanelTables


@dataclass
class EmailHolder:
    """Who holds one e-mail address across the panel (an audit's grouping)."""

    email: str
    owners: list[int] = field(default_factory=list)  # client ids whose holder uses it
    contacts: list[tuple[int, int]] = field(default_factory=list)  # (contact id, client id)


def email_holders(conn: Connection, tables: PanelTables) -> Iterator[EmailHolder]:
    """Every e-mail (lower-cased) held by more than one client's holder, or by a holder and a
    contact of another client (R-TR-1, R-TR-8). Two streamed scans; memory: one int per client."""
    clients = tables.clients
    first: dict[str, int] = {}
    shared: dict[str, EmailHolder] = {}
    for rows in _pages(conn, select(clients.c.id, clients.c.email), clients):
        for row in rows:
            email = _text(row.email).lower()
            if not email:
                continue
            if email in first:
                holder = shared.setdefault(email, EmailHolder(email, [first[email]]))
                holder.owners.append(int(row.id))
            else:
                first[email] = int(row.id)
    contacts = tables.get("contacts")
    if contacts is not None:
        query = select(contacts.c.id, contacts.c.userid, contacts.c.email)
        for rows in _pages(conn, query, contacts):
            for row in rows:
                email = _text(row.email).lower()
                owner = first.get(email)
                if owner is None or owner == int(row.userid):
                    continue
                holder = shared.setdefault(email, EmailHolder(email, [owner]))
                holder.contacts.append((int(row.id), int(row.userid)))
    yield from shared.values()


def login_rows(conn: Connection, tables: PanelTables) -> Iterator[Person]:
    """Every non-owner login of the panel: 8.x users' links, or 7.x sub-account contacts."""
    if has_users(tables):
        links, users = tables.users_clients, tables.users
        query = (
            select(*_user_columns(tables))
            .select_from(links.join(users, users.c.id == links.c.auth_user_id))
            .where(links.c.owner == 0)
        )
        for rows in _pages(conn, query, links, "link_id"):
            yield from (_user_person(r, None) for r in rows)
        return
    contacts = tables.get("contacts")
    if contacts is None or "subaccount" not in contacts.c:
        return
    query = select(contacts).where(contacts.c.subaccount == 1)
    for rows in _pages(conn, query, contacts):
        yield from (_contact_person(r, True) for r in rows)


def invoice_mail_index(conn: Connection, tables: PanelTables) -> dict[tuple[int, str], bool]:
    """(client id, lower e-mail) -> whether that 8.x contact receives invoice e-mails, for
    every contact with an e-mail: an 8.x user hears through the contact sharing its e-mail,
    so the audit finds it without a query per user. One streamed scan; empty on 7.x."""
    contacts = tables.get("contacts")
    if contacts is None or not has_users(tables) or "invoiceemails" not in contacts.c:
        return {}
    found: dict[tuple[int, str], bool] = {}
    query = select(contacts.c.id, contacts.c.userid, contacts.c.email, contacts.c.invoiceemails)
    for rows in _pages(conn, query, contacts):
        for row in rows:
            email = _text(row.email).lower()
            if email:
                key = (int(row.userid), email)
                found[key] = found.get(key, False) or bool(row.invoiceemails)
    return found


def clients_per_user(conn: Connection, tables: PanelTables, at_least: int) -> dict[int, int]:
    """8.x users linked to ``at_least`` clients or more: user id -> how many (index-only)."""
    if not has_users(tables):
        return {}
    links = tables.users_clients
    count = func.count(links.c.id)
    query = (
        select(links.c.auth_user_id, count.label("clients"))
        .group_by(links.c.auth_user_id)
        .having(count >= at_least)
    )
    return {int(r.auth_user_id): int(r.clients) for r in conn.execute(query)}


def user_links(conn: Connection, tables: PanelTables, user_ids: list[int]) -> list[Person]:
    """The links (owner or not) of these 8.x users, as people."""
    if not has_users(tables) or not user_ids:
        return []
    links, users = tables.users_clients, tables.users
    found = []
    for start in range(0, len(user_ids), 1000):
        query = (
            select(*_user_columns(tables))
            .select_from(links.join(users, users.c.id == links.c.auth_user_id))
            .where(links.c.auth_user_id.in_(user_ids[start : start + 1000]))
            .order_by(links.c.auth_user_id, links.c.client_id)
        )
        found.extend(_user_person(r, None) for r in conn.execute(query))
    return found


def client_names(conn: Connection, tables: PanelTables, ids: list[int]) -> dict[int, str]:
    """Holder names (``first last``, else the company) of these clients."""
    clients = tables.clients
    found: dict[int, str] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 1000):
        rows = conn.execute(
            select(
                clients.c.id, clients.c.firstname, clients.c.lastname, clients.c.companyname
            ).where(clients.c.id.in_(unique[start : start + 1000]))
        )
        for r in rows:
            name = f"{_text(r.firstname)} {_text(r.lastname)}".strip()
            found[int(r.id)] = name or _text(r.companyname)
    return found
