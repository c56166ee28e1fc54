"""The WhatsApp channel's pool of persistent connections, on real loopback sockets.

What matters most is how a failure is classified: neither WhatsApp nor Telegram has an
idempotency key, so a request that never left is ``transient`` ("nothing was sent") and one that
may have reached the provider is ``unknown``. The stand-in plays the provider; small raw socket
servers play the odd servers and proxies (and count the connections they accept).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO
from urllib.parse import urlsplit

import pytest
from test_channels import assert_secret_absent

from whmcs_bridge.channels.base import OutgoingMessage, SendError
from whmcs_bridge.channels.http_pool import HttpPool, Proxy
from whmcs_bridge.channels.whatsapp import WhatsAppChannel
from whmcs_bridge.sandbox.whatsapp_standin import WhatsAppStandIn

TOKEN = "EAAGpoolSECRETwhatsapptoken0123456789"
VERSION = "v23.0"
PHONE_ID = "106540352242922"
ORIGIN = "graph.facebook.invalid"  # never resolved: with a proxy only the proxy is dialled


# --- raw servers -----------------------------------------------------------------------------
class RawServer:
    """A TCP server on 127.0.0.1 that runs ``handle(sock, server)`` in a thread per accepted
    connection, counts the connections and keeps what the handlers ``note``."""

    def __init__(self, handle: Callable[[socket.socket, RawServer], None]) -> None:
        self.handle = handle
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self.accepted = 0
        self.notes: list[object] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def note(self, item: object) -> None:
        with self.lock:
            self.notes.append(item)

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self._run, args=(sock,), daemon=True).start()

    def _run(self, sock: socket.socket) -> None:
        sock.settimeout(5)
        with sock, contextlib.suppress(OSError):
            self.handle(sock, self)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.listener.close()


def read_request(reader: BinaryIO) -> bytes | None:
    """The raw head and body of the next request on a connection; None when the client hung up."""
    head = b""
    while (line := reader.readline()) not in (b"\r\n", b"\n"):
        if not line:
            return None
        head += line
    length = 0
    for header in head.split(b"\r\n"):
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + b"\r\n" + reader.read(length)


def accepted_body(wamid: str) -> bytes:
    """Meta's answer to an accepted template send."""
    answer = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "+5491123456789", "wa_id": "5491123456789"}],
        "messages": [{"id": wamid, "message_status": "accepted"}],
    }
    return json.dumps(answer).encode()


def http_answer(body: bytes, *headers: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/json", *headers]
    if not any(h.lower().startswith("transfer-encoding") for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def keep_alive(sock: socket.socket, server: RawServer) -> None:
    """Answer every request on the connection, as a keep-alive server does."""
    reader = sock.makefile("rb")
    while (request := read_request(reader)) is not None:
        server.note(request)
        sock.sendall(http_answer(accepted_body(f"wamid.{len(server.notes)}")))


def relay_to(port: int) -> Callable[[socket.socket, RawServer], None]:
    """A handler that pipes each connection to 127.0.0.1:``port``: counts the stand-in's
    connections without touching it."""

    def relay(client: socket.socket, server: RawServer) -> None:
        with socket.create_connection(("127.0.0.1", port)) as upstream:
            for sock in (client, upstream):  # a split answer must not wait for a delayed ACK
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
            back.start()
            pump(client, upstream)
            back.join(5)

    return relay


def pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def wait_for(condition: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# --- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wa_server() -> Iterator[WhatsAppStandIn]:
    with WhatsAppStandIn(token=TOKEN, phone_number_id=PHONE_ID) as server:
        yield server


@pytest.fixture
def wa(wa_server: WhatsAppStandIn) -> WhatsAppStandIn:
    wa_server.reset()
    return wa_server


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[socket.socket, RawServer], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(handle: Callable[[socket.socket, RawServer], None]) -> RawServer:
        servers.append(server := RawServer(handle))
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def make_channel() -> Iterator[Callable[..., WhatsAppChannel]]:
    channels: list[WhatsAppChannel] = []

    def make(api_base: str, timeout: float = 2.0) -> WhatsAppChannel:
        channels.append(channel := WhatsAppChannel(api_base, VERSION, PHONE_ID, TOKEN, timeout))
        return channel

    yield make
    for channel in channels:
        channel.close()


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment without the machine's own proxy settings (lower case would win)."""
    for name in ("https_proxy", "no_proxy", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def message(recipient: str = "+5491123456789") -> OutgoingMessage:
    return OutgoingMessage(
        outbox_id=17,
        recipient=recipient,
        event="invoice_created",
        language="es",
        text="Hola Juan, tu factura 1234 está lista.",
        template="invoice_created",
        template_language="es_AR",
        params=["Juan", "1234"],
    )


def send_error(channel: WhatsAppChannel, msg: OutgoingMessage | None = None) -> SendError:
    with pytest.raises(SendError) as caught:
        channel.send(msg or message())
    return caught.value


def assert_nothing_sent(error: SendError) -> None:
    assert error.kind == "transient", error
    assert "nothing was sent" in error.message


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- reuse -----------------------------------------------------------------------------------
def test_sequential_sends_share_one_connection(wa: WhatsAppStandIn, serve, make_channel) -> None:
    relay = serve(relay_to(urlsplit(wa.base_url).port))
    sender = make_channel(relay.url)
    wamids = {sender.send(message()).provider_message_id for _ in range(20)}
    assert len(wamids) == 20 and len(wa.requests) == 20
    assert relay.accepted == 1


def test_concurrent_threads_use_at_most_one_connection_each(
    wa: WhatsAppStandIn, serve, make_channel
) -> None:
    relay = serve(relay_to(urlsplit(wa.base_url).port))
    sender = make_channel(relay.url)
    threads, each = 4, 15
    start = threading.Barrier(threads)

    def work(_: int) -> int:
        start.wait()
        return sum(1 for _ in range(each) if sender.send(message()).provider_message_id)

    with ThreadPoolExecutor(threads) as pool:
        assert sum(pool.map(work, range(threads))) == threads * each
    assert len(wa.requests) == threads * each
    assert 1 <= relay.accepted <= threads


def test_a_chunked_answer_is_read_whole_and_the_connection_reused(serve, make_channel) -> None:
    def chunked(sock: socket.socket, server: RawServer) -> None:
        reader = sock.makefile("rb")
        while read_request(reader) is not None:
            server.note("request")
            body = accepted_body(f"wamid.chunked{len(server.notes)}")
            sock.sendall(http_answer(b"", "Transfer-Encoding: chunked"))
            for piece in (body[:10], body[10:40], body[40:]):
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                time.sleep(0.01)  # separate segments: the reader must wait for the rest
            sock.sendall(b"0\r\n\r\n")

    server = serve(chunked)
    sender = make_channel(server.url)
    assert sender.send(message()).provider_message_id == "wamid.chunked1"
    assert sender.send(message()).provider_message_id == "wamid.chunked2"
    assert server.accepted == 1


def test_an_answer_with_connection_close_is_not_kept(serve, make_channel) -> None:
    def closing(sock: socket.socket, server: RawServer) -> None:
        reader = sock.makefile("rb")
        if read_request(reader) is None:
            return
        sock.sendall(http_answer(accepted_body(f"wamid.{server.accepted}"), "Connection: close"))
        # The server leaves the socket open: only the client can end it.
        server.note(("client hung up", reader.read(1) == b""))

    server = serve(closing)
    sender = make_channel(server.url)
    assert sender.send(message()).provider_message_id == "wamid.1"
    assert wait_for(lambda: len(server.notes) == 1)
    assert sender.send(message()).provider_message_id == "wamid.2"
    assert server.accepted == 2
    assert wait_for(lambda: len(server.notes) == 2)
    assert server.notes == [("client hung up", True)] * 2


# --- a connection the server closed ------------------------------------------------------------
@pytest.mark.parametrize("how", ["fin", "reset"])
def test_an_idle_connection_the_server_closed_is_replaced(serve, make_channel, how) -> None:
    closed = threading.Event()

    def answer_once_then_close(sock: socket.socket, server: RawServer) -> None:
        reader = sock.makefile("rb")
        if read_request(reader) is None:
            return
        sock.sendall(http_answer(accepted_body(f"wamid.{server.accepted}")))
        time.sleep(0.05)  # idle a moment, then the keep-alive timeout ends it
        if how == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        reader.close()
        sock.close()
        closed.set()

    server = serve(answer_once_then_close)
    sender = make_channel(server.url)
    assert sender.send(message()).provider_message_id == "wamid.1"
    assert closed.wait(3)
    assert sender.send(message()).provider_message_id == "wamid.2"  # not "unknown"
    assert server.accepted == 2


def test_a_connection_dropped_after_the_request_is_unknown(serve, make_channel) -> None:
    def read_then_hang_up(sock: socket.socket, server: RawServer) -> None:
        server.note(read_request(sock.makefile("rb")))

    server = serve(read_then_hang_up)
    error = send_error(make_channel(server.url))
    assert error.kind == "unknown"
    assert "after the request" in error.message
    assert wait_for(lambda: len(server.notes) == 1)
    assert b"/messages" in server.notes[0]  # the server had it whole: it may have acted on it


# --- nothing sent ------------------------------------------------------------------------------
def test_a_refused_connection_sent_nothing(make_channel) -> None:
    assert_nothing_sent(send_error(make_channel(closed_port_url())))


def test_a_stopped_standin_is_noticed_before_the_request_is_written(make_channel) -> None:
    standin = WhatsAppStandIn(token=TOKEN, phone_number_id=PHONE_ID)
    base = standin.start()
    restarted = WhatsAppStandIn(token=TOKEN, phone_number_id=PHONE_ID, port=urlsplit(base).port)
    try:
        sender = make_channel(base)
        sender.send(message())
        standin.stop()  # cuts the pooled connection and stops listening
        assert_nothing_sent(send_error(sender))
        assert len(standin.requests) == 1
        restarted.start()  # the same port again: the channel recovers with a new connection
        assert sender.send(message()).provider_message_id
        assert len(restarted.requests) == 1
    finally:
        standin.stop()
        restarted.stop()


def test_a_failed_tls_handshake_sent_nothing(serve, make_channel) -> None:
    def plain_http(sock: socket.socket, server: RawServer) -> None:
        server.note(sock.recv(4096))  # the ClientHello
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    server = serve(plain_http)
    error = send_error(make_channel(f"https://127.0.0.1:{server.port}"))
    assert_nothing_sent(error)
    assert server.accepted == 1


# --- read timeout ------------------------------------------------------------------------------
def test_a_read_timeout_is_unknown_and_its_late_answer_never_read(
    wa: WhatsAppStandIn, make_channel
) -> None:
    wa.delay(0.5, times=1)
    sender = make_channel(wa.base_url, timeout=0.2)
    error = send_error(sender, message("+5491100000001"))
    assert error.kind == "unknown"
    assert "may have sent" in error.message
    assert len(wa.requests) == 1  # Meta got it: resending blindly could message twice
    time.sleep(0.5)  # the stand-in writes its late answer now
    result = sender.send(message("+5491100000002"))
    assert wa.sent[result.provider_message_id]["to"] == "+5491100000002"


# --- proxies -----------------------------------------------------------------------------------
def proxy_answering(answer: bytes | None) -> Callable[[socket.socket, RawServer], None]:
    """A proxy that notes the CONNECT request and answers ``answer`` (None: hangs up)."""

    def proxy(sock: socket.socket, server: RawServer) -> None:
        server.note(read_request(sock.makefile("rb")))
        if answer is not None:
            sock.sendall(answer)

    return proxy


REFUSALS = {
    "502": b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
    "407": b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    "hang up": None,
    "not http": b"SSH-2.0-OpenSSH_9.6\r\n",
    # the tunnel opens, then the TLS handshake with the origin fails
    "tunnel then hang up": b"HTTP/1.1 200 Connection established\r\n\r\n",
}


@pytest.mark.parametrize("answer", REFUSALS.values(), ids=REFUSALS.keys())
def test_https_goes_through_the_proxy_and_a_failed_tunnel_sent_nothing(
    proxy_env, serve, make_channel, answer
) -> None:
    proxy = serve(proxy_answering(answer))
    proxy_env.setenv("HTTPS_PROXY", proxy.url)
    assert_nothing_sent(send_error(make_channel(f"https://{ORIGIN}")))
    assert wait_for(lambda: len(proxy.notes) == 1)
    connect = proxy.notes[0]
    assert connect.startswith(f"CONNECT {ORIGIN}:443 HTTP/1.".encode())
    assert TOKEN.encode() not in connect  # the bearer token travels inside the tunnel only


def test_the_proxy_credentials_go_in_the_connect_request(proxy_env, serve, make_channel) -> None:
    proxy = serve(proxy_answering(REFUSALS["502"]))
    proxy_env.setenv("https_proxy", f"http://bridge%40corp:s%3Acret@127.0.0.1:{proxy.port}")
    error = send_error(make_channel(f"https://{ORIGIN}:8443"))
    assert_nothing_sent(error)
    assert "s:cret" not in str(error) and "s%3Acret" not in str(error)
    assert wait_for(lambda: len(proxy.notes) == 1)
    head = proxy.notes[0].split(b"\r\n")
    assert head[0].startswith(f"CONNECT {ORIGIN}:8443 ".encode())
    expected = base64.b64encode(b"bridge@corp:s:cret")
    assert b"Proxy-Authorization: Basic " + expected in head


def test_no_proxy_hosts_are_reached_directly(proxy_env, serve, make_channel) -> None:
    proxy = serve(proxy_answering(REFUSALS["502"]))
    origin = serve(lambda sock, server: server.note(sock.recv(4096)))
    proxy_env.setenv("HTTPS_PROXY", proxy.url)
    proxy_env.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert_nothing_sent(send_error(make_channel(f"https://127.0.0.1:{origin.port}")))
    assert origin.accepted == 1 and proxy.accepted == 0


def test_the_proxy_is_read_from_the_environment_as_requests_did(proxy_env) -> None:
    assert HttpPool._proxy_for("graph.facebook.com") is None
    proxy_env.setenv("HTTPS_PROXY", "http://proxy.corp.example:3128")
    proxy_env.setenv("NO_PROXY", "localhost,.telegram.org")
    assert HttpPool._proxy_for("graph.facebook.com") == Proxy("proxy.corp.example", 3128)
    assert HttpPool._proxy_for("api.telegram.org") is None
    proxy_env.setenv("HTTPS_PROXY", "proxy.corp.example:3128")  # no scheme: http://
    assert HttpPool._proxy_for("graph.facebook.com") == Proxy("proxy.corp.example", 3128)
    proxy_env.setenv("HTTPS_PROXY", "http://proxy.corp.example")  # urllib3: the scheme's port
    assert HttpPool._proxy_for("graph.facebook.com") == Proxy("proxy.corp.example", 80)
    proxy_env.setenv("HTTPS_PROXY", "http://bridge:proxySECRET@proxy.corp.example:3128")
    with_credentials = HttpPool._proxy_for("graph.facebook.com")
    assert with_credentials is not None and with_credentials.headers
    assert "Proxy-Authorization" not in repr(with_credentials)  # base64 is no secrecy
    proxy_env.setenv("NO_PROXY", "*")
    assert HttpPool._proxy_for("graph.facebook.com") is None
    # an http origin (the stand-ins) is never proxied
    proxy_env.delenv("NO_PROXY")
    assert HttpPool("http://127.0.0.1:9", 1)._proxy is None


# --- secrets -----------------------------------------------------------------------------------
def test_the_token_never_appears_in_errors_or_logs(
    wa: WhatsAppStandIn, proxy_env, serve, make_channel, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    refused = make_channel(closed_port_url())
    assert_secret_absent(TOKEN, send_error(refused), caplog, refused)
    wa.delay(0.5, times=1)
    slow = make_channel(wa.base_url, timeout=0.1)
    assert_secret_absent(TOKEN, send_error(slow), caplog, slow)
    dropped = serve(lambda sock, server: server.note(read_request(sock.makefile("rb"))))
    broken = make_channel(dropped.url)
    assert_secret_absent(TOKEN, send_error(broken), caplog, broken)
    proxy = serve(proxy_answering(REFUSALS["not http"]))
    proxy_env.setenv("HTTPS_PROXY", f"http://bridge:proxySECRET@127.0.0.1:{proxy.port}")
    tunnelled = make_channel(f"https://{ORIGIN}")
    error = send_error(tunnelled)
    assert_secret_absent(TOKEN, error, caplog, tunnelled)
    assert_secret_absent("proxySECRET", error, caplog, tunnelled)


def test_a_token_with_a_line_break_is_refused_without_showing_it(wa: WhatsAppStandIn) -> None:
    """A token read from an environment variable may carry a line break: http.client would
    refuse the header and quote it, token included, in its error."""
    channel = WhatsAppChannel(wa.base_url, "v23.0", wa.phone_number_id, TOKEN + "\n", 2)
    with pytest.raises(SendError) as raised:
        channel.send(
            OutgoingMessage(
                outbox_id=1,
                recipient="+5491100000001",
                event="x",
                language="en",
                text="t",
                template="t",
            )
        )
    assert raised.value.kind == "channel_broken" and TOKEN not in str(raised.value)
    assert wa.requests == []
