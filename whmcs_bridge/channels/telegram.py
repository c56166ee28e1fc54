"""Telegram Bot API channel: sends the rendered text with ``sendMessage``.

The bot token is part of every URL, so it is registered with :func:`guard_logs` (urllib3 logs
request lines at DEBUG) and never appears in errors or reprs.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests

from .base import (
    OutgoingMessage,
    Secret,
    SendError,
    SendResult,
    classify_telegram_error,
    classify_transport_error,
    guard_logs,
)

log = logging.getLogger(__name__)

_NUMERIC_CHAT = re.compile(r"-?\d+")
MAX_TEXT = 4096


class TelegramChannel:
    """Sends plain (or ``parse_mode``) text messages to chats that started the bot."""

    name = "telegram"

    def __init__(
        self,
        api_base: str,
        token: str | Secret,
        timeout: float = 10,
        parse_mode: str | None = None,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self._token = token if isinstance(token, Secret) else Secret(token)
        self.timeout = timeout
        self.parse_mode = parse_mode
        self._session = requests.Session()
        guard_logs(self._token)

    def __repr__(self) -> str:
        return f"TelegramChannel(api_base={self.api_base!r}, parse_mode={self.parse_mode!r})"

    def _call(self, method: str, body: dict[str, Any] | None = None) -> Any:
        """One Bot API call; returns ``result`` of an ``ok`` answer or raises :class:`SendError`."""
        url = f"{self.api_base}/bot{self._token.reveal()}/{method}"
        try:
            response = self._session.post(url, json=body or {}, timeout=self.timeout)
            payload = _json_or_none(response)
        except requests.RequestException as exc:
            raise self._scrub(classify_transport_error(exc, self.api_base)) from None
        if isinstance(payload, dict) and payload.get("ok") is True:
            return payload.get("result")
        if response.ok:
            # 2xx without ok:true: Telegram may have delivered it; do not resend blindly.
            raise SendError("unknown", "answer without ok:true", http_status=response.status_code)
        raise self._scrub(classify_telegram_error(response.status_code, payload))

    def _scrub(self, error: SendError) -> SendError:
        return error.scrubbed([self._token.reveal()])

    def send(self, msg: OutgoingMessage) -> SendResult:
        """Send ``msg.text`` to the chat ``msg.recipient``; the result carries the message id."""
        text = msg.text.strip()
        if not text:
            raise SendError("permanent", f"empty text for event {msg.event!r}")
        if len(text) > MAX_TEXT:
            raise SendError("permanent", f"text of {len(text)} characters exceeds {MAX_TEXT}")
        body: dict[str, Any] = {"chat_id": _chat_id(msg.recipient), "text": text}
        if self.parse_mode:
            body["parse_mode"] = self.parse_mode
        try:
            result = self._call("sendMessage", body)
        except SendError as exc:
            log.debug("telegram outbox=%s refused: %s", msg.outbox_id, exc)
            raise
        message_id = result.get("message_id") if isinstance(result, dict) else None
        chat = result.get("chat") if isinstance(result, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        log.debug("telegram outbox=%s accepted message_id=%s", msg.outbox_id, message_id)
        return SendResult(
            str(message_id) if message_id is not None else None,
            str(chat_id) if chat_id is not None else None,
        )

    def check(self) -> str | None:
        """Call ``getMe``: ``None`` when the token works."""
        try:
            self._call("getMe")
        except SendError as exc:
            if exc.kind == "channel_broken":
                return f"Telegram rejected the bot token: {exc}"
            return f"Telegram is not usable right now: {exc}"
        return None

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()


def _chat_id(recipient: str) -> int | str:
    """Numeric chat ids go as integers; ``@channelusername`` stays a string."""
    recipient = recipient.strip()
    return int(recipient) if _NUMERIC_CHAT.fullmatch(recipient) else recipient


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
