"""The business calendar the SLA clock runs on (R-SL-1), and the round-the-clock one (R-SL-3).

Business time is counted in whole seconds inside each business day's window (default 10:00 to
17:00 at UTC-3, Monday to Friday), skipping the country's public holidays (the ``holidays``
package, country AR by default) and the extra dates of the config. Two operations, exact to the
minute and to the second:

* :meth:`BusinessCalendar.add` -- the moment N business minutes after a start; a start outside
  the window counts from the next opening. The result of a positive N always lies inside a
  window (``open < t <= close``): a deadline never falls at night, on a weekend or a holiday.
* :meth:`BusinessCalendar.minutes_between` -- business minutes from one moment to another,
  negative when the second is earlier (a breached deadline).

``minutes_between`` is O(1) per call after a one-off table per year (cumulative business
seconds per day), so ``sla status`` over 10,000 tickets stays cheap however old they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import cached_property
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ONE_DAY = timedelta(days=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: R-SL-1: 10:00 to 17:00, UTC-3, Monday to Friday.
DEFAULT_OPEN = time(10, 0)
DEFAULT_CLOSE = time(17, 0)
DEFAULT_DAYS = frozenset(range(5))
DEFAULT_TZ = timezone(timedelta(hours=-3))
DEFAULT_COUNTRY = "AR"


class Clock(Protocol):
    """What the deadline code needs of a calendar: add minutes, measure minutes."""

    name: str

    def add(self, start: datetime, minutes: int) -> datetime: ...

    def minutes_between(self, start: datetime, end: datetime) -> int: ...


def parse_timezone(text: str) -> tzinfo:
    """``-03:00``/``UTC-3``/``+05:30`` as a fixed offset, or an IANA name; ValueError otherwise."""
    raw = text.strip()
    body = raw.upper().removeprefix("UTC").removeprefix("GMT")
    if body[:1] in "+-" and body[1:2].isdigit():
        sign = -1 if body[0] == "-" else 1
        hours, _, minutes = body[1:].partition(":")
        if hours.isdigit() and (minutes == "" or minutes.isdigit()):
            offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
            if offset < timedelta(hours=15):
                return timezone(sign * offset)
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {text!r}; expected e.g. '-03:00'") from None


def _floor_minutes(seconds: float) -> int:
    """Whole minutes toward zero: 59 seconds late is 0 minutes, -61 seconds is -1."""
    whole = int(abs(seconds)) // 60
    return whole if seconds >= 0 else -whole


@dataclass(frozen=True)
class RoundTheClock:
    """24x7: every minute counts (SLA 2 and 3, a ``full`` plan's P1)."""

    name: str = "24x7"

    def add(self, start: datetime, minutes: int) -> datetime:
        return start + timedelta(minutes=minutes)

    def minutes_between(self, start: datetime, end: datetime) -> int:
        return _floor_minutes((end - start).total_seconds())


@dataclass(frozen=True)
class BusinessCalendar:
    """Business hours and days in one time zone, minus holidays.

    :param holidays_country: ISO country for the ``holidays`` package ('' for none).
    :param extra_holidays: more closed dates (company days off).
    """

    opens: time = DEFAULT_OPEN
    closes: time = DEFAULT_CLOSE
    days: frozenset[int] = DEFAULT_DAYS
    tz: tzinfo = DEFAULT_TZ
    holidays_country: str = DEFAULT_COUNTRY
    extra_holidays: frozenset[date] = frozenset()
    name: str = "business"
    _years: dict[int, list[int]] = field(default_factory=dict, compare=False, repr=False)
    _before_year: dict[int, int] = field(default_factory=dict, compare=False, repr=False)
    _business_days: dict[date, bool] = field(default_factory=dict, compare=False, repr=False)
    _last: list[object] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError("business hours must close after they open")
        if not self.days:
            raise ValueError("at least one business day is needed")

    # --- days --------------------------------------------------------------------------------
    @cached_property
    def _country(self) -> object | None:
        if not self.holidays_country:
            return None
        import holidays

        return holidays.country_holidays(self.holidays_country)

    def is_holiday(self, day: date) -> bool:
        if day in self.extra_holidays:
            return True
        country = self._country
        return country is not None and day in country  # type: ignore[operator]

    def is_business_day(self, day: date) -> bool:
        found = self._business_days.get(day)
        if found is None:
            found = day.weekday() in self.days and not self.is_holiday(day)
            self._business_days[day] = found
        return found

    @cached_property
    def day_seconds(self) -> int:
        """Seconds in one business day's window (25,200 for 10:00-17:00)."""
        return self._window_seconds(self.opens, self.closes)

    @staticmethod
    def _window_seconds(opens: time, closes: time) -> int:
        base = date(2000, 1, 1)
        return int((datetime.combine(base, closes) - datetime.combine(base, opens)).total_seconds())

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The day's opening and closing moments (aware, in the calendar's zone)."""
        return (
            datetime.combine(day, self.opens, tzinfo=self.tz),
            datetime.combine(day, self.closes, tzinfo=self.tz),
        )

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` is inside business hours (opening included, closing excluded)."""
        local = self._local(moment)
        opens, closes = self.window(local.date())
        return self.is_business_day(local.date()) and opens <= local < closes

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` itself when open, else the next opening."""
        local = self._local(moment)
        day = local.date()
        while True:
            if self.is_business_day(day):
                opens, closes = self.window(day)
                if local < closes:
                    return max(local, opens)
            day += ONE_DAY

    # --- adding ------------------------------------------------------------------------------
    def add(self, start: datetime, minutes: int) -> datetime:
        """The moment ``minutes`` business minutes after ``start`` (in the calendar's zone).

        0 minutes is ``start`` itself; a negative count is refused.
        """
        if minutes < 0:
            raise ValueError("cannot add a negative number of business minutes")
        local = self._local(start)
        if minutes == 0:
            return local
        remaining = timedelta(minutes=minutes)
        # Whole business days first: a long target does not walk window by window.
        day = local.date()
        while True:
            if self.is_business_day(day):
                opens, closes = self.window(day)
                begin = max(local, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += ONE_DAY
            local = datetime.combine(day, time(0), tzinfo=self.tz)

    # --- measuring ---------------------------------------------------------------------------
    def _year_table(self, year: int) -> list[int]:
        """Cumulative business seconds before each day of ``year`` (index = day of year - 1),
        with the year's total as the last entry."""
        table = self._years.get(year)
        if table is None:
            table = [0]
            day = date(year, 1, 1)
            while day.year == year:
                table.append(table[-1] + (self.day_seconds if self.is_business_day(day) else 0))
                day += ONE_DAY
            self._years[year] = table
        return table

    def _seconds_before_year(self, year: int) -> int:
        """Business seconds from 1 January of the first year this calendar measured (its
        origin: only differences matter) to 1 January of ``year``."""
        found = self._before_year.get(year)
        if found is None:
            if not self._before_year:
                found = 0  # the origin
            elif year < min(self._before_year):
                found = self._seconds_before_year(year + 1) - self._year_table(year)[-1]
            else:
                found = self._seconds_before_year(year - 1) + self._year_table(year - 1)[-1]
            self._before_year[year] = found
        return found

    def _seconds_until(self, moment: datetime) -> int:
        """Business seconds from the calendar's origin to ``moment`` (any fixed origin works).

        The last moment asked is remembered: ``sla status`` measures thousands of deadlines
        from one "now"."""
        last = self._last
        if last and last[0] == moment:
            return last[1]
        local = self._local(moment)
        day = local.date()
        total = self._seconds_before_year(day.year)
        total += self._year_table(day.year)[day.timetuple().tm_yday - 1]
        if self.is_business_day(day):
            opens, closes = self.window(day)
            clamped = min(max(local, opens), closes)
            total += int((clamped - opens).total_seconds())
        self._last[:] = [moment, total]
        return total

    def seconds_between(self, start: datetime, end: datetime) -> int:
        """Business seconds from ``start`` to ``end`` (negative when ``end`` is earlier)."""
        return self._seconds_until(end) - self._seconds_until(start)

    def minutes_between(self, start: datetime, end: datetime) -> int:
        """Whole business minutes from ``start`` to ``end``, negative when ``end`` is earlier."""
        return _floor_minutes(self.seconds_between(start, end))

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("the business calendar needs aware datetimes")
        # Whole seconds: the panel stores seconds, and the tables count seconds.
        return moment.astimezone(self.tz).replace(microsecond=0)


def build_calendar(
    opens: time = DEFAULT_OPEN,
    closes: time = DEFAULT_CLOSE,
    days: Iterable[int] = DEFAULT_DAYS,
    tz: tzinfo = DEFAULT_TZ,
    holidays_country: str = DEFAULT_COUNTRY,
    extra_holidays: Iterable[date] = (),
) -> BusinessCalendar:
    """A :class:`BusinessCalendar` from plain values."""
    return BusinessCalendar(
        opens=opens,
        closes=closes,
        days=frozenset(days),
        tz=tz,
        holidays_country=holidays_country.strip().upper(),
        extra_holidays=frozenset(extra_holidays),
    )
