"""Cancellations plugin: requests carried out on the company's terms (R-CA-1..7).

Every WHMCS cancellation request (hook ``CancellationRequest`` or the core watcher of
``tblcancelrequests``: event ``cancellation.requested``) is kept in the plugin's table with its
state (:mod:`.tables`). Immediate requests end the same day in the panel's time zone; End of
Billing Period ones on the service's next due date, never before, with renewal invoices for after
the end cancelled. A product without a provisioning module gets a ticket to the technical
department. The client is told the terms when the request is received and when the service ends
(:mod:`.notices`). Requests not made in the client area wait for staff (R-CA-6).

Config ``[plugins.cancellations]`` (:mod:`.settings`); CLI ``whmcs-bridge cancellations``
(:mod:`.cli`); the work of each cycle in :mod:`.work` (taking a request in: :mod:`.intake`;
carrying it out: :mod:`.ending`; staff commands: :mod:`.commands`); the staff page's Bajas tab in
:mod:`.staff`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import SKIP, Migration, TableGrant, create_tables, hookimpl, queries

if TYPE_CHECKING:
    import click

    from whmcs_bridge.plugin import (
        Bridge,
        BridgeConfig,
        Check,
        Event,
        Skip,
        StaffActionResult,
        StaffAdmin,
        StaffTab,
    )

    from .settings import CancellationSettings


@hookimpl
def bridge_load_settings(config: BridgeConfig) -> CancellationSettings:
    """Fires once at start-up; returns ``[plugins.cancellations]`` parsed, or raises ValueError
    naming the first wrong key."""
    from .settings import parse_settings

    return parse_settings(config.plugin_config("cancellations"))


@hookimpl
def bridge_migrations() -> list[Migration]:
    """Fires before ``db upgrade`` and each cycle; returns the plugin's tables."""
    from .tables import cancellation_cursor, cancellations

    return [
        Migration(
            1,
            "cancellation requests and their states (R-CA)",
            create_tables(cancellations, cancellation_cursor),
        )
    ]


@hookimpl
def bridge_db_grants(bridge: Bridge) -> list[TableGrant]:
    """Fires for ``db grants`` and ``doctor``: ``cancellations void`` deletes one request row
    (WHMCS has no API for it) and logs it in the activity log."""
    why = "cancellations void: withdraw a request (no WHMCS API for it)"
    return [
        TableGrant("tblcancelrequests", ("DELETE",), why=why),
        TableGrant("tblactivitylog", ("INSERT",), why=why + ", logged as WHMCS logs its own"),
    ]


@hookimpl
def bridge_register_commands(cli: click.Group) -> None:
    """Fires at CLI start-up; adds ``cancellations`` (list, show, confirm, done, void,
    no-renew)."""
    from .cli import cancellations

    cli.add_command(cancellations)


@hookimpl
def bridge_on_event(bridge: Bridge, event: Event) -> str | Skip:
    """Fires per stored event. ``cancellation.requested``: take the request in (its state from
    its type, date and origin) and tell the client the terms; ``cancellation.completed``: tell
    the client the service ended. Returns a note; ``SKIP`` for other events."""
    from . import ending, intake, notices, store

    if event.name == "cancellation.requested":
        tables = bridge.panel.tables
        request_id = event.data.get("request_id")
        with bridge.panel.connect() as conn:
            if request_id:
                request = queries.cancellations.cancel_request(conn, tables, int(request_id))
            else:
                request = queries.cancellations.service_cancel_request(
                    conn, tables, event.subject_id
                )
        if request is None:
            return f"service {event.subject_id} has no request in tblcancelrequests (withdrawn?)"
        row, created = intake.take_in(bridge, request, event.origin, event.id)
        if row is None:
            return "dry run: nothing recorded"
        note = f"request #{row.id} {'taken in' if created else 'known'}: {row.state}"
        if row.state in ("done", "void", "failed"):
            return note
        letter = notices.letter(bridge, row, "received", held=row.state == "confirm")
        if letter is None:
            return note + "; client not found, nobody told"
        return f"{note}; {notices.send(bridge, event, letter)}"
    if event.name == ending.COMPLETED:
        row = store.row_by_id(bridge, int(event.data.get("cancellation_id", 0)))
        if row is None:
            return "the cancellation is not in the plugin's table"
        letter = notices.letter(bridge, row, "terminated")
        if letter is None:
            return "client not found, nobody told"
        return notices.send(bridge, event, letter)
    return SKIP


@hookimpl
def bridge_run_tasks(bridge: Bridge) -> str | None:
    """Fires once per cycle: take in requests no event brought, and move each open request on
    (terminate what is due today, in the panel's time zone). Returns a one-line summary."""
    from .work import run_tasks

    return run_tasks(bridge)


@hookimpl
def bridge_doctor_checks(bridge: Bridge) -> list[Check]:
    """Fires once per ``doctor`` run: WHMCS settings against the company's terms (R-CA-2,
    R-CA-6) and the technical department of the manual path (R-CA-5)."""
    from whmcs_bridge.plugin import Check

    from .store import settings_of

    settings = settings_of(bridge)
    checks: list[Check] = [
        Check(
            "plugin cancellations: API",
            bridge.has_api,
            "[api] set: requests are carried out through the WHMCS API"
            if bridge.has_api
            else "no [api] section: requests are recorded but none is carried out",
        )
    ]
    cancel_invoices = _on(bridge.panel.setting("CancelInvoiceOnCancellation"))
    checks.append(
        Check(
            "plugin cancellations: CancelInvoiceOnCancellation",
            not cancel_invoices,
            (
                "on: WHMCS cancels every unpaid invoice of a service when a cancellation is "
                "requested, including the one for the period in progress, which the company's "
                "terms keep due; turn off Setup > Automation Settings > 'Cancel Invoice on "
                "Cancellation Request' (the plugin cancels only renewals for after the end)"
            )
            if cancel_invoices
            else "off: invoices for the period in progress stay due",
        )
    )
    auto = _on(bridge.panel.setting("AutoCancellationRequests"))
    held = settings.require_client_origin
    checks.append(
        Check(
            "plugin cancellations: AutoCancellationRequests",
            not (auto and held),
            (
                "on: WHMCS's daily task also carries out requests the plugin holds for staff "
                "confirmation (R-CA-6); turn off Setup > Automation Settings > 'Process "
                "Cancellation Requests', the plugin carries them out"
            )
            if auto and held
            else (
                "on: WHMCS's daily task may end services first; the plugin records it"
                if auto
                else "off: the plugin carries requests out"
            ),
        )
    )
    wanted = settings.technical_department
    name = "plugin cancellations: technical department"
    if wanted is None:
        checks.append(
            Check(name, False, "not set: products without a module cannot get their ticket")
        )
    else:
        with bridge.panel.connect() as conn:
            found = queries.tickets.department_id(conn, bridge.panel.tables, wanted)
        checks.append(
            Check(
                name,
                found is not None,
                f"{wanted!r} is department #{found}"
                if found
                else f"no ticket department {wanted!r} in the panel",
            )
        )
    return checks


@hookimpl
def bridge_staff_tabs(bridge: Bridge, language: str) -> list[StaffTab]:
    """Fires per staff page view; returns the Bajas tab (:mod:`.staff`)."""
    from .staff import tab

    return [tab(bridge, language)]


@hookimpl
def bridge_staff_action(
    bridge: Bridge, name: str, params: dict[str, Any], version: str, admin: StaffAdmin
) -> StaffActionResult | None:
    """Fires per staff page button; carries out ``cancellations.confirm``, ``.done`` and
    ``.void``; ``None`` for the other plugins' actions."""
    if not name.startswith("cancellations."):
        return None
    from .staff import act

    return act(bridge, name, params, version, admin)


def _on(value: Any) -> bool:
    return str(value or "").strip().lower() in {"on", "1", "yes", "true"}
