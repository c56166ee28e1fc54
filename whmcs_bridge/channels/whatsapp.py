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

_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u0085\u2028\u2029]+")
_LONG_SPACE_RUN = re.compile(r" {5,}")


def sanitize_param(value: str) -> str:
    """A template parameter Meta accepts: no newline or tab, no run of more than 4 spaces (132018).

    Line breaks and tabs become one space; longer space runs collapse to one; ends are trimmed.
    """
    value = _LINE_BREAKS.sub(" ", value)
    return _LONG_SPACE_RUN.sub(" ", value).strip()


def build_template_body(msg: OutgoingMessage) -> dict[str, Any]:
    """The exact JSON body of ``POST /{version}/{phone_number_id}/messages`` for ``msg``."""
    if not msg.template:
        raise SendError("permanent", f"no WhatsApp template for event {msg.event!r}")
    components: list[dict[str, Any]] = []
    if msg.params:
        parameters = [{"type": "text", "text": sanitize_param(p)} for p in msg.params]
        components.append({"type": "body", "parameters": parameters})
    if msg.button_url_suffix is not None:
        suffix = sanitize_param(msg.button_url_suffix)
        components.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": suffix}],
            }
        )
    template: dict[str, Any] = {
        "name": msg.template,
        "language": {"code": msg.template_language or msg.language},
    }
    if components:
        template["components"] = components
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": msg.recipient,
        "type": "template",
        "template": template,
        "biz_opaque_callback_data": str(msg.outbox_id),
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
        error = classify_whatsapp_error(
            response.status_code, payload, _retry_after(response.headers.get("Retry-After"))
        )
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
            raise
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
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


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


def parse_status_webhook(body: Mapping[str, Any] | bytes | str) -> list[StatusUpdate]:
    """The status updates in a ``messages`` webhook; other fields and inbound messages are skipped.

    ``body`` is the parsed JSON or the raw bytes (``ValueError`` if they are not JSON). Meta
    repeats and reorders webhooks, so callers dedupe on ``(wamid, status)`` and apply updates
    monotonically.
    """
    data = json.loads(body) if isinstance(body, bytes | str) else body
    if not isinstance(data, Mapping) or data.get("object") != "whatsapp_business_account":
        return []
    updates = []
    for entry in _dicts(data.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, Mapping):
                continue
            updates.extend(_status(item) for item in _dicts(value.get("statuses")) if "id" in item)
    return updates


def _status(item: Mapping[str, Any]) -> StatusUpdate:
    errors = list(_dicts(item.get("errors")))
    first = errors[0] if errors else {}
    data = first.get("error_data")
    recipient = item.get("recipient_id")
    return StatusUpdate(
        outbox_id=_int_or_none(item.get("biz_opaque_callback_data")),
        wamid=str(item["id"]),
        status=str(item.get("status", "")),
        timestamp=_time_or_none(item.get("timestamp")),
        recipient_id=str(recipient) if recipient is not None else None,
        error_code=_int_or_none(first.get("code")),
        error_title=first.get("title") or first.get("message"),
        error_details=data.get("details") if isinstance(data, Mapping) else None,
    )


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _time_or_none(value: Any) -> datetime | None:
    seconds = _int_or_none(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None
