"""The API client's transport behaviour against a tiny real HTTP server on loopback, and money."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.panel.api import (
    ApiAuthError,
    ApiCommandNotFound,
    ApiNotFound,
    ApiOutcomeUnknown,
    ApiTransportError,
    ApiValidationError,
    WhmcsApi,
    encode_params,
    is_read_action,
)
from whmcs_bridge.panel.api_actions import to_date, to_decimal, to_int, unwrap_list
from whmcs_bridge.panel.money import Currency, MoneyFormatError, format_money, parse_money

IDENTIFIER = "ident-XYZZY-123"
SECRET = "s3cr3t-PLUGH-456"


class FakePanel:
    """A loopback HTTP server answering from a script: one step per request."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[list[tuple[str, str]]] = []
        self.script: list[tuple[str, Any]] = []
        panel = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(size).decode()
                panel.requests.append(parse_qsl(body, keep_blank_values=True))
                kind, arg = panel.script.pop(0) if panel.script else ("json", (200, {}))
                if kind == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if kind == "redirect":
                    status, location = arg
                    self.send_response(status)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if kind == "sleep":
                    time.sleep(arg)
                    arg = (200, {"result": "success"})
                status, data = arg
                payload = (data if isinstance(data, str) else json.dumps(data)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reply(self, data: Any, status: int = 200) -> None:
        self.script.append(("json", (status, data)))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def panel() -> Iterator[FakePanel]:
    fake = FakePanel()
    yield fake
    fake.close()


def make_api(url: str, **kw: Any) -> WhmcsApi:
    kw.setdefault("timeout", 2.0)
    return WhmcsApi(url, IDENTIFIER, SECRET, backoff=0.01, **kw)


def test_form_encoding_credentials_and_json(panel: FakePanel) -> None:
    panel.reply({"result": "success", "invoiceid": "7"})
    api = make_api(panel.url, accesskey="key!@#")
    api.call(
        "UpdateInvoice",
        {
            "invoiceid": 7,
            "itemdescription": {12: "Hosting", 13: "Domain"},
            "deletelineids": [3, 4],
            "publish": True,
            "notes": None,
            "credit": Decimal("1.50"),
        },
    )
    (sent,) = panel.requests
    form = dict(sent)
    assert form["action"] == "UpdateInvoice"
    assert form["responsetype"] == "json"
    assert form["identifier"] == IDENTIFIER and form["secret"] == SECRET
    assert form["accesskey"] == "key!@#"
    assert form["itemdescription[12]"] == "Hosting" and form["itemdescription[13]"] == "Domain"
    assert form["deletelineids[0]"] == "3" and form["deletelineids[1]"] == "4"
    assert form["publish"] == "1" and form["credit"] == "1.50"
    assert "notes" not in form


def test_encode_nested_and_read_rules() -> None:
    assert encode_params({"a": {"b": [1, {"c": False}]}}) == [("a[b][0]", "1"), ("a[b][1][c]", "0")]
    assert is_read_action("GetClientsDetails") and is_read_action("getinvoice")
    assert is_read_action("UpgradeProduct", {"calconly": True})
    assert not is_read_action("UpgradeProduct", {"calconly": None})
    assert not is_read_action("AddInvoicePayment")


def test_status_key_and_loose_json_helpers(panel: FakePanel) -> None:
    panel.reply({"status": "success", "permissions": {"permission": ["profile"]}})
    assert make_api(panel.url).call("GetPermissionsList")["permissions"]
    assert unwrap_list({"client": [{"id": 1}]}, "client") == [{"id": 1}]
    assert unwrap_list("", "client") == [] and unwrap_list({"client": {"id": 1}}, "client") == [
        {"id": 1}
    ]
    assert to_int("12") == 12 and to_decimal("12.95") == Decimal("12.95")
    assert to_date("0000-00-00") is None and to_date("0000-00-00 00:00:00") is None
    assert str(to_date("2024-07-15")) == "2024-07-15"


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("Authentication Failed", ApiAuthError),
        ("Invalid IP 1.2.3.4", ApiAuthError),
        ("Invalid Access Key", ApiAuthError),
        ("Client Not Found", ApiNotFound),
        ("Service ID not found", ApiNotFound),
        ("Command Not Found", ApiCommandNotFound),
        ("Existing Cancellation Request Exists", ApiValidationError),
    ],
)
def test_errors_are_typed(panel: FakePanel, message: str, error: type[BridgeError]) -> None:
    panel.reply({"result": "error", "message": message}, status=403 if "Auth" in message else 200)
    with pytest.raises(error) as caught:
        make_api(panel.url).call("GetClientsDetails", {"clientid": 1})
    assert message in str(caught.value)
    assert len(panel.requests) == 1  # a refusal is an answer: never retried


def test_secret_absent_from_logs_errors_and_repr(
    panel: FakePanel, caplog: pytest.LogCaptureFixture
) -> None:
    panel.reply({"result": "error", "message": "Authentication Failed"}, status=403)
    api = make_api(panel.url, accesskey="AKEY-999")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ApiAuthError) as caught:
        api.call("AddContact", {"clientid": 1})
    shown = caplog.text + str(caught.value) + repr(caught.value) + repr(api)
    assert "Authentication Failed" in caplog.text and "AddContact" in caplog.text
    for credential in (SECRET, IDENTIFIER, "AKEY-999"):
        assert credential not in shown


def test_lost_write_answer_is_unknown_and_sent_once(panel: FakePanel) -> None:
    panel.script.append(("drop", None))
    with pytest.raises(ApiOutcomeUnknown):
        make_api(panel.url).call("AddInvoicePayment", {"invoiceid": 1, "transid": "t"})
    assert len(panel.requests) == 1


def test_write_timeout_is_unknown_and_sent_once(panel: FakePanel) -> None:
    panel.script.append(("sleep", 1.0))
    started = time.monotonic()
    with pytest.raises(ApiOutcomeUnknown):
        make_api(panel.url, timeout=0.3).call("ModuleSuspend", {"serviceid": 1})
    assert time.monotonic() - started < 1.0
    assert len(panel.requests) == 1


def test_write_5xx_is_unknown_not_retried(panel: FakePanel) -> None:
    panel.reply("<html>Bad Gateway</html>", status=502)
    with pytest.raises(ApiOutcomeUnknown):
        make_api(panel.url).call("AddCancelRequest", {"serviceid": 1})
    assert len(panel.requests) == 1


def test_read_503_then_200_is_retried(panel: FakePanel) -> None:
    panel.reply("busy", status=503)
    panel.reply({"result": "success", "value": "on"})
    value = make_api(panel.url).get_configuration_value("CreditOnDowngrade")
    assert value == "on"
    assert len(panel.requests) == 2


def test_read_lost_answer_is_retried(panel: FakePanel) -> None:
    panel.script.append(("drop", None))
    panel.reply({"result": "success", "value": "x"})
    assert make_api(panel.url).get_configuration_value("Version") == "x"
    assert len(panel.requests) == 2


def test_read_gives_up_after_attempts(panel: FakePanel) -> None:
    for _ in range(3):
        panel.reply("busy", status=503)
    with pytest.raises(ApiTransportError):
        make_api(panel.url).call("GetInvoice", {"invoiceid": 1})
    assert len(panel.requests) == 3


@pytest.mark.parametrize("status", [301, 302, 307])
@pytest.mark.parametrize("action", ["AddInvoicePayment", "GetInvoice"])
def test_redirect_is_not_followed_and_names_the_new_address(
    panel: FakePanel, status: int, action: str
) -> None:
    panel.script.append(("redirect", (status, "https://panel.example.com/includes/api.php")))
    with pytest.raises(ApiTransportError) as caught:
        make_api(panel.url).call(action, {"invoiceid": 1, "transid": "t"})
    assert not isinstance(caught.value, ApiOutcomeUnknown)
    assert caught.value.retryable is False
    assert str(caught.value) == (
        f"WHMCS API {action}: the panel redirects to "
        "https://panel.example.com/includes/api.php; set [api] url to it"
    )
    assert SECRET not in str(caught.value)
    assert len(panel.requests) == 1  # sent once, never re-sent as a GET or elsewhere


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_write_is_retried_because_nothing_was_sent() -> None:
    port = _free_port()
    started: list[FakePanel] = []

    class StartsPanelAfterFirstTry(requests.Session):
        def post(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            try:
                return super().post(*args, **kwargs)
            finally:
                if not started:
                    started.append(FakePanel(port))
                    started[0].reply({"result": "success", "contactid": "9"})

    api = make_api(f"http://127.0.0.1:{port}", session=StartsPanelAfterFirstTry())
    try:
        assert api.add_contact(1, firstname="Ana") == 9
        assert len(started[0].requests) == 1
    finally:
        started[0].close()


def test_refused_connection_gives_transport_error() -> None:
    api = make_api(f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(ApiTransportError) as caught:
        api.call("AddContact", {"clientid": 1})
    assert caught.value.retryable
    assert SECRET not in str(caught.value)


# -- money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "fmt", "text"),
    [
        ("1234.56", 1, "$1234.56 USD"),
        ("1234.56", 2, "$1,234.56 USD"),
        ("1234.56", 3, "$1.234,56 USD"),
        ("1234.56", 4, "$1,235 USD"),
        ("-8.67", 2, "$-8.67 USD"),
        ("-1234567.891", 3, "$-1.234.567,89 USD"),
        ("0.005", 1, "$0.01 USD"),
        ("-0.001", 1, "$0.00 USD"),
    ],
)
def test_format_money_like_whmcs(amount: str, fmt: int, text: str) -> None:
    assert format_money(Decimal(amount), "$", " USD", fmt) == text


@pytest.mark.parametrize(
    ("text", "fmt", "amount"),
    [
        ("$-8.67 USD", 2, "-8.67"),
        ("-$8.67 USD", 2, "-8.67"),
        ("$8.67- USD", 2, "-8.67"),
        ("  1.234,56 € ", 3, "1234.56"),
        ("1,234", 4, "1234"),
        ("5.00", 1, "5.00"),
    ],
)
def test_parse_money_tolerates_sign_and_affixes(text: str, fmt: int, amount: str) -> None:
    prefix, suffix = ("$" if "$" in text else ""), (" USD" if "USD" in text else " €")
    assert parse_money(text, prefix, suffix, fmt) == Decimal(amount)


def test_parse_money_rejects_garbage() -> None:
    with pytest.raises(MoneyFormatError):
        parse_money("$1,23.4 USD", "$", " USD", 2)
    with pytest.raises(MoneyFormatError):
        format_money(Decimal(1), "", "", 5)


AFFIXES = st.sampled_from([("$", " USD"), ("", " EUR"), ("€", ""), ("R$ ", ""), ("", "")])


@given(
    amount=st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False),
    fmt=st.sampled_from([1, 2, 3, 4]),
    affixes=AFFIXES,
)
def test_money_round_trip(amount: Decimal, fmt: int, affixes: tuple[str, str]) -> None:
    prefix, suffix = affixes
    currency = Currency(1, "X", prefix, suffix, fmt)
    text = currency.format_amount(amount)
    back = currency.parse_amount(text)
    places = Decimal(1) if fmt == 4 else Decimal("0.01")
    assert back == amount.quantize(places, rounding="ROUND_HALF_UP")
    assert format_money(back, prefix, suffix, fmt) == text
