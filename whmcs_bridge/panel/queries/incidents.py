"""Questions about the service status page: network issues, and whom an issue affects (R-SL-3).

Staff publish incidents in WHMCS's Network Issues (``tblnetworkissues``); one of type ``Server``
names the server (``tblservers``) it affects, and the clients affected are those with a service
(``tblhosting.server``) or an addon (``tblhostingaddons.server``) on it that is not terminated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from whmcs_bridge.panel.tables import PanelTables

__all__ = [
    "LIVE_SERVICE_STATUSES",
    "AffectedClient",
    "NetworkIssue",
    "clients_on_server",
    "network_issues",
    "unresolved_issue_ids",
]

#: Services whose clients are told about an incident on their server.
LIVE_SERVICE_STATUSES = ("Active", "Suspended")
RESOLVED = "Resolved"


@dataclass(frozen=True)
class NetworkIssue:
    """A ``tblnetworkissues`` row with its server's name."""

    id: int
    title: str
    description: str
    type: str  # Server | System | Other
    affecting: str  # free text for System/Other issues
    server_id: int | None
    server_name: str
    priority: str  # Critical | Low | Medium | High
    status: str  # Reported | Investigating | In Progress | Outage | Scheduled | Resolved
    started_at: datetime | None  # panel-local
    ended_at: datetime | None
    last_update: datetime | None

    @property
    def resolved(self) -> bool:
        return self.status == RESOLVED


@dataclass(frozen=True)
class AffectedClient:
    """A client with at least one live service or addon on a server."""

    client_id: int
    first_name: str
    last_name: str
    company_name: str
    email: str
    language: str  # tblclients.language ('' = the panel's default)
    service_ids: tuple[int, ...]
    domains: tuple[str, ...]


def _text(row: Any, name: str) -> str:
    value = row._mapping.get(name)
    return "" if value is None else str(value).strip()


def network_issues(
    conn: Connection, tables: PanelTables, ids: Iterable[int] | None = None, *, above_id: int = 0
) -> list[NetworkIssue]:
    """Network issues by id: those in ``ids``, or every one above ``above_id``; ``[]`` on a
    panel without the table."""
    issues = tables.get("networkissues")
    if issues is None:
        return []
    servers = tables.get("servers")
    columns: list[Any] = [issues]
    source: Any = issues
    if servers is not None:
        columns.append(servers.c.name.label("server_name"))
        source = issues.outerjoin(servers, servers.c.id == issues.c.server)
    query = select(*columns).select_from(source).order_by(issues.c.id)
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        query = query.where(issues.c.id.in_(wanted))
    else:
        query = query.where(issues.c.id > above_id)
    found = []
    for row in conn.execute(query):
        m = row._mapping
        found.append(
            NetworkIssue(
                id=int(row.id),
                title=_text(row, "title"),
                description=_text(row, "description"),
                type=_text(row, "type"),
                affecting=_text(row, "affecting"),
                server_id=int(m["server"]) if m.get("server") else None,
                server_name=_text(row, "server_name"),
                priority=_text(row, "priority"),
                status=_text(row, "status"),
                started_at=m.get("startdate"),
                ended_at=m.get("enddate"),
                last_update=m.get("lastupdate"),
            )
        )
    return found


def unresolved_issue_ids(conn: Connection, tables: PanelTables) -> set[int]:
    """Ids of the issues not yet ``Resolved`` (the status page's open set: a handful)."""
    issues = tables.get("networkissues")
    if issues is None:
        return set()
    query = select(issues.c.id).where(issues.c.status != RESOLVED)
    return {int(i) for i in conn.execute(query).scalars()}


def clients_on_server(
    conn: Connection, tables: PanelTables, server_id: int
) -> list[AffectedClient]:
    """The clients with a live service (Active or Suspended) or live addon on ``server_id``,
    each once, by client id."""
    hosting, clients = tables.hosting, tables.clients
    services: dict[int, list[tuple[int, str]]] = {}
    query = select(hosting.c.id, hosting.c.userid, hosting.c.domain).where(
        hosting.c.server == server_id, hosting.c.domainstatus.in_(LIVE_SERVICE_STATUSES)
    )
    for row in conn.execute(query):
        services.setdefault(int(row.userid), []).append((int(row.id), str(row.domain or "")))
    addons = tables.get("hostingaddons")
    if addons is not None and "server" in addons.c:
        query = (
            select(addons.c.hostingid, hosting.c.userid, hosting.c.domain)
            .select_from(addons.join(hosting, hosting.c.id == addons.c.hostingid))
            .where(
                addons.c.server == server_id,
                or_(*(addons.c.status == status for status in LIVE_SERVICE_STATUSES)),
            )
        )
        for row in conn.execute(query):
            held = services.setdefault(int(row.userid), [])
            if all(service_id != int(row.hostingid) for service_id, _ in held):
                held.append((int(row.hostingid), str(row.domain or "")))
    services.pop(0, None)
    if not services:
        return []
    found = []
    ids = sorted(services)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        rows = conn.execute(select(clients).where(clients.c.id.in_(chunk)).order_by(clients.c.id))
        for row in rows:
            held = sorted(services[int(row.id)])
            found.append(
                AffectedClient(
                    client_id=int(row.id),
                    first_name=_text(row, "firstname"),
                    last_name=_text(row, "lastname"),
                    company_name=_text(row, "companyname"),
                    email=_text(row, "email"),
                    language=_text(row, "language"),
                    service_ids=tuple(service_id for service_id, _ in held),
                    domains=tuple(domain for _, domain in held if domain),
                )
            )
    return found
