"""The upgrades plugin's pricing core: cycles, PHP dates, currency, the three policies (R-UP)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whmcs_bridge.plugins.upgrades.cycles import (
    BillingCycle,
    CycleNotOffered,
    ProductPrices,
    UnknownBillingCycle,
    UpgradePricingError,
    cycle_days,
    parse_cycle,
    php_add_months,
    to_money,
)
from whmcs_bridge.plugins.upgrades.pricing import (
    DEFAULT_POLICY,
    POLICIES,
    Currency,
    UnknownUpgradePolicy,
    UpgradeQuote,
    format_money,
    quote_upgrade,
    round_money,
)

from whmcs_bridge.errors import BridgeError

D = Decimal
USD = Currency(id=1, code="USD", prefix="$", suffix=" USD", format=2)
CLP = Currency(id=2, code="CLP", prefix="$", suffix=" CLP", format=4)
COLUMNS = ("monthly", "quarterly", "semiannually", "annually", "biennially", "triennially")
RECURRING = [c for c in BillingCycle if c.is_recurring]


def prices(**columns: str) -> ProductPrices:
    """A recurring product offered only in the cycles given (the others are -1.00)."""
    row = dict.fromkeys(COLUMNS, D("-1.00")) | {k: D(v) for k, v in columns.items()}
    return ProductPrices.from_pricing_row(row)


def quote(policy: str = DEFAULT_POLICY, **kw: object) -> UpgradeQuote:
    """quote_upgrade with USD and the 4.4 same-cycle dates unless overridden."""
    args: dict[str, object] = {
        "current_price": D("10.00"),
        "current_cycle": "Monthly",
        "next_due_date": dt.date(2024, 7, 15),
        "new_prices": prices(monthly="25.00"),
        "new_cycle": "Monthly",
        "today": dt.date(2024, 7, 5),
        "currency": USD,
    } | kw
    return quote_upgrade(policy, **args)  # type: ignore[arg-type]


# --- billing cycles -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cycle"),
    [
        ("Free Account", BillingCycle.FREE),
        ("Free", BillingCycle.FREE),
        ("free", BillingCycle.FREE),
        ("One Time", BillingCycle.ONETIME),
        ("onetime", BillingCycle.ONETIME),
        ("Monthly", BillingCycle.MONTHLY),
        ("QUARTERLY", BillingCycle.QUARTERLY),
        ("Semi-Annually", BillingCycle.SEMIANNUALLY),
        ("semiannually", BillingCycle.SEMIANNUALLY),
        (" annually ", BillingCycle.ANNUALLY),
        ("Biennially", BillingCycle.BIENNIALLY),
        ("triennially", BillingCycle.TRIENNIALLY),
        (BillingCycle.MONTHLY, BillingCycle.MONTHLY),
    ],
)
def test_parse_cycle_accepts_display_and_system_names(
    name: str | BillingCycle, cycle: BillingCycle
) -> None:
    assert parse_cycle(name) is cycle


def test_unknown_cycle_is_a_value_error_naming_the_choices() -> None:
    with pytest.raises(UnknownBillingCycle) as info:
        parse_cycle("Weekly")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, BridgeError)
    assert "'Weekly'" in str(info.value)
    assert "'Semi-Annually'" in str(info.value)


def test_cycle_months_names_and_pricing_columns() -> None:
    assert [c.months for c in RECURRING] == [1, 3, 6, 12, 24, 36]
    assert [c.pricing_column for c in RECURRING] == list(COLUMNS)
    assert BillingCycle.ONETIME.pricing_column == "monthly"  # reference 1.9
    assert BillingCycle.FREE.pricing_column is None
    assert BillingCycle.FREE.display_name == "Free Account"
    assert BillingCycle.SEMIANNUALLY.display_name == "Semi-Annually"
    assert not BillingCycle.ONETIME.is_recurring


# --- PHP date stepping (reference 4.2 step 1) -----------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (dt.date(2024, 3, 31), -1, dt.date(2024, 3, 2)),  # "2024-02-31" overflows
        (dt.date(2024, 1, 31), 1, dt.date(2024, 3, 2)),  # leap February has 29 days
        (dt.date(2023, 1, 31), 1, dt.date(2023, 3, 3)),
        (dt.date(2024, 2, 29), 12, dt.date(2025, 3, 1)),
        (dt.date(2024, 12, 15), 1, dt.date(2025, 1, 15)),
        (dt.date(2025, 1, 15), -1, dt.date(2024, 12, 15)),
        (dt.date(2024, 5, 31), -3, dt.date(2024, 3, 2)),  # "2024-02-31" again
        (dt.date(2024, 8, 31), -6, dt.date(2024, 3, 2)),
        (dt.date(2024, 6, 30), 0, dt.date(2024, 6, 30)),
    ],
)
def test_php_add_months_overflows_like_mktime(
    start: dt.date, months: int, expected: dt.date
) -> None:
    assert php_add_months(start, months) == expected


@given(st.dates(dt.date(1990, 1, 1), dt.date(2090, 12, 28)), st.integers(-48, 48))
def test_php_add_months_is_plain_calendar_stepping_up_to_day_28(day: dt.date, months: int) -> None:
    day = day.replace(day=min(day.day, 28))
    stepped = php_add_months(day, months)
    assert stepped.day == day.day
    assert (stepped.year * 12 + stepped.month) - (day.year * 12 + day.month) == months
    assert php_add_months(stepped, -months) == day


@pytest.mark.parametrize(
    ("next_due", "cycle", "days"),
    [
        (dt.date(2024, 3, 31), BillingCycle.MONTHLY, 29),  # the quirk of reference 4.2 step 1
        (dt.date(2024, 3, 1), BillingCycle.MONTHLY, 29),  # leap February
        (dt.date(2023, 3, 1), BillingCycle.MONTHLY, 28),
        (dt.date(2024, 7, 15), BillingCycle.MONTHLY, 30),
        (dt.date(2025, 1, 1), BillingCycle.ANNUALLY, 366),
        (dt.date(2024, 3, 1), BillingCycle.ANNUALLY, 366),
        (dt.date(2023, 3, 1), BillingCycle.ANNUALLY, 365),
        (dt.date(2025, 9, 10), BillingCycle.QUARTERLY, 92),
        (dt.date(2026, 1, 1), BillingCycle.TRIENNIALLY, 1096),
    ],
)
def test_cycle_days(next_due: dt.date, cycle: BillingCycle, days: int) -> None:
    assert cycle_days(next_due, cycle) == days


def test_cycle_days_refuses_cycles_that_never_renew() -> None:
    with pytest.raises(UpgradePricingError, match="One Time"):
        cycle_days(dt.date(2024, 1, 1), BillingCycle.ONETIME)


# --- currency and rounding ------------------------------------------------------------------


def test_currency_decimals() -> None:
    assert USD.decimals == 2
    assert CLP.decimals == 0
    assert Currency(3, "CLP", format=2).decimals == 0  # zero-decimal ISO code, reference 1.10
    assert Currency(4, "jpy").decimals == 0
    assert Currency(5, "USD", format=4).decimals == 0  # format 4 has no decimals
    assert Currency(6, "EUR", format=3).decimals == 2
    with pytest.raises(ValueError, match="format"):
        Currency(7, "EUR", format=5)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.345", USD, "2.35"),  # half-up, not banker's (which gives 2.34)
        ("2.325", USD, "2.33"),
        ("2.3449", USD, "2.34"),
        ("-2.345", USD, "-2.35"),
        ("1500.5", CLP, "1501"),
        ("2500.5", CLP, "2501"),
        ("2500.49", CLP, "2500"),
    ],
)
def test_round_money_half_up(amount: str, currency: Currency, expected: str) -> None:
    rounded = round_money(D(amount), currency)
    assert rounded == D(expected)
    assert rounded.as_tuple().exponent == -currency.decimals


@given(st.integers(-(10**9), 10**9))
def test_round_money_half_up_on_every_half_cent(cents: int) -> None:
    amount = D(cents) / 100 + D("0.005")  # exactly half a cent: away from zero
    assert round_money(amount, USD) == D(cents + (1 if cents >= 0 else 0)) / 100


def test_format_money_per_currency_format() -> None:
    amount = D("1234.565")
    assert format_money(amount, Currency(1, "USD", "$", "", 1)) == "$1234.57"
    assert format_money(amount, Currency(1, "USD", "$", " USD", 2)) == "$1,234.57 USD"
    assert format_money(amount, Currency(1, "EUR", "", " €", 3)) == "1.234,57 €"
    assert format_money(amount, Currency(1, "CLP", "$", "", 4)) == "$1,235"
    assert format_money(D("-8.666"), USD) == "$-8.67 USD"  # the sign after the prefix, as WHMCS


def test_money_is_never_float() -> None:
    with pytest.raises(TypeError):
        to_money(1.5)
    with pytest.raises(UpgradePricingError):
        to_money("abc")
    with pytest.raises(UpgradePricingError):
        to_money("NaN")
    assert to_money("12.50") == D("12.50")
    assert to_money(3) == D(3)


# --- product prices (reference 1.9) ---------------------------------------------------------


def test_pricing_row_minus_one_is_not_offered_and_zero_is_free() -> None:
    product = prices(monthly="0.00", annually="100.00")
    assert product.price("Monthly") == D("0.00")
    assert product.price("annually") == D("100.00")
    assert product.price("Quarterly") is None
    assert product.price("One Time") is None
    assert product.offered_cycles() == (BillingCycle.MONTHLY, BillingCycle.ANNUALLY)


def test_onetime_product_reads_monthly_and_free_product_ignores_its_row() -> None:
    row = dict.fromkeys(COLUMNS, D("-1.00")) | {"monthly": D("49.00")}
    onetime = ProductPrices.from_pricing_row(row, paytype="onetime")
    assert onetime.offered_cycles() == (BillingCycle.ONETIME,)
    assert onetime.require("One Time") == D("49.00")
    free = ProductPrices.from_pricing_row(row, paytype="Free")
    assert free.offered_cycles() == (BillingCycle.FREE,)
    assert free.require("Free Account") == D("0.00")
    with pytest.raises(UpgradePricingError, match="paytype"):
        ProductPrices.from_pricing_row(row, paytype="weekly")


def test_pricing_row_refuses_float_and_missing_columns() -> None:
    with pytest.raises(TypeError):
        ProductPrices.from_pricing_row(dict.fromkeys(COLUMNS, 1.0))
    with pytest.raises(UpgradePricingError, match="quarterly"):
        ProductPrices.from_pricing_row({"monthly": D("1.00")})


def test_cycle_not_offered_is_a_clear_error() -> None:
    with pytest.raises(CycleNotOffered, match=r"not offered Quarterly.*Monthly"):
        quote(new_prices=prices(monthly="25.00"), new_cycle="Quarterly")


def test_unknown_policy_and_options() -> None:
    with pytest.raises(UnknownUpgradePolicy, match="difference, prorata, full"):
        quote("cheapest")
    with pytest.raises(UpgradePricingError, match="downgrade"):
        quote(downgrade="refund")
    with pytest.raises(UpgradePricingError, match="next due date"):
        quote(next_due_date=None)
    with pytest.raises(TypeError):
        quote(current_price=10.0)


# --- difference (R-UP-1, the default) -------------------------------------------------------


def test_default_policy_is_difference() -> None:
    assert DEFAULT_POLICY == "difference"  # R-UP-1
    assert set(POLICIES) == {"difference", "prorata", "full"}


@given(st.integers(0, 365), st.dates(dt.date(2020, 1, 1), dt.date(2040, 12, 31)))
def test_difference_r_up_1_is_50_on_every_day_of_the_year(offset: int, next_due: dt.date) -> None:
    # R-UP-1: paid 100 per year, moves to a 150-per-year plan on any day -> 150 - 100 = 50.
    q = quote(
        current_price=D("100.00"),
        current_cycle="Annually",
        next_due_date=next_due,
        new_prices=prices(annually="150.00"),
        new_cycle="Annually",
        today=next_due - dt.timedelta(days=offset),
    )
    assert q.policy == "difference"
    assert q.amount_due == D("50.00")
    assert q.credit == D("0.00")
    assert q.next_due_date == next_due  # same cycle: due date kept
    assert not q.cycle_restarted
    assert q.new_recurring_amount == D("150.00")
    assert q.recurring_change == D("50.00")
    assert "whatever the day" in q.explanation and "R-UP" not in q.explanation


def test_difference_with_a_change_of_cycle_restarts_it_today() -> None:
    # Reading of R-UP-1 when the cycle changes: the new cycle's full price minus the unused value
    # of the current cycle, and the new cycle starts today (no ratio of two cycles).
    q = quote(
        current_price=D("120.00"),
        current_cycle="Annually",
        next_due_date=dt.date(2025, 1, 1),
        new_prices=prices(monthly="30.00", annually="300.00"),
        new_cycle="Monthly",
        today=dt.date(2024, 10, 2),  # 91 of 366 days left: unused 120 x 91/366 = 29.84
    )
    assert q.unused_value == D("29.84")
    assert q.net_amount == D("0.16")
    assert q.amount_due == D("0.16")
    assert q.next_due_date == dt.date(2024, 11, 2)
    assert q.cycle_restarted
    assert (q.days_remaining, q.total_days) == (91, 366)
    assert "starts today" in q.explanation


# --- prorata (WHMCS, reference 4.1/4.2, examples of 4.4) ------------------------------------


def test_prorata_same_cycle_upgrade_example() -> None:
    q = quote("prorata")  # Monthly 10 -> 25, due 15 Jul, today 5 Jul: 10 of 30 days
    assert (q.days_remaining, q.total_days) == (10, 30)
    assert (q.new_charge, q.unused_value) == (D("8.33"), D("3.33"))
    assert q.amount_due == D("5.00")
    assert q.next_due_date == dt.date(2024, 7, 15)
    assert q.recurring_change == D("15.00")
    assert not q.is_downgrade


def test_prorata_reverse_is_a_downgrade_nothing_charged_nothing_refunded() -> None:
    q = quote("prorata", current_price=D("25.00"), new_prices=prices(monthly="10.00"))
    assert q.net_amount == D("-5.00")
    assert q.is_downgrade
    assert (q.amount_due, q.credit) == (D("0.00"), D("0.00"))  # R-UP-4 default
    assert "nothing is refunded" in q.explanation
    credited = quote(
        "prorata", current_price=D("25.00"), new_prices=prices(monthly="10.00"), downgrade="credit"
    )
    assert (credited.amount_due, credited.credit) == (D("0.00"), D("5.00"))


def test_prorata_docs_example_minus_8_67() -> None:
    # Reference 4.4: a 20.00/month price drop with 13 of 30 days left -> -8.67.
    q = quote(
        "prorata",
        current_price=D("30.00"),
        new_prices=prices(monthly="10.00"),
        today=dt.date(2024, 7, 2),
        downgrade="credit",
    )
    assert (q.days_remaining, q.total_days) == (13, 30)
    assert q.net_amount == D("-8.67")
    assert (q.amount_due, q.credit) == (D("0.00"), D("8.67"))


def test_prorata_cycle_change_complaint() -> None:
    # Reference 4.4: 65/year bought today, moved the same day to 55/quarter. The due date is kept a
    # year away, so the new price is spread over one 92-day quarter: 55 x 365/92 = 218.21, less
    # the unused 65.00 of the year.
    q = quote(
        "prorata",
        current_price=D("65.00"),
        current_cycle="Annually",
        next_due_date=dt.date(2025, 9, 10),
        new_prices=prices(quarterly="55.00"),
        new_cycle="Quarterly",
        today=dt.date(2024, 9, 10),
    )
    assert q.new_charge == D("218.21")
    assert abs(q.new_charge - D("218")) < 1
    assert q.unused_value == D("65.00")
    assert q.amount_due == D("153.21")
    assert q.next_due_date == dt.date(2025, 9, 10)


def _r_up_1(policy: str, today: dt.date, **kw: object) -> UpgradeQuote:
    """R-UP-1's example: 100 per year moved to 150 per year, due 2025-01-01."""
    return quote(
        policy,
        current_price=D("100.00"),
        current_cycle="Annually",
        next_due_date=dt.date(2025, 1, 1),
        new_prices=prices(annually="150.00"),
        new_cycle="Annually",
        today=today,
        **kw,
    )


def test_prorata_r_up_1_example_is_25() -> None:
    # R-UP-1 under WHMCS's rule: 100 -> 150 per year, mid-year: 50 x 183/366 = 25.00.
    q = _r_up_1("prorata", dt.date(2024, 7, 2))
    assert q.amount_due == D("25.00")


@given(st.integers(170, 195), st.dates(dt.date(2020, 1, 1), dt.date(2040, 12, 31)))
def test_prorata_r_up_1_is_25_give_or_take_a_days_share(days_left: int, due: dt.date) -> None:
    q = quote(
        "prorata",
        current_price=D("100.00"),
        current_cycle="Annually",
        next_due_date=due,
        new_prices=prices(annually="150.00"),
        new_cycle="Annually",
        today=due - dt.timedelta(days=days_left),
    )
    half = D(q.total_days) / 2
    assert abs(q.amount_due - D("25.00")) <= D(50) * (abs(D(days_left) - half) + 1) / q.total_days


def test_prorata_month_end_due_date_uses_the_php_29_day_cycle() -> None:
    q = quote(
        "prorata",
        next_due_date=dt.date(2024, 3, 31),
        today=dt.date(2024, 3, 2),
        new_prices=prices(monthly="39.00"),
    )
    assert (q.days_remaining, q.total_days) == (29, 29)
    assert q.amount_due == D("29.00")  # the whole (short) cycle: (39 - 10) x 29/29


def test_prorata_same_monthly_price_only_changes_the_cycle_length() -> None:
    # Reference 4.2 step 3: equal per-month prices -> the new amount is derived from the old one.
    q = quote(
        "prorata",
        current_price=D("100.00"),
        current_cycle="Annually",
        next_due_date=dt.date(2025, 9, 10),
        new_prices=prices(quarterly="24.99"),  # 8.33/month, like 100/12
        new_cycle="Quarterly",
        today=dt.date(2024, 9, 10),  # bought today: 365 days left, quarter counted back = 92
    )
    assert q.new_charge == D("99.18")  # 25.00 x 365/92, not 24.99 x 365/92 = 99.14
    assert q.net_amount == D("-0.82")  # only the cycle length changed: about nothing due


def test_prorata_rounds_half_up_after_the_subtraction() -> None:
    # 10.00 -> 10.01 with 15 of 30 days left: 5.005 - 5.000 = 0.005 -> 0.01 (half-up).
    q = quote("prorata", new_prices=prices(monthly="10.01"), today=dt.date(2024, 6, 30))
    assert (q.days_remaining, q.total_days) == (15, 30)
    assert q.amount_due == D("0.01")


def test_prorata_zero_decimal_currency_rounds_the_debit_first() -> None:
    # CLP 10000 -> 25000, 10 of 30 days: debit 8333.33 -> 8333, credit 3333.33; 4999.67 -> 5000.
    q = quote(
        "prorata",
        current_price=D("10000"),
        new_prices=prices(monthly="25000"),
        currency=CLP,
    )
    assert q.new_charge == D("8333")
    assert q.amount_due == D("5000")
    assert q.amount_due.as_tuple().exponent == 0


def test_prorata_overdue_service_is_priced_over_the_full_cycle() -> None:
    q = quote("prorata", today=dt.date(2024, 7, 20))  # 5 days past the due date
    assert (q.days_remaining, q.total_days) == (30, 30)
    assert q.amount_due == D("15.00")


# --- full (reference 4.3 and 7) -------------------------------------------------------------


def test_full_marketconnect_example() -> None:
    # Reference 4.4: Monthly 10 with 10/30 days left -> credit 3.33; 100/year -> 96.67 due today.
    q = quote("full", new_prices=prices(annually="100.00"), new_cycle="Annually")
    assert q.unused_value == D("3.33")
    assert q.amount_due == D("96.67")
    assert q.credit == D("0.00")
    assert q.next_due_date == dt.date(2025, 7, 5)  # today + 12 months
    assert q.cycle_restarted


def test_full_can_give_the_unused_part_as_account_credit() -> None:
    q = quote(
        "full", new_prices=prices(annually="100.00"), new_cycle="Annually", full_unused="credit"
    )
    assert (q.amount_due, q.credit) == (D("100.00"), D("3.33"))
    assert "account credit" in q.explanation


def test_full_downgrade_floors_at_zero() -> None:
    q = quote(
        "full",
        current_price=D("120.00"),
        current_cycle="Annually",
        next_due_date=dt.date(2025, 7, 5),
        today=dt.date(2024, 7, 5),
        new_prices=prices(monthly="5.00"),
    )
    assert q.net_amount == D("-115.00")
    assert (q.amount_due, q.credit) == (D("0.00"), D("0.00"))  # R-UP-4: nothing refunded
    assert q.next_due_date == dt.date(2024, 8, 5)


# --- free and one-time sources (reference 4.2 step 10), every policy ------------------------


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_free_source_pays_the_full_new_cycle_from_today(policy: str) -> None:
    q = quote(
        policy,
        current_price=D("0.00"),
        current_cycle="Free Account",
        next_due_date=None,
        new_prices=prices(monthly="25.00", annually="250.00"),
        new_cycle="Annually",
        today=dt.date(2024, 2, 29),
    )
    assert q.amount_due == D("250.00")
    assert q.next_due_date == dt.date(2025, 3, 1)  # PHP: "2025-02-29" overflows
    assert (q.days_remaining, q.total_days) == (366, 366)
    assert q.cycle_restarted


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_onetime_source_pays_new_price_minus_the_onetime_payment(policy: str) -> None:
    q = quote(
        policy,
        current_price=D("40.00"),
        current_cycle="One Time",
        next_due_date=None,
        new_prices=prices(monthly="25.00"),
        new_cycle="Monthly",
        today=dt.date(2024, 1, 31),
    )
    assert q.net_amount == D("-15.00")
    assert (q.amount_due, q.credit) == (D("0.00"), D("0.00"))
    assert q.next_due_date == dt.date(2024, 3, 2)
    bigger = quote(
        policy,
        current_price=D("40.00"),
        current_cycle="onetime",
        next_due_date=None,
        new_prices=prices(quarterly="75.00"),
        new_cycle="Quarterly",
        today=dt.date(2024, 1, 31),
    )
    assert bigger.amount_due == D("35.00")


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_moving_to_a_onetime_product_has_no_next_due_date(policy: str) -> None:
    row = dict.fromkeys(COLUMNS, D("-1.00")) | {"monthly": D("200.00")}
    q = quote(
        policy, new_prices=ProductPrices.from_pricing_row(row, "onetime"), new_cycle="onetime"
    )
    assert q.amount_due == D("196.67")  # 200 one-time minus the unused 3.33 of the month
    assert q.next_due_date is None


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_moving_to_a_free_product_is_a_downgrade(policy: str) -> None:
    free = ProductPrices.from_pricing_row({}, paytype="free")
    q = quote(policy, new_prices=free, new_cycle="Free Account", downgrade="credit")
    assert q.net_amount == D("-3.33")  # the unused part of the paid month
    assert (q.amount_due, q.credit) == (D("0.00"), D("3.33"))
    assert q.next_due_date is None and q.new_recurring_amount == D("0.00")


# --- properties over every policy and option ------------------------------------------------


@settings(max_examples=300)
@given(
    policy=st.sampled_from(sorted(POLICIES)),
    currency=st.sampled_from([USD, CLP]),
    current=st.integers(0, 1_000_000),
    new=st.integers(0, 1_000_000),
    current_cycle=st.sampled_from(list(BillingCycle)),
    new_cycle=st.sampled_from([*RECURRING, BillingCycle.ONETIME, BillingCycle.FREE]),
    next_due=st.dates(dt.date(2000, 1, 1), dt.date(2060, 12, 31)),
    offset=st.integers(-40, 1200),
    downgrade=st.sampled_from(["none", "credit"]),
    full_unused=st.sampled_from(["deduct", "credit"]),
)
def test_no_negative_charge_and_credit_only_when_chosen(
    policy: str,
    currency: Currency,
    current: int,
    new: int,
    current_cycle: BillingCycle,
    new_cycle: BillingCycle,
    next_due: dt.date,
    offset: int,
    downgrade: str,
    full_unused: str,
) -> None:
    scale = D(1) if currency.is_zero_decimal else D("0.01")
    row = dict.fromkeys(COLUMNS, D(new) * scale)
    paytype = {BillingCycle.ONETIME: "onetime", BillingCycle.FREE: "free"}.get(
        new_cycle, "recurring"
    )
    q = quote_upgrade(
        policy,
        current_price=D(current) * scale,
        current_cycle=current_cycle,
        next_due_date=next_due,
        new_prices=ProductPrices.from_pricing_row(row, paytype),
        new_cycle=new_cycle,
        today=next_due - dt.timedelta(days=offset),
        currency=currency,
        downgrade=downgrade,  # type: ignore[arg-type]
        full_unused=full_unused,  # type: ignore[arg-type]
    )
    assert q.amount_due >= 0
    assert q.credit >= 0
    for amount in (q.amount_due, q.credit, q.net_amount, q.new_charge, q.unused_value):
        assert amount.as_tuple().exponent == -currency.decimals  # whole numbers in CLP
    assert q.is_downgrade == (q.net_amount < 0)
    if q.is_downgrade and downgrade == "credit":
        # R-UP-4 with credit: nothing due, and never more back than the downgrade is worth.
        assert q.amount_due == 0
        assert q.credit <= -q.net_amount
    elif policy == "full" and full_unused == "credit" and not q.is_downgrade:
        assert q.amount_due == q.new_charge
        assert q.credit == q.unused_value
    else:
        assert q.credit == 0  # R-UP-4: a downgrade gives nothing back unless the admin chose so
        assert q.amount_due == max(q.net_amount, 0)
    assert q.explanation.endswith(".")


# --- issue 11, point 5: difference_basis across a change of cycle ---------------------------


def _monthly_30_to_annual_150(basis: str, **kw: object) -> UpgradeQuote:
    # Monthly at 30, due 2024-07-15, 10 of 30 days left: 10.00 of the month is unused.
    return quote(
        current_price=D("30.00"),
        new_prices=prices(monthly="30.00", annually="150.00"),
        new_cycle="Annually",
        difference_basis=basis,
        **kw,
    )


def test_difference_basis_unused_deducts_the_unused_part() -> None:
    q = _monthly_30_to_annual_150("unused")
    assert (q.unused_value, q.amount_due) == (D("10.00"), D("140.00"))
    assert q.next_due_date == dt.date(2025, 7, 5) and q.cycle_restarted


def test_difference_basis_paid_deducts_the_whole_payment() -> None:
    q = _monthly_30_to_annual_150("paid")
    assert (q.unused_value, q.amount_due) == (D("30.00"), D("120.00"))  # 150 - 30, the seed's words
    assert q.next_due_date == dt.date(2025, 7, 5) and q.cycle_restarted
    assert "$150.00 USD - $30.00 USD = $120.00 USD" in q.explanation
    assert "what was paid for the current monthly cycle" in q.explanation


def test_difference_basis_paid_never_credits_what_was_used() -> None:
    # Annual 120 moved to monthly 5 with 91 of 366 days left: paid 120, unused 29.84.
    q = quote(
        current_price=D("120.00"),
        current_cycle="Annually",
        next_due_date=dt.date(2025, 1, 1),
        new_prices=prices(monthly="5.00"),
        today=dt.date(2024, 10, 2),
        difference_basis="paid",
        downgrade="credit",
    )
    assert q.net_amount == D("-115.00")
    assert (q.amount_due, q.credit) == (D("0.00"), D("24.84"))  # 29.84 unused - 5.00


def test_difference_basis_does_not_touch_a_kept_cycle() -> None:
    for basis in ("unused", "paid"):
        q = _r_up_1("difference", dt.date(2024, 7, 5), difference_basis=basis)
        assert q.amount_due == D("50.00") and not q.cycle_restarted


def test_unknown_difference_basis_is_refused() -> None:
    with pytest.raises(UpgradePricingError, match="difference_basis"):
        _monthly_30_to_annual_150("half")


# --- issue 11, point 4: the explanation's figures add up to the total -----------------------

AMOUNT = r"-?\$-?[\d,]+(?:\.\d+)? USD"


def _amounts(text: str) -> list[Decimal]:
    import re

    return [
        D(a.replace("$", "").replace(" USD", "").replace(",", "")) for a in re.findall(AMOUNT, text)
    ]


@settings(max_examples=200)
@given(
    policy=st.sampled_from(sorted(POLICIES)),
    current=st.integers(1, 100_000),
    new=st.integers(1, 100_000),
    current_cycle=st.sampled_from(RECURRING),
    new_cycle=st.sampled_from(RECURRING),
    next_due=st.dates(dt.date(2020, 1, 1), dt.date(2040, 12, 31)),
    offset=st.integers(1, 360),
)
def test_the_explanation_adds_up_and_rounds_once(
    policy: str,
    current: int,
    new: int,
    current_cycle: BillingCycle,
    new_cycle: BillingCycle,
    next_due: dt.date,
    offset: int,
) -> None:
    import re

    q = quote_upgrade(
        policy,
        current_price=D(current) / 100,
        current_cycle=current_cycle,
        next_due_date=next_due,
        new_prices=ProductPrices.from_pricing_row(dict.fromkeys(COLUMNS, D(new) / 100)),
        new_cycle=new_cycle,
        today=next_due - dt.timedelta(days=offset % (current_cycle.months * 28)),
        currency=USD,
    )
    # "<a> - <b> = <c>" (and "<c>, rounded to <total>"): the parts give <c> exactly, and <c>
    # rounded once is the total.
    sums = re.findall(
        rf"({AMOUNT}) - ({AMOUNT}) = ({AMOUNT})(?:, rounded to ({AMOUNT}))?", q.explanation
    )
    products = re.findall(
        rf"({AMOUNT}) x (\d+)/(\d+) = ({AMOUNT})(?:, rounded to ({AMOUNT}))?", q.explanation
    )
    assert sums or products, q.explanation
    for a, b, c, rounded in sums:
        [a_, b_, c_] = (_amounts(x)[0] for x in (a, b, c))
        assert a_ - b_ == c_, q.explanation
        total = _amounts(rounded)[0] if rounded else c_
        assert round_money(c_, USD) == total
    final = sums[-1] if sums else products[-1]
    shown_total = _amounts(final[-1] or final[-2])[0]
    assert shown_total == q.net_amount, q.explanation


def test_prorata_explanation_factors_the_difference() -> None:
    q = _r_up_1("prorata", dt.date(2024, 7, 4))  # 181 of 366 days: 50 x 181/366 = 24.7268 -> 24.73
    assert q.amount_due == D("24.73")
    assert "$50.00 USD x 181/366 = $24.7268 USD, rounded to $24.73 USD" in q.explanation
    assert "The next due date stays 01/01/2025." in q.explanation


def test_the_client_reads_it_in_spanish_with_dd_mm_yyyy() -> None:
    q = _monthly_30_to_annual_150("unused")
    text = q.explain("spanish")
    assert text == (
        "El plan nuevo cuesta $150.00 USD por ciclo anual; se descuenta la parte no usada del "
        "ciclo mensual actual (10 de 30 días): $150.00 USD - $10.00 USD = $140.00 USD. "
        "El ciclo anual empieza hoy y vence el 05/07/2025."
    )
    assert q.explain("english").startswith("The new plan costs $150.00 USD per annual cycle")
