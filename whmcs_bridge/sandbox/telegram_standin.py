"""A Telegram Bot API stand-in on loopback, for the tests and the demo.

It answers ``POST /bot<token>/sendMessage`` and ``/bot<token>/getMe`` with Telegram's bodies
(messaging.md §2): ``{"ok": true, "result": <Message>}`` or ``{"ok": false, "error_code",
"description", "parameters"?}``. Tests script 429s with ``retry_after``, unknown chats and users
who blocked the bot, and read every request received from ``requests``.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass
from typing import Any

from .loopback import Json, LoopbackStandIn

BLOCKED = (403, "Forbidden: bot was blocked by the user")
CHAT_NOT_FOUND = (400, "Bad Request: chat not found")
CANT_INITIATE = (403, "Forbidden: bot can't initiate conversation with a user")


def tg_error(code: int, description: str, retry_after: int | None = None) -> tuple[int, Json]:
    """The HTTP status and exact Bot API error body."""
    body: Json = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return code, body


@dataclass
class _Failure:
    code: int
    description: str
    retry_after: int | None = None


class TelegramStandIn(LoopbackStandIn):
    """A scriptable Bot API for one bot. ``chats`` (when set) lists the chat ids that started
    the bot; ``blocked`` lists those that blocked it."""

    def __init__(self, token: str = "123456789:SANDBOX-telegram-token", port: int = 0) -> None:
        super().__init__(port)
        self.token = token
        self.chats: set[str] | None = None
        self.blocked: set[str] = set()
        self._message_ids = itertools.count(1)
        self._next: list[_Failure] = []
        self._per_chat: dict[str, _Failure] = {}

    def __repr__(self) -> str:
        return "TelegramStandIn()"

    @property
    def bot_id(self) -> int:
        """The numeric part of the token, which Telegram uses as the bot's user id."""
        return int(self.token.split(":", 1)[0])

    def rate_limit(self, retry_after: int, times: int = 1) -> None:
        """Answer the next ``times`` sends with ``429 Too Many Requests: retry after N``."""
        self.fail_next(429, f"Too Many Requests: retry after {retry_after}", retry_after, times)

    def fail_next(
        self, code: int, description: str, retry_after: int | None = None, times: int = 1
    ) -> None:
        """Answer the next ``times`` sends with ``code`` and ``description``."""
        with self._lock:
            self._next.extend(_Failure(code, description, retry_after) for _ in range(times))

    def fail_for(self, chat_id: str | int, code: int, description: str) -> None:
        """Answer every send to ``chat_id`` with ``code`` and ``description`` until reset."""
        with self._lock:
            self._per_chat[str(chat_id)] = _Failure(code, description)

    def reset(self) -> None:
        """Forget scripted failures, chats, blocks, delays and the record of requests."""
        super().reset()
        with self._lock:
            self._next.clear()
            self._per_chat.clear()
            self.chats = None
            self.blocked.clear()

    def _answer(self, request: Json) -> tuple[int, Json | str]:
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", request["path"])
        if not match:
            return tg_error(404, "Not Found")
        if match[1] != self.token:
            return tg_error(401, "Unauthorized")
        method = match[2].lower()
        if method == "getme":
            return 200, {"ok": True, "result": self._bot()}
        if method != "sendmessage":
            return tg_error(404, "Not Found: method not found")
        with self._lock:
            failure = self._next.pop(0) if self._next else None
        if failure is not None:
            return tg_error(failure.code, failure.description, failure.retry_after)
        return self._send(request["json"])

    def _bot(self) -> Json:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Sandbox", "username": "sbx_bot"}

    def _send(self, body: Any) -> tuple[int, Json]:
        if not isinstance(body, dict) or body.get("chat_id") in (None, ""):
            return tg_error(400, "Bad Request: chat_id is empty")
        chat_id = str(body["chat_id"])
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return tg_error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return tg_error(400, "Bad Request: message is too long")
        with self._lock:
            failure = self._per_chat.get(chat_id)
        if failure is not None:
            return tg_error(failure.code, failure.description)
        if chat_id in self.blocked:
            return tg_error(*BLOCKED)
        if self.chats is not None and chat_id not in self.chats:
            return tg_error(*CHAT_NOT_FOUND)
        chat = {"id": body["chat_id"], "first_name": "Client", "type": "private"}
        message = {
            "message_id": next(self._message_ids),
            "from": self._bot(),
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        return 200, {"ok": True, "result": message}
