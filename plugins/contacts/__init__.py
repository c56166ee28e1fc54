"""Contacts plugin: who may act for a client, on both WHMCS models (R-CT-1, R-CT-2).

- ``whmcs-bridge contacts list|grant|revoke|invite|audit`` (:mod:`.cli`): the people of a client
  with their rights (WHMCS's 13 keys, Spanish labels beside them) and e-mail preferences; rights
  changed through the WHMCS API (8.x ``UpdateUserPermissions``/``CreateClientInvite``, 7.x
  ``UpdateContact``/``AddContact``); a panel-wide audit (:mod:`.audit`).
- The owner's security notice (:mod:`.notice`) when someone gains access or a sensitive right.
- ``bridge_alert_recipients`` (:mod:`.recipients`): contacts and users by e-mail preference.
- The staff page's Contactos tab (:mod:`.staff`): the last audit, kept by :mod:`.audit_store`
  (the cycle audits at most once an hour: 2.9 s at 100,000 clients is too slow per page view).

Config ``[plugins.contacts]`` (:mod:`.settings`). The panel is read through
``queries.people``; the events come from the core's contacts and user-link watchers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import SKIP, Migration, create_tables, hookimpl

from .settings import ContactSettings, load_settings

if TYPE_CHECKING:
    import click

    from whmcs_bridge.plugin import (
        Bridge,
        Event,
        Recipient,
        Skip,
        StaffActionResult,
        StaffAdmin,
        StaffTab,
    )


def _settings(bridge: Bridge) -> ContactSettings:
    found = bridge.settings("contacts")
    return found if isinstance(found, ContactSettings) else ContactSettings()


@hookimpl
def bridge_load_settings(config: Any) -> ContactSettings:
    """Fires once at start; returns the checked ``[plugins.contacts]`` section."""
    return load_settings(config.plugin_config("contacts"))


@hookimpl
def bridge_register_commands(cli: click.Group) -> None:
    """Fires at CLI start-up; adds ``contacts`` (list, grant, revoke, invite, audit)."""
    from .cli import contacts

    cli.add_command(contacts)


@hookimpl
def bridge_on_event(bridge: Bridge, event: Event) -> str | Skip:
    """Fires per stored event; tells the owner when someone gained access or a sensitive
    right (``user.permissions_changed``, a 7.x sub-account's ``contact.added``). Returns a note,
    or ``SKIP`` for every other event."""
    if event.name not in ("user.permissions_changed", "contact.added"):
        return SKIP
    from .notice import security_notice

    return security_notice(bridge, event, _settings(bridge))


@hookimpl
def bridge_alert_recipients(bridge: Bridge, event: Event, client_id: int) -> list[Recipient]:
    """Fires while the alerts plugin builds an alert; returns the client's contacts and users
    whose e-mail preference covers the event, with ``role`` and the holder's name."""
    from .recipients import alert_recipients

    return alert_recipients(bridge, event, client_id, _settings(bridge))


@hookimpl
def bridge_migrations() -> list[Migration]:
    """The plugin's table: the kept audits the staff page shows."""
    from .audit_store import audits

    return [Migration(1, "contacts audits kept for the staff page", create_tables(audits))]


@hookimpl
def bridge_run_tasks(bridge: Bridge) -> str | None:
    """Fires once per cycle; audits the panel when the kept audit is an hour old (a summary
    line), else does nothing (None)."""
    from .audit_store import run_if_due

    return run_if_due(bridge, _settings(bridge))


@hookimpl
def bridge_staff_tabs(bridge: Bridge, language: str) -> list[StaffTab]:
    """Fires per staff page view; returns the Contactos tab (the kept audit's findings)."""
    from .staff import contacts_tab

    return [contacts_tab(bridge, language, _settings(bridge))]


@hookimpl
def bridge_staff_action(
    bridge: Bridge, name: str, params: dict[str, Any], version: str, admin: StaffAdmin
) -> StaffActionResult | None:
    """Fires per staff page button; answers ``contacts.audit_now`` (run the audit again),
    None for every other action."""
    from .staff import AUDIT_NOW, audit_now

    if name != AUDIT_NOW:
        return None
    return audit_now(bridge, version, admin, _settings(bridge))
