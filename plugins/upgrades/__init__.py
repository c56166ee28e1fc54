"""Upgrades plugin: prices a service upgrade or downgrade under the company's rules (R-UP).

Config ``[plugins.upgrades]`` (see :mod:`.settings`), CLI ``whmcs-bridge upgrade quote|request``
(:mod:`.cli`), the checkout endpoint ``POST /upgrades/price`` and the ``upgrade.ordered`` check
(:mod:`.checkout`), the manual path (:mod:`.manual`). The hook implementations below stay thin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import SKIP, Migration, create_tables, hookimpl

if TYPE_CHECKING:
    import click

    from whmcs_bridge.plugin import Bridge, BridgeConfig, Check, Event

    from .pricing import UpgradeQuote
    from .settings import UpgradeSettings


@hookimpl
def bridge_load_settings(config: BridgeConfig) -> UpgradeSettings:
    """Fires once at start-up; returns ``[plugins.upgrades]`` parsed (ValueError naming the key
    when it is wrong)."""
    from .settings import parse_settings

    return parse_settings(config.plugin_config("upgrades"))


@hookimpl
def bridge_migrations() -> list[Migration]:
    """Fires before ``db upgrade`` and each cycle; returns the plugin's tables, in order."""
    from .tables import upgrade_followups, upgrade_requests

    return [
        Migration(1, "manual upgrade requests (R-UP-3)", create_tables(upgrade_requests)),
        Migration(2, "what a checkout price promised", create_tables(upgrade_followups)),
    ]


@hookimpl
def bridge_register_commands(cli: click.Group) -> None:
    """Fires at CLI start-up; adds the ``upgrade`` group (``quote``, ``request``)."""
    from .cli import upgrade

    cli.add_command(upgrade)


@hookimpl
def bridge_register_routes(register: Any) -> None:
    """Fires when ``serve`` builds its app; adds ``POST /upgrades/price`` (PreUpgradeCheckout)."""
    from .checkout import PRICE_PATH, price_route

    register("POST", PRICE_PATH, price_route)


@hookimpl
def bridge_upgrade_price(
    bridge: Bridge, service_id: int, target_product_id: int, billing_cycle: str
) -> UpgradeQuote | None:
    """Fires for each checkout price asked of ``serve``; returns the configured policy's quote
    (R-UP-1) for today, or None to abstain when the service, product or cycle cannot be priced.
    """
    from .checkout import policy_quote

    return policy_quote(bridge, service_id, target_product_id, billing_cycle)


@hookimpl
def bridge_on_event(bridge: Bridge, event: Event) -> str | None:
    """Fires per stored event; on ``upgrade.ordered`` checks the upgrade invoice against the
    policy's price (reports, corrects when ``correct_invoices``); on ``upgrade.completed`` keeps
    what the checkout price promised (cycle restart, credit). Returns a note; ``SKIP`` for
    every other event and for upgrades the checkout promised nothing more for.
    """
    if event.name == "upgrade.ordered":
        from .checkout import check_ordered_upgrade

        return check_ordered_upgrade(bridge, event)
    if event.name == "upgrade.completed":
        from .followup import keep_promise

        return keep_promise(bridge, event.subject_id)
    return SKIP


@hookimpl
def bridge_doctor_checks(bridge: Bridge) -> list[Check]:
    """Fires once per ``doctor`` run; returns whether the manual path's department exists."""
    from whmcs_bridge.plugin import Check, queries

    wanted = bridge.settings("upgrades").manual_department
    name = "plugin upgrades: manual department"
    if wanted is None:
        return [Check(name, True, "not set: the manual path (R-UP-3) cannot open tickets")]
    with bridge.panel.connect() as conn:
        found = queries.tickets.department_id(conn, bridge.panel.tables, wanted)
    if found is None:
        return [Check(name, False, f"no ticket department {wanted!r} in the panel")]
    return [Check(name, True, f"{wanted!r} is department #{found}")]
