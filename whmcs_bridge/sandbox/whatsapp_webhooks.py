"""Meta's webhook bodies (messaging.md §1.8): status updates and inbound messages, signed.

The stand-in posts these to the bridge as Meta does; tests build them to post by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import requests

from .loopback import Json
from .whatsapp_rules import ERRORS_HREF, META_ERRORS

#: ``signature`` default: sign the body with the app secret, as Meta does.
SIGN = object()
_PRICING = {"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"}


def build_status_webhook(
    *,
    wamid: str,
    status: str,
    recipient_id: str,
    phone_number_id: str,
    display_phone_number: str = "15550783881",
    waba_id: str = "102290129340398",
    biz_opaque_callback_data: str | None = None,
    timestamp: int | None = None,
    error_code: int | None = None,
) -> Json:
    """Meta's exact ``messages`` webhook body carrying one status (sent/delivered/read/failed)."""
    item: Json = {"id": wamid, "status": status, "timestamp": str(timestamp or int(time.time()))}
    item["recipient_id"] = recipient_id
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    if status == "failed":
        code = error_code if error_code is not None else 131026
        _, message, details = META_ERRORS.get(code, (400, f"(#{code}) Error", "Error"))
        title = message.split(") ", 1)[-1]
        error = {"code": code, "title": title, "message": title, "error_data": {"details": details}}
        item["errors"] = [{**error, "href": ERRORS_HREF}]
    else:
        item["pricing"] = _PRICING
    metadata = {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id}
    value = {"messaging_product": "whatsapp", "metadata": metadata, "statuses": [item]}
    change = {"value": value, "field": "messages"}
    return {"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": [change]}]}


def build_message_webhook(
    *,
    from_: str,
    text: str,
    phone_number_id: str,
    display_phone_number: str = "15550783881",
    waba_id: str = "102290129340398",
    timestamp: int | None = None,
    name: str = "Cliente",
) -> Json:
    """Meta's ``messages`` webhook body for one inbound text message from ``from_`` (a wa_id)."""
    message = {
        "from": from_,
        "id": "wamid." + base64.b64encode(f"{from_}:{secrets.token_hex(12)}".encode()).decode(),
        "timestamp": str(timestamp or int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    metadata = {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id}
    value = {
        "messaging_product": "whatsapp",
        "metadata": metadata,
        "contacts": [{"profile": {"name": name}, "wa_id": from_}],
        "messages": [message],
    }
    change = {"value": value, "field": "messages"}
    return {"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": [change]}]}


def sign(app_secret: str, raw_body: bytes) -> str:
    """The ``X-Hub-Signature-256`` header value for ``raw_body``."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def post_webhook(
    url: str, app_secret: str, body: Json, *, signature: Any = SIGN, timeout: float = 5
) -> requests.Response:
    """POST ``body`` as Meta does (escaped unicode, signed). ``signature=None`` omits the header;
    a string sends that value instead of the right one."""
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
    if signature is SIGN:
        headers["X-Hub-Signature-256"] = sign(app_secret, raw)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = str(signature)
    return requests.post(url, data=raw, headers=headers, timeout=timeout)
