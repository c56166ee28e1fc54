"""The SLA plugin on the stock 7.8 and 8.4 schemas and on SQLite (R-SL-1..7).

One scenario per backend: plans from products, groups and the default; targets per SLA kind and
a full client's P1; deadlines stored on ``ticket.opened`` and for tickets already open; a staff
reply stops the clock, a client's does not, a reopened ticket gets a new clock; warnings and
breaches once each over many cycles, to staff only; incident notices once per client.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, update
from whmcs_bridge.plugins.sla import report as reports
from whmcs_bridge.plugins.sla import tasks
from whmcs_bridge.plugins.sla.plans import missing_channels, plan_of, target_for
from whmcs_bridge.plugins.sla.settings import parse_settings
from whmcs_bridge.plugins.sla.tables import clocks, incident_notices

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.events.dispatch import dispatch
from whmcs_bridge.events.model import Event, event_key
from whmcs_bridge.intake import run_intake
from whmcs_bridge.outbox.tables import outbox
from whmcs_bridge.panel.queries.holdings import Holdings
from whmcs_bridge.sandbox.actions_common import insert_row
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.store.migrate import upgrade
from whmcs_bridge.testing.bridges import make_bridge, sqlite_panel

ROOT = Path(__file__).resolve().parents[1]
#: Friday 27 November 2026, 16:30 in Buenos Aires (UTC-3).
FRIDAY_1630 = datetime(2026, 11, 27, 19, 30, tzinfo=UTC)
STAFF = {
    "telegram_chat": "-1001",
    "email": True,
    "whatsapp": "+5491122334455",
    "whatsapp_template": "sla_aviso",
}
SLA_CONFIG: dict[str, Any] = {
    "products": {"Soporte Full": "full"},
    "client_groups": {"Corporativos": "premium"},
    "departments": {"Desarrollo web": 4, "Mantenimiento": 2},
    "critical_departments": ["Urgencias"],
    "notify": STAFF,
}


def local(*args: int) -> datetime:
    """A naive panel-local (Buenos Aires) time, as WHMCS stores it."""
    return datetime(*args)  # type: ignore[misc]


def sla_bridge(url: str, now: datetime, api: dict[str, str] | None = None) -> Bridge:
    config: dict[str, Any] = {"plugins": {"enabled": ["sla"], "sla": SLA_CONFIG}}
    if api:
        config["api"] = api
    bridge = make_bridge(url, config=config, now=now)
    upgrade(bridge.panel.engine, bridge.plugins.migrations())
    return bridge


def seed(bridge: Bridge) -> dict[str, int]:
    """Departments, a standard, a premium (group) and a full (product) client, and tickets."""
    t = bridge.panel.tables
    ids: dict[str, int] = {}
    with bridge.panel.begin() as conn:
        for key, name in (
            ("soporte", "Soporte"),
            ("web", "Desarrollo web"),
            ("maint", "Mantenimiento"),
            ("urg", "Urgencias"),
        ):
            ids[key] = insert_row(conn, t.ticketdepartments, {"name": name, "email": "s@x.test"})
        group = insert_row(conn, t.clientgroups, {"groupname": "Corporativos"})
        for key, first, group_id in (
            ("std", "Ana", 0),
            ("pro", "Bruno", group),
            ("full", "Ceci", 0),
        ):
            ids[key] = insert_row(
                conn,
                t.clients,
                {
                    "firstname": first,
                    "lastname": "Test",
                    "email": f"{key}@x.test",
                    "groupid": group_id,
                },
            )
        hosting = insert_row(conn, t.products, {"name": "Hosting", "type": "hostingaccount"})
        full = insert_row(conn, t.products, {"name": "Soporte Full", "type": "other"})
        for client, product in (("std", hosting), ("full", full)):
            insert_row(
                conn,
                t.hosting,
                {"userid": ids[client], "packageid": product, "domainstatus": "Active"},
            )

        def ticket(key: str, client: str, dept: str, opened: datetime, **extra: Any) -> None:
            values = {
                "tid": f"T-{key}",
                "did": ids[dept],
                "userid": ids[client],
                "date": opened,
                "title": extra.pop("title", f"Ticket {key}"),
                "message": extra.pop("message", "Hola"),
                "status": "Open",
                "urgency": "Medium",
                "lastreply": opened,
                **extra,
            }
            ids[key] = insert_row(conn, t.tickets, values)

        ticket("t_std", "std", "soporte", local(2026, 11, 27, 16, 30))
        ticket("t_pro", "pro", "web", local(2026, 11, 27, 16, 30))
        ticket("t_p1", "full", "urg", local(2026, 11, 27, 16, 30), urgency="High")
        ticket("t_maint", "std", "maint", local(2026, 11, 27, 16, 30))
        ticket("t_old", "std", "soporte", local(2026, 10, 1, 10, 0))
        ticket("t_closed", "std", "soporte", local(2026, 11, 27, 12, 0), status="Closed")
        # Opened by staff (TicketOpenAdmin): it waits for the client, not for staff.
        ticket("t_staff", "std", "soporte", local(2026, 11, 27, 15, 0), admin="Marta")
        ticket("t_again", "std", "soporte", local(2026, 11, 27, 10, 0), status="Customer-Reply")
        ticket(
            "t_phone",
            "std",
            "soporte",
            local(2026, 11, 27, 16, 30),
            message="Por favor llamenme por teléfono o por WhatsApp",
        )
        for when, admin in (
            (local(2026, 11, 27, 11, 0), "Marta"),
            (local(2026, 11, 27, 16, 0), ""),
        ):
            insert_row(
                conn,
                t.ticketreplies,
                {"tid": ids["t_again"], "date": when, "admin": admin, "message": "x"},
            )
    return ids


def cycle(bridge: Bridge) -> list[str]:
    """Intake (the watchers, the plugin's included) and dispatch: what reaches the outbox."""
    run_intake(bridge)
    return dispatch(bridge).errors


def opened(bridge: Bridge, ticket_id: int) -> Event:
    return Event(
        key=event_key("ticket.opened", ticket_id),
        name="ticket.opened",
        subject_type="ticket",
        subject_id=ticket_id,
        occurred_at=bridge.clock.panel_now(),
        source="watcher",
        id=ticket_id,
    )


def staff_rows(bridge: Bridge) -> list[Any]:
    with bridge.panel.connect() as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.id)))


def test_plans_targets_and_channel_requests() -> None:
    settings = parse_settings(SLA_CONFIG | {"plans": {"full": {"clock": "24x7"}}})
    assert plan_of(settings, None).plan == "standard"
    held = Holdings(1, 3, "corporativos", {(9, "Hosting")}, {(4, "Soporte Premium")})
    assert plan_of(settings, held).plan == "professional"  # the group, alias premium
    held.products.add((7, "Soporte Full"))
    assert plan_of(settings, held) == plan_of(settings, held)
    assert plan_of(settings, held).plan == "full"
    assert plan_of(settings, held).because == "product 'Soporte Full'"
    # R-SL-2..6 per kind and plan.
    cases = {
        ("standard", "Soporte", "Low"): (480, "business", 1, False),
        ("standard", "Mantenimiento", "Low"): (480, "24x7", 2, False),
        ("standard", "Desarrollo web", "Low"): (120, "business", 4, False),
        ("professional", "Soporte", "High"): (120, "business", 1, False),
        ("full", "Soporte", "High"): (15, "24x7", 1, False),  # configured 24x7 here
        ("full", "Urgencias", "High"): (30, "24x7", 1, True),  # P1
        ("full", "Urgencias", "Medium"): (15, "24x7", 1, False),
        ("professional", "Urgencias", "High"): (120, "business", 1, False),  # P1 is for full
    }
    for (plan, dept, priority), expected in cases.items():
        target = target_for(settings, plan, 0, dept, priority)
        assert (target.minutes, target.clock, target.kind, target.p1) == expected, (plan, dept)
    # R-SL-7.
    text = "¿Me pueden llamar por teléfono? O por WhatsApp, o con AnyDesk."
    assert missing_channels(settings, "standard", text) == [
        ("phone", "professional"),
        ("whatsapp", "full"),
        ("remote_support", "professional"),
    ]
    assert missing_channels(settings, "full", text) == []
    assert missing_channels(settings, "standard", "el teléfono del sitio no anda") != []


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"business_hours": "17:00-10:00"}, "plugins.sla.business_hours"),
        ({"warn_at": 1.5}, "plugins.sla.warn_at"),
        ({"products": {"X": "gold"}}, "plugins.sla.products.X"),
        ({"departments": {"Soporte": 5}}, "plugins.sla.departments.Soporte"),
        ({"holidays_country": "XX"}, "plugins.sla.holidays_country"),
        ({"plans": {"full": {"clock": "weekly"}}}, "plugins.sla.plans.full.clock"),
        ({"notify": {"sms": "1"}}, "plugins.sla.notify.sms"),
        ({"notify": {"departments": {"Web": "x"}}}, "plugins.sla.notify.departments.Web"),
        ({"whatsapp_templates": {"incident.x": "t"}}, "plugins.sla.whatsapp_templates.incident.x"),
        ({"extra_holidays": ["2026-02-30"]}, "plugins.sla.extra_holidays"),
        ({"timezone": "Mars/Base"}, "plugins.sla.timezone"),
        ({"colour": "red"}, "plugins.sla.colour"),
    ],
)
def test_config_errors_name_the_key(section: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=f"^{key.replace('.', '[.]')}: "):
        parse_settings(section)


@pytest.fixture
def sandbox_for() -> Iterator[Any]:
    started: list[SandboxPanel] = []

    def start(url: str) -> dict[str, str]:
        panel = SandboxPanel(create_engine(url), identifier="ident", secret="api-s3cret").start()
        started.append(panel)
        return {"url": panel.url, "identifier": "ident", "secret": "api-s3cret"}

    yield start
    for panel in started:
        panel.stop()


def test_deadlines_warnings_and_breaches(empty_panel: tuple[str, str], sandbox_for: Any) -> None:
    kind, url = empty_panel
    bridge = sla_bridge(url, FRIDAY_1630, sandbox_for(url))
    ids = seed(bridge)

    # ticket.opened stores the deadline: Friday 16:30 + 8 business hours = Tuesday 10:30.
    note = tasks.on_ticket_opened(bridge, opened(bridge, ids["t_std"]))
    assert "plan standard, SLA 1, due 2026-12-01 10:30" in note
    note = tasks.on_ticket_opened(bridge, opened(bridge, ids["t_phone"]))
    assert "asks for phone, whatsapp" in note

    summary = tasks.run(bridge)
    assert "0 warning(s), 0 breach(es)" in summary, summary
    rows = {r["ticket_id"]: r for r in reports.status(bridge)}
    assert ids["t_closed"] not in rows and ids["t_staff"] not in rows
    by_name = {name: rows[ids[name]] for name in ("t_std", "t_pro", "t_p1", "t_maint", "t_old")}
    assert by_name["t_std"]["deadline"] == "2026-12-01T10:30:00-03:00"
    assert by_name["t_pro"]["deadline"] == "2026-11-30T11:30:00-03:00"  # SLA 4, premium
    assert by_name["t_p1"]["deadline"] == "2026-11-27T17:00:00-03:00"  # P1: 30 min
    assert by_name["t_p1"]["p1"] and by_name["t_p1"]["plan"] == "full"
    assert by_name["t_maint"]["deadline"] == "2026-11-28T00:30:00-03:00"  # SLA 2: 24 hours
    assert by_name["t_std"]["business_minutes_left"] == 480
    assert by_name["t_old"]["breached"] and by_name["t_old"]["business_minutes_left"] < 0
    # Reopened: staff answered at 11:00, the client wrote again at 16:00: a second clock.
    assert rows[ids["t_again"]]["round"] == 2
    assert rows[ids["t_again"]]["deadline"] == "2026-11-30T17:00:00-03:00"
    deadlines = [r["deadline"] for r in reports.status(bridge)]
    assert reports.status(bridge)[0]["ticket_id"] == ids["t_old"]
    assert len(deadlines) == 7

    # The old ticket was breached before tracking began: recorded, not announced.
    with bridge.panel.connect() as conn:
        old = conn.execute(select(clocks).where(clocks.c.ticket_id == ids["t_old"])).one()
    assert old.breach_state == "before_tracking" and old.source == "sync"
    assert staff_rows(bridge) == []

    # 16:53: 75 % of the P1's 30 minutes is gone (22 min): one warning, however many cycles.
    for minutes in (23, 24, 25):
        bridge.clock.current = FRIDAY_1630 + timedelta(minutes=minutes)  # type: ignore[attr-defined]
        tasks.run(bridge)
    sent = staff_rows(bridge)
    assert sorted((r.channel, r.recipient) for r in sent) == sorted(
        [("telegram", "-1001"), ("email", f"admin:{ids['urg']}"), ("whatsapp", STAFF["whatsapp"])]
    )
    assert {r.recipient_key for r in sent} == {f"sla:{old.id + 2}:warning"} or len(sent) == 3
    assert all(r.client_id is None and r.recipient_key.startswith("sla:") for r in sent)
    assert "T-t_p1" in json.loads(sent[0].message)["text"]
    on_call = json.loads(next(r for r in sent if r.channel == "whatsapp").message)
    assert on_call["template"] == "sla_aviso"
    assert on_call["params"] == ["aviso", "T-t_p1", "27/11/2026 17:00"]

    # 17:01: the breach, once, across many cycles; the 2-hour premium ticket is answered first.
    with bridge.panel.begin() as conn:
        insert_row(
            conn,
            bridge.panel.tables.ticketreplies,
            {"tid": ids["t_pro"], "date": local(2026, 11, 27, 16, 59), "admin": "Marta"},
        )
        insert_row(  # a client's own reply does not stop the clock
            conn,
            bridge.panel.tables.ticketreplies,
            {"tid": ids["t_std"], "date": local(2026, 11, 27, 16, 58), "admin": ""},
        )
    for minutes in range(31, 40, 2):
        bridge.clock.current = FRIDAY_1630 + timedelta(minutes=minutes)  # type: ignore[attr-defined]
        tasks.run(bridge)
    with bridge.panel.connect() as conn:
        states = {
            int(r.ticket_id): r for r in conn.execute(select(clocks).where(clocks.c.round == 1))
        }
        notes = conn.execute(
            select(
                bridge.panel.tables.ticketnotes.c.ticketid,
                bridge.panel.tables.ticketnotes.c.message,
            )
        ).all()
        replies = conn.execute(select(func.count()).select_from(bridge.panel.tables.ticketreplies))
        reply_count = replies.scalar()
    p1 = states[ids["t_p1"]]
    assert (p1.warning_state, p1.breach_state, p1.warning_note, p1.breach_note) == (
        "sent",
        "sent",
        "done",
        "done",
    )
    assert states[ids["t_pro"]].answered_at == local(2026, 11, 27, 16, 59)
    assert states[ids["t_std"]].answered_at is None
    assert len(staff_rows(bridge)) == 6  # warning + breach, 3 staff channels each
    note_texts = [m for t_id, m in notes if t_id == ids["t_p1"]]
    assert len(note_texts) == 2 and "Aviso" in note_texts[0] and "Incumplido" in note_texts[1]
    phone_notes = [m for t_id, m in notes if t_id == ids["t_phone"]]
    assert len(phone_notes) == 1 and "Professional" in phone_notes[0]
    assert reply_count == 4  # the plugin never replies to a client

    # Monday 15:31, the standard ticket's warning (75 % of 480 = 360 business minutes).
    bridge.clock.current = datetime(2026, 11, 30, 18, 31, tzinfo=UTC)  # type: ignore[attr-defined]
    tasks.run(bridge)
    tasks.run(bridge)
    with bridge.panel.connect() as conn:
        std = conn.execute(
            select(clocks).where(clocks.c.ticket_id == ids["t_std"], clocks.c.round == 1)
        ).one()
    assert std.warning_state == "sent" and std.breach_state is None
    # Closed unanswered: off the clock; open again: the same clock runs on.
    tickets_t = bridge.panel.tables.tickets

    def maint_closed_at(status: str) -> Any:
        with bridge.panel.begin() as conn:
            conn.execute(
                update(tickets_t).where(tickets_t.c.id == ids["t_maint"]).values(status=status)
            )
        tasks.run(bridge)
        with bridge.panel.connect() as conn:
            query = select(clocks.c.closed_at).where(clocks.c.ticket_id == ids["t_maint"])
            return conn.execute(query).scalar_one()

    assert maint_closed_at("Closed") is not None
    assert maint_closed_at("Open") is None
    # The sandbox got staff e-mail only.
    bridge.close()
    if kind == "sqlite":
        report = reports.report(
            sla_bridge(url, datetime(2026, 12, 2, 12, tzinfo=UTC)),
            local(2026, 11, 27),
            local(2026, 11, 28),
        )
        by_group = {(g["plan"], g["department"]): g for g in report}
        premium = by_group[("professional", "Desarrollo web")]
        assert premium["median_first_response"] == 29 and premium["within_target"] == 1.0
        full = by_group[("full", "Urgencias")]
        assert full["within_target"] == 0.0 and full["breaches"][0]["tid"] == "T-t_p1"


def test_incidents_told_once_per_client(empty_panel: tuple[str, str]) -> None:
    _, url = empty_panel
    bridge = sla_bridge(url, FRIDAY_1630)
    t = bridge.panel.tables
    with bridge.panel.begin() as conn:
        server = insert_row(conn, t.servers, {"name": "web01", "hostname": "web01.x.test"})
        other = insert_row(conn, t.servers, {"name": "web02", "hostname": "web02.x.test"})
        clients = {}
        for key, language in (("a", "english"), ("b", "spanish"), ("c", "")):
            clients[key] = insert_row(
                conn,
                t.clients,
                {"firstname": key.upper(), "email": f"{key}@x.test", "language": language},
            )
        for client, srv, domain in (
            ("a", server, "a1.test"),
            ("a", server, "a2.test"),  # two services, one notice
            ("b", server, "b.test"),
            ("c", other, "c.test"),  # another server: not told
        ):
            insert_row(
                conn,
                t.hosting,
                {
                    "userid": clients[client],
                    "server": srv,
                    "domain": domain,
                    "domainstatus": "Active",
                },
            )
    assert cycle(bridge) == []  # the first cycle only remembers (baseline)
    with bridge.panel.begin() as conn:
        issue = insert_row(
            conn,
            t.networkissues,
            {
                "title": "Disco lleno",
                "type": "Server",
                "server": server,
                "priority": "High",
                "status": "Investigating",
                "startdate": local(2026, 11, 27, 16, 0),
                "lastupdate": local(2026, 11, 27, 16, 0),
            },
        )
    for _ in range(3):
        assert cycle(bridge) == []
    rows = staff_rows(bridge)
    assert sorted(int(r.recipient) for r in rows) == sorted([clients["a"], clients["b"]])
    texts = {int(r.recipient): json.loads(r.message) for r in rows}
    assert (
        texts[clients["a"]]["language"] == "en"
        and "a1.test, a2.test" in texts[clients["a"]]["text"]
    )
    assert (
        "Hola B" in texts[clients["b"]]["text"]
        and "serverstatus.php" in texts[clients["b"]]["text"]
    )
    with bridge.panel.begin() as conn:
        conn.execute(
            update(t.networkissues)
            .where(t.networkissues.c.id == issue)
            .values(status="Resolved", enddate=local(2026, 11, 27, 18, 5))
        )
        insert_row(  # joined the server later: never told of the opening, so not of the end
            conn, t.hosting, {"userid": clients["c"], "server": server, "domainstatus": "Active"}
        )
    for _ in range(2):
        assert cycle(bridge) == []
    rows = staff_rows(bridge)[2:]
    assert sorted(int(r.recipient) for r in rows) == sorted([clients["a"], clients["b"]])
    resolved = json.loads(rows[0].message)
    assert resolved["event"] == "incident.resolved" and "27/11/2026 18:05" in resolved["text"]
    with bridge.panel.connect() as conn:
        notices = conn.execute(select(func.count()).select_from(incident_notices)).scalar()
    assert notices == 4
    bridge.close()


def test_cli_status_plan_report_and_demo_friday(tmp_path: Path) -> None:
    url = sqlite_panel(tmp_path / "panel.sqlite", seed=False)
    bridge = sla_bridge(url, FRIDAY_1630)
    ids = seed(bridge)
    bridge.close()
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[panel]\ndatabase_url = "{url}"\n[plugins]\nenabled = ["sla"]\n'
        '[plugins.sla.products]\n"Soporte Full" = "full"\n'
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "sla", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = cli("status", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    first = rows[0]
    assert set(first) >= {
        "ticket_id",
        "tid",
        "client_id",
        "plan",
        "deadline",
        "business_minutes_left",
    }
    assert first["business_minutes_left"] < 0  # real time is well past November 2026's deadlines
    done = cli("plan", "--client", str(ids["full"]), "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["plan"] == "full" and "whatsapp" in plan["channels"] and plan["p1"]["minutes"] == 30
    done = cli("plan", "--client", "9999")
    assert done.returncode != 0 and "client 9999 is not in the panel" in done.stderr
    assert "Traceback" not in done.stderr
    done = cli("report", "--from", "2026-11-01", "--to", "2026-11-30")
    assert done.returncode == 0, done.stderr
    assert "standard" in done.stdout
    done = cli("report", "--from", "2026-13-01", "--to", "2026-11-30")
    assert done.returncode == 2 and "--from: expected a date" in done.stderr


def test_example_config_section_is_valid() -> None:
    import tomllib

    raw = tomllib.loads((ROOT / "config" / "bridge.example.toml").read_text(encoding="utf-8"))
    settings = parse_settings(raw["plugins"]["sla"])
    assert settings.kind_of(0, "Desarrollo web") == 4 and settings.notify.email
    assert settings.calendar.is_holiday(datetime(2026, 12, 24).date())
    assert settings.whatsapp_templates["incident.opened"] == "incidente_servidor"


def test_hooks_through_the_host(tmp_path: Path) -> None:
    """bridge_migrations, bridge_register_watchers, bridge_register_commands and
    bridge_doctor_checks as the host calls them."""
    import click

    from whmcs_bridge.intake import registered_watchers

    bridge = sla_bridge(sqlite_panel(tmp_path / "panel.sqlite", seed=False), FRIDAY_1630)
    migrations = {r.plugin: r.value for r in bridge.plugins.call_each("bridge_migrations")}
    assert [m.version for m in migrations["sla"]] == [1]
    assert "sla.incidents" in {w.name for w in registered_watchers(bridge)}
    group = click.Group()
    bridge.plugins.call_each("bridge_register_commands", cli=group)
    assert set(group.commands["sla"].commands) == {"status", "plan", "report"}
    checks = [
        c
        for r in bridge.plugins.call_each("bridge_doctor_checks", bridge=bridge)
        for c in r.value or []
    ]
    by_name = {c.name: c for c in checks}
    assert by_name["plugin sla: staff notifications"].detail == "configured"
    assert not by_name["plugin sla: ticket notes"].ok  # no [api]
    bridge.close()


def test_bad_section_stops_the_start_naming_the_key(tmp_path: Path) -> None:
    from whmcs_bridge.errors import ConfigError

    url = sqlite_panel(tmp_path / "panel.sqlite", seed=False)
    with pytest.raises(ConfigError, match="warn_at") as caught:
        make_bridge(url, config={"plugins": {"enabled": ["sla"], "sla": {"warn_at": 2}}})
    assert caught.value.key == "plugins.sla.warn_at"


def test_staff_email_goes_through_send_admin_email(tmp_path: Path) -> None:
    """The e-mail channel's ``admin:<department>`` recipient: WHMCS's SendAdminEmail to that
    department's admins, never a client's SendEmail; the sandbox answers as whmcs.md §3.4."""
    from whmcs_bridge.channels.base import OutgoingMessage, SendError

    url = sqlite_panel(tmp_path / "panel.sqlite", seed=False)
    with SandboxPanel(create_engine(url), identifier="ident", secret="api-s3cret") as sandbox:
        api = {"url": sandbox.url, "identifier": "ident", "secret": "api-s3cret"}
        bridge = sla_bridge(url, FRIDAY_1630, api)
        with bridge.panel.begin() as conn:
            dept = insert_row(conn, bridge.panel.tables.ticketdepartments, {"name": "Soporte"})
        email = bridge.outbox.channels["email"]

        def message(recipient: str) -> OutgoingMessage:
            return OutgoingMessage(
                1, recipient, "sla.breach", "es_AR", "Ticket #1\nvencido", subject="SLA"
            )

        email.send(message(f"admin:{dept}"))
        email.send(message("admin"))
        assert [(m["admin"], m["type"], m["deptid"]) for m in sandbox.sent_emails] == [
            (True, "support", dept),
            (True, "system", 0),
        ]
        assert sandbox.sent_emails[0]["message"] == "Ticket #1<br />\nvencido"
        with pytest.raises(SendError, match="Department ID not found"):
            email.send(message("admin:999"))
        assert sandbox.calls.count("SendEmail") == 0
        bridge.close()
