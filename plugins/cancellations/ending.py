"""Carrying out a request that is due (R-CA-4, R-CA-5): ``ModuleTerminate`` (claimed first),
then the live addons ended and the service left ``Cancelled``, as WHMCS's own task does; a
terminate in doubt settled by reading the status; a product without a module gets the
technical department's ticket (``manual``); ``cancellation.completed`` when it is done.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import (
    ApiError,
    ApiOutcomeUnknown,
    ApiTransportError,
    Event,
    event_key,
    queries,
)

from .store import ENDED, TaskReport, row_by_id, set_row, settings_of

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge


COMPLETED = "cancellation.completed"
#: How long a terminate in doubt waits before the status it left is trusted: a module's
#: terminate answers in seconds; one still running after this has failed or will not come.
SETTLE = timedelta(minutes=10)
#: Addon statuses that still run and are ended with the service.
LIVE_ADDONS = ("Active", "Suspended", "Pending")
NO_MODULE = "not assigned to a module"


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
