"""Phone numbers from the client's details to E.164, the form WhatsApp's ``to`` wants (R-AL-1).

WHMCS stores ``+CC.national`` when its international phone input is on, and older rows hold a
local number that only makes sense with ``tblclients.country`` (messaging.md §5). Argentine
mobiles are a special case: WhatsApp knows them as ``+54 9 <area> <number>`` without the local
``15``, while panels often hold ``+54.<area><number>`` without the ``9``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "no valid country code and no country to guess it",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_WHMCS_FORM = re.compile(r"^\s*\+(\d{1,3})\.(.*)$")


@dataclass(frozen=True)
class PhoneResult:
    """``e164`` when usable; otherwise ``problem`` says why, in words fit for an outcome note."""

    raw: str
    e164: str | None
    problem: str | None = None
    note: str | None = None  # a repair worth logging, e.g. the Argentine mobile 9 added


def normalise_phone(
    raw: str | None, country: str | None, argentina_nine: bool = True
) -> PhoneResult:
    """Turn a stored phone into E.164 with ``+``, or say why it cannot be used.

    :param raw: ``tblclients.phonenumber`` (or a contact's), in any of WHMCS's forms.
    :param country: the ISO-2 ``country`` of the same row, used when ``raw`` has no ``+CC``.
    :param argentina_nine: add the mobile ``9`` to an Argentine number stored without it.
    """
    text = (raw or "").strip()
    if not text:
        return PhoneResult(text, None, "no phone number in the client's details")
    region = (country or "").strip().upper() or None
    match = _WHMCS_FORM.match(text)
    try:
        if match:
            # The national part after "+CC." may keep a trunk 0 or the Argentine 15: read it as
            # a local number of the calling code's own region.
            calling_code = int(match.group(1))
            region = phonenumbers.region_code_for_country_code(calling_code)
            if region == "ZZ":
                return PhoneResult(text, None, f"unknown country calling code +{calling_code}")
            number = phonenumbers.parse(match.group(2), region)
        else:
            number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return PhoneResult(text, None, _REASONS.get(exc.error_type, str(exc)))
    note = None
    if number.country_code == 54:
        number = _without_fifteen(number)
    if argentina_nine and number.country_code == 54:
        number, note = _argentine_mobile(number)
    if not phonenumbers.is_valid_number(number):
        return PhoneResult(text, None, "not a valid number for its country")
    kind = phonenumbers.number_type(number)
    if kind in _NOT_WHATSAPP:
        # Clearly not a mobile: WhatsApp would answer 131026; the fallback goes at once.
        return PhoneResult(text, None, _NOT_WHATSAPP[kind])
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return PhoneResult(text, e164, None, note)


#: Number types WhatsApp cannot reach, with the reason given for them.
_NOT_WHATSAPP = {
    PhoneNumberType.FIXED_LINE: "a landline, not a mobile: it cannot get WhatsApp",
    PhoneNumberType.TOLL_FREE: "a toll-free number, not a mobile: it cannot get WhatsApp",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number, not a mobile: it cannot get WhatsApp",
    PhoneNumberType.SHARED_COST: "a shared-cost number, not a mobile: it cannot get WhatsApp",
    PhoneNumberType.PAGER: "a pager number, not a mobile: it cannot get WhatsApp",
}


def _without_fifteen(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    """An Argentine mobile written with both the international 9 and the local 15
    (``+54 9 261 15 544-3322``) without the 15, when that makes a valid mobile."""
    national = str(number.national_number)
    if phonenumbers.is_valid_number(number) or not national.startswith("9"):
        return number
    for area in (2, 3, 4):  # area codes are 2 to 4 digits (11, 261, 2944)
        if national[1 + area : 3 + area] != "15":
            continue
        candidate = phonenumbers.parse(f"+54{national[: 1 + area]}{national[3 + area :]}", None)
        if phonenumbers.number_type(candidate) == PhoneNumberType.MOBILE:
            return candidate
    return number


def _argentine_mobile(
    number: phonenumbers.PhoneNumber,
) -> tuple[phonenumbers.PhoneNumber, str | None]:
    """Add the ``9`` when the number is valid as a mobile with it; keep it as is otherwise."""
    national = str(number.national_number)
    if national.startswith("9") or phonenumbers.number_type(number) == PhoneNumberType.MOBILE:
        return number, None
    candidate = phonenumbers.parse(f"+549{national}", None)
    if phonenumbers.number_type(candidate) == PhoneNumberType.MOBILE:
        return candidate, "Argentine number stored without the mobile 9; added it for WhatsApp"
    return number, None
