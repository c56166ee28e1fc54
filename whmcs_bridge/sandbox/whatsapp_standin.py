"""A WhatsApp Cloud API stand-in on loopback, for the tests and the demo.

It answers ``POST /{version}/{phone_number_id}/messages`` and ``GET /{version}/{phone_number_id}``
the way Meta does: same checks, same success body, same error bodies (messaging.md §1.3-1.6).
Tests script it (``fail_next``, ``fail_for``, ``delay``, ``registered_templates``), read what it
received (``requests``), and make it call back with signed status webhooks (``post_status``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any, Self
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import requests

Json = dict[str, Any]
StartResponse = Callable[..., Any]

ERRORS_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

# code -> (HTTP status, message, error_data.details), as Meta's error-codes table words them.
META_ERRORS: dict[int, tuple[int, str, str]] = {
    100: (400, "(#100) Invalid parameter", "Invalid parameter"),
    131000: (500, "(#131000) Something went wrong",
             "Message failed to send due to an unknown error."),
    131008: (400, "(#131008) Required parameter is missing", "Required parameter is missing"),
    131009: (400, "(#131009) Parameter value is not valid", "Parameter value is not valid"),
    131016: (503, "(#131016) Service unavailable", "A service is temporarily unavailable."),
    131026: (400, "(#131026) Message undeliverable", "Unable to deliver message. The recipient"
             " phone number may not be a WhatsApp number, or has not accepted the current terms."),
    131047: (400, "(#131047) Re-engagement message", "Message failed to send because more than 24"
             " hours have passed since the customer last replied to this number."),
    131048: (400, "(#131048) Spam rate limit hit", "Message failed to send because there are"
             " restrictions on how many messages can be sent from this phone number."),
    131056: (400, "(#131056) (Business Account, Consumer Account) pair rate limit hit",
             "Message failed to send because there were too many messages sent from this phone"
             " number to the same phone number in a short period of time."),
    130429: (400, "(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
    132000: (400, "(#132000) Number of parameters does not match the expected number of params",
             "Number of parameters does not match the expected number of params"),
    132001: (404, "(#132001) Template name does not exist in the translation",
             "Template name does not exist in the translation"),
    132012: (400, "(#132012) Parameter format does not match format in the created template",
             "Parameter format does not match format in the created template"),
    132018: (400, "(#132018) There was an issue with the parameters in your template.",
             "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"),
    132005: (400, "(#132005) Template Hydrated Text Too Long",
             "Translated text is too long."),
    131057: (500, "(#131057) Account in maintenance mode",
             "Business Account is in maintenance mode"),
    131037: (400, "(#131037) WhatsApp provided number needs display name approval before message"
             " can be sent.", "The display name of this phone number has not been approved."),
}  # fmt: skip
#: Codes Meta marks ``is_transient`` (messaging.md §0: errors carry it).
TRANSIENT_CODES = frozenset({1, 2, 131000, 131016, 131057, 133004})
#: Meta's limit on a template body with its parameters filled in (messaging.md §0, 132005).
BODY_LIMIT = 1024
_INVALID_TOKEN = "Invalid OAuth access token - Cannot parse access token"
_BAD_PARAM_TEXT = re.compile(r"[\n\t]| {5,}")


def fbtrace_id() -> str:
    """A random trace id shaped like Meta's."""
    return base64.b64encode(secrets.token_bytes(17)).decode()[:23].replace("/", "_")


def meta_error(
    code: int, details: str | None = None, http_status: int | None = None
) -> tuple[int, Json]:
    """The HTTP status and exact Graph error body Meta answers for ``code`` (v23: with
    ``is_transient`` and ``error_subcode``)."""
    if code == 190:
        body = {"message": _INVALID_TOKEN, "type": "OAuthException", "code": 190}
        return http_status or 401, {"error": {**body, "fbtrace_id": fbtrace_id()}}
    status, message, default = META_ERRORS.get(code, (400, f"(#{code}) Error", "Error"))
    error = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or default},
        "error_subcode": 2494010 if code == 131026 else 0,
        "is_transient": code in TRANSIENT_CODES,
        "fbtrace_id": fbtrace_id(),
    }
    return http_status or status, {"error": error}


def usage_header(waba_id: str, minutes: int) -> str:
    """``X-Business-Use-Case-Usage`` as Graph sends it when a business is throttled: JSON keyed
    by business id, ``estimated_time_to_regain_access`` in minutes (messaging.md §0)."""
    usage = {
        "type": "whatsapp_business_management",
        "call_count": 100,
        "total_cputime": 100,
        "total_time": 100,
        "estimated_time_to_regain_access": minutes,
    }
    return json.dumps({waba_id: [usage]})


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines would print tokens (Telegram puts them in the path)."""


def read_request(environ: Json) -> Json:
    """The record of one request: method, path, headers, raw body, parsed JSON (or None), time."""
    raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k[:5] == "HTTP_"}
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return {
        "method": environ["REQUEST_METHOD"],
        "path": environ.get("PATH_INFO", ""),
        "query": environ.get("QUERY_STRING", ""),
        "headers": headers,
        "body": raw,
        "json": parsed,
        "time": time.time(),
    }


class LoopbackStandIn:
    """Base of the provider stand-ins: a WSGI app served on 127.0.0.1 from a background thread
    (one thread per request) that records every request and can hold its answers.

    Subclasses implement ``_answer(request) -> (status, body)``; a dict body is sent as JSON, a
    string as an HTML page. Use as a context manager, or ``start()`` / ``stop()``.
    """

    def __init__(self, port: int = 0) -> None:
        self.requests: list[Json] = []
        self._lock = threading.Lock()
        self._delay: tuple[float, int | None] = (0.0, None)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` while running."""
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> str:
        """Start serving; returns the base URL (the ``api_base`` of a channel)."""
        if self._server is None:
            self._stopping.clear()
            self._server = make_server(
                "127.0.0.1", self._port, self, server_class=_Server, handler_class=_QuietHandler
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving; delayed answers in progress are cut short."""
        if self._server is not None:
            self._stopping.set()
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def delay(self, seconds: float, times: int | None = None) -> None:
        """Hold every answer (or the next ``times``) for ``seconds`` after receiving the request."""
        with self._lock:
            self._delay = (seconds, times)

    def reset(self) -> None:
        """Forget the record of requests and any delay."""
        with self._lock:
            self.requests.clear()
            self._delay = (0.0, None)

    def __call__(self, environ: Json, start_response: StartResponse) -> list[bytes]:
        request = read_request(environ)
        with self._lock:
            self.requests.append(request)
            seconds, times = self._delay
            if seconds and times is not None:
                self._delay = (seconds, times - 1) if times > 1 else (0.0, None)
        if seconds:
            self._stopping.wait(seconds)
        answer = self._answer(request)
        status, body = answer[0], answer[1]
        extra: list[tuple[str, str]] = list(answer[2]) if len(answer) > 2 else []  # type: ignore[misc]
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        kind = "application/json" if isinstance(body, dict) else "text/html; charset=utf-8"
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        start_response(f"{status} {reason}", [("Content-Type", kind), *extra])
        return [data]

    def _answer(self, request: Json) -> tuple[Any, ...]:
        """``(status, body)`` or ``(status, body, extra headers)``."""
        raise NotImplementedError


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
        signature = kwargs.pop("signature", _SIGN)
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


def check_template(
    template: Any,
    registered: dict[tuple[str, str], int] | None,
    details: dict[tuple[str, str], tuple[int, int | None]] | None = None,
) -> tuple[int, str] | None:
    """Meta's checks of a ``template`` object: ``(code, details)`` of the first failure or None.

    Parameters must not be empty (100, messaging.md §0); a template with a dynamic URL button
    needs that button, at its approved index, with a non-empty suffix; the body with its
    parameters filled in is at most :data:`BODY_LIMIT` characters (132005)."""
    if not isinstance(template, dict) or not template.get("name"):
        return 131008, "The parameter template['name'] is required."
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not code:
        return 131008, "The parameter template['language']['code'] is required."
    body_params: list[Any] = []
    buttons: dict[str, str] = {}
    for component in template.get("components") or []:
        params = component.get("parameters") or [] if isinstance(component, dict) else None
        if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
            return 131009, "components must be objects with a list of parameters"
        if component.get("type") == "body":
            body_params = params
        elif component.get("type") == "button":
            if str(component.get("sub_type", "")).upper() not in ("URL", "QUICK_REPLY"):
                return 131009, "Button sub_type is not valid"
            index = str(component.get("index", ""))
            if not re.fullmatch(r"\d", index) or len(params) != 1:
                return 131009, f"Button at index {index or 0} of type Url requires a parameter"
            buttons[index] = str(params[0].get("text") or "")
        else:
            return 131009, f"component type {component.get('type')!r} is not valid"
    for param in body_params:
        if param.get("type") != "text" or not isinstance(param.get("text"), str):
            return 132012, "Parameter format does not match format in the created template"
        if not param["text"].strip():
            return 100, "Parameter 'text' is mandatory"
    for index, suffix in buttons.items():
        if not suffix.strip():
            return 100, f"Button at index {index} of type Url: parameter 'text' is mandatory"
    if registered is not None:
        name = template["name"]
        if (name, code) not in registered:
            return 132001, f"template name ({name}) does not exist in {code}"
        want = registered[(name, code)]
        if len(body_params) != want:
            return 132000, (
                f"body: number of localizable_params ({len(body_params)}) does not match"
                f" the expected number of params ({want})"
            )
    if any(_BAD_PARAM_TEXT.search(p["text"]) for p in body_params):
        return 132018, META_ERRORS[132018][2]
    fixed, button_index = (details or {}).get((template["name"], code), (0, None))
    if button_index is not None:
        if str(button_index) not in buttons:
            return 131008, f"Button at index {button_index} of type Url requires a parameter"
        if set(buttons) - {str(button_index)}:
            wrong = sorted(set(buttons) - {str(button_index)})[0]
            return 131009, f"Button at index {wrong} of type Url does not exist in the template"
    if fixed + sum(len(p["text"]) for p in body_params) > BODY_LIMIT:
        return 132005, META_ERRORS[132005][2]
    return None


# --- status webhooks (messaging.md §1.8) ----------------------------------------------------
_SIGN = object()
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
    url: str, app_secret: str, body: Json, *, signature: Any = _SIGN, timeout: float = 5
) -> requests.Response:
    """POST ``body`` as Meta does (escaped unicode, signed). ``signature=None`` omits the header;
    a string sends that value instead of the right one."""
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
    if signature is _SIGN:
        headers["X-Hub-Signature-256"] = sign(app_secret, raw)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = str(signature)
    return requests.post(url, data=raw, headers=headers, timeout=timeout)
