"""The WHMCS API client: the one way the bridge writes to the panel (reference ``whmcs.md`` §3.1).

Every call is a form-encoded POST to ``<url>/includes/api.php`` with ``responsetype=json``. The
answer becomes a dict or a typed :class:`ApiError`. Retries are limited to what cannot repeat a
change: a connection that never opened (nothing was sent) for any action, and timeouts, dropped
connections and 5xx answers for READ actions only. A write whose answer was lost raises
:class:`ApiOutcomeUnknown` and is never retried: repeating ``AddInvoicePayment`` could pay twice.

Credentials travel only in the request body; they are kept out of logs, messages and ``repr``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests import exceptions as rq
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.panel.api_actions import ApiActions

__all__ = [
    "ApiAuthError",
    "ApiCommandNotFound",
    "ApiError",
    "ApiNotFound",
    "ApiOutcomeUnknown",
    "ApiPermissionError",
    "ApiTransportError",
    "ApiValidationError",
    "WhmcsApi",
    "classify_error",
    "encode_params",
    "is_read_action",
]

log = logging.getLogger(__name__)

# Reference §3.1: refusals of the caller, not of the request.
AUTH_MESSAGES = (
    "authentication failed",
    "invalid or missing credentials",
    "access denied",
    "invalid ip",
    "ip banned",
    "invalid access key",
    # With API credentials (whmcs.md §0.1): the identifier, or the admin behind it.
    "invalid administrative identifier",
    "administrator account disabled",
    "invalid password provided",
)
# Actions that read only, beyond the Get* / *Details naming rule.
READ_ACTIONS = frozenset({"validatelogin", "decryptpassword"})


class ApiError(BridgeError):
    """A WHMCS API call failed; ``action`` names it, ``message`` is WHMCS's own text if any."""

    def __init__(self, action: str, message: str) -> None:
        self.action = action
        self.message = message
        super().__init__(f"WHMCS API {action}: {message}")


class ApiAuthError(ApiError):
    """The panel refused the caller: credentials, role, IP allow-list or access key."""


class ApiPermissionError(ApiAuthError):
    """The API role of the credentials does not allow the action (HTTP 403, whmcs.md §0.1):
    ``Invalid Permissions: API action "sendemail" is not allowed``. A configuration error:
    every call of that action fails the same way until an admin grants it."""


class ApiCommandNotFound(ApiError):
    """The panel does not know the action (an older WHMCS, e.g. users actions on 7.8)."""


class ApiNotFound(ApiError):
    """The record the call names does not exist (``Client Not Found``, ``Invoice ID Not Found``)."""


class ApiValidationError(ApiError):
    """WHMCS refused the request itself; ``message`` is WHMCS's text, kept as is."""


class ApiTransportError(ApiError):
    """No usable answer: unreachable panel, timeout or a broken answer to a read.

    ``retryable`` is True when repeating cannot change anything twice.
    """

    def __init__(self, action: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(action, message)
        self.retryable = retryable


class ApiOutcomeUnknown(ApiError):
    """A write was sent but its answer was lost: it may or may not have been applied."""


def is_read_action(action: str, params: Mapping[str, Any] | None = None) -> bool:
    """True for actions that change nothing: ``Get*``, ``*Details``, calconly ``UpgradeProduct``."""
    name = "".join(ch for ch in action.lower() if ch.isalnum())
    if name.startswith("get") or name.endswith("details") or name in READ_ACTIONS:
        return True
    if name == "upgradeproduct" and params:
        return str(params.get("calconly", "")).lower() in {"1", "true", "on", "yes"}
    return False


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _flatten(key: str, value: Any) -> Iterator[tuple[str, str]]:
    if value is None:
        return
    if isinstance(value, Mapping):
        for sub, item in value.items():
            yield from _flatten(f"{key}[{sub}]", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _flatten(f"{key}[{index}]", item)
    else:
        yield key, _scalar(value)


def encode_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten params as PHP reads them: ``a[b]=1``, ``ids[0]=5``; ``None`` values are left out."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        pairs.extend(_flatten(str(key), value))
    return pairs


def classify_error(action: str, message: str) -> ApiError:
    """The typed error for a WHMCS ``result=error`` message."""
    text = message.strip().lower()
    if text.startswith("invalid permissions"):
        return ApiPermissionError(action, message)
    if text.startswith(AUTH_MESSAGES):
        return ApiAuthError(action, message)
    if text == "command not found" or text.startswith("invalid api action"):
        return ApiCommandNotFound(action, message)
    if "not found" in text:
        return ApiNotFound(action, message)
    return ApiValidationError(action, message)


def _nothing_sent(exc: BaseException) -> bool:
    """True when the connection never opened, so the panel cannot have seen the request."""
    if isinstance(exc, rq.ConnectTimeout):
        return True
    if isinstance(exc, rq.SSLError) or not isinstance(exc, rq.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps the cause
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ApiTransportError) and exc.retryable


class WhmcsApi(ApiActions):
    """A client of one panel's API. Typed methods come from :class:`ApiActions`.

    :param url: the WHMCS system URL (``https://panel.example/``); ``/includes/api.php`` is added.
    :param identifier: API credential identifier. :param secret: its secret.
    :param accesskey: ``$api_access_key`` of ``configuration.php``, to pass the IP allow-list.
    :param timeout: seconds for connecting and for each read of the answer.
    :param attempts: tries for a retry-safe failure; ``backoff``: first wait in seconds.
    """

    def __init__(
        self,
        url: str,
        identifier: str,
        secret: str,
        accesskey: str | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        *,
        attempts: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.url = url.rstrip("/")
        self.endpoint = f"{self.url}/includes/api.php"
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._session = session or requests.Session()
        self._credentials = {"identifier": identifier, "secret": secret}
        if accesskey:
            self._credentials["accesskey"] = accesskey

    def __repr__(self) -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        safe = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        return f"WhmcsApi(url={safe!r}, identifier='***', timeout={self.timeout})"

    def _redact(self, text: str) -> str:
        for value in self._credentials.values():
            if value:
                text = text.replace(value, "***")
        return text

    def call(
        self, action: str, params: Mapping[str, Any] | None = None, *, read: bool | None = None
    ) -> dict[str, Any]:
        """Run one API action and return WHMCS's answer (a dict with ``result='success'``).

        :param read: whether the action changes nothing (retry-safe); guessed from the name
            by :func:`is_read_action` when None.
        :raises ApiAuthError, ApiCommandNotFound, ApiNotFound, ApiValidationError: WHMCS said no.
        :raises ApiTransportError: no usable answer (after retries where safe).
        :raises ApiOutcomeUnknown: a write was sent and its answer was lost.
        """
        params = dict(params or {})
        if read is None:
            read = is_read_action(action, params)
        body = [("action", action), *encode_params(params)]
        body += [*self._credentials.items(), ("responsetype", "json")]
        started = time.monotonic()
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=10 * max(self.backoff, 0.01)),
            retry=retry_if_exception(_retryable),
            before_sleep=lambda state: log.warning(
                "WHMCS API %s: attempt %d failed (%s), retrying",
                action,
                state.attempt_number,
                state.outcome.exception() if state.outcome else "?",
            ),
            reraise=True,
        )
        try:
            data = retrying(self._attempt, action, body, read)
        except ApiError as exc:
            log.info(
                "WHMCS API %s: %s (%s) in %.0f ms",
                action,
                type(exc).__name__,
                exc.message,
                (time.monotonic() - started) * 1000,
            )
            raise
        log.info("WHMCS API %s: success in %.0f ms", action, (time.monotonic() - started) * 1000)
        return data

    def _attempt(self, action: str, body: list[tuple[str, str]], read: bool) -> dict[str, Any]:
        try:
            response = self._session.post(
                self.endpoint, data=body, timeout=self.timeout, allow_redirects=False
            )
        except rq.RequestException as exc:
            reason = self._redact(f"{type(exc).__name__}: {exc}")
            if _nothing_sent(exc):
                raise ApiTransportError(
                    action, f"cannot connect to the panel ({reason})", retryable=True
                ) from None
            if isinstance(exc, rq.SSLError | rq.InvalidURL | rq.MissingSchema | rq.InvalidSchema):
                raise ApiTransportError(action, f"cannot call the panel ({reason})") from None
            if not read:
                raise ApiOutcomeUnknown(
                    action, f"the request was sent but its answer was lost ({reason})"
                ) from None
            raise ApiTransportError(action, f"no answer ({reason})", retryable=True) from None
        return self._answer(action, response, read)

    def _answer(self, action: str, response: requests.Response, read: bool) -> dict[str, Any]:
        status = response.status_code
        if 300 <= status < 400:
            # Never followed: requests would turn the POST into a GET without its body, so the
            # panel processed nothing; the admin must point [api] url at the final address.
            location = self._redact(response.headers.get("Location", "") or "(no Location)")
            raise ApiTransportError(
                action, f"the panel redirects to {location}; set [api] url to it"
            )
        try:
            data = json.loads(response.text, parse_float=Decimal)
        except ValueError:
            data = None
        outcome = data.get("result", data.get("status")) if isinstance(data, dict) else None
        if isinstance(data, dict) and outcome == "error":
            raise classify_error(action, self._redact(str(data.get("message", "")).strip()))
        if isinstance(data, dict) and outcome == "success" and status < 300:
            return data
        problem = f"HTTP {status}, " + ("unexpected JSON answer" if data else "not a JSON answer")
        if status >= 500 and read:
            raise ApiTransportError(action, problem, retryable=True)
        if status >= 500 or (status < 300 and not read):
            raise ApiOutcomeUnknown(action, f"the request was sent but {problem}")
        raise ApiTransportError(action, problem)
