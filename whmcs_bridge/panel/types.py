"""Column types that normalise WHMCS's stored values at the database boundary.

WHMCS writes through a non-strict MySQL session, so its tables hold zero dates for "unset",
flags as ``'on'``/``''``, ``'1'``/``'0'`` or ``0``/``1``, and money as ``decimal``. These types turn
them into ``None``, ``bool`` and :class:`~decimal.Decimal` when rows are read, on MySQL/MariaDB and
on the SQLite copies alike. The ``parse_*`` helpers do the same for values that arrive outside
SQLAlchemy (the WHMCS API answers).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Dialect,
    Numeric,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    and_,
    or_,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

__all__ = [
    "Money",
    "PanelBool",
    "PanelDate",
    "PanelDateTime",
    "PanelDecimal",
    "PanelEnum",
    "date_is_unset",
    "parse_money",
    "parse_panel_bool",
    "parse_panel_date",
    "parse_panel_datetime",
]

#: The date WHMCS (and some migrations) store for "not set" besides the zero date.
UNSET_EPOCH = date(1970, 1, 1)
ZERO_DATE = "0000-00-00"
ZERO_DATETIME = "0000-00-00 00:00:00"

_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$")
_TRUE_WORDS = frozenset({"on", "1", "yes", "true", "y"})


def parse_panel_date(value: object) -> date | None:
    """Return the date a panel value means, or ``None`` for the zero, 1970 and empty forms.

    Accepts ``date``, ``datetime`` (its date part), ``str``/``bytes`` such as ``'2024-03-01'`` or
    ``'2024-03-01 10:00:00'``, and ``None``. Text that is no valid date (``'0000-00-00'``,
    ``'2024-00-10'``) reads as ``None``, as WHMCS treats it.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    elif isinstance(value, bytes | bytearray):
        value = value.decode("ascii", "replace")
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    if not isinstance(value, date):
        raise TypeError(f"not a panel date: {value!r}")
    return None if value == UNSET_EPOCH else value


def parse_panel_datetime(value: object) -> datetime | None:
    """Return the naive panel-local datetime a value means, or ``None`` for the unset forms.

    ``'0000-00-00 00:00:00'``, any time on 1970-01-01 (the epoch a zero timestamp shows in a
    local time zone) and empty text read as ``None``. A bare ``date`` reads as its midnight.
    """
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        value = value.decode("ascii", "replace")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise TypeError(f"not a panel datetime: {value!r}")
    return None if value.date() == UNSET_EPOCH else value


def parse_money(value: object, places: int = 2) -> Decimal:
    """Return ``value`` as a :class:`Decimal` rounded half-up to ``places`` decimals.

    Accepts ``Decimal``, ``int``, ``float`` (through its shortest ``str``, so ``0.1`` stays
    ``0.10``) and plain numeric text such as ``'12.5'`` or ``'-1.00'``. Empty text is ``0.00``,
    as WHMCS treats it. Formatted amounts (``'$1,234.56 USD'``) and ``None`` raise
    :class:`ValueError`: their meaning depends on the currency format, which the caller knows.
    """
    if value is None or isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, bytes | bytearray):
        value = value.decode("ascii", "replace")
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str):
        value = value.strip() or "0"
    try:
        amount = Decimal(value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def parse_panel_bool(value: object) -> bool:
    """Read a WHMCS flag permissively: ``'on'``, ``'1'``, ``1``, ``'yes'``, ``'true'`` are true.

    Everything else (``''``, ``'0'``, ``0``, ``None``, ``'off'``, ``'no'``, ``'false'``) is false.
    """
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value != 0
    if isinstance(value, bytes | bytearray):
        value = value.decode("ascii", "replace")
    return str(value).strip().lower() in _TRUE_WORDS


def date_is_unset(column: Any) -> ColumnElement[bool]:
    """SQL condition: the date column holds no date (NULL, zero date or the 1970 form).

    Comparing with ``None`` alone misses the zero dates WHMCS stores in ``NOT NULL`` columns.
    """
    is_datetime = isinstance(column.type, PanelDateTime)
    zero = ZERO_DATETIME if is_datetime else ZERO_DATE
    epoch: Any = datetime(1970, 1, 1) if is_datetime else UNSET_EPOCH
    conditions = [column.is_(None), column == zero]
    if is_datetime:
        conditions.append(and_(column >= epoch, column < datetime(1970, 1, 2)))
    else:
        conditions.append(column == epoch)
    return or_(*conditions)


class _DateText(String):
    """Text storage that still says DATE in SQLite DDL, so copies look like the panel."""

    __visit_name__ = "DATE"


class _DateTimeText(String):
    """Text storage that still says DATETIME in SQLite DDL."""

    __visit_name__ = "DATETIME"


class PanelDate(TypeDecorator[date]):
    """A ``DATE`` column: zero and 1970 dates read as ``None``.

    On SQLite the value is stored as ``'YYYY-MM-DD'`` text, so SQLAlchemy's own SQLite date
    parser never meets a zero date. ``None`` binds as SQL NULL: on a ``NOT NULL`` column the
    caller decides what to write (``'0000-00-00'`` text is accepted as is).
    """

    impl = Date
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Store text on SQLite, a native DATE elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_DateText())
        return dialect.type_descriptor(Date())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Bind a date as ISO text on SQLite and as a date elsewhere; raw panel text passes."""
        if value is None:
            return None
        if isinstance(value, str):
            if not _DATE_TEXT.match(value):
                raise ValueError(f"not a panel date: {value!r}")
            return value
        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, date):
            raise TypeError(f"not a date: {value!r}")
        return value.isoformat() if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> date | None:
        """Read the stored value as a date or ``None``."""
        return parse_panel_date(value)


class PanelDateTime(TypeDecorator[datetime]):
    """A ``DATETIME``/``TIMESTAMP`` column holding naive datetimes in the panel's local time.

    Zero and 1970 values read as ``None``. On SQLite the value is stored as
    ``'YYYY-MM-DD HH:MM:SS'`` text. Binding a timezone-aware datetime is refused: convert it to
    the panel's time zone first, because the panel compares these columns with its own clock.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Store text on SQLite, a native DATETIME elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_DateTimeText())
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Bind a naive datetime (as text on SQLite); raw panel text passes."""
        if value is None:
            return None
        if isinstance(value, str):
            if not (_DATETIME_TEXT.match(value) or _DATE_TEXT.match(value)):
                raise ValueError(f"not a panel datetime: {value!r}")
            return value
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if not isinstance(value, datetime):
            raise TypeError(f"not a datetime: {value!r}")
        if value.tzinfo is not None:
            raise ValueError("panel datetimes are naive panel-local time; convert before binding")
        if dialect.name == "sqlite":
            return value.isoformat(sep=" ", timespec="seconds")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Read the stored value as a naive datetime or ``None``."""
        return parse_panel_datetime(value)


class PanelDecimal(TypeDecorator[Decimal]):
    """A ``decimal(precision, scale)`` column read as a :class:`Decimal` with ``scale`` places.

    SQLite has no decimal type: there the column keeps numeric affinity (so SQL comparisons and
    sums stay numeric) and the value read back is converted through its shortest ``str``, which
    is exact up to 15 significant digits (``decimal(16,2)`` amounts below 10**13).
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 16, scale: int = 2) -> None:
        """Declare ``decimal(precision, scale)``."""
        super().__init__(precision=precision, scale=scale)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Ask SQLite for plain numbers, so SQLAlchemy never converts through float for us."""
        if dialect.supports_native_decimal:
            return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=False))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Bind a Decimal (text on SQLite, where the column's affinity stores it as a number)."""
        if value is None:
            return None
        amount = parse_money(value, self.scale)
        return amount if dialect.supports_native_decimal else str(amount)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Read the stored number as a quantized Decimal; SQL NULL stays ``None``."""
        if value is None:
            return None
        return parse_money(value, self.scale)

    @property
    def python_type(self) -> type[Decimal]:
        """Values are Decimals."""
        return Decimal


class Money(PanelDecimal):
    """A money column, ``decimal(16,2)`` in WHMCS 8 (``decimal(10,2)`` in 7.x)."""

    cache_ok = True


class PanelBool(TypeDecorator[bool]):
    """A flag column read permissively (see :func:`parse_panel_bool`).

    ``True``/``False`` bind as ``1``/``0``, or as ``'on'``/``''`` with ``text_style=True`` (the
    ``text`` flags of older WHMCS settings). ``None`` binds as SQL NULL.
    """

    impl = SmallInteger
    cache_ok = True

    def __init__(self, text_style: bool = False) -> None:
        """Declare a tinyint flag, or a text flag when ``text_style`` is true."""
        super().__init__()
        self.text_style = text_style

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Text flags are ``text`` columns; the others are small integers."""
        return dialect.type_descriptor(Text() if self.text_style else SmallInteger())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Bind the flag in the column's own style."""
        if value is None:
            return None
        flag = parse_panel_bool(value)
        if self.text_style:
            return "on" if flag else ""
        return 1 if flag else 0

    def process_result_value(self, value: Any, dialect: Dialect) -> bool:
        """Read any stored form as a bool; NULL is false."""
        return parse_panel_bool(value)

    @property
    def python_type(self) -> type[bool]:
        """Values are bools."""
        return bool


class PanelEnum(TypeDecorator[str]):
    """A MySQL ``enum(...)`` column kept as plain text.

    SQLAlchemy's ``Enum`` refuses to read a value outside its list, and a non-strict WHMCS
    session stores ``''`` for an invalid enum value, so the allowed values are kept for reference
    (:attr:`values`) and never enforced on read.
    """

    impl = String
    cache_ok = True

    def __init__(self, *values: str) -> None:
        """Declare the enum's allowed values, in the schema's order."""
        super().__init__(max(len(v) for v in values))
        self.values = tuple(values)
