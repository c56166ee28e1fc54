"""Charging the company's price: ``POST /upgrades/price`` in-process and behind a running serve,
the PreUpgradeCheckout hook under php-cli (answer, timeout, wrong secret, bridge down), and the
upgrade.ordered check of a real (sandbox) upgrade invoice, with and without correction."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, insert, select
from whmcs_bridge.plugins.upgrades import bridge_on_event
from whmcs_bridge.plugins.upgrades.tables import upgrade_followups

from whmcs_bridge.events.model import SKIP, Event
from whmcs_bridge.panel.api import WhmcsApi
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import metadata
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.serve.app import BridgeApp
from whmcs_bridge.serve.signing import sign
from whmcs_bridge.testing.bridges import make_bridge, sqlite_panel

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "tests" / "php" / "harness.php"
HOOK_FILE = ROOT / "hooks" / "whmcs_bridge.php"
SECRET = "price-s3cret"
TODAY = date.today()
D = Decimal
T = metadata.tables
UNAVAILABLE = "whmcs-bridge: upgrade price unavailable, WHMCS price kept: "


@pytest.fixture
def panel_url(tmp_path: Path) -> str:
    """The demo company seeded today, with the bridge's tables and upgrade 900: service 1 -> 2."""
    url = sqlite_panel(tmp_path / "panel.sqlite", TODAY)
    make_bridge(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(T["tblupgrades"]).values(
                **blank_row(
                    T["tblupgrades"],
                    id=900,
                    userid=1,
                    type="package",
                    date=TODAY,
                    relid=1,
                    originalvalue="1",
                    newvalue="2,annually",
                    amount=D("24.66"),
                    status="Pending",
                    paid="N",
                )
            )
        )
    engine.dispose()
    return url


def body(upgrade_id: int = 900, service_id: int = 1) -> bytes:
    data = {"serviceId": service_id, "upgradeId": upgrade_id, "clientId": 1, "amount": "24.66"}
    return json.dumps({**data, "discount": "0.00"}).encode()


def environ(payload: bytes, secret: str = SECRET) -> dict[str, Any]:
    ts = int(time.time())
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/upgrades/price",
        "CONTENT_LENGTH": str(len(payload)),
        "wsgi.input": io.BytesIO(payload),
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_X_BRIDGE_TIMESTAMP": str(ts),
        "HTTP_X_BRIDGE_SIGNATURE": sign(secret, ts, payload),
    }


def app(url: str, **upgrades: Any) -> BridgeApp:
    bridge = make_bridge(
        url,
        config={
            "serve": {"wake_secret": SECRET},
            "plugins": {"enabled": ["upgrades"], "upgrades": upgrades},
        },
    )
    return BridgeApp(bridge, wake=lambda: None, health=lambda: {"ok": True})


def test_price_route_answers_the_policy_amount(panel_url: str) -> None:
    status, _, answer = app(panel_url).handle(environ(body()))
    assert status == 200
    data = json.loads(answer)
    assert (data["amount"], data["policy"], data["whmcs_amount"]) == (
        "50.00",
        "difference",
        "24.66",
    )
    status, _, answer = app(panel_url, policy="prorata").handle(environ(body()))
    assert abs(D(json.loads(answer)["amount"]) - D("25.00")) < D("0.50")


def test_price_route_refuses_unsigned_and_abstains_when_unknown(panel_url: str) -> None:
    wsgi = app(panel_url)
    assert wsgi.handle(environ(body(), secret="wrong"))[0] == 401
    unsigned = environ(body())
    del unsigned["HTTP_X_BRIDGE_SIGNATURE"]
    assert wsgi.handle(unsigned)[0] == 401
    assert wsgi.handle(environ(body(upgrade_id=12345)))[:3] == (204, [], b"")
    assert wsgi.handle(environ(body(service_id=2)))[0] == 204  # upgrade 900 is not service 2's
    assert wsgi.handle(environ(b"not json"))[0] == 400


# -- php-cli against a running serve ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def php() -> str:
    binary = shutil.which("php")
    if binary is None:
        pytest.fail("php is not installed: run `apt-get install -y php-cli php-sqlite3 php-curl`")
    return binary


@pytest.fixture
def serve(tmp_path: Path, panel_url: str) -> Iterator[str]:
    """``whmcs-bridge serve`` with the upgrades plugin; yields its price URL."""
    port = free_port()
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[panel]\ndatabase_url = "{panel_url}"\n[serve]\nport = {port}\ninterval = 60\n'
        f'wake_secret = "{SECRET}"\n[plugins]\nenabled = ["upgrades"]\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "serve"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code in (200, 503):
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield f"{base}/upgrades/price"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)


def fire(php: str, tmp_path: Path, panel_url: str, **config: str) -> tuple[Any, float, str]:
    """Fire PreUpgradeCheckout through the real hook file; (returned, seconds, activity log)."""
    params = {"clientId": 1, "upgradeId": 900, "serviceId": 1, "amount": 24.66, "discount": 0}
    each, seconds, activity = fire_hooks(
        php, tmp_path, panel_url, [("PreUpgradeCheckout", params)], **config
    )
    return each[-1], seconds, activity


def fire_hooks(
    php: str, tmp_path: Path, panel_url: str, fires: list[tuple[str, Any]], **config: str
) -> tuple[list[Any], float, str]:
    """Fire hooks in ONE PHP request (one client session) through the real hook file installed
    with ``config``; (each fire's returned values, seconds, activity log)."""
    hooks = tmp_path / "includes" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    shutil.copy(HOOK_FILE, hooks / "whmcs_bridge.php")
    entries = "".join(f"    {json.dumps(k)} => {json.dumps(v)},\n" for k, v in config.items())
    (hooks / "_whmcs_bridge_config.php").write_text(f"<?php\nreturn [\n{entries}];\n")
    log = tmp_path / "activity.log"
    log.unlink(missing_ok=True)
    args = [arg for hook, params in fires for arg in (hook, json.dumps(params))]
    start = time.perf_counter()
    done = subprocess.run(
        [php, str(HARNESS), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={
            "PATH": "/usr/bin:/bin",
            "WB_INBOX_DB": panel_url.removeprefix("sqlite:///"),
            "WB_ACTIVITY_LOG": str(log),
            "WB_ORIGIN": "clientarea",
            "WB_HOOK_FILE": str(hooks / "whmcs_bridge.php"),
        },
    )
    seconds = time.perf_counter() - start
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    activity = log.read_text() if log.exists() else ""
    return json.loads(done.stdout)["returned_each"], seconds, activity


def inbox_hooks(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        hooks = conn.exec_driver_sql("SELECT hook FROM mod_whmcs_bridge_inbox").scalars().all()
    engine.dispose()
    return list(hooks)


def test_checkout_takes_the_policy_amount_from_serve(
    php: str, tmp_path: Path, panel_url: str, serve: str
) -> None:
    returned, _, activity = fire(php, tmp_path, panel_url, price_url=serve, wake_secret=SECRET)
    assert returned == [{"amount": "50.00"}]
    assert activity == ""
    assert inbox_hooks(panel_url) == ["PreUpgradeCheckout"]  # the event is recorded first


def test_checkout_with_a_wrong_secret_keeps_the_whmcs_price(
    php: str, tmp_path: Path, panel_url: str, serve: str
) -> None:
    returned, _, activity = fire(php, tmp_path, panel_url, price_url=serve, wake_secret="wrong")
    assert returned == [[]]
    assert activity == f"{UNAVAILABLE}HTTP 401\n"


def test_checkout_falls_back_after_one_second(php: str, tmp_path: Path, panel_url: str) -> None:
    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(16)  # the handshake completes; nobody ever answers
        url = f"http://127.0.0.1:{black_hole.getsockname()[1]}/upgrades/price"
        returned, seconds, activity = fire(
            php, tmp_path, panel_url, price_url=url, wake_secret=SECRET
        )
    assert returned == [[]]
    assert 0.9 < seconds < 2.0, seconds
    assert activity.startswith(UNAVAILABLE + "no answer (") and "imed out" in activity


def test_checkout_with_the_bridge_down_falls_back_at_once(
    php: str, tmp_path: Path, panel_url: str
) -> None:
    url = f"http://127.0.0.1:{free_port()}/upgrades/price"
    returned, seconds, activity = fire(php, tmp_path, panel_url, price_url=url, wake_secret=SECRET)
    assert returned == [[]]
    assert seconds < 0.8, seconds
    assert activity.startswith(UNAVAILABLE + "no answer (") and "onnect" in activity


def test_checkout_without_price_url_asks_nothing(php: str, tmp_path: Path, panel_url: str) -> None:
    returned, _, activity = fire(php, tmp_path, panel_url, wake_secret=SECRET)
    assert (returned, activity) == ([[]], "")


# -- upgrade.ordered against the sandbox panel -----------------------------------------------------


@pytest.fixture
def ordered(panel_url: str) -> Iterator[tuple[SandboxPanel, int, int]]:
    """A real UpgradeProduct of service 1 to product 2: (sandbox, upgrade id, invoice id)."""
    with SandboxPanel(create_engine(panel_url), identifier="ident", secret="api-s3cret") as sandbox:
        api = WhmcsApi(sandbox.url, "ident", "api-s3cret")
        result = api.upgrade_product(1, 2, "annually", payment_method="mercadopago")
        assert result.invoice_id is not None
        engine = create_engine(panel_url)
        with engine.connect() as conn:
            u = metadata.tables["tblupgrades"]
            upgrade_id = conn.execute(select(u.c.id).where(u.c.relid == 1, u.c.id != 900)).scalar()
        engine.dispose()
        yield sandbox, int(upgrade_id), result.invoice_id


def upgrade_event(upgrade_id: int, name: str = "upgrade.ordered") -> Event:
    return Event(
        key=f"{name}:{upgrade_id}",
        name=name,
        subject_type="upgrade",
        subject_id=upgrade_id,
        occurred_at=datetime.now(),
        source="hook",
        client_id=1,
    )


def invoice_state(url: str, invoice_id: int) -> tuple[Decimal, Decimal, list[str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        i, items, log = T["tblinvoices"], T["tblinvoiceitems"], T["tblactivitylog"]
        total = conn.execute(select(i.c.total).where(i.c.id == invoice_id)).scalar()
        line = conn.execute(select(items.c.amount).where(items.c.invoiceid == invoice_id)).scalar()
        notes = conn.execute(select(log.c.description).order_by(log.c.id)).scalars().all()
    engine.dispose()
    return D(str(line)), D(str(total)), [n for n in notes if "whmcs-bridge" in n]


def test_ordered_upgrade_is_reported(
    panel_url: str, ordered: tuple[SandboxPanel, int, int]
) -> None:
    sandbox, upgrade_id, invoice_id = ordered
    whmcs_line, _, _ = invoice_state(panel_url, invoice_id)
    assert abs(whmcs_line - D("25.00")) < D("0.50")  # WHMCS's prorata
    bridge = make_bridge(
        panel_url,
        config={
            "plugins": {"enabled": ["upgrades"]},
            "api": {"url": sandbox.url, "identifier": "ident", "secret": "api-s3cret"},
        },
    )
    note = bridge_on_event(bridge=bridge, event=upgrade_event(upgrade_id))
    assert note is not None and "the difference policy says $50,00 ARS" in note
    assert "reported; correct_invoices is off" in note
    line, _, activity = invoice_state(panel_url, invoice_id)
    assert line == whmcs_line  # untouched
    assert len(activity) == 1 and f"invoice #{invoice_id}" in activity[0]


def test_ordered_upgrade_is_corrected_once(
    panel_url: str, ordered: tuple[SandboxPanel, int, int]
) -> None:
    sandbox, upgrade_id, invoice_id = ordered
    bridge = make_bridge(
        panel_url,
        config={
            "plugins": {"enabled": ["upgrades"], "upgrades": {"correct_invoices": True}},
            "api": {"url": sandbox.url, "identifier": "ident", "secret": "api-s3cret"},
        },
    )
    note = bridge_on_event(bridge=bridge, event=upgrade_event(upgrade_id))
    assert note is not None and note.endswith("; corrected")
    line, total, _ = invoice_state(panel_url, invoice_id)
    assert (line, total) == (D("50.00"), D("50.00"))
    again = bridge_on_event(bridge=bridge, event=upgrade_event(upgrade_id))
    assert again == f"upgrade {upgrade_id}: invoice #{invoice_id} matches the difference price"
    assert len(invoice_state(panel_url, invoice_id)[2]) == 1  # reported once, written once
    assert sandbox.calls.count("UpdateInvoice") == 1


def test_other_events_are_skipped(panel_url: str) -> None:
    bridge = make_bridge(panel_url, config={"plugins": {"enabled": ["upgrades"]}})
    other = Event(
        key="invoice.paid:1",
        name="invoice.paid",
        subject_type="invoice",
        subject_id=1,
        occurred_at=datetime.now(),
        source="hook",
    )
    assert bridge_on_event(bridge=bridge, event=other) is SKIP


# -- what the checkout amount cannot carry, kept on upgrade.completed ------------------------------


def completed_event(upgrade_id: int) -> Event:
    return upgrade_event(upgrade_id, "upgrade.completed")


def service_and_credit(url: str) -> tuple[date, Decimal, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        due = conn.execute(select(T["tblhosting"].c.nextduedate).where(T["tblhosting"].c.id == 1))
        balance = conn.execute(select(T["tblclients"].c.credit).where(T["tblclients"].c.id == 1))
        lines = conn.execute(select(T["tblcredit"].c.id).where(T["tblcredit"].c.clientid == 1))
        found = (due.scalar(), D(str(balance.scalar())), len(lines.all()))
    engine.dispose()
    return found


def test_full_policy_restarts_the_cycle_and_grants_the_credit_once(panel_url: str) -> None:
    """Policy ``full`` with ``full_unused = "credit"``: the checkout charges the new year in full;
    when the upgrade completes the due date moves a year from the order day (WHMCS keeps the old
    one) and the unused part of the old plan becomes account credit, exactly once."""
    due_before, credit_before, lines_before = service_and_credit(panel_url)
    status, _, answer = app(panel_url, policy="full", full_unused="credit").handle(environ(body()))
    assert status == 200
    assert json.loads(answer)["amount"] == "150.00"

    with SandboxPanel(create_engine(panel_url), identifier="ident", secret="api-s3cret") as sandbox:
        bridge = make_bridge(
            panel_url,
            config={
                "plugins": {"enabled": ["upgrades"], "upgrades": {"policy": "full"}},
                "api": {"url": sandbox.url, "identifier": "ident", "secret": "api-s3cret"},
            },
        )
        note = bridge_on_event(bridge=bridge, event=completed_event(900))
        again = bridge_on_event(bridge=bridge, event=completed_event(900))
        calls = list(sandbox.calls)

    due, credit, lines = service_and_credit(panel_url)
    order_day = make_bridge(panel_url).clock.today()  # the panel's day, not this machine's
    assert due == order_day.replace(year=order_day.year + 1) != due_before
    granted = credit - credit_before
    assert D("0") < granted < D("100")  # the unused share of the 100/year plan
    assert lines == lines_before + 1
    assert note is not None and "next due date" in note and f"credit {granted}" in note
    assert again is not None and "already kept" in again
    assert calls.count("AddCredit") == 1 and calls.count("UpdateClientProduct") == 1


def test_a_credit_in_doubt_is_never_sent_twice(panel_url: str) -> None:
    app(panel_url, policy="full", full_unused="credit").handle(environ(body()))
    engine = create_engine(panel_url)
    with engine.begin() as conn:  # a run stopped after sending AddCredit, before its answer
        conn.execute(upgrade_followups.update().values(status="crediting"))
    engine.dispose()
    with SandboxPanel(create_engine(panel_url), identifier="ident", secret="api-s3cret") as sandbox:
        bridge = make_bridge(
            panel_url,
            config={
                "plugins": {"enabled": ["upgrades"]},
                "api": {"url": sandbox.url, "identifier": "ident", "secret": "api-s3cret"},
            },
        )
        note = bridge_on_event(bridge=bridge, event=completed_event(900))
        assert "AddCredit" not in sandbox.calls
    assert note is not None and "check the client's credit log" in note


def test_same_cycle_difference_promises_nothing_more(panel_url: str) -> None:
    app(panel_url).handle(environ(body()))  # difference, annually -> annually
    bridge = make_bridge(panel_url, config={"plugins": {"enabled": ["upgrades"]}})
    assert bridge_on_event(bridge=bridge, event=completed_event(900)) is SKIP


# -- the client area's upgrade page (ClientAreaPageUpgrade, issue 11 point 1) ----------------------

PAGE = json.loads((ROOT / "tests" / "php" / "upgrade_page.json").read_text())
LIST = {**PAGE["common"], **PAGE["upgrade"]}  # upgrade.tpl: choose a package
SUMMARY = {**PAGE["common"], **PAGE["upgradesummary"]}  # upgradesummary.tpl: the one chosen
CHECKOUT = {"clientId": 1, "upgradeId": 900, "serviceId": 1, "amount": 24.66, "discount": 0}
KEPT = "whmcs-bridge: upgrade page keeps WHMCS prices: "


@dataclass
class StandIn:
    """A stand-in for serve's price URL: answers each request with ``answer(body)``."""

    url: str
    bodies: list[dict[str, Any]]


@pytest.fixture
def stand_in(request: pytest.FixtureRequest) -> Iterator[StandIn]:
    answer = request.param
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            bodies.append(body)
            status, payload = answer(body)
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield StandIn(f"http://127.0.0.1:{server.server_address[1]}/upgrades/price", bodies)
    finally:
        server.shutdown()
        server.server_close()


def test_the_package_list_shows_what_checkout_will_charge(
    php: str, tmp_path: Path, panel_url: str, serve: str
) -> None:
    [returned], _, activity = fire_hooks(
        php,
        tmp_path,
        panel_url,
        [("ClientAreaPageUpgrade", LIST)],
        price_url=serve,
        wake_secret=SECRET,
    )
    assert activity == ""
    [page] = returned
    avanzado = page["upgradepackages"]["2"]["pricing"]
    assert avanzado["annually"] == "$150,00 ARS Anual (a pagar hoy: $50,00 ARS)"  # 150 - 100
    assert avanzado["semiannually"].startswith("$80,00 ARS Semestral (a pagar hoy: $30,")
    assert (
        avanzado["type"] == "recurring"
        and avanzado["cycles"] == LIST["upgradepackages"]["2"]["pricing"]["cycles"]
    )  # the rest of WHMCS's variables untouched
    empresa = page["upgradepackages"]["3"]["pricing"]
    assert empresa["annually"] == "$300,00 ARS Anual (a pagar hoy: $200,00 ARS)"
    assert empresa["monthly"] == "$30,00 ARS Mensual (sin cargo hoy)"  # less than the unused part
    assert page["whmcs_bridge_upgrade"]["2"]["annually"]["amount"] == "50.00"
    assert inbox_hooks(panel_url) == []  # a page hook records no event


def test_the_summary_shows_the_price_checkout_charges(
    php: str, tmp_path: Path, panel_url: str, serve: str
) -> None:
    fires = [("ClientAreaPageUpgrade", SUMMARY), ("PreUpgradeCheckout", CHECKOUT)]
    [[page], checkout], _, activity = fire_hooks(
        php, tmp_path, panel_url, fires, price_url=serve, wake_secret=SECRET
    )
    assert activity == ""
    assert page["upgrades"][0]["price"] == page["subtotal"] == page["total"] == "$50,00 ARS"
    assert page["upgrades"][0]["newproductname"] == (
        "Hosting Avanzado<br /><small>El plan nuevo cuesta $150,00 ARS por ciclo anual; se "
        "descuentan los $100,00 ARS ya pagados por el ciclo actual, sea cual sea el día: "
        f"$150,00 ARS - $100,00 ARS = $50,00 ARS. El vencimiento sigue siendo el "
        f"{TODAY + timedelta(days=180):%d/%m/%Y}.</small>"
    )
    assert page["upgrades"][0]["newproductbillingcycle"] == "annually"
    assert checkout == [{"amount": "50.00"}]  # the price shown is the price charged


def test_with_serve_absent_page_and_checkout_keep_whmcs_prices(
    php: str, tmp_path: Path, panel_url: str
) -> None:
    url = f"http://127.0.0.1:{free_port()}/upgrades/price"
    fires = [
        ("ClientAreaPageUpgrade", LIST),
        ("ClientAreaPageUpgrade", SUMMARY),
        ("PreUpgradeCheckout", CHECKOUT),
    ]
    each, seconds, activity = fire_hooks(
        php, tmp_path, panel_url, fires, price_url=url, wake_secret=SECRET
    )
    assert each == [[[]], [[]], [[]]]  # WHMCS's page, WHMCS's page, WHMCS's price
    assert seconds < 1.0, seconds
    lines = activity.splitlines()
    assert len(lines) == 2 and all(line.startswith(KEPT + "no answer (") for line in lines)
    # checkout did not ask: the page showed WHMCS's price, so WHMCS's price is charged


def test_with_serve_slow_the_page_waits_one_second_at_most(
    php: str, tmp_path: Path, panel_url: str
) -> None:
    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(16)
        url = f"http://127.0.0.1:{black_hole.getsockname()[1]}/upgrades/price"
        fires = [("ClientAreaPageUpgrade", SUMMARY), ("PreUpgradeCheckout", CHECKOUT)]
        each, seconds, activity = fire_hooks(
            php, tmp_path, panel_url, fires, price_url=url, wake_secret=SECRET
        )
    assert each == [[[]], [[]]]
    assert 0.9 < seconds < 1.8, seconds  # one timeout: checkout does not wait a second time
    assert activity.startswith(KEPT + "no answer (") and "imed out" in activity


def test_with_a_wrong_secret_page_and_checkout_keep_whmcs_prices(
    php: str, tmp_path: Path, panel_url: str, serve: str
) -> None:
    fires = [("ClientAreaPageUpgrade", SUMMARY), ("PreUpgradeCheckout", CHECKOUT)]
    each, _, activity = fire_hooks(
        php, tmp_path, panel_url, fires, price_url=serve, wake_secret="wrong"
    )
    assert each == [[[]], [[]]]
    assert activity == f"{KEPT}HTTP 401\n"


def _good(body: dict[str, Any]) -> tuple[int, bytes]:
    """Answers the page like serve (50.00 for product 2 annually) and fails checkout's call."""
    if "page" not in body:
        return 500, b"{}"
    entry = {"amount": "50.00", "price": "$50,00 ARS", "label": "a pagar hoy: $50,00 ARS"}
    entry["explanation"] = "<b>150 - 100</b>"
    return 200, json.dumps({"targets": {"2": {"annually": entry}}}).encode()


@pytest.mark.parametrize("stand_in", [_good], indirect=True)
def test_checkout_charges_the_price_shown_when_serve_fails_after_the_page(
    php: str, tmp_path: Path, panel_url: str, stand_in: StandIn
) -> None:
    fires = [("ClientAreaPageUpgrade", SUMMARY), ("PreUpgradeCheckout", CHECKOUT)]
    [[page], checkout], _, activity = fire_hooks(
        php, tmp_path, panel_url, fires, price_url=stand_in.url, wake_secret=SECRET
    )
    assert page["total"] == "$50,00 ARS"
    assert page["upgrades"][0]["newproductname"].endswith(
        "<small>&lt;b&gt;150 - 100&lt;/b&gt;</small>"  # the bridge's text is escaped
    )
    assert checkout == [{"amount": "50.00"}]
    assert activity == (
        "whmcs-bridge: upgrade price unavailable, the price the page showed is charged: HTTP 500\n"
    )
    [asked_page, asked_checkout] = stand_in.bodies
    assert asked_page == {
        "page": "upgradesummary",
        "serviceId": 1,
        "clientId": 1,
        "language": "spanish",
        "targets": [{"pid": 2, "cycles": ["annually"]}],
    }
    assert asked_checkout["upgradeId"] == 900


@pytest.mark.parametrize("stand_in", [_good], indirect=True)
def test_a_package_the_bridge_does_not_price_keeps_whmcs_text(
    php: str, tmp_path: Path, panel_url: str, stand_in: StandIn
) -> None:
    [[page]], _, _ = fire_hooks(
        php,
        tmp_path,
        panel_url,
        [("ClientAreaPageUpgrade", LIST)],
        price_url=stand_in.url,
        wake_secret=SECRET,
    )
    packages = page["upgradepackages"]
    assert packages["2"]["pricing"]["annually"] == "$150,00 ARS Anual (a pagar hoy: $50,00 ARS)"
    assert packages["2"]["pricing"]["semiannually"] == "$80,00 ARS Semestral"  # not priced
    assert packages["3"] == LIST["upgradepackages"]["3"]
    assert stand_in.bodies[0]["targets"] == [
        {"pid": 2, "cycles": ["semiannually", "annually"]},
        {"pid": 3, "cycles": ["monthly", "annually"]},
    ]


def _wrong(kind: str) -> Any:
    """A stand-in that answers the page with a 200 that is wrong in one way."""

    def answer(body: dict[str, Any]) -> tuple[int, bytes]:
        if kind == "not json":
            return 200, b"<html>oops</html>"
        entry = {"amount": "fifty", "price": "$50,00 ARS", "label": "x", "explanation": "x"}
        if kind == "no label":
            entry = {"amount": "50.00", "price": "$50,00 ARS", "explanation": "x"}
        return 200, json.dumps({"targets": {"2": {"annually": entry}}}).encode()

    return answer


@pytest.mark.parametrize(
    ("stand_in", "why"),
    [
        (_wrong("not json"), "the answer is not a JSON object"),
        (_wrong("bad amount"), "the answer for 2 annually holds no valid amount"),
        (_wrong("no label"), "the answer for 2 annually lacks a valid label"),
    ],
    indirect=["stand_in"],
)
def test_a_wrong_answer_keeps_whmcs_prices_on_the_page_and_at_checkout(
    php: str, tmp_path: Path, panel_url: str, stand_in: StandIn, why: str
) -> None:
    fires = [("ClientAreaPageUpgrade", SUMMARY), ("PreUpgradeCheckout", CHECKOUT)]
    each, _, activity = fire_hooks(
        php, tmp_path, panel_url, fires, price_url=stand_in.url, wake_secret=SECRET
    )
    assert each == [[[]], [[]]]
    assert activity == f"{KEPT}{why}\n"
    assert len(stand_in.bodies) == 1  # checkout charges WHMCS's price without asking


@pytest.mark.parametrize("stand_in", [_good], indirect=True)
@pytest.mark.parametrize(
    "extra", [{"promocode": "VERANO", "promodesc": "10% off"}, {"taxrate": "21.00"}]
)
def test_a_summary_with_promotion_or_tax_keeps_whmcs_prices(
    php: str, tmp_path: Path, panel_url: str, stand_in: StandIn, extra: dict[str, str]
) -> None:
    fires = [("ClientAreaPageUpgrade", {**SUMMARY, **extra}), ("PreUpgradeCheckout", CHECKOUT)]
    each, _, activity = fire_hooks(
        php, tmp_path, panel_url, fires, price_url=stand_in.url, wake_secret=SECRET
    )
    assert (each, activity, stand_in.bodies) == ([[[]], [[]]], "", [])


def test_without_price_url_the_page_asks_nothing(php: str, tmp_path: Path, panel_url: str) -> None:
    each, _, activity = fire_hooks(
        php, tmp_path, panel_url, [("ClientAreaPageUpgrade", LIST)], wake_secret=SECRET
    )
    assert (each, activity) == ([[[]]], "")


def test_the_page_route_in_english_and_for_another_client(panel_url: str) -> None:
    # Emily (client 5, English) looks at moving service 6 (annual 150, due in 9 months) down.
    def ask(**data: Any) -> tuple[int, Any]:
        payload = json.dumps({"page": "upgrade", "serviceId": 6, "clientId": 5, **data}).encode()
        status, _, answer = app(panel_url).handle(environ(payload))
        return status, json.loads(answer) if answer else None

    status, answer = ask(language="english", targets=[{"pid": 1, "cycles": ["annually"]}])
    assert status == 200
    entry = answer["targets"]["1"]["annually"]
    assert (entry["amount"], entry["label"]) == ("0.00", "no charge today")
    assert entry["explanation"].endswith(
        "This is a downgrade: nothing is charged and nothing is refunded."
    )
    assert ask(clientId=1, targets=[{"pid": 1, "cycles": ["annually"]}])[0] == 204  # not hers
    assert ask(targets=[{"pid": 1, "cycles": ["weekly"]}])[0] == 400
    assert ask(page="cart", targets=[])[0] == 400


def test_an_invoice_at_the_shown_price_keeps_the_promise_serve_could_not_record(
    panel_url: str,
) -> None:
    """Checkout charged the price the page showed while serve was down (no promise recorded):
    the upgrade.ordered check finds the policy's price on the invoice and records what it
    promised, so the cycle restarts when the upgrade completes."""
    bridge = make_bridge(
        panel_url, config={"plugins": {"enabled": ["upgrades"], "upgrades": {"policy": "full"}}}
    )
    _, _, answer = app(panel_url, policy="full").handle(environ(body()))
    shown = D(json.loads(answer)["amount"])
    engine = create_engine(panel_url)
    with engine.begin() as conn:
        conn.execute(upgrade_followups.delete())  # as if serve had never answered
        conn.execute(
            insert(T["tblinvoices"]).values(
                **blank_row(T["tblinvoices"], id=60, userid=1, status="Unpaid", total=shown)
            )
        )
        conn.execute(
            insert(T["tblinvoiceitems"]).values(
                **blank_row(
                    T["tblinvoiceitems"],
                    invoiceid=60,
                    userid=1,
                    type="Upgrade",
                    relid=900,
                    amount=shown,
                )
            )
        )
    note = bridge_on_event(bridge=bridge, event=upgrade_event(900))
    assert note == "upgrade 900: invoice #60 matches the full price"
    with engine.connect() as conn:
        [promise] = conn.execute(select(upgrade_followups)).all()
    engine.dispose()
    assert promise.next_due_date == bridge.clock.today().replace(year=bridge.clock.today().year + 1)
    assert promise.status == "pending"
