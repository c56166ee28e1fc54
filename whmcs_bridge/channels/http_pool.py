"""Persistent HTTP/1.1 connections to one provider, shared by the sending threads.

The outbox sends up to a thousand requests a second to one host (graph.facebook.com). A new TCP
(and TLS) connection per request, or the per-request machinery of ``requests`` (hooks, adapters,
cookie jars, header merging: 0.5-0.7 ms of CPU per request measured here), costs more than
everything else the bridge does for a message. So the channel keeps a stack of open
``http.client`` connections: a thread takes one, makes its request, reads the whole answer and
puts it back (0.2 ms per request, JSON included).

What a failure means matters more than speed: neither WhatsApp nor Telegram has an idempotency
key, so a request that may have reached the provider must never be retried as if it had not.
:class:`TransportError` says which side of that line a failure fell on (``sent``). An idle
connection the server has closed is noticed before it is used (it reads as ready: the server's
FIN), so the usual cause of a broken reused connection does not turn a send into an unknown.
Proxies come from the environment (``HTTPS_PROXY``, ``NO_PROXY``) as with ``requests``: an
``https`` origin is reached through a ``CONNECT`` tunnel.
"""

from __future__ import annotations

import base64
import http.client
import select
import ssl
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import unquote, urlsplit

from .written import request_ready, request_written

_IDLE_SECONDS = 20.0  # below the usual server keep-alive timeouts (nginx 75 s, ours 30 s)


class TransportError(Exception):
    """A request failed below HTTP. ``sent``: the request may have reached the server.
    ``timed_out``: no answer within the timeout (after sending when ``sent``)."""

    def __init__(self, reason: str, *, sent: bool, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent
        self.timed_out = timed_out


@dataclass(frozen=True)
class Response:
    """A whole answer: status, headers (case-insensitive ``get``) and body."""

    status: int
    headers: Message
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400


@dataclass(frozen=True)
class Proxy:
    """Where the ``CONNECT`` tunnels start; ``headers`` carry the proxy's credentials."""

    host: str
    port: int
    headers: dict[str, str] = field(default_factory=dict, repr=False)


class InvalidAddress(ValueError):
    """The base URL is not an ``http`` or ``https`` address with a host."""


def _tls_context() -> ssl.SSLContext:
    try:
        import certifi  # the bundle requests used: the same CAs are trusted as before
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class HttpPool:
    """Open connections to the origin of ``base_url`` for any number of threads."""

    def __init__(self, base_url: str, timeout: float, idle_seconds: float = _IDLE_SECONDS) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidAddress(f"not an http(s) address: {parts.scheme or '?'}://...")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.idle_seconds = idle_seconds
        self._idle: list[tuple[float, http.client.HTTPConnection]] = []
        self._lock = threading.Lock()
        self._tls = _tls_context() if self.scheme == "https" else None
        self._proxy = self._proxy_for(self.host) if self.scheme == "https" else None

    @staticmethod
    def _proxy_for(host: str) -> Proxy | None:
        """The ``HTTPS_PROXY`` that ``host`` is reached through, unless ``NO_PROXY`` names it."""
        proxy = urllib.request.getproxies().get("https")
        if not proxy or urllib.request.proxy_bypass(host):
            return None
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if not parts.hostname:
            return None
        headers: dict[str, str] = {}
        if parts.username is not None:  # http://user:password@proxy:3128, as requests sends it
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        # No port: the scheme's, as urllib3 (and so requests) reads it.
        return Proxy(parts.hostname, parts.port or 80, headers)

    def _new(self) -> http.client.HTTPConnection:
        if self.scheme == "http":
            return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        if self._proxy is None:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self._tls
            )
        proxy = self._proxy
        conn = http.client.HTTPSConnection(
            proxy.host, proxy.port, timeout=self.timeout, context=self._tls
        )
        conn.set_tunnel(self.host, self.port, headers=proxy.headers or None)
        return conn

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        """An open connection that still looks alive, else a new one; (conn, reused)."""
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._idle:
                    break
                since, conn = self._idle.pop()
            if now - since < self.idle_seconds and not _closed_by_peer(conn):
                return conn, True
            conn.close()
        conn = self._new()
        try:
            conn.connect()
        except TimeoutError as exc:
            conn.close()
            raise TransportError(f"connect timed out: {exc}", sent=False, timed_out=True) from None
        # Refused, unreachable, DNS, TLS handshake or certificate; a proxy that refused the
        # tunnel or answered something that is not HTTP (HTTPException): nothing was sent.
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise TransportError(f"{type(exc).__name__}: {exc}", sent=False) from None
        return conn, False

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.append((time.monotonic(), conn))

    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> Response:
        """One request on a pooled connection; raises :class:`TransportError` below HTTP."""
        conn, reused = self._take()
        request_ready()
        try:
            conn.request(method, self.prefix + path, body=body, headers=headers)
        except OSError as exc:
            conn.close()
            # Some bytes may have left: the server may have read enough to act on it.
            raise TransportError(f"{type(exc).__name__} while sending", sent=True) from None
        request_written()
        try:
            answer = conn.getresponse()
            data = answer.read()
        except TimeoutError:
            conn.close()
            raise TransportError("read timed out", sent=True, timed_out=True) from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            closed = isinstance(exc, http.client.RemoteDisconnected) and reused
            reason = "closed before answering" if closed else type(exc).__name__
            raise TransportError(reason, sent=True) from None
        if answer.will_close:
            conn.close()
        else:
            self._give_back(conn)
        return Response(answer.status, answer.headers, data)

    def close(self) -> None:
        """Close every idle connection (those in use are closed by their threads' errors)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _, conn in idle:
            conn.close()


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """An idle connection that reads as ready has been closed by the server (or is garbled)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
