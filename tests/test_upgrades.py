"""The upgrades plugin: quotes through the CLI (R-UP-1), refusals, group policies, config checks,
and the manual path (R-UP-3) that opens exactly one ticket however often it runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, insert, select, update
from whmcs_bridge.plugins.upgrades.cycles import BillingCycle, cycle_days
from whmcs_bridge.plugins.upgrades.eligibility import plan_upgrade
from whmcs_bridge.plugins.upgrades.manual import request_manual_upgrade
from whmcs_bridge.plugins.upgrades.settings import parse_settings
from whmcs_bridge.plugins.upgrades.tables import upgrade_requests

from whmcs_bridge.doctor import plugin_checks
from whmcs_bridge.errors import BridgeError, ConfigError
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import metadata
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.testing.bridges import make_bridge, sqlite_panel

ROOT = Path(__file__).resolve().parent.parent
TODAY = date.today()
D = Decimal
T = metadata.tables


@pytest.fixture
def panel_url(tmp_path: Path) -> str:
    """The demo company seeded today, with the bridge's tables."""
    url = sqlite_panel(tmp_path / "panel.sqlite", TODAY)
    make_bridge(url, config={"plugins": {"enabled": ["upgrades"]}}).close()
    return url


@pytest.fixture
def sandbox(panel_url: str) -> Iterator[SandboxPanel]:
    with SandboxPanel(create_engine(panel_url), identifier="ident", secret="api-s3cret") as panel:
        yield panel


def api_config(sandbox: SandboxPanel) -> dict[str, str]:
    return {"url": sandbox.url, "identifier": "ident", "secret": "api-s3cret"}


def write_config(
    tmp_path: Path, url: str, upgrades: str = "", api: dict[str, str] | None = None
) -> Path:
    path = tmp_path / "bridge.toml"
    text = f'[panel]\ndatabase_url = "{url}"\n[plugins]\nenabled = ["upgrades"]\n'
    if api:
        text += "[api]\n" + "".join(f'{k} = "{v}"\n' for k, v in api.items())
    text += f"[plugins.upgrades]\n{upgrades}"
    path.write_text(text)
    return path


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "upgrade", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def quote_json(config: Path, *args: str) -> dict[str, Any]:
    done = cli(config, "quote", "--on", TODAY.isoformat(), "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def run_sql(url: str, *statements: Any) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)
    engine.dispose()


# -- R-UP-1 through the CLI ------------------------------------------------------------------------


def test_quote_text_reproduces_r_up_1(tmp_path: Path, panel_url: str) -> None:
    config = write_config(tmp_path, panel_url)
    done = cli(config, "quote", "--service", "1", "--to", "2", "--on", TODAY.isoformat())
    assert done.returncode == 0, done.stderr
    assert "-> #2 Hosting Avanzado (annually), automatic" in done.stdout
    assert "difference: $50,00 ARS" in done.stdout  # 150 - 100, whatever the day
    # Without [api], WHMCS's rule is computed here for the same day.
    assert f"(WHMCS's rule, computed for {TODAY:%d/%m/%Y})" in done.stdout


def test_quote_json_difference_and_prorata(tmp_path: Path, panel_url: str) -> None:
    config = write_config(tmp_path, panel_url)
    [target] = quote_json(config, "--service", "1", "--to", "2", "--cycle", "annually")["targets"]
    assert (target["policy"], target["amount"], target["route"]) == (
        "difference",
        "50.00",
        "automatic",
    )

    [prorata] = quote_json(
        config, "--service", "1", "--to", "2", "--cycle", "annually", "--policy", "prorata"
    )["targets"]
    due = TODAY + timedelta(days=180)
    days = cycle_days(due, BillingCycle.ANNUALLY)  # 365 or 366
    assert prorata["policy"] == "prorata"
    assert D(prorata["amount"]) == (D(50) * 180 / days).quantize(D("0.01"))
    assert abs(D(prorata["amount"]) - D("25.00")) < D("0.50")  # R-UP-1: "25", a day's share off


def test_quote_lists_every_reachable_target_in_every_cycle_it_offers(
    tmp_path: Path, panel_url: str
) -> None:
    # Issue 11 point 2: each cycle a target offers, not only the service's own.
    config = write_config(tmp_path, panel_url)
    report = quote_json(config, "--service", "1")
    assert [(t["product_id"], t["cycle"]) for t in report["targets"]] == [
        (2, "semiannually"),
        (2, "annually"),
        (3, "monthly"),
        (3, "annually"),
    ]
    amounts = {(t["product_id"], t["cycle"]): t["amount"] for t in report["targets"]}
    assert (amounts[2, "annually"], amounts[3, "annually"]) == ("50.00", "200.00")
    assert all(t["refusals"] == [] for t in report["targets"])
    assert report["manual"] is None and report["closed"] is None


def test_a_free_service_has_real_options(tmp_path: Path, panel_url: str) -> None:
    hosting = T["tblhosting"]
    run_sql(
        panel_url,
        update(hosting)
        .where(hosting.c.id == 1)
        .values(billingcycle="Free Account", amount=D("0.00"), nextduedate=None),
    )
    config = write_config(tmp_path, panel_url)
    targets = quote_json(config, "--service", "1", "--to", "2")["targets"]
    assert [(t["cycle"], t["amount"], t["refusals"]) for t in targets] == [
        ("semiannually", "80.00", []),
        ("annually", "150.00", []),
    ]


def test_quote_compares_with_whmcs_through_the_api(
    tmp_path: Path, panel_url: str, sandbox: SandboxPanel
) -> None:
    config = write_config(tmp_path, panel_url, api=api_config(sandbox))
    [target] = quote_json(config, "--service", "1", "--to", "2", "--cycle", "annually")["targets"]
    whmcs = D(target["whmcs_amount"])
    assert abs(whmcs - D("25.00")) < D("0.50")  # the sandbox prices like WHMCS: prorata
    assert D(target["gap"]) == D("50.00") - whmcs
    done = cli(config, "quote", "--service", "1", "--to", "2", "--cycle", "annually")
    assert f"WHMCS would charge: ${str(whmcs).replace('.', ',')} ARS" in done.stdout
    # Issue 11 point 4: another day is priced for that day on both sides, and matches what
    # WHMCS's own rule (the sandbox's) gives on that day.
    later = TODAY + timedelta(days=30)
    [moved] = cli_json(config, "--service", "1", "--to", "2", "--cycle", "annually", on=later)
    assert D(moved["whmcs_amount"]) < whmcs  # 30 days fewer of the dearer plan
    assert f"computed for {later:%d/%m/%Y}" in moved["whmcs_text"]
    assert D(moved["whmcs_amount"]) == (
        D(50) * 150 / cycle_days(TODAY + timedelta(days=180), BillingCycle.ANNUALLY)
    ).quantize(D("0.01"))


def cli_json(config: Path, *args: str, on: date) -> list[dict[str, Any]]:
    done = cli(config, "quote", "--on", on.isoformat(), "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["targets"]


def test_a_downgrade_says_whether_whmcs_would_credit(tmp_path: Path, panel_url: str) -> None:
    config = write_config(tmp_path, panel_url)
    [down] = quote_json(config, "--service", "2", "--to", "1")["targets"]
    whmcs = D(down["whmcs_amount"])
    assert whmcs < 0
    assert "credits $" in down["whmcs_text"] and "(CreditOnDowngrade is on)" in down["whmcs_text"]
    assert D(down["whmcs_charge"]) == whmcs and D(down["gap"]) == -whmcs  # we credit nothing
    settings = T["tblconfiguration"]
    run_sql(
        panel_url,
        update(settings).where(settings.c.setting == "CreditOnDowngrade").values(value=""),
    )
    [down] = quote_json(config, "--service", "2", "--to", "1")["targets"]
    assert "credits nothing (CreditOnDowngrade is off)" in down["whmcs_text"]
    assert (D(down["whmcs_charge"]), D(down["gap"])) == (0, 0)


def test_group_policy_by_name_and_by_id(tmp_path: Path, panel_url: str) -> None:
    by_name = write_config(
        tmp_path, panel_url, '[plugins.upgrades.groups]\n"hosting web" = "full"\n'
    )
    targets = quote_json(by_name, "--service", "1", "--to", "2")["targets"]
    assert {t["policy"] for t in targets} == {"full"}
    by_id = write_config(tmp_path, panel_url, '[plugins.upgrades.groups]\n"1" = "prorata"\n')
    targets = quote_json(by_id, "--service", "1", "--to", "2")["targets"]
    assert {t["policy"] for t in targets} == {"prorata"}


def test_downgrade_charges_nothing_unless_credit(tmp_path: Path, panel_url: str) -> None:
    config = write_config(tmp_path, panel_url)
    [down] = quote_json(config, "--service", "2", "--to", "1")["targets"]
    assert (down["amount"], down["credit"]) == ("0.00", "0.00")  # R-UP-4
    credit = write_config(tmp_path, panel_url, 'downgrade = "credit"\n')
    [down] = quote_json(credit, "--service", "2", "--to", "1")["targets"]
    # The 50.00 difference for the days left of the cycle only: the used part was had (R-UP-4).
    assert (down["amount"], down["credit"]) == ("-12.33", "12.33")
    assert Decimal(down["credit"]) < Decimal(50)


# -- refusals --------------------------------------------------------------------------------------


def codes(url: str, service_id: int, **kw: Any) -> set[str]:
    bridge = make_bridge(url, config={"plugins": {"enabled": ["upgrades"]}})
    with bridge.panel.connect() as conn:
        plan = plan_upgrade(conn, bridge.panel, parse_settings({}), service_id, TODAY, **kw)
    bridge.close()
    return {r.code for option in plan.options for r in option.refusals}


def test_refused_when_the_service_is_not_active(panel_url: str) -> None:
    assert "service_not_active" in codes(panel_url, 3)  # Suspended


def test_refused_when_the_target_is_not_an_upgrade_path(panel_url: str) -> None:
    assert codes(panel_url, 1, target_id=4) == {"not_an_upgrade_path"}
    assert codes(panel_url, 1, target_id=2) == set()


def test_not_priced_when_the_service_has_configurable_options(panel_url: str) -> None:
    # tblhosting.amount includes the options; the product price alone would undercharge.
    run_sql(
        panel_url,
        insert(T["tblhostingconfigoptions"]).values(relid=1, configid=1, optionid=1, qty=0),
    )
    assert codes(panel_url, 1, target_id=2) == {"not_priced"}


def test_refused_with_an_unpaid_renewal_invoice(panel_url: str) -> None:
    run_sql(
        panel_url,
        insert(T["tblinvoices"]).values(
            **blank_row(T["tblinvoices"], id=50, userid=1, status="Unpaid")
        ),
        insert(T["tblinvoiceitems"]).values(
            **blank_row(T["tblinvoiceitems"], invoiceid=50, userid=1, type="Hosting", relid=1)
        ),
    )
    assert codes(panel_url, 1, target_id=2) == {"unpaid_renewal_invoice"}


def test_refused_with_an_unpaid_upgrade_invoice(panel_url: str) -> None:
    run_sql(
        panel_url,
        insert(T["tblupgrades"]).values(
            **blank_row(
                T["tblupgrades"], id=70, userid=1, type="package", relid=1, newvalue="3,annually"
            )
        ),
        insert(T["tblinvoices"]).values(
            **blank_row(T["tblinvoices"], id=51, userid=1, status="Unpaid")
        ),
        insert(T["tblinvoiceitems"]).values(
            **blank_row(T["tblinvoiceitems"], invoiceid=51, userid=1, type="Upgrade", relid=70)
        ),
    )
    assert codes(panel_url, 1, target_id=2) == {"unpaid_upgrade_invoice"}
    run_sql(
        panel_url, update(T["tblinvoices"]).where(T["tblinvoices"].c.id == 51).values(status="Paid")
    )
    assert codes(panel_url, 1, target_id=2) == set()


def test_refused_without_the_orders_permission_on_whmcs_8(panel_url: str) -> None:
    assert codes(panel_url, 2, target_id=3, user_id=6) == {
        "no_orders_permission"
    }  # invoices,tickets
    assert codes(panel_url, 2, target_id=3, user_id=2) == set()  # the owner has every right
    assert codes(panel_url, 2, target_id=3, user_id=1) == {"no_orders_permission"}  # not linked
    links = T["tblusers_clients"]
    run_sql(
        panel_url,
        update(links).where(links.c.auth_user_id == 6).values(permissions="invoices,orders"),
    )
    assert codes(panel_url, 2, target_id=3, user_id=6) == set()


def test_refused_without_the_orders_permission_on_whmcs_7(panel_url: str) -> None:
    contacts = T["tblcontacts"]
    run_sql(
        panel_url,
        update(contacts).where(contacts.c.userid == 2).values(subaccount=1, permissions="invoices"),
    )
    engine = create_engine(panel_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE tblusers_clients")  # a 7.x panel has no such table
    engine.dispose()
    contact_id = 1
    assert codes(panel_url, 2, target_id=3, user_id=contact_id) == {"no_orders_permission"}
    assert codes(panel_url, 2, target_id=3, user_id=0) == set()  # the client itself


def test_refused_when_the_cycle_is_not_offered(tmp_path: Path, panel_url: str) -> None:
    assert codes(panel_url, 1, target_id=2, cycle="monthly") == {"cycle_not_offered"}
    config = write_config(tmp_path, panel_url)
    done = cli(config, "quote", "--service", "1", "--to", "2", "--cycle", "Monthly")
    assert "refused, cycle_not_offered: the new product is not offered Monthly" in done.stdout


def test_difference_basis_is_a_setting(panel_url: str) -> None:
    # Issue 11 point 5: annual 100 moved to semi-annual 80 half-way through the year.
    bridge = make_bridge(panel_url, config={"plugins": {"enabled": ["upgrades"]}})
    amounts = {}
    for basis in ("unused", "paid"):
        with bridge.panel.connect() as conn:
            plan = plan_upgrade(
                conn,
                bridge.panel,
                parse_settings({"difference_basis": basis}),
                1,
                TODAY,
                target_id=2,
                cycle="semiannually",
            )
        quote = plan.options[0].quote
        assert quote is not None and quote.cycle_restarted
        amounts[basis] = quote.net_amount
    bridge.close()
    unused = D(100) * 180 / cycle_days(TODAY + timedelta(days=180), BillingCycle.ANNUALLY)
    assert amounts == {"unused": (80 - unused).quantize(D("0.01")), "paid": D("-20.00")}
    with pytest.raises(ConfigError, match=r"plugins\.upgrades\.difference_basis.*unused, paid"):
        make_bridge(
            panel_url,
            config={"plugins": {"enabled": ["upgrades"], "upgrades": {"difference_basis": "x"}}},
        )


def test_config_is_checked_at_start_up(panel_url: str) -> None:
    with pytest.raises(
        ConfigError, match=r"plugins\.upgrades\.policy.*expected one of difference, prorata, full"
    ):
        make_bridge(
            panel_url,
            config={"plugins": {"enabled": ["upgrades"], "upgrades": {"policy": "cheap"}}},
        )
    with pytest.raises(ConfigError, match=r"plugins\.upgrades\.groups\.1"):
        make_bridge(
            panel_url,
            config={"plugins": {"enabled": ["upgrades"], "upgrades": {"groups": {"1": "x"}}}},
        )
    with pytest.raises(ConfigError, match=r"plugins\.upgrades\.correct_invoices"):
        make_bridge(
            panel_url,
            config={"plugins": {"enabled": ["upgrades"], "upgrades": {"correct_invoices": "yes"}}},
        )


# -- the manual path (R-UP-3) ----------------------------------------------------------------------


@pytest.fixture
def vps(panel_url: str) -> str:
    """Service 5 Active on 'VPS Administrado' (no upgrade paths, no module); a bigger VPS, #5."""
    products, pricing, hosting = T["tblproducts"], T["tblpricing"], T["tblhosting"]
    prices = dict.fromkeys(
        ("quarterly", "semiannually", "annually", "biennially", "triennially"), D("-1.00")
    )
    run_sql(
        panel_url,
        update(hosting)
        .where(hosting.c.id == 5)
        .values(domainstatus="Active", nextduedate=TODAY + timedelta(days=20)),
        insert(products).values(
            **blank_row(products, id=5, gid=2, name="VPS Plus", paytype="recurring", servertype="")
        ),
        insert(pricing).values(
            **blank_row(pricing, type="product", currency=1, relid=5, monthly=D("200.00"), **prices)
        ),
    )
    return panel_url


def manual_bridge(url: str, sandbox: SandboxPanel) -> Any:
    return make_bridge(
        url,
        config={
            "plugins": {"enabled": ["upgrades"], "upgrades": {"manual_department": "ventas"}},
            "api": api_config(sandbox),
        },
    )


def tickets(url: str) -> list[Any]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(T["tbltickets"]).where(T["tbltickets"].c.id > 1)).all()
    engine.dispose()
    return rows


def test_quote_says_when_only_the_manual_path_exists(tmp_path: Path, vps: str) -> None:
    config = write_config(tmp_path, vps)
    report = quote_json(config, "--service", "5")
    assert report["manual"]["code"] == "no_upgrade_paths" and report["targets"] == []
    [target] = quote_json(config, "--service", "5", "--to", "5")["targets"]
    assert (target["route"], target["amount"]) == ("manual", "90.00")


def test_manual_path_opens_exactly_one_ticket(vps: str, sandbox: SandboxPanel) -> None:
    bridge = manual_bridge(vps, sandbox)
    results = [request_manual_upgrade(bridge, 5, 5) for _ in range(3)]
    assert [r.created for r in results] == [True, False, False]
    assert len({r.ticket_id for r in results}) == 1
    [ticket] = tickets(vps)
    assert ticket.id == results[0].ticket_id and ticket.did == 3  # "Ventas"
    assert ticket.userid == 1 and ticket.service == "S5"
    # Issue 11 point 3: written by the company, in the client's language, no rule ids.
    assert ticket.title == "Cambio de plan de vps1.mariagonzalez.com.ar a VPS Plus"
    assert ticket.admin != ""  # opened as staff, not as the client
    message = ticket.message
    assert message.startswith("Hola María:\n\nRecibimos el pedido de cambio de plan de ")
    assert "Tu plan actual no tiene cambios de plan automáticos" in message
    assert f"Presupuesto al {TODAY:%d/%m/%Y}:" in message
    assert "- A pagar: $90,00 ARS" in message
    assert "$200,00 ARS - $110,00 ARS = $90,00 ARS" in message  # the figures, adding up
    assert message.rstrip().endswith("El equipo de Hosting Patagonia SRL")
    assert "R-UP" not in message and not re.search(r"\d{4}-\d\d-\d\d", message)


def test_the_manual_ticket_speaks_the_clients_language(
    panel_url: str, sandbox: SandboxPanel
) -> None:
    # Emily (English) asks to move service 6 (Hosting Avanzado) to the VPS, not one of its
    # automatic paths: the manual path, in English.
    opened = request_manual_upgrade(manual_bridge(panel_url, sandbox), 6, 4)
    [ticket] = tickets(panel_url)
    assert ticket.id == opened.ticket_id
    assert ticket.title == "Plan change of carterdesign.com to VPS Administrado"
    assert ticket.message.startswith("Hello Emily,\n\nWe have your request to change the plan")
    assert "That plan is not among the automatic changes of your current plan" in ticket.message
    assert f"Quote as of {TODAY:%d/%m/%Y}:" in ticket.message
    assert "Kind regards,\nThe Hosting Patagonia SRL team" in ticket.message
    assert "R-UP" not in ticket.message


def test_the_manual_path_is_refused_when_it_is_not_needed_or_cannot_be(
    tmp_path: Path, panel_url: str, sandbox: SandboxPanel
) -> None:
    from whmcs_bridge.plugins.upgrades.eligibility import UpgradeNotPossible

    bridge = manual_bridge(panel_url, sandbox)
    with pytest.raises(UpgradeNotPossible, match="can order it in the client area"):
        request_manual_upgrade(bridge, 1, 2)  # Hosting Inicial -> Avanzado is automatic
    with pytest.raises(UpgradeNotPossible, match="already on Hosting Inicial, Annually"):
        request_manual_upgrade(bridge, 1, 1, "annually")
    with pytest.raises(UpgradeNotPossible, match="Terminated, it cannot be upgraded at all"):
        request_manual_upgrade(bridge, 5, 1)
    assert tickets(panel_url) == [] and "OpenTicket" not in sandbox.calls
    # quote says so too, instead of suggesting the manual path
    report = quote_json(write_config(tmp_path, panel_url), "--service", "5")
    assert report["closed"] == "service #5 is Terminated: it cannot be upgraded at all"
    assert (report["manual"], report["targets"]) == (None, [])
    done = cli(write_config(tmp_path, panel_url), "quote", "--service", "7")
    assert "Not upgradable: service #7 is Cancelled" in done.stdout
    assert "upgrade request" not in done.stdout


def test_manual_path_from_two_processes_opens_one_ticket(
    tmp_path: Path, vps: str, sandbox: SandboxPanel
) -> None:
    config = write_config(tmp_path, vps, "manual_department = 3\n", api=api_config(sandbox))
    args = [sys.executable, "-m", "whmcs_bridge", "--config", str(config)]
    args += ["upgrade", "request", "--service", "5", "--to", "5", "--json"]
    procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    again = cli(config, "request", "--service", "5", "--to", "5")
    assert sorted(o["created"] for o in outputs) == [False, True]
    assert {o["ticket_id"] for o in outputs} == {tickets(vps)[0].id}
    assert len(tickets(vps)) == 1
    assert "already opened earlier" in again.stdout
    engine = create_engine(vps)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(upgrade_requests)).scalar() == 1
    engine.dispose()


def test_manual_path_refuses_an_inactive_service(panel_url: str, sandbox: SandboxPanel) -> None:
    from whmcs_bridge.plugins.upgrades.eligibility import UpgradeNotPossible

    with pytest.raises(UpgradeNotPossible, match="Suspended"):
        request_manual_upgrade(manual_bridge(panel_url, sandbox), 3, 2)
    assert tickets(panel_url) == []


def test_doctor_checks_the_manual_department(panel_url: str) -> None:
    good = make_bridge(
        panel_url,
        config={"plugins": {"enabled": ["upgrades"], "upgrades": {"manual_department": "Ventas"}}},
    )
    [check] = [c for c in plugin_checks(good) if "manual department" in c.name]
    assert check.ok and "#3" in check.detail
    bad = make_bridge(
        panel_url,
        config={"plugins": {"enabled": ["upgrades"], "upgrades": {"manual_department": "Nadie"}}},
    )
    [check] = [c for c in plugin_checks(bad) if "manual department" in c.name]
    assert not check.ok


def _stale_claim(url: str, bridge: Any, **values: Any) -> None:
    stale = bridge.clock.panel_now() - timedelta(minutes=20)
    run_sql(
        url,
        update(upgrade_requests).values(
            status="claimed", ticket_id=None, ticket_tid=None, claimed_at=stale, **values
        ),
    )


def test_a_run_that_died_before_its_ticket_does_not_block_the_manual_path(
    vps: str, sandbox: SandboxPanel
) -> None:
    bridge = manual_bridge(vps, sandbox)
    first = request_manual_upgrade(bridge, 5, 5)
    # As if that run had died holding its claim, before OpenTicket reached WHMCS.
    run_sql(vps, T["tbltickets"].delete().where(T["tbltickets"].c.id == first.ticket_id))
    _stale_claim(vps, bridge)
    retried = request_manual_upgrade(bridge, 5, 5)
    assert (retried.status, retried.created) == ("opened", True)
    assert [t.id for t in tickets(vps)] == [retried.ticket_id]


def test_a_run_that_died_after_its_ticket_gets_that_ticket_not_a_second(
    vps: str, sandbox: SandboxPanel
) -> None:
    bridge = manual_bridge(vps, sandbox)
    first = request_manual_upgrade(bridge, 5, 5)
    _stale_claim(vps, bridge)  # died after OpenTicket, before recording the ticket
    found = request_manual_upgrade(bridge, 5, 5)
    assert (found.status, found.created, found.ticket_id) == ("opened", False, first.ticket_id)
    assert len(tickets(vps)) == 1 and sandbox.calls.count("OpenTicket") == 1


def test_a_lost_answer_blocks_until_the_admin_says_again(vps: str, sandbox: SandboxPanel) -> None:
    bridge = manual_bridge(vps, sandbox)
    run_sql(
        vps,
        insert(upgrade_requests).values(
            service_id=5,
            product_id=5,
            client_id=1,
            billing_cycle="monthly",
            amount="90.00",
            status="unknown",
            note="read timed out",
            claimed_at=bridge.clock.panel_now(),
            updated_at=bridge.clock.panel_now(),
        ),
    )
    with pytest.raises(BridgeError, match="--again"):
        request_manual_upgrade(bridge, 5, 5)
    assert tickets(vps) == []
    opened = request_manual_upgrade(bridge, 5, 5, again=True)
    assert (opened.status, opened.created) == ("opened", True)
    assert len(tickets(vps)) == 1
