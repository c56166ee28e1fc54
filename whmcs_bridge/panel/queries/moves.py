"""Moving a service to another client (whmcs.md §3.6): the move-specific questions, and the move.

WHMCS has no API action and no hook for the move, so :func:`move_service` is one of the two
direct writes the architecture allows: inside the caller's transaction it changes the owner of
the service, of its addons and of its SSL orders (and, when asked, of the domain of the same
name), guarded by the old owner so that a move decided on stale facts changes nothing, and
writes the activity-log lines WHMCS writes for its own move. Invoices, upgrades, cancellation
requests and tickets stay where they are, as WHMCS leaves them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.panel.tables import PanelTables

#: Invoice statuses that still wait for money (an upgrade on one of them is not done yet).
UNPAID_STATUSES = ("Unpaid", "Payment Pending")


@dataclass(frozen=True)
class PendingUpgrade:
    """A ``tblupgrades`` row still Pending, with the unpaid invoice that would complete it."""

    id: int
    type: str  # package | configoptions | service | addon
    invoice_id: int


@dataclass(frozen=True)
class DomainRow:
    id: int
    domain: str
    status: str


@dataclass(frozen=True)
class SharedEmail:
    """A person of one account (the client itself, a contact or a login user) holding an e-mail
    that identifies the other account (its registered e-mail or its owner user's)."""

    client_id: int  # the account the person belongs to
    kind: str  # client | contact | user
    person_id: int
    email: str


@dataclass(frozen=True)
class MovedRows:
    """What :func:`move_service` changed."""

    addon_ids: tuple[int, ...]
    ssl_order_ids: tuple[int, ...]
    domain_ids: tuple[int, ...]


class MoveConflict(BridgeError):
    """The service (or a row that moves with it) no longer belongs to the client the move was
    decided for: nothing was changed."""


def ssl_orders_of_service(conn: Connection, tables: PanelTables, service_id: int) -> list[int]:
    """Ids of the SSL orders bought with the service or one of its addons (they move with it)."""
    ssl = tables.get("sslorders")
    if ssl is None:
        return []
    query = select(ssl.c.id).where(ssl.c.serviceid == service_id).order_by(ssl.c.id)
    return [int(i) for i in conn.execute(query).scalars()]


def pending_upgrades_of_service(
    conn: Connection, tables: PanelTables, service_id: int, addon_ids: Sequence[int] = ()
) -> list[PendingUpgrade]:
    """Upgrades of the service (or of its addons) still Pending on an unpaid invoice (§1.13):
    moving the service would leave the upgrade's invoice with the old owner."""
    upgrades, items, invoices = tables.upgrades, tables.invoiceitems, tables.invoices
    of_service = and_(upgrades.c.type != "addon", upgrades.c.relid == service_id)
    subject = or_(of_service, and_(upgrades.c.type == "addon", upgrades.c.relid.in_(addon_ids)))
    query = (
        select(upgrades.c.id, upgrades.c.type, invoices.c.id.label("invoice_id"))
        .select_from(
            upgrades.join(
                items,
                and_(
                    items.c.userid == upgrades.c.userid,
                    items.c.type == "Upgrade",
                    items.c.relid == upgrades.c.id,
                ),
            ).join(invoices, invoices.c.id == items.c.invoiceid)
        )
        .where(
            subject,
            upgrades.c.status == "Pending",
            invoices.c.status.in_(UNPAID_STATUSES),
        )
        .order_by(upgrades.c.id)
    )
    return [PendingUpgrade(int(r.id), str(r.type), int(r.invoice_id)) for r in conn.execute(query)]


def domains_named(
    conn: Connection, tables: PanelTables, client_id: int, name: str
) -> list[DomainRow]:
    """The client's domains called ``name`` (a service's domain): WHMCS moves them separately."""
    domains = tables.get("domains")
    wanted = name.strip().lower()
    if domains is None or not wanted:
        return []
    query = (
        select(domains.c.id, domains.c.domain, domains.c.status)
        .where(domains.c.userid == client_id, func.lower(domains.c.domain) == wanted)
        .order_by(domains.c.id)
    )
    return [DomainRow(int(r.id), str(r.domain), str(r.status)) for r in conn.execute(query)]


def _logins(conn: Connection, tables: PanelTables, client_ids: Sequence[int]) -> list[Any]:
    """(user id, client id, e-mail lower-cased, owner) of every login of the clients (8.x)."""
    links, users = tables.get("users_clients"), tables.get("users")
    if links is None or users is None:
        return []
    query = (
        select(users.c.id, links.c.client_id, users.c.email, links.c.owner)
        .select_from(links.join(users, users.c.id == links.c.auth_user_id))
        .where(links.c.client_id.in_(client_ids))
    )
    return [
        (int(r.id), int(r.client_id), str(r.email).strip().lower(), bool(r.owner))
        for r in conn.execute(query)
    ]


def _email_in(conn: Connection, column: Any, emails: Sequence[str]) -> Any:
    """``column IN emails`` without case: MySQL's ``utf8_unicode_ci`` compares so through the
    e-mail index; SQLite needs ``lower()``. Callers re-compare the values they get back."""
    if conn.dialect.name in ("mysql", "mariadb"):
        return column.in_(emails)
    return func.lower(func.trim(column)).in_(emails)


def shared_emails(
    conn: Connection,
    tables: PanelTables,
    first: tuple[int, str],
    second: tuple[int, str],
) -> list[SharedEmail]:
    """Who, in either of two accounts, holds an e-mail that identifies the other (R-TR-1/8).

    An account is identified by its registered e-mail and, on 8.x, its owner user's e-mail. A
    match is the other client itself, one of its contacts, or one of its login users (8.x) whose
    e-mail is one of those. ``first``/``second`` are (client id, registered e-mail).
    """
    ids = (first[0], second[0])
    identity: dict[int, set[str]] = {
        client_id: {email.strip().lower()} - {""} for client_id, email in (first, second)
    }
    logins = _logins(conn, tables, ids)
    for _user_id, client_id, email, owner in logins:
        if owner:
            identity[client_id].add(email)
    other = {first[0]: second[0], second[0]: first[0]}
    every = sorted(identity[first[0]] | identity[second[0]])
    found: list[SharedEmail] = []

    def claim(client_id: int, kind: str, person_id: int, email: str) -> None:
        email = email.strip().lower()
        if email in identity[other[client_id]]:
            found.append(SharedEmail(client_id, kind, person_id, email))

    for client_id, email in (first, second):
        claim(client_id, "client", client_id, email)
    for user_id, client_id, email, _owner in logins:
        claim(client_id, "user", user_id, email)
    if every:
        contacts = tables.contacts
        query = select(contacts.c.id, contacts.c.userid, contacts.c.email).where(
            _email_in(conn, contacts.c.email, every), contacts.c.userid.in_(ids)
        )
        for row in conn.execute(query):
            claim(int(row.userid), "contact", int(row.id), str(row.email))
    return sorted(set(found), key=lambda s: (s.client_id, s.kind, s.person_id))


def _ids(conn: Connection, query: object) -> tuple[int, ...]:
    return tuple(int(i) for i in conn.execute(query).scalars())  # type: ignore[call-overload]


def move_service(
    conn: Connection,
    tables: PanelTables,
    service_id: int,
    from_client_id: int,
    to_client_id: int,
    domain_ids: Sequence[int] = (),
) -> MovedRows:
    """Move the service, its addons, its SSL orders and the given domains to ``to_client_id``,
    inside the caller's transaction, as WHMCS's own move does (whmcs.md §3.6).

    The service and the domains are guarded by the old owner: if one is no longer
    ``from_client_id``'s (someone moved it meanwhile) :class:`MoveConflict` is raised and the
    caller's transaction rolls back, so nothing is half-moved.
    """
    hosting, addons = tables.hosting, tables.hostingaddons
    moved = conn.execute(
        update(hosting)
        .where(hosting.c.id == service_id, hosting.c.userid == from_client_id)
        .values(userid=to_client_id)
    )
    if moved.rowcount != 1:
        raise MoveConflict(
            f"service {service_id} no longer belongs to client {from_client_id}: nothing moved"
        )
    # Like WHMCS: every addon and SSL order of the service, whatever its userid says (old rows
    # may hold 0).
    addon_ids = _ids(conn, select(addons.c.id).where(addons.c.hostingid == service_id))
    if addon_ids:
        conn.execute(
            update(addons).where(addons.c.hostingid == service_id).values(userid=to_client_id)
        )
    ssl_ids: tuple[int, ...] = ()
    ssl = tables.get("sslorders")
    if ssl is not None:
        ssl_ids = _ids(conn, select(ssl.c.id).where(ssl.c.serviceid == service_id))
        if ssl_ids:
            conn.execute(
                update(ssl).where(ssl.c.serviceid == service_id).values(userid=to_client_id)
            )
    if domain_ids:
        domains = tables.domains
        mine = and_(domains.c.id.in_(domain_ids), domains.c.userid == from_client_id)
        done = conn.execute(update(domains).where(mine).values(userid=to_client_id))
        if done.rowcount != len(set(domain_ids)):
            raise MoveConflict(
                f"domain(s) {', '.join(map(str, domain_ids))} no longer belong to client "
                f"{from_client_id}: nothing moved"
            )
    return MovedRows(addon_ids, ssl_ids, tuple(sorted(set(domain_ids))))


def move_log_lines(
    service_id: int, from_client_id: int, to_client_id: int, domain_ids: Sequence[int] = ()
) -> list[str]:
    """The activity-log descriptions WHMCS writes for its own move (whmcs.md §1.19, §3.6)."""
    lines = [
        f"Moved Service ID: {service_id} from User ID: {from_client_id} to User ID: {to_client_id}"
    ]
    lines += [
        f"Moved Domain ID: {domain_id} from User ID: {from_client_id} to User ID: {to_client_id}"
        for domain_id in sorted(set(domain_ids))
    ]
    return lines


def log_activity(
    conn: Connection,
    tables: PanelTables,
    client_id: int,
    description: str,
    user: str,
    when: datetime,
) -> None:
    """One ``tblactivitylog`` line about ``client_id`` (only the columns this database has)."""
    log = tables.activitylog
    values = {
        "date": when,
        "description": description,
        "user": user,
        "userid": client_id,
        "user_id": 0,
        "admin_id": 0,
        "ipaddr": "",
    }
    conn.execute(insert(log).values({k: v for k, v in values.items() if k in log.c}))


#: The rights a move needs beyond SELECT (``bridge_db_grants`` of the transfers plugin).
MOVE_COLUMNS = (
    ("hosting", "userid"),
    ("hostingaddons", "userid"),
    ("sslorders", "userid"),
    ("domains", "userid"),
)


def move_rights_problems(conn: Connection, tables: PanelTables) -> list[str]:
    """Which rights of a move the connection's user lacks, by trying each statement on no rows
    inside a transaction that is rolled back (MySQL checks rights even when no row matches)."""
    problems: list[str] = []
    probes: list[tuple[str, Any]] = []
    for short, column in MOVE_COLUMNS:
        table = tables.get(short)
        if table is not None:
            statement = update(table).where(table.c.id < 0).values({column: table.c[column]})
            probes.append((f"UPDATE ({column}) on {table.name}", statement))
    log = tables.activitylog
    columns = [c for c in log.c if not c.primary_key]  # a strict session wants each one named
    names = [c.name for c in columns]
    statement = insert(log).from_select(names, select(*columns).where(log.c.id < 0))
    probes.append((f"INSERT on {log.name}", statement))
    for what, statement in probes:
        transaction = conn.begin_nested() if conn.in_transaction() else conn.begin()
        try:
            conn.execute(statement)
        except DBAPIError as exc:
            problems.append(f"{what}: {str(getattr(exc, 'orig', exc)).splitlines()[0][:160]}")
        finally:
            transaction.rollback()
    return problems
