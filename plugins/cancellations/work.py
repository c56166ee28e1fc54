"""What the plugin does with each cancellation request (R-CA-1..7).

A request is taken in once (from its ``cancellation.requested`` event, or by the catch-up read of
``tblcancelrequests`` for what no event brought), then every cycle moves it on:

- ``confirm`` waits for staff (R-CA-6);
- ``waiting`` (End of Billing Period) becomes ``due`` on its ``end_date``, never before;
- ``due`` is carried out: ``ModuleTerminate``, then the active addons end (``UpdateClientAddon``)
  and the service is left ``Cancelled`` (``UpdateClientProduct``), as WHMCS's own task does; a
  product without a module gets a ticket to the technical department and ``manual``;
- ``terminating``/``unknown``: the terminate was sent and no answer recorded; the service's status
  is read before anything is repeated, so nothing is terminated twice.

Renewal invoices for a period that starts on or after the end are cancelled through the API while
the request waits; the invoice for the period in progress stays due (R-CA-2). A service WHMCS's
own daily task (or staff) already ended is recorded ``done`` and left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from whmcs_bridge.plugin import (
    ApiError,
    ApiOutcomeUnknown,
    ApiTransportError,
    BridgeError,
    Event,
    event_key,
    queries,
)

from .tables import OPEN_STATES, cancellation_cursor, cancellations

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

    from .settings import CancellationSettings

log = logging.getLogger(__name__)

COMPLETED = "cancellation.completed"
ENDED = ("Cancelled", "Terminated")
#: How long a terminate in doubt waits before the status it left is trusted: a module's
#: terminate answers in seconds; one still running after this has failed or will not come.
SETTLE = timedelta(minutes=10)
#: Addon statuses that still run and are ended with the service.
LIVE_ADDONS = ("Active", "Suspended", "Pending")
#: Invoice line types that bill the service's next periods (Upgrade lines stay: they are for
#: the period in progress).
RENEWAL_LINES = ("Hosting", "Addon")
NO_MODULE = "not assigned to a module"
#: Open requests that may act today, per cycle (more wait for the next cycle).
URGENT_BATCH = 500
#: Waiting requests checked per cycle for renewals and changes made in WHMCS (round-robin).
SWEEP_BATCH = 100


@dataclass
class TaskReport:
    """What one ``bridge_run_tasks`` turn did, for the cycle's one-line summary."""

    taken: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def summary(self) -> str | None:
        parts = [f"{n} {what}" for what, n in sorted(self.counts.items())]
        if self.taken:
            parts.insert(0, f"{self.taken} request(s) taken in")
        return ", ".join(parts + self.notes) or None


def settings_of(bridge: Bridge) -> CancellationSettings:
    from .settings import CancellationSettings, parse_settings

    found = bridge.settings("cancellations")
    if isinstance(found, CancellationSettings):
        return found
    return parse_settings(bridge.plugin_config("cancellations"))


# -- the plugin's rows ------------------------------------------------------------------------


def row_by_id(bridge: Bridge, row_id: int) -> Any:
    with bridge.panel.connect() as conn:
        return conn.execute(select(cancellations).where(cancellations.c.id == row_id)).first()


def row_by_request(bridge: Bridge, request_id: int) -> Any:
    with bridge.panel.connect() as conn:
        return conn.execute(
            select(cancellations).where(cancellations.c.request_id == request_id)
        ).first()


def rows_of_service(bridge: Bridge, service_id: int) -> list[Any]:
    with bridge.panel.connect() as conn:
        return conn.execute(
            select(cancellations)
            .where(cancellations.c.service_id == service_id)
            .order_by(cancellations.c.id.desc())
        ).all()


def set_row(bridge: Bridge, row: Any, expect: str | None = None, **values: Any) -> bool:
    """Update the row; with ``expect`` only while its state is still that one (a claim)."""
    now = bridge.clock.panel_now()
    if "state" in values and values["state"] != row.state:
        values["state_at"] = now
    query = update(cancellations).where(cancellations.c.id == row.id)
    if expect is not None:
        query = query.where(cancellations.c.state == expect)
    with bridge.panel.begin() as conn:
        return conn.execute(query.values(**values, updated_at=now)).rowcount == 1


# -- taking a request in ----------------------------------------------------------------------


def end_date_of(request: Any, service: Any, today: date) -> date:
    """The day the service ends (R-CA-7): the request's own day (panel time) when Immediate;
    the end of the period of its last invoice (its next due date) otherwise. A service with no
    next due date (free, one time) has no period to finish: it ends on the request's day."""
    day = request.requested_at.date() if request.requested_at else today
    if request.immediate or service is None or service.next_due_date is None:
        return day
    return service.next_due_date


def _first_state(
    request: Any, service: Any, origin: str, settings: CancellationSettings, end: date, today: date
) -> tuple[str, str | None]:
    if service is None:
        return "void", "the service is not in the panel"
    if service.status in ENDED:
        return "done", f"the service was already {service.status} in WHMCS"
    if settings.require_client_origin and origin != "clientarea":
        return "confirm", (
            f"not made in the client area (origin: {origin}): held until staff confirm it "
            "or link a ticket from the owner's e-mail (R-CA-6)"
        )
    return ("due" if end <= today else "waiting"), None


def take_in(
    bridge: Bridge, request: Any, origin: str, event_id: int | None = None
) -> tuple[Any, bool]:
    """Record the request in the plugin's table once; returns (row, created).

    A request held for ``confirm`` because its origin was unknown is accepted when its event
    later says it came from the client area.
    """
    settings = settings_of(bridge)
    today, now = bridge.clock.today(), bridge.clock.panel_now()
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        service = queries.services.service(conn, tables, request.service_id)
    end = end_date_of(request, service, today)
    state, note = _first_state(request, service, origin, settings, end, today)
    values = {
        "request_id": request.id,
        "service_id": request.service_id,
        "client_id": service.client_id if service else (request.client_id or 0),
        "type": request.type,
        "reason": request.reason[:5000],
        "origin": origin[:16],
        "requested_at": request.requested_at,
        "end_date": end,
        "state": state,
        "note": note,
        "event_id": event_id,
        "state_at": now,
        "created_at": now,
        "updated_at": now,
    }
    if bridge.dry_run:
        return None, False
    try:
        with bridge.panel.begin() as conn:
            conn.execute(insert(cancellations).values(**values))
        created = True
    except IntegrityError:
        created = False
    row = row_by_request(bridge, request.id)
    if not created:
        changes: dict[str, Any] = {}
        if row.event_id is None and event_id is not None:
            changes["event_id"] = event_id
        if row.state == "confirm" and origin == "clientarea" and row.origin != "clientarea":
            changes.update(origin=origin, state=state, note=None)
        if changes:
            set_row(bridge, row, **changes)
            row = row_by_id(bridge, row.id)
    if row.state in ("waiting", "due") and (created or row.domain_action is None):
        accept(bridge, row, service)
        row = row_by_id(bridge, row.id)
    return row, created


def accept(bridge: Bridge, row: Any, service: Any) -> None:
    """What happens once a request is accepted: the domain (R-CA-3) and renewal invoices for
    after the end (R-CA-2). Without ``[api]`` it waits (``domain_action`` stays unset) and a
    later cycle does it."""
    if not bridge.has_api:
        return
    settings = settings_of(bridge)
    domain_id, action = domain_step(bridge, row, service, settings.domains)
    set_row(bridge, row, domain_id=domain_id, domain_action=action)
    drop_renewals(bridge, row)


def domain_step(bridge: Bridge, row: Any, service: Any, mode: str) -> tuple[int | None, str]:
    """The domain of the same name as the hosting: never terminated (R-CA-3). Returns its id
    and what the client is told: ``no_renew`` (set now), ``client`` (already not renewing),
    ``renews``, ``none`` (no such domain)."""
    if service is None or not service.domain.strip():
        return None, "none"
    with bridge.panel.connect() as conn:
        domain = queries.cancellations.hosting_domain(
            conn, bridge.panel.tables, service.client_id, service.domain
        )
    if domain is None:
        return None, "none"
    if domain.do_not_renew:
        return domain.id, "client"
    if mode != "no_renew":
        return domain.id, "renews"
    try:
        bridge.api.update_client_domain(domain.id, donotrenew=1)
    except ApiError as exc:
        log.warning("cancellations: domain %s not set to not renew: %s", domain.id, exc)
        return domain.id, "renews"
    return domain.id, "no_renew"


def set_no_renew(bridge: Bridge, row: Any) -> str:
    """``cancellations no-renew``: the client asked that the domain not renew (R-CA-3)."""
    with bridge.panel.connect() as conn:
        service = queries.services.service(conn, bridge.panel.tables, row.service_id)
    domain_id, action = domain_step(bridge, row, service, "no_renew")
    set_row(bridge, row, domain_id=domain_id, domain_action=action)
    if action == "none":
        raise BridgeError(f"service #{row.service_id} has no domain of the same name")
    return action


def drop_renewals(bridge: Bridge, row: Any) -> list[int]:
    """Cancel (through the API) unpaid renewal lines for a period starting on or after the end
    (and not before today): the whole invoice when it holds nothing else, else just those lines.
    Lines for the period in progress stay due (R-CA-2). Returns the invoices touched."""
    with bridge.panel.connect() as conn:
        unpaid = queries.billing.unpaid_items_of_service(conn, bridge.panel.tables, row.service_id)
    # A period that started before today is in progress, even past the end (an overdue
    # service's unpaid period): it stays due.
    first = max(row.end_date, bridge.clock.today())
    by_invoice: dict[int, list[int]] = {}
    for line in unpaid:
        item = line.item
        if item.type in RENEWAL_LINES and item.due_date and item.due_date >= first:
            by_invoice.setdefault(item.invoice_id, []).append(item.id)
    for line in unpaid:  # a renewal's promotion goes with it
        item = line.item
        chosen = by_invoice.get(item.invoice_id)
        if item.type == "PromoHosting" and chosen is not None and item.id not in chosen:
            chosen.append(item.id)
    touched = []
    for invoice_id, line_ids in sorted(by_invoice.items()):
        try:
            invoice = bridge.api.get_invoice(invoice_id)
            if invoice.status not in ("Unpaid", "Payment Pending"):
                continue
            others = [i for i in invoice.items if i.id not in line_ids]
            if others:
                bridge.api.update_invoice(invoice_id, deletelineids=line_ids)
            else:
                bridge.api.update_invoice(invoice_id, status="Cancelled")
        except ApiError as exc:
            log.warning("cancellations: renewal invoice %s left as is: %s", invoice_id, exc)
            continue
        touched.append(invoice_id)
    return touched


# -- the cycle's work -------------------------------------------------------------------------


CATCH_UP, SWEEP = 1, 2  # the rows of cancellation_cursor


def _cursor(conn: Any, which: int) -> int:
    value = conn.execute(
        select(cancellation_cursor.c.last_request_id).where(cancellation_cursor.c.id == which)
    ).scalar()
    return int(value or 0)


def _set_cursor(bridge: Bridge, which: int, value: int) -> None:
    now = bridge.clock.panel_now()
    with bridge.panel.begin() as conn:
        moved = conn.execute(
            update(cancellation_cursor)
            .where(cancellation_cursor.c.id == which)
            .values(last_request_id=value, updated_at=now)
        ).rowcount
        if not moved:
            conn.execute(
                insert(cancellation_cursor).values(id=which, last_request_id=value, updated_at=now)
            )


def catch_up(bridge: Bridge, report: TaskReport) -> None:
    """Take in requests no event brought (made before the bridge was installed, or while the
    hook file was missing), above the plugin's cursor; their origin is unknown."""
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        after = _cursor(conn, CATCH_UP)
        requests = queries.cancellations.cancel_requests_since(conn, tables, after)
    for request in requests:
        if row_by_request(bridge, request.id) is None:
            _row, created = take_in(bridge, request, "unknown")
            report.taken += created
    if requests and not bridge.dry_run:
        _set_cursor(bridge, CATCH_UP, requests[-1].id)


def rows_to_advance(bridge: Bridge) -> list[Any]:
    """This cycle's rows: every open one that may act today (held, due, in doubt, or waiting
    with its date come), plus a round-robin slice of the other waiting ones, checked for
    renewal invoices and for a request withdrawn or carried out in WHMCS meanwhile."""
    c = cancellations.c
    today = bridge.clock.today()
    with bridge.panel.connect() as conn:
        urgent = conn.execute(
            select(cancellations)
            .where(
                c.state.in_(OPEN_STATES),
                (c.state != "waiting") | (c.end_date <= today),
            )
            .order_by(c.id)
            .limit(URGENT_BATCH)
        ).all()
        after = _cursor(conn, SWEEP)
        waiting = (c.state == "waiting") & (c.end_date > today)
        sweep = conn.execute(
            select(cancellations).where(waiting, c.id > after).order_by(c.id).limit(SWEEP_BATCH)
        ).all()
    if not bridge.dry_run:
        _set_cursor(bridge, SWEEP, int(sweep[-1].id) if len(sweep) == SWEEP_BATCH else 0)
    return [*urgent, *sweep]


def run_tasks(bridge: Bridge) -> str | None:
    """One turn: catch up, then move the open requests on (:func:`rows_to_advance`)."""
    report = TaskReport()
    catch_up(bridge, report)
    if not bridge.has_api:
        report.notes.append("no [api]: requests are recorded, none is carried out")
        return report.summary()
    rows = rows_to_advance(bridge)
    with bridge.panel.connect() as conn:
        requests = queries.cancellations.cancel_requests_by_id(
            conn, bridge.panel.tables, [int(r.request_id) for r in rows]
        )
    for row in rows:
        try:
            advance(bridge, row, requests.get(int(row.request_id)), report)
        except BridgeError as exc:
            report.notes.append(f"#{row.id}: {exc}")
            log.warning("cancellations: request #%s: %s", row.id, exc)
    return report.summary()


def advance(bridge: Bridge, row: Any, request: Any, report: TaskReport) -> None:
    """Move one open request on, as far as today allows."""
    if bridge.dry_run:
        return
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        service = queries.services.service(conn, tables, row.service_id)
    if request is None and row.state in ("confirm", "waiting", "due"):
        set_row(bridge, row, state="void", note="the request was deleted in WHMCS")
        report.count("void")
        return
    if service is None:
        set_row(bridge, row, state="void", note="the service is not in the panel")
        report.count("void")
        return
    if row.state in ("terminating", "unknown"):
        settle(bridge, row, service, report)
        return
    if service.status in ENDED:
        set_row(
            bridge,
            row,
            state="done",
            note=f"ended by WHMCS (its daily task or staff): {service.status}",
        )
        emit_completed(bridge, row)
        report.count("done by WHMCS")
        return
    if row.state == "confirm":
        return
    today = bridge.clock.today()
    if row.domain_action is None:  # accepted while the API was not configured
        accept(bridge, row, service)
        row = row_by_id(bridge, row.id)
    else:
        drop_renewals(bridge, row)
    if row.state == "waiting":
        if today < row.end_date:
            return
        set_row(bridge, row, state="due", expect="waiting")
        row = row_by_id(bridge, row.id)
    if row.state == "due":
        carry_out(bridge, row, service, report)


def carry_out(bridge: Bridge, row: Any, service: Any, report: TaskReport) -> None:
    """Terminate the service (claimed first), or open the manual ticket when it has no module."""
    if not service.module:
        manual(bridge, row, service, report)
        return
    if not set_row(bridge, row, expect="due", state="terminating", note=None):
        return  # another run took it
    try:
        bridge.api.module_terminate(service.id)
    except ApiOutcomeUnknown as exc:
        set_row(bridge, row, state="unknown", note=f"ModuleTerminate: {exc.message}")
        report.count("unknown")
        return
    except ApiTransportError as exc:
        set_row(bridge, row, state="due", note=f"ModuleTerminate not sent: {exc.message}")
        report.count("retry")
        return
    except ApiError as exc:
        if NO_MODULE in exc.message.lower():
            set_row(bridge, row, state="due")
            manual(bridge, row_by_id(bridge, row.id), service, report)
            return
        set_row(bridge, row, state="failed", note=f"ModuleTerminate refused: {exc.message}")
        report.count("failed")
        return
    finish(bridge, row_by_id(bridge, row.id), report)


def settle(bridge: Bridge, row: Any, service: Any, report: TaskReport) -> None:
    """A terminate with no recorded answer: read the status before anything is repeated."""
    if service.status in ENDED:
        finish(bridge, row, report)
        return
    if bridge.clock.panel_now() - row.state_at < SETTLE:
        return  # it may still be running in the panel
    if not service.module:  # a run stopped around OpenTicket: never open a second ticket
        set_row(
            bridge,
            row,
            state="manual",
            note="a run stopped while opening the technical department's ticket: check its "
            "tickets (none is opened again), then `cancellations done --service "
            f"{row.service_id}`",
        )
        report.count("manual")
        return
    set_row(
        bridge,
        row,
        state="due",
        note=f"the terminate sent at {row.state_at:%Y-%m-%d %H:%M} did not take effect; retrying",
    )
    report.count("retry")


def finish(bridge: Bridge, row: Any, report: TaskReport) -> None:
    """After the terminate: end the live addons, leave the service Cancelled, record done.

    Each step is idempotent; a failure leaves the row ``unknown`` so the next cycle reads the
    status and finishes (never terminating again: the service is already Terminated)."""
    today = bridge.clock.today().isoformat()
    try:
        end_service(bridge, row.service_id, today)
    except ApiError as exc:
        set_row(bridge, row, state="unknown", note=f"terminated; finishing failed: {exc.message}")
        report.count("unknown")
        return
    set_row(bridge, row, state="done", note="terminated by whmcs-bridge")
    emit_completed(bridge, row)
    report.count("done")


def end_service(bridge: Bridge, service_id: int, today: str) -> None:
    """The live addons Cancelled (``UpdateClientAddon``) and the service ``Cancelled`` with its
    termination date (``UpdateClientProduct``), as WHMCS's Cancellation Requests task leaves
    them (reference §5.1)."""
    with bridge.panel.connect() as conn:
        service = queries.services.service(conn, bridge.panel.tables, service_id)
    if service is None:
        return
    for addon in service.addons:
        if addon.status in LIVE_ADDONS:
            bridge.api.call(
                "UpdateClientAddon",
                {"id": addon.id, "status": "Cancelled", "terminationdate": today},
                read=False,
            )
    if service.status != "Cancelled":
        bridge.api.update_client_product(service_id, status="Cancelled", terminationdate=today)


def manual(bridge: Bridge, row: Any, service: Any, report: TaskReport) -> None:
    """R-CA-5 for a product without a provisioning module: the API cannot delete anything, so a
    ticket to the technical department lists what to delete; the request waits as ``manual``
    until staff run ``cancellations done --service ID``."""
    from .notices import manual_ticket

    settings = settings_of(bridge)
    with bridge.panel.connect() as conn:
        department = queries.tickets.department_id(
            conn, bridge.panel.tables, settings.technical_department
        )
    if department is None:
        set_row(
            bridge,
            row,
            state="manual",
            note=(
                "no provisioning module, and no ticket department "
                f"{settings.technical_department!r}: set plugins.cancellations."
                "technical_department; staff must delete the account by hand"
            ),
        )
        report.count("manual")
        return
    if not set_row(bridge, row, expect="due", state="terminating", note="opening the ticket"):
        return
    subject, message = manual_ticket(row, service)
    try:
        ticket = bridge.api.open_ticket(
            department,
            subject,
            message,
            client_id=service.client_id,
            serviceid=service.id,
            noemail=1,
        )
    except ApiOutcomeUnknown as exc:
        set_row(
            bridge,
            row,
            state="manual",
            note=f"OpenTicket's answer was lost ({exc.message}): check the department's tickets",
        )
        report.count("manual")
        return
    except ApiError as exc:
        set_row(bridge, row, state="due", note=f"OpenTicket failed: {exc.message}")
        report.count("retry")
        return
    set_row(
        bridge,
        row,
        state="manual",
        ticket_id=ticket.id,
        note=f"no provisioning module: ticket {ticket.tid} asks staff to delete the account",
    )
    report.count("manual")


def emit_completed(bridge: Bridge, row: Any) -> None:
    """``cancellation.completed``: the client is told the terms again (the service ended)."""
    bridge.emit(
        Event(
            key=event_key(COMPLETED, row.service_id, f"r{row.request_id}"),
            name=COMPLETED,
            subject_type="service",
            subject_id=int(row.service_id),
            occurred_at=bridge.clock.panel_now(),
            source="bridge",
            client_id=int(row.client_id) or None,
            data={"cancellation_id": int(row.id), "request_id": int(row.request_id)},
        )
    )


# -- staff commands ---------------------------------------------------------------------------


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
        owner_login = queries.people.owner_user_id(conn, tables, client_id)
    if ticket is None or owner is None:
        return f"no ticket {ticket_id} (or client {client_id}) in the panel", ""
    registered = owner.email.strip().lower()
    if ticket.client_id != client_id or ticket.admin or ticket.contact_id:
        reason = "it is not the client's own"
    elif ticket.requestor_id and ticket.requestor_id != owner_login:
        reason = f"login user {ticket.requestor_id} sent it, not the owner"
    elif ticket.email.strip() and ticket.email.strip().lower() != registered:
        reason = f"it came from {ticket.email.strip()}"
    else:
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
