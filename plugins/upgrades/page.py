"""The client area's upgrade page shows the price checkout will charge (R-UP-2, issue 11).

WHMCS fires ``ClientAreaPageUpgrade`` with the page's template variables and takes back the ones
the hook returns. The hook file posts the targets listed on the page to ``POST /upgrades/price``
(the same URL and signature as the checkout call, with ``"page"`` set) and writes the answer into
the stock templates' variables (templates-six / twenty-one ``upgrade.tpl`` and
``upgradesummary.tpl``):

- ``upgrade`` (choose a package): ``upgradepackages[pid].pricing.<cycle>`` gets what is due
  today added to WHMCS's own text for that cycle;
- ``upgradesummary`` (the chosen package): ``upgrades[0].price``, ``subtotal`` and ``total`` become
  the company's amount, and the explanation goes under the new product's name.

Request::

    {"page": "upgrade" | "upgradesummary", "serviceId": 1, "clientId": 1,
     "language": "spanish", "targets": [{"pid": 2, "cycles": ["semiannually", "annually"]}]}

Answer ``200``::

    {"targets": {"2": {"annually": {"amount": "50.00", "price": "$50,00 ARS",
                                    "label": "a pagar hoy: $50,00 ARS", "explanation": "..."}}}}

A (pid, cycle) missing from the answer is one the bridge does not price: the page keeps
WHMCS's text for it, and checkout keeps WHMCS's price (the checkout call abstains the same way,
through the same ``bridge_upgrade_price`` hook). ``204`` when the service is not the client's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import json_response

from . import catalog
from .checkout import charge
from .cycles import UpgradePricingError, parse_cycle
from .texts import ENGLISH, language_of, money

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge, Response

    from .pricing import UpgradeQuote

PAGES = ("upgrade", "upgradesummary")
MAX_OPTIONS = 60  # a page lists a handful of packages in at most six cycles each


def label(quote: UpgradeQuote, language: str) -> str:
    """What the option says beside WHMCS's price for the cycle: what is due today."""
    c = quote.currency
    amount = charge(quote)
    english = language_of(language) == ENGLISH
    if amount > 0:
        return f"due today: {money(amount, c)}" if english else f"a pagar hoy: {money(amount, c)}"
    if amount < 0:
        credit = money(-amount, c)
        return (
            f"no charge; {credit} account credit"
            if english
            else f"sin cargo; {credit} de crédito a favor"
        )
    return "no charge today" if english else "sin cargo hoy"


def page_prices(bridge: Bridge, data: dict[str, Any]) -> Response:
    """The company's price of every (target, cycle) the page lists; see the module's docstring."""
    try:
        service_id = int(data["serviceId"])
        client_id = int(data.get("clientId") or 0)
        wanted = [
            (int(t["pid"]), parse_cycle(str(cycle)))
            for t in data["targets"]
            for cycle in t["cycles"]
        ]
    except (ValueError, KeyError, TypeError, UpgradePricingError):
        return json_response(400, {"error": "expected serviceId and targets [{pid, cycles}]"})
    if data.get("page") not in PAGES or len(wanted) > MAX_OPTIONS:
        return json_response(400, {"error": f"page must be one of {', '.join(PAGES)}"})
    with bridge.panel.connect() as conn:
        service = catalog.load_service(conn, bridge.panel, service_id)
    if service is None or (client_id and service.client_id != client_id):
        return 204, [], b""  # not this client's service: the page stays as WHMCS drew it
    language = str(data.get("language") or bridge.panel.setting("Language"))
    targets: dict[str, dict[str, Any]] = {}
    for pid, cycle in dict.fromkeys(wanted):
        quote = bridge.hook.bridge_upgrade_price(
            bridge=bridge, service_id=service_id, target_product_id=pid, billing_cycle=cycle.value
        )
        if quote is None:
            continue
        amount = charge(quote)
        targets.setdefault(str(pid), {})[cycle.value] = {
            "amount": f"{amount:.{quote.currency.decimals}f}",
            "price": money(amount, quote.currency),
            "label": label(quote, language),
            "explanation": quote.explain(language)
            if hasattr(quote, "explain")
            else quote.explanation,
        }
    return json_response(200, {"targets": targets})
