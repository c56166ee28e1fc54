"""The panel tables and boundary types on SQLite and on MariaDB with the stock 8.4 and 7.8 schemas.

The MariaDB cases fail, never skip, when the server is down: a green run means both real schemas
were exercised.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, Table, create_engine, event, exc, insert, select, text
from sqlalchemy.types import Integer, LargeBinary

from whmcs_bridge.errors import SchemaError
from whmcs_bridge.panel import tables as panel
from whmcs_bridge.panel import types as panel_types
from whmcs_bridge.panel.tables import PANEL_TABLES, PanelTables, create_panel_schema
from whmcs_bridge.testing.mariadb import SchemaPool

FIXTURES = Path(__file__).parent / "fixtures"
BACKENDS = [
    "sqlite",
    pytest.param("8.4", marks=pytest.mark.mariadb),
    pytest.param("7.8", marks=pytest.mark.mariadb),
]


def fixture_columns(version: str) -> dict[str, list[tuple[str, str]]]:
    """Column (name, definition) pairs per table, parsed from a stock schema dump."""
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in (FIXTURES / f"whmcs-{version}-schema.sql").read_text().splitlines():
        if match := re.match(r"CREATE TABLE `(\w+)` \(", line):
            current = found.setdefault(match.group(1), [])
        elif line.startswith(")"):
            current = None
        elif current is not None and (match := re.match(r"\s+`(\w+)` (.*?),?$", line)):
            current.append((match.group(1), match.group(2)))
    return found


@pytest.fixture(scope="module", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    whmcs_databases: SchemaPool,
) -> Iterator[tuple[str, Engine]]:
    """An engine on SQLite (our schema) or on a fresh MariaDB database (a stock schema)."""
    name: str = request.param
    if name == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('panel')}/panel.db")
        create_panel_schema(engine)
        create_panel_schema(engine)  # idempotent
        yield name, engine
        engine.dispose()
        return
    url = whmcs_databases.take(name)
    engine = create_engine(url)
    try:
        yield name, engine
    finally:
        engine.dispose()
        whmcs_databases.give_back(url)


@pytest.fixture(scope="module")
def tables(backend: tuple[str, Engine]) -> PanelTables:
    """The restricted tables of the backend's database."""
    return PanelTables.from_database(backend[1])


@pytest.fixture
def conn(backend: tuple[str, Engine]) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back, in WHMCS's non-strict session mode."""
    with backend[1].connect() as connection:
        transaction = connection.begin()
        if connection.dialect.name != "sqlite":
            connection.exec_driver_sql("SET SESSION sql_mode=''")
        yield connection
        transaction.rollback()


def filler(table: Table, **values: Any) -> dict[str, Any]:
    """``values`` plus the raw "empty" value of every NOT NULL column without a default."""
    row = dict(values)
    for column in table.columns:
        if column.primary_key or column.nullable or column.server_default is not None:
            continue
        if column.name in row:
            continue
        kind = column.type
        if isinstance(kind, panel_types.PanelDate):
            row[column.name] = "0000-00-00"
        elif isinstance(kind, panel_types.PanelDateTime):
            row[column.name] = "0000-00-00 00:00:00"
        elif isinstance(kind, LargeBinary):
            row[column.name] = b""
        elif isinstance(kind, panel_types.PanelBool) and kind.text_style:
            row[column.name] = ""
        elif isinstance(kind, Integer | panel_types.PanelBool | panel_types.PanelDecimal):
            row[column.name] = 0
        else:
            row[column.name] = ""
    return row


def insert_raw(conn: Connection, table: Table, **values: Any) -> int:
    """Insert with plain SQL (no column types involved), as WHMCS would; return the new id."""
    row = filler(table, **values)
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in row)
    params = ", ".join(f":p{i}" for i in range(len(row)))
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({params})"
    result = conn.execute(text(sql), {f"p{i}": value for i, value in enumerate(row.values())})
    assert result.lastrowid
    return int(result.lastrowid)


def test_every_table_matches_the_84_schema() -> None:
    stock = fixture_columns("8.4")
    for name, table in PANEL_TABLES.items():
        assert {c.name for c in table.columns} == {c for c, _ in stock[name]}, name


def test_column_types_and_nullability_follow_the_84_schema() -> None:
    stock = fixture_columns("8.4")
    for name, table in PANEL_TABLES.items():
        for column_name, definition in stock[name]:
            column = table.c[column_name]
            where = f"{name}.{column_name}"
            assert column.nullable == ("NOT NULL" not in definition), where
            if definition.startswith("decimal(16,2)"):
                assert isinstance(column.type, panel_types.Money), where
            elif definition.startswith("decimal"):
                assert isinstance(column.type, panel_types.PanelDecimal), where
            elif definition.startswith("date "):
                assert isinstance(column.type, panel_types.PanelDate), where
            elif definition.startswith(("datetime", "timestamp")):
                assert isinstance(column.type, panel_types.PanelDateTime), where
            elif definition.startswith("enum"):
                assert isinstance(column.type, panel_types.PanelEnum), where
                listed = definition[: definition.index(")")]
                assert column.type.values == tuple(re.findall(r"'([^']*)'", listed)), where
        assert table.c.id.primary_key and table.c.id.autoincrement is True, name


def test_78_schema_is_our_columns_minus_the_dropped_ones() -> None:
    stock = fixture_columns("7.8")
    ours = {name: [c for c, _ in stock[name]] for name in PANEL_TABLES if name in stock}
    restricted = PanelTables(ours)
    for name, table in PANEL_TABLES.items():
        if name not in stock:
            assert restricted.get(name) is None
            continue
        kept = {c.name for c in restricted[name].columns}
        assert kept == {c for c, _ in stock[name]}, name
        assert kept <= {c.name for c in table.columns}, name
    assert not {"tblusers", "tblusers_clients", "tbluser_invites"} & set(restricted.names)


def test_live_columns_match_the_stock_schema(backend: tuple[str, Engine], tables: PanelTables):
    name, _ = backend
    stock = fixture_columns("8.4" if name == "sqlite" else name)
    for table_name in PANEL_TABLES:
        if table_name not in stock:
            assert tables.get(table_name) is None
            continue
        assert {c.name for c in tables[table_name].columns} == {c for c, _ in stock[table_name]}


def test_introspection_is_one_query_on_mariadb(backend: tuple[str, Engine]) -> None:
    name, engine = backend
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    with engine.connect() as connection:
        event.listen(engine, "before_cursor_execute", record)
        try:
            PanelTables.from_database(connection)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    expected = 1 if name != "sqlite" else len(PANEL_TABLES)
    assert len(statements) == expected


def test_version_differences(backend: tuple[str, Engine], tables: PanelTables) -> None:
    name, _ = backend
    old = name == "7.8"
    assert tables.has_column("invoices", "updated_at") is not old
    assert tables.has_column("tblinvoices", "date_cancelled") is not old
    assert tables.has_column("clients", "email_preferences") is not old
    assert tables.has_column("hosting", "qty") is not old
    assert tables.has_column("activitylog", "user_id") is not old
    assert ("updated_at" in tables.invoices.c) is not old
    assert (tables.get("users") is None) is old
    assert ("users_clients" in tables) is not old
    if old:
        with pytest.raises(SchemaError, match=r"tblusers_clients.*WHMCS 8\.0"):
            _ = tables.users_clients
        with pytest.raises(SchemaError):
            _ = tables["tblusers"]
    else:
        assert tables.users_clients is tables["tblusers_clients"]
    with pytest.raises(KeyError):
        tables.get("nonsense")
    with pytest.raises(AttributeError):
        _ = tables.nonsense
    assert tables.invoices.metadata is tables.metadata is not panel.metadata


def test_select_every_table(backend: tuple[str, Engine], conn: Connection, tables: PanelTables):
    for table in tables:
        conn.execute(select(table)).all()
    config = tables.configuration
    stored = dict(conn.execute(select(config.c.setting, config.c.value)).all())
    if backend[0] != "sqlite":
        assert stored["Version"].startswith(backend[0])
        assert stored["CancelInvoiceOnCancellation"] == "on"


def test_zero_and_1970_dates_read_as_none(conn: Connection, tables: PanelTables) -> None:
    hosting = tables.hosting
    service_id = insert_raw(
        conn,
        hosting,
        regdate="0000-00-00",
        nextduedate="1970-01-01",
        nextinvoicedate="2024-05-01",
        lastupdate="0000-00-00 00:00:00",
        created_at="2024-05-01 10:11:12",
        updated_at="1970-01-01 01:00:00",
    )
    raw = conn.execute(text("SELECT regdate FROM tblhosting WHERE id = :id"), {"id": service_id})
    assert raw.scalar_one() == "0000-00-00"  # what the drivers hand back without our types
    row = conn.execute(select(hosting).where(hosting.c.id == service_id)).one()
    assert row.regdate is None
    assert row.nextduedate is None
    assert row.nextinvoicedate == date(2024, 5, 1)
    assert row.termination_date is None  # the column's zero-date default
    assert row.lastupdate is None
    assert row.created_at == datetime(2024, 5, 1, 10, 11, 12)
    assert row.updated_at is None
    unset = conn.execute(
        select(hosting.c.id).where(panel_types.date_is_unset(hosting.c.regdate))
    ).all()
    assert [r.id for r in unset] == [service_id]
    unset_at = select(hosting.c.id).where(panel_types.date_is_unset(hosting.c.updated_at))
    assert conn.execute(unset_at).scalars().all() == [service_id]
    later = select(hosting.c.id).where(hosting.c.nextinvoicedate > date(2024, 4, 30))
    assert conn.execute(later).scalars().all() == [service_id]


def test_dates_written_through_the_table(conn: Connection, tables: PanelTables) -> None:
    invoices = tables.invoices
    values = filler(invoices, userid=1, date=date(2024, 2, 29), datepaid=datetime(2024, 3, 1, 8))
    invoice_id = conn.execute(insert(invoices).values(values)).inserted_primary_key[0]
    row = conn.execute(select(invoices).where(invoices.c.id == invoice_id)).one()
    assert row.date == date(2024, 2, 29) and row.datepaid == datetime(2024, 3, 1, 8)
    assert row.duedate is None


def test_money_reads_as_decimal(conn: Connection, tables: PanelTables) -> None:
    invoices = tables.invoices
    raw = {"subtotal": "12.3", "credit": 0, "tax": "0.005", "total": "1234567.89", "taxrate": "7.5"}
    invoice_id = insert_raw(conn, invoices, userid=1, **raw)
    row = conn.execute(select(invoices).where(invoices.c.id == invoice_id)).one()
    read = " ".join(str(getattr(row, name)) for name in raw)
    assert read == "12.30 0.00 0.01 1234567.89 7.500"
    assert all(type(v) is Decimal for v in (row.subtotal, row.credit, row.total))
    big = select(invoices.c.id).where(invoices.c.total > Decimal("999999.99"))
    assert conn.execute(big).scalars().all() == [invoice_id]


@pytest.mark.filterwarnings("error")
def test_money_written_through_the_table(conn: Connection, tables: PanelTables) -> None:
    pricing = tables.pricing
    amounts = {
        c.name: Decimal("-1.00") for c in pricing.columns if isinstance(c.type, panel_types.Money)
    }
    amounts["monthly"] = Decimal("9.999")
    values = filler(pricing, type="product", currency=1, relid=7, **amounts)
    conn.execute(insert(pricing).values(values))
    row = conn.execute(select(pricing).where(pricing.c.relid == 7)).one()
    assert row.monthly == Decimal("10.00") and row.annually == Decimal("-1.00")
    rate = conn.execute(select(tables.currencies.c.rate)).scalars().all()
    assert rate == ([] if conn.dialect.name == "sqlite" else [Decimal("1.00000")])


TRUE_TEXT, FALSE_TEXT = ("on", "1", "yes", "true"), ("", "0", "off", "no", "false")


@pytest.mark.parametrize(
    ("raw", "expected"), [(v, True) for v in TRUE_TEXT] + [(v, False) for v in FALSE_TEXT]
)
def test_text_flags_read_permissively(
    conn: Connection, tables: PanelTables, raw: str, expected: bool
) -> None:
    departments = tables.ticketdepartments
    dept_id = insert_raw(conn, departments, name="Sales", hidden=raw, clientsonly="on")
    row = conn.execute(select(departments).where(departments.c.id == dept_id)).one()
    assert row.hidden is expected and row.clientsonly is True and row.feedback_request is False


def test_integer_flags_and_flag_binds(conn: Connection, tables: PanelTables) -> None:
    domains, departments = tables.domains, tables.ticketdepartments
    domain_id = insert_raw(conn, domains, userid=1, domain="a.test", type="Register", donotrenew=1)
    row = conn.execute(select(domains).where(domains.c.id == domain_id)).one()
    assert (row.donotrenew, row.idprotection, row.is_premium) == (True, False, False)
    values = filler(departments, name="Support", hidden=True, noautoresponder=False)
    dept_id = conn.execute(insert(departments).values(values)).inserted_primary_key[0]
    raw = conn.execute(
        text("SELECT hidden, noautoresponder FROM tblticketdepartments WHERE id = :id"),
        {"id": dept_id},
    ).one()
    assert tuple(raw) == ("on", "")
    conn.execute(domains.update().where(domains.c.id == domain_id).values(donotrenew=False))
    raw_flag = conn.execute(
        text("SELECT donotrenew FROM tbldomains WHERE id = :id"), {"id": domain_id}
    )
    assert raw_flag.scalar_one() == 0


def test_clients_round_trip(conn: Connection, tables: PanelTables) -> None:
    clients = tables.clients
    given_values = {"firstname": "Ana", "email": "ana@example.test", "credit": Decimal("15.5")}
    given_values |= {"taxexempt": True, "datecreated": date(2023, 1, 9), "currency": 1}
    given_values |= {"lastlogin": datetime(2024, 6, 1, 12, 30), "phonenumber": "+34.612345678"}
    new_row = filler(clients, **given_values)
    client_id = conn.execute(insert(clients).values(new_row)).inserted_primary_key[0]
    row = conn.execute(select(clients).where(clients.c.id == client_id)).one()._mapping
    assert row["firstname"] == "Ana" and row["phonenumber"] == "+34.612345678"
    assert row["credit"] == Decimal("15.50") and row["taxexempt"] is True
    assert row["datecreated"] == date(2023, 1, 9)
    assert row["lastlogin"] == datetime(2024, 6, 1, 12, 30)
    assert row["status"] == "Active" and row["allow_sso"] is True and row["created_at"] is None
    assert row.get("email_preferences") is None


def test_unique_keys_exist(backend: tuple[str, Engine], conn: Connection, tables: PanelTables):
    config = tables.configuration
    conn.execute(insert(config).values(setting="WbTest", value="1"))
    duplicate = insert(config).values(setting="WbTest", value="2")
    if backend[0] == "7.8":
        conn.execute(duplicate)  # 7.8 had no unique key on the setting name
        return
    with conn.begin_nested(), pytest.raises(exc.IntegrityError):
        conn.execute(duplicate)
    users = tables.users
    conn.execute(insert(users).values(email="a@example.test"))
    with conn.begin_nested(), pytest.raises(exc.IntegrityError):
        conn.execute(insert(users).values(email="a@example.test"))


def test_parse_panel_date_and_datetime() -> None:
    assert panel_types.parse_panel_date("2024-02-29") == date(2024, 2, 29)
    assert panel_types.parse_panel_date("2024-02-29 10:00:00") == date(2024, 2, 29)
    assert panel_types.parse_panel_date(datetime(2024, 1, 1, 5)) == date(2024, 1, 1)
    for unset in (None, "", "0000-00-00", "1970-01-01", b"0000-00-00", "2024-00-10"):
        assert panel_types.parse_panel_date(unset) is None
    assert panel_types.parse_panel_datetime("2024-02-29 10:00:00") == datetime(2024, 2, 29, 10)
    assert panel_types.parse_panel_datetime(date(2024, 2, 29)) == datetime(2024, 2, 29)
    for unset in (None, "", "0000-00-00 00:00:00", "1970-01-01 00:00:00", "1970-01-01 02:00:00"):
        assert panel_types.parse_panel_datetime(unset) is None


def test_parse_money_and_bool() -> None:
    assert str(panel_types.parse_money(0.1)) == "0.10"
    assert str(panel_types.parse_money("12.345")) == "12.35"
    assert str(panel_types.parse_money(" -1.00 ")) == "-1.00"
    assert str(panel_types.parse_money("")) == "0.00"
    assert str(panel_types.parse_money(7)) == "7.00"
    assert str(panel_types.parse_money("1.000005", places=5)) == "1.00001"
    for bad in (None, "1,234.00", "$5", "nan", True):
        with pytest.raises(ValueError):
            panel_types.parse_money(bad)
    assert all(panel_types.parse_panel_bool(v) for v in (*TRUE_TEXT, 1, True, "ON", b"on"))
    assert not any(panel_types.parse_panel_bool(v) for v in (*FALSE_TEXT, 0, None, False))


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2))
def test_money_round_trips_on_sqlite(amount: Decimal) -> None:
    engine = sqlite_engine()
    with engine.begin() as connection:
        credit = panel.credit
        values = {"clientid": 1, "date": date(2024, 1, 1), "description": "", "amount": amount}
        new_id = connection.execute(insert(credit).values(values)).inserted_primary_key[0]
        stored = connection.execute(select(credit.c.amount).where(credit.c.id == new_id))
        assert stored.scalar_one() == amount


@functools.cache
def sqlite_engine() -> Engine:
    """One in-memory SQLite panel shared by the hypothesis examples."""
    engine = create_engine("sqlite://")
    create_panel_schema(engine)
    return engine
