"""Sandbox actions for services and domains: products list, module commands, edits and
cancellation requests (reference §3.3, §5.1, §2.2).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select

from whmcs_bridge.sandbox.actions_billing import cancel_invoice, recalculate
from whmcs_bridge.sandbox.actions_common import (
    ActionError,
    Context,
    action,
    insert_row,
    money,
    page,
    text_date,
    update_row,
)

CANCEL_TYPES = ("Immediate", "End of Billing Period")


def service_or_fail(ctx: Context, message: str = "Service ID Not Found") -> Any:
    """The ``tblhosting`` row named by ``serviceid`` (or legacy ``accountid``)."""
    service_id = ctx.int_param("serviceid") or ctx.int_param("accountid")
    if not service_id:
        raise ActionError("Service ID is required")
    row = ctx.row(ctx.tables.hosting, service_id)
    if row is None:
        raise ActionError(message)
    return row


@action("GetClientsProducts")
def get_clients_products(ctx: Context) -> dict[str, Any]:
    """Reference §3.2: services by client, service id, product or domain."""
    h, p = ctx.tables.hosting, ctx.tables.products
    query = select(h, p.c.name, p.c.servertype).join(p, p.c.id == h.c.packageid, isouter=True)
    for param, column in (("clientid", h.c.userid), ("serviceid", h.c.id), ("pid", h.c.packageid)):
        if ctx.param(param):
            query = query.where(column == ctx.int_param(param))
    if ctx.param("domain"):
        query = query.where(h.c.domain == ctx.param("domain"))
    rows = []
    for r in ctx.conn.execute(query.order_by(h.c.id)):
        rows.append(
            {
                "id": r.id,
                "clientid": r.userid,
                "orderid": r.orderid,
                "pid": r.packageid,
                "regdate": text_date(r.regdate),
                "name": r.name or "",
                "translated_name": r.name or "",
                "domain": r.domain,
                "serverid": r.server,
                "suspensionreason": r.suspendreason,
                "firstpaymentamount": money(r.firstpaymentamount),
                "recurringamount": money(r.amount),
                "paymentmethod": r.paymentmethod,
                "billingcycle": r.billingcycle,
                "nextduedate": text_date(r.nextduedate),
                "status": r.domainstatus,
                "username": r.username,
                "notes": r.notes,
            }
        )
    return page(ctx, rows, "products", "product")


def _module_service(ctx: Context) -> tuple[Any, int]:
    service = service_or_fail(ctx, "Service ID not found")
    product = ctx.row(ctx.tables.products, service.packageid)
    if product is None or not (product.servertype or "").strip():
        raise ActionError("Service not assigned to a module")
    return service, int(service.packageid)


@action("ModuleSuspend")
def module_suspend(ctx: Context) -> dict[str, Any]:
    """Suspend through the module; fires AfterModuleSuspend (reference §2.2)."""
    service, pid = _module_service(ctx)
    reason = str(ctx.param("suspendreason", ""))
    update_row(
        ctx.conn,
        ctx.tables.hosting,
        service.id,
        {"domainstatus": "Suspended", "suspendreason": reason, "updated_at": ctx.now},
    )
    ctx.hook(
        "AfterModuleSuspend",
        serviceid=service.id,
        client_id=service.userid,
        pid=pid,
        suspendreason=reason,
    )
    return {}


@action("ModuleUnsuspend")
def module_unsuspend(ctx: Context) -> dict[str, Any]:
    """Unsuspend through the module; fires AfterModuleUnsuspend."""
    service, pid = _module_service(ctx)
    update_row(
        ctx.conn,
        ctx.tables.hosting,
        service.id,
        {"domainstatus": "Active", "suspendreason": "", "updated_at": ctx.now},
    )
    ctx.hook("AfterModuleUnsuspend", serviceid=service.id, client_id=service.userid, pid=pid)
    return {}


@action("ModuleTerminate")
def module_terminate(ctx: Context) -> dict[str, Any]:
    """Terminate through the module; fires AfterModuleTerminate."""
    service, pid = _module_service(ctx)
    update_row(
        ctx.conn,
        ctx.tables.hosting,
        service.id,
        {"domainstatus": "Terminated", "termination_date": ctx.today, "updated_at": ctx.now},
    )
    ctx.hook("AfterModuleTerminate", serviceid=service.id, client_id=service.userid, pid=pid)
    return {}


def _cancel_renewal_invoices(ctx: Context, service_id: int) -> None:
    """Reference §5.1 step 5: unpaid invoices for the service lose it (whole, or its line)."""
    items, invoices = ctx.tables.invoiceitems, ctx.tables.invoices
    hosting_lines = ctx.conn.execute(
        select(items.c.id, items.c.invoiceid)
        .join(invoices, invoices.c.id == items.c.invoiceid)
        .where(
            items.c.type == "Hosting", items.c.relid == service_id, invoices.c.status == "Unpaid"
        )
    ).all()
    for line_id, invoice_id in hosting_lines:
        others = ctx.conn.execute(
            select(func.count()).where(items.c.invoiceid == invoice_id, items.c.id != line_id)
        ).scalar()
        if others:
            ctx.conn.execute(delete(items).where(items.c.id == line_id))
            recalculate(ctx, invoice_id)
        else:
            cancel_invoice(ctx, invoice_id)


@action("AddCancelRequest")
def add_cancel_request(ctx: Context) -> dict[str, Any]:
    """Reference §5.1: one request per service ever; fires CancellationRequest."""
    service = service_or_fail(ctx)
    t = ctx.tables.cancelrequests
    if ctx.conn.execute(select(t.c.id).where(t.c.relid == service.id)).first():
        raise ActionError("Existing Cancellation Request Exists")
    kind = ctx.param("type", "")
    kind = kind if kind in CANCEL_TYPES else "End of Billing Period"
    reason = str(ctx.param("reason", "None Specified (API Submission)"))
    insert_row(
        ctx.conn,
        t,
        {
            "date": ctx.now,
            "relid": service.id,
            "reason": reason,
            "type": kind,
            "created_at": ctx.now,
            "updated_at": ctx.now,
        },
    )
    ctx.activity(f"Cancellation Request Submitted - Service ID: {service.id}", service.userid)
    ctx.hook("CancellationRequest", client_id=service.userid, serviceid=service.id, type=kind)
    if ctx.setting_on("CancelInvoiceOnCancellation"):
        _cancel_renewal_invoices(ctx, service.id)
    return {"serviceid": service.id, "userid": service.userid}


@action("GetCancelledPackages")
def get_cancelled_packages(ctx: Context) -> dict[str, Any]:
    """Reference §3.3: the cancellation requests."""
    t = ctx.tables.cancelrequests
    rows = [
        {
            "id": r.id,
            "date": text_date(r.date),
            "relid": r.relid,
            "reason": r.reason,
            "type": r.type,
            "created_at": text_date(r.created_at),
            "updated_at": text_date(r.updated_at),
        }
        for r in ctx.conn.execute(select(t).order_by(t.c.id))
    ]
    return page(ctx, rows, "packages", "package")


# param -> (column, kind)
SERVICE_FIELDS = {
    "pid": ("packageid", int),
    "serverid": ("server", int),
    "regdate": ("regdate", str),
    "nextduedate": ("nextduedate", str),
    "terminationdate": ("termination_date", str),
    "domain": ("domain", str),
    "firstpaymentamount": ("firstpaymentamount", Decimal),
    "recurringamount": ("amount", Decimal),
    "paymentmethod": ("paymentmethod", str),
    "billingcycle": ("billingcycle", str),
    "subscriptionid": ("subscriptionid", str),
    "status": ("domainstatus", str),
    "notes": ("notes", str),
    "serviceusername": ("username", str),
    "overideautosuspend": ("overideautosuspend", bool),
    "overidesuspenduntil": ("overidesuspenduntil", str),
    "ns1": ("ns1", str),
    "ns2": ("ns2", str),
    "dedicatedip": ("dedicatedip", str),
    "assignedips": ("assignedips", str),
    "diskusage": ("diskusage", int),
    "disklimit": ("disklimit", int),
    "bwusage": ("bwusage", int),
    "bwlimit": ("bwlimit", int),
    "suspendreason": ("suspendreason", str),
    "promoid": ("promoid", int),
}
DOMAIN_FIELDS = {
    "dnsmanagement": ("dnsmanagement", bool),
    "emailforwarding": ("emailforwarding", bool),
    "idprotection": ("idprotection", bool),
    "donotrenew": ("donotrenew", bool),
    "type": ("type", str),
    "regdate": ("registrationdate", str),
    "nextduedate": ("nextduedate", str),
    "expirydate": ("expirydate", str),
    "domain": ("domain", str),
    "firstpaymentamount": ("firstpaymentamount", Decimal),
    "recurringamount": ("recurringamount", Decimal),
    "registrar": ("registrar", str),
    "regperiod": ("registrationperiod", int),
    "paymentmethod": ("paymentmethod", str),
    "subscriptionid": ("subscriptionid", str),
    "status": ("status", str),
    "notes": ("additionalnotes", str),
    "promoid": ("promoid", int),
}


def _edits(ctx: Context, fields: dict[str, tuple[str, type]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for param, (column, kind) in fields.items():
        raw = ctx.params.get(param)
        if raw is None:
            continue
        if kind is bool:
            values[column] = str(raw).lower() in {"1", "true", "on", "yes"}
        elif kind is int or kind is Decimal:
            values[column] = kind(str(raw) or "0")
        else:
            values[column] = str(raw)
    return values


@action("UpdateClientProduct")
def update_client_product(ctx: Context) -> dict[str, Any]:
    """Reference §3.3: edit the service row; no module command, no owner change."""
    service = service_or_fail(ctx)
    values = _edits(ctx, SERVICE_FIELDS)
    update_row(ctx.conn, ctx.tables.hosting, service.id, {**values, "updated_at": ctx.now})
    return {"serviceid": service.id}


@action("UpdateClientDomain")
def update_client_domain(ctx: Context) -> dict[str, Any]:
    """Reference §3.3: edit the domain row."""
    domain_id = ctx.int_param("domainid")
    if ctx.row(ctx.tables.domains, domain_id) is None:
        raise ActionError("Domain ID Not Found")
    values = _edits(ctx, DOMAIN_FIELDS)
    update_row(ctx.conn, ctx.tables.domains, domain_id, {**values, "updated_at": ctx.now})
    return {"domainid": domain_id}
