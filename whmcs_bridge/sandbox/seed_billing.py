"""The sample company's billing: invoices with their items, a quote and the payment gateway.

Part of the sample panel that :func:`whmcs_bridge.sandbox.seed.seed_panel` fills (its clients,
products and services are there); dates are relative to ``today`` so the data always looks current.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, insert

from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import metadata

__all__ = ["seed_billing"]

D = Decimal


def _invoices(conn: Connection, today: date) -> None:
    invoices = metadata.tables["tblinvoices"]
    items = metadata.tables["tblinvoiceitems"]
    rows = [
        # (id, client, status, days ago, total, service)
        (1, 1, "Paid", 180, D("100.00"), 1),
        (2, 2, "Paid", 270, D("150.00"), 2),
        (3, 3, "Unpaid", 40, D("100.00"), 3),
        (4, 4, "Unpaid", 2, D("30.00"), 4),
        (5, 2, "Cancelled", 90, D("30.00"), 7),
        (6, 5, "Paid", 90, D("150.00"), 6),
    ]
    for iid, cid, status, ago, total, sid in rows:
        day = today - timedelta(days=ago)
        paid = datetime.combine(day, datetime.min.time()) if status == "Paid" else None
        conn.execute(
            insert(invoices).values(
                **blank_row(
                    invoices,
                    id=iid,
                    userid=cid,
                    date=day,
                    duedate=day + timedelta(days=10),
                    datepaid=paid or "0000-00-00 00:00:00",
                    subtotal=total,
                    total=total,
                    status=status,
                    paymentmethod="mercadopago",
                    invoicenum=f"A-{iid:05d}",
                )
            )
        )
        conn.execute(
            insert(items).values(
                **blank_row(
                    items,
                    invoiceid=iid,
                    userid=cid,
                    type="Hosting",
                    relid=sid,
                    amount=total,
                    description=f"Servicio #{sid}",
                    duedate=day + timedelta(days=10),
                    paymentmethod="mercadopago",
                )
            )
        )


def seed_billing(conn: Connection, today: date) -> None:
    """Add the invoices (paid, unpaid, cancelled), a draft quote and the Mercado Pago gateway."""
    _invoices(conn, today)
    quotes = metadata.tables["tblquotes"]
    conn.execute(
        insert(quotes).values(
            **blank_row(
                quotes,
                id=1,
                subject="Migración de sitio y casillas",
                stage="Draft",
                userid=2,
                currency=1,
                validuntil=today + timedelta(days=15),
                datecreated=today,
                lastmodified=today,
                subtotal=D("80.00"),
                total=D("80.00"),
            )
        )
    )
    gateways = metadata.tables["tblpaymentgateways"]
    for setting, value in (("name", "Mercado Pago"), ("type", "Invoices"), ("visible", "on")):
        conn.execute(
            insert(gateways).values(gateway="mercadopago", setting=setting, value=value, order=1)
        )
