"""The one interface every delivery channel implements, and how provider failures are classified.

A channel turns an :class:`OutgoingMessage` into one provider call. It answers a
:class:`SendResult` when the provider accepted the message, or raises :class:`SendError` whose
``kind`` tells the outbox worker what to do next (retry, wait, pause the channel, fall back to
e-mail, dead-letter, or wait for a webhook because the outcome is unknown). The classifiers are
pure functions so the worker, the webhook handler and the tests share one table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args, runtime_checkable

import requests
from urllib3.exceptions import ConnectTimeoutError

from whmcs_bridge.secrets import Secret, mask

from .http_pool import TransportError

SendErrorKind = Literal[
    "transient",
    "recipient_rate",
    "throttled",
    "channel_paused",
    "channel_broken",
    "permanent",
    "no_whatsapp",
    "unknown",
]
KINDS: frozenset[str] = frozenset(get_args(SendErrorKind))

_MAX_MESSAGE = 300


class _RedactSecrets(logging.Filter):
    """Rewrites records that carry a registered secret (urllib3 logs request URLs at DEBUG)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            clean = mask(text, self.secrets)
            if clean != text:
                record.msg, record.args = clean, ()
        return True


_LOG_FILTER = _RedactSecrets()
# Telegram puts the bot token in the URL path, and these loggers print request lines.
_URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")


def guard_logs(secret: Secret) -> None:
    """Keep ``secret`` out of the HTTP libraries' log records from now on."""
    _LOG_FILTER.secrets.add(secret.reveal())
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if _LOG_FILTER not in logger.filters:
            logger.addFilter(_LOG_FILTER)


@dataclass(frozen=True)
class OutgoingMessage:
    """One outbox row, ready to hand to a channel.

    ``recipient`` is E.164 with ``+`` for WhatsApp, a chat id for Telegram. ``text`` is the
    rendered text (console, Telegram, e-mail); WhatsApp sends ``template`` with ``params``
    instead, because business-initiated messages must be approved templates.
    """

    outbox_id: int
    recipient: str
    event: str
    language: str
    text: str
    template: str | None = None
    template_language: str | None = None
    params: list[str] = field(default_factory=list)
    button_url_suffix: str | None = None
    subject: str | None = None
    #: The URL button's position in the approved template ("0".."9"), from the template config.
    button_index: str | None = None
    #: WhatsApp: the template's default language, tried when ``template_language`` is not
    #: approved for it (132001) before the message falls back to e-mail.
    template_fallback_language: str | None = None
    #: WhatsApp: a free-form ``text`` reply inside the customer-service window the recipient
    #: opened by writing to us (e.g. confirming "BAJA"); no template.
    free_form: bool = False


@dataclass
class SendResult:
    """What the provider answered when it accepted a message (accepted, not yet delivered)."""

    provider_message_id: str | None
    provider_recipient_id: str | None = None
    provider_status: str | None = None


class SendError(Exception):
    """A send that did not succeed, with what the worker should do about it.

    ``kind`` is one of :data:`KINDS`: ``transient`` (retry with backoff and jitter),
    ``recipient_rate`` (delay only this recipient), ``throttled`` (back off the whole channel,
    at least ``retry_after`` seconds when given), ``channel_paused`` (provider restricts the
    sender: pause the channel), ``channel_broken`` (credentials or account: stop the channel
    until an operator fixes it), ``permanent`` (dead-letter now), ``no_whatsapp`` (recipient
    cannot receive WhatsApp: fall back to e-mail) and ``unknown`` (the request left but the
    answer was lost: the provider may have accepted it, so never resend blindly).
    ``message`` is safe to log and show: it never contains a credential.
    """

    def __init__(
        self,
        kind: SendErrorKind,
        message: str,
        *,
        code: int | None = None,
        retry_after: float | None = None,
        http_status: int | None = None,
        trace_id: str | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown send error kind {kind!r}")
        super().__init__(message)
        self.kind: SendErrorKind = kind
        self.message = message[:_MAX_MESSAGE]
        self.code = code
        self.retry_after = retry_after
        self.http_status = http_status
        self.trace_id = trace_id

    def scrubbed(self, secrets: Iterable[str]) -> SendError:
        """A copy whose message has every secret in ``secrets`` replaced by ``***``."""
        # From the untruncated text: a secret cut in half by the truncation would survive.
        return SendError(
            self.kind,
            mask(str(self.args[0]), list(secrets)),
            code=self.code,
            retry_after=self.retry_after,
            http_status=self.http_status,
            trace_id=self.trace_id,
        )

    def __str__(self) -> str:
        code = f" code {self.code}" if self.code is not None else ""
        trace = f" (fbtrace_id {self.trace_id})" if self.trace_id else ""
        return f"{self.kind}{code}: {self.message}{trace}"

    def __repr__(self) -> str:
        return (
            f"SendError(kind={self.kind!r}, code={self.code!r}, retry_after={self.retry_after!r},"
            f" http_status={self.http_status!r}, message={self.message!r})"
        )


@runtime_checkable
class Channel(Protocol):
    """A provider client. ``send`` raises :class:`SendError`; ``check`` returns ``None`` when
    healthy, else a short reason fit for an admin (e.g. the token was rejected)."""

    name: str

    def send(self, msg: OutgoingMessage) -> SendResult:
        """Hand one message to the provider; raise :class:`SendError` on any failure."""
        ...

    def check(self) -> str | None:
        """Probe credentials and reachability without sending anything."""
        ...


def classify_transport_error(
    exc: requests.RequestException | TransportError, where: str
) -> SendError:
    """Classify a failure below HTTP: did the request leave the machine or not?

    A refused or timed-out *connect* sent nothing, so it is safe to retry. Anything after the
    connection was up (read timeout, connection dropped mid-answer) may have reached the provider,
    and neither WhatsApp nor Telegram has an idempotency key: the outcome is ``unknown``.
    ``where`` names the host, never the URL (Telegram's URL holds the token). ``requests``'
    exceptions (Telegram) and the connection pool's (WhatsApp) get the same words.
    """
    if isinstance(exc, TransportError):
        return _transport_outcome(where, str(exc), not exc.sent, exc.timed_out)
    name = type(exc).__name__
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return SendError("channel_broken", f"the API address for {where} is not valid ({name})")
    read_timeout = isinstance(exc, requests.exceptions.ReadTimeout)
    return _transport_outcome(where, name, _request_never_left(exc), read_timeout)


def _transport_outcome(where: str, detail: str, never_left: bool, timed_out: bool) -> SendError:
    if never_left:
        return SendError("transient", f"could not connect to {where} ({detail}); nothing was sent")
    if timed_out:
        return SendError("unknown", f"no answer from {where} in time ({detail}); it may have sent")
    return SendError("unknown", f"connection to {where} broke after the request ({detail})")


def _request_never_left(exc: BaseException) -> bool:
    if isinstance(
        exc,
        requests.exceptions.ConnectTimeout
        | requests.exceptions.SSLError
        | requests.exceptions.ProxyError,
    ):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError) or not exc.args:
        return False
    reason = getattr(exc.args[0], "reason", exc.args[0])
    # urllib3's NewConnectionError (refused, DNS) is a ConnectTimeoutError subclass.
    return isinstance(reason, ConnectTimeoutError)


# --- WhatsApp Cloud API (messaging.md §1.6, §1.10) ------------------------------------------
_WA_KINDS: dict[int, SendErrorKind] = {
    # Meta-side trouble that passes: retry with backoff.
    1: "transient",
    2: "transient",
    131000: "transient",
    131016: "transient",
    133004: "transient",
    # App-, WABA- and number-level rate limits: every send would fail, so slow the channel.
    4: "throttled",
    80007: "throttled",
    130429: "throttled",
    131056: "recipient_rate",
    # Sender restricted for quality or policy: sending more makes it worse.
    131048: "channel_paused",
    368: "channel_paused",
    # The display name is not approved: an account-level state, nothing passes until it is.
    131037: "channel_paused",
    # The business account is in maintenance: retry later (messaging.md §0).
    131057: "transient",
    # Credentials, permissions, account state: nothing will pass until an operator acts.
    0: "channel_broken",
    3: "channel_broken",
    10: "channel_broken",
    190: "channel_broken",
    131005: "channel_broken",
    131031: "channel_broken",
    131042: "channel_broken",
    133010: "channel_broken",
    131026: "no_whatsapp",
}


def whatsapp_kind(
    code: int | None, http_status: int | None = None, is_transient: bool = False
) -> SendErrorKind:
    """The kind for a Meta error code; the HTTP status decides only when the code is unknown.

    ``is_transient`` (v23 errors carry it) makes an otherwise unknown code a retry."""
    if code is not None:
        if code in _WA_KINDS:
            return _WA_KINDS[code]
        if 200 <= code <= 299:
            return "channel_broken"
        if is_transient:
            return "transient"
        if http_status is None or http_status < 500:
            # 131047, 1320xx, 100, 1310xx parameter errors, 131049/131050 opt-outs, ...
            return "permanent"
    return _kind_from_status(http_status)


def _kind_from_status(http_status: int | None) -> SendErrorKind:
    if http_status is None:
        return "unknown"
    if http_status == 429:
        return "throttled"
    if http_status in (401, 403):
        return "channel_broken"
    if http_status == 504:
        # A gateway gave up waiting for the provider, which may still have accepted it.
        return "unknown"
    if http_status >= 500:
        return "transient"
    return "permanent"


def classify_whatsapp_error(
    http_status: int, body: Any, retry_after: float | None = None
) -> SendError:
    """Turn a non-2xx Graph API answer into a :class:`SendError`.

    Classifies by ``error.code`` as Meta advises (mirrors disagree on the HTTP status of the
    rate-limit codes); the HTTP status decides only for unknown codes and non-JSON bodies.
    ``body`` is the parsed JSON (or anything else for a non-JSON answer).
    """
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        kind = _kind_from_status(http_status)
        return SendError(kind, f"HTTP {http_status} without a Graph error", http_status=http_status)
    code = error.get("code") if isinstance(error.get("code"), int) else None
    text = str(error.get("message") or "no message")
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, Mapping) else None
    if details and details not in text:
        text = f"{text}: {details}"
    trace = error.get("fbtrace_id")
    return SendError(
        whatsapp_kind(code, http_status, error.get("is_transient") is True),
        text,
        code=code,
        retry_after=retry_after,
        http_status=http_status,
        trace_id=str(trace) if trace else None,
    )


# --- Telegram Bot API (messaging.md §2) -----------------------------------------------------
def classify_telegram_error(http_status: int, body: Any) -> SendError:
    """Turn a failed Bot API answer into a :class:`SendError`.

    ``parameters.retry_after`` always means "throttled, wait exactly that long" (the whole bot
    may be limited). 401/404 mean the token is wrong; 400 (chat not found, bad text, migrated
    group) and 403 (blocked, never started, deactivated, kicked) will not pass on retry.
    """
    data = body if isinstance(body, Mapping) else {}
    code = data.get("error_code") if isinstance(data.get("error_code"), int) else None
    description = str(data.get("description") or f"HTTP {http_status}")
    params = data.get("parameters")
    params = params if isinstance(params, Mapping) else {}
    status = code or http_status
    retry_after = params.get("retry_after")
    if isinstance(retry_after, int | float):
        return SendError(
            "throttled",
            description,
            code=code,
            retry_after=float(retry_after),
            http_status=http_status,
        )
    if "migrate_to_chat_id" in params:
        description = f"{description} (new chat id {params['migrate_to_chat_id']})"
    if status in (401, 404):
        kind: SendErrorKind = "channel_broken"
    elif status in (400, 403):
        kind = "permanent"
    else:
        kind = _kind_from_status(status)
    return SendError(kind, description, code=code, http_status=http_status)
