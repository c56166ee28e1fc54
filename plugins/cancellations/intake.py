"""Taking a cancellation request in (R-CA-1, R-CA-2, R-CA-3, R-CA-6, R-CA-7): its first state
and end date, the domain of the same name, and the renewal invoices for after the end.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from whmcs_bridge.plugin import ApiError, queries

from .store import ENDED, row_by_id, row_by_request, set_row, settings_of
from .tables import cancellations

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

    from .settings import CancellationSettings

log = logging.getLogger(__name__)

#: Invoice line types that bill the service's next periods (Upgrade lines stay: they are for
#: the period in progress).
RENEWAL_LINES = ("Hosting", "Addon")


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
