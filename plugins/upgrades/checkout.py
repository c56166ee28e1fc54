"""Charging the company's price: the PreUpgradeCheckout endpoint and the upgrade.ordered check.

``POST /upgrades/price`` is the one synchronous call the panel makes (ARCHITECTURE, "the panel
never waits on the bridge"): the hook file posts ``{serviceId, upgradeId, clientId, amount,
discount}`` signed like ``/wake`` and waits at most 1 s. The answer is ``200 {"amount": "50.00",
...}`` with the policy's price, ``204`` (no body) to abstain, or ``401``/``400``; on anything but
a 200 with an amount the hook keeps WHMCS's own price.

What the amount cannot say (the cycle restarting today, credit for the unused part) is recorded
by :mod:`.followup` and carried out on ``upgrade.completed``.

The ``upgrade.ordered`` check runs later, from the event: it compares the upgrade invoice's line
with the policy's price, reports a difference, and corrects it when ``correct_invoices`` is on.
It compares before writing, so running it again changes nothing.

The same URL answers the upgrade page's call (a body with ``"page"``, :mod:`.page`), so one
``price_url`` makes the page show and checkout charge the same price, or neither.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import SKIP, json_response, queries, signature_problem

from . import catalog, followup
from .cycles import parse_cycle
from .eligibility import price
from .pricing import UpgradePricingError, UpgradeQuote, format_money

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge, Event, Request, Response

log = logging.getLogger(__name__)

PRICE_PATH = "/upgrades/price"


def charge(quote: UpgradeQuote) -> Decimal:
    """The amount WHMCS should take at checkout: due today, or minus the credit of a downgrade.

    PreUpgradeCheckout's ``amount`` is signed (negative = credit, reference 2.2), so a downgrade
    with ``downgrade = "credit"`` answers ``-credit`` and one with ``"none"`` answers 0 (R-UP-4).
    """
    if quote.is_downgrade:
        return -quote.credit
    return quote.amount_due


def policy_quote(
    bridge: Bridge, service_id: int, target_product_id: int, billing_cycle: str, when: Any = None
) -> UpgradeQuote | None:
    """The configured policy's quote, or None when it cannot be priced (WHMCS keeps its own)."""
    settings = bridge.settings("upgrades")
    with bridge.panel.connect() as conn:
        service = catalog.load_service(conn, bridge.panel, service_id)
        target = queries.services.product(conn, bridge.panel.tables, target_product_id)
        if service is None or target is None:
            return None
        try:
            return price(
                conn,
                bridge.panel,
                settings,
                service,
                target,
                parse_cycle(billing_cycle),
                when or bridge.clock.today(),
            )
        except UpgradePricingError as exc:
            log.info("upgrade of service %s not priced: %s", service_id, exc)
            return None


def price_route(bridge: Bridge, request: Request) -> Response:
    """``POST /upgrades/price``: the policy's amount for the upgrade WHMCS is checking out."""
    reason = signature_problem(bridge, request)
    if reason:
        return json_response(401, {"error": reason})
    try:
        data = json.loads(request.body or b"{}")
        if isinstance(data, dict) and "page" in data:
            from .page import page_prices

            return page_prices(bridge, data)  # ClientAreaPageUpgrade: the prices it shows
        upgrade_id = int(data["upgradeId"])
        service_id = int(data.get("serviceId") or 0)
    except (ValueError, KeyError, TypeError):
        return json_response(400, {"error": "expected JSON with upgradeId and serviceId"})
    with bridge.panel.connect() as conn:
        upgrade = catalog.load_upgrade(conn, bridge.panel, upgrade_id)
    if (
        upgrade is None
        or upgrade.new_product_id is None
        or upgrade.new_cycle is None
        or (service_id and upgrade.service_id != service_id)
    ):
        return 204, [], b""  # not a package upgrade we can read: WHMCS keeps its price
    quote = bridge.hook.bridge_upgrade_price(
        bridge=bridge,
        service_id=upgrade.service_id,
        target_product_id=upgrade.new_product_id,
        billing_cycle=upgrade.new_cycle.value,
    )
    if quote is None:
        return 204, [], b""
    amount = charge(quote)
    # A restarted cycle or a credit is not in the amount: kept when the upgrade completes.
    followup.record(bridge, upgrade, quote)
    log.info(
        "upgrade %s of service %s: %s price %s (WHMCS asked %s)",
        upgrade_id,
        upgrade.service_id,
        quote.policy,
        amount,
        data.get("amount"),
    )
    return json_response(
        200,
        {
            "amount": f"{amount:.{quote.currency.decimals}f}",
            "policy": quote.policy,
            "whmcs_amount": None if data.get("amount") is None else str(data.get("amount")),
            "explanation": quote.explanation,
        },
    )


def check_ordered_upgrade(bridge: Bridge, event: Event) -> str:
    """Compare the upgrade invoice with the policy's price; report, and correct when configured."""
    settings = bridge.settings("upgrades")
    with bridge.panel.connect() as conn:
        upgrade = catalog.load_upgrade(conn, bridge.panel, event.subject_id)
        line = queries.upgrades.upgrade_invoice_line(conn, bridge.panel.tables, event.subject_id)
    if upgrade is None or upgrade.new_product_id is None or upgrade.new_cycle is None:
        return SKIP
    if line is None:
        return f"upgrade {upgrade.id}: no upgrade invoice (nothing was due)"
    if upgrade.status == "Completed" or line.invoice_status != "Unpaid":
        state = line.invoice_status
        return f"upgrade {upgrade.id}: invoice #{line.invoice_id} is {state}, left as is"
    quote = policy_quote(
        bridge, upgrade.service_id, upgrade.new_product_id, upgrade.new_cycle.value, upgrade.date
    )
    if quote is None:
        return f"upgrade {upgrade.id}: not priced by the policy, WHMCS's price kept"
    expected = max(charge(quote), Decimal(0))
    if line.amount == expected:
        # Charged the policy's price (the checkout answered, or the hook charged the price the
        # page showed while serve was down): keep what that price promised beyond the amount.
        followup.record(bridge, upgrade, quote)
        return f"upgrade {upgrade.id}: invoice #{line.invoice_id} matches the {quote.policy} price"
    money = quote.currency
    found = (
        f"upgrade {upgrade.id} of service #{upgrade.service_id}: invoice #{line.invoice_id} "
        f"charges {format_money(line.amount, money)}, the {quote.policy} policy says "
        f"{format_money(expected, money)}"
    )
    correct = settings.correct_invoices and not bridge.dry_run
    log.warning("%s%s", found, "; correcting it" if correct else "")
    if bridge.has_api and not bridge.dry_run:
        bridge.api.log_activity(
            f"whmcs-bridge: {found}" + ("; corrected" if correct else ""), upgrade.client_id
        )
    if not correct:
        return f"{found} (reported; correct_invoices is off)"
    bridge.api.update_invoice(
        line.invoice_id,
        itemdescription={line.id: line.description},
        itemamount={line.id: expected},
        itemtaxed={line.id: line.taxed},
    )
    followup.record(bridge, upgrade, quote)
    return f"{found}; corrected"
