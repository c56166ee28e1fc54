"""Questions about domains (``tbldomains``, whmcs.md §1): a domain by id, a client's latest.

A panel without ``tbldomains`` (a trimmed test schema) answers ``None``: callers that have the
name from elsewhere (a DomainDelete hook keeps it) go on without the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from whmcs_bridge.panel.tables import PanelTables

__all__ = ["DomainInfo", "domain", "latest_domain"]


@dataclass(frozen=True)
class DomainInfo:
    """A ``tbldomains`` row."""

    id: int
    client_id: int
    domain: str  # trimmed, as stored (lower case in practice)
    status: str  # Pending, Active, Grace, Redemption, Expired, Cancelled, Transferred Away, ...
    registrar: str  # the registrar module's name, '' = none
    expiry_date: date | None
    next_due_date: date | None


def _domain(row: Any) -> DomainInfo:
    m = row._mapping
    return DomainInfo(
        id=int(m["id"]),
        client_id=int(m.get("userid") or 0),
        domain=str(m.get("domain") or "").strip(),
        status=str(m.get("status") or ""),
        registrar=str(m.get("registrar") or "").strip(),
        expiry_date=m.get("expirydate"),
        next_due_date=m.get("nextduedate"),
    )


def domain(conn: Connection, tables: PanelTables, domain_id: int) -> DomainInfo | None:
    """The domain with id ``domain_id``; ``None`` when the row (or ``tbldomains``) is gone."""
    table = tables.get("domains")
    if table is None:
        return None
    row = conn.execute(select(table).where(table.c.id == domain_id)).first()
    return None if row is None else _domain(row)


def latest_domain(conn: Connection, tables: PanelTables, client_id: int) -> DomainInfo | None:
    """The client's domain with the highest id; ``None`` when it has none."""
    table = tables.get("domains")
    if table is None:
        return None
    query = select(table).where(table.c.userid == client_id).order_by(table.c.id.desc()).limit(1)
    row = conn.execute(query).first()
    return None if row is None else _domain(row)
