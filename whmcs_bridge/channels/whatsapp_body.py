"""WhatsApp template bodies: Meta's parameter rules and limits, and our callback data.

Business-initiated alerts must be approved templates (messaging.md §1.4): a body carries
positional text parameters (sanitized and cut to fit Meta's limits) and an optional dynamic URL
button. The outbox id travels in ``biz_opaque_callback_data`` as ``wb:<id>``.
"""

from __future__ import annotations

import re
from typing import Any

from .base import OutgoingMessage, SendError

WA_ID = re.compile(r"[0-9]{1,15}", re.ASCII)  # E.164: at most 15 digits
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u0085\u2028\u2029]+")
_LONG_SPACE_RUN = re.compile(r" {5,}")


#: What an empty parameter becomes: Meta refuses empty text parameters (error 100).
EMPTY_PARAM = "-"
#: Meta's limit on the template body with its parameters filled in (132005, messaging.md §0).
BODY_LIMIT = 1024
#: Characters kept for the approved template's own text: the parameters together get the rest.
TEMPLATE_TEXT_RESERVE = 300
ELLIPSIS = "…"
#: Our namespace in ``biz_opaque_callback_data``: other apps on the same business account get
#: the same status webhooks, and their data must never be read as one of our outbox ids.
CALLBACK_PREFIX = "wb:"


def sanitize_param(value: str) -> str:
    """A template parameter Meta accepts: no newline or tab, no run of more than 4 spaces (132018).

    Line breaks and tabs become one space; longer space runs collapse to one; ends are trimmed.
    """
    value = _LINE_BREAKS.sub(" ", value)
    return _LONG_SPACE_RUN.sub(" ", value).strip()


def shorten(value: str, limit: int) -> str:
    """``value`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    if len(value) <= limit:
        return value
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = value[: limit - 1]
    space = cut.rfind(" ")
    if space >= (limit - 1) // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + ELLIPSIS


def fit_params(values: list[str], budget: int = BODY_LIMIT - TEMPLATE_TEXT_RESERVE) -> list[str]:
    """Body parameters ready for Meta: sanitized, never empty, together at most ``budget``.

    When they are too long together, the longest are cut first (each to an equal share of what
    the shorter ones leave), so a long product name never costs the client's first name.
    """
    clean = [sanitize_param(v) or EMPTY_PARAM for v in values]
    if sum(map(len, clean)) <= budget:
        return clean
    share, left = budget, len(clean)
    caps: dict[int, int] = {}
    for index in sorted(range(len(clean)), key=lambda i: len(clean[i])):
        cap = max(len(EMPTY_PARAM), share // left)
        caps[index] = min(len(clean[index]), cap)
        share -= caps[index]
        left -= 1
    return [shorten(v, caps[i]) for i, v in enumerate(clean)]


def callback_data(outbox_id: int) -> str:
    """``biz_opaque_callback_data`` for an outbox row: ``wb:<id>``."""
    return f"{CALLBACK_PREFIX}{outbox_id}"


def callback_outbox_id(value: Any) -> int | None:
    """Our outbox id in ``biz_opaque_callback_data``; ``None`` for anyone else's data."""
    text = str(value) if value is not None else ""
    digits = text.removeprefix(CALLBACK_PREFIX)
    if not text.startswith(CALLBACK_PREFIX) or not WA_ID.fullmatch(digits):
        return None  # 15 ASCII digits at most: a larger id is nobody's row
    return int(digits)


def build_template_body(msg: OutgoingMessage, language: str | None = None) -> dict[str, Any]:
    """The exact JSON body of ``POST /{version}/{phone_number_id}/messages`` for ``msg``
    (``language`` overrides the template's, for the 132001 fallback)."""
    if msg.free_form:
        return build_text_body(msg)
    if not msg.template:
        raise SendError("permanent", f"no WhatsApp template for event {msg.event!r}")
    components: list[dict[str, Any]] = []
    if msg.params:
        parameters = [{"type": "text", "text": p} for p in fit_params(msg.params)]
        components.append({"type": "body", "parameters": parameters})
    if msg.button_url_suffix is not None:
        # A dynamic URL button always needs a suffix: an empty one is refused (error 100).
        suffix = sanitize_param(msg.button_url_suffix) or EMPTY_PARAM
        components.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": str(msg.button_index or "0"),
                "parameters": [{"type": "text", "text": suffix}],
            }
        )
    template: dict[str, Any] = {
        "name": msg.template,
        "language": {"code": language or msg.template_language or msg.language},
    }
    if components:
        template["components"] = components
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": msg.recipient,
        "type": "template",
        "template": template,
        "biz_opaque_callback_data": callback_data(msg.outbox_id),
    }


def build_text_body(msg: OutgoingMessage) -> dict[str, Any]:
    """A free-form text message (only inside the recipient's customer-service window)."""
    text = msg.text.strip()
    if not text:
        raise SendError("permanent", f"empty text for event {msg.event!r}")
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": msg.recipient,
        "type": "text",
        "text": {"body": shorten(text, 4096), "preview_url": False},
        "biz_opaque_callback_data": callback_data(msg.outbox_id),
    }
