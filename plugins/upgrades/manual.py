"""The manual path (R-UP-3): a ticket with the quote to the department the admin chose.

At most one ticket per (service, target product), even across processes: a row in
``mod_whmcs_bridge_upgrade_requests`` (unique on service and product) is claimed BEFORE the
ticket is opened. The process whose insert wins opens it; any other one reads the row and
returns the same ticket. When OpenTicket's answer is lost the row says ``unknown`` and no second
ticket is ever opened for it: staff check the panel.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from whmcs_bridge.plugin import (
    ApiError,
    ApiOutcomeUnknown,
    BridgeError,
    ConfigError,
    queries,
    text_language,
)

from .cycles import BillingCycle
from .eligibility import UpgradeNotPossible, UpgradeOption, plan_upgrade
from .manual_text import Reader, ticket_text
from .settings import UpgradeSettings
from .tables import upgrade_requests as req_t
from .texts import ENGLISH, SPANISH

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

WAIT_SECONDS = 10.0  # how long a second process waits for the first one's ticket
# A claim this old belongs to a run that died: OpenTicket answers in seconds, not minutes.
STALE_CLAIM = dt.timedelta(minutes=10)
HARD_REFUSALS = {
    "service_not_active",
    "unknown_product",
    "cycle_not_offered",
    "not_priced",
    "same_plan",
}


@dataclass(frozen=True)
class ManualRequest:
    """The outcome: the ticket (``created`` False when an earlier run opened it)."""

    service_id: int
    product_id: int
    status: str  # opened | claimed (another process is opening it) | preview (dry run)
    ticket_id: int | None
    ticket_tid: str | None
    created: bool
    subject: str = ""
    message: str = ""


def _reader(bridge: Bridge, client_id: int) -> Reader:
    with bridge.panel.connect() as conn:
        client = queries.client(conn, bridge.panel.tables, client_id)
    language = text_language(client.language if client else "", bridge.panel.setting("Language"))
    return Reader(
        first_name=client.first_name if client else "",
        language=SPANISH if language == SPANISH else ENGLISH,
        company=bridge.panel.setting("CompanyName"),
    )


def _option(
    bridge: Bridge, settings: UpgradeSettings, service_id: int, target_id: int, cycle: str | None
) -> UpgradeOption:
    """The one option the manual path may take; UpgradeNotPossible with the reason otherwise."""
    with bridge.panel.connect() as conn:
        plan = plan_upgrade(
            conn,
            bridge.panel,
            settings,
            service_id,
            bridge.clock.today(),
            target_id=target_id,
            cycle=cycle,
        )
        paths = queries.services.upgrade_targets(conn, bridge.panel.tables, plan.source.id)
    label = f"service #{service_id} to product #{target_id}"
    if plan.closed:
        raise UpgradeNotPossible(
            f"{label}: the service is {plan.service.status}, it cannot be upgraded at all"
        )
    option = _one_cycle(plan.options, plan.service.cycle, label)
    hard = [r.reason for r in option.refusals if r.code in HARD_REFUSALS]
    if hard or option.quote is None or option.target is None:
        raise UpgradeNotPossible(f"{label}: " + "; ".join(hard or ["no price"]))
    if plan.manual_reason is None and target_id in paths:
        # R-UP-3 is for what the systems cannot do: this one the client orders itself.
        raise UpgradeNotPossible(
            f"{label}: the client can order it in the client area (the service's page, "
            "Upgrade/Downgrade); no ticket is needed"
        )
    return option


def _one_cycle(options: list[UpgradeOption], own: BillingCycle, label: str) -> UpgradeOption:
    """The option in the service's own cycle, or the only one; else say which to choose."""
    if len(options) == 1:
        return options[0]
    for option in options:
        if option.cycle is own:
            return option
    offered = ", ".join(option.cycle.value for option in options)
    raise UpgradeNotPossible(f"{label}: the product is offered {offered}; choose one with --cycle")


def _department(bridge: Bridge, settings: UpgradeSettings) -> int:
    wanted = settings.manual_department
    key = "plugins.upgrades.manual_department"
    if wanted is None:
        raise ConfigError("set the ticket department of the manual path (id or name)", key=key)
    with bridge.panel.connect() as conn:
        found = queries.tickets.department_id(conn, bridge.panel.tables, wanted)
    if found is None:
        raise ConfigError(f"no ticket department {wanted!r} in the panel", key=key)
    return found


def request_manual_upgrade(
    bridge: Bridge,
    service_id: int,
    target_id: int,
    cycle: str | None = None,
    *,
    again: bool = False,
) -> ManualRequest:
    """Open (once) the manual-path ticket for moving the service to the product.

    A claim left by a run that died (older than :data:`STALE_CLAIM`) is settled: the ticket it
    opened is found in ``tbltickets`` by client and subject, or, when there is none, the claim is
    taken over. ``again`` clears a request whose OpenTicket answer was lost, after an admin
    checked that no ticket exists.

    :raises UpgradeNotPossible: the service is not Active or is over, the target cannot be
        priced, is the same plan and cycle, or the client can order it in the client area.
    :raises ConfigError: no ``manual_department``, or no ``[api]`` to open tickets with.
    :raises BridgeError: OpenTicket failed (the claim is released), or its answer was lost.
    """
    settings = bridge.settings("upgrades")
    option = _option(bridge, settings, service_id, target_id, cycle)
    reader = _reader(bridge, option.service.client_id)
    subject, message = ticket_text(option, bridge.clock.today(), reader)
    existing = _find(bridge, service_id, target_id)
    if existing is not None and existing.status == "claimed" and not bridge.dry_run:
        existing = _settle_stale_claim(bridge, existing, subject)
    if existing is not None and existing.status == "unknown" and again and not bridge.dry_run:
        _release(bridge, existing)
        existing = None
    if existing is not None and existing.status == "opened":
        return _done(existing, created=False)
    if bridge.dry_run:
        return ManualRequest(service_id, target_id, "preview", None, None, False, subject, message)
    department = _department(bridge, settings)
    api = bridge.api  # a ConfigError now, before anything is claimed, when [api] is missing
    if not _claim(bridge, option):
        return _wait_for_other(bridge, service_id, target_id)
    try:
        ticket = api.open_ticket(
            department,
            subject,
            message,
            client_id=option.service.client_id,
            serviceid=service_id,
            admin=True,  # written by the company to the client, not as the client
        )
    except ApiOutcomeUnknown as exc:
        _set(bridge, service_id, target_id, status="unknown", note=str(exc))
        raise BridgeError(
            f"{exc}; check the panel's tickets before asking again: no second ticket is opened"
        ) from None
    except ApiError:
        with bridge.panel.begin() as conn:
            conn.execute(delete(req_t).where(_key(service_id, target_id)))
        raise
    _set(bridge, service_id, target_id, status="opened", ticket_id=ticket.id, ticket_tid=ticket.tid)
    return ManualRequest(
        service_id, target_id, "opened", ticket.id, ticket.tid, True, subject, message
    )


def _key(service_id: int, target_id: int) -> Any:
    return (req_t.c.service_id == service_id) & (req_t.c.product_id == target_id)


def _find(bridge: Bridge, service_id: int, target_id: int) -> Any:
    with bridge.panel.connect() as conn:
        return conn.execute(select(req_t).where(_key(service_id, target_id))).first()


def _claim(bridge: Bridge, option: UpgradeOption) -> bool:
    """Insert the request row; False when another run holds it (the unique key said so)."""
    assert option.quote is not None
    now = bridge.clock.panel_now()
    try:
        with bridge.panel.begin() as conn:
            conn.execute(
                insert(req_t).values(
                    service_id=option.service.id,
                    product_id=option.target_id,
                    client_id=option.service.client_id,
                    billing_cycle=option.cycle.value,
                    amount=str(option.quote.amount_due),
                    status="claimed",
                    claimed_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


def _release(bridge: Bridge, row: Any) -> bool:
    """Delete the request row if it is still as read (another run may have moved it on)."""
    with bridge.panel.begin() as conn:
        gone = conn.execute(
            delete(req_t).where(
                _key(row.service_id, row.product_id),
                req_t.c.status == row.status,
                req_t.c.updated_at == row.updated_at,
            )
        )
    return gone.rowcount == 1


def _settle_stale_claim(bridge: Bridge, row: Any, subject: str) -> Any:
    """A stale claim: the ticket it opened, if WHMCS has one; else the claim is released.

    Returns the row as it now stands (None once released), fresh claims unchanged.
    """
    if bridge.clock.panel_now() - row.claimed_at < STALE_CLAIM:
        return row
    with bridge.panel.connect() as conn:
        ticket = queries.tickets.ticket_titled_since(
            conn, bridge.panel.tables, int(row.client_id), subject, row.claimed_at
        )
    if ticket is not None:
        _set(
            bridge,
            row.service_id,
            row.product_id,
            status="opened",
            ticket_id=ticket.id,
            ticket_tid=ticket.tid,
            note="found in tbltickets after the run that opened it stopped",
        )
        return _find(bridge, row.service_id, row.product_id)
    _release(bridge, row)
    return _find(bridge, row.service_id, row.product_id)


def _set(bridge: Bridge, service_id: int, target_id: int, **values: Any) -> None:
    with bridge.panel.begin() as conn:
        conn.execute(
            update(req_t)
            .where(_key(service_id, target_id))
            .values(**values, updated_at=bridge.clock.panel_now())
        )


def _done(row: Any, created: bool) -> ManualRequest:
    return ManualRequest(
        int(row.service_id),
        int(row.product_id),
        str(row.status),
        row.ticket_id,
        row.ticket_tid,
        created,
    )


def _wait_for_other(bridge: Bridge, service_id: int, target_id: int) -> ManualRequest:
    """Another run claimed the request: wait a little for its ticket, never open a second."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        row = _find(bridge, service_id, target_id)
        if row is None or row.status != "claimed" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if row is None:  # the other run failed and released its claim: the caller may ask again
        raise BridgeError("another run failed to open the ticket; ask again")
    if row.status == "unknown":
        raise BridgeError(
            f"an earlier OpenTicket for service #{service_id} to product #{target_id} lost its "
            f"answer ({row.note}); check the panel's tickets: no second ticket is opened. If "
            "there is none, run `upgrade request` again with --again"
        )
    return _done(row, created=False)
