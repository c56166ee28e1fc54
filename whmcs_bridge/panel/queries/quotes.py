"""Questions about quotes (``tblquotes``, whmcs.md §1): a quote with the currency it is in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from whmcs_bridge.panel.money import Currency
from whmcs_bridge.panel.queries.clients import currency_of_client, currency_row
from whmcs_bridge.panel.tables import PanelTables

__all__ = ["QuoteInfo", "latest_quote", "quote"]


@dataclass(frozen=True)
class QuoteInfo:
    """A ``tblquotes`` row. ``currency`` is the quote's own (``tblquotes.currency``), else its
    client's, else the panel's default; ``client_id`` is 0 for a quote to a lead."""

    id: int
    client_id: int
    subject: str
    stage: str  # Draft, Delivered, On Hold, Accepted, Lost, Dead
    total: Decimal
    valid_until: date | None
    currency: Currency


def _quote(conn: Connection, tables: PanelTables, row: Any) -> QuoteInfo:
    m = row._mapping
    client_id = int(m.get("userid") or 0)
    if m.get("currency"):
        currency = currency_row(conn, tables, m.get("currency"))
    else:
        currency = currency_of_client(conn, tables, client_id)
    total = m.get("total")
    return QuoteInfo(
        id=int(m["id"]),
        client_id=client_id,
        subject=str(m.get("subject") or "").strip(),
        stage=str(m.get("stage") or ""),
        total=total if isinstance(total, Decimal) else Decimal(str(total or "0.00")),
        valid_until=m.get("validuntil"),
        currency=currency,
    )


def quote(conn: Connection, tables: PanelTables, quote_id: int) -> QuoteInfo | None:
    """The quote with id ``quote_id``, or ``None`` when there is no such row."""
    table = tables.quotes
    row = conn.execute(select(table).where(table.c.id == quote_id)).first()
    return None if row is None else _quote(conn, tables, row)


def latest_quote(conn: Connection, tables: PanelTables, client_id: int) -> QuoteInfo | None:
    """The client's quote with the highest id, or ``None`` when it has none."""
    table = tables.quotes
    query = select(table).where(table.c.userid == client_id).order_by(table.c.id.desc()).limit(1)
    row = conn.execute(query).first()
    return None if row is None else _quote(conn, tables, row)
