"""WhatsApp Cloud API channel: template sends, health check, and status webhooks.

Business-initiated alerts must be approved templates (messaging.md §1.4), so this channel sends
``template`` with positional body parameters and an optional dynamic URL button. The outbox id
travels in ``biz_opaque_callback_data`` and comes back in every status webhook, which is how a
send whose answer was lost (kind ``unknown``) is later settled.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from .base import (
    OutgoingMessage,
    Secret,
    SendError,
    SendErrorKind,
    SendResult,
    classify_transport_error,
    classify_whatsapp_error,
    guard_logs,
    whatsapp_kind,
)

log = logging.getLogger(__name__)

#: Meta: the template does not exist in that language (or is not approved in it).
TEMPLATE_NOT_IN_LANGUAGE = 132001

# Plain ASCII: compare_digest raises TypeError on a non-ASCII str (a 500 for anybody's header).
_HUB_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}", re.ASCII)
_WHOLE = re.compile(r"-?[0-9]{1,19}", re.ASCII)
_WA_ID = re.compile(r"[0-9]{1,15}", re.ASCII)  # E.164: at most 15 digits
_MAX_ID = 2**63 - 1
_MAX_CODE = 2**31 - 1  # the outbox's error_code column
_MAX_TIMESTAMP = 2**32  # year 2106: later is no time Meta sends


class MalformedWebhook(ValueError):
    """A signed webhook holding what Meta never sends (a number where text belongs, ...)."""


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
    if not text.startswith(CALLBACK_PREFIX) or not _WA_ID.fullmatch(digits):
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


class WhatsAppChannel:
    """Sends template messages through the Cloud API of one business phone number."""

    name = "whatsapp"

    def __init__(
        self,
        api_base: str,
        version: str,
        phone_number_id: str,
        token: str | Secret,
        timeout: float = 10,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.version = version
        self.phone_number_id = str(phone_number_id)
        self._token = token if isinstance(token, Secret) else Secret(token)
        self.timeout = timeout
        self._session = requests.Session()
        guard_logs(self._token)

    def __repr__(self) -> str:
        return (
            f"WhatsAppChannel(api_base={self.api_base!r}, version={self.version!r},"
            f" phone_number_id={self.phone_number_id!r})"
        )

    @property
    def _node_url(self) -> str:
        return f"{self.api_base}/{self.version}/{self.phone_number_id}"

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        """One Graph call; returns the parsed JSON of a 2xx answer or raises :class:`SendError`."""
        headers = {"Authorization": f"Bearer {self._token.reveal()}"}
        try:
            response = self._session.request(
                method, url, json=body, headers=headers, timeout=self.timeout
            )
            payload = _json_or_none(response)
        except requests.RequestException as exc:
            raise self._scrub(classify_transport_error(exc, self.api_base)) from None
        if response.ok:
            return payload
        wait = _usage_wait(response.headers.get("X-Business-Use-Case-Usage"))
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if wait is not None:
            retry_after = max(wait, retry_after or 0.0)
        error = classify_whatsapp_error(response.status_code, payload, retry_after)
        raise self._scrub(error)

    def _scrub(self, error: SendError) -> SendError:
        return error.scrubbed([self._token.reveal()])

    def send(self, msg: OutgoingMessage) -> SendResult:
        """Send ``msg`` as a template; the result carries the ``wamid`` and the ``wa_id``."""
        body = build_template_body(msg)
        try:
            payload = self._call("POST", f"{self._node_url}/messages", body)
        except SendError as exc:
            log.debug("whatsapp outbox=%s refused: %s", msg.outbox_id, exc)
            fallback = msg.template_fallback_language
            asked = body.get("template", {}).get("language", {}).get("code")
            if exc.code != TEMPLATE_NOT_IN_LANGUAGE or not fallback or fallback == asked:
                raise
            # Not approved in the client's language: the event's default language is next
            # (refused, nothing was sent, so this cannot duplicate), then e-mail.
            log.info(
                "whatsapp outbox=%s: template %s not in %s, trying %s",
                msg.outbox_id,
                msg.template,
                asked,
                fallback,
            )
            body = build_template_body(msg, language=fallback)
            payload = self._call("POST", f"{self._node_url}/messages", body)
        try:
            message = payload["messages"][0]
            wamid = str(message["id"])
        except (TypeError, KeyError, IndexError):
            # A 2xx means Meta took it; without the wamid only a webhook can tell what happened.
            raise SendError("unknown", "accepted answer without a message id") from None
        contacts = payload.get("contacts") or [{}]
        wa_id = contacts[0].get("wa_id") if isinstance(contacts[0], Mapping) else None
        log.debug("whatsapp outbox=%s accepted wamid=%s", msg.outbox_id, wamid)
        return SendResult(wamid, str(wa_id) if wa_id else None, message.get("message_status"))

    def check(self) -> str | None:
        """Read the phone-number node: ``None`` when the token and the number work."""
        try:
            self._call("GET", self._node_url)
        except SendError as exc:
            if exc.kind == "channel_broken":
                return f"WhatsApp rejected the credentials or account: {exc}"
            return f"WhatsApp is not usable right now: {exc}"
        return None

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _usage_wait(value: str | None) -> float | None:
    """Seconds until access returns, from ``X-Business-Use-Case-Usage`` (messaging.md §0):
    JSON keyed by business id, each a list with ``estimated_time_to_regain_access`` in minutes."""
    if not value:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    minutes = [
        item.get("estimated_time_to_regain_access")
        for entries in (data.values() if isinstance(data, Mapping) else ())
        for item in (entries if isinstance(entries, list) else ())
        if isinstance(item, Mapping)
    ]
    found = [float(m) for m in minutes if isinstance(m, int | float) and m > 0]
    return max(found) * 60 if found else None


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


# --- Webhooks (messaging.md §1.8) -------------------------------------------------------------
def verify_webhook_signature(app_secret: str | Secret, raw_body: bytes, header: str | None) -> bool:
    """Whether ``X-Hub-Signature-256`` is the HMAC-SHA256 of the raw body under the App Secret.

    Compare the bytes exactly as received: re-serialised JSON would not match. A missing or
    malformed header, or an empty secret, is never valid.
    """
    secret = app_secret.reveal() if isinstance(app_secret, Secret) else app_secret
    given = (header or "").strip()
    if not secret or not _HUB_SIGNATURE.fullmatch(given):
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.removeprefix("sha256=").lower().encode())


@dataclass(frozen=True)
class StatusUpdate:
    """One entry of ``statuses[]``: what happened to a message the bridge sent."""

    outbox_id: int | None
    wamid: str
    status: str
    timestamp: datetime | None
    recipient_id: str | None
    error_code: int | None = None
    error_title: str | None = None
    error_details: str | None = None

    @property
    def error_kind(self) -> SendErrorKind | None:
        """How the failure of a ``failed`` status classifies (e.g. 131026 -> ``no_whatsapp``)."""
        if self.status != "failed":
            return None
        return whatsapp_kind(self.error_code) if self.error_code is not None else "unknown"


def _values(data: Any, phone_number_id: str | None) -> list[Mapping[str, Any]]:
    """The ``value`` of every ``messages`` change for our number (all numbers when None).

    Webhooks go to every app subscribed to the business account: a change for another phone
    number of the account is someone else's (messaging.md §0, ``metadata.phone_number_id``).
    """
    if not isinstance(data, Mapping) or data.get("object") != "whatsapp_business_account":
        return []
    found = []
    for entry in _dicts(data.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, Mapping):
                continue
            metadata = value.get("metadata")
            number = metadata.get("phone_number_id") if isinstance(metadata, Mapping) else None
            if phone_number_id is not None and str(number) != str(phone_number_id):
                log.info("whatsapp webhook: change for phone number %s is not ours", number)
                continue
            found.append(value)
    return found


def _load(body: Mapping[str, Any] | bytes | str) -> Any:
    return json.loads(body) if isinstance(body, bytes | str) else body


def parse_status_webhook(
    body: Mapping[str, Any] | bytes | str, phone_number_id: str | None = None
) -> list[StatusUpdate]:
    """The status updates in a ``messages`` webhook; other fields and inbound messages are skipped.

    ``body`` is the parsed JSON or the raw bytes (``ValueError`` if they are not JSON). With
    ``phone_number_id``, statuses of the account's other numbers are left out. Meta repeats and
    reorders webhooks, so callers dedupe on ``(wamid, status)`` and apply updates monotonically.
    """
    values = _values(_load(body), phone_number_id)
    return [_status(s) for value in values for s in _dicts(value.get("statuses")) if "id" in s]


@dataclass(frozen=True)
class InboundMessage:
    """A message a WhatsApp user wrote to our number: who (wa_id), what, when."""

    wa_id: str
    wamid: str
    text: str
    timestamp: datetime | None


def parse_inbound_messages(
    body: Mapping[str, Any] | bytes | str, phone_number_id: str | None = None
) -> list[InboundMessage]:
    """The inbound messages of a ``messages`` webhook (text, or a button's text), ours only."""
    found = []
    for value in _values(_load(body), phone_number_id):
        for item in _dicts(value.get("messages")):
            text = item.get("text")
            button = item.get("button")
            words = (
                text.get("body")
                if isinstance(text, Mapping)
                else button.get("text")
                if isinstance(button, Mapping)
                else None
            )
            if not item.get("from") or not isinstance(words, str):
                continue
            wa_id = _text(item["from"], "from") or ""
            if not _WA_ID.fullmatch(wa_id):
                raise MalformedWebhook(f"from is not a WhatsApp number: {wa_id[:40]!r}")
            found.append(
                InboundMessage(
                    wa_id=wa_id,
                    wamid=_text(item.get("id", ""), "id") or "",
                    text=words,
                    timestamp=_time_or_none(item.get("timestamp")),
                )
            )
    return found


def _status(item: Mapping[str, Any]) -> StatusUpdate:
    errors = list(_dicts(item.get("errors")))
    first = errors[0] if errors else {}
    data = first.get("error_data")
    return StatusUpdate(
        outbox_id=callback_outbox_id(item.get("biz_opaque_callback_data")),
        wamid=_text(item["id"], "id") or "",
        status=_text(item.get("status", ""), "status") or "",
        timestamp=_time_or_none(item.get("timestamp")),
        recipient_id=_text(item.get("recipient_id"), "recipient_id"),
        error_code=_int_or_none(first.get("code"), "code", _MAX_CODE),
        error_title=_text(first.get("title") or first.get("message"), "title"),
        error_details=_text(data.get("details"), "details") if isinstance(data, Mapping) else None,
    )


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _text(value: Any, name: str) -> str | None:
    """A text field (Meta may send an id as a number); anything else is a malformed webhook."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= _MAX_ID:
        return str(value)
    raise MalformedWebhook(f"{name} is not text: {type(value).__name__}")


def _int_or_none(value: Any, name: str, limit: int = _MAX_ID) -> int | None:
    """A whole number (or digits in a string) within ``limit``; never inf, NaN, 1e400 or a list."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        number = int(value)
    else:
        raise MalformedWebhook(f"{name} is not a whole number: {str(value)[:40]!r}")
    if abs(number) > limit:
        raise MalformedWebhook(f"{name} is out of range: {str(number)[:40]}")
    return number


def _time_or_none(value: Any) -> datetime | None:
    seconds = _int_or_none(value, "timestamp", _MAX_TIMESTAMP)
    if seconds is None:
        return None
    if seconds < 0:
        raise MalformedWebhook(f"timestamp is before 1970: {seconds}")
    return datetime.fromtimestamp(seconds, UTC)
