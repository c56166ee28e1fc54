"""Money as WHMCS writes it: ``tblcurrencies`` prefix, number format and suffix.

WHMCS formats amounts with PHP's ``number_format`` and glues the currency's prefix and suffix
around the result, so a negative amount reads ``$-8.67 USD`` (the sign sits after the prefix).
API fields such as ``UpgradeProduct.price`` arrive in that form; :func:`parse_money` turns them
back into :class:`~decimal.Decimal` (reference ``whmcs.md`` §1.10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from whmcs_bridge.errors import BridgeError

__all__ = ["FORMATS", "Currency", "MoneyFormatError", "format_money", "parse_money"]

# format -> (decimals, decimal separator, thousands separator)
FORMATS: dict[int, tuple[int, str, str]] = {
    1: (2, ".", ""),
    2: (2, ".", ","),
    3: (2, ",", "."),
    4: (0, "", ","),
}


class MoneyFormatError(BridgeError, ValueError):
    """A currency format WHMCS does not have, or a text that is not an amount in it."""


# Reference 1.10: currencies WHMCS handles without decimals in some calculations.
ZERO_DECIMAL_CODES = frozenset(
    {"BYR", "BIF", "CLP", "KMF", "DJF", "HUF", "ISK", "JPY", "MGA", "PYG", "RWF", "KRW", "VUV"}
)


@dataclass(frozen=True)
class Currency:
    """A ``tblcurrencies`` row: ``format`` 1 = 1234.56, 2 = 1,234.56, 3 = 1.234,56, 4 = 1,234."""

    id: int
    code: str
    prefix: str = ""
    suffix: str = ""
    format: int = 1

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise MoneyFormatError(
                f"currency {self.code}: format must be 1, 2, 3 or 4, not {self.format!r}"
            )

    @property
    def decimals(self) -> int:
        """Decimals of an amount: 0 for format 4 and for zero-decimal ISO codes, else 2."""
        if self.format == 4 or self.code.strip().upper() in ZERO_DECIMAL_CODES:
            return 0
        return 2

    @property
    def is_zero_decimal(self) -> bool:
        """True when amounts in this currency are whole numbers."""
        return self.decimals == 0

    def format_amount(self, amount: Decimal) -> str:
        """Write ``amount`` in this currency, as WHMCS shows it."""
        return format_money(amount, self.prefix, self.suffix, self.format)

    def parse_amount(self, text: str) -> Decimal:
        """Read an amount WHMCS wrote in this currency."""
        return parse_money(text, self.prefix, self.suffix, self.format)


def round_money(amount: Decimal, currency: Currency) -> Decimal:
    """Round half-up (0.005 -> 0.01, never banker's rounding) to the currency's decimals."""
    return amount.quantize(Decimal(1).scaleb(-currency.decimals), rounding=ROUND_HALF_UP)


def _spec(fmt: int) -> tuple[int, str, str]:
    try:
        return FORMATS[int(fmt)]
    except (KeyError, TypeError, ValueError):
        raise MoneyFormatError(f"currency format must be 1, 2, 3 or 4, not {fmt!r}") from None


def format_money(amount: Decimal | int | str, prefix: str, suffix: str, fmt: int) -> str:
    """Format ``amount`` exactly as WHMCS: ``prefix`` + number + ``suffix``.

    The number is rounded half away from zero (PHP ``number_format``) to 2 decimals, or to none
    for format 4; a negative amount keeps its ``-`` inside the prefix: ``$-8.67 USD``.
    """
    decimals, point, thousands = _spec(fmt)
    value = Decimal(amount).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if value == 0:
        value = abs(value)  # PHP never prints -0.00
    whole, _, fraction = f"{abs(value):.{decimals}f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    number = thousands.join(groups) + (point + fraction if decimals else "")
    sign = "-" if value < 0 else ""
    return f"{prefix}{sign}{number}{suffix}"


def _strip_affix(text: str, affix: str, *, front: bool) -> str:
    affix = affix.strip()
    if not affix:
        return text
    if front and text.startswith(affix):
        return text[len(affix) :].strip()
    if not front and text.endswith(affix):
        return text[: -len(affix)].strip()
    return text


def parse_money(text: str, prefix: str, suffix: str, fmt: int) -> Decimal:
    """Read an amount written by :func:`format_money` (or WHMCS) back into a ``Decimal``.

    Tolerant of the sign's position (``-$8.67``, ``$-8.67``, ``$8.67-``), of surrounding
    whitespace and of a missing prefix or suffix; strict about the number itself.

    :raises MoneyFormatError: the text is not an amount in that format.
    """
    decimals, point, thousands = _spec(fmt)
    rest = str(text).strip()
    negative = False
    for _ in range(2):
        if rest.startswith("-"):
            negative, rest = True, rest[1:].strip()
        rest = _strip_affix(rest, prefix, front=True)
    for _ in range(2):
        if rest.endswith("-"):
            negative, rest = True, rest[:-1].strip()
        rest = _strip_affix(rest, suffix, front=False)
    if rest.startswith("-"):
        negative, rest = True, rest[1:].strip()
    sep = re.escape(thousands) if thousands else ""
    grouped = rf"\d{{1,3}}(?:{sep}\d{{3}})+" if thousands else r"(?!)"
    fraction = rf"(?:{re.escape(point)}\d+)?" if decimals else ""
    if not re.fullmatch(rf"(?:\d+|{grouped}){fraction}", rest):
        raise MoneyFormatError(f"{text!r} is not an amount in currency format {fmt}")
    number = rest.replace(thousands, "") if thousands else rest
    if point and point != ".":
        number = number.replace(point, ".")
    try:
        value = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern above rules it out
        raise MoneyFormatError(f"{text!r} is not an amount") from None
    return -value if negative and value else value
