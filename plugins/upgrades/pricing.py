"""Upgrade pricing: pure functions that quote a product change under one of three policies.

Nothing here reads the database or calls the API; the plugin passes in what it read (the service's
recurring amount, cycle and next due date, the new product's ``tblpricing`` row, the currency) and
gets back an :class:`UpgradeQuote`.

Policies (R-UP-1): ``difference`` (the company's rule, the default), ``prorata`` (what WHMCS
itself charges, reference 4.1/4.2) and ``full`` (the new cycle in full, restarted today, reference
4.3 and 7). Downgrades charge nothing and refund nothing unless the admin chose account credit
(R-UP-4, R-CA-1). Free and One Time sources follow WHMCS's own rule under every policy
(reference 4.2, step 10).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from whmcs_bridge.plugin import ZERO_DECIMAL_CODES, Currency

from .cycles import (
    BillingCycle,
    CycleNotOffered,
    ProductPrices,
    UpgradePricingError,
    cycle_days,
    format_money,
    next_cycle_start,
    parse_cycle,
    round_money,
    to_money,
)
from .quote import (
    DIFFERENCE_BASES,
    DifferenceBasis,
    DowngradeMode,
    UnusedMode,
    UpgradeQuote,
    UpgradeRequest,
    Working,
)

__all__ = [
    "DEFAULT_POLICY",
    "DIFFERENCE_BASES",
    "POLICIES",
    "ZERO_DECIMAL_CODES",
    "BillingCycle",
    "Currency",
    "CycleNotOffered",
    "ProductPrices",
    "UnknownUpgradePolicy",
    "UpgradePricingError",
    "UpgradeQuote",
    "UpgradeRequest",
    "format_money",
    "quote_difference",
    "quote_full",
    "quote_prorata",
    "quote_upgrade",
    "round_money",
]

DEFAULT_POLICY = "difference"  # R-UP-1: the company's rule


class UnknownUpgradePolicy(UpgradePricingError):
    """A policy name that is not one of :data:`POLICIES`."""


@dataclass(frozen=True)
class _Figures:
    """A policy's raw result, before downgrade handling and rounding of the reported amounts."""

    new_charge: Decimal
    unused_value: Decimal
    net: Decimal  # already rounded
    next_due_date: dt.date | None
    days_remaining: int
    total_days: int
    working: Working
    restarted: bool
    # What a downgrade may give back as credit when the admin chose ``downgrade = "credit"``;
    # None: the whole negative net (the unused value is already in it).
    downgrade_credit: Decimal | None = None


def _working(
    req: UpgradeRequest, kind: str, debit: Decimal, unused: Decimal, **kw: object
) -> Working:
    values: dict[str, object] = {
        "kind": kind,
        "current_price": req.current_price,
        "current_cycle": req.current_cycle,
        "new_price": req.new_price,
        "base": req.new_price,
        "new_total": 0,
        "debit": debit,
        "unused": unused,
        "kept_due_date": None,
    } | kw
    return Working(**values)  # type: ignore[arg-type]


def _current_cycle_unused(req: UpgradeRequest) -> tuple[Decimal, int, int]:
    """Value, days left and days in cycle of the paid, unused part of a recurring cycle."""
    assert req.next_due_date is not None  # checked by UpgradeRequest
    total = cycle_days(req.next_due_date, req.current_cycle)
    remaining = (req.next_due_date - req.today).days
    if remaining < 0:
        # Reading: an overdue service has not used up a paid cycle; like WHMCS for config options
        # (reference 4.2 step 9) we price it over the full cycle rather than give it away.
        remaining = total
    return req.current_price * remaining / total, remaining, total


def _restart(req: UpgradeRequest) -> _Figures:
    """New cycle in full minus the unused value of the current one; the cycle restarts today.

    Free Account and One Time sources (reference 4.2 step 10): the unused value is the amount
    paid before (the one-time payment; 0 for a free account) and the days are the new cycle's.
    """
    next_due = next_cycle_start(req.today, req.new_cycle)
    if req.current_cycle.is_recurring:
        unused, remaining, total = _current_cycle_unused(req)
        kind = "restart"
    else:
        unused = req.current_price
        total = remaining = (next_due - req.today).days if next_due else 0
        kind = "onetime_source"
    net = round_money(req.new_price - unused, req.currency)
    working = _working(req, kind, req.new_price, unused)
    return _Figures(req.new_price, unused, net, next_due, remaining, total, working, True)


def _restart_paid(req: UpgradeRequest) -> _Figures:
    """``difference_basis = "paid"``: the new cycle in full minus the whole last payment.

    R-UP-1's words read literally across a change of cycle (monthly 30 to annual 150: 120). The
    new cycle starts today. A downgrade gives back at most the unused value of what was paid,
    never the part already used, and never more than the difference.
    """
    next_due = next_cycle_start(req.today, req.new_cycle)
    unused, remaining, total = _current_cycle_unused(req)
    net = round_money(req.new_price - req.current_price, req.currency)
    back = None
    if net < 0:
        share = round_money(max(unused - req.new_price, Decimal(0)), req.currency)
        back = min(share, -net)
    working = _working(req, "restart_paid", req.new_price, req.current_price)
    return _Figures(
        req.new_price,
        req.current_price,
        net,
        next_due,
        remaining,
        total,
        working,
        True,
        downgrade_credit=back,
    )


def _difference(req: UpgradeRequest) -> _Figures:
    if not (req.current_cycle.is_recurring and req.new_cycle.is_recurring):
        return _restart(req)
    if req.new_cycle is not req.current_cycle:
        return _restart_paid(req) if req.difference_basis == "paid" else _restart(req)
    _, remaining, total = _current_cycle_unused(req)
    net = round_money(req.new_price - req.current_price, req.currency)
    # R-UP-4 with credit: only the unused share of the price difference comes back; the part of
    # the cycle already used on the dearer plan was had, so crediting it all would pay for it.
    left = min(remaining, total)  # a cycle paid further ahead still credits one cycle at most
    share = round_money((req.current_price - req.new_price) * left / total, req.currency)
    working = _working(
        req, "same_cycle", req.new_price, req.current_price, kept_due_date=req.next_due_date
    )
    return _Figures(
        req.new_price,
        req.current_price,
        net,
        req.next_due_date,
        remaining,
        total,
        working,
        restarted=False,
        downgrade_credit=share if net < 0 else None,
    )


def _prorata(req: UpgradeRequest) -> _Figures:
    if not (req.current_cycle.is_recurring and req.new_cycle.is_recurring):
        return _restart(req)
    assert req.next_due_date is not None
    unused, remaining, total = _current_cycle_unused(req)
    base, new_total = req.new_price, total
    kind = "prorata_same"
    if req.new_cycle is not req.current_cycle:
        # Reference 4.2 step 3: the new price is spread over one NEW cycle counted back from the
        # kept due date, so a yearly -> quarterly move charges about four quarters at once.
        kind = "prorata_change"
        new_total = cycle_days(req.next_due_date, req.new_cycle)
        old_monthly = req.current_price / req.current_cycle.months
        new_monthly = req.new_price / req.new_cycle.months
        if round_money(old_monthly, req.currency) == round_money(new_monthly, req.currency):
            base = old_monthly * req.new_cycle.months  # same plan price: only the cycle changes
    debit = base * remaining / new_total
    if req.currency.is_zero_decimal:
        debit = debit.quantize(Decimal(1), rounding=ROUND_HALF_UP)  # reference 4.2 step 5
    net = round_money(debit - unused, req.currency)  # rounded after the subtraction, as WHMCS
    working = _working(
        req,
        kind,
        debit,
        unused,
        base=base,
        new_total=new_total,
        kept_due_date=req.next_due_date,
    )
    return _Figures(debit, unused, net, req.next_due_date, remaining, total, working, False)


def _finish(policy: str, req: UpgradeRequest, fig: _Figures) -> UpgradeQuote:
    zero = round_money(Decimal(0), req.currency)
    amount_due, credit = max(fig.net, zero), zero
    if policy == "full" and req.full_unused == "credit" and fig.net >= 0:
        # The unused value is granted as account credit instead of being deducted (reference 7).
        # Only on an upgrade: a downgrade follows ``downgrade`` below (R-UP-4), so "none" never
        # turns into money back.
        amount_due = round_money(fig.new_charge, req.currency)
        credit = round_money(fig.unused_value, req.currency)
    elif fig.net < 0 and req.downgrade == "credit":
        # R-UP-4: account credit, never a negative charge.
        credit = -fig.net if fig.downgrade_credit is None else fig.downgrade_credit
    quote = UpgradeQuote(
        policy=policy,
        amount_due=amount_due,
        credit=credit,
        net_amount=fig.net,
        new_charge=round_money(fig.new_charge, req.currency),
        unused_value=round_money(fig.unused_value, req.currency),
        new_recurring_amount=round_money(req.new_price, req.currency),
        recurring_change=round_money(req.new_price - req.current_price, req.currency),
        new_cycle=req.new_cycle,
        next_due_date=fig.next_due_date,
        cycle_restarted=fig.restarted,
        days_remaining=fig.days_remaining,
        total_days=fig.total_days,
        is_downgrade=fig.net < 0,
        currency=req.currency,
        explanation="",
        working=fig.working,
    )
    return replace(quote, explanation=quote.explain("en"))


def quote_difference(request: UpgradeRequest) -> UpgradeQuote:
    """R-UP-1: new price minus what was paid, whatever the day.

    Same recurring cycle: the new product's price for that cycle minus the service's recurring
    amount; the next due date is kept. Change of cycle: the new product's price for the new cycle
    minus the unused value of the current cycle (recurring amount x days left / days in cycle),
    or with ``difference_basis="paid"`` minus the whole recurring amount, and the new cycle
    starts today. Free and One Time sources: reference 4.2 step 10. A
    same-cycle downgrade with ``downgrade="credit"`` credits the price difference for the days
    left, not for the whole cycle.
    """
    return _finish("difference", request, _difference(request))


def quote_prorata(request: UpgradeRequest) -> UpgradeQuote:
    """WHMCS's own rule (reference 4.1/4.2): both prices prorated by the days left.

    Debit = new price x days left / days in cycle, credit = old price x the same share, due =
    debit - credit rounded after the subtraction (zero-decimal currencies round the debit to a
    whole number first). The next due date is kept; on a change of cycle the new price is spread
    over one new cycle counted back from it. Free and One Time sources: reference 4.2 step 10.
    """
    return _finish("prorata", request, _prorata(request))


def quote_full(request: UpgradeRequest) -> UpgradeQuote:
    """Reference 4.3 and 7: the new cycle in full, restarted today, less the unused value.

    ``full_unused="deduct"`` (default) deducts the unused value of the current cycle and floors
    the result at 0; ``full_unused="credit"`` makes the full price due and grants the unused
    value as account credit (an upgrade only; a downgrade follows ``downgrade``).
    """
    return _finish("full", request, _restart(request))


POLICIES: Mapping[str, Callable[[UpgradeRequest], UpgradeQuote]] = {
    "difference": quote_difference,
    "prorata": quote_prorata,
    "full": quote_full,
}


def quote_upgrade(
    policy: str = DEFAULT_POLICY,
    *,
    current_price: Decimal,
    current_cycle: BillingCycle | str,
    next_due_date: dt.date | None,
    new_prices: ProductPrices,
    new_cycle: BillingCycle | str,
    today: dt.date,
    currency: Currency,
    downgrade: DowngradeMode = "none",
    full_unused: UnusedMode = "deduct",
    difference_basis: DifferenceBasis = "unused",
) -> UpgradeQuote:
    """Quote moving a service to a product and cycle under the named policy.

    :param policy: ``difference`` (default, R-UP-1), ``prorata`` or ``full``.
    :param current_price: the service's recurring amount (``tblhosting.amount``); the one-time
        payment for a One Time service.
    :param next_due_date: the service's next due date; None (zero date) only for Free/One Time.
    :param downgrade: ``none`` (R-UP-4 default) or ``credit`` (the unused difference as credit).
    :param full_unused: ``full`` policy only: ``deduct`` the unused value, or grant it as
        account ``credit``.
    :param difference_basis: ``difference`` policy across a change of cycle: deduct the
        ``unused`` value of the current cycle (default) or the whole amount ``paid`` for it.
    :raises CycleNotOffered: the new product has no price for ``new_cycle``.
    :raises UnknownUpgradePolicy, UnknownBillingCycle, UpgradePricingError: bad inputs.
    """
    quote = POLICIES.get(policy.strip().lower())
    if quote is None:
        raise UnknownUpgradePolicy(
            f"unknown upgrade policy {policy!r}: expected one of {', '.join(POLICIES)}"
        )
    target = parse_cycle(new_cycle)
    request = UpgradeRequest(
        current_price=to_money(current_price, "current_price"),
        current_cycle=parse_cycle(current_cycle),
        next_due_date=next_due_date,
        new_price=new_prices.require(target),
        new_cycle=target,
        today=today,
        currency=currency,
        downgrade=downgrade,
        full_unused=full_unused,
        difference_basis=difference_basis,
    )
    return quote(request)
