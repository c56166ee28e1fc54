"""Every hook a plugin may implement. Hooks are called with keyword arguments only.

Families (``STYLE.md`` §2): registries ``bridge_register_*(register)``, events
``bridge_on_event(bridge, event)``, decisions with ``firstresult=True`` returning a verdict or
``None`` to abstain, declarations (settings, tables, grants) read once at start, and the
lifecycle hooks of a cycle. The host calls each implementation separately
(:meth:`~whmcs_bridge.plugin_manager.PluginHost.call_each`): one plugin raising never stops
another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from whmcs_bridge.bridge import Bridge
    from whmcs_bridge.channels.base import Channel
    from whmcs_bridge.config import BridgeConfig
    from whmcs_bridge.doctor import Check
    from whmcs_bridge.events.model import Event, Skip
    from whmcs_bridge.intake.watcher import Watcher
    from whmcs_bridge.recipient import Recipient
    from whmcs_bridge.serve.app import Handler
    from whmcs_bridge.staff import StaffActionResult, StaffAdmin, StaffTab
    from whmcs_bridge.store.grants import TableGrant
    from whmcs_bridge.store.migrate import Migration
    from whmcs_bridge.verdicts import UpgradePrice

hookspec = pluggy.HookspecMarker("whmcs_bridge")


@hookspec
def bridge_load_settings(config: BridgeConfig) -> object | None:
    """Parse and check the plugin's own config section, once, before any work starts.

    Fires once, when the plugin manager is built for a command that has a config. The value
    returned is kept and handed back by ``bridge.settings("<name>")`` for the rest of the
    process: events and tasks never parse the section again.

    :param config: the whole validated config; read your section with
        ``config.plugin_config("<name>")``.
    :return: the plugin's settings object, or ``None`` when it has none.
    :raises ConfigError: naming the dotted key (``plugins.alerts.quiet_hours``); the run stops
        with exit code 2, naming the file and the key.
    """


@hookspec
def bridge_register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``whmcs-bridge`` CLI.

    Fires once at CLI start-up, for enabled plugins only, before the command line is parsed.

    :param cli: the top-level click group.
    """


@hookspec
def bridge_register_routes(register: Callable[[str, str, Handler], None]) -> None:
    """Add HTTP routes to ``whmcs-bridge serve``.

    Fires once when ``serve`` builds its WSGI app.

    :param register: call ``register(method, path, handler)``; the handler receives
        ``(bridge, request)`` and returns ``(status, headers, body_bytes)``.
    """


@hookspec
def bridge_register_channels(register: Callable[[Channel], None], bridge: Bridge) -> None:
    """Offer message channels to the outbox, beside the core's (WhatsApp, Telegram, e-mail,
    console).

    Fires once per process, when the outbox is first used.

    :param register: call ``register(channel)`` with a :class:`whmcs_bridge.plugin.Channel`.
    :param bridge: the bridge, for configuration and services.
    """


@hookspec
def bridge_register_watchers(register: Callable[[Watcher], None], bridge: Bridge) -> None:
    """Add watchers that turn database changes into events during intake.

    Fires once per cycle, before intake.

    :param register: call ``register(watcher)`` with a :class:`whmcs_bridge.plugin.Watcher`.
    :param bridge: the bridge, for configuration and services.
    """


@hookspec
def bridge_migrations() -> list[Migration] | None:
    """Declare the plugin's own tables: its migration steps, numbered from 1, in order.

    Fires when ``db upgrade`` runs and before every ``run``/``serve`` cycle (a cheap check of
    the recorded versions). The core's steps run first, then each enabled plugin's; each
    plugin's reached step is recorded under its name and version. Steps must be idempotent.

    :return: a list of :class:`whmcs_bridge.plugin.Migration`, or ``None`` for no tables.
    """


@hookspec
def bridge_db_grants(bridge: Bridge) -> list[TableGrant] | None:
    """Name the rights on WHMCS tables the plugin needs beyond ``SELECT``.

    Fires for ``db grants`` (which prints them after the core's lines) and ``doctor``. Only the
    two narrow direct writes of the architecture need this (moving a service, withdrawing a
    cancellation request).

    :return: a list of :class:`whmcs_bridge.plugin.TableGrant`, or ``None``.
    """


@hookspec
def bridge_on_event(bridge: Bridge, event: Event) -> str | Skip | None:
    """React to one panel event.

    Fires during dispatch, once per stored event and plugin, until the plugin's outcome is
    final. An exception is recorded as that plugin's failure, retried with backoff, and
    quarantined after ``[run] retry_span_hours`` (or ``max_tries``); the other plugins are
    not affected. Handlers must be idempotent: outcomes are committed in groups, so a crash
    may re-run the handlers of up to ``[run] outcomes_per_commit`` events. They re-read
    current state from the panel (the event carries ids, not copies).

    :param bridge: the bridge's services (``panel``, ``api``, ``outbox``, ``clock``).
    :param event: the stored event (``name``, ``subject_type``, ``subject_id``, ``client_id``...).
    :return: an optional short note stored with the outcome (``"2 messages queued"``), ``None``,
        or :data:`whmcs_bridge.plugin.SKIP` when the event is not for this plugin.
    """


@hookspec
def bridge_run_tasks(bridge: Bridge) -> str | None:
    """Do the plugin's scheduled work (cancellations that fall due, SLA deadlines...).

    Fires once per cycle, after dispatch and before delivery. An exception is logged and
    reported as a failed cycle step; it does not stop other plugins' tasks.

    :return: an optional one-line summary for the cycle report.
    """


@hookspec
def bridge_doctor_checks(bridge: Bridge) -> list[Check] | None:
    """Report the plugin's own health checks in ``whmcs-bridge doctor``.

    Fires once per ``doctor`` run, after the core checks. An exception becomes one failed
    check named after the plugin.

    :return: a list of :class:`whmcs_bridge.plugin.Check` (name, ok, detail), or ``None``.
    """


@hookspec(firstresult=True)
def bridge_upgrade_price(
    bridge: Bridge, service_id: int, target_product_id: int, billing_cycle: str
) -> UpgradePrice | None:
    """Decide what an upgrade of a service costs under the company's policy (R-UP-1).

    Fires when ``serve`` answers WHMCS's ``PreUpgradeCheckout`` call and for ``upgrade quote``.
    Stops at the first non-``None`` result.

    :param service_id: ``tblhosting.id`` of the service being upgraded.
    :param target_product_id: ``tblproducts.id`` of the chosen package.
    :param billing_cycle: the chosen cycle, in WHMCS's words (``Annually``).
    :return: an :class:`whmcs_bridge.plugin.UpgradePrice`, or ``None`` to abstain, in which
        case WHMCS keeps its own price.
    """


@hookspec
def bridge_alert_recipients(bridge: Bridge, event: Event, client_id: int) -> list[Recipient] | None:
    """Name extra people who receive an alert about an event of a client.

    Fires when the alerts plugin builds messages for an event; the client itself is always a
    recipient. The contacts plugin adds secondary contacts whose preferences cover the event.

    :param client_id: the client the event's subject belongs to now.
    :return: a list of :class:`whmcs_bridge.plugin.Recipient`, or ``None``.
    """


@hookspec
def bridge_staff_tabs(bridge: Bridge, language: str) -> list[StaffTab] | None:
    """Offer the plugin's tabs of the staff page in the WHMCS admin area.

    Fires each time the page asks ``serve`` for its content (``POST /staff/tabs``), once per
    page view. The rows carry the actions staff may take, each with the ``version`` of the state
    it was drawn from.

    :param language: ``es`` or ``en``, the admin's language.
    :return: a list of :class:`whmcs_bridge.plugin.StaffTab`, or ``None`` for no tab.
    """


@hookspec(firstresult=True)
def bridge_staff_action(
    bridge: Bridge, name: str, params: dict[str, Any], version: str, admin: StaffAdmin
) -> StaffActionResult | None:
    """Carry out a staff page button (``POST /staff/action``) for the plugin that owns it.

    Fires once per button press; the plugin whose prefix the name carries (``transfers.approve``)
    answers. It re-reads the state, refuses with ``StaffActionResult.changed`` when ``version``
    no longer matches what the page drew, and records ``admin`` in its table and in the panel's
    activity log. Stops at the first non-``None`` result.

    :param name: ``<plugin>.<verb>``.
    :param params: the row's parameters as drawn (ids).
    :param version: the fingerprint of the state the page showed.
    :param admin: the WHMCS admin who pressed it.
    :return: a :class:`whmcs_bridge.plugin.StaffActionResult`, or ``None`` when the action is
        not this plugin's.
    """


def documented_hooks() -> dict[str, Any]:
    """Every hookspec by name (for the tests that require a docstring and a test per hook)."""
    return {name: value for name, value in globals().items() if name.startswith("bridge_")}
