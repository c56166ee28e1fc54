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

from .whatsapp import parse_status_webhook, verify_webhook_signature

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
    try:
        updates = parse_status_webhook(request.body)
    except ValueError:
        return 400, _TEXT, b"not JSON\n"
    applied = sum(bool(bridge.outbox.apply_status(update)) for update in updates)
    body = json.dumps({"statuses": len(updates), "applied": applied}).encode()
    return 200, _JSON, body
