"""What Meta's Cloud API answers: its error bodies and its checks of a template message.

The codes, messages and details are worded as Meta's error-codes table words them
(messaging.md §0, §1.3-1.6); :func:`check_template` applies Meta's checks in Meta's order.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from typing import Any

from .loopback import Json

ERRORS_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

# code -> (HTTP status, message, error_data.details), as Meta's error-codes table words them.
META_ERRORS: dict[int, tuple[int, str, str]] = {
    100: (400, "(#100) Invalid parameter", "Invalid parameter"),
    131000: (500, "(#131000) Something went wrong",
             "Message failed to send due to an unknown error."),
    131008: (400, "(#131008) Required parameter is missing", "Required parameter is missing"),
    131009: (400, "(#131009) Parameter value is not valid", "Parameter value is not valid"),
    131016: (503, "(#131016) Service unavailable", "A service is temporarily unavailable."),
    131026: (400, "(#131026) Message undeliverable", "Unable to deliver message. The recipient"
             " phone number may not be a WhatsApp number, or has not accepted the current terms."),
    131047: (400, "(#131047) Re-engagement message", "Message failed to send because more than 24"
             " hours have passed since the customer last replied to this number."),
    131048: (400, "(#131048) Spam rate limit hit", "Message failed to send because there are"
             " restrictions on how many messages can be sent from this phone number."),
    131056: (400, "(#131056) (Business Account, Consumer Account) pair rate limit hit",
             "Message failed to send because there were too many messages sent from this phone"
             " number to the same phone number in a short period of time."),
    130429: (400, "(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
    132000: (400, "(#132000) Number of parameters does not match the expected number of params",
             "Number of parameters does not match the expected number of params"),
    132001: (404, "(#132001) Template name does not exist in the translation",
             "Template name does not exist in the translation"),
    132012: (400, "(#132012) Parameter format does not match format in the created template",
             "Parameter format does not match format in the created template"),
    132018: (400, "(#132018) There was an issue with the parameters in your template.",
             "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"),
    132005: (400, "(#132005) Template Hydrated Text Too Long",
             "Translated text is too long."),
    131057: (500, "(#131057) Account in maintenance mode",
             "Business Account is in maintenance mode"),
    131037: (400, "(#131037) WhatsApp provided number needs display name approval before message"
             " can be sent.", "The display name of this phone number has not been approved."),
}  # fmt: skip
#: Codes Meta marks ``is_transient`` (messaging.md §0: errors carry it).
TRANSIENT_CODES = frozenset({1, 2, 131000, 131016, 131057, 133004})
#: Meta's limit on a template body with its parameters filled in (messaging.md §0, 132005).
BODY_LIMIT = 1024
_INVALID_TOKEN = "Invalid OAuth access token - Cannot parse access token"
_BAD_PARAM_TEXT = re.compile(r"[\n\t]| {5,}")


def fbtrace_id() -> str:
    """A random trace id shaped like Meta's."""
    return base64.b64encode(secrets.token_bytes(17)).decode()[:23].replace("/", "_")


def meta_error(
    code: int, details: str | None = None, http_status: int | None = None
) -> tuple[int, Json]:
    """The HTTP status and exact Graph error body Meta answers for ``code`` (v23: with
    ``is_transient`` and ``error_subcode``)."""
    if code == 190:
        body = {"message": _INVALID_TOKEN, "type": "OAuthException", "code": 190}
        return http_status or 401, {"error": {**body, "fbtrace_id": fbtrace_id()}}
    status, message, default = META_ERRORS.get(code, (400, f"(#{code}) Error", "Error"))
    error = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or default},
        "error_subcode": 2494010 if code == 131026 else 0,
        "is_transient": code in TRANSIENT_CODES,
        "fbtrace_id": fbtrace_id(),
    }
    return http_status or status, {"error": error}


def usage_header(waba_id: str, minutes: int) -> str:
    """``X-Business-Use-Case-Usage`` as Graph sends it when a business is throttled: JSON keyed
    by business id, ``estimated_time_to_regain_access`` in minutes (messaging.md §0)."""
    usage = {
        "type": "whatsapp_business_management",
        "call_count": 100,
        "total_cputime": 100,
        "total_time": 100,
        "estimated_time_to_regain_access": minutes,
    }
    return json.dumps({waba_id: [usage]})


def check_template(
    template: Any,
    registered: dict[tuple[str, str], int] | None,
    details: dict[tuple[str, str], tuple[int, int | None]] | None = None,
) -> tuple[int, str] | None:
    """Meta's checks of a ``template`` object: ``(code, details)`` of the first failure or None.

    Parameters must not be empty (100, messaging.md §0); a template with a dynamic URL button
    needs that button, at its approved index, with a non-empty suffix; the body with its
    parameters filled in is at most :data:`BODY_LIMIT` characters (132005)."""
    if not isinstance(template, dict) or not template.get("name"):
        return 131008, "The parameter template['name'] is required."
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not code:
        return 131008, "The parameter template['language']['code'] is required."
    body_params: list[Any] = []
    buttons: dict[str, str] = {}
    for component in template.get("components") or []:
        params = component.get("parameters") or [] if isinstance(component, dict) else None
        if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
            return 131009, "components must be objects with a list of parameters"
        if component.get("type") == "body":
            body_params = params
        elif component.get("type") == "button":
            if str(component.get("sub_type", "")).upper() not in ("URL", "QUICK_REPLY"):
                return 131009, "Button sub_type is not valid"
            index = str(component.get("index", ""))
            if not re.fullmatch(r"\d", index) or len(params) != 1:
                return 131009, f"Button at index {index or 0} of type Url requires a parameter"
            buttons[index] = str(params[0].get("text") or "")
        else:
            return 131009, f"component type {component.get('type')!r} is not valid"
    for param in body_params:
        if param.get("type") != "text" or not isinstance(param.get("text"), str):
            return 132012, "Parameter format does not match format in the created template"
        if not param["text"].strip():
            return 100, "Parameter 'text' is mandatory"
    for index, suffix in buttons.items():
        if not suffix.strip():
            return 100, f"Button at index {index} of type Url: parameter 'text' is mandatory"
    if registered is not None:
        name = template["name"]
        if (name, code) not in registered:
            return 132001, f"template name ({name}) does not exist in {code}"
        want = registered[(name, code)]
        if len(body_params) != want:
            return 132000, (
                f"body: number of localizable_params ({len(body_params)}) does not match"
                f" the expected number of params ({want})"
            )
    if any(_BAD_PARAM_TEXT.search(p["text"]) for p in body_params):
        return 132018, META_ERRORS[132018][2]
    fixed, button_index = (details or {}).get((template["name"], code), (0, None))
    if button_index is not None:
        if str(button_index) not in buttons:
            return 131008, f"Button at index {button_index} of type Url requires a parameter"
        if set(buttons) - {str(button_index)}:
            wrong = sorted(set(buttons) - {str(button_index)})[0]
            return 131009, f"Button at index {wrong} of type Url does not exist in the template"
    if fixed + sum(len(p["text"]) for p in body_params) > BODY_LIMIT:
        return 132005, META_ERRORS[132005][2]
    return None
