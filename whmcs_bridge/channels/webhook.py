"""The WhatsApp status webhook: ``GET /webhooks/whatsapp`` (subscription) and ``POST`` (statuses).

Plain functions ``handler(bridge, request) -> (status, headers, body)`` that ``serve`` routes to
(see ``bridge_register_routes``). ``request`` has ``method``, ``path``, ``query`` (dict),
``headers`` (case-insensitive mapping) and ``body`` (the raw bytes, as received: the signature
is computed over them, messaging.md §1.8).
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from whmcs_bridge.secrets import reveal

from .whatsapp_webhook import (
    InboundMessage,
    MalformedWebhook,
    parse_inbound_messages,
    parse_status_webhook,
    verify_webhook_signature,
)

if TYPE_CHECKING:
    from whmcs_bridge.bridge import Bridge

log = logging.getLogger(__name__)

Response = tuple[int, list[tuple[str, str]], bytes]
_TEXT = [("Content-Type", "text/plain; charset=utf-8")]
_JSON = [("Content-Type", "application/json")]


def whatsapp_settings(bridge: Bridge) -> dict[str, Any]:
    """``[channels.whatsapp]``, or ``{}``."""
    return bridge.config.channels.get("whatsapp", {})


def verify_subscription(bridge: Bridge, request: Any) -> Response:
    """Meta's handshake: echo ``hub.challenge`` when the verify token matches, else 403."""
    expected = reveal(whatsapp_settings(bridge).get("verify_token")) or ""
    if not expected:
        return 404, _TEXT, b"the WhatsApp webhook is not configured\n"
    query = request.query
    given = str(query.get("hub.verify_token", ""))
    if query.get("hub.mode") == "subscribe" and hmac.compare_digest(
        given.encode(), expected.encode()
    ):
        return 200, _TEXT, str(query.get("hub.challenge", "")).encode()
    log.warning("whatsapp webhook: subscription refused (wrong mode or verify token)")
    return 403, _TEXT, b"forbidden\n"


def receive_status(bridge: Bridge, request: Any) -> Response:
    """Check the signature over the raw body (401 if wrong or missing), then apply statuses.

    Statuses are applied whatever their age: Meta retries for days, and a late status that
    moves a message forward is still true; one that does not is ignored (as are repeats).
    A database failure answers 500, so Meta sends the webhook again.
    """
    secret = reveal(whatsapp_settings(bridge).get("app_secret")) or ""
    if not secret:
        return 404, _TEXT, b"the WhatsApp webhook is not configured\n"
    signature = request.headers.get("X-Hub-Signature-256")
    if not verify_webhook_signature(secret, request.body, signature):
        log.warning(
            "whatsapp webhook: %s signature, %d bytes refused",
            "wrong" if signature else "missing",
            len(request.body),
        )
        return 401, _TEXT, b"bad signature\n"
    ours = str(whatsapp_settings(bridge).get("phone_number_id") or "") or None
    try:
        updates = parse_status_webhook(request.body, ours)
        inbound = parse_inbound_messages(request.body, ours)
    except MalformedWebhook as exc:
        log.warning("whatsapp webhook: signed body refused: %s", exc)
        return 400, _TEXT, b"malformed webhook\n"
    except (ValueError, RecursionError) as exc:  # not JSON, or nested beyond reading
        log.warning("whatsapp webhook: signed body is not JSON: %s", type(exc).__name__)
        return 400, _TEXT, b"not JSON\n"
    applied = sum(bool(bridge.outbox.apply_status(update)) for update in updates)
    received = bridge.emit(*(message_event(bridge, m) for m in inbound)) if inbound else 0
    answer = {"statuses": len(updates), "applied": applied, "messages": received}
    return 200, _JSON, json.dumps(answer).encode()


#: The longest inbound text kept in the event: enough for a keyword or a short answer.
INBOUND_TEXT_LIMIT = 160


def message_event(bridge: Bridge, message: InboundMessage) -> Any:
    """The ``whatsapp.message_received`` event of one inbound message, keyed by its wamid.

    Stored, not acted on here: Meta wants a fast 200, and plugins (alerts: BAJA / ALTA) handle
    the event in the next cycle. The subject is the sender's number (its digits).
    """
    from whmcs_bridge.events.model import Event, event_key

    name = "whatsapp.message_received"
    digits = int("".join(ch for ch in message.wa_id if ch.isdigit()) or 0)
    when = message.timestamp
    occurred = (
        when.astimezone(bridge.clock.timezone).replace(tzinfo=None)
        if when is not None
        else bridge.clock.panel_now()
    )
    return Event(
        key=event_key(name, digits, message.wamid),
        name=name,
        subject_type="phone",
        subject_id=digits,
        occurred_at=occurred,
        source="bridge",
        origin="whatsapp",
        data={
            "wa_id": message.wa_id,
            "wamid": message.wamid,
            "text": message.text[:INBOUND_TEXT_LIMIT],
        },
    )
