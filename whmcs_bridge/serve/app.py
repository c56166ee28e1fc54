"""The WSGI app of ``serve``: ``POST /wake``, ``GET /healthz``, and routes plugins register."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from whmcs_bridge.serve.signing import verify

if TYPE_CHECKING:
    from whmcs_bridge.bridge import Bridge

log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024  # Meta's webhooks can be up to 3 MB (messaging.md §0)
Response = tuple[int, list[tuple[str, str]], bytes]
Handler = Callable[["Bridge", "Request"], Response]

STATUS_TEXT = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Headers(Mapping[str, str]):
    """Request headers, case-insensitive."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._items = {k.lower(): v for k, v in items}

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Request:
    """What a route handler gets."""

    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    body: bytes
    remote_addr: str


def signature_problem(bridge: Bridge, request: Request) -> str | None:
    """Why a request signed by the hook file is refused (``None``: authentic and fresh).

    Routes that WHMCS's hook file calls (``/wake``, ``/upgrades/price``) share this check; the
    caller answers 401 with the reason.
    """
    secret = bridge.config.serve.get("wake_secret")
    reason = verify(
        secret.reveal() if secret else "",
        request.headers.get("x-bridge-timestamp"),
        request.headers.get("x-bridge-signature"),
        request.body,
    )
    if reason:
        log.warning("refused %s from %s: %s", request.path, request.remote_addr, reason)
    return reason


def json_response(status: int, data: Any) -> Response:
    return status, [("Content-Type", "application/json")], json.dumps(data).encode()


class BridgeApp:
    """A small WSGI application; the server (waitress) does the HTTP."""

    def __init__(
        self, bridge: Bridge, wake: Callable[[], None], health: Callable[[], dict[str, Any]]
    ) -> None:
        self.bridge = bridge
        self.wake = wake
        self.health = health
        self.routes: dict[tuple[str, str], Handler] = {
            ("POST", "/wake"): self._wake,
            ("GET", "/healthz"): self._healthz,
        }
        from whmcs_bridge.serve.staff import staff_routes

        for method, path, handler in staff_routes(health):
            self.register(method, path, handler)
        for result in bridge.plugins.call_each("bridge_register_routes", register=self.register):
            if not result.ok:
                log.error("plugin %s: cannot add its routes: %s", result.plugin, result.error)

    def register(self, method: str, path: str, handler: Handler) -> None:
        """Add a route; plugins call this through ``bridge_register_routes``."""
        key = (method.upper(), path)
        if key in self.routes:
            raise ValueError(f"route {method} {path} is already registered")
        self.routes[key] = handler

    def _wake(self, bridge: Bridge, request: Request) -> Response:
        reason = signature_problem(bridge, request)
        if reason:
            return json_response(401, {"error": reason})
        self.wake()
        return json_response(202, {"ok": True, "cycle": "soon"})

    def _healthz(self, bridge: Bridge, request: Request) -> Response:
        state = self.health()
        return json_response(200 if state.get("ok") else 503, state)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        status, headers, body = self.handle(environ)
        start_response(
            f"{status} {STATUS_TEXT.get(status, 'Status')}",
            [*headers, ("Content-Length", str(len(body)))],
        )
        return [body]

    def handle(self, environ: dict[str, Any]) -> Response:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "/") or "/"
        handler = self.routes.get((method, path))

        def refuse(status: int, error: str) -> Response:
            """A bad request: a 4xx and one log line (never a 500, never a traceback)."""
            log.warning(
                "refused %s %s from %s: %d %s",
                method[:16],
                path[:200],
                environ.get("REMOTE_ADDR", ""),
                status,
                error,
            )
            return json_response(status, {"error": error})

        if handler is None:
            allowed = [m for (m, p) in self.routes if p == path]
            return refuse(405 if allowed else 404, "no such route")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return refuse(400, "bad Content-Length")
        if length < 0:
            return refuse(400, "bad Content-Length")
        if length > MAX_BODY:
            return refuse(413, "body too large")
        body = environ["wsgi.input"].read(length) if length else b""
        headers = Headers(
            [(k[5:].replace("_", "-"), v) for k, v in environ.items() if k.startswith("HTTP_")]
            + [("content-type", environ.get("CONTENT_TYPE", ""))]
        )
        request = Request(
            method,
            path,
            dict(parse_qsl(environ.get("QUERY_STRING", ""))),
            headers,
            body,
            environ.get("REMOTE_ADDR", ""),
        )
        try:
            return handler(self.bridge, request)
        except Exception:
            log.exception("route %s %s failed", method, path)
            return json_response(500, {"error": "internal error"})
