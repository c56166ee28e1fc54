"""Questions about a client: who it is, its currency, language, phone and status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from whmcs_bridge.panel.money import Currency
from whmcs_bridge.panel.tables import PanelTables

__all__ = [
    "ClientInfo",
    "ClientPhone",
    "client",
    "client_by_email",
    "client_phones",
    "clients_by_email",
    "currency_of_client",
    "currency_row",
]


@dataclass(frozen=True)
class ClientInfo:
    """A ``tblclients`` row (a billable account, whmcs.md §1.1) with its currency.

    ``phone`` is the stored text (``+54.2994123456`` or a local number: see ``normalise_phone``);
    ``language`` is WHMCS's language name (``'spanish'``), ``''`` meaning the panel's default.
    """

    id: int
    first_name: str
    last_name: str
    company: str
    email: str
    phone: str
    country: str
    status: str  # Active | Inactive | Closed
    language: str
    currency: Currency
    group_id: int  # tblclientgroups.id, 0 = none
    created: date | None
    address1: str
    address2: str
    city: str
    state: str
    postcode: str
    tax_id: str  # '' when the panel has no tax_id column or none was entered
    credit: Decimal

    @property
    def full_name(self) -> str:
        """First and last name as WHMCS shows them."""
        return f"{self.first_name} {self.last_name}".strip()


def currency_row(conn: Connection, tables: PanelTables, currency_id: int | None) -> Currency:
    """A ``tblcurrencies`` row as a :class:`Currency`; the default currency when the id names
    none (a client with currency 0, a deleted currency); ``Currency(0, "")`` when the panel has
    no currency at all."""
    table = tables.currencies
    row = None
    if currency_id:
        row = conn.execute(select(table).where(table.c.id == currency_id)).first()
    if row is None:
        query = select(table).order_by(table.c.default.desc(), table.c.id).limit(1)
        row = conn.execute(query).first()
    if row is None:
        return Currency(0, "", "", "", 1)
    return Currency(
        row.id, row.code or "", row.prefix or "", row.suffix or "", int(row.format or 1)
    )


def currency_of_client(conn: Connection, tables: PanelTables, client_id: int) -> Currency:
    """The currency a client is billed in (``tblclients.currency``), or the panel's default."""
    clients = tables.clients
    currency_id = conn.execute(
        select(clients.c.currency).where(clients.c.id == client_id)
    ).scalar_one_or_none()
    return currency_row(conn, tables, currency_id)


def _text(row: Any, name: str) -> str:
    value = row._mapping.get(name)
    return "" if value is None else str(value)


def _client_info(conn: Connection, tables: PanelTables, row: Any) -> ClientInfo:
    credit = row._mapping.get("credit")
    return ClientInfo(
        id=int(row.id),
        first_name=_text(row, "firstname"),
        last_name=_text(row, "lastname"),
        company=_text(row, "companyname"),
        email=_text(row, "email").strip(),
        phone=_text(row, "phonenumber"),
        country=_text(row, "country").strip().upper(),
        status=_text(row, "status"),
        language=_text(row, "language").strip(),
        currency=currency_row(conn, tables, row.currency),
        group_id=int(row._mapping.get("groupid") or 0),
        created=row._mapping.get("datecreated"),
        address1=_text(row, "address1"),
        address2=_text(row, "address2"),
        city=_text(row, "city"),
        state=_text(row, "state"),
        postcode=_text(row, "postcode"),
        tax_id=_text(row, "tax_id"),
        credit=credit if credit is not None else Decimal("0.00"),
    )


def _columns(tables: PanelTables) -> list[Any]:
    """The client columns read, leaving out secrets and what this panel lacks."""
    wanted = [
        "id",
        "firstname",
        "lastname",
        "companyname",
        "email",
        "phonenumber",
        "country",
        "status",
        "language",
        "currency",
        "groupid",
        "datecreated",
        "address1",
        "address2",
        "city",
        "state",
        "postcode",
        "tax_id",
        "credit",
    ]
    table = tables.clients
    return [table.c[name] for name in wanted if name in table.c]


def client(conn: Connection, tables: PanelTables, client_id: int) -> ClientInfo | None:
    """The client with id ``client_id``, or ``None`` when there is no such row."""
    table = tables.clients
    row = conn.execute(select(*_columns(tables)).where(table.c.id == client_id)).first()
    return None if row is None else _client_info(conn, tables, row)


def clients_by_email(conn: Connection, tables: PanelTables, email: str) -> list[ClientInfo]:
    """Every client whose e-mail is ``email`` (trimmed, any case), by id.

    WHMCS refuses a second client with the same e-mail, but imports and direct edits leave some:
    code that must not pick one at random (R-TR-1) asks this and checks there is exactly one.
    """
    wanted = email.strip().lower()
    if not wanted:
        return []
    table = tables.clients
    query = select(*_columns(tables)).order_by(table.c.id)
    if conn.dialect.name in ("mysql", "mariadb"):
        # utf8_unicode_ci compares without case and trailing blanks, through the email index.
        query = query.where(table.c.email == wanted)
    else:
        query = query.where(func.lower(func.trim(table.c.email)) == wanted)
    rows = conn.execute(query).all()
    # The collation also equates accents; keep only true matches.
    return [
        _client_info(conn, tables, row)
        for row in rows
        if str(row.email or "").strip().lower() == wanted
    ]


def client_by_email(conn: Connection, tables: PanelTables, email: str) -> ClientInfo | None:
    """The client with e-mail ``email`` (trimmed, any case); the lowest id when several share
    it (see :func:`clients_by_email`); ``None`` when none has it."""
    found = clients_by_email(conn, tables, email)
    return found[0] if found else None


@dataclass(frozen=True)
class ClientPhone:
    """What checking a client's WhatsApp number needs: who, the stored phone and country."""

    id: int
    name: str  # the company, else first and last name
    first_name: str
    phone: str
    country: str
    status: str
    language: str


def client_phones(
    conn: Connection, tables: PanelTables, *, ending: str | None = None, active_only: bool = False
) -> list[ClientPhone]:
    """Clients' stored phones, by id. ``ending``: only phones whose text ends with these digits
    (a cheap first cut when looking a number up; the caller still normalises and compares);
    ``active_only``: only ``Active`` clients."""
    table = tables.clients
    names = ("id", "firstname", "lastname", "companyname", "phonenumber", "country", "status")
    columns = [table.c[n] for n in (*names, "language") if n in table.c]
    query = select(*columns).order_by(table.c.id)
    if ending:
        query = query.where(table.c.phonenumber.like(f"%{ending}"))
    if active_only:
        query = query.where(table.c.status == "Active")
    found = []
    for row in conn.execute(query):
        company = _text(row, "companyname").strip()
        person = f"{_text(row, 'firstname')} {_text(row, 'lastname')}".strip()
        found.append(
            ClientPhone(
                id=int(row.id),
                name=company or person,
                first_name=_text(row, "firstname").strip(),
                phone=_text(row, "phonenumber"),
                country=_text(row, "country").strip().upper(),
                status=_text(row, "status"),
                language=_text(row, "language").strip(),
            )
        )
    return found
