"""Complete rows for inserts into WHMCS tables, as WHMCS's non-strict ``sql_mode`` would.

WHMCS relies on MySQL filling ``NOT NULL`` columns that have no default with ``''``, ``0`` or a
zero date. SQLite and strict MySQL do not, so the sandbox, the demo and the tests build rows
through :func:`blank_row`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, Integer, LargeBinary, Numeric, Table
from sqlalchemy.types import TypeDecorator, TypeEngine


def _blank_for(column_type: TypeEngine[Any]) -> Any:
    impl = column_type.impl if isinstance(column_type, TypeDecorator) else column_type
    name = type(column_type).__name__
    if name == "PanelBool":
        return False
    if name == "PanelDateTime" or isinstance(impl, DateTime):
        return "0000-00-00 00:00:00"
    if name == "PanelDate" or isinstance(impl, Date):
        return "0000-00-00"
    if name in ("Money", "PanelDecimal") or isinstance(impl, Numeric):
        return Decimal("0.00")
    if isinstance(impl, Integer):
        return 0
    if isinstance(impl, LargeBinary):
        return b""
    return ""


def blank_row(table: Table, **values: Any) -> dict[str, Any]:
    """``values`` plus a blank for every NOT NULL column without a default (except the key).

    Unset dates are written as WHMCS's zero dates by the date types.
    """
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.primary_key or column.nullable:
            continue
        if column.server_default is not None or column.default is not None:
            continue
        row[column.name] = _blank_for(column.type)
    unknown = set(values) - set(table.columns.keys())
    if unknown:
        raise KeyError(f"{table.name} has no column(s) {', '.join(sorted(unknown))}")
    return row
