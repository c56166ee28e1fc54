"""The catalog of panel events: the one place that says what each event is and how it arrives.

R-AL-2 says new hook points keep being added, so the list is data, not code: each entry names the
event, its subject, the WHMCS hooks that report it (reference ``whmcs.md`` §2.2), how a watcher sees
it when no hook does, and the date it was introduced. The first eleven entries are the client
alerts of R-AL-2, with their dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class EventSpec:
    """One kind of panel event."""

    name: str
    # client, invoice, service, quote, domain, upgrade, contact, user, ticket, reply or incident
    subject: str
    hooks: tuple[str, ...]
    watcher: str
    introduced: date
    alert: bool = False  # one of the R-AL-2 client alerts
    # The same subject can have this event again (a service is suspended many times): a client
    # alert's key carries its occurrence (OCCURRENCE_EVENTS), another's the panel-local day.
    repeatable: bool = False


def _d(text: str) -> date:
    return date.fromisoformat(text)


CATALOG: tuple[EventSpec, ...] = (
    # R-AL-2: the client alerts, in the order and with the dates of the source.
    EventSpec(
        "client.added",
        "client",
        ("ClientAdd",),
        "tblclients rows with id above the cursor",
        _d("2021-06-01"),
        True,
    ),
    EventSpec(
        "client.password_changed",
        "client",
        ("UserChangePassword", "ClientChangePassword"),
        "digest of the password hash: tblusers (8.x owner users) or tblclients (7.x)",
        _d("2021-06-01"),
        True,
        repeatable=True,
    ),
    EventSpec(
        "invoice.created",
        "invoice",
        ("InvoiceCreated",),
        "tblinvoices rows with id above the cursor, not Draft",
        _d("2021-06-01"),
        True,
    ),
    EventSpec(
        "client.details_changed",
        "client",
        ("ClientEdit",),
        "digest of the client's contact fields changes",
        _d("2021-06-02"),
        True,
        repeatable=True,
    ),
    EventSpec(
        "invoice.cancelled",
        "invoice",
        ("InvoiceCancelled",),
        "an open invoice the watcher tracks turns Cancelled",
        _d("2021-06-05"),
        True,
    ),
    EventSpec(
        "invoice.paid",
        "invoice",
        ("InvoicePaid",),
        "an open invoice the watcher tracks turns Paid",
        _d("2021-06-05"),
        True,
    ),
    EventSpec(
        "service.suspended",
        "service",
        ("AfterModuleSuspend",),
        "tblhosting.domainstatus becomes Suspended (also products with no module)",
        _d("2021-06-16"),
        True,
        repeatable=True,
    ),
    EventSpec(
        "service.reactivated",
        "service",
        ("AfterModuleUnsuspend",),
        "tblhosting.domainstatus goes from Suspended back to Active",
        _d("2021-06-16"),
        True,
        repeatable=True,
    ),
    EventSpec(
        "service.terminated",
        "service",
        ("AfterModuleTerminate",),
        "tblhosting.domainstatus becomes Terminated or Cancelled",
        _d("2021-07-08"),
        True,
        repeatable=True,
    ),
    EventSpec(
        "quote.available",
        "quote",
        ("QuoteCreated", "QuoteStatusChange"),
        "a quote reaches stage Delivered",
        _d("2021-07-08"),
        True,
    ),
    EventSpec(
        "domain.deleted",
        "domain",
        ("DomainDelete",),
        "a tbldomains row the watcher knew is gone",
        _d("2021-07-08"),
        True,
    ),
    # Events the other plugins react to.
    EventSpec(
        "cancellation.requested",
        "service",
        ("CancellationRequest",),
        "tblcancelrequests rows with id above the cursor",
        _d("2026-11-26"),
        repeatable=True,
    ),
    EventSpec(
        "upgrade.ordered",
        "upgrade",
        ("PreUpgradeCheckout",),
        "tblupgrades rows with id above the cursor",
        _d("2026-11-26"),
    ),
    EventSpec(
        "upgrade.completed",
        "upgrade",
        ("AfterProductUpgrade", "AfterConfigOptionsUpgrade"),
        "a tracked tblupgrades row turns Completed",
        _d("2026-11-26"),
    ),
    EventSpec(
        "contact.added",
        "contact",
        ("ContactAdd",),
        "tblcontacts rows with id above the cursor",
        _d("2026-11-26"),
    ),
    EventSpec(
        "contact.changed",
        "contact",
        ("ContactEdit",),
        "digest of the contact's fields and e-mail preferences changes",
        _d("2026-11-26"),
        repeatable=True,
    ),
    EventSpec(
        "contact.removed",
        "contact",
        ("ContactDelete",),
        "a tblcontacts row the watcher knew is gone",
        _d("2026-11-26"),
    ),
    EventSpec(
        "user.permissions_changed",
        "user",
        (),
        "tblusers_clients.permissions (8.x) or tblcontacts.permissions (7.x) changes;"
        " a tblusers_clients row added or removed (8.x: a user linked or unlinked)",
        _d("2026-11-26"),
        repeatable=True,
    ),
    EventSpec(
        "ticket.opened",
        "ticket",
        ("TicketOpen", "TicketOpenAdmin"),
        "tbltickets rows with id above the cursor",
        _d("2026-11-26"),
    ),
    EventSpec(
        "ticket.replied",
        "reply",
        ("TicketUserReply", "TicketAdminReply"),
        "tblticketreplies rows with id above the cursor",
        _d("2026-11-26"),
    ),
    EventSpec(
        "service.moved",
        "service",
        (),
        "tblhosting.userid of a service changes",
        _d("2026-11-26"),
        repeatable=True,
    ),
    # R-SL-3: the service status page. WHMCS has no hook for Network Issues; the sla plugin's
    # watcher (bridge_register_watchers) reports them.
    EventSpec(
        "incident.opened",
        "incident",
        (),
        "sla plugin: tblnetworkissues rows above the cursor, not Resolved",
        _d("2026-12-04"),
    ),
    EventSpec(
        "incident.resolved",
        "incident",
        (),
        "sla plugin: a tracked tblnetworkissues row turns Resolved",
        _d("2026-12-04"),
    ),
    EventSpec(
        "cancellation.completed",
        "service",
        (),
        "cancellations plugin: raised when a requested cancellation ends the service",
        _d("2026-12-04"),
        repeatable=True,
    ),
    # Issue 9: a client writes to the WhatsApp number (e.g. BAJA / ALTA); the subject is the
    # sender's number, the key its wamid.
    EventSpec(
        "whatsapp.message_received",
        "phone",
        (),
        "alerts plugin: the WhatsApp webhook (POST /webhooks/whatsapp) gets a message to our"
        " number",
        _d("2026-12-04"),
        repeatable=True,
    ),
    # Issue 9 point 8: once a month (optional), clients whose phone cannot get WhatsApp are
    # asked to update it; the subject is the month (YYYYMM).
    EventSpec(
        "alerts.phone_reminder",
        "month",
        (),
        "alerts plugin: its monthly task, with [plugins.alerts] phone_reminder = true",
        _d("2026-12-04"),
    ),
)

BY_NAME: dict[str, EventSpec] = {spec.name: spec for spec in CATALOG}
ALERT_EVENTS: tuple[str, ...] = tuple(spec.name for spec in CATALOG if spec.alert)
REPEATABLE_EVENTS: frozenset[str] = frozenset(spec.name for spec in CATALOG if spec.repeatable)
#: Repeatable client alerts are keyed per occurrence, not per day (issue 9 point 1): a service
#: suspended twice in a day is told twice. Their watchers take in the hooks' reports
#: (``observe``), so a hook and a watcher still make one event of one change.
OCCURRENCE_EVENTS: frozenset[str] = frozenset(
    spec.name for spec in CATALOG if spec.repeatable and spec.alert
)


def spec(name: str) -> EventSpec:
    """The catalog entry for ``name``; KeyError names the unknown event."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown event '{name}'; known: {', '.join(BY_NAME)}") from None
