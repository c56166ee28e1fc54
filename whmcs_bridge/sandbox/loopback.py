"""The loopback HTTP server behind the provider stand-ins (WhatsApp, Telegram).

A WSGI app served on 127.0.0.1 from a background thread records every request and can hold its
answers; each stand-in says what to answer. The server speaks HTTP/1.1 with persistent
connections, as the Graph API and the Bot API do: a client that keeps its connections open is
measured as it would be against the real service (wsgiref's server answers HTTP/1.0 and closes
every connection, which made each request pay a new TCP connection).

Each request is stamped with the moment its bytes arrived, the moment the provider's rate
window counts: on Linux the kernel's receive time of the segment (``SO_TIMESTAMPNS``), so a
stand-in thread that gets the CPU late (a loaded machine, a garbage collection in this process)
does not bunch requests that arrived apart; elsewhere, when the request line has been read.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import unquote

Json = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Json, StartResponse], list[bytes]]
RECEIVED = "whmcs_bridge.received"  # environ key: when the request line arrived (time.time())
_IDLE_SECONDS = 30.0  # an idle persistent connection is closed after this, as servers do
_KERNEL_STAMPS = sys.platform.startswith("linux")
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value
_STAMP_SPACE = socket.CMSG_SPACE(16) if hasattr(socket, "CMSG_SPACE") else 0


class _StampedSocket(io.RawIOBase):
    """A connection's bytes as a raw stream, keeping the kernel's arrival time of the last read."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.arrived = 0.0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size, ancillary, _flags, _address = self._sock.recvmsg_into([buffer], _STAMP_SPACE)
        self.arrived = 0.0
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= 16:
                seconds, nanoseconds = struct.unpack("qq", data[:16])
                self.arrived = seconds + nanoseconds / 1e9
        return size


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # A sender opening its connections at once (dozens at 1,000 messages/s) must not overflow
    # the listen queue, as socketserver's default of 5 does: a provider's front ends do not.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.open: set[socket.socket] = set()
        self.open_lock = threading.Lock()

    def server_bind(self) -> None:
        if _KERNEL_STAMPS:
            # Set on the listening socket, so an accepted one has it before its first byte.
            with contextlib.suppress(OSError):
                self.socket.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        super().server_bind()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up before its (delayed) answer was written is not an error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Cut every persistent connection (a stopped stand-in must refuse, not linger)."""
        with self.open_lock:
            sockets, self.open = list(self.open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; each request goes to the stand-in's WSGI-style app."""

    protocol_version = "HTTP/1.1"
    timeout = _IDLE_SECONDS
    # Headers and body are two writes: with Nagle on, the body would wait for the client's
    # delayed ACK (40 ms on Linux). Servers set TCP_NODELAY.
    disable_nagle_algorithm = True
    server: _Server
    _received = 0.0

    _stamped: _StampedSocket | None = None

    def setup(self) -> None:
        super().setup()
        if _KERNEL_STAMPS and _STAMP_SPACE:
            self._stamped = _StampedSocket(self.connection)
            self.rfile = io.BufferedReader(self._stamped)
        with self.server.open_lock:
            self.server.open.add(self.connection)

    def finish(self) -> None:
        with self.server.open_lock:
            self.server.open.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def parse_request(self) -> bool:
        # The request line has just been read: it arrived with the last bytes read from the
        # socket (a client waits for each answer, so they are this request's).
        arrived = self._stamped.arrived if self._stamped is not None else 0.0
        self._received = arrived or time.time()
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines would print tokens (Telegram puts them in the path)."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        environ: Json = {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": unquote(path, "iso-8859-1"),
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(length),
            "wsgi.input": io.BytesIO(body),
            RECEIVED: self._received,
        }
        if self.headers.get("Content-Type"):
            environ["CONTENT_TYPE"] = self.headers["Content-Type"]
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[key] = value
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            answer["status"], answer["headers"] = status, headers

        data = b"".join(self.server.app(environ, start_response))
        code, _, reason = answer["status"].partition(" ")
        self.send_response(int(code), reason)
        for name, value in answer["headers"]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


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
        "time": environ.get(RECEIVED) or time.time(),
    }


class LoopbackStandIn:
    """Base of the provider stand-ins: a WSGI app served on 127.0.0.1 from a background thread
    (one thread per connection, persistent) that records every request and can hold its answers.

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
            self._server = _Server(("127.0.0.1", self._port), self)
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
            self._server.close_connections()
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
