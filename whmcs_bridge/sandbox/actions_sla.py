"""Sandbox action the SLA plugin calls beyond the ticket ones: admin e-mail (whmcs.md §3.4;
developers.whmcs.com api-reference SendAdminEmail). ``AddTicketNote`` is in ``actions_transfers``.

The answer is only ``{"result": "success"}``; the mail is kept in ``SandboxPanel.sent_emails``
with ``"admin": True``, so a test can tell it from a client mail.
"""

from __future__ import annotations

from typing import Any

from whmcs_bridge.sandbox.actions_common import ActionError, Context, action

ADMIN_EMAIL_TYPES = ("system", "account", "support")
#: Stock admin templates (tblemailtemplates type 'admin') the sandbox knows.
ADMIN_TEMPLATES = (
    "Support Ticket Created",
    "Support Ticket Response",
    "Escalation Rule Notification",
    "New Cancellation Request",
    "Manual Upgrade Required",
)


@action("SendAdminEmail")
def send_admin_email(ctx: Context) -> dict[str, Any]:
    """An admin notification: a template by ``messagename`` or a custom subject and message."""
    name = ctx.param("messagename")
    kind = str(ctx.param("type", "system"))
    if kind not in ADMIN_EMAIL_TYPES:
        raise ActionError("Invalid notification type")
    if name:
        if name not in ADMIN_TEMPLATES:
            raise ActionError("Email Template not found")
    elif not (ctx.param("customsubject") and ctx.param("custommessage")):
        raise ActionError("A message name or custom subject and message is required")
    department = ctx.int_param("deptid")
    if (
        kind == "support"
        and department
        and ctx.row(ctx.tables.ticketdepartments, department) is None
    ):
        raise ActionError("Department ID not found")
    ctx.panel.record_email(
        {
            "admin": True,
            "messagename": name,
            "type": kind,
            "deptid": department,
            "subject": ctx.param("customsubject", name),
            "message": ctx.param("custommessage", ""),
            "date": ctx.now,
        }
    )
    return {}
