"""The core watchers, on SQLite and on the stock WHMCS 8.4 and 7.8 schemas in MariaDB.

Every catalog event: seed history, a first intake (baseline, no events), the change made with SQL
as WHMCS would make it, an intake that finds exactly that event, and an intake the next day that
finds nothing more. An unreachable MariaDB fails these tests; it never skips them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.clock import Clock
from whmcs_bridge.config import parse_config
from whmcs_bridge.events.catalog import BY_NAME
from whmcs_bridge.events.model import Event
from whmcs_bridge.intake import IntakeReport, activity, inbox, run_intake
from whmcs_bridge.intake.watcher import Dirty
from whmcs_bridge.intake.watchers import base as watcher_base
from whmcs_bridge.intake.watchers import core_watchers
from whmcs_bridge.panel.tables import create_panel_schema
from whmcs_bridge.panel.types import PanelBool, PanelDate, PanelDateTime, PanelDecimal, PanelEnum
from whmcs_bridge.plugin_manager import get_plugin_manager
from whmcs_bridge.store import tables as bridge_tables
from whmcs_bridge.store.migrate import upgrade
from whmcs_bridge.store.tables import events as events_t
from whmcs_bridge.store.tables import inbox as inbox_t
from whmcs_bridge.store.tables import quarantine as quarantine_t
from whmcs_bridge.store.tables import seen as seen_t
from whmcs_bridge.testing.bridges import whmcs_writes
from whmcs_bridge.testing.mariadb import SchemaPool

TIMEZONE = "America/Argentina/Buenos_Aires"
START = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
BACKENDS = [
    "sqlite",
    pytest.param("8.4", marks=pytest.mark.mariadb),
    pytest.param("7.8", marks=pytest.mark.mariadb),
]


def _blank(column: Column[Any]) -> object:
    """What a non-strict MySQL session stores for a NOT NULL column the INSERT leaves out."""
    kind = column.type
    if isinstance(kind, PanelEnum):
        return kind.values[0]
    if isinstance(kind, PanelDateTime):
        return "0000-00-00 00:00:00"
    if isinstance(kind, PanelDate):
        return "0000-00-00"
    if isinstance(kind, PanelDecimal):
        return Decimal("0")
    if isinstance(kind, PanelBool):
        return "" if kind.text_style else 0
    if isinstance(kind, LargeBinary):
        return b""
    if isinstance(kind, Integer):
        return 0
    return ""


class Panel:
    """A test panel: a bridge over a fresh database, SQL writes as WHMCS makes them, intakes."""

    def __init__(self, bridge: Bridge, backend: str) -> None:
        self.bridge = bridge
        self.backend = backend
        self.tables = bridge.panel.tables
        self.whmcs8 = self.tables.get("users") is not None
        self.last_event_id = 0
        self.utc_now = START

    @property
    def local_now(self) -> datetime:
        return self.bridge.clock.panel_now()

    def next_day(self) -> None:
        self.utc_now += timedelta(days=1)

    def insert(self, name: str, **values: object) -> int:
        table = self.tables[name]
        row = {
            column.name: _blank(column)
            for column in table.columns
            if not column.nullable and column.server_default is None and not column.primary_key
        }
        row.update(values)
        with whmcs_writes(self.bridge.panel) as conn:
            return int(conn.execute(insert(table).values(**row)).inserted_primary_key[0])

    def update(self, name: str, row_id: int, **values: object) -> None:
        table = self.tables[name]
        with whmcs_writes(self.bridge.panel) as conn:
            conn.execute(update(table).where(table.c.id == row_id).values(**values))

    def delete(self, name: str, row_id: int) -> None:
        table = self.tables[name]
        with self.bridge.panel.begin() as conn:
            conn.execute(delete(table).where(table.c.id == row_id))

    def log(self, description: str, client: int = 0) -> int:
        """The ``tblactivitylog`` line WHMCS writes with a change (``userid`` = the client)."""
        return self.insert(
            "activitylog",
            date=self.local_now,
            description=description,
            user="System",
            userid=client,
            ipaddr="",
        )

    def hook(self, hook: str, **payload: object) -> None:
        """The row ``hooks/whmcs_bridge.php`` writes for a hook call."""
        with self.bridge.panel.begin() as conn:
            conn.execute(
                insert(inbox_t).values(
                    hook=hook,
                    payload=json.dumps(payload),
                    origin="admin",
                    created_at=self.local_now,
                )
            )

    def intake(self) -> list[Event]:
        self.report: IntakeReport = run_intake(self.bridge)
        with self.bridge.panel.connect() as conn:
            rows = conn.execute(
                select(events_t).where(events_t.c.id > self.last_event_id).order_by(events_t.c.id)
            ).all()
        found = [Event.from_row(row) for row in rows]
        if found:
            self.last_event_id = found[-1].id or self.last_event_id
        return found

    def seen_states(self) -> list[str]:
        with self.bridge.panel.connect() as conn:
            return list(conn.execute(select(seen_t.c.state)).scalars())


# What a test writes: emptied before each test, so one database per backend serves them all.
WRITTEN = (
    "clients", "users", "users_clients", "contacts", "hosting", "domains", "invoices", "quotes",
    "upgrades", "tickets", "ticketreplies", "cancelrequests", "activitylog",
)  # fmt: skip


@pytest.fixture(scope="module", params=BACKENDS)
def database(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    whmcs_databases: SchemaPool,
) -> Iterator[tuple[str, str]]:
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('panel') / 'panel.sqlite'}"
        engine = create_engine(url)
        create_panel_schema(engine)
        engine.dispose()
    else:
        url = whmcs_databases.take(backend)
    try:
        yield backend, url
    finally:
        if backend != "sqlite":
            whmcs_databases.give_back(url)


@pytest.fixture
def panel(database: tuple[str, str], tmp_path: Path) -> Iterator[Panel]:
    backend, url = database
    config = parse_config(
        {"panel": {"database_url": url, "timezone": TIMEZONE}}, tmp_path / "bridge.toml"
    )
    holder: dict[str, Panel] = {}
    clock = Clock(ZoneInfo(TIMEZONE), now=lambda: holder["panel"].utc_now)
    bridge = Bridge(config, plugins=get_plugin_manager(None, load_entrypoints=False), clock=clock)
    try:
        upgrade(bridge.panel.engine)
        with bridge.panel.begin() as conn:
            for name in WRITTEN:
                if bridge.panel.tables.get(name) is not None:
                    conn.execute(delete(bridge.panel.tables[name]))
            present = set(inspect(conn).get_table_names())
            for table in bridge_tables.metadata.sorted_tables:
                if table.name in present and table is not bridge_tables.meta:
                    conn.execute(delete(table))
        holder["panel"] = Panel(bridge, backend)
        yield holder["panel"]
    finally:
        bridge.close()


def seed(p: Panel, years: int = 1) -> dict[str, int]:
    """A small panel with something in every state the watchers care about."""
    ids: dict[str, int] = {}
    day = p.local_now - timedelta(days=365 * years)
    for n in (1, 2):
        ids[f"c{n}"] = p.insert(
            "clients",
            firstname=f"Ana{n}",
            lastname="Paz",
            email=f"ana{n}@example.com",
            address1="Calle 1",
            country="AR",
            phonenumber="+54.1155550000",
            password="$2y$10$original-hash",
            datecreated=day.date(),
        )
    c1, c2 = ids["c1"], ids["c2"]
    if p.whmcs8:
        for n in (1, 2, 3):
            email = f"user{n}.{years}@example.com"
            ids[f"u{n}"] = p.insert("users", email=email, password=f"$2y$10$user{n}")
        p.insert("users_clients", auth_user_id=ids["u1"], client_id=c1, owner=1)
        p.insert("users_clients", auth_user_id=ids["u2"], client_id=c2, owner=1)
        ids["link3"] = p.insert(
            "users_clients", auth_user_id=ids["u3"], client_id=c1, owner=0, permissions="profile"
        )
    ids["k1"] = p.insert("contacts", userid=c1, firstname="Eva", email="eva@example.com")
    ids["k2"] = p.insert(
        "contacts", userid=c1, firstname="Sub", subaccount=1, permissions="profile,invoices"
    )
    for name, client, status in (
        ("s_active", c1, "Active"),
        ("s_susp", c1, "Suspended"),
        ("s_pend", c1, "Pending"),
        ("s_term", c2, "Terminated"),
        ("s_active2", c2, "Active"),
    ):
        ids[name] = p.insert(
            "hosting", userid=client, domainstatus=status, regdate=day.date(), domain="x.test"
        )
    ids["d1"] = p.insert("domains", userid=c1, domain="example.com", status="Active")
    for name, client, status in (
        ("i_unpaid", c1, "Unpaid"),
        ("i_draft", c1, "Draft"),
        ("i_paid", c2, "Paid"),
        ("i_cancelled", c2, "Cancelled"),
    ):
        ids[name] = p.insert("invoices", userid=client, status=status, date=day.date())
    ids["q_draft"] = p.insert("quotes", userid=c1, stage="Draft", subject="Offer")
    ids["q_sent"] = p.insert("quotes", userid=c2, stage="Delivered", subject="Old offer")
    ids["up_pending"] = p.insert("upgrades", userid=c1, relid=ids["s_active"], status="Pending")
    ids["up_done"] = p.insert("upgrades", userid=c2, relid=ids["s_term"], status="Completed")
    ids["t1"] = p.insert("tickets", userid=c1, did=1, title="Help", date=day)
    p.insert("ticketreplies", tid=ids["t1"], message="Thanks", date=day)
    p.insert("cancelrequests", relid=ids["s_term"], type="Immediate", date=day)
    return ids


Change = Callable[[Panel, dict[str, int]], tuple[int, int]]


def _password(p: Panel, ids: dict[str, int]) -> tuple[int, int]:
    if p.whmcs8:
        p.update("users", ids["u1"], password="$2y$10$changed")
    else:
        p.update("clients", ids["c1"], password="$2y$10$changed")
    return ids["c1"], ids["c1"]


def _permissions(p: Panel, ids: dict[str, int]) -> tuple[int, int]:
    if p.whmcs8:
        p.update("users_clients", ids["link3"], permissions="profile,invoices,tickets")
        return ids["link3"], ids["c1"]
    p.update("contacts", ids["k2"], permissions="profile,invoices,tickets")
    return ids["k2"], ids["c1"]


def _new(name: str, client: str, **values: object) -> Change:
    def change(p: Panel, ids: dict[str, int]) -> tuple[int, int]:
        fields = {k: (ids[v] if isinstance(v, str) and v in ids else v) for k, v in values.items()}
        return p.insert(name, **fields), ids[client]

    return change


def _set(name: str, subject: str, client: str, **values: object) -> Change:
    def change(p: Panel, ids: dict[str, int]) -> tuple[int, int]:
        fields = {k: (ids[v] if isinstance(v, str) and v in ids else v) for k, v in values.items()}
        p.update(name, ids[subject], **fields)
        return ids[subject], ids[client]

    return change


def _gone(name: str, subject: str, client: str) -> Change:
    def change(p: Panel, ids: dict[str, int]) -> tuple[int, int]:
        p.delete(name, ids[subject])
        return ids[subject], ids[client]

    return change


def _client_added(p: Panel, ids: dict[str, int]) -> tuple[int, int]:
    new = p.insert("clients", firstname="Nuevo", email="nuevo@example.com")
    return new, new


def _cancellation(p: Panel, ids: dict[str, int]) -> tuple[int, int]:
    p.insert("cancelrequests", relid=ids["s_active"], type="Immediate", date=p.local_now)
    return ids["s_active"], ids["c1"]


def _logs(change: Change, line: str, client: bool = True) -> Change:
    """``change`` with the activity log line WHMCS writes for it: ``{s}`` is the subject, ``{c}``
    the client, other names the seeded ids; ``userid`` is the client, or 0 (``client=False``)."""

    def logged(p: Panel, ids: dict[str, int]) -> tuple[int, int]:
        subject, client_id = change(p, ids)
        p.log(line.format(s=subject, c=client_id, **ids), client_id if client else 0)
        return subject, client_id

    return logged


CHANGES: dict[str, Change] = {
    "client.added": _client_added,
    "client.password_changed": _password,
    "invoice.created": _logs(
        _new("invoices", "c2", userid="c2", status="Unpaid"), "Created Invoice - Invoice ID: {s}"
    ),
    "client.details_changed": _logs(
        _set("clients", "c1", "c1", address1="Avenida 9"), "Client Profile Modified - User ID: {c}"
    ),
    "invoice.cancelled": _logs(
        _set("invoices", "i_unpaid", "c1", status="Cancelled"),
        "Cancelled Invoice - Invoice ID: {s}",
    ),
    "invoice.paid": _logs(
        _set("invoices", "i_unpaid", "c1", status="Paid"), "Invoice Marked Paid - Invoice ID: {s}"
    ),
    "service.suspended": _logs(
        _set("hosting", "s_active", "c1", domainstatus="Suspended"),
        "Module Suspend Successful - Service ID: {s}",
    ),
    "service.reactivated": _logs(
        _set("hosting", "s_susp", "c1", domainstatus="Active"),
        "Module Unsuspend Successful - Service ID: {s}",
    ),
    "service.terminated": _logs(
        _set("hosting", "s_active", "c1", domainstatus="Terminated"),
        "Module Terminate Successful - Service ID: {s}",
    ),
    "quote.available": _logs(
        _set("quotes", "q_draft", "c1", stage="Delivered"), "Quote Delivered - Quote ID: {s}"
    ),
    "domain.deleted": _logs(_gone("domains", "d1", "c1"), "Domain Deleted - Domain ID: {s}"),
    "cancellation.requested": _logs(
        _cancellation, "Cancellation Request Submitted - Service ID: {s}"
    ),
    "upgrade.ordered": _logs(
        _new("upgrades", "c1", userid="c1", relid="s_active", status="Pending"),
        "Upgrade Order Placed - Service ID: {s_active}",
    ),
    "upgrade.completed": _logs(
        _set("upgrades", "up_pending", "c1", status="Completed"),
        "Upgrade Completed - Service ID: {s_active}",
    ),
    "contact.added": _new("contacts", "c2", userid="c2", firstname="Luz"),
    "contact.changed": _logs(
        _set("contacts", "k1", "c1", email="eva.new@example.com"),
        "Contact Modified - User ID: {c} - Contact ID: {s}",
    ),
    "contact.removed": _gone("contacts", "k1", "c1"),
    "user.permissions_changed": _permissions,
    "ticket.opened": _new("tickets", "c2", userid="c2", did=1, title="Down?"),
    "ticket.replied": _new("ticketreplies", "c1", tid="t1", admin="Staff", message="Done"),
    # Logged by an admin with no client attached: the ids in the text are what tells.
    "service.moved": _logs(
        _set("hosting", "s_active2", "c1", userid="c1"),
        "Moved Service ID: {s} from User ID: {c2} to User ID: {c}",
        client=False,
    ),
}


#: Events a plugin's own watcher reports (tested with that plugin: tests/test_sla.py).
# Events a plugin watches for or raises itself: the catalog's watcher text names the plugin.
PLUGIN_WATCHED = {spec.name for spec in BY_NAME.values() if " plugin: " in spec.watcher}


def test_every_catalog_event_has_a_change() -> None:
    assert set(CHANGES) == set(BY_NAME) - PLUGIN_WATCHED


@pytest.mark.parametrize("name", list(CHANGES))
def test_each_event_is_found_once(panel: Panel, name: str) -> None:
    ids = seed(panel)
    assert panel.intake() == []
    subject, client = CHANGES[name](panel, ids)
    found = panel.intake()
    assert [(e.name, e.subject_id, e.client_id, e.source) for e in found] == [
        (name, subject, client, "watcher")
    ]
    assert found[0].subject_type == BY_NAME[name].subject
    if name == "domain.deleted":
        assert found[0].data["domain"] == "example.com"
    assert panel.intake() == []
    panel.next_day()
    assert panel.intake() == []


def test_first_intake_on_years_of_history_emits_nothing(panel: Panel) -> None:
    for years in range(1, 8):
        seed(panel, years)
    for n in range(300):
        panel.insert("invoices", userid=1, status=("Paid", "Unpaid", "Cancelled")[n % 3])
    panel.hook("InvoicePaid", invoiceid=1)  # the hook file was installed a minute earlier

    found = panel.intake()

    assert [e.name for e in found] == ["invoice.paid"]  # the hook's news, none of the history
    assert sorted(panel.report.baselines) == sorted(
        w.name
        for w in core_watchers(panel.tables)  # type: ignore[attr-defined]
    )
    assert panel.intake() == []


def test_watchers_apply_to_the_schema(panel: Panel) -> None:
    names = {w.name for w in core_watchers(panel.tables)}  # type: ignore[attr-defined]
    logins = {"user_passwords", "user_links"}
    assert logins <= names if panel.whmcs8 else not logins & names
    assert {"clients", "contacts", "services", "invoices", "tickets"} <= names


# (hook, its payload: key -> name of a seeded id, the event the hook and the watcher report)
HOOK_CASES: list[tuple[str, dict[str, str], str]] = [
    ("AfterModuleSuspend", {"serviceid": "s_active", "client_id": "c1"}, "service.suspended"),
    ("AfterModuleUnsuspend", {"serviceid": "s_susp", "client_id": "c1"}, "service.reactivated"),
    ("AfterModuleTerminate", {"serviceid": "s_active", "client_id": "c1"}, "service.terminated"),
    ("InvoicePaid", {"invoiceid": "i_unpaid"}, "invoice.paid"),
    ("InvoiceCancelled", {"invoiceid": "i_unpaid"}, "invoice.cancelled"),
    ("InvoiceCreated", {"invoiceid": "i_draft"}, "invoice.created"),
    ("ClientEdit", {"client_id": "c1"}, "client.details_changed"),
    ("UserChangePassword", {"user_id": "u1"}, "client.password_changed"),
    ("ContactEdit", {"contactid": "k1", "client_id": "c1"}, "contact.changed"),
    ("ContactDelete", {"contactid": "k1", "client_id": "c1"}, "contact.removed"),
    ("DomainDelete", {"domainid": "d1", "client_id": "c1"}, "domain.deleted"),
    ("CancellationRequest", {"serviceid": "s_active", "client_id": "c1"}, "cancellation.requested"),
    ("QuoteStatusChange", {"quoteid": "q_draft"}, "quote.available"),
    ("AfterProductUpgrade", {"upgradeid": "up_pending"}, "upgrade.completed"),
]
# Where the hook's change differs from the plain one of CHANGES.
HOOK_CHANGES: dict[str, Change] = {
    # WHMCS's cancellation run terminates through the module, then stores Cancelled.
    "AfterModuleTerminate": _set("hosting", "s_active", "c1", domainstatus="Cancelled"),
    "InvoiceCreated": _set("invoices", "i_draft", "c1", status="Unpaid"),
}
EXTRA_PAYLOAD = {
    "InvoiceCreated": {"source": "adminarea"},
    "ClientEdit": {"changed": ["address1"]},
    "DomainDelete": {"domain": "example.com"},
    "CancellationRequest": {"type": "Immediate"},
    "QuoteStatusChange": {"status": "Delivered"},
}


@pytest.mark.parametrize("case", HOOK_CASES, ids=[case[0] for case in HOOK_CASES])
def test_hook_row_and_watcher_hit_are_one_event(
    panel: Panel, case: tuple[str, dict[str, str], str]
) -> None:
    hook, keys, name = case
    ids = seed(panel)
    assert panel.intake() == []
    if hook == "UserChangePassword" and not panel.whmcs8:
        hook, keys = "ClientChangePassword", {"client_id": "c1"}
    subject, client = HOOK_CHANGES.get(hook, CHANGES[name])(panel, ids)
    payload = {key: ids[id_name] for key, id_name in keys.items()}
    panel.hook(hook, **payload, **EXTRA_PAYLOAD.get(hook, {}))

    found = panel.intake()

    assert [(e.name, e.subject_id, e.client_id, e.source) for e in found] == [
        (name, subject, client, "hook")
    ]
    assert panel.intake() == []
    panel.next_day()
    assert panel.intake() == []


NEW_ROW_HOOKS = [
    ("TicketOpen", "tickets", "ticket.opened", lambda new, c: {"ticketid": new, "client_id": c}),
    ("ContactAdd", "contacts", "contact.added", lambda new, c: {"contactid": new, "client_id": c}),
    ("ClientAdd", "clients", "client.added", lambda new, c: {"client_id": new}),
]


@pytest.mark.parametrize("case", NEW_ROW_HOOKS, ids=[case[0] for case in NEW_ROW_HOOKS])
def test_hook_for_a_new_row_is_one_event(panel: Panel, case: tuple[Any, ...]) -> None:
    hook, table, name, payload = case
    ids = seed(panel)
    assert panel.intake() == []
    new = panel.insert(table, userid=ids["c2"]) if table != "clients" else 0
    new = new or panel.insert("clients", firstname="Nuevo")
    panel.hook(hook, **payload(new, ids["c2"]))

    found = panel.intake()

    assert [(e.name, e.subject_id, e.source) for e in found] == [(name, new, "hook")]
    assert panel.intake() == []


def test_draft_invoice_is_created_when_it_leaves_draft(panel: Panel) -> None:
    ids = seed(panel)
    assert panel.intake() == []
    draft = panel.insert("invoices", userid=ids["c2"], status="Draft")
    assert panel.intake() == []
    panel.update("invoices", draft, status="Unpaid")
    assert [(e.name, e.subject_id) for e in panel.intake()] == [("invoice.created", draft)]
    panel.update("invoices", ids["i_draft"], status="Paid")
    assert [(e.name, e.subject_id) for e in panel.intake()] == [
        ("invoice.created", ids["i_draft"]),
        ("invoice.paid", ids["i_draft"]),
    ]
    assert panel.intake() == []


def test_open_services_move_on(panel: Panel) -> None:
    ids = seed(panel)
    assert panel.intake() == []
    panel.update("hosting", ids["s_pend"], domainstatus="Active")  # provisioning: no news
    panel.update("hosting", ids["s_susp"], domainstatus="Terminated")
    found = panel.intake()
    assert [(e.name, e.subject_id) for e in found] == [("service.terminated", ids["s_susp"])]
    # Once Active, the sweep follows it: a direct termination is still found.
    panel.update("hosting", ids["s_pend"], domainstatus="Cancelled")
    found = panel.intake()
    assert [(e.name, e.subject_id) for e in found] == [("service.terminated", ids["s_pend"])]
    panel.delete("hosting", ids["s_active"])
    assert panel.intake() == []


def test_a_suspended_service_moved_and_reactivated(panel: Panel) -> None:
    ids = seed(panel)
    assert panel.intake() == []
    panel.update("hosting", ids["s_susp"], domainstatus="Active", userid=ids["c2"])
    found = panel.intake()
    assert sorted((e.name, e.subject_id, e.client_id) for e in found) == [
        ("service.moved", ids["s_susp"], ids["c2"]),
        ("service.reactivated", ids["s_susp"], ids["c2"]),
    ]
    assert next(e for e in found if e.name == "service.moved").data == {
        "from_client_id": ids["c1"],
        "to_client_id": ids["c2"],
    }


def test_sweep_finds_a_change_within_its_rounds(
    panel: Panel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watcher_base, "SWEEP_SLICE", 3)
    seed(panel)
    clients = [panel.insert("clients", firstname=f"C{n}") for n in range(8)]
    assert panel.intake() == []
    with panel.bridge.panel.connect() as conn:
        total = conn.execute(select(func.count()).select_from(panel.tables.clients)).scalar_one()
    rounds = math.ceil(total / 3) + 1
    panel.intake()  # the sweep is somewhere in the middle of the table
    panel.update("clients", clients[-1], city="Rosario")
    panel.update("clients", clients[0], city="Salta")
    found: list[Event] = []
    for _ in range(rounds):
        found.extend(panel.intake())
    assert sorted(e.subject_id for e in found) == sorted([clients[0], clients[-1]])
    assert {e.name for e in found} == {"client.details_changed"}


def test_passwords_are_remembered_as_digests_only(panel: Panel) -> None:
    seed(panel)
    panel.intake()
    states = " ".join(panel.seen_states())
    assert "$2y$" not in states
    assert "original-hash" not in states and "user1" not in states


def test_an_idle_cycle_reads_a_few_indexed_rows(panel: Panel) -> None:
    seed(panel)
    panel.intake()
    panel.intake()
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()))

    engine = panel.bridge.panel.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert panel.intake() == []
    finally:
        event.remove(engine, "before_cursor_execute", record)
    panel_reads = [s for s in statements if " tbl" in s and s.startswith("SELECT")]
    assert all(" WHERE " in s for s in panel_reads), panel_reads
    # The watchers' own reads: the activity log's new lines (1); per watcher 1 (new rows), plus
    # 2 for a sweep (its slice joined with the remembered states, a count of the remembered ids
    # that tells whether a row was deleted) or 2 for an open set (where its slice ends, the
    # slice's join); the services 5 (new rows; the open slice's remembered states and its
    # ``domainstatus`` index range; where the sweep slice ends, its join). Cursors come in the
    # framework's one query.
    own = [s for s in statements if " tbl" in s or "_seen" in s]
    assert len(own) == (33 if panel.whmcs8 else 27), "\n".join(own)
    watchers = len(core_watchers(panel.tables))
    assert len(statements) <= 3 * watchers + 4, "\n".join(statements)


def test_a_row_committed_late_is_not_lost(panel: Panel) -> None:
    ids = seed(panel)
    assert panel.intake() == []
    with panel.bridge.panel.connect() as conn:
        top = conn.execute(select(func.max(panel.tables.tickets.c.id))).scalar_one()
    # Ticket top+1 got its id first but commits after top+2 was read.
    panel.insert("tickets", id=top + 2, userid=ids["c1"], did=1)
    assert [e.subject_id for e in panel.intake()] == [top + 2]
    panel.insert("tickets", id=top + 1, userid=ids["c2"], did=1)
    found = panel.intake()
    assert [(e.name, e.subject_id, e.client_id) for e in found] == [
        ("ticket.opened", top + 1, ids["c2"])
    ]
    assert panel.intake() == []


# -- the activity log as a change feed -----------------------------------------------------------

BACKLOG = 3


def open_backlog(p: Panel, ids: dict[str, int]) -> dict[str, int]:
    """Open rows in every open set after the seeded ones, then the subjects the tests change: with
    one id per slice, a slice reaches those only after a few cycles."""
    c2 = ids["c2"]
    for _ in range(BACKLOG):
        p.insert("invoices", userid=c2, status="Unpaid")
        p.insert("hosting", userid=c2, domainstatus="Suspended", domain="pad.test")
        p.insert("quotes", userid=c2, stage="Draft", subject="Pad")
        p.insert("upgrades", userid=c2, relid=ids["s_active"], status="Pending")
    ids["i_last"] = p.insert("invoices", userid=c2, status="Unpaid")
    ids["s_last"] = p.insert("hosting", userid=c2, domainstatus="Suspended", domain="z.test")
    ids["s_act_last"] = p.insert("hosting", userid=c2, domainstatus="Active", domain="y.test")
    ids["q_last"] = p.insert("quotes", userid=c2, stage="Draft", subject="Last")
    ids["up_last"] = p.insert("upgrades", userid=c2, relid=ids["s_act_last"], status="Pending")
    return ids


# event -> (table, subject, new values, the line WHMCS logs, logged with the client or with 0)
LATE: dict[str, tuple[str, str, dict[str, object], str, bool]] = {
    "invoice.paid": (
        "invoices", "i_last", {"status": "Paid"}, "Invoice Marked Paid - Invoice ID: {s}", True
    ),
    "invoice.cancelled": (
        "invoices", "i_last", {"status": "Cancelled"}, "Cancelled Invoice - Invoice ID: {s}", False
    ),
    "service.suspended": (
        "hosting", "s_act_last", {"domainstatus": "Suspended"},
        "Module Suspend Successful - Service ID: {s}", True,
    ),
    "service.reactivated": (
        "hosting", "s_last", {"domainstatus": "Active"},
        "Module Unsuspend Successful - Service ID: {s}", False,
    ),
    "quote.available": (
        "quotes", "q_last", {"stage": "Delivered"}, "Quote Delivered - Quote ID: {s}", False
    ),
    "upgrade.completed": (
        "upgrades", "up_last", {"status": "Completed"},
        "Upgrade Completed - Service ID: {s_act_last}", True,
    ),
}  # fmt: skip
NAMESPACE = {"invoice": "invoices", "service": "services", "quote": "quotes", "upgrade": "upgrades"}


@pytest.fixture
def thin_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """One remembered id per open-set slice and one row per sweep slice."""
    monkeypatch.setattr(watcher_base, "OPEN_SLICE", 1)
    monkeypatch.setattr(watcher_base, "SWEEP_SLICE", 1)


def _late_change(p: Panel, ids: dict[str, int], name: str, logged: bool) -> int:
    table, subject, values, line, with_client = LATE[name]
    p.update(table, ids[subject], **values)
    if logged:
        p.log(line.format(s=ids[subject], **ids), ids["c2"] if with_client else 0)
    return ids[subject]


@pytest.mark.parametrize("name", list(LATE))
def test_a_logged_change_is_found_next_cycle(panel: Panel, thin_slices: None, name: str) -> None:
    ids = open_backlog(panel, seed(panel))
    assert panel.intake() == []
    assert panel.intake() == []  # the slices start their rounds
    subject = _late_change(panel, ids, name, logged=True)

    found = panel.intake()

    assert [(e.name, e.subject_id, e.client_id) for e in found] == [(name, subject, ids["c2"])]
    assert panel.intake() == []


@pytest.mark.parametrize("name", list(LATE))
def test_a_change_nobody_logged_is_found_within_the_slice_rounds(
    panel: Panel, thin_slices: None, name: str
) -> None:
    ids = open_backlog(panel, seed(panel))
    assert panel.intake() == []
    assert panel.intake() == []
    subject = _late_change(panel, ids, name, logged=False)
    with panel.bridge.panel.connect() as conn:
        namespace = NAMESPACE[name.partition(".")[0]]
        open_set = conn.execute(
            select(func.count()).where(seen_t.c.watcher == namespace)
        ).scalar_one()

    assert panel.intake() == []  # no log line, no hook: the slice has not come round yet
    found: list[Event] = []
    for _ in range(math.ceil(open_set / watcher_base.OPEN_SLICE) + 1):
        found.extend(panel.intake())

    assert [(e.name, e.subject_id, e.client_id) for e in found] == [(name, subject, ids["c2"])]


def test_a_line_logged_before_its_change_commits_is_looked_at_again(
    panel: Panel, thin_slices: None
) -> None:
    ids = open_backlog(panel, seed(panel))
    assert panel.intake() == []
    assert panel.intake() == []
    panel.log(f"Invoice Marked Paid - Invoice ID: {ids['i_last']}", ids["c2"])
    assert panel.intake() == []  # the line is in, the invoice not paid yet
    panel.update("invoices", ids["i_last"], status="Paid")

    assert [(e.name, e.subject_id) for e in panel.intake()] == [("invoice.paid", ids["i_last"])]


def test_a_burst_of_log_lines_compares_the_whole_open_sets(
    panel: Panel, thin_slices: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(activity, "ACTIVITY_BATCH", 2)
    ids = open_backlog(panel, seed(panel))
    assert panel.intake() == []
    assert panel.intake() == []
    for n in range(3):
        panel.log(f"Cron Job: SUCCESS: task {n}")
    panel.update("invoices", ids["i_last"], status="Paid")  # not logged

    assert [(e.name, e.subject_id) for e in panel.intake()] == [("invoice.paid", ids["i_last"])]
    assert panel.intake() == []


def test_activity_lines_name_clients_and_subjects() -> None:
    dirty = Dirty()
    activity.note_line(dirty, 7, "Invoice Marked Paid - Invoice ID: 4")
    activity.note_line(dirty, 0, "Moved Service ID: 12 from User ID: 3 to User ID: 5")
    activity.note_line(dirty, "0", "Quote Delivered - Quote ID: #9 (Client ID: 8)")
    activity.note_line(dirty, None, "Cron Job: SUCCESS: Invoices Created: 0")
    assert (dirty.clients, dirty.services, dirty.invoices, dirty.quotes) == (
        {3, 5, 7, 8},
        {12},
        {4},
        {9},
    )
    assert not dirty.everything


# -- review fixes: the inbox drain, hook payloads, services never provisioned ---------------------


def _inbox_rows(p: Panel, ids: list[int]) -> None:
    with p.bridge.panel.begin() as conn:
        conn.execute(
            insert(inbox_t),
            [
                {
                    "id": i,
                    "hook": "ClientEdit",
                    "payload": json.dumps({"client_id": i}),
                    "origin": "admin",
                    "created_at": p.local_now,
                }
                for i in ids
            ],
        )


def test_the_drain_deletes_only_the_rows_it_read(panel: Panel) -> None:
    # The even ids stand for rows that committed after the drain read the odd ones (InnoDB
    # hands out ids at insert, rows show at commit); more ids than one DELETE chunk holds.
    read = list(range(1, 2 * inbox.DELETE_CHUNK + 2, 2))
    late = [i + 1 for i in read[:-1]]
    _inbox_rows(panel, sorted(read + late))

    with panel.bridge.panel.begin() as conn:
        inbox.delete_rows(conn, read)

    with panel.bridge.panel.connect() as conn:
        assert list(conn.execute(select(inbox_t.c.id).order_by(inbox_t.c.id)).scalars()) == late


def test_a_row_with_a_bad_client_id_is_quarantined_and_the_next_ones_go_on(panel: Panel) -> None:
    ids = seed(panel)
    assert panel.intake() == []
    panel.hook("ContactEdit", contactid=ids["k1"], client_id="n/a")
    panel.hook("InvoicePaid", invoiceid=ids["i_unpaid"], client_id=str(ids["c1"]))

    found = panel.intake()

    assert [(e.name, e.subject_id, e.client_id) for e in found] == [
        ("invoice.paid", ids["i_unpaid"], ids["c1"])
    ]
    assert (panel.report.inbox_rows, panel.report.quarantined) == (2, 1)
    with panel.bridge.panel.connect() as conn:
        quarantined = conn.execute(select(quarantine_t.c.hook, quarantine_t.c.reason)).all()
        assert conn.execute(select(func.count()).select_from(inbox_t)).scalar_one() == 0
    assert [(q.hook, q.reason) for q in quarantined] == [
        ("ContactEdit", "payload 'client_id' is not a number: 'n/a'")
    ]
    assert panel.intake() == []


@pytest.mark.parametrize("payload", [{"domain": None}, {}], ids=["null", "absent"])
def test_domain_delete_without_a_name_takes_the_remembered_one(
    panel: Panel, payload: dict[str, object]
) -> None:
    ids = seed(panel)
    assert panel.intake() == []
    panel.delete("domains", ids["d1"])
    panel.hook("DomainDelete", domainid=ids["d1"], client_id=ids["c1"], **payload)

    found = panel.intake()

    assert [(e.name, e.subject_id, e.source, e.data.get("domain")) for e in found] == [
        ("domain.deleted", ids["d1"], "hook", "example.com")
    ]
    assert panel.intake() == []


@pytest.mark.parametrize("logged", [False, True], ids=["unlogged", "logged"])
def test_a_service_never_provisioned_is_not_terminated(panel: Panel, logged: bool) -> None:
    ids = seed(panel)
    pending = panel.insert(
        "hosting", userid=ids["c1"], domainstatus="Pending", regdate=panel.local_now.date()
    )
    assert panel.intake() == []
    panel.update("hosting", ids["s_pend"], domainstatus="Cancelled")  # order cancelled
    panel.update("hosting", pending, domainstatus="Terminated")
    if logged:
        panel.log(f"Service ID: {pending} - Status changed to Terminated", ids["c1"])

    assert panel.intake() == []
    assert panel.intake() == []  # remembered as ended: nothing later either
    # A provisioned service ending is still news.
    panel.update("hosting", ids["s_active"], domainstatus="Cancelled")
    assert [(e.name, e.subject_id) for e in panel.intake()] == [
        ("service.terminated", ids["s_active"])
    ]
