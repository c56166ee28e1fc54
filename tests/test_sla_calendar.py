"""The SLA business calendar (R-SL-1): exact minute arithmetic across nights, weekends and
holidays, and its properties under hypothesis."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whmcs_bridge.plugins.sla.calendar import (
    DEFAULT_TZ,
    BusinessCalendar,
    RoundTheClock,
    build_calendar,
    parse_timezone,
)

AR = DEFAULT_TZ  # UTC-3
CAL = build_calendar()


def ar(*args: int) -> datetime:
    return datetime(*args, tzinfo=AR)  # type: ignore[misc]


def test_r_sl_1_defaults() -> None:
    assert (CAL.opens, CAL.closes, CAL.tz) == (time(10), time(17), AR)
    assert CAL.days == frozenset({0, 1, 2, 3, 4})
    assert CAL.day_seconds == 7 * 3600
    assert CAL.is_open(ar(2026, 11, 27, 10, 0)) and not CAL.is_open(ar(2026, 11, 27, 17, 0))
    assert not CAL.is_open(ar(2026, 11, 28, 12, 0))  # Saturday
    # Argentina's holidays with no config at all: 9 July, 25 December.
    assert CAL.is_holiday(date(2026, 7, 9)) and CAL.is_holiday(date(2026, 12, 25))
    assert not CAL.is_business_day(date(2026, 12, 8))


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        # Friday 16:30, 8 business hours (standard): 30 min on Friday, 7 h on Monday, 30 min
        # on Tuesday.
        (ar(2026, 11, 27, 16, 30), 480, ar(2026, 12, 1, 10, 30)),
        # The same ticket on professional (2 business hours): Monday 11:30.
        (ar(2026, 11, 27, 16, 30), 120, ar(2026, 11, 30, 11, 30)),
        # Opened at night: the clock starts at the next opening.
        (ar(2026, 11, 25, 23, 15), 15, ar(2026, 11, 26, 10, 15)),
        # Opened on a Saturday.
        (ar(2026, 11, 28, 12, 0), 60, ar(2026, 11, 30, 11, 0)),
        # Ends exactly at closing: 17:00 the same day, not 10:00 the next.
        (ar(2026, 11, 26, 16, 0), 60, ar(2026, 11, 26, 17, 0)),
        # Across a holiday weekend: Friday 4 December, Monday 7 (bridge) and Tuesday 8 December
        # (Immaculate Conception) are closed in 2026.
        (ar(2026, 12, 4, 16, 0), 120, ar(2026, 12, 9, 11, 0)),
        # Zero minutes is the start itself.
        (ar(2026, 11, 28, 3, 0), 0, ar(2026, 11, 28, 3, 0)),
        # Another zone in, the calendar's zone out: 13:00 UTC is 10:00 at UTC-3.
        (datetime(2026, 11, 26, 13, 0, tzinfo=UTC), 30, ar(2026, 11, 26, 10, 30)),
    ],
)
def test_add_business_minutes(start: datetime, minutes: int, expected: datetime) -> None:
    assert CAL.add(start, minutes) == expected
    assert CAL.minutes_between(start, expected) == minutes


def test_minutes_between_is_signed_and_exact() -> None:
    friday, monday = ar(2026, 11, 27, 16, 30), ar(2026, 11, 30, 10, 45)
    assert CAL.minutes_between(friday, monday) == 30 + 45
    assert CAL.minutes_between(monday, friday) == -75
    assert CAL.minutes_between(ar(2026, 11, 28, 9), ar(2026, 11, 29, 20)) == 0  # weekend
    # A whole year: 2026 has 250 working days Monday to Friday in Argentina minus holidays.
    year = CAL.minutes_between(ar(2026, 1, 1), ar(2027, 1, 1))
    assert year % 420 == 0 and 230 * 420 <= year <= 250 * 420
    # Seconds count toward a minute, never round it up.
    assert CAL.minutes_between(ar(2026, 11, 26, 10, 0, 0), ar(2026, 11, 26, 10, 0, 59)) == 0


def test_extra_holidays_and_other_hours() -> None:
    cal = build_calendar(
        time(9), time(18), {0, 1, 2, 3, 4, 5}, parse_timezone("UTC-5"), "", [date(2026, 11, 30)]
    )
    start = datetime(2026, 11, 28, 17, 0, tzinfo=timezone(timedelta(hours=-5)))  # Saturday
    # Saturday counts; Sunday does not; Monday 30 is a company day off.
    assert cal.add(start, 120) == datetime(2026, 12, 1, 10, 0, tzinfo=cal.tz)
    assert not cal.is_holiday(date(2026, 12, 25))  # no country


def test_refusals() -> None:
    with pytest.raises(ValueError, match="close after"):
        BusinessCalendar(opens=time(17), closes=time(10))
    with pytest.raises(ValueError, match="negative"):
        CAL.add(ar(2026, 11, 26, 12), -1)
    with pytest.raises(ValueError, match="aware"):
        CAL.add(datetime(2026, 11, 26, 12), 5)
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_timezone("Mars/Olympus")
    assert parse_timezone("America/Argentina/Buenos_Aires").key == "America/Argentina/Buenos_Aires"  # type: ignore[attr-defined]


def test_round_the_clock() -> None:
    clock = RoundTheClock()
    start = ar(2026, 11, 28, 23, 50)
    assert clock.add(start, 30) == ar(2026, 11, 29, 0, 20)
    assert clock.minutes_between(start, ar(2026, 11, 29, 0, 20)) == 30
    assert clock.minutes_between(ar(2026, 11, 29, 0, 20), start) == -30


moments = st.datetimes(
    min_value=datetime(2019, 1, 1), max_value=datetime(2031, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(start=moments, minutes=st.integers(min_value=0, max_value=20 * 420))
def test_adding_then_measuring_gives_the_minutes_back(start: datetime, minutes: int) -> None:
    assert CAL.minutes_between(start, CAL.add(start, minutes)) == minutes


@settings(max_examples=300, deadline=None)
@given(start=moments, minutes=st.integers(min_value=1, max_value=20 * 420))
def test_business_deadlines_never_fall_outside_business_hours(
    start: datetime, minutes: int
) -> None:
    deadline = CAL.add(start, minutes)
    opens, closes = CAL.window(deadline.date())
    assert CAL.is_business_day(deadline.date())
    assert opens < deadline <= closes


@settings(max_examples=200, deadline=None)
@given(a=moments, b=moments, c=moments)
def test_measuring_is_additive_and_antisymmetric(a: datetime, b: datetime, c: datetime) -> None:
    ab, bc = CAL.seconds_between(a, b), CAL.seconds_between(b, c)
    assert ab + bc == CAL.seconds_between(a, c)
    assert CAL.minutes_between(a, b) == -CAL.minutes_between(b, a)
