"""What staff do to a request, from ``whmcs-bridge cancellations`` and the staff page's Bajas
tab: confirm a held one (R-CA-6), mark one done by hand (R-CA-5), void one not carried out,
set the domain not to renew (R-CA-3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from whmcs_bridge.plugin import BridgeError, queries

from .ending import emit_completed, end_service
from .intake import accept, domain_step
from .store import row_by_id, rows_of_service, set_row
from .tables import cancellations

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge


def set_no_renew(bridge: Bridge, row: Any) -> str:
    """``cancellations no-renew``: the client asked that the domain not renew (R-CA-3)."""
    with bridge.panel.connect() as conn:
        service = queries.services.service(conn, bridge.panel.tables, row.service_id)
    domain_id, action = domain_step(bridge, row, service, "no_renew")
    set_row(bridge, row, domain_id=domain_id, domain_action=action)
    if action == "none":
        raise BridgeError(f"service #{row.service_id} has no domain of the same name")
    return action


def confirm(bridge: Bridge, row: Any, ticket_id: int | None, who: str) -> Any:
    """R-CA-6: staff confirm a held request, or link a ticket from the owner's e-mail."""
    if row.state != "confirm":
        raise BridgeError(f"request #{row.id} is {row.state}, not waiting for confirmation")
    note = f"confirmed by {who}"
    if ticket_id is not None:
        problem, tid = ticket_problem(bridge, int(row.client_id), ticket_id)
        if problem:
            raise BridgeError(problem)
        note = f"confirmed by ticket {tid} from the owner's e-mail ({who})"
    today = bridge.clock.today()
    end = today if row.type == "Immediate" else row.end_date  # the day it is confirmed
    state = "due" if end <= today else "waiting"
    if not set_row(bridge, row, expect="confirm", state=state, note=note, end_date=end):
        raise BridgeError(f"request #{row.id} changed meanwhile; look again")
    row = row_by_id(bridge, row.id)
    with bridge.panel.connect() as conn:
        service = queries.services.service(conn, bridge.panel.tables, row.service_id)
    accept(bridge, row, service)
    return row_by_id(bridge, row.id)


def ticket_problem(bridge: Bridge, client_id: int, ticket_id: int) -> tuple[str | None, str]:
    """Why a ticket does not stand for the owner's own request (R-CA-6), or ``None``; and the
    ticket's number. It must be the client's, opened by neither staff nor a contact, and come
    from the owner's registered e-mail: the owner login on 8.x, the client's address on 7.x."""
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        ticket = queries.tickets.ticket(conn, tables, ticket_id)
        owner = queries.clients.client(conn, tables, client_id)
        if ticket is None or owner is None:
            return f"no ticket {ticket_id} (or client {client_id}) in the panel", ""
        reason = queries.tickets.not_from_owner(conn, tables, ticket, client_id, owner.email)
    if reason is None:
        return None, ticket.tid
    return f"ticket {ticket.tid} was not sent from the owner's registered e-mail: {reason}", ""


def mark_done(
    bridge: Bridge, service_id: int, who: str | None = None, row_id: int | None = None
) -> Any:
    """``cancellations done --service ID``: staff deleted the account by hand (R-CA-5).
    ``who`` is recorded in the note; ``row_id`` names the request (the staff page's row)."""
    rows = [
        r
        for r in rows_of_service(bridge, service_id)
        if r.state in ("manual", "failed") and row_id in (None, r.id)
    ]
    if not rows:
        raise BridgeError(
            f"service #{service_id} has no cancellation waiting for staff (manual or failed)"
        )
    row = rows[0]
    end_service(bridge, service_id, bridge.clock.today().isoformat())
    done = f"done by {who}" if who else "staff confirmed"
    set_row(bridge, row, state="done", note=f"{row.note or ''}; {done}".lstrip("; "))
    emit_completed(bridge, row)
    return row_by_id(bridge, row.id)


def void(bridge: Bridge, row: Any, who: str) -> Any:
    """Withdraw a request before it takes effect: in one transaction the row is marked ``void``
    (only if its state is still the one read) and its ``tblcancelrequests`` row deleted (one
    statement) and logged in the activity log; WHMCS has no API for it."""
    if row.state not in ("confirm", "waiting", "due"):
        raise BridgeError(
            f"request #{row.id} is {row.state}: only one not yet carried out can be voided"
        )
    now = bridge.clock.panel_now()
    tables = bridge.panel.tables
    with bridge.panel.begin() as conn:
        claimed = conn.execute(
            update(cancellations)
            .where(cancellations.c.id == row.id, cancellations.c.state == row.state)
            .values(state="void", note=f"withdrawn by {who}", state_at=now, updated_at=now)
        ).rowcount
        if claimed != 1:
            raise BridgeError(f"request #{row.id} changed meanwhile; look again")
        request = queries.cancellations.cancel_request(conn, tables, int(row.request_id))
        if request is not None:
            queries.cancellations.withdraw_request(conn, tables, request, who, now)
    return row_by_id(bridge, row.id)
