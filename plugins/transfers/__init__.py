"""Transfers plugin: moving a service to another client, checked rule by rule (R-TR-1..9).

WHMCS offers no API and no hook for the move (whmcs.md §3.6). The plugin checks every rule at
once (:mod:`.check`), records the owner's request from a ticket (:mod:`.owner_request`, R-TR-3),
applies it in one transaction with a narrow direct write (:mod:`.apply`), and, from dispatch,
tells both holders, replies on the ticket and flags the old holder's later tickets about the
service for staff (:mod:`.notices`). CLI: ``whmcs-bridge transfer`` (:mod:`.cli`). The staff
page's Transferencias tab, with Aprobar and Rechazar: :mod:`.staff` (buttons:
:mod:`.staff_actions`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import SKIP, Check, Migration, TableGrant, create_tables, hookimpl, queries

if TYPE_CHECKING:
    import click

    from whmcs_bridge.plugin import (
        Bridge,
        BridgeConfig,
        Event,
        Skip,
        StaffActionResult,
        StaffAdmin,
        StaffTab,
    )

    from .settings import TransferSettings

WHY = "transfers: moving a service to another client (whmcs.md §3.6)"


@hookimpl
def bridge_load_settings(config: BridgeConfig) -> TransferSettings:
    """Fires once at start-up; returns ``[plugins.transfers]`` parsed (ValueError names the key)."""
    from .settings import load_settings

    return load_settings(config.plugin_config("transfers"))


@hookimpl
def bridge_migrations() -> list[Migration]:
    """Fires before ``db upgrade`` and each cycle; returns the requests and notes tables."""
    from .tables import transfer_notes, transfer_requests

    return [
        Migration(
            1,
            "transfer requests and R-TR-9 ticket notes",
            create_tables(transfer_requests, transfer_notes),
        )
    ]


@hookimpl
def bridge_db_grants(bridge: Bridge) -> list[TableGrant]:
    """Fires for ``db grants`` and ``doctor``: UPDATE of ``userid`` on the four tables a move
    changes, and INSERT on the activity log for WHMCS's own move lines."""
    grants = [
        TableGrant(f"tbl{table}", ("UPDATE",), (column,), why=WHY)
        for table, column in queries.moves.MOVE_COLUMNS
    ]
    return [*grants, TableGrant("tblactivitylog", ("INSERT",), (), why=WHY + ", its log lines")]


@hookimpl
def bridge_doctor_checks(bridge: Bridge) -> list[Check]:
    """Fires once per ``doctor`` run; says whether the database user holds the move's grants."""
    name = "plugin transfers: move grants"
    if bridge.panel.backend == "sqlite":
        return [Check(name, True, "sqlite: no grants to hold")]
    with bridge.panel.connect() as conn:
        problems = queries.moves.move_rights_problems(conn, bridge.panel.tables)
    if problems:
        return [Check(name, False, "missing: " + "; ".join(problems) + " (see `db grants`)")]
    return [Check(name, True, "UPDATE (userid) on the moved tables, INSERT on tblactivitylog")]


@hookimpl
def bridge_register_commands(cli: click.Group) -> None:
    """Fires at CLI start-up; adds ``transfer`` (check, request, apply, list, show, cancel)."""
    from .cli import transfer

    cli.add_command(transfer)


@hookimpl
def bridge_on_event(bridge: Bridge, event: Event) -> str | Skip:
    """Fires per stored event. ``service.moved`` of a transfer this plugin applied: notices to
    both holders (R-TR-5) and the reply on the request's ticket. ``ticket.opened`` by a former
    holder about a moved service: a staff-only note (R-TR-9). SKIP for everything else."""
    if event.name == "service.moved":
        from .notices import on_moved

        return on_moved(bridge, event)
    if event.name == "ticket.opened":
        from .notices import on_ticket_opened

        return on_ticket_opened(bridge, event)
    return SKIP


@hookimpl
def bridge_staff_tabs(bridge: Bridge, language: str) -> list[StaffTab]:
    """Fires per staff page view; returns the Transferencias tab (:mod:`.staff`): pending
    requests checked again now, and the ones applied, cancelled or refused lately."""
    from .staff import tab

    return [tab(bridge, language)]


@hookimpl
def bridge_staff_action(
    bridge: Bridge, name: str, params: dict[str, Any], version: str, admin: StaffAdmin
) -> StaffActionResult | None:
    """Fires per staff page button; carries out ``transfers.approve`` (the same apply as
    ``transfer apply --yes``) and ``transfers.reject`` (cancel and reply on the ticket);
    ``None`` for the other plugins' actions."""
    if not name.startswith("transfers."):
        return None
    from .staff_actions import act

    return act(bridge, name, params, version, admin)
