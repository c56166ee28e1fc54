"""Questions about cancellation requests (``tblcancelrequests``, reference §1.14, §5.1).

WHMCS keeps no status on a request: it is "open" while its service is not ``Cancelled`` or
``Terminated`` (the admin list derives it the same way). A service has at most one row: WHMCS
refuses a second request while any row exists, even an old completed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, delete, func, select

from whmcs_bridge.panel.tables import PanelTables

#: Service statuses that mean the request has taken effect (reference §1.14).
ENDED_STATUSES = ("Cancelled", "Terminated")
#: The two request types WHMCS knows; anything else is stored as End of Billing Period.
IMMEDIATE = "Immediate"
END_OF_PERIOD = "End of Billing Period"


@dataclass(frozen=True)
class CancelRequest:
    """One ``tblcancelrequests`` row with its service's owner and status now.

    ``client_id`` and ``service_status`` are ``None`` when the service row is gone.
    ``requested_at`` is the panel's local time of the request (``None`` for a zero date).
    """

    id: int
    service_id: int
    client_id: int | None
    requested_at: datetime | None
    type: str
    reason: str
    service_status: str | None

    @property
    def immediate(self) -> bool:
        return self.type == IMMEDIATE

    @property
    def is_open(self) -> bool:
        """The service exists and has not ended yet."""
        return self.service_status is not None and self.service_status not in ENDED_STATUSES


def _query(tables: PanelTables) -> Select[tuple[object, ...]]:
    r, h = tables.cancelrequests, tables.hosting
    return select(
        r.c.id,
        r.c.relid,
        r.c.date,
        r.c.type,
        r.c.reason,
        h.c.userid,
        h.c.domainstatus,
    ).select_from(r.outerjoin(h, h.c.id == r.c.relid))


def _request(row: object) -> CancelRequest:
    kind = str(row.type or "").strip()  # type: ignore[attr-defined]
    return CancelRequest(
        id=int(row.id),  # type: ignore[attr-defined]
        service_id=int(row.relid or 0),  # type: ignore[attr-defined]
        client_id=int(row.userid) if row.userid else None,  # type: ignore[attr-defined]
        requested_at=row.date,  # type: ignore[attr-defined]
        type=IMMEDIATE if kind == IMMEDIATE else END_OF_PERIOD,
        reason=str(row.reason or ""),  # type: ignore[attr-defined]
        service_status=row.domainstatus,  # type: ignore[attr-defined]
    )


def cancel_requests_since(
    conn: Connection, tables: PanelTables, after_id: int = 0, limit: int = 500
) -> list[CancelRequest]:
    """The requests with an id above ``after_id``, oldest first, at most ``limit`` (by the
    primary key: one indexed read however long the panel's history)."""
    r = tables.cancelrequests
    query = _query(tables).where(r.c.id > after_id).order_by(r.c.id).limit(limit)
    return [_request(row) for row in conn.execute(query)]


def cancel_request(conn: Connection, tables: PanelTables, request_id: int) -> CancelRequest | None:
    """One request by its id, or ``None`` when the row is gone (voided in the admin area)."""
    r = tables.cancelrequests
    row = conn.execute(_query(tables).where(r.c.id == request_id)).first()
    return _request(row) if row is not None else None


def cancel_requests_by_id(
    conn: Connection, tables: PanelTables, request_ids: list[int]
) -> dict[int, CancelRequest]:
    """Several requests by id (the ones still in the panel), in one query per 1,000 ids."""
    r = tables.cancelrequests
    found: dict[int, CancelRequest] = {}
    for start in range(0, len(request_ids), 1000):
        chunk = request_ids[start : start + 1000]
        for row in conn.execute(_query(tables).where(r.c.id.in_(chunk))):
            request = _request(row)
            found[request.id] = request
    return found


def service_cancel_request(
    conn: Connection, tables: PanelTables, service_id: int
) -> CancelRequest | None:
    """The service's request, open or not (the newest when a panel holds several)."""
    r = tables.cancelrequests
    query = _query(tables).where(r.c.relid == service_id).order_by(r.c.id.desc()).limit(1)
    row = conn.execute(query).first()
    return _request(row) if row is not None else None


def open_cancellation(
    conn: Connection, tables: PanelTables, service_id: int
) -> CancelRequest | None:
    """The service's request while it has not taken effect (the service is neither
    ``Cancelled`` nor ``Terminated``), else ``None``. While it exists WHMCS generates no
    invoices for the service (reference §5.1); a transfer checks it first."""
    request = service_cancel_request(conn, tables, service_id)
    return request if request is not None and request.is_open else None


def withdraw_request(
    conn: Connection,
    tables: PanelTables,
    request: CancelRequest,
    user: str,
    when: datetime,
) -> bool:
    """Delete the request's ``tblcancelrequests`` row, as the admin area's delete does, and log
    it in the activity log, inside the caller's transaction. WHMCS has no API for this
    (reference §3.3, §5.1): it is one of the two direct writes the architecture allows.

    One ``DELETE`` guarded by id and service, so a row that changed meanwhile is left alone.
    Returns whether the row was deleted (``False``: it was already gone).
    """
    from whmcs_bridge.panel.queries.moves import log_activity

    r = tables.cancelrequests
    gone = conn.execute(
        delete(r).where(r.c.id == request.id, r.c.relid == request.service_id)
    ).rowcount
    if gone != 1:
        return False
    log_activity(
        conn,
        tables,
        request.client_id or 0,
        f"Cancellation Request Withdrawn - Service ID: {request.service_id} "
        f"(request {request.id}, {request.type}) by whmcs-bridge",
        user,
        when,
    )
    return True


@dataclass(frozen=True)
class HostingDomain:
    """A client's ``tbldomains`` row named like a hosting service (reference §1.15)."""

    id: int
    domain: str
    status: str
    do_not_renew: bool  # tbldomains.donotrenew: no renewal invoices


#: Domain statuses with nothing left to renew.
GONE_DOMAIN_STATUSES = ("Cancelled", "Expired", "Transferred Away", "Fraud")


def hosting_domain(
    conn: Connection, tables: PanelTables, client_id: int, name: str
) -> HostingDomain | None:
    """The client's live domain with the hosting's name (the one the client area offers to stop
    renewing on a cancellation, reference §5.1), or ``None``."""
    domains = tables.get("domains")
    wanted = name.strip().lower()
    if domains is None or not wanted:
        return None
    row = conn.execute(
        select(domains.c.id, domains.c.domain, domains.c.status, domains.c.donotrenew)
        .where(
            domains.c.userid == client_id,
            func.lower(domains.c.domain) == wanted,
            domains.c.status.not_in(GONE_DOMAIN_STATUSES),
        )
        .order_by(domains.c.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return HostingDomain(int(row.id), str(row.domain), str(row.status), bool(row.donotrenew))
