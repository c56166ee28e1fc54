"""A few ``contacts audit`` findings on the sample panel (8.x model), for the staff page's
Contactos tab in its tests and in ``make screenshots``.

- client 6, "Lucía Martínez", registered again with the e-mail of client 3's holder (R-TR-1);
- a contact of client 4 that uses the e-mail of client 1's holder (R-TR-8);
- Diego Sosa, a user of client 5 who is not its holder, with every right (R-CT-2), and so the
  invoices right without the invoice e-mails.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import create_engine, insert

from whmcs_bridge.panel.queries.people import PERMISSIONS
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import metadata

NO_MAIL = {
    f"{kind}emails": 0
    for kind in ("general", "invoice", "product", "domain", "support", "affiliate")
}


def add_audit_cases(database_url: str) -> None:
    """Write the cases into the sample panel at ``database_url``."""
    clients, users = metadata.tables["tblclients"], metadata.tables["tblusers"]
    links, contacts = metadata.tables["tblusers_clients"], metadata.tables["tblcontacts"]
    now = datetime(2026, 11, 20, 9, 30)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            insert(clients).values(
                **blank_row(
                    clients, id=6, firstname="Lucía", lastname="Martínez", country="AR",
                    email="lucia@laespiga.example.com.ar", currency=1, status="Active",
                    created_at=now, updated_at=now,
                )
            )
        )  # fmt: skip
        conn.execute(insert(links).values(**blank_row(links, auth_user_id=3, client_id=6, owner=1)))
        conn.execute(
            insert(contacts).values(
                **blank_row(
                    contacts, userid=4, firstname="María", lastname="G.", country="AR",
                    email="maria.gonzalez@example.com.ar", **NO_MAIL,
                )
            )
        )  # fmt: skip
        conn.execute(
            insert(users).values(
                **blank_row(
                    users, id=7, first_name="Diego", last_name="Sosa",
                    email="diego@sosa.example.com.ar", password="$2y$10$demo07hash",
                )
            )
        )  # fmt: skip
        conn.execute(
            insert(links).values(
                **blank_row(
                    links, auth_user_id=7, client_id=5, owner=0,
                    permissions=",".join(PERMISSIONS), last_login=now, created_at=now,
                )
            )
        )  # fmt: skip
    engine.dispose()
