"""The plugin API end to end: a recording plugin implements every hook (kedro's LoggingHooks),
and the bridge calls each one where its docstring says, one plugin's failure never stopping
another's."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner
from sqlalchemy import Column, String, Table, inspect, select

from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.doctor import plugin_checks
from whmcs_bridge.plugin import (
    PREFIX,
    SKIP,
    Bridge,
    Check,
    Currency,
    Event,
    Id,
    Migration,
    Recipient,
    StaffAction,
    StaffActionResult,
    StaffAdmin,
    StaffRow,
    StaffSection,
    StaffTab,
    TableGrant,
    UpgradePrice,
    create_tables,
    hookimpl,
    metadata,
)
from whmcs_bridge.plugin_manager import get_plugin_manager
from whmcs_bridge.sandbox.hook_rows import write_hook_row
from whmcs_bridge.store import tables as core_tables
from whmcs_bridge.testing.bridges import make_bridge

notes_t = Table(
    f"{PREFIX}recorder_notes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("text", String(64), nullable=False),
)


class Quote:
    policy = "flat"
    amount_due = Decimal("10.00")
    credit = Decimal("0.00")
    currency = Currency(1, "ARS", "$", " ARS", 2)
    explanation = "a flat fee"


class Watcher:
    name = "recorder"

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def baseline(self, ctx: Any) -> None:
        self.calls.append("watcher baseline")

    def poll(self, ctx: Any) -> list[Event]:
        self.calls.append("watcher poll")
        return []

    def observe(self, ctx: Any, event: Event) -> None:
        return None


class Recorder:
    """Implements every hook and writes down each call."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl
    def bridge_load_settings(self, config: Any) -> dict[str, Any]:
        self.calls.append("load_settings")
        return {"greeting": config.plugin_config("recorder").get("greeting", "hola")}

    @hookimpl
    def bridge_migrations(self) -> list[Migration]:
        return [Migration(1, "notes", create_tables(notes_t))]

    @hookimpl
    def bridge_db_grants(self, bridge: Bridge) -> list[TableGrant]:
        return [TableGrant("tblhosting", ("UPDATE",), ("userid",), why="moves")]

    @hookimpl
    def bridge_register_commands(self, cli: click.Group) -> None:
        @cli.command("recorder-hello")
        def hello() -> None:
            click.echo("hello from the recorder")

    @hookimpl
    def bridge_register_routes(self, register: Any) -> None:
        register("GET", "/recorder", lambda bridge, request: (200, [], b"ok"))

    @hookimpl
    def bridge_register_channels(self, register: Any, bridge: Bridge) -> None:
        self.calls.append("register_channels")

    @hookimpl
    def bridge_register_watchers(self, register: Any, bridge: Bridge) -> None:
        register(Watcher(self.calls))

    @hookimpl
    def bridge_on_event(self, bridge: Bridge, event: Event) -> object:
        self.calls.append(f"event {event.name}")
        return f"{bridge.settings('recorder')['greeting']} {event.name}"

    @hookimpl
    def bridge_run_tasks(self, bridge: Bridge) -> str:
        self.calls.append("tasks")
        return "nothing due"

    @hookimpl
    def bridge_doctor_checks(self, bridge: Bridge) -> list[Check]:
        return [Check("recorder", True, "fine")]

    @hookimpl
    def bridge_upgrade_price(
        self, bridge: Bridge, service_id: int, target_product_id: int, billing_cycle: str
    ) -> UpgradePrice:
        return Quote()

    @hookimpl
    def bridge_alert_recipients(
        self, bridge: Bridge, event: Event, client_id: int
    ) -> list[Recipient]:
        return [
            Recipient(
                key="user:99",
                client_id=client_id,
                name="Sofía Paz",
                first_name="Sofía",
                email="sofia@example.com",
                language="es_AR",
                phone="+5492615550000",
                role="user",
                account_name="Carlos Rodríguez",
            )
        ]

    @hookimpl
    def bridge_staff_tabs(self, bridge: Bridge, language: str) -> list[StaffTab]:
        row = StaffRow(["1"], actions=[StaffAction("recorder.poke", "Poke", "¿Seguro?", {}, "v1")])
        return [StaffTab("recorder", "Recorder", language, [StaffSection("s", ["#"], [row])])]

    @hookimpl
    def bridge_staff_action(
        self, bridge: Bridge, name: str, params: dict[str, Any], version: str, admin: StaffAdmin
    ) -> StaffActionResult | None:
        if not name.startswith("recorder."):
            return None
        if version != "v1":
            return StaffActionResult.changed("moved on")
        return StaffActionResult(True, f"poked by {admin.label}")


class Broken:
    """Raises in every hook it has: the recorder must not notice."""

    @hookimpl
    def bridge_on_event(self, bridge: Bridge, event: Event) -> None:
        raise RuntimeError("broken on purpose")

    @hookimpl
    def bridge_doctor_checks(self, bridge: Bridge) -> list[Check]:
        raise RuntimeError("broken doctor")

    @hookimpl
    def bridge_run_tasks(self, bridge: Bridge) -> None:
        raise RuntimeError("broken tasks")

    @hookimpl
    def bridge_alert_recipients(self, bridge: Bridge, event: Event, client_id: int) -> None:
        raise RuntimeError("broken recipients")


def test_every_hook_is_called_where_its_docstring_says(demo_panel: str) -> None:
    recorder = Recorder()
    config = {"plugins": {"enabled": ["alerts"], "recorder": {"greeting": "buenas"}}}
    bridge = make_bridge(
        demo_panel, config=config, plugins=[("recorder", recorder), ("broken", Broken())]
    )
    assert recorder.calls == ["load_settings"]  # once, at start

    # bridge_migrations: the table exists, recorded under the plugin's name
    with bridge.panel.connect() as conn:
        assert inspect(conn).has_table(notes_t.name)
        meta = dict(conn.execute(select(core_tables.meta.c.name, core_tables.meta.c.value)).all())
    assert meta["schema_version:recorder"] == "1" and meta["plugin_version:recorder"] == "-"

    # bridge_db_grants
    (grants,) = [r for r in bridge.plugins.call_each("bridge_db_grants", bridge=bridge) if r.ok]
    assert grants.value[0].sql("whmcs", "'wb'@'%'") == (
        "GRANT UPDATE (`userid`) ON `whmcs`.`tblhosting` TO 'wb'@'%';"
    )

    # watchers, events, tasks and the broken plugin's failures, in one cycle
    first = run_cycle(bridge)
    assert "watcher baseline" in recorder.calls and first.tasks["recorder"] == "nothing due"
    assert any(error.startswith("broken tasks: RuntimeError") for error in first.errors)
    with bridge.panel.begin() as conn:
        write_hook_row(conn, "InvoicePaid", {"invoiceid": 2}, bridge.clock.panel_now())
    second = run_cycle(bridge)
    assert "watcher poll" in recorder.calls and "event invoice.paid" in recorder.calls
    assert second.dispatch["done"] >= 2 and second.dispatch["failed"] == 1

    # bridge_alert_recipients: the recorder's user is told, the broken plugin is named
    from whmcs_bridge.plugins.alerts import build_plan

    paid = Event(
        key="x", name="invoice.paid", subject_type="invoice", subject_id=2,
        occurred_at=bridge.clock.panel_now(), source="hook", client_id=2,
    )  # fmt: skip
    plan = build_plan(bridge, paid, bridge.settings("alerts"))
    assert any(d.recipient_key.startswith("user:99") for d in plan.deliveries), plan
    assert "recipients of plugin broken left out" in plan.notes

    # bridge_doctor_checks: the recorder's line, and the broken plugin as a failed line
    checks = {check.name: check for check in plugin_checks(bridge)}
    assert checks["recorder"].ok and not checks["plugin broken"].ok

    # bridge_staff_tabs and bridge_staff_action: the page's tab and its button
    answers = bridge.plugins.call_each("bridge_staff_tabs", bridge=bridge, language="en")
    tabs = [r.value for r in answers if r.plugin == "recorder"]
    assert tabs[0][0].summary == "en" and tabs[0][0].sections[0].rows[0].actions[0].version == "v1"
    admin = StaffAdmin(3, "Ana")
    poke = {"bridge": bridge, "name": "recorder.poke", "params": {}, "admin": admin}
    assert (
        bridge.hook.bridge_staff_action(**poke, version="v1").message == "poked by Ana (admin #3)"
    )
    assert bridge.hook.bridge_staff_action(**poke, version="v0").status == 409

    # bridge_upgrade_price: first non-None answer
    price = bridge.hook.bridge_upgrade_price(
        bridge=bridge, service_id=1, target_product_id=2, billing_cycle="Annually"
    )
    assert isinstance(price, UpgradePrice) and price.amount_due == Decimal("10.00")
    bridge.close()


def test_commands_and_routes_are_registered(demo_panel: str, tmp_path: Path) -> None:
    recorder = Recorder()
    host = get_plugin_manager(None, load_entrypoints=False, plugins=[("recorder", recorder)])
    group = click.Group("whmcs-bridge")
    assert [r.ok for r in host.call_each("bridge_register_commands", cli=group)] == [True]
    assert CliRunner().invoke(group, ["recorder-hello"]).output == "hello from the recorder\n"
    routes: list[tuple[str, str]] = []
    host.call_each("bridge_register_routes", register=lambda m, p, h: routes.append((m, p)))
    assert ("GET", "/recorder") in routes


def test_a_skip_is_recorded_as_skipped(demo_panel: str) -> None:
    class Skipper:
        @hookimpl
        def bridge_on_event(self, bridge: Bridge, event: Event) -> object:
            return SKIP

    bridge = make_bridge(demo_panel, plugins=[("skipper", Skipper())])
    run_cycle(bridge)
    with bridge.panel.begin() as conn:
        write_hook_row(conn, "InvoicePaid", {"invoiceid": 2}, bridge.clock.panel_now())
    run_cycle(bridge)
    with bridge.panel.connect() as conn:
        statuses = conn.execute(select(core_tables.outcomes.c.status)).scalars().all()
    assert statuses == ["skipped"]
    bridge.close()
