"""The inbox rows the sandbox writes where real WHMCS would run hooks/whmcs_bridge.php.

The payload keys and their order follow that file's allow-list, so the bridge cannot tell a
sandbox row from one the PHP hook wrote. Rows are written only when the bridge has created its
inbox table in that database, as with the real hook file (which only logs until then).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, inspect

from whmcs_bridge.store.tables import inbox

__all__ = ["HOOK_FIELDS", "hook_payload", "inbox_exists", "write_hook_row"]

#: hook -> payload keys, in the order hooks/whmcs_bridge.php writes them.
HOOK_FIELDS: dict[str, tuple[str, ...]] = {
    "ClientAdd": ("client_id", "user_id"),
    "UserChangePassword": ("user_id",),
    "ClientChangePassword": ("client_id",),
    "ClientEdit": ("client_id", "changed"),
    "InvoiceCreated": ("invoiceid", "source"),
    "InvoiceCancelled": ("invoiceid",),
    "InvoicePaid": ("invoiceid",),
    "AfterModuleSuspend": ("serviceid", "client_id", "pid", "suspendreason"),
    "AfterModuleUnsuspend": ("serviceid", "client_id", "pid"),
    "AfterModuleTerminate": ("serviceid", "client_id", "pid"),
    "ServiceEdit": ("serviceid", "client_id"),
    "AdminServiceEdit": ("serviceid", "client_id"),
    "ServiceDelete": ("serviceid", "client_id"),
    "QuoteCreated": ("quoteid", "status"),
    "QuoteStatusChange": ("quoteid", "status"),
    "DomainDelete": ("domainid", "client_id", "domain"),
    "CancellationRequest": ("client_id", "serviceid", "type"),
    "PreUpgradeCheckout": ("client_id", "upgradeid", "serviceid", "amount"),
    "AfterProductUpgrade": ("upgradeid",),
    "AfterConfigOptionsUpgrade": ("upgradeid",),
    "ContactAdd": ("client_id", "contactid"),
    "ContactEdit": ("client_id", "contactid"),
    "ContactDelete": ("client_id", "contactid"),
    "TicketOpen": ("ticketid", "client_id", "deptid"),
    "TicketOpenAdmin": ("ticketid", "client_id", "deptid"),
    "TicketUserReply": ("ticketid", "replyid", "client_id"),
    "TicketAdminReply": ("ticketid", "replyid"),
}

#: Payload values the PHP file writes as decimal strings, not numbers.
DECIMAL_KEYS = frozenset({"amount"})


def hook_payload(hook: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The payload for ``hook`` in the PHP file's key order; missing or extra keys raise."""
    keys = HOOK_FIELDS.get(hook)
    if keys is None:
        raise KeyError(f"hooks/whmcs_bridge.php records no hook {hook!r}")
    if set(values) != set(keys):
        raise KeyError(f"{hook} payload needs exactly {keys}, got {tuple(values)}")
    payload: dict[str, Any] = {}
    for key in keys:
        value = values[key]
        if key in DECIMAL_KEYS and value is not None:
            value = f"{Decimal(str(value)):.2f}"
        payload[key] = value
    return payload


def inbox_exists(conn: Connection) -> bool:
    """Whether the bridge has created its inbox table in this database."""
    return inspect(conn).has_table(inbox.name)


def write_hook_row(
    conn: Connection,
    hook: str,
    values: Mapping[str, Any],
    now: dt.datetime,
    origin: str = "api",
) -> bool:
    """Insert the inbox row for ``hook``; False (and nothing written) when there is no inbox."""
    payload = hook_payload(hook, values)
    if not inbox_exists(conn):
        return False
    text = json.dumps(payload, separators=(",", ":"))  # PHP json_encode escapes non-ASCII too
    conn.execute(
        insert(inbox).values(
            hook=hook, payload=text, origin=origin, created_at=now.replace(microsecond=0)
        )
    )
    return True
