"""WhatsApp Cloud API channel: template sends, the language fallback, health check.

Business-initiated alerts must be approved templates (messaging.md §1.4), so this channel sends
``template`` with positional body parameters and an optional dynamic URL button (built in
:mod:`.whatsapp_body`). The outbox id travels in ``biz_opaque_callback_data`` and comes back in
every status webhook (parsed in :mod:`.whatsapp_webhook`), which is how a send whose answer was
lost (kind ``unknown``) is later settled.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from .base import (
    OutgoingMessage,
    Secret,
    SendError,
    SendResult,
    classify_transport_error,
    classify_whatsapp_error,
    guard_logs,
)
from .http_pool import HttpPool, InvalidAddress, Response, TransportError
from .whatsapp_body import (
    BODY_LIMIT,
    CALLBACK_PREFIX,
    ELLIPSIS,
    EMPTY_PARAM,
    TEMPLATE_TEXT_RESERVE,
    build_template_body,
    build_text_body,
    callback_data,
    callback_outbox_id,
    fit_params,
    sanitize_param,
    shorten,
)
from .whatsapp_webhook import (
    InboundMessage,
    MalformedWebhook,
    StatusUpdate,
    parse_inbound_messages,
    parse_status_webhook,
    verify_webhook_signature,
)

# The bodies and the webhooks live in their own modules; their names stay importable from here.
__all__ = [
    "BODY_LIMIT",
    "CALLBACK_PREFIX",
    "ELLIPSIS",
    "EMPTY_PARAM",
    "TEMPLATE_NOT_IN_LANGUAGE",
    "TEMPLATE_TEXT_RESERVE",
    "InboundMessage",
    "MalformedWebhook",
    "StatusUpdate",
    "WhatsAppChannel",
    "build_template_body",
    "build_text_body",
    "callback_data",
    "callback_outbox_id",
    "fit_params",
    "parse_inbound_messages",
    "parse_status_webhook",
    "sanitize_param",
    "shorten",
    "verify_webhook_signature",
]

log = logging.getLogger(__name__)

#: Meta: the template does not exist in that language (or is not approved in it).
TEMPLATE_NOT_IN_LANGUAGE = 132001


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
        try:
            self._pool: HttpPool | None = HttpPool(self.api_base, timeout)
        except InvalidAddress:
            self._pool = None  # every call answers channel_broken, naming the setting
        guard_logs(self._token)

    def __repr__(self) -> str:
        return (
            f"WhatsAppChannel(api_base={self.api_base!r}, version={self.version!r},"
            f" phone_number_id={self.phone_number_id!r})"
        )

    @property
    def _node_path(self) -> str:
        return f"/{self.version}/{self.phone_number_id}"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One Graph call; returns the parsed JSON of a 2xx answer or raises :class:`SendError`."""
        if self._pool is None:
            raise SendError("channel_broken", f"the API address {self.api_base!r} is not valid")
        token = self._token.reveal()
        if "\n" in token or "\r" in token:
            # http.client would refuse the header with its value, the token, in the message.
            raise SendError("channel_broken", "the WhatsApp token holds a line break")
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = self._pool.request(method, path, data, headers)
        except TransportError as exc:
            raise self._scrub(classify_transport_error(exc, self._pool.host)) from None
        payload = _json_or_none(response)
        if response.ok:
            return payload
        wait = _usage_wait(response.headers.get("X-Business-Use-Case-Usage"))
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if wait is not None:
            retry_after = max(wait, retry_after or 0.0)
        error = classify_whatsapp_error(response.status, payload, retry_after)
        raise self._scrub(error)

    def _scrub(self, error: SendError) -> SendError:
        return error.scrubbed([self._token.reveal()])

    def send(self, msg: OutgoingMessage) -> SendResult:
        """Send ``msg`` as a template; the result carries the ``wamid`` and the ``wa_id``."""
        body = build_template_body(msg)
        try:
            payload = self._call("POST", f"{self._node_path}/messages", body)
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
            payload = self._call("POST", f"{self._node_path}/messages", body)
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
            self._call("GET", self._node_path)
        except SendError as exc:
            if exc.kind == "channel_broken":
                return f"WhatsApp rejected the credentials or account: {exc}"
            return f"WhatsApp is not usable right now: {exc}"
        return None

    def close(self) -> None:
        """Release pooled connections."""
        if self._pool is not None:
            self._pool.close()


def _json_or_none(response: Response) -> Any:
    try:
        return json.loads(response.body)
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
