"""The core watchers, one module per part of the panel.

Each reads only what changed or what is still open, through indexes, never whole history:

=================  ===============================================  ==========================
watcher            events                                           how
=================  ===============================================  ==========================
clients            client.added, client.details_changed,            new rows + feed + sweep
                   client.password_changed (7.x)
user_passwords     client.password_changed (8.x, owner users)       new rows + feed + sweep
contacts           contact.added/changed/removed,                   new rows + feed + sweep
                   user.permissions_changed (7.x sub-accounts)
user_links         user.permissions_changed (8.x)                   new rows + feed + sweep
domains            domain.deleted                                   new rows + sweep
services           service.suspended/reactivated/terminated/moved   feed + open slice + sweep
invoices           invoice.created/paid/cancelled                   new rows + feed + open slice
quotes             quote.available                                  new rows + feed + open slice
upgrades           upgrade.ordered, upgrade.completed               new rows + feed + open slice
tickets            ticket.opened                                    new rows
ticket_replies     ticket.replied                                   new rows
cancellations      cancellation.requested                           new rows
=================  ===============================================  ==========================

A sweep looks at once at the rows of the clients the activity log named (WHMCS logs a profile
edit, an admin's, a contact's or a domain's change with the client), and compares
:data:`~whmcs_bridge.intake.watchers.base.SWEEP_SLICE` other rows per cycle, so a change that
neither a hook reported nor WHMCS logged (a direct database edit) is found within
``ceil(rows / SWEEP_SLICE)`` cycles (100,000 clients at one cycle a minute: 200 minutes at worst;
300,000 services: 10 hours). The slice is small so that an idle cycle reads about as many pages
on a large panel as on a small one.

"feed": the panel's activity log, read before the watchers poll (``intake/activity.py``), names
the clients, services, invoices and quotes something happened to; the watchers of open sets
compare those at once, so a change WHMCS logs (payments, cancellations, module commands, the
cron's suspensions, admins' edits) is found in the next cycle, like one a hook reports. "open
slice": the rest of an open set is compared :data:`~whmcs_bridge.intake.watchers.base.OPEN_SLICE`
remembered ids per cycle, round-robin, so a direct database edit that neither logs nor calls a
hook is found within ``ceil(open set / OPEN_SLICE)`` cycles (24,000 pending or suspended services
at one cycle a minute: 48 minutes at worst; every cycle while the open set fits in one slice).
When the feed cannot narrow things down (no activity log table, the first cycle, a burst of more
than ``ACTIVITY_BATCH`` lines) the whole open sets are compared in that cycle.

Everything else (new rows) is found in the next cycle.
"""

from __future__ import annotations

from whmcs_bridge.intake.watcher import Watcher
from whmcs_bridge.intake.watchers.accounts import ClientWatcher, UserPasswordWatcher
from whmcs_bridge.intake.watchers.base import CoreWatcher
from whmcs_bridge.intake.watchers.billing import InvoiceWatcher, QuoteWatcher, UpgradeWatcher
from whmcs_bridge.intake.watchers.contacts import ContactWatcher, LinkWatcher
from whmcs_bridge.intake.watchers.rows import CancellationWatcher, ReplyWatcher, TicketWatcher
from whmcs_bridge.intake.watchers.services import ServiceWatcher
from whmcs_bridge.intake.watchers.sweep import DomainWatcher
from whmcs_bridge.panel.tables import PanelTables

__all__ = ["CORE_WATCHERS", "core_watchers"]

#: Each core watcher with the tables it needs; one whose tables are missing does not run.
CORE_WATCHERS: tuple[tuple[type[CoreWatcher], tuple[str, ...]], ...] = (
    (ClientWatcher, ("clients",)),
    (UserPasswordWatcher, ("users", "users_clients")),
    (ContactWatcher, ("contacts",)),
    (LinkWatcher, ("users_clients",)),
    (DomainWatcher, ("domains",)),
    (ServiceWatcher, ("hosting",)),
    (InvoiceWatcher, ("invoices",)),
    (QuoteWatcher, ("quotes",)),
    (UpgradeWatcher, ("upgrades",)),
    (TicketWatcher, ("tickets",)),
    (ReplyWatcher, ("ticketreplies", "tickets")),
    (CancellationWatcher, ("cancelrequests", "hosting")),
)


def core_watchers(tables: PanelTables, sweep_size: int | None = None) -> list[Watcher]:
    """Every core watcher that applies to this panel's schema (WHMCS 7.x or 8.x)."""
    return [
        kind(tables, sweep_size)
        for kind, needs in CORE_WATCHERS
        if all(tables.get(name) is not None for name in needs)
    ]
