"""Sandbox pieces the cancellations plugin meets: ``UpdateClientAddon`` (reference §3.3), the
client area's Request Cancellation form and WHMCS's own daily Cancellation Requests task
(reference §5.1), so tests and the demo can play what the panel does.

``AddCancelRequest``, ``ModuleTerminate``, ``UpdateClientProduct``, ``UpdateClientDomain``,
``GetInvoice``, ``UpdateInvoice`` and ``OpenTicket`` live with their areas.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select

from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.sandbox.actions_common import (
    ActionError,
    Context,
    action,
    insert_row,
    update_row,
)
from whmcs_bridge.sandbox.actions_services import CANCEL_TYPES
from whmcs_bridge.sandbox.hook_rows import write_hook_row

ADDON_STATUSES = ("Pending", "Active", "Suspended", "Terminated", "Cancelled", "Fraud", "Completed")
# param -> column
ADDON_FIELDS = {
    "status": "status",
    "addonid": "addonid",
    "name": "name",
    "setupfee": "setupfee",
    "recurring": "recurring",
    "billingcycle": "billingcycle",
    "nextduedate": "nextduedate",
    "terminationdate": "termination_date",
    "notes": "notes",
}


@action("UpdateClientAddon")
def update_client_addon(ctx: Context) -> dict[str, Any]:
    """Reference §3.3 (developer docs): edit a client's addon; ``id`` is tblhostingaddons.id.
    Moving it to Cancelled or Terminated fires AddonCancelled / AddonTerminated (not recorded by
    the hook file)."""
    addon_id = ctx.int_param("id")
    addon = ctx.row(ctx.tables.hostingaddons, addon_id) if addon_id else None
    if addon is None:
        raise ActionError("Addon ID Not Found")
    values: dict[str, Any] = {}
    for param, column in ADDON_FIELDS.items():
        value = ctx.param(param)
        if value is not None:
            values[column] = str(value)
    if "status" in values and values["status"] not in ADDON_STATUSES:
        raise ActionError(f"Invalid status {values['status']}")
    update_row(ctx.conn, ctx.tables.hostingaddons, addon_id, {**values, "updated_at": ctx.now})
    return {"id": addon_id}


def client_area_cancel(
    conn: Connection,
    tables: PanelTables,
    service_id: int,
    kind: str,
    reason: str,
    now: dt.datetime,
    *,
    no_renew_domain: bool = False,
) -> int:
    """What clientarea.php?action=cancel does (reference §5.1): one request per service ever, the
    activity line, the optional "do not renew the domain" tick, and the CancellationRequest hook
    with origin ``clientarea``. Returns the request id. (Its e-mails are not played.)"""
    t = tables.cancelrequests
    service = conn.execute(select(tables.hosting).where(tables.hosting.c.id == service_id)).first()
    if service is None or service.domainstatus not in ("Active", "Suspended"):
        raise ValueError(f"service {service_id} cannot be cancelled from the client area")
    if conn.execute(select(t.c.id).where(t.c.relid == service_id)).first():
        raise ValueError("Existing Cancellation Request Exists")
    kind = kind if kind in CANCEL_TYPES else "End of Billing Period"
    request_id = insert_row(
        conn,
        t,
        {
            "date": now,
            "relid": service_id,
            "reason": reason,
            "type": kind,
            "created_at": now,
            "updated_at": now,
        },
    )
    if no_renew_domain:
        d = tables.domains
        for domain in conn.execute(
            select(d.c.id).where(d.c.userid == service.userid, d.c.domain == service.domain)
        ):
            update_row(conn, d, domain.id, {"donotrenew": True, "updated_at": now})
    log = tables.activitylog
    insert_row(
        conn,
        log,
        {
            "date": now,
            "description": f"Cancellation Request Submitted - Service ID: {service_id}",
            "user": "Client",
            "userid": service.userid,
            "ipaddr": "127.0.0.1",
        },
    )
    write_hook_row(
        conn,
        "CancellationRequest",
        {"client_id": service.userid, "serviceid": service_id, "type": kind},
        now,
        origin="clientarea",
    )
    return request_id


def daily_cancellation_task(conn: Connection, tables: PanelTables, today: dt.date) -> list[int]:
    """WHMCS's Cancellation Requests task (reference §5.1), for services with a module: open
    Immediate requests, and End of Billing Period ones whose next due date has come, end
    ``Cancelled`` with their live addons. Returns the services ended."""
    r, h, p = tables.cancelrequests, tables.hosting, tables.products
    rows = conn.execute(
        select(h.c.id, h.c.nextduedate, r.c.type, p.c.servertype)
        .select_from(r.join(h, h.c.id == r.c.relid).outerjoin(p, p.c.id == h.c.packageid))
        .where(h.c.domainstatus.not_in(("Terminated", "Cancelled")))
    ).all()
    ended = []
    for row in rows:
        due = row.type == "Immediate" or (row.nextduedate is not None and row.nextduedate <= today)
        if not due or not (row.servertype or "").strip():
            continue
        update_row(conn, h, row.id, {"domainstatus": "Cancelled", "termination_date": today})
        addons = tables.hostingaddons
        for addon in conn.execute(
            select(addons.c.id).where(
                addons.c.hostingid == row.id, addons.c.status.in_(("Active", "Suspended"))
            )
        ):
            update_row(conn, addons, addon.id, {"status": "Cancelled", "termination_date": today})
        ended.append(int(row.id))
    return ended
