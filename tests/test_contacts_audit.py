"""``contacts audit`` on every stock schema: each finding with its code, rule and people; exit
status 0 with none and 1 with findings, for cron (issue 10, R-CT-2, R-TR-1, R-TR-8)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import test_contacts
from sqlalchemy import create_engine, insert, update
from whmcs_bridge.plugins.contacts.permissions import PERMISSIONS

from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import PanelTables

people_panel = test_contacts.people_panel
NO_MAIL = {
    f"{k}emails": 0 for k in ("general", "invoice", "product", "domain", "support", "affiliate")
}


def add(conn: Any, table: Any, **values: Any) -> None:
    conn.execute(insert(table).values(**blank_row(table, **values)))


def troubles(url: str, users: bool) -> None:
    """One case of every finding the model can have."""
    old = datetime.now().replace(microsecond=0) - timedelta(days=400)
    engine = create_engine(url)
    t = PanelTables.from_database(engine)
    with engine.begin() as conn:
        # Client 3 registered with Lucía's e-mail (another case): R-TR-1.
        add(
            conn,
            t.clients,
            id=3,
            firstname="Lucía",
            lastname="F.",
            country="AR",
            email=test_contacts.OWNER_EMAIL.upper(),
            currency=1,
            status="Active",
        )
        # Martín's account lists Lucía's e-mail as a contact: R-TR-8.
        add(
            conn,
            t.contacts,
            id=5,
            userid=2,
            firstname="Lu",
            email=test_contacts.OWNER_EMAIL,
            **NO_MAIL,
        )
        everything = ",".join(PERMISSIONS)
        if users:
            add(conn, t.users, id=4, first_name="Juan", last_name="Paz", email="juan@paz.example")
            # Every right, and so invoices without the invoice e-mails.
            add(
                conn,
                t.users_clients,
                id=30,
                auth_user_id=4,
                client_id=2,
                permissions=everything,
                created_at=datetime.now(),
            )
            # Invoice e-mails through a contact, without the invoices right.
            add(conn, t.users, id=8, first_name="Eva", last_name="Paz", email="eva@paz.example")
            add(
                conn,
                t.users_clients,
                id=31,
                auth_user_id=8,
                client_id=2,
                permissions="tickets",
                created_at=datetime.now(),
            )
            add(
                conn,
                t.contacts,
                id=6,
                userid=2,
                firstname="Eva",
                email="eva@paz.example",
                **{**NO_MAIL, "invoiceemails": 1},
            )
            # Lucía acts for three clients; Sofía has not logged in for more than a year.
            for link, client in ((32, 2), (33, 3)):
                add(
                    conn,
                    t.users_clients,
                    id=link,
                    auth_user_id=1,
                    client_id=client,
                    permissions="tickets",
                    created_at=datetime.now(),
                )
            conn.execute(
                update(t.users_clients).where(t.users_clients.c.id == 10).values(last_login=old)
            )
            # An invite a month old, never accepted; one of yesterday is not a finding yet.
            add(
                conn,
                t.user_invites,
                id=1,
                email="nadie@example.com",
                client_id=1,
                permissions="invoices",
                created_at=datetime.now() - timedelta(days=30),
            )
            add(
                conn,
                t.user_invites,
                id=2,
                email="pronto@example.com",
                client_id=1,
                permissions="invoices",
                created_at=datetime.now() - timedelta(days=1),
            )
        else:
            add(
                conn,
                t.contacts,
                id=6,
                userid=2,
                firstname="Juan",
                email="juan@paz.example",
                subaccount=1,
                permissions=everything,
                **NO_MAIL,
            )
            add(
                conn,
                t.contacts,
                id=7,
                userid=2,
                firstname="Eva",
                email="eva@paz.example",
                subaccount=1,
                permissions="tickets",
                **{**NO_MAIL, "invoiceemails": 1},
            )
    engine.dispose()


def test_audit_finds_each_kind_once_and_exits_for_cron(
    tmp_path: Path, people_panel: tuple[str, str, bool], capsys: pytest.CaptureFixture[str]
) -> None:
    _, url, users = people_panel
    config = test_contacts.write_config(tmp_path, url, extra="many_clients = 3\n")
    status, out, err = test_contacts.run(capsys, config, "audit")
    assert (status, out.strip()) == (0, "contacts audit: no findings"), err

    troubles(url, users)
    status, out, err = test_contacts.run(capsys, config, "audit", "--json")
    assert status == 1, err
    report = json.loads(out)
    found = [(f["code"], f["rule"], f["detail"]) for f in report["findings"]]
    email = test_contacts.OWNER_EMAIL
    expected = [
        ("email_shared_by_owners", "R-TR-1", f"{email} is the e-mail of clients 1, 3"),
        (
            "email_of_other_client",
            "R-TR-8",
            f"contact 5 of client 2 uses {email}, the e-mail of client 1",
        ),
    ]
    juan, eva = ("user:4", "user:8") if users else ("subaccount:6", "subaccount:7")
    expected += [
        ("all_rights", "R-CT-2", f"{juan} <juan@paz.example> on client 2 holds every right"),
        (
            "invoice_mail_without_right",
            "R-CT-2",
            f"{eva} <eva@paz.example> on client 2: invoice e-mails, no invoices right",
        ),
        (
            "invoice_right_without_mail",
            "R-CT-2",
            f"{juan} <juan@paz.example> on client 2: invoices right, no invoice e-mails",
        ),
    ]
    if users:
        expected += [
            ("many_clients", "R-TR-9", f"user 1 <{email}> acts for 3 clients"),
            (
                "stale_login",
                "R-CT-2",
                "user:3 <sofia@contadora.example.com.ar> on client 1: "
                f"last login {(datetime.now() - timedelta(days=400)):%d/%m/%Y}, still holds "
                "invoices,tickets",
            ),
            (
                "invite_not_accepted",
                "R-CT-2",
                "invite #1 of nadie@example.com to client 1, sent "
                f"{(datetime.now() - timedelta(days=30)):%d/%m/%Y}, never accepted",
            ),
        ]
    assert found == expected
    assert report["findings"][0]["people"] == [
        {"kind": "owner", "client_id": 1, "email": email},
        {"kind": "owner", "client_id": 3, "email": email},
    ]
    status, out, _ = test_contacts.run(capsys, config, "audit")
    assert status == 1 and out.startswith(f"contacts audit: {len(expected)} finding(s)\n")
    assert "  all_rights (R-CT-2): " in out
