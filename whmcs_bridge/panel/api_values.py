"""Reading WHMCS's loose JSON values (reference ``whmcs.md`` §3.1) as Python values.

Ids and amounts arrive as strings, lists come wrapped (``{"clients": {"client": [...]}}``) or as
``""`` when empty, unset dates as zero dates. These helpers turn them into ``int``, ``Decimal``,
``date``/``datetime``/``None``, ``bool`` and plain lists; the records of ``api_types`` and the
actions of ``api_actions`` use them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "ZERO_DATES",
    "to_bool",
    "to_date",
    "to_datetime",
    "to_decimal",
    "to_int",
    "unwrap_list",
]

ZERO_DATES = {"", "0000-00-00", "0000-00-00 00:00:00", "00/00/0000"}


def unwrap_list(value: Any, key: str | None = None) -> list[Any]:
    """A WHMCS list as a plain list: ``{"client": [...]}``, a single dict, ``""`` or None."""
    if value is None or value == "":
        return []
    if isinstance(value, Mapping) and key is not None and key in value:
        value = value[key]
        if value is None or value == "":
            return []
    if isinstance(value, Mapping):
        return [value] if key is not None else list(value.values())
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def to_int(value: Any, default: int | None = 0) -> int | None:
    """An id or count that may come as a string; ``default`` for empty values."""
    if value is None or value == "":
        return default
    try:
        return int(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return default


def to_decimal(value: Any, default: Decimal | None = Decimal("0.00")) -> Decimal | None:
    """A plain amount (``"12.95"``, ``12.95``) as ``Decimal``; formatted money needs parse_money."""
    if value is None or value == "":
        return default
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return default


def to_date(value: Any) -> dt.date | None:
    """A ``Y-m-d`` (or datetime) value; zero dates and empty values become None."""
    text = str(value or "").strip()
    if text in ZERO_DATES or text.startswith("0000-00-00"):
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def to_datetime(value: Any) -> dt.datetime | None:
    """A ``Y-m-d H:i:s`` value; zero dates and empty values become None."""
    text = str(value or "").strip()
    if text in ZERO_DATES or text.startswith("0000-00-00"):
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        day = to_date(text)
        return dt.datetime.combine(day, dt.time()) if day else None


def to_bool(value: Any) -> bool:
    """WHMCS flags: ``1``/``"1"``/``"on"``/``"true"``/``True`` are true, the rest false."""
    return str(value).strip().lower() in {"1", "on", "true", "yes", "y"}
