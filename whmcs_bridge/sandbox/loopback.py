"""The loopback HTTP server behind the provider stand-ins (WhatsApp, Telegram).

A WSGI app served on 127.0.0.1 from a background thread records every request and can hold its
answers; each stand-in says what to answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any, Self
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

Json = dict[str, Any]
StartResponse = Callable[..., Any]


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
