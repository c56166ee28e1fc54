"""What a pricing policy works on and gives back: the request, the quote, and its working.

Plain frozen data with the checks of a request; the policies themselves are in :mod:`.pricing`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, get_args

from whmcs_bridge.plugin import Currency

from .cycles import BillingCycle, UpgradePricingError

DowngradeMode = Literal["none", "credit"]
UnusedMode = Literal["deduct", "credit"]
DifferenceBasis = Literal["unused", "paid"]
DIFFERENCE_BASES = get_args(DifferenceBasis)


@dataclass(frozen=True)
class UpgradeRequest:
    """What a policy prices: the service as it is, the product and cycle it moves to."""

    current_price: Decimal
    current_cycle: BillingCycle
    next_due_date: dt.date | None
    new_price: Decimal
    new_cycle: BillingCycle
    today: dt.date
    currency: Currency
    downgrade: DowngradeMode = "none"
    full_unused: UnusedMode = "deduct"
    difference_basis: DifferenceBasis = "unused"

    def __post_init__(self) -> None:
        if not (isinstance(self.current_price, Decimal) and isinstance(self.new_price, Decimal)):
            raise TypeError("prices must be Decimal (money is never float)")
        if self.downgrade not in get_args(DowngradeMode):
            raise UpgradePricingError(
                f"downgrade must be 'none' or 'credit', not {self.downgrade!r}"
            )
        if self.full_unused not in get_args(UnusedMode):
            raise UpgradePricingError(
                f"full_unused must be 'deduct' or 'credit', not {self.full_unused!r}"
            )
        if self.difference_basis not in DIFFERENCE_BASES:
            raise UpgradePricingError(
                f"difference_basis must be 'unused' or 'paid', not {self.difference_basis!r}"
            )
        if self.current_price < 0 or self.new_price < 0:
            raise UpgradePricingError("prices cannot be negative")
        if self.current_cycle.is_recurring and self.next_due_date is None:
            raise UpgradePricingError(
                f"a {self.current_cycle.display_name} service needs a next due date to be priced"
            )


@dataclass(frozen=True)
class Working:
    """How a quote was reached, for the texts that explain it (:mod:`.texts`).

    ``kind`` is one of ``same_cycle`` (difference, cycle kept), ``restart`` (the new cycle from
    today less the unused value), ``restart_paid`` (the new cycle from today less the whole last
    payment), ``onetime_source`` (a Free or One Time service), ``prorata_same`` and
    ``prorata_change``. ``debit`` and ``unused`` are not rounded: the texts round once, at the
    end, as the total is rounded.
    """

    kind: str
    current_price: Decimal
    current_cycle: BillingCycle
    new_price: Decimal
    base: Decimal  # the new price prorata spreads (reference 4.2 step 3), else new_price
    new_total: int  # days of one new cycle counted back from the due date (prorata_change)
    debit: Decimal
    unused: Decimal
    kept_due_date: dt.date | None  # the due date that stays, when the cycle is not restarted


@dataclass(frozen=True)
class UpgradeQuote:
    """The price of an upgrade and what it changes; every amount is rounded to the currency.

    ``net_amount`` is the signed result (``new_charge - unused_value``, rounded after the
    subtraction); a negative one is a downgrade. ``amount_due`` is never negative and ``credit``
    (account credit to grant) is positive only when the admin chose a crediting option.
    """

    policy: str
    amount_due: Decimal
    credit: Decimal
    net_amount: Decimal
    new_charge: Decimal
    unused_value: Decimal
    new_recurring_amount: Decimal
    recurring_change: Decimal
    new_cycle: BillingCycle
    next_due_date: dt.date | None
    cycle_restarted: bool
    days_remaining: int
    total_days: int
    is_downgrade: bool
    currency: Currency = field(repr=False)
    explanation: str
    working: Working | None = field(default=None, repr=False, compare=False)

    def explain(self, language: str = "en") -> str:
        """The one-line explanation in ``language`` (``en`` or ``es_AR``) for the client."""
        from .texts import explain

        return explain(self, language)
