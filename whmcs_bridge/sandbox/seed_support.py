"""The sample company's support desk: its departments and an open ticket.

Part of the sample panel that :func:`whmcs_bridge.sandbox.seed.seed_panel` fills; dates are
relative to ``today`` so the data always looks current.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Connection, insert

from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import metadata

__all__ = ["seed_support"]


def seed_support(conn: Connection, today: date) -> None:
    """Add three ticket departments and one open ticket of client 3, opened three days ago."""
    departments = metadata.tables["tblticketdepartments"]
    for did, name in ((1, "Soporte Técnico"), (2, "Administración"), (3, "Ventas")):
        conn.execute(
            insert(departments).values(
                **blank_row(
                    departments,
                    id=did,
                    name=name,
                    email=f"depto{did}@hostingpatagonia.example.com.ar",
                )
            )
        )
    tickets = metadata.tables["tbltickets"]
    opened = datetime.combine(today - timedelta(days=3), datetime.min.time())
    conn.execute(
        insert(tickets).values(
            **blank_row(
                tickets,
                id=1,
                tid="KQW-482913",
                did=1,
                userid=3,
                title="No puedo enviar correos",
                message="Desde ayer Outlook me da error al enviar.",
                status="Open",
                urgency="Medium",
                date=opened,
                lastreply=opened,
                c="a1b2c3d4",
            )
        )
    )
