"""The WHMCS tables the bridge reads, and their view restricted to one live database.

The module-level tables (``clients``, ``hosting``, ``invoices``, ...) are the stock WHMCS 8.4
definitions in :data:`metadata`; :func:`create_panel_schema` creates them (the SQLite demo and the
sandbox panel). A real panel may be older and lack some of them, so queries go through a
:class:`PanelTables` built once per database: the same tables holding only the columns that
database has.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from sqlalchemy import Column, Connection, DefaultClause, Engine, MetaData, Table, bindparam, text
from sqlalchemy import inspect as sa_inspect

from whmcs_bridge.errors import SchemaError
from whmcs_bridge.panel.tables_billing import (
    accounts,
    credit,
    invoiceitems,
    invoices,
    orders,
    paymentgateways,
    quoteitems,
    quotes,
)
from whmcs_bridge.panel.tables_catalogue import (
    addons,
    currencies,
    pricing,
    product_upgrade_products,
    productgroups,
    products,
)
from whmcs_bridge.panel.tables_clients import (
    activitylog,
    admins,
    clients,
    configuration,
    contacts,
    user_invites,
    users,
    users_clients,
)
from whmcs_bridge.panel.tables_meta import metadata
from whmcs_bridge.panel.tables_network import clientgroups, networkissues, servers
from whmcs_bridge.panel.tables_services import (
    cancelrequests,
    domains,
    hosting,
    hostingaddons,
    hostingconfigoptions,
    sslorders,
    upgrades,
)
from whmcs_bridge.panel.tables_support import (
    ticketdepartments,
    ticketnotes,
    ticketreplies,
    tickets,
    ticketstatuses,
)

__all__ = [
    "PANEL_TABLES",
    "PanelTables",
    "accounts",
    "activitylog",
    "addons",
    "admins",
    "cancelrequests",
    "clientgroups",
    "clients",
    "configuration",
    "contacts",
    "create_panel_schema",
    "credit",
    "currencies",
    "domains",
    "hosting",
    "hostingaddons",
    "hostingconfigoptions",
    "invoiceitems",
    "invoices",
    "metadata",
    "networkissues",
    "orders",
    "paymentgateways",
    "pricing",
    "product_upgrade_products",
    "productgroups",
    "products",
    "quoteitems",
    "quotes",
    "servers",
    "sslorders",
    "ticketdepartments",
    "ticketnotes",
    "ticketreplies",
    "tickets",
    "ticketstatuses",
    "upgrades",
    "user_invites",
    "users",
    "users_clients",
]

#: Every WHMCS table the bridge defines, by its real name.
PANEL_TABLES: Mapping[str, Table] = {
    table.name: table
    for table in (
        clients,
        contacts,
        users,
        users_clients,
        user_invites,
        admins,
        configuration,
        activitylog,
        productgroups,
        products,
        product_upgrade_products,
        pricing,
        currencies,
        hosting,
        hostingaddons,
        hostingconfigoptions,
        addons,
        sslorders,
        domains,
        upgrades,
        cancelrequests,
        orders,
        invoices,
        invoiceitems,
        quotes,
        quoteitems,
        credit,
        accounts,
        paymentgateways,
        tickets,
        ticketreplies,
        ticketdepartments,
        ticketstatuses,
        ticketnotes,
        networkissues,
        servers,
        clientgroups,
    )
}

_ADDED_IN = {
    "tblusers": "WHMCS 8.0",
    "tblusers_clients": "WHMCS 8.0",
    "tbluser_invites": "WHMCS 8.0",
}


def create_panel_schema(bind: Engine | Connection) -> None:
    """Create every table of :data:`PANEL_TABLES` that does not exist yet (idempotent).

    Meant for SQLite (the demo and the sandbox panel): a real panel's tables are WHMCS's own.
    """
    metadata.create_all(bind, tables=list(PANEL_TABLES.values()), checkfirst=True)


def _full_name(name: str) -> str:
    """Map ``'clients'`` or ``'tblclients'`` to ``'tblclients'``; unknown names raise KeyError."""
    full = name if name in PANEL_TABLES else f"tbl{name}"
    if full not in PANEL_TABLES:
        raise KeyError(f"whmcs-bridge defines no panel table {name!r}")
    return full


def _copy_column(column: Column[object]) -> Column[object]:
    """A fresh column with the same name, type, key role and default, for another Table."""
    default = column.server_default
    return Column(
        column.name,
        column.type,
        primary_key=column.primary_key,
        autoincrement=column.autoincrement,
        nullable=column.nullable,
        server_default=DefaultClause(default.arg) if isinstance(default, DefaultClause) else None,
    )


def _columns_in_database(conn: Connection) -> dict[str, set[str]]:
    """Read, in one round trip where the server allows it, which of our columns exist."""
    found: dict[str, set[str]] = {}
    names = list(PANEL_TABLES)
    dialect = conn.dialect.name
    if dialect in ("mysql", "mariadb"):
        query = text(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = DATABASE() AND table_name IN :names"
        ).bindparams(bindparam("names", expanding=True))
        for table_name, column_name in conn.execute(query, {"names": names}):
            found.setdefault(str(table_name), set()).add(str(column_name))
    elif dialect == "sqlite":
        for name in names:
            rows = conn.exec_driver_sql(f'PRAGMA table_info("{name}")').all()
            if rows:
                found[name] = {str(row[1]) for row in rows}
    else:
        inspector = sa_inspect(conn)
        for name in names:
            if inspector.has_table(name):
                found[name] = {col["name"] for col in inspector.get_columns(name)}
    return found


class PanelTables:
    """The panel tables of ONE live database, each restricted to the columns it really has.

    Access a table by its short name (``tables.clients``, ``tables.users_clients``) or its real
    name (``tables["tblclients"]``). A table the database lacks raises :class:`SchemaError` there;
    ``tables.get("users")`` returns ``None`` instead, for code that supports older panels.
    Each instance has its own :class:`MetaData`, so ``select(tables.invoices)`` only names
    columns the database holds.
    """

    def __init__(self, columns: Mapping[str, Iterable[str]]) -> None:
        """Build from the columns present per real table name (tables not given are absent)."""
        self.metadata = MetaData()
        self._tables: dict[str, Table] = {}
        for name, definition in PANEL_TABLES.items():
            if name not in columns:
                continue
            present = set(columns[name])
            if "id" not in present:
                raise SchemaError(f"{name} has no id column: not a WHMCS table the bridge knows")
            kept = [_copy_column(c) for c in definition.columns if c.name in present]
            self._tables[name] = Table(name, self.metadata, *kept)

    @classmethod
    def from_database(cls, bind: Engine | Connection) -> PanelTables:
        """Introspect ``bind``'s database (one query on MySQL/MariaDB) and build the tables."""
        if isinstance(bind, Engine):
            with bind.connect() as conn:
                return cls(_columns_in_database(conn))
        return cls(_columns_in_database(bind))

    def get(self, name: str) -> Table | None:
        """The table, or ``None`` when this database lacks it; unknown names raise KeyError."""
        return self._tables.get(_full_name(name))

    def has_column(self, table: str, column: str) -> bool:
        """Whether this database has ``table`` (short or real name) with ``column``."""
        found = self.get(table)
        return found is not None and column in found.c

    @property
    def names(self) -> tuple[str, ...]:
        """The real names of the tables this database has."""
        return tuple(self._tables)

    def __getitem__(self, name: str) -> Table:
        """The table by short or real name; a table the database lacks raises SchemaError."""
        full = _full_name(name)
        found = self._tables.get(full)
        if found is None:
            since = _ADDED_IN.get(full)
            hint = f" (it exists since {since})" if since else ""
            raise SchemaError(
                f"the panel database has no table {full}{hint}; "
                f"code that supports such panels checks tables.get({full[3:]!r}) first"
            )
        return found

    def __getattr__(self, name: str) -> Table:
        """``tables.clients`` is ``tables["tblclients"]``."""
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"PanelTables has no table {name!r}") from None

    def __contains__(self, name: object) -> bool:
        """Whether this database has the table (short or real name)."""
        if not isinstance(name, str):
            return False
        try:
            return self.get(name) is not None
        except KeyError:
            return False

    def __iter__(self) -> Iterator[Table]:
        """The tables this database has."""
        return iter(self._tables.values())

    def __repr__(self) -> str:
        """Name the tables present."""
        return f"PanelTables({', '.join(self._tables)})"
