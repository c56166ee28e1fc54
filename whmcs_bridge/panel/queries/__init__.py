"""The panel read layer: one function per question, shared by every plugin.

Each function takes an open connection and the panel's :class:`PanelTables` (``bridge.panel``
gives both), works on both WHMCS models (7.x sub-accounts, 8.x users) and on the SQLite demo,
and returns frozen dataclasses with money as ``Decimal`` and zero dates as ``None``. Plugins
write no SQL against ``tbl*`` tables themselves: a question not answered here is added here, in
the module of its subject (clients, services, billing, tickets, people, upgrades, quotes,
domains, configuration...).

    with bridge.panel.connect() as conn:
        info = queries.client(conn, bridge.panel.tables, client_id)
"""

import importlib
from types import ModuleType

from whmcs_bridge.panel.queries import (
    billing,
    cancellations,
    clients,
    configuration,
    domains,
    holdings,
    incidents,
    moves,
    people,
    quotes,
    services,
    tickets,
    upgrades,
)
from whmcs_bridge.panel.queries.billing import (
    OPEN_INVOICE_STATUSES,
    InvoiceInfo,
    InvoiceItem,
    ServiceInvoice,
    UnpaidItem,
    invoices_for_service,
    open_invoices,
    overdue_invoice_ids,
    overdue_invoices,
    unpaid_items_of_service,
)
from whmcs_bridge.panel.queries.clients import (
    ClientInfo,
    ClientPhone,
    client,
    client_by_email,
    client_phones,
    clients_by_email,
    currency_of_client,
    currency_row,
)
from whmcs_bridge.panel.queries.services import (
    CYCLES,
    AddonInfo,
    ServiceInfo,
    product_prices,
    service,
    services_of_client,
)
from whmcs_bridge.panel.queries.tickets import (
    DEFAULT_OPEN_STATUSES,
    TicketInfo,
    TicketReply,
    first_staff_reply,
    open_statuses,
    open_tickets,
    replies,
    ticket,
)

__all__ = [
    "CYCLES",
    "DEFAULT_OPEN_STATUSES",
    "OPEN_INVOICE_STATUSES",
    "AddonInfo",
    "ClientInfo",
    "ClientPhone",
    "InvoiceInfo",
    "InvoiceItem",
    "ServiceInfo",
    "ServiceInvoice",
    "TicketInfo",
    "TicketReply",
    "UnpaidItem",
    "billing",
    "cancellations",
    "client",
    "client_by_email",
    "client_phones",
    "clients",
    "clients_by_email",
    "configuration",
    "currency_of_client",
    "currency_row",
    "domains",
    "first_staff_reply",
    "holdings",
    "incidents",
    "invoices_for_service",
    "moves",
    "open_invoices",
    "open_statuses",
    "open_tickets",
    "overdue_invoice_ids",
    "overdue_invoices",
    "people",
    "product_prices",
    "quotes",
    "replies",
    "service",
    "services",
    "services_of_client",
    "ticket",
    "tickets",
    "unpaid_items_of_service",
    "upgrades",
]


def __getattr__(name: str) -> ModuleType:
    """``queries.<subject>`` for a subject module not imported above (``queries.people``)."""
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
