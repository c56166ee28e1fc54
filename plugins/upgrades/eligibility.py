"""Whether a service may move to a product, by which path, and at what price (R-UP-1..4).

The refusals mirror the client area's own restrictions (reference 4.1, 6.2): only Active services,
only targets listed in ``tblproduct_upgrade_products``, no unpaid renewal or upgrade invoice, the
``orders`` permission, and a price for the cycle asked for. Each refusal carries a stable code
and a human reason.

When the source product offers no automatic path, the move takes the manual path (R-UP-3): a
ticket with the quote. Decision (R-UP-3 reading): no automatic path means the product has no
upgrade targets at all, or it has no provisioning module (``servertype=''``) and
``manual_without_module`` is on (the default), because then nothing could change the package on
the server and WHMCS would only leave a "Manual Upgrade Required" to-do after charging.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Connection

from whmcs_bridge.plugin import BridgeError, Panel, queries

from . import catalog
from .catalog import Product, Service
from .cycles import BillingCycle, CycleNotOffered, UpgradePricingError, parse_cycle
from .pricing import POLICIES, UnknownUpgradePolicy, UpgradeQuote, quote_upgrade
from .settings import UpgradeSettings


class UpgradeNotPossible(BridgeError):
    """The service or product named does not exist; the message says which."""


@dataclass(frozen=True)
class Refusal:
    """Why a move is refused: a stable ``code`` and a ``reason`` for people."""

    code: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "reason": self.reason}


@dataclass(frozen=True)
class UpgradeOption:
    """One target for one service: its price under the policy, refusals, and the path."""

    service: Service
    source: Product
    target_id: int
    target: Product | None
    cycle: BillingCycle
    policy: str
    quote: UpgradeQuote | None
    refusals: tuple[Refusal, ...] = ()
    manual_reason: str | None = None  # a MANUAL_REASONS code: only the manual path (R-UP-3)

    @property
    def automatic(self) -> bool:
        """True when the client may order it in the client area now."""
        return self.quote is not None and not self.refusals and self.manual_reason is None


# A service in one of these states is over: it cannot be upgraded at all, by any path.
CLOSED_STATUSES = ("Terminated", "Cancelled", "Fraud")


@dataclass(frozen=True)
class UpgradePlan:
    """Every option considered for a service, and the refusals that hold for all of them."""

    service: Service
    source: Product
    today: dt.date
    options: list[UpgradeOption] = field(default_factory=list)
    manual_reason: str | None = None

    @property
    def closed(self) -> bool:
        """True when the service is terminated, cancelled or fraud: no upgrade, not even manual."""
        return self.service.status in CLOSED_STATUSES


# Why a product has no automatic path: code -> (English for the CLI, Spanish for the ticket).
MANUAL_REASONS = {
    "no_upgrade_paths": (
        "the product has no upgrade options in the client area",
        "el producto no tiene opciones de cambio de plan automáticas",
    ),
    "no_module": (
        "the product has no provisioning module, so the server cannot be changed automatically",
        "el producto no tiene módulo de aprovisionamiento: el servidor no se puede cambiar "
        "automáticamente",
    ),
}


def manual_reason(
    conn: Connection, panel: Panel, settings: UpgradeSettings, source: Product
) -> str | None:
    """The code of why ``source`` has no automatic upgrade path (R-UP-3), or None."""
    if not queries.services.upgrade_targets(conn, panel.tables, source.id):
        return "no_upgrade_paths"
    if settings.manual_without_module and not source.module:
        return "no_module"
    return None


def service_refusals(
    conn: Connection, panel: Panel, service: Service, user_id: int | None
) -> list[Refusal]:
    """Refusals that hold for every target: status, unpaid invoices, the acting login's rights."""
    found: list[Refusal] = []
    if service.status != "Active":
        found.append(
            Refusal("service_not_active", f"service #{service.id} is {service.status}, not Active")
        )
    renewals = queries.upgrades.unpaid_renewal_invoice_ids(conn, panel.tables, service.id)
    if renewals:
        found.append(
            Refusal(
                "unpaid_renewal_invoice",
                f"renewal invoice {', '.join(f'#{i}' for i in renewals)} of the service is unpaid",
            )
        )
    upgrades = queries.upgrades.unpaid_upgrade_invoice_ids(conn, panel.tables, service.id)
    if upgrades:
        found.append(
            Refusal(
                "unpaid_upgrade_invoice",
                f"a previous upgrade invoice ({', '.join(f'#{i}' for i in upgrades)}) is unpaid",
            )
        )
    if user_id is not None:
        rights = queries.people.login_permissions(conn, panel.tables, service.client_id, user_id)
        if rights is None or "orders" not in rights:  # the owner holds every key
            found.append(
                Refusal(
                    "no_orders_permission",
                    f"login {user_id} lacks the 'orders' permission on client "
                    f"#{service.client_id} (Place New Orders/Upgrades/Cancellations)",
                )
            )
    return found


def price(
    conn: Connection,
    panel: Panel,
    settings: UpgradeSettings,
    service: Service,
    target: Product,
    cycle: BillingCycle,
    today: dt.date,
    policy: str | None = None,
) -> UpgradeQuote:
    """The quote for moving ``service`` to ``target`` in ``cycle``, in the client's currency.

    :param policy: overrides the configured one (global, or the target product's group's).
    :raises CycleNotOffered: the target has no price for the cycle (``-1.00``) or no pricing
        row in the client's currency.
    :raises UpgradePricingError: the service has configurable options (not priced here).
    """
    if queries.services.has_config_options(conn, panel.tables, service.id):
        # tblhosting.amount includes the options' prices and tblpricing's product price does not,
        # so a difference would charge too little or credit what was never a downgrade.
        raise UpgradePricingError(
            f"service #{service.id} has configurable options, which the policies do not price; "
            "WHMCS prices this upgrade itself"
        )
    currency = catalog.client_currency(conn, panel, service.client_id)
    prices = catalog.product_prices(conn, panel, target, currency.id)
    if prices is None:
        raise CycleNotOffered(f"{target.name} has no price in {currency.code}")
    chosen = policy or settings.policy_for(target.group_id, target.group_name)
    return quote_upgrade(
        chosen,
        current_price=service.amount,
        current_cycle=service.cycle,
        next_due_date=service.next_due_date,
        new_prices=prices,
        new_cycle=cycle,
        today=today,
        currency=currency,
        downgrade=settings.downgrade,  # type: ignore[arg-type]
        full_unused=settings.full_unused,  # type: ignore[arg-type]
        difference_basis=settings.difference_basis,  # type: ignore[arg-type]
    )


def offered_cycles(
    conn: Connection, panel: Panel, service: Service, target: Product | None
) -> list[BillingCycle]:
    """The cycles ``target`` is priced in, in the client's currency, shortest first.

    Falls back to the service's own cycle when there is nothing to list (no product, no price
    row in the currency), so the option carries the refusal that says why.
    """
    if target is None:
        return [service.cycle]
    try:
        currency = catalog.client_currency(conn, panel, service.client_id)
    except UpgradePricingError:
        return [service.cycle]
    prices = catalog.product_prices(conn, panel, target, currency.id)
    cycles = list(prices.offered_cycles()) if prices is not None else []
    return cycles or [service.cycle]


def plan_upgrade(
    conn: Connection,
    panel: Panel,
    settings: UpgradeSettings,
    service_id: int,
    today: dt.date,
    *,
    target_id: int | None = None,
    cycle: str | None = None,
    policy: str | None = None,
    user_id: int | None = None,
) -> UpgradePlan:
    """Every reachable target of the service (or only ``target_id``), priced and checked, in
    ``cycle`` or, without one, in every cycle the target offers (a Free or One Time service
    has real options then, not only its own cycle).

    :raises UpgradeNotPossible: the service or its product does not exist.
    :raises UnknownBillingCycle, UnknownUpgradePolicy: bad ``cycle`` or ``policy``.
    """
    if policy is not None and policy not in POLICIES:
        raise UnknownUpgradePolicy(
            f"unknown upgrade policy {policy!r}: expected one of {', '.join(POLICIES)}"
        )
    service = catalog.load_service(conn, panel, service_id)
    if service is None:
        raise UpgradeNotPossible(f"there is no service #{service_id}")
    source = queries.services.product(conn, panel.tables, service.product_id)
    if source is None:
        raise UpgradeNotPossible(
            f"service #{service_id} has product #{service.product_id}, which does not exist"
        )
    paths = queries.services.upgrade_targets(conn, panel.tables, source.id)
    manual = manual_reason(conn, panel, settings, source)
    common = service_refusals(conn, panel, service, user_id)
    wanted = parse_cycle(cycle) if cycle else None
    plan = UpgradePlan(service, source, today, manual_reason=manual)
    for pid in [target_id] if target_id is not None else paths:
        target = queries.services.product(conn, panel.tables, pid)
        for each in [wanted] if wanted else offered_cycles(conn, panel, service, target):
            plan.options.append(
                _option(conn, panel, settings, plan, pid, target, each, common, paths, policy)
            )
    return plan


def _option(
    conn: Connection,
    panel: Panel,
    settings: UpgradeSettings,
    plan: UpgradePlan,
    pid: int,
    target: Product | None,
    cycle: BillingCycle,
    common: list[Refusal],
    paths: list[int],
    policy: str | None,
) -> UpgradeOption:
    """One target in one cycle: its refusals, and its price when it has one."""
    service, source, manual = plan.service, plan.source, plan.manual_reason
    refusals = list(common)
    if target is None:
        refusals.append(Refusal("unknown_product", f"there is no product #{pid}"))
    elif target.id == service.product_id and cycle is service.cycle:
        refusals.append(
            Refusal(
                "same_plan",
                f"service #{service.id} is already on {target.name}, {cycle.display_name}: "
                "there is nothing to change",
            )
        )
    elif manual is None and pid not in paths:
        refusals.append(
            Refusal(
                "not_an_upgrade_path",
                f"{source.name} cannot be moved to {target.name} from the client area "
                "(not in its upgrade options)",
            )
        )
    quote = None
    if target is not None:
        try:
            quote = price(conn, panel, settings, service, target, cycle, plan.today, policy)
        except CycleNotOffered as exc:
            refusals.append(Refusal("cycle_not_offered", str(exc)))
        except UpgradePricingError as exc:
            refusals.append(Refusal("not_priced", str(exc)))
    return UpgradeOption(
        service=service,
        source=source,
        target_id=pid,
        target=target,
        cycle=cycle,
        policy=quote.policy if quote else (policy or settings.policy),
        quote=quote,
        refusals=tuple(refusals),
        manual_reason=manual,
    )
