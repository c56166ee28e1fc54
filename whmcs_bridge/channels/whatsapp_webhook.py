"""WhatsApp webhooks (messaging.md §1.8): the signature check, status updates, inbound messages.

Everything in a signed webhook is still checked: a field holding what Meta never sends raises
:class:`MalformedWebhook` rather than reaching the outbox.
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

from .base import Secret, SendErrorKind, whatsapp_kind
from .whatsapp_body import WA_ID, callback_outbox_id

log = logging.getLogger(__name__)

# Plain ASCII: compare_digest raises TypeError on a non-ASCII str (a 500 for anybody's header).
_HUB_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}", re.ASCII)
_WHOLE = re.compile(r"-?[0-9]{1,19}", re.ASCII)
_MAX_ID = 2**63 - 1
_MAX_CODE = 2**31 - 1  # the outbox's error_code column
_MAX_TIMESTAMP = 2**32  # year 2106: later is no time Meta sends


class MalformedWebhook(ValueError):
    """A signed webhook holding what Meta never sends (a number where text belongs, ...)."""


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
            if not WA_ID.fullmatch(wa_id):
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
