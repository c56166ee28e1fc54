"""A WhatsApp Cloud API stand-in on loopback, for the tests and the demo.

It answers ``POST /{version}/{phone_number_id}/messages`` and ``GET /{version}/{phone_number_id}``
the way Meta does: same checks, same success body, same error bodies (messaging.md §1.3-1.6).
Tests script it (``fail_next``, ``fail_for``, ``delay``, ``registered_templates``), read what it
received (``requests``), and make it call back with signed status webhooks (``post_status``).
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from typing import Any

import requests

from .loopback import Json, LoopbackStandIn, StartResponse, read_request
from .whatsapp_rules import (
    BODY_LIMIT,
    ERRORS_HREF,
    META_ERRORS,
    TRANSIENT_CODES,
    check_template,
    fbtrace_id,
    meta_error,
    usage_header,
)
from .whatsapp_webhooks import (
    SIGN,
    build_message_webhook,
    build_status_webhook,
    post_webhook,
    sign,
)

# The server, Meta's rules and the webhook bodies live in their own modules; their names stay
# importable from here.
__all__ = [
    "BODY_LIMIT",
    "ERRORS_HREF",
    "META_ERRORS",
    "TRANSIENT_CODES",
    "Json",
    "LoopbackStandIn",
    "StartResponse",
    "WhatsAppStandIn",
    "build_message_webhook",
    "build_status_webhook",
    "check_template",
    "fbtrace_id",
    "meta_error",
    "post_webhook",
    "read_request",
    "sign",
    "usage_header",
]


@dataclass
class _Failure:
    code: int | None
    http_status: int | None
    usage_minutes: int | None = None


class WhatsAppStandIn(LoopbackStandIn):
    """A scriptable Cloud API for one business phone number."""

    def __init__(
        self,
        token: str = "sandbox-whatsapp-token",
        phone_number_id: str = "106540352242922",
        display_phone_number: str = "15550783881",
        waba_id: str = "102290129340398",
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.token = token
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.waba_id = waba_id
        #: (name, language) -> number of body parameters; None accepts any template.
        self.registered_templates: dict[tuple[str, str], int] | None = None
        #: (name, language) -> (length of the approved body's fixed text, URL button index or
        #: None); templates not listed have no URL button check and a 0-length fixed text.
        self.template_details: dict[tuple[str, str], tuple[int, int | None]] = {}
        #: The ``message_status`` of the next accepted sends (paced templates, quality holds).
        self.message_status_next: list[str] = []
        #: wa_ids that wrote to the business: their 24-hour customer-service window is open.
        self.open_windows: set[str] = set()
        self.wa_ids: dict[str, str] = {}
        self.sent: dict[str, Json] = {}
        self._next: list[_Failure] = []
        self._per_recipient: dict[str, _Failure] = {}

    def __repr__(self) -> str:
        return f"WhatsAppStandIn(phone_number_id={self.phone_number_id!r})"

    # --- scripting --------------------------------------------------------------------------
    def fail_next(
        self,
        code: int | None = None,
        times: int = 1,
        http_status: int | None = None,
        usage_minutes: int | None = None,
    ) -> None:
        """Answer the next ``times`` sends with Meta's error ``code`` (or a bare HTML
        ``http_status`` page when ``code`` is None, e.g. a 502 from a proxy).
        ``usage_minutes`` adds ``X-Business-Use-Case-Usage`` with that time to regain access."""
        if code is None and http_status is None:
            raise ValueError("give a Meta error code or an HTTP status")
        with self._lock:
            self._next.extend(_Failure(code, http_status, usage_minutes) for _ in range(times))

    def fail_for(self, to: str, code: int, http_status: int | None = None) -> None:
        """Answer every send to ``to`` (with or without ``+``) with ``code`` until cleared."""
        with self._lock:
            self._per_recipient[to.lstrip("+")] = _Failure(code, http_status)

    def reset(self) -> None:
        """Forget scripted failures, delays, templates and the record of requests."""
        super().reset()
        with self._lock:
            self._next.clear()
            self._per_recipient.clear()
            self.registered_templates = None
            self.template_details.clear()
            self.message_status_next.clear()
            self.open_windows.clear()
            self.sent.clear()

    # --- webhooks ---------------------------------------------------------------------------
    def post_status(
        self, url: str, app_secret: str, wamid: str, status: str, **kwargs: Any
    ) -> requests.Response:
        """POST a signed status webhook about a message this stand-in accepted.

        ``kwargs`` go to :func:`build_status_webhook` (``error_code``, ``timestamp``, another
        ``phone_number_id`` or ``biz_opaque_callback_data``) and to :func:`post_webhook`
        (``signature``).
        """
        sent = self.sent[wamid]
        signature = kwargs.pop("signature", SIGN)
        body = build_status_webhook(
            wamid=wamid,
            status=status,
            recipient_id=sent["wa_id"],
            biz_opaque_callback_data=kwargs.pop(
                "biz_opaque_callback_data", sent.get("biz_opaque_callback_data")
            ),
            phone_number_id=kwargs.pop("phone_number_id", self.phone_number_id),
            display_phone_number=self.display_phone_number,
            waba_id=self.waba_id,
            **kwargs,
        )
        return post_webhook(url, app_secret, body, signature=signature)

    def post_message(
        self, url: str, app_secret: str, from_: str, text: str, **kwargs: Any
    ) -> requests.Response:
        """A client writes ``text`` to the business: POST Meta's signed inbound ``messages``
        webhook, and open that number's customer-service window (free-form replies pass)."""
        wa_id = from_.lstrip("+")
        with self._lock:
            self.open_windows.add(wa_id)
        body = build_message_webhook(
            from_=wa_id,
            text=text,
            phone_number_id=kwargs.pop("phone_number_id", self.phone_number_id),
            display_phone_number=self.display_phone_number,
            waba_id=self.waba_id,
        )
        return post_webhook(url, app_secret, body, **kwargs)

    def _answer(self, request: Json) -> tuple[Any, ...]:
        match = re.fullmatch(r"/(v\d+\.\d+)/(\d+)(/messages)?", request["path"])
        method = request["method"]
        if (
            not match
            or match[2] != self.phone_number_id
            or method != ("POST" if match[3] else "GET")
        ):
            details = f"Unsupported {method.lower()} request. Object with ID '{request['path']}'"
            return meta_error(100, details + " does not exist or does not support this operation")
        if request["headers"].get("Authorization") != f"Bearer {self.token}":
            return meta_error(190)
        if not match[3]:
            return 200, self._node()
        with self._lock:
            failure = self._next.pop(0) if self._next else None
        if failure is not None:
            return self._scripted(failure)
        return self._send(request["json"])

    def _scripted(self, failure: _Failure) -> tuple[Any, ...]:
        if failure.code is None:
            status = failure.http_status or 500
            return status, f"<html><body><h1>{status}</h1>Sandbox upstream error</body></html>"
        status, body = meta_error(failure.code, http_status=failure.http_status)
        if failure.usage_minutes is None:
            return status, body
        header = usage_header(self.waba_id, failure.usage_minutes)
        return status, body, [("X-Business-Use-Case-Usage", header)]

    def _node(self) -> Json:
        return {
            "verified_name": "Sandbox Hosting",
            "code_verification_status": "VERIFIED",
            "display_phone_number": f"+{self.display_phone_number}",
            "quality_rating": "GREEN",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
            "id": self.phone_number_id,
        }

    def _send(self, body: Any) -> tuple[int, Json]:
        if not isinstance(body, dict):
            return meta_error(100, "The request body must be JSON")
        if body.get("messaging_product") != "whatsapp":
            return meta_error(100, "The parameter messaging_product is required.")
        if body.get("recipient_type", "individual") != "individual":
            return meta_error(100, "Param recipient_type must be one of {INDIVIDUAL, GROUP}")
        to = body.get("to")
        if not isinstance(to, str) or not re.fullmatch(r"\+?\d{6,15}", to):
            return meta_error(131009 if to else 131008, "The parameter to is not valid.")
        with self._lock:
            failure = self._per_recipient.get(to.lstrip("+"))
            window = self.wa_ids.get(to, to.lstrip("+")) in self.open_windows
        if body.get("type") == "text" and window:
            text = body.get("text")
            if not isinstance(text, dict) or not str(text.get("body") or "").strip():
                return meta_error(100, "Parameter 'text' is mandatory")
            if len(str(text["body"])) > 4096:
                return meta_error(100, "Param text['body'] must be at most 4096 characters long.")
        elif body.get("type") != "template":
            # Free-form messages pass only inside a customer-service window.
            return meta_error(131047)
        if failure is not None and failure.code is not None:
            return meta_error(failure.code, http_status=failure.http_status)
        if body.get("type") == "template":
            problem = check_template(
                body.get("template"), self.registered_templates, self.template_details
            )
            if problem is not None:
                return meta_error(*problem)
        wa_id = self.wa_ids.get(to, to.lstrip("+"))
        wamid = "wamid." + base64.b64encode(f"{wa_id}:{secrets.token_hex(12)}".encode()).decode()
        with self._lock:
            self.sent[wamid] = {
                "to": to,
                "wa_id": wa_id,
                "biz_opaque_callback_data": body.get("biz_opaque_callback_data"),
                "template": body.get("template"),
                "text": body.get("text"),
            }
            status = self.message_status_next.pop(0) if self.message_status_next else "accepted"
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": wa_id}],
            "messages": [{"id": wamid, "message_status": status}],
        }
