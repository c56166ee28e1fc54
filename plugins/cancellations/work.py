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

The parts: taking a request in (:mod:`.intake`), carrying it out and finishing (:mod:`.ending`),
the staff commands (:mod:`.commands`), the plugin's rows (:mod:`.store`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from whmcs_bridge.plugin import BridgeError, queries

from .ending import carry_out, emit_completed, settle
from .intake import accept, drop_renewals, take_in
from .store import ENDED, TaskReport, row_by_id, row_by_request, set_row
from .tables import OPEN_STATES, cancellation_cursor, cancellations

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge


log = logging.getLogger(__name__)

#: Open requests that may act today, per cycle (more wait for the next cycle).
URGENT_BATCH = 500
#: Waiting requests checked per cycle for renewals and changes made in WHMCS (round-robin).
SWEEP_BATCH = 100


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
