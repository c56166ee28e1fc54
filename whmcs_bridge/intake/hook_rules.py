"""How each WHMCS hook the hook file records becomes an event: the mapping is data.

The few hooks that need a lookup (which client owns an invoice, which clients a login user owns)
say so in ``client_from``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HookRule:
    """How one WHMCS hook becomes an event."""

    event: str
    subject: str
    id_key: str  # payload key holding the subject id
    client_from: str | None = None  # panel table to look the client up in, by subject id
    data_keys: tuple[str, ...] = ()
    when: Callable[[dict[str, Any]], bool] | None = None


def _delivered(payload: dict[str, Any]) -> bool:
    return str(payload.get("status", "")).lower() == "delivered"


HOOKS: dict[str, HookRule] = {
    "ClientAdd": HookRule("client.added", "client", "client_id", data_keys=("user_id",)),
    # WHMCS 8 reports a login user's password: one event per client the user owns (below).
    "UserChangePassword": HookRule(
        "client.password_changed", "client", "user_id", client_from="users_clients"
    ),
    "ClientChangePassword": HookRule("client.password_changed", "client", "client_id"),
    "ClientEdit": HookRule("client.details_changed", "client", "client_id", data_keys=("changed",)),
    "InvoiceCreated": HookRule(
        "invoice.created", "invoice", "invoiceid", client_from="invoices", data_keys=("source",)
    ),
    "InvoiceCancelled": HookRule(
        "invoice.cancelled", "invoice", "invoiceid", client_from="invoices"
    ),
    "InvoicePaid": HookRule("invoice.paid", "invoice", "invoiceid", client_from="invoices"),
    "AfterModuleSuspend": HookRule(
        "service.suspended", "service", "serviceid", data_keys=("pid", "suspendreason")
    ),
    "AfterModuleUnsuspend": HookRule(
        "service.reactivated", "service", "serviceid", data_keys=("pid",)
    ),
    "AfterModuleTerminate": HookRule(
        "service.terminated", "service", "serviceid", data_keys=("pid",)
    ),
    "QuoteCreated": HookRule(
        "quote.available", "quote", "quoteid", client_from="quotes", when=_delivered
    ),
    "QuoteStatusChange": HookRule(
        "quote.available", "quote", "quoteid", client_from="quotes", when=_delivered
    ),
    "DomainDelete": HookRule("domain.deleted", "domain", "domainid", data_keys=("domain",)),
    "CancellationRequest": HookRule(
        "cancellation.requested", "service", "serviceid", data_keys=("type",)
    ),
    "PreUpgradeCheckout": HookRule(
        "upgrade.ordered", "upgrade", "upgradeid", data_keys=("serviceid", "amount")
    ),
    "AfterProductUpgrade": HookRule(
        "upgrade.completed", "upgrade", "upgradeid", client_from="upgrades"
    ),
    "AfterConfigOptionsUpgrade": HookRule(
        "upgrade.completed", "upgrade", "upgradeid", client_from="upgrades"
    ),
    "ContactAdd": HookRule("contact.added", "contact", "contactid"),
    "ContactEdit": HookRule("contact.changed", "contact", "contactid"),
    "ContactDelete": HookRule("contact.removed", "contact", "contactid"),
    "TicketOpen": HookRule("ticket.opened", "ticket", "ticketid", data_keys=("deptid",)),
    "TicketOpenAdmin": HookRule("ticket.opened", "ticket", "ticketid", data_keys=("deptid",)),
    "TicketUserReply": HookRule("ticket.replied", "reply", "replyid", data_keys=("ticketid",)),
    "TicketAdminReply": HookRule(
        "ticket.replied",
        "reply",
        "replyid",
        client_from="tickets_of_reply",
        data_keys=("ticketid",),
    ),
}
# Hooks the file records that only hint a watcher to look again (no event of their own).
HINT_HOOKS = frozenset({"ServiceEdit", "AdminServiceEdit", "ServiceDelete"})
