"""The transfers plugin (R-TR-1..9) on SQLite and the stock 8.4 and 7.8 schemas: every reason and
flag of the check alone and together, the ticket's e-mail check (R-TR-3), apply with WHMCS's log
lines and the event in one transaction, the notices and replies from dispatch, R-TR-9 notes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, insert, select
from whmcs_bridge.plugins.transfers.apply import NotApplicable, apply_transfer
from whmcs_bridge.plugins.transfers.check import check_transfer
from whmcs_bridge.plugins.transfers.owner_request import create_request
from whmcs_bridge.plugins.transfers.settings import TransferSettings
from whmcs_bridge.plugins.transfers.tables import transfer_requests

from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.store.tables import events as events_t
from whmcs_bridge.testing.bridges import make_bridge

ROOT = Path(__file__).resolve().parent.parent
ENABLED = {"plugins": {"enabled": ["transfers"]}}

# Client id -> (e-mail, overrides of the holder's details). 1 holds the services.
HOLDER = {
    "firstname": "María",
    "lastname": "González",
    "companyname": "",
    "country": "AR",
    "phonenumber": "+54.2994123456",
    "address1": "Av. Argentina 100",
    "city": "Neuquén",
    "state": "Neuquén",
    "postcode": "8300",
    "currency": 1,
    "status": "Active",
    "language": "spanish",
}
CLIENTS: dict[int, tuple[str, dict[str, Any]]] = {
    1: ("a@ex.com", {}),
    2: (
        "b@ex.com",
        {
            "firstname": "Juan",
            "lastname": "Pérez",
            "companyname": "Estudio Pérez",
            "phonenumber": "+54.3514987654",
            "address1": "San Martín 5",
            "city": "Córdoba",
        },
    ),
    3: ("c@ex.com", {}),  # the same details as the holder: no R-TR-4 flag
    4: ("d@ex.com", {"status": "Inactive"}),
    5: ("e@ex.com", {"currency": 2}),
    6: ("f@ex.com", {}),  # has an overdue invoice
    7: ("g@ex.com", {}),  # a contact of it holds the holder's e-mail
    8: ("dup@ex.com", {}),
    9: ("dup@ex.com", {}),
    10: ("helper@ex.com", {}),  # 8.x: a login of the holder's account uses this e-mail
}


def put(conn: Any, tables: Any, table_name: str, /, **values: Any) -> int:
    table = tables[table_name]
    row = blank_row(table, **{k: v for k, v in values.items() if k in table.c})
    return int(conn.execute(insert(table).values(row)).inserted_primary_key[0])


@contextmanager
def as_whmcs(bridge: Any) -> Iterator[Any]:
    """A transaction writing as WHMCS does (non-strict ``sql_mode=''``, blanks for what it omits;
    the bridge's own sessions are strict)."""
    url = bridge.panel.url
    args = {} if url.get_backend_name() == "sqlite" else {"init_command": "SET SESSION sql_mode=''"}
    engine = create_engine(url, connect_args=args)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def build_world(bridge: Any) -> dict[str, Any]:
    """The panel of these tests (see CLIENTS and the services below)."""
    t = bridge.panel.tables
    today = bridge.clock.today()
    users = t.get("users") is not None
    with as_whmcs(bridge) as conn:
        ids = set(conn.execute(select(t.currencies.c.id)).scalars())
        if 1 not in ids:
            put(
                conn,
                t,
                "currencies",
                id=1,
                code="ARS",
                prefix="$",
                suffix=" ARS",
                format=3,
                default=1,
            )
        put(conn, t, "currencies", id=2, code="EUR", prefix="€", suffix=" EUR", format=3, default=0)
        put(conn, t, "productgroups", id=1, name="Hosting")
        put(conn, t, "products", id=1, gid=1, name="Hosting Inicial", type="hostingaccount")
        for client_id, (email, changes) in CLIENTS.items():
            put(conn, t, "clients", id=client_id, email=email, **{**HOLDER, **changes})
            if users and client_id < 8:  # each with its owner login
                put(conn, t, "users", id=client_id, email=email, first_name="U", last_name="U")
                put(conn, t, "users_clients", auth_user_id=client_id, client_id=client_id, owner=1)
        if users:  # a login of the holder's account that is not its owner
            put(conn, t, "users", id=50, email="helper@ex.com", first_name="H", last_name="H")
            put(
                conn,
                t,
                "users_clients",
                auth_user_id=50,
                client_id=1,
                owner=0,
                permissions="tickets",
            )
        put(conn, t, "contacts", id=1, userid=1, email="sub@ex.com", firstname="Sub")
        put(conn, t, "contacts", id=2, userid=7, email="A@EX.COM", firstname="Twin")
        services = {
            1: (1, "Active", "uno.com.ar"),
            2: (1, "Suspended", "dos.com.ar"),
            3: (1, "Active", "tres.com.ar"),
            4: (1, "Active", "cuatro.com.ar"),
            5: (1, "Active", "cinco.com.ar"),
            6: (6, "Active", "seis.com.ar"),
        }
        for sid, (client_id, status, domain) in services.items():
            put(
                conn,
                t,
                "hosting",
                id=sid,
                userid=client_id,
                packageid=1,
                domain=domain,
                domainstatus=status,
                billingcycle="Annually",
                amount=100,
                regdate=today - timedelta(days=100),
                nextduedate=today + timedelta(days=265),
                nextinvoicedate=today + timedelta(days=250),
            )
        put(
            conn,
            t,
            "hostingaddons",
            id=1,
            hostingid=1,
            userid=1,
            name="IP dedicada",
            status="Active",
        )
        put(
            conn,
            t,
            "sslorders",
            id=1,
            userid=1,
            serviceid=1,
            module="thesslstore",
            status="Completed",
        )
        put(
            conn,
            t,
            "domains",
            id=1,
            userid=1,
            domain="Uno.com.ar",
            status="Active",
            type="Register",
        )
        soon, late = today + timedelta(days=10), today - timedelta(days=5)
        for invoice_id, client_id, due, kind, relid in (
            (10, 1, soon, "Hosting", 3),  # service 3 unpaid, not yet overdue
            (11, 1, soon, "Upgrade", 1),  # upgrade 1 of service 4 waits for payment
            (12, 6, late, "", 0),  # client 6 is overdue
        ):
            put(
                conn,
                t,
                "invoices",
                id=invoice_id,
                userid=client_id,
                status="Unpaid",
                duedate=due,
                date=today,
                total=10,
            )
            put(
                conn,
                t,
                "invoiceitems",
                invoiceid=invoice_id,
                userid=client_id,
                type=kind,
                relid=relid,
                amount=10,
            )
        put(
            conn, t, "upgrades", id=1, userid=1, relid=4, type="package", status="Pending", paid="N"
        )
        put(conn, t, "cancelrequests", relid=5, type="End of Billing Period", reason="no lo uso")
    return {"today": today, "users": users}


@pytest.fixture
def world(empty_panel: tuple[str, str]) -> Iterator[tuple[str, str, Any]]:
    kind, url = empty_panel
    bridge = make_bridge(url, config=ENABLED)
    build_world(bridge)
    yield kind, url, bridge
    bridge.close()


def codes(
    bridge: Any, service_id: int, target: int | str, **settings: Any
) -> tuple[list[str], dict[str, Any]]:
    with bridge.panel.connect() as conn:
        check = check_transfer(
            conn,
            bridge.panel.tables,
            TransferSettings(**settings),
            service_id,
            target,
            bridge.clock.today(),
        )
    return check.codes, {f.code: f.ids for f in check.flags}


def test_each_reason_and_flag(world: tuple[str, str, Any]) -> None:
    _kind, _url, bridge = world
    # Allowed: the addon and SSL order move with the service, the domain stays; same details.
    assert codes(bridge, 1, 3) == (
        [],
        {
            "addons_move": {"addon_ids": [1], "ssl_order_ids": [1]},
            "domain_stays": {"domain_ids": [1], "domain": "Uno.com.ar"},
        },
    )
    reasons, flags = codes(bridge, 1, 2)  # R-TR-4: the flag names what differs
    assert reasons == [] and flags["details_differ"] == {
        "fields": ["name", "company", "phone", "address"]
    }
    assert "details_differ" not in codes(bridge, 1, 2, details_differ_at=5)[1]
    alone = {
        (1, 1): ["same_client"],
        (1, 999): ["target_missing"],
        (1, "nadie@ex.com"): ["target_missing"],
        (1, "dup@ex.com"): ["target_ambiguous"],
        (1, 4): ["target_not_active"],
        (1, "g@ex.com"): ["same_email"],
        (1, 6): ["overdue_invoices"],
        (6, 3): ["overdue_invoices"],
        (2, 3): ["service_not_active"],
        (3, 3): ["unpaid_service_items"],
        (4, 3): ["pending_upgrade"],
        (5, 3): ["open_cancellation"],
        (1, 5): ["currency_mismatch"],
    }
    for (service_id, target), expected in alone.items():
        assert codes(bridge, service_id, target)[0] == expected, (service_id, target)
    # Several at once: every reason, not the first one.
    assert codes(bridge, 2, 6)[0] == ["service_not_active", "overdue_invoices"]
    assert codes(bridge, 6, 6)[0] == ["overdue_invoices", "same_client"]
    with bridge.panel.connect() as conn:
        check = check_transfer(
            conn, bridge.panel.tables, TransferSettings(), 1, 6, bridge.clock.today()
        )
        [overdue] = check.reasons
        assert (overdue.rule, overdue.ids) == (
            "R-TR-6",
            {"side": "to", "client_id": 6, "invoice_ids": [12]},
        )
        check = check_transfer(
            conn, bridge.panel.tables, TransferSettings(), 1, 7, bridge.clock.today()
        )
        assert check.reasons[0].ids["holders"] == [{"client_id": 7, "kind": "contact", "id": 2}]
        users = bridge.panel.tables.get("users") is not None
        check = check_transfer(
            conn, bridge.panel.tables, TransferSettings(), 1, 10, bridge.clock.today()
        )
        assert check.codes == (["same_email"] if users else [])
        if users:
            assert check.reasons[0].ids["holders"] == [{"client_id": 1, "kind": "user", "id": 50}]


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "transfer", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_cli_exit_codes(tmp_path: Path) -> None:
    from whmcs_bridge.testing.bridges import sqlite_panel

    url = sqlite_panel(tmp_path / "panel.sqlite", seed=False)
    bridge = make_bridge(url, config=ENABLED)
    build_world(bridge)
    bridge.close()
    config = tmp_path / "bridge.toml"
    config.write_text(f'[panel]\ndatabase_url = "{url}"\n[plugins]\nenabled = ["transfers"]\n')
    allowed = cli(config, "check", "--service", "1", "--to", "c@ex.com")
    assert allowed.returncode == 0, allowed.stderr
    assert "allowed" in allowed.stdout and "domain_stays" in allowed.stdout
    refused = cli(config, "check", "--service", "2", "--to", "6", "--json")
    assert refused.returncode == 1
    report = json.loads(refused.stdout)
    assert report["verdict"] == "refused"
    assert [r["rule"] for r in report["reasons"]] == ["R-TR-7", "R-TR-6"]
    for bad in (("--service", "99", "--to", "3"), ("--service", "1", "--to", "nobody")):
        done = cli(config, "check", *bad)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr


# -- requests, apply, dispatch ----------------------------------------------------------------


def ticket(bridge: Any, ticket_id: int, **values: Any) -> int:
    t = bridge.panel.tables
    base = {
        "id": ticket_id,
        "tid": f"TR-{ticket_id}",
        "did": 1,
        "userid": 1,
        "title": "Pasar servicio",
        "message": "Quiero pasar uno.com.ar a c@ex.com",
        "status": "Open",
        "date": bridge.clock.panel_now() - timedelta(hours=1),
    }
    with as_whmcs(bridge) as conn:
        return put(conn, t, "tickets", **{**base, **values})


@pytest.fixture
def api_world(world: tuple[str, str, Any]) -> Iterator[tuple[str, Any, SandboxPanel]]:
    kind, url, _plain = world
    engine = create_engine(url)
    with SandboxPanel(engine, identifier="ident", secret="api-s3cret") as sandbox:
        api = {"url": sandbox.url, "identifier": "ident", "secret": "api-s3cret"}
        bridge = make_bridge(url, config={**ENABLED, "api": api})
        with as_whmcs(bridge) as conn:
            put(conn, bridge.panel.tables, "ticketdepartments", id=1, name="Ventas")
        yield kind, bridge, sandbox
        bridge.close()
    engine.dispose()


def rows(bridge: Any, table: Any, *where: Any) -> list[Any]:
    with bridge.panel.connect() as conn:
        return list(conn.execute(select(table).where(*where)))


def test_request_checks_the_owners_email(api_world: tuple[str, Any, SandboxPanel]) -> None:
    _kind, bridge, _sandbox = api_world
    users = bridge.panel.tables.get("users") is not None
    ticket(bridge, 1, requestor_id=1 if users else 0)  # the owner, from the client area
    ticket(bridge, 2, contactid=1)  # a contact of the holder
    ticket(bridge, 3, userid=2)  # another client
    ticket(bridge, 4, email="otra@ex.com")  # piped from another address
    ticket(bridge, 5, admin="Staff")  # opened by staff
    if users:
        ticket(bridge, 6, requestor_id=50)  # a login of the account that is not its owner
    refused = [2, 3, 4, 5] + ([6] if users else [])
    for ticket_id in refused:
        result = create_request(bridge, ticket_id, 1, "c@ex.com")
        assert result.request.state == "refused", ticket_id
        assert result.request.check.codes == ["not_from_owner"], ticket_id
        assert "e-mail registrado del titular" in result.reply_text
    ok = create_request(bridge, 1, 1, "c@ex.com")
    assert ok.request.state == "pending" and ok.reply_problem is None
    assert ok.request.request_reply == "sent"
    assert "recibimos tu pedido" in ok.reply_text and "uno.com.ar" in ok.reply_text.lower()
    assert "R-TR" not in ok.reply_text
    replies = rows(
        bridge, bridge.panel.tables.ticketreplies, bridge.panel.tables.ticketreplies.c.tid == 1
    )
    assert len(replies) == 1 and replies[0].message == ok.reply_text
    assert replies[0].admin == "whmcs-bridge"  # a staff reply, not the client's


def test_apply_moves_in_one_transaction_then_notices(
    api_world: tuple[str, Any, SandboxPanel],
) -> None:
    _kind, bridge, _sandbox = api_world
    t = bridge.panel.tables
    users = t.get("users") is not None
    ticket(bridge, 1, requestor_id=1 if users else 0)
    request = create_request(bridge, 1, 1, "3").request
    assert request.state == "pending"
    # A refused apply changes nothing and keeps the request pending.
    with as_whmcs(bridge) as conn:
        put(
            conn, t, "invoices", id=20, userid=3, status="Unpaid", duedate=date(2020, 1, 1), total=5
        )
    late = apply_transfer(bridge, request.id)
    assert not late.applied and late.check.codes == ["overdue_invoices"]
    with as_whmcs(bridge) as conn:
        conn.execute(t.invoices.update().where(t.invoices.c.id == 20).values(status="Paid"))
    assert run_cycle(bridge).ok  # the watchers' baseline, before the move
    result = apply_transfer(bridge, request.id, with_domain=True)
    assert result.applied and result.moved is not None
    assert (result.moved.addon_ids, result.moved.ssl_order_ids, result.moved.domain_ids) == (
        (1,),
        (1,),
        (1,),
    )
    owner = {
        "hosting": rows(bridge, t.hosting, t.hosting.c.id == 1)[0].userid,
        "addon": rows(bridge, t.hostingaddons, t.hostingaddons.c.id == 1)[0].userid,
        "ssl": rows(bridge, t.sslorders, t.sslorders.c.id == 1)[0].userid,
        "domain": rows(bridge, t.domains, t.domains.c.id == 1)[0].userid,
    }
    assert owner == {"hosting": 3, "addon": 3, "ssl": 3, "domain": 3}
    lines = sorted(
        (r.userid, r.description)
        for r in rows(bridge, t.activitylog, t.activitylog.c.description.like("Moved %"))
    )
    assert lines == [
        (1, "Moved Domain ID: 1 from User ID: 1 to User ID: 3"),
        (1, "Moved Service ID: 1 from User ID: 1 to User ID: 3"),
        (3, "Moved Domain ID: 1 from User ID: 1 to User ID: 3"),
        (3, "Moved Service ID: 1 from User ID: 1 to User ID: 3"),
    ]
    [event] = rows(bridge, events_t, events_t.c.name == "service.moved")
    assert event.event_key == f"service.moved:1:{bridge.clock.panel_now().date()}"
    assert json.loads(event.data)["transfer_id"] == request.id
    with pytest.raises(NotApplicable):  # a second apply moves nothing
        apply_transfer(bridge, request.id)
    # Dispatch: a notice to each holder, the reply on the ticket, once however often it runs.
    report = run_cycle(bridge)
    assert report.ok, report.errors
    run_cycle(bridge)
    # The services watcher sees the same move (the log line names the service): one event still.
    assert len(rows(bridge, events_t, events_t.c.name == "service.moved")) == 1
    from whmcs_bridge.outbox.tables import outbox

    notices = rows(bridge, outbox, outbox.c.event_id == event.id)
    assert sorted(n.client_id for n in notices) == [1, 3]
    texts = {n.client_id: json.loads(n.message)["text"] for n in notices}
    assert "pasó a otra cuenta" in texts[1] and "propio e-mail y contraseña" in texts[3]
    replies = rows(bridge, t.ticketreplies, t.ticketreplies.c.tid == 1)
    assert len(replies) == 2 and "listo" in replies[1].message
    [stored] = rows(bridge, transfer_requests, transfer_requests.c.id == request.id)
    assert (stored.state, stored.moved_reply) == ("applied", "sent")
    # R-TR-9: the old holder opens a ticket about the moved service: one staff note.
    bridge.api.call(
        "OpenTicket",
        {"deptid": 1, "clientid": 1, "subject": "Mi sitio uno.com.ar no anda", "message": "?"},
    )
    bridge.api.call(
        "OpenTicket", {"deptid": 1, "clientid": 1, "subject": "Otra cosa", "message": "?"}
    )
    assert run_cycle(bridge).ok
    run_cycle(bridge)
    notes = rows(bridge, t.ticketnotes)
    assert len(notes) == 1 and "R-TR-9" in notes[0].message and "#1" in notes[0].message
    with bridge.panel.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.ticketreplies)).scalar() == 2


# -- a run killed in the middle --------------------------------------------------------------

KILLER = """
import os, signal, sys
from sqlalchemy import event
from whmcs_bridge.testing.bridges import make_bridge
from whmcs_bridge.plugins.transfers.apply import apply_transfer

url, request_id, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3].upper()
bridge = make_bridge(url, config={"plugins": {"enabled": ["transfers"]}}, create_tables=False)

@event.listens_for(bridge.panel.engine, "after_cursor_execute")
def die(conn, cursor, statement, parameters, context, executemany):
    if marker in " ".join(statement.split()).upper():
        os.kill(os.getpid(), signal.SIGKILL)  # between two statements of the transaction

apply_transfer(bridge, request_id, with_domain=True)
os.kill(os.getpid(), signal.SIGKILL)  # after the commit, before any notice
"""


def owners(bridge: Any) -> dict[str, Any]:
    t = bridge.panel.tables
    with bridge.panel.connect() as conn:
        one = lambda table: conn.execute(select(table.c.userid).where(table.c.id == 1)).scalar()  # noqa: E731
        return {
            "service": one(t.hosting),
            "addon": one(t.hostingaddons),
            "ssl": one(t.sslorders),
            "domain": one(t.domains),
            "logged": conn.execute(
                select(func.count())
                .select_from(t.activitylog)
                .where(t.activitylog.c.description.like("Moved %"))
            ).scalar(),
            "events": conn.execute(
                select(func.count()).select_from(events_t).where(events_t.c.name == "service.moved")
            ).scalar(),
            "state": conn.execute(select(transfer_requests.c.state)).scalar(),
        }


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("8.4", marks=pytest.mark.mariadb)])
def test_apply_killed_in_the_middle_moves_nothing(
    kind: str, tmp_path: Path, whmcs_databases: Any
) -> None:
    from whmcs_bridge.testing.bridges import sqlite_panel

    url = (
        sqlite_panel(tmp_path / "panel.sqlite", seed=False)
        if kind == "sqlite"
        else whmcs_databases.take(kind)
    )
    try:
        bridge = make_bridge(url, config=ENABLED)
        build_world(bridge)
        ticket(bridge, 1, requestor_id=1)
        request = create_request(bridge, 1, 1, "3").request  # no [api]: the reply is skipped
        assert (request.state, request.request_reply) == ("pending", "skipped")
        before = owners(bridge)
        assert before == {
            "service": 1,
            "addon": 1,
            "ssl": 1,
            "domain": 1,
            "logged": 0,
            "events": 0,
            "state": "pending",
        }
        script = tmp_path / "killer.py"
        script.write_text(KILLER)
        markers = ("UPDATE tblhosting SET", "UPDATE tblhostingaddons", "INTO tblactivitylog")
        for marker in (*markers, f"INTO {events_t.name}"):
            done = subprocess.run(
                [sys.executable, str(script), url, str(request.id), marker],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == -9, done.stderr
            assert owners(bridge) == before, marker  # nothing half-moved
        # Killed after the commit: moved once, with its event; a second apply moves nothing.
        done = subprocess.run(
            [sys.executable, str(script), url, str(request.id), "NO SUCH STATEMENT"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == -9, done.stderr
        after = owners(bridge)
        assert after == {
            "service": 3,
            "addon": 3,
            "ssl": 3,
            "domain": 3,
            "logged": 4,
            "events": 1,
            "state": "applied",
        }
        with pytest.raises(NotApplicable):
            apply_transfer(bridge, request.id)
        assert owners(bridge) == after
        bridge.close()
    finally:
        if kind != "sqlite":
            whmcs_databases.give_back(url)


def test_settings_example_and_bad_keys() -> None:
    import tomllib

    from whmcs_bridge.plugins.transfers.settings import load_settings

    example = tomllib.loads((ROOT / "config" / "bridge.example.toml").read_text(encoding="utf-8"))
    assert load_settings(example["plugins"]["transfers"]) == TransferSettings()
    for section, key in (
        ({"details_differ_at": 0}, "details_differ_at"),
        ({"note_tickets": "yes"}, "note_tickets"),
        ({"amdin": "x"}, "amdin"),
    ):
        with pytest.raises(ValueError, match=f"plugins.transfers.{key}"):
            load_settings(section)


@pytest.mark.mariadb
def test_narrow_grants_are_printed_checked_and_enough(tmp_path: Path, mariadb_84: str) -> None:
    import secrets

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    bridge = make_bridge(mariadb_84, config=ENABLED)
    build_world(bridge)
    ticket(bridge, 1, requestor_id=1)
    request = create_request(bridge, 1, 1, "3").request
    bridge.close()
    admin = tmp_path / "admin.toml"
    admin.write_text(
        f'[panel]\ndatabase_url = "{mariadb_84}"\n[plugins]\nenabled = ["transfers"]\n'
    )
    user, password = f"wbtest_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    account = f"'{user}'@'%'"
    command = ["--config", str(admin), "db", "grants", "--user", account]
    printed = subprocess.run(
        [sys.executable, "-m", "whmcs_bridge", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.strip().splitlines()
    narrow = [line for line in lines if "-- transfers" in line]
    database = make_url(mariadb_84).database
    assert [line.split("  --")[0] for line in narrow] == [
        f"GRANT UPDATE (`userid`) ON `{database}`.`tblhosting` TO {account};",
        f"GRANT UPDATE (`userid`) ON `{database}`.`tblhostingaddons` TO {account};",
        f"GRANT UPDATE (`userid`) ON `{database}`.`tblsslorders` TO {account};",
        f"GRANT UPDATE (`userid`) ON `{database}`.`tbldomains` TO {account};",
        f"GRANT INSERT ON `{database}`.`tblactivitylog` TO {account};",
    ]
    root = create_engine(mariadb_84)
    with root.begin() as conn:
        conn.execute(text(f"CREATE USER {account} IDENTIFIED BY '{password}'"))
        for line in lines:
            if line not in narrow:
                conn.execute(text(line))
    url = make_url(mariadb_84).set(username=user, password=password)
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[panel]\ndatabase_url = "{url.render_as_string(hide_password=False)}"\n'
        '[plugins]\nenabled = ["transfers"]\n'
    )

    def bridge_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "whmcs_bridge", "--config", str(config), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    try:
        doctor = bridge_cli("doctor")
        assert doctor.returncode != 0 and "plugin transfers: move grants" in doctor.stdout
        assert "UPDATE (userid) on tblhosting" in doctor.stdout, doctor.stdout
        with root.begin() as conn:
            for line in narrow:
                conn.execute(text(line.split("  --")[0]))
        doctor = bridge_cli("doctor")
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        applied = bridge_cli("transfer", "apply", "--id", str(request.id), "--yes")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        with root.connect() as conn:
            assert conn.execute(text("SELECT userid FROM tblhosting WHERE id=1")).scalar() == 3
        assert password not in doctor.stdout + applied.stdout + applied.stderr
    finally:
        with root.begin() as conn:
            conn.execute(text(f"DROP USER IF EXISTS {account}"))
        root.dispose()


def test_list_show_cancel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from whmcs_bridge.cli import main
    from whmcs_bridge.testing.bridges import sqlite_panel

    url = sqlite_panel(tmp_path / "panel.sqlite", seed=False)
    bridge = make_bridge(url, config=ENABLED)
    build_world(bridge)
    ticket(bridge, 1, requestor_id=1)
    ticket(bridge, 2, userid=2)
    pending = create_request(bridge, 1, 1, "3").request
    refused = create_request(
        bridge, 2, 2, "3"
    ).request  # another client's ticket, a suspended service
    bridge.close()
    config = tmp_path / "bridge.toml"
    config.write_text(f'[panel]\ndatabase_url = "{url}"\n[plugins]\nenabled = ["transfers"]\n')

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        try:
            code = main(["--config", str(config), "transfer", *args]) or 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out + out.err

    code, out = run("list", "--json")
    assert code == 0
    assert [(r["id"], r["state"]) for r in json.loads(out)] == [
        (refused.id, "refused"),
        (pending.id, "pending"),
    ]
    code, out = run("show", str(refused.id))
    assert code == 0 and "not_from_owner" in out and "service_not_active" in out
    assert run("apply", "--id", str(pending.id))[0] == 2  # no --yes
    assert run("apply", "--id", str(refused.id), "--yes")[0] == 1  # refused: nothing to apply
    assert run("cancel", str(pending.id)) == (0, f"transfer request #{pending.id} cancelled\n")
    code, out = run("cancel", str(pending.id))
    assert code == 1 and "is cancelled" in out and "Traceback" not in out
    code, out = run("list", "--state", "pending")
    assert (code, out) == (0, "no transfer requests\n")
