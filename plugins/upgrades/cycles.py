"""The units of the pricing core: billing cycles and their dates (reference 4.2 step 1), a
product's price per cycle (1.9), currencies and how WHMCS rounds and writes money (1.10)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from whmcs_bridge.plugin import BridgeError, Currency, round_money


class UpgradePricingError(BridgeError, ValueError):
    """An upgrade cannot be priced from the inputs given; the message says which input and why."""


class UnknownBillingCycle(UpgradePricingError):
    """A billing cycle name that is neither a WHMCS display name nor a system name."""


class CycleNotOffered(UpgradePricingError):
    """The new product has no price for the billing cycle asked for (``-1.00`` in tblpricing)."""


class BillingCycle(StrEnum):
    """A WHMCS billing cycle; the value is the system name used in ``tblupgrades.newvalue``."""

    FREE = "free"
    ONETIME = "onetime"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUALLY = "semiannually"
    ANNUALLY = "annually"
    BIENNIALLY = "biennially"
    TRIENNIALLY = "triennially"

    @property
    def display_name(self) -> str:
        """The name WHMCS stores in ``tblhosting.billingcycle`` (e.g. ``'Semi-Annually'``)."""
        return _DISPLAY_NAMES[self]

    @property
    def months(self) -> int:
        """Months in one cycle; 0 for Free Account and One Time, which never renew."""
        return _MONTHS[self]

    @property
    def is_recurring(self) -> bool:
        """True for the six cycles that renew (Monthly ... Triennially)."""
        return self.months > 0

    @property
    def pricing_column(self) -> str | None:
        """The ``tblpricing`` column holding this cycle's price; None for Free (no price row).

        One Time reads ``monthly``: WHMCS stores one-time prices there (reference 1.9).
        """
        if self is BillingCycle.FREE:
            return None
        if self is BillingCycle.ONETIME:
            return "monthly"
        return self.value


_DISPLAY_NAMES: dict[BillingCycle, str] = {
    BillingCycle.FREE: "Free Account",
    BillingCycle.ONETIME: "One Time",
    BillingCycle.MONTHLY: "Monthly",
    BillingCycle.QUARTERLY: "Quarterly",
    BillingCycle.SEMIANNUALLY: "Semi-Annually",
    BillingCycle.ANNUALLY: "Annually",
    BillingCycle.BIENNIALLY: "Biennially",
    BillingCycle.TRIENNIALLY: "Triennially",
}

_MONTHS: dict[BillingCycle, int] = {
    BillingCycle.FREE: 0,
    BillingCycle.ONETIME: 0,
    BillingCycle.MONTHLY: 1,
    BillingCycle.QUARTERLY: 3,
    BillingCycle.SEMIANNUALLY: 6,
    BillingCycle.ANNUALLY: 12,
    BillingCycle.BIENNIALLY: 24,
    BillingCycle.TRIENNIALLY: 36,
}


def _squash(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


# Both spellings WHMCS uses, compared without case, spaces or hyphens ('Semi-Annually',
# 'semiannually'); 'Free' and 'Free Account' both appear in WHMCS for the free cycle.
_BY_SQUASHED: dict[str, BillingCycle] = {
    **{_squash(cycle.value): cycle for cycle in BillingCycle},
    **{_squash(name): cycle for cycle, name in _DISPLAY_NAMES.items()},
    "free": BillingCycle.FREE,
}


def parse_cycle(name: str | BillingCycle) -> BillingCycle:
    """Return the cycle for a WHMCS display name or system name, ignoring case.

    :raises UnknownBillingCycle: the name is not a WHMCS billing cycle; the message lists the names
        accepted.
    """
    if isinstance(name, BillingCycle):
        return name
    cycle = _BY_SQUASHED.get(_squash(str(name)))
    if cycle is None:
        accepted = ", ".join(f"'{c.display_name}'" for c in BillingCycle)
        raise UnknownBillingCycle(
            f"unknown billing cycle {name!r}: expected one of {accepted} "
            "(or the system names: monthly, quarterly, ..., onetime, free)"
        )
    return cycle


def php_add_months(day: dt.date, months: int) -> dt.date:
    """Step ``day`` by ``months`` (negative steps back) the way PHP's ``mktime`` does.

    PHP keeps the day of the month and lets it overflow into the next month instead of clamping
    it: one month before 2024-03-31 is "2024-02-31", which PHP reads as 2024-03-02. WHMCS counts
    the days of the cycle being priced this way (reference 4.2, step 1), so month-end due dates
    give short or long cycles (29 days for a monthly cycle due 2024-03-31). We reproduce the
    quirk on purpose: the bridge's prorata figures must match the panel's to the cent.
    """
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(year, month0 + 1, 1) + dt.timedelta(days=day.day - 1)


def cycle_days(next_due: dt.date, cycle: BillingCycle) -> int:
    """Days in the cycle that ends on ``next_due``, counted back with PHP month overflow.

    :raises UpgradePricingError: the cycle does not renew (Free Account, One Time).
    """
    if not cycle.is_recurring:
        raise UpgradePricingError(f"the {cycle.display_name} cycle has no length in days")
    return (next_due - php_add_months(next_due, -cycle.months)).days


def next_cycle_start(today: dt.date, cycle: BillingCycle) -> dt.date | None:
    """The next due date of a cycle restarted ``today``; None when the cycle never renews."""
    if not cycle.is_recurring:
        return None
    return php_add_months(today, cycle.months)


def to_money(value: object, what: str = "amount") -> Decimal:
    """Return ``value`` (Decimal, int or numeric string) as a Decimal; floats are refused."""
    if isinstance(value, bool | float):
        raise TypeError(f"{what} must be a Decimal, int or string, not {type(value).__name__}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        try:
            number = Decimal(str(value).strip())
        except ArithmeticError:
            number = Decimal("NaN")
        if not number.is_finite():
            raise UpgradePricingError(f"{what} {value!r} is not a number")
        return number
    raise TypeError(f"{what} must be a Decimal, int or string, not {type(value).__name__}")


_RECURRING = tuple(cycle for cycle in BillingCycle if cycle.is_recurring)
_NOT_OFFERED = Decimal("-1.00")  # tblpricing's mark of a cycle not offered (whmcs.md §1.9)


@dataclass(frozen=True)
class ProductPrices:
    """The prices of one product in one currency, per billing cycle; None = cycle not offered."""

    paytype: str
    prices: Mapping[BillingCycle, Decimal | None]

    @classmethod
    def from_pricing_row(
        cls, row: Mapping[str, object], paytype: str = "recurring"
    ) -> ProductPrices:
        """Read a ``tblpricing`` row (type ``product``) for a product of ``paytype``.

        Reference 1.9: ``-1.00`` in a cycle column means the cycle is not offered, ``0.00`` means
        offered for free. A ``onetime`` product's price sits in ``monthly``; a ``free`` product
        ignores its pricing row and offers only the Free Account cycle, at 0.
        """
        kind = paytype.strip().lower()
        prices: dict[BillingCycle, Decimal | None] = dict.fromkeys(BillingCycle)
        if kind == "free":
            prices[BillingCycle.FREE] = Decimal("0.00")
        elif kind == "onetime":
            prices[BillingCycle.ONETIME] = _offered(row, "monthly")
        elif kind == "recurring":
            for cycle in _RECURRING:
                prices[cycle] = _offered(row, str(cycle.pricing_column))
        else:
            raise UpgradePricingError(
                f"unknown product paytype {paytype!r}: expected 'free', 'onetime' or 'recurring'"
            )
        return cls(paytype=kind, prices=prices)

    @classmethod
    def from_cycles(cls, cycles: Mapping[str, object], paytype: str = "recurring") -> ProductPrices:
        """Read one currency of the panel read layer's ``product_prices``: the cycles offered
        (``monthly``... or ``onetime``) with their price; a cycle absent is not offered."""
        row = {str(c.pricing_column): cycles.get(c.value, _NOT_OFFERED) for c in _RECURRING}
        if paytype.strip().lower() == "onetime":
            row["monthly"] = cycles.get(BillingCycle.ONETIME.value, _NOT_OFFERED)
        return cls.from_pricing_row(row, paytype)

    def price(self, cycle: BillingCycle | str) -> Decimal | None:
        """The price for ``cycle``, or None when the product does not offer it."""
        return self.prices.get(parse_cycle(cycle))

    def require(self, cycle: BillingCycle | str) -> Decimal:
        """The price for ``cycle``; raises :class:`CycleNotOffered` when there is none."""
        parsed = parse_cycle(cycle)
        price = self.prices.get(parsed)
        if price is None:
            offered = ", ".join(c.display_name for c in self.offered_cycles()) or "none"
            raise CycleNotOffered(
                f"the new product is not offered {parsed.display_name} (cycles offered: {offered})"
            )
        return price

    def offered_cycles(self) -> tuple[BillingCycle, ...]:
        """The cycles that have a price, shortest first."""
        return tuple(cycle for cycle in BillingCycle if self.prices.get(cycle) is not None)


def _offered(row: Mapping[str, object], column: str) -> Decimal | None:
    if column not in row:
        raise UpgradePricingError(f"tblpricing row has no column {column!r}")
    value = to_money(row[column], f"tblpricing.{column}")
    return None if value < 0 else value  # -1.00: cycle disabled


def format_money(amount: Decimal, currency: Currency) -> str:
    """Write ``amount`` rounded to the currency's decimals, as WHMCS shows it (``$-8.67 USD``)."""
    return currency.format_amount(round_money(amount, currency))
