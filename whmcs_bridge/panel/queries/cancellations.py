"""Questions about cancellation requests (``tblcancelrequests``, reference §1.14, §5.1).

WHMCS keeps no status on a request: it is "open" while its service is not ``Cancelled`` or
``Terminated`` (the admin list derives it the same way). A service has at most one row: WHMCS
refuses a second request while any row exists, even an old completed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, select

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
