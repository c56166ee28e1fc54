"""What a client reads about an upgrade: the one-line explanation of a price, in the client's
language (``es_AR`` or ``en``), dates as dd/mm/yyyy, no rule ids.

The figures add up: the parts of an explanation are shown unrounded (to four decimals when the
currency's own decimals would hide a fraction) and the total is rounded once, at the end, the way
the quote rounds it (reference 4.2 step 5).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from whmcs_bridge.plugin import Currency, round_money

from .cycles import BillingCycle

if TYPE_CHECKING:
    from .pricing import UpgradeQuote

ENGLISH = "en"
SPANISH = "es_AR"

CYCLE_NAMES = {
    SPANISH: {
        BillingCycle.FREE: "gratuito",
        BillingCycle.ONETIME: "de pago único",
        BillingCycle.MONTHLY: "mensual",
        BillingCycle.QUARTERLY: "trimestral",
        BillingCycle.SEMIANNUALLY: "semestral",
        BillingCycle.ANNUALLY: "anual",
        BillingCycle.BIENNIALLY: "bienal",
        BillingCycle.TRIENNIALLY: "trienal",
    },
    ENGLISH: {
        BillingCycle.FREE: "free",
        BillingCycle.ONETIME: "one-time",
        BillingCycle.MONTHLY: "monthly",
        BillingCycle.QUARTERLY: "quarterly",
        BillingCycle.SEMIANNUALLY: "semi-annual",
        BillingCycle.ANNUALLY: "annual",
        BillingCycle.BIENNIALLY: "two-year",
        BillingCycle.TRIENNIALLY: "three-year",
    },
}

FOUR = Decimal("0.0001")


def language_of(name: str | None) -> str:
    """``es_AR`` or ``en`` for a WHMCS language name or one of ours (anything else: Spanish)."""
    text = (name or "").strip().lower()
    return ENGLISH if text in ("en", "english") or text.startswith("en_") else SPANISH


def cycle_name(cycle: BillingCycle, language: str) -> str:
    """The cycle as an adjective (``anual``, ``annual``)."""
    return CYCLE_NAMES[language_of(language)][cycle]


def day(value: dt.date | None) -> str:
    """dd/mm/yyyy, the panel's DateFormat and how clients read dates."""
    return value.strftime("%d/%m/%Y") if value else ""


def money(amount: Decimal, currency: Currency) -> str:
    """The amount as WHMCS writes it, rounded to the currency."""
    return currency.format_amount(round_money(amount, currency))


def precise(amount: Decimal, currency: Currency, places: int = 4) -> str:
    """The amount as WHMCS writes it, with ``places`` decimals when rounding would hide a
    fraction (trailing zeros beyond the currency's decimals dropped).

    A part of a sum shown rounded could make the shown figures miss the total by a cent; shown
    with more decimals, the parts add up and the total is the one rounding.
    """
    value = _shown(amount, currency, places)
    if value == round_money(value, currency):
        return money(value, currency)
    cents = abs(value).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    text = currency.format_amount(cents)
    cut = len(text) - len(currency.suffix)
    extra = f"{abs(value):f}".partition(".")[2][2:].rstrip("0")
    text = text[:cut] + extra + text[cut:]
    if value < 0:  # WHMCS writes the sign after the prefix: $-8.67 USD
        text = currency.prefix + "-" + text[len(currency.prefix) :]
    return text


def _shown(amount: Decimal, currency: Currency, places: int) -> Decimal:
    """The amount as :func:`precise` shows it: the currency's decimals, or ``places``."""
    if currency.is_zero_decimal or round_money(amount, currency) == amount:
        return round_money(amount, currency)
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _places(a: Decimal, b: Decimal, net: Decimal, currency: Currency) -> int:
    """The fewest decimals (from four) at which ``a - b``, shown, rounds to ``net``."""
    for places in (4, 6, 8, 12, 16, 20):
        shown = _shown(a, currency, places) - _shown(b, currency, places)
        if round_money(shown, currency) == net:
            return places
    return 28


def _sum(a: Decimal, b: Decimal, net: Decimal, currency: Currency, language: str) -> str:
    """``a - b = c`` with the parts as shown adding up to ``c``, and ``, rounded to net`` when
    ``c`` has more decimals than the currency."""
    places = _places(a, b, net, currency)
    exact = _shown(a, currency, places) - _shown(b, currency, places)
    shown, rounded = precise(exact, currency, places), money(net, currency)
    total = rounded
    if shown != rounded:
        total = f"{shown}, " + ("redondeado a " if language == SPANISH else "rounded to ") + rounded
    return f"{precise(a, currency, places)} - {precise(b, currency, places)} = {total}"


def _product(
    amount: Decimal, days: int, total: int, exact: Decimal, net: Decimal, c: Currency, lang: str
) -> str:
    """``amount x days/total = exact`` (rounded once to ``net`` when it has more decimals)."""
    places = 4
    while places < 28 and round_money(_shown(exact, c, places), c) != net:
        places += 2
    shown, rounded = precise(exact, c, places), money(net, c)
    text = f"{money(amount, c)} x {days}/{total} = {shown}"
    if shown != rounded:
        text += (", redondeado a " if lang == SPANISH else ", rounded to ") + rounded
    return text


def explain(quote: UpgradeQuote, language: str = ENGLISH) -> str:
    """One line a client can read: how the price was reached and what happens to the dates."""
    lang = language_of(language)
    w = quote.working
    if w is None:
        return ""
    c = quote.currency
    new = cycle_name(quote.new_cycle, lang)
    old = cycle_name(w.current_cycle, lang)
    net = quote.net_amount

    def m(amount: Decimal) -> str:
        return money(amount, c)

    es = lang == SPANISH
    if w.kind == "same_cycle":
        figures = _sum(w.new_price, w.current_price, net, c, lang)
        text = (
            f"El plan nuevo cuesta {m(w.new_price)} por ciclo {new}; se descuentan los "
            f"{m(w.current_price)} ya pagados por el ciclo actual, sea cual sea el día: {figures}."
            if es
            else f"The new plan costs {m(w.new_price)} per {new} cycle; the {m(w.current_price)} "
            f"already paid for the current cycle is deducted, whatever the day: {figures}."
        )
    elif w.kind in ("restart", "restart_paid", "onetime_source"):
        figures = _sum(w.new_price, w.unused, net, c, lang)
        if w.kind == "restart":
            what = (
                f"la parte no usada del ciclo {old} actual ({quote.days_remaining} de "
                f"{quote.total_days} días)"
                if es
                else f"the unused part of the current {old} cycle ({quote.days_remaining} of "
                f"{quote.total_days} days)"
            )
        elif w.kind == "restart_paid":
            what = (
                f"lo pagado por el ciclo {old} actual"
                if es
                else f"what was paid for the current {old} cycle"
            )
        else:
            what = (
                f"lo pagado por el servicio {old}" if es else f"what was paid for the {old} service"
            )
        text = (
            f"El plan nuevo cuesta {m(w.new_price)} por ciclo {new}; se descuenta {what}: "
            f"{figures}."
            if es
            else f"The new plan costs {m(w.new_price)} per {new} cycle; {what} is deducted: "
            f"{figures}."
        )
    elif w.kind == "prorata_same" and not c.is_zero_decimal:
        gap = w.new_price - w.current_price
        exact = gap * quote.days_remaining / quote.total_days
        figures = _product(gap, quote.days_remaining, quote.total_days, exact, net, c, lang)
        text = (
            f"La diferencia de precio ({m(w.new_price)} - {m(w.current_price)}) por los "
            f"{quote.days_remaining} de {quote.total_days} días que quedan del ciclo: {figures}."
            if es
            else f"The price difference ({m(w.new_price)} - {m(w.current_price)}) for the "
            f"{quote.days_remaining} of {quote.total_days} days left in the cycle: {figures}."
        )
    else:  # prorata_change, or prorata in a currency without decimals
        places = _places(w.debit, w.unused, net, c)
        debit = (
            f"{m(w.base)} x {quote.days_remaining}/{w.new_total} = {precise(w.debit, c, places)}"
        )
        unused = (
            f"{m(w.current_price)} x {quote.days_remaining}/{quote.total_days} = "
            f"{precise(w.unused, c, places)}"
        )
        figures = _sum(w.debit, w.unused, net, c, lang)
        text = (
            f"El plan nuevo por los {quote.days_remaining} días que quedan ({debit}) menos la "
            f"parte no usada del plan actual ({unused}): {figures}."
            if es
            else f"The new plan for the {quote.days_remaining} days left ({debit}) minus the "
            f"unused part of the current plan ({unused}): {figures}."
        )
    return " ".join([text, *_dates(quote, w.kept_due_date, lang), *_outcome(quote, lang)])


def _dates(quote: UpgradeQuote, kept: dt.date | None, lang: str) -> list[str]:
    es = lang == SPANISH
    if not quote.cycle_restarted:
        return [
            f"El vencimiento sigue siendo el {day(kept)}."
            if es
            else f"The next due date stays {day(kept)}."
        ]
    if quote.next_due_date is None:
        return ["El plan nuevo no se renueva." if es else "The new plan does not renew."]
    new = cycle_name(quote.new_cycle, lang)
    return [
        f"El ciclo {new} empieza hoy y vence el {day(quote.next_due_date)}."
        if es
        else f"The {new} cycle starts today; next due date {day(quote.next_due_date)}."
    ]


def _outcome(quote: UpgradeQuote, lang: str) -> list[str]:
    es = lang == SPANISH
    c = quote.currency
    if quote.is_downgrade and quote.credit > 0:
        return [
            f"Es un cambio a un plan menor: no se cobra nada y se acreditan "
            f"{money(quote.credit, c)} a favor en la cuenta."
            if es
            else f"This is a downgrade: nothing is charged and {money(quote.credit, c)} is added "
            "to the account credit."
        ]
    if quote.is_downgrade:
        return [
            "Es un cambio a un plan menor: no se cobra nada y no se reintegra nada."
            if es
            else "This is a downgrade: nothing is charged and nothing is refunded."
        ]
    if quote.credit > 0:
        return [
            f"La parte no usada, {money(quote.credit, c)}, queda como crédito a favor en la "
            f"cuenta, así que se pagan {money(quote.amount_due, c)}."
            if es
            else f"The unused {money(quote.credit, c)} is given as account credit instead, so "
            f"{money(quote.amount_due, c)} is due."
        ]
    return []
