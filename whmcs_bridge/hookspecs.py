"""Every hook a plugin may implement. Hooks are called with keyword arguments only.

Families (``STYLE.md`` §2): registries ``bridge_register_*(register)``, events
``bridge_on_event(bridge, event)``, decisions with ``firstresult=True`` returning a verdict or
``None`` to abstain, and the lifecycle hooks of a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from whmcs_bridge.bridge import Bridge
    from whmcs_bridge.config import BridgeConfig
    from whmcs_bridge.doctor import Check
    from whmcs_bridge.events.model import Event

hookspec = pluggy.HookspecMarker("whmcs_bridge")


@hookspec
def bridge_validate_config(config: BridgeConfig) -> list[str] | None:
    """Check the plugin's own config section before any work starts.

    Fires once, when the plugin manager is built for a command that needs the config.

    :param config: the whole validated config; read your section with
        ``config.plugin_config("<name>")``.
    :return: a list of problems, each starting with the dotted key it is about
        (``"plugins.alerts.quiet_hours: expected ..."``), or ``None``/``[]`` when all is well.
        Any problem stops the run with exit code 2, naming the file and the key.
    """


@hookspec
def bridge_register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``whmcs-bridge`` CLI.

    Fires once at CLI start-up, for enabled plugins only, before the command line is parsed.

    :param cli: the top-level click group.
    """


@hookspec
def bridge_register_routes(register: Any) -> None:
    """Add HTTP routes to ``whmcs-bridge serve``.

    Fires once when ``serve`` builds its WSGI app.

    :param register: call ``register(method, path, handler)``; the handler receives
        ``(bridge, request)`` and returns ``(status, headers, body_bytes)``.
    """


@hookspec
def bridge_register_channels(register: Any, bridge: Bridge) -> None:
    """Offer message channels (WhatsApp, Telegram, e-mail, console) to the outbox.

    Fires once per process, when the outbox is first used.

    :param register: call ``register(channel)`` with an object following
        ``whmcs_bridge.plugins.channels.base.Channel``.
    :param bridge: the bridge, for configuration and services.
    """


@hookspec
def bridge_register_watchers(register: Any, bridge: Bridge) -> None:
    """Add watchers that turn database changes into events during intake.

    Fires once per cycle, before intake.

    :param register: call ``register(watcher)`` with a ``whmcs_bridge.intake.watchers.Watcher``.
    """


@hookspec
def bridge_on_event(bridge: Bridge, event: Event) -> str | None:
    """React to one panel event.

    Fires during dispatch, once per stored event and plugin, until the plugin's outcome is
    ``done``. The host calls each plugin separately: an exception is recorded as that plugin's
    failure, retried next cycle, and quarantined after ``[run] max_tries`` tries; the other
    plugins are not affected. Handlers must be idempotent and re-read current state from
    ``bridge.panel`` (the event carries ids, not copies).

    :param bridge: the bridge's services (``panel``, ``api``, ``outbox``, ``clock``).
    :param event: the stored event (``name``, ``subject_type``, ``subject_id``, ``client_id``...).
    :return: an optional short note stored with the outcome (``"2 messages queued"``), or
        ``None``. Return the string ``"skip"`` when the event is not for this plugin.
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

    Fires once per ``doctor`` run, after the core checks.

    :return: a list of :class:`whmcs_bridge.doctor.Check` (name, ok, detail), or ``None``.
    """


@hookspec(firstresult=True)
def bridge_upgrade_price(
    bridge: Bridge, service_id: int, target_product_id: int, billing_cycle: str
) -> Any | None:
    """Decide what an upgrade of a service costs under the company's policy (R-UP-1).

    Fires when ``serve`` answers WHMCS's ``PreUpgradeCheckout`` call and for ``upgrade quote``.
    Stops at the first non-``None`` result.

    :return: an ``UpgradeQuote`` (amount with a reason), or ``None`` to abstain, in which case
        WHMCS keeps its own price.
    """


@hookspec
def bridge_alert_recipients(bridge: Bridge, event: Event, client_id: int) -> list[Any] | None:
    """Name extra people who receive an alert about an event of a client.

    Fires when the alerts plugin builds messages for an event; the client itself is always a
    recipient. The contacts plugin adds secondary contacts whose preferences cover the event.

    :return: a list of ``Recipient`` objects, or ``None``.
    """
