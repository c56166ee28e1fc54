"""Provider clients against the WhatsApp and Telegram stand-ins, over real loopback HTTP."""

from __future__ import annotations

import json
import logging
import re
import socket
import traceback
from collections.abc import Iterator
from datetime import UTC

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from whmcs_bridge.channels.base import (
    Channel,
    OutgoingMessage,
    SendError,
    classify_telegram_error,
    classify_whatsapp_error,
)
from whmcs_bridge.channels.telegram import TelegramChannel
from whmcs_bridge.channels.whatsapp import (
    WhatsAppChannel,
    fit_params,
    parse_inbound_messages,
    parse_status_webhook,
    sanitize_param,
    shorten,
    verify_webhook_signature,
)
from whmcs_bridge.outbox.policy import unreachable
from whmcs_bridge.sandbox.telegram_standin import BLOCKED, TelegramStandIn
from whmcs_bridge.sandbox.whatsapp_standin import Json, LoopbackStandIn, WhatsAppStandIn

WA_TOKEN = "EAAGsandboxSECRETwhatsapptoken0123456789"
TG_TOKEN = "987654321:AAHsandboxSECRETtelegramtoken"
APP_SECRET = "sandbox-app-secret"
VERSION = "v23.0"


@pytest.fixture(scope="module")
def wa_server() -> Iterator[WhatsAppStandIn]:
    with WhatsAppStandIn(token=WA_TOKEN) as server:
        yield server


@pytest.fixture
def wa(wa_server: WhatsAppStandIn) -> WhatsAppStandIn:
    wa_server.reset()
    return wa_server


@pytest.fixture(scope="module")
def tg_server() -> Iterator[TelegramStandIn]:
    with TelegramStandIn(token=TG_TOKEN) as server:
        yield server


@pytest.fixture
def tg(tg_server: TelegramStandIn) -> TelegramStandIn:
    tg_server.reset()
    return tg_server


def wa_channel(server: WhatsAppStandIn, token: str = WA_TOKEN, timeout: float = 5):
    return WhatsAppChannel(server.base_url, VERSION, server.phone_number_id, token, timeout)


def invoice(recipient: str = "+5491123456789", **changes: object) -> OutgoingMessage:
    fields: dict[str, object] = {
        "outbox_id": 41,
        "recipient": recipient,
        "event": "invoice_created",
        "language": "es",
        "text": "Hola Juan, tu factura 1234 está lista.",
        "template": "invoice_created",
        "template_language": "es_AR",
        "params": ["Juan", "1234", "ARS 15.000,00"],
        "button_url_suffix": "viewinvoice.php?id=1234",
    }
    fields.update(changes)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def send_error(channel: Channel, msg: OutgoingMessage) -> SendError:
    with pytest.raises(SendError) as caught:
        channel.send(msg)
    return caught.value


# --- WhatsApp: the request -------------------------------------------------------------------
def test_template_request_is_exactly_what_meta_expects(wa: WhatsAppStandIn) -> None:
    wa.registered_templates = {("invoice_created", "es_AR"): 3}
    msg = invoice(params=["Juan\nPérez", "12\t34", "ARS      15.000,00"])
    result = wa_channel(wa).send(msg)

    (request,) = wa.requests
    assert request["method"] == "POST"
    assert request["path"] == f"/{VERSION}/{wa.phone_number_id}/messages"
    assert request["headers"]["Authorization"] == f"Bearer {WA_TOKEN}"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+5491123456789",
        "type": "template",
        "template": {
            "name": "invoice_created",
            "language": {"code": "es_AR"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Juan Pérez"},
                        {"type": "text", "text": "12 34"},
                        {"type": "text", "text": "ARS 15.000,00"},
                    ],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": "viewinvoice.php?id=1234"}],
                },
            ],
        },
        "biz_opaque_callback_data": "wb:41",
    }
    assert result.provider_message_id in wa.sent
    assert result.provider_message_id.startswith("wamid.")
    assert result.provider_recipient_id == "5491123456789"
    assert result.provider_status == "accepted"


def test_wa_id_is_what_meta_answers_not_the_input(wa: WhatsAppStandIn) -> None:
    wa.wa_ids["+5511987654321"] = "551187654321"
    result = wa_channel(wa).send(invoice("+5511987654321", button_url_suffix=None, params=[]))
    assert result.provider_recipient_id == "551187654321"
    assert "components" not in wa.requests[0]["json"]["template"]


def test_a_message_without_template_is_permanent_and_never_sent(wa: WhatsAppStandIn) -> None:
    error = send_error(wa_channel(wa), invoice(template=None))
    assert error.kind == "permanent"
    assert wa.requests == []


# --- WhatsApp: error classes -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "kind", "http_status"),
    [
        (131026, "no_whatsapp", 400),
        (131047, "permanent", 400),
        (131056, "recipient_rate", 400),
        (130429, "throttled", 400),
        (132000, "permanent", 400),
        (132001, "permanent", 404),
        (132018, "permanent", 400),
        (190, "channel_broken", 401),
        (131048, "channel_paused", 400),
        (131000, "transient", 500),
        (131016, "transient", 503),
        (131057, "transient", 500),  # the account is in maintenance: later it passes
        (131037, "channel_paused", 400),  # display name not approved: nothing passes
    ],
)
def test_every_meta_code_maps_to_its_kind(
    wa: WhatsAppStandIn, code: int, kind: str, http_status: int
) -> None:
    wa.fail_next(code=code)
    error = send_error(wa_channel(wa), invoice())
    assert (error.kind, error.code, error.http_status) == (kind, code, http_status)
    assert error.trace_id
    assert wa.requests[0]["json"]["biz_opaque_callback_data"] == "wb:41"


@pytest.mark.parametrize(("code", "kind"), [(130429, "throttled"), (131056, "recipient_rate")])
def test_the_code_decides_even_when_meta_answers_429(wa: WhatsAppStandIn, code, kind) -> None:
    wa.fail_next(code=code, http_status=429)
    assert send_error(wa_channel(wa), invoice()).kind == kind


BARE_5XX = [(500, "transient"), (502, "transient"), (503, "transient"), (504, "unknown")]


@pytest.mark.parametrize(("status", "kind"), BARE_5XX)
def test_bare_5xx_pages_from_proxies(wa: WhatsAppStandIn, status: int, kind: str) -> None:
    wa.fail_next(http_status=status)
    error = send_error(wa_channel(wa), invoice())
    assert (error.kind, error.code, error.http_status) == (kind, None, status)


def test_scripted_failures_run_out(wa: WhatsAppStandIn) -> None:
    wa.fail_next(code=131000, times=2)
    channel = wa_channel(wa)
    assert send_error(channel, invoice()).kind == "transient"
    assert send_error(channel, invoice()).kind == "transient"
    assert channel.send(invoice()).provider_message_id


def test_fail_for_hits_only_that_recipient(wa: WhatsAppStandIn) -> None:
    wa.fail_for(to="5491100000000", code=131056)
    channel = wa_channel(wa)
    assert send_error(channel, invoice("+5491100000000")).kind == "recipient_rate"
    assert channel.send(invoice("+5491122222222")).provider_message_id


def test_standin_checks_templates_like_meta(wa: WhatsAppStandIn) -> None:
    wa.registered_templates = {("invoice_created", "es_AR"): 3}
    channel = wa_channel(wa)
    assert send_error(channel, invoice(template_language="en_US")).code == 132001
    assert send_error(channel, invoice(params=["Juan"])).code == 132000
    assert channel.send(invoice()).provider_message_id


def raw_send(server: WhatsAppStandIn, body: Json) -> Json:
    url = f"{server.base_url}/{VERSION}/{server.phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {WA_TOKEN}"}
    return requests.post(url, json=body, headers=headers, timeout=5).json()["error"]


def test_standin_rejects_what_meta_rejects(wa: WhatsAppStandIn) -> None:
    good = {"messaging_product": "whatsapp", "to": "+5491123456789", "type": "template"}
    template = {"name": "invoice_created", "language": {"code": "es_AR"}}
    bad_param = {"type": "body", "parameters": [{"type": "text", "text": "a\nb"}]}
    spaces = {"type": "body", "parameters": [{"type": "text", "text": "a     b"}]}
    assert (
        raw_send(wa, {**good, "template": {**template, "components": [bad_param]}})["code"]
        == 132018
    )
    assert (
        raw_send(wa, {**good, "template": {**template, "components": [spaces]}})["code"] == 132018
    )
    assert raw_send(wa, {**good, "type": "text", "text": {"body": "hi"}})["code"] == 131047
    error = raw_send(wa, {"to": "+5491123456789", "type": "template", "template": template})
    assert error["code"] == 100
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert set(error) == {
        "message",
        "type",
        "code",
        "error_data",
        "error_subcode",
        "is_transient",
        "fbtrace_id",
    }


# --- Meta's real rules (issue 9 points 10, 12, 15) --------------------------------------------
def test_standin_refuses_empty_parameters_long_bodies_and_wrong_button_index(
    wa: WhatsAppStandIn,
) -> None:
    good = {"messaging_product": "whatsapp", "to": "+5491123456789", "type": "template"}
    template = {"name": "invoice_created", "language": {"code": "es_AR"}}
    empty = {"type": "body", "parameters": [{"type": "text", "text": ""}]}
    error = raw_send(wa, {**good, "template": {**template, "components": [empty]}})
    assert (error["code"], error["error_data"]["details"]) == (100, "Parameter 'text' is mandatory")
    wa.template_details[("invoice_created", "es_AR")] = (900, 1)
    long = {"type": "body", "parameters": [{"type": "text", "text": "x" * 200}]}
    button = {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text"}]}
    body = {**good, "template": {**template, "components": [long, button]}}
    assert raw_send(wa, body)["code"] == 100  # the URL button's suffix is empty
    button["parameters"] = [{"type": "text", "text": "viewinvoice.php?id=1"}]
    assert raw_send(wa, body)["code"] == 132005  # 900 + 200 > 1024
    button["index"] = "0"
    long["parameters"] = [{"type": "text", "text": "x"}]
    assert raw_send(wa, body)["code"] == 131008  # the template's URL button is the second


def test_parameters_are_never_empty_nor_too_long_and_the_button_index_is_configured(
    wa: WhatsAppStandIn,
) -> None:
    wa.registered_templates = {("invoice_created", "es_AR"): 3}
    wa.template_details[("invoice_created", "es_AR")] = (300, 1)
    product = "Hosting Corporativo Plus " * 60  # 1,500 characters
    msg = invoice(params=["", "  ", product], button_url_suffix="", button_index="1")
    assert wa_channel(wa).send(msg).provider_message_id
    components = wa.requests[0]["json"]["template"]["components"]
    texts = [p["text"] for p in components[0]["parameters"]]
    assert texts[:2] == ["-", "-"]
    assert texts[2].endswith("…") and len(texts[2]) <= 1024 - 300
    assert texts[2][:-1].split()[-1] in ("Hosting", "Corporativo", "Plus")  # a whole word
    assert components[1]["index"] == "1"
    assert components[1]["parameters"] == [{"type": "text", "text": "-"}]


def test_long_values_are_cut_at_a_word_with_an_ellipsis_the_short_ones_kept() -> None:
    fitted = fit_params(["Juan", "palabra " * 100, "otra " * 100], budget=104)
    assert fitted[0] == "Juan"
    assert all(len(v) <= 50 for v in fitted[1:]) and sum(map(len, fitted)) <= 104
    assert fitted[1].endswith("palabra…") and fitted[2].endswith("otra…")
    assert shorten("uno dos tres", 12) == "uno dos tres"
    assert shorten("uno dos tres", 9) == "uno dos…"


def test_throttling_reads_the_business_use_case_header(wa: WhatsAppStandIn) -> None:
    wa.fail_next(code=130429, usage_minutes=7)
    error = send_error(wa_channel(wa), invoice())
    assert (error.kind, error.retry_after) == ("throttled", 420.0)
    wa.fail_next(code=4, http_status=400)
    assert send_error(wa_channel(wa), invoice()).retry_after is None


def test_a_template_missing_in_the_clients_language_goes_in_the_default_one(
    wa: WhatsAppStandIn,
) -> None:
    wa.registered_templates = {("invoice_created", "es_AR"): 3}
    msg = invoice(template_language="en", template_fallback_language="es_AR")
    assert wa_channel(wa).send(msg).provider_message_id
    asked = [r["json"]["template"]["language"]["code"] for r in wa.requests]
    assert asked == ["en", "es_AR"]
    wa.reset()
    wa.registered_templates = {}
    error = send_error(wa_channel(wa), msg)
    assert error.code == 132001 and len(wa.requests) == 2
    assert unreachable("whatsapp", error)  # the outbox then queues the e-mail fallback


def test_accepted_message_status_is_reported(wa: WhatsAppStandIn) -> None:
    wa.message_status_next.append("held_for_quality_assessment")
    assert wa_channel(wa).send(invoice()).provider_status == "held_for_quality_assessment"


# --- WhatsApp: transport ---------------------------------------------------------------------
def test_read_timeout_is_unknown_because_the_request_left(wa: WhatsAppStandIn) -> None:
    wa.delay(2.0, times=1)
    error = send_error(wa_channel(wa, timeout=0.3), invoice())
    assert error.kind == "unknown"
    assert len(wa.requests) == 1  # Meta got it: resending blindly could message twice


def test_refused_connection_is_transient() -> None:
    channel = WhatsAppChannel(closed_port_url(), VERSION, "106540352242922", WA_TOKEN, 2)
    assert send_error(channel, invoice()).kind == "transient"


def test_check_reports_a_rejected_token(wa: WhatsAppStandIn) -> None:
    assert wa_channel(wa).check() is None
    reason = wa_channel(wa, token="EAAGwrongTOKEN").check()
    assert reason is not None and "190" in reason
    assert "EAAGwrongTOKEN" not in reason
    assert wa.requests[0]["method"] == "GET"


# --- secrets ---------------------------------------------------------------------------------
def assert_secret_absent(secret: str, error: SendError, caplog, *objects: object) -> None:
    texts = [str(error), repr(error), error.message, caplog.text]
    texts += ["".join(traceback.format_exception(error))]
    texts += [repr(o) for o in objects]
    for text in texts:
        assert secret not in text


def test_whatsapp_token_never_leaks(wa: WhatsAppStandIn, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    channel = wa_channel(wa, token=WA_TOKEN + "x")  # rejected with 190
    assert_secret_absent(WA_TOKEN, send_error(channel, invoice()), caplog, channel)
    refused = WhatsAppChannel(closed_port_url(), VERSION, "1", WA_TOKEN, 2)
    assert_secret_absent(WA_TOKEN, send_error(refused, invoice()), caplog, refused)
    wa.delay(1.0, times=1)
    slow = wa_channel(wa, timeout=0.2)
    assert_secret_absent(WA_TOKEN, send_error(slow, invoice()), caplog, slow)


def test_telegram_token_never_leaks_even_from_urllib3(tg: TelegramStandIn, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    refused = TelegramChannel(closed_port_url(), TG_TOKEN, 2)
    assert_secret_absent(TG_TOKEN, send_error(refused, tg_msg()), caplog, refused)
    tg.delay(1.0, times=1)
    slow = TelegramChannel(tg.base_url, TG_TOKEN, 0.2)
    assert_secret_absent(TG_TOKEN, send_error(slow, tg_msg()), caplog, slow)
    wrong = TelegramChannel(tg.base_url, TG_TOKEN + "x", 2)
    assert_secret_absent(TG_TOKEN, send_error(wrong, tg_msg()), caplog, wrong)
    # urllib3 did log the request lines, with the token masked.
    assert "/bot***/sendMessage" in caplog.text


# --- webhooks --------------------------------------------------------------------------------
class WebhookReceiver(LoopbackStandIn):
    def _answer(self, request: Json) -> tuple[int, Json | str]:
        return 200, {}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def test_status_webhooks_round_trip(wa: WhatsAppStandIn, receiver: WebhookReceiver) -> None:
    sent = wa_channel(wa).send(invoice())
    wamid = sent.provider_message_id
    assert wamid is not None
    wa.post_status(
        receiver.base_url + "/webhook", APP_SECRET, wamid, "delivered", timestamp=1750263773
    )
    wa.post_status(receiver.base_url + "/webhook", APP_SECRET, wamid, "failed", error_code=131026)
    delivered, failed = receiver.requests

    header = delivered["headers"]["X-Hub-Signature-256"]
    assert verify_webhook_signature(APP_SECRET, delivered["body"], header)
    (update,) = parse_status_webhook(delivered["body"])
    assert (update.outbox_id, update.wamid, update.status) == (41, wamid, "delivered")
    assert update.recipient_id == "5491123456789"
    assert update.timestamp is not None and update.timestamp.tzinfo == UTC
    assert update.timestamp.timestamp() == 1750263773
    assert update.error_kind is None

    (failure,) = parse_status_webhook(json.loads(failed["body"]))
    assert (failure.status, failure.error_code, failure.error_kind) == (
        "failed",
        131026,
        "no_whatsapp",
    )
    assert failure.error_title == "Message undeliverable"


def test_webhook_signature_wrong_or_missing(wa: WhatsAppStandIn, receiver: WebhookReceiver) -> None:
    wamid = wa_channel(wa).send(invoice()).provider_message_id
    assert wamid is not None
    url = receiver.base_url
    wa.post_status(url, APP_SECRET, wamid, "read")
    wa.post_status(url, "another-secret", wamid, "read")
    wa.post_status(url, APP_SECRET, wamid, "read", signature=None)
    wa.post_status(url, APP_SECRET, wamid, "read", signature="sha256=" + "0" * 64)
    good, wrong_key, missing, forged = receiver.requests
    sig = good["headers"]["X-Hub-Signature-256"]
    assert verify_webhook_signature(APP_SECRET, good["body"], sig)
    assert not verify_webhook_signature(APP_SECRET, good["body"] + b" ", sig)
    assert not verify_webhook_signature(APP_SECRET, good["body"].replace(b":", b": "), sig)
    assert not verify_webhook_signature("", good["body"], sig)
    assert not verify_webhook_signature(
        APP_SECRET, wrong_key["body"], wrong_key["headers"]["X-Hub-Signature-256"]
    )
    assert "X-Hub-Signature-256" not in missing["headers"]
    assert not verify_webhook_signature(APP_SECRET, missing["body"], None)
    assert not verify_webhook_signature(
        APP_SECRET, forged["body"], forged["headers"]["X-Hub-Signature-256"]
    )


def test_statuses_of_other_numbers_and_other_apps_data_are_not_ours(
    wa: WhatsAppStandIn, receiver: WebhookReceiver
) -> None:
    wamid = wa_channel(wa).send(invoice()).provider_message_id
    assert wamid is not None
    url = receiver.base_url
    wa.post_status(url, APP_SECRET, wamid, "read", phone_number_id="999000111")
    wa.post_status(url, APP_SECRET, wamid, "read", biz_opaque_callback_data="42")
    other_number, other_app = (r["body"] for r in receiver.requests)
    assert parse_status_webhook(other_number, wa.phone_number_id) == []
    assert len(parse_status_webhook(other_number)) == 1
    (update,) = parse_status_webhook(other_app, wa.phone_number_id)
    assert (update.outbox_id, update.wamid) == (None, wamid)  # matched by wamid, never row 42


def test_inbound_messages_are_read_for_our_number_only(
    wa: WhatsAppStandIn, receiver: WebhookReceiver
) -> None:
    wa.post_message(receiver.base_url, APP_SECRET, "+5492615443322", "BAJA")
    wa.post_message(receiver.base_url, APP_SECRET, "5492615443322", "hola", phone_number_id="9")
    ours, other = (r["body"] for r in receiver.requests)
    (message,) = parse_inbound_messages(ours, wa.phone_number_id)
    assert (message.wa_id, message.text) == ("5492615443322", "BAJA")
    assert parse_inbound_messages(other, wa.phone_number_id) == []
    assert parse_status_webhook(ours) == []


def test_webhooks_without_statuses_yield_nothing() -> None:
    inbound = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"messages": [{}]}}]}],
    }
    assert parse_status_webhook(inbound) == []
    assert parse_status_webhook(b'{"object": "page"}') == []


# --- Telegram --------------------------------------------------------------------------------
def tg_msg(chat: str = "123456789") -> OutgoingMessage:
    return OutgoingMessage(7, chat, "invoice_paid", "en", "Invoice #1234 is paid. Thank you!")


def tg_channel(server: TelegramStandIn, token: str = TG_TOKEN) -> TelegramChannel:
    return TelegramChannel(server.base_url, token, 5)


def test_telegram_sends_the_text(tg: TelegramStandIn) -> None:
    result = tg_channel(tg).send(tg_msg())
    (request,) = tg.requests
    assert request["path"] == f"/bot{TG_TOKEN}/sendMessage"
    assert request["json"] == {"chat_id": 123456789, "text": "Invoice #1234 is paid. Thank you!"}
    assert result.provider_message_id == "1"
    assert result.provider_recipient_id == "123456789"


def test_telegram_429_carries_retry_after(tg: TelegramStandIn) -> None:
    tg.rate_limit(retry_after=7)
    channel = tg_channel(tg)
    error = send_error(channel, tg_msg())
    assert (error.kind, error.code, error.retry_after) == ("throttled", 429, 7.0)
    assert "retry after 7" in error.message
    assert channel.send(tg_msg()).provider_message_id


def test_telegram_failures(tg: TelegramStandIn) -> None:
    tg.chats = {"123456789", "555"}
    tg.blocked = {"555"}
    channel = tg_channel(tg)
    not_found = send_error(channel, tg_msg("42"))
    assert (not_found.kind, not_found.code) == ("permanent", 400)
    assert not_found.message == "Bad Request: chat not found"
    blocked = send_error(channel, tg_msg("555"))
    assert (blocked.kind, blocked.code, blocked.message) == ("permanent", *BLOCKED)
    tg.fail_next(502, "Bad Gateway")
    assert send_error(channel, tg_msg()).kind == "transient"
    assert send_error(tg_channel(tg, "1:bad"), tg_msg()).kind == "channel_broken"
    assert tg_channel(tg).check() is None
    assert "rejected" in (tg_channel(tg, "1:bad").check() or "")


def test_telegram_timeout_is_unknown_and_refused_is_transient(tg: TelegramStandIn) -> None:
    tg.delay(2.0, times=1)
    assert send_error(TelegramChannel(tg.base_url, TG_TOKEN, 0.3), tg_msg()).kind == "unknown"
    assert send_error(TelegramChannel(closed_port_url(), TG_TOKEN, 2), tg_msg()).kind == "transient"


# --- pure pieces -----------------------------------------------------------------------------
def test_classifiers_fall_back_on_http_status() -> None:
    assert classify_whatsapp_error(400, {"error": {"code": 131050}}).kind == "permanent"
    assert classify_whatsapp_error(403, {"error": {"code": 200}}).kind == "channel_broken"
    assert classify_whatsapp_error(500, {"error": {"code": 999999}}).kind == "transient"
    assert classify_whatsapp_error(429, "Too many").kind == "throttled"
    assert classify_whatsapp_error(400, None, retry_after=3).kind == "permanent"
    upgraded = "Bad Request: group chat was upgraded to a supergroup chat"
    params = {"migrate_to_chat_id": -100123}
    migrated = {"ok": False, "error_code": 400, "description": upgraded, "parameters": params}
    error = classify_telegram_error(400, migrated)
    assert error.kind == "permanent" and "-100123" in error.message
    assert classify_telegram_error(401, {"ok": False, "error_code": 401}).kind == "channel_broken"


def test_channels_share_the_protocol(wa: WhatsAppStandIn, tg: TelegramStandIn) -> None:
    assert isinstance(wa_channel(wa), Channel)
    assert isinstance(tg_channel(tg), Channel)


@given(st.text(alphabet=st.sampled_from("ab \n\t\r\u2028"), max_size=40))
def test_sanitized_params_pass_meta_132018(value: str) -> None:
    clean = sanitize_param(value)
    assert not re.search(r"[\n\t]| {5,}", clean)
    assert clean == clean.strip()
    assert sanitize_param(clean) == clean


def test_scrubbing_happens_before_truncation() -> None:
    error = SendError("permanent", "x" * 290 + WA_TOKEN).scrubbed([WA_TOKEN])
    assert WA_TOKEN[:8] not in error.message
    assert WA_TOKEN[:8] not in str(error.args)
