"""What every sandbox action handler shares: the request context, the action registry, errors,
and row writes that supply the NOT NULL columns WHMCS leaves to MySQL's non-strict mode.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Integer, Table, insert, select, update
from sqlalchemy.sql.sqltypes import BigInteger, LargeBinary, SmallInteger

from whmcs_bridge.panel.money import Currency
from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.panel.types import PanelBool, PanelDate, PanelDateTime, PanelDecimal, PanelEnum
from whmcs_bridge.sandbox.hook_rows import write_hook_row

if TYPE_CHECKING:
    from whmcs_bridge.sandbox.api_server import SandboxPanel

Handler = Callable[["Context"], dict[str, Any]]

#: Action handlers by normalised name (lower case, letters and digits only), as WHMCS looks up.
ACTIONS: dict[str, Handler] = {}
#: Actions that exist since WHMCS 8: a panel without tblusers answers ``Command Not Found``.
SINCE_8: set[str] = set()

ZERO_DATE = "0000-00-00"
ZERO_DATETIME = "0000-00-00 00:00:00"


def normalise(action: str) -> str:
    """WHMCS's lookup form of an action name (reference §3.1)."""
    return "".join(ch for ch in action.lower() if ch.isalnum())


def action(name: str, *, since_8: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler for the WHMCS action ``name``."""

    def register(handler: Handler) -> Handler:
        ACTIONS[normalise(name)] = handler
        if since_8:
            SINCE_8.add(normalise(name))
        return handler

    return register


class ActionError(Exception):
    """A refusal the sandbox answers as ``{"result": "error", "message": ...}``."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Context:
    """One API request: its params, the open transaction, the panel's tables and clock."""

    panel: SandboxPanel
    conn: Connection
    tables: PanelTables
    params: Mapping[str, Any]
    now: dt.datetime
    hooks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def today(self) -> dt.date:
        """The panel's date."""
        return self.now.date()

    def param(self, name: str, default: Any = None) -> Any:
        """A param; empty strings count as missing."""
        value = self.params.get(name)
        return default if value is None or value == "" else value

    def int_param(self, name: str, default: int = 0) -> int:
        """A param as an int (``default`` when missing or not a number)."""
        try:
            return int(Decimal(str(self.param(name, default)).strip()))
        except (InvalidOperation, ValueError):
            return default

    def flag(self, name: str) -> bool:
        """A boolean param as PHP reads it."""
        return str(self.param(name, "")).strip().lower() in {"1", "true", "on", "yes"}

    def hook(self, name: str, **payload: Any) -> None:
        """Write the inbox row hooks/whmcs_bridge.php would write for hook ``name``."""
        if write_hook_row(self.conn, name, payload, self.now):
            self.hooks.append((name, payload))

    def setting(self, name: str) -> str:
        """A ``tblconfiguration`` value ('' when unset)."""
        t = self.tables.configuration
        value = self.conn.execute(select(t.c.value).where(t.c.setting == name)).scalar()
        return "" if value is None else str(value)

    def setting_on(self, name: str) -> bool:
        """A WHMCS on/off setting ('on', '1', 'yes' are on)."""
        return self.setting(name).strip().lower() in {"on", "1", "yes", "true"}

    def row(self, table: Table, row_id: int) -> Any:
        """One row by id, or None."""
        return self.conn.execute(select(table).where(table.c.id == row_id)).first()

    def currency(self, currency_id: int) -> Currency:
        """A ``tblcurrencies`` row (the default currency when ``currency_id`` is unknown)."""
        t = self.tables.currencies
        row = self.conn.execute(select(t).where(t.c.id == currency_id)).first()
        if row is None:
            row = self.conn.execute(select(t).where(t.c["default"] == 1)).first()
        if row is None:
            return Currency(0, "USD", "$", " USD", 1)
        return Currency(row.id, row.code, row.prefix, row.suffix, int(row.format))

    def activity(self, description: str, client_id: int = 0) -> None:
        """Add a ``tblactivitylog`` line (only the columns this database has)."""
        insert_row(
            self.conn,
            self.tables.activitylog,
            {
                "date": self.now,
                "description": description,
                "user": "API",
                "userid": client_id,
                "ipaddr": "127.0.0.1",
            },
        )


def blank(column: Any) -> Any:
    """The value MySQL's non-strict mode would store for a NOT NULL column left out."""
    kind = column.type
    if isinstance(kind, PanelDateTime):
        return ZERO_DATETIME
    if isinstance(kind, PanelDate):
        return ZERO_DATE
    if isinstance(kind, PanelDecimal):
        return Decimal("0")
    if isinstance(kind, PanelBool):
        return False
    if isinstance(kind, PanelEnum):
        return kind.values[0]
    if isinstance(kind, Integer | SmallInteger | BigInteger):
        return 0
    if isinstance(kind, LargeBinary):
        return b""
    return ""


def insert_row(conn: Connection, table: Table, values: Mapping[str, Any]) -> int:
    """Insert a row, supplying every NOT NULL column WHMCS would leave out; return its id."""
    row = {k: v for k, v in values.items() if k in table.c}
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key:
            continue
        if column.server_default is None:
            row[column.name] = blank(column)
    result = conn.execute(insert(table).values(row))
    key = result.inserted_primary_key
    return int(key[0]) if key and key[0] is not None else 0


def update_row(conn: Connection, table: Table, row_id: int, values: Mapping[str, Any]) -> None:
    """Update the columns of ``values`` this database has."""
    row = {k: v for k, v in values.items() if k in table.c}
    if row:
        conn.execute(update(table).where(table.c.id == row_id).values(row))


def money(value: Any) -> str:
    """A plain amount as WHMCS's JSON writes it: ``"12.50"``."""
    return f"{Decimal(str(value or 0)):.2f}"


def text_date(value: Any) -> str:
    """A date for an answer; unset dates as WHMCS sends them (``0000-00-00``)."""
    if value is None:
        return ZERO_DATE
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def page(ctx: Context, rows: Iterable[Any], key: str, item: str) -> dict[str, Any]:
    """A WHMCS list answer with paging fields and the ``{key: {item: [...]}}`` wrapping."""
    everything = list(rows)
    start = ctx.int_param("limitstart", 0)
    num = ctx.int_param("limitnum", 25)
    chosen = everything[start : start + num]
    return {
        "totalresults": len(everything),
        "startnumber": start,
        "numreturned": len(chosen),
        key: {item: chosen} if chosen else "",
    }
