"""The contacts plugin (issue 10, R-CT-1/R-CT-2) on every stock schema: the people of a client,
grant, revoke and invite through the WHMCS API stand-in, dry runs and refusals, Spanish labels.

The panel helper below is shared by ``test_contacts_events.py`` and ``test_contacts_audit.py``:
client 1 is Lucía Fernández's account. On 8.x her owner user, Sofía Pérez (user 3, link 10) who
may see and pay invoices and has a contact row (1) receiving invoice e-mails, and Pedro Gómez, a
mail-only contact (2) for general mail. On 7.x Sofía is sub-account contact 1 with the same
rights. Client 2 is Martín Ruiz's account.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select
from whmcs_bridge.plugins.contacts.changes import Change, apply
from whmcs_bridge.plugins.contacts.cli import list_report
from whmcs_bridge.plugins.contacts.permissions import PERMISSIONS, parse_keys
from whmcs_bridge.plugins.contacts.settings import load_settings

from whmcs_bridge.cli import main
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.testing.bridges import make_bridge

OWNER_EMAIL = "lucia@fernandez.example.com.ar"
SOFIA_EMAIL = "sofia@contadora.example.com.ar"


def add(conn: Any, tables: PanelTables, name: str, **values: Any) -> None:
    table = tables[name]
    conn.execute(
        insert(table).values(
            **blank_row(table, **{k: v for k, v in values.items() if k in table.c})
        )
    )


def seed_people(url: str, created: datetime | None = None) -> bool:
    """Fill the panel; returns True for the 8.x model (users), False for 7.x (sub-accounts).
    Links are made ``created`` (a month ago by default)."""
    created = created or datetime.now().replace(microsecond=0) - timedelta(days=30)
    engine = create_engine(url)
    tables = PanelTables.from_database(engine)
    users = tables.get("users") is not None
    with engine.begin() as conn:
        for cid, first, last, email, phone in (
            (1, "Lucía", "Fernández", OWNER_EMAIL, "+54.2944123456"),
            (2, "Martín", "Ruiz", "martin@ruiz.example.com", "+54.1145678901"),
        ):
            add(
                conn,
                tables,
                "clients",
                id=cid,
                firstname=first,
                lastname=last,
                email=email,
                country="AR",
                phonenumber=phone,
                currency=1,
                status="Active",
                language="spanish" if cid == 1 else "english",
            )
            if users:
                add(
                    conn,
                    tables,
                    "users",
                    id=cid,
                    first_name=first,
                    last_name=last,
                    email=email,
                    password="$2y$10$x",
                )
                add(
                    conn,
                    tables,
                    "users_clients",
                    auth_user_id=cid,
                    client_id=cid,
                    owner=1,
                    created_at=created,
                )
        prefs = {
            f"{k}emails": 0
            for k in ("general", "invoice", "product", "domain", "support", "affiliate")
        }
        if users:
            add(
                conn,
                tables,
                "users",
                id=3,
                first_name="Sofía",
                last_name="Pérez",
                email=SOFIA_EMAIL,
                password="$2y$10$y",
            )
            add(
                conn,
                tables,
                "users_clients",
                id=10,
                auth_user_id=3,
                client_id=1,
                owner=0,
                permissions="invoices,tickets",
                created_at=created,
            )
        # Sofía's contact row: mail only on 8.x, her sub-account login on 7.x.
        login = (
            {}
            if users
            else {"subaccount": 1, "password": "$2y$10$y", "permissions": "invoices,tickets"}
        )
        add(
            conn,
            tables,
            "contacts",
            id=1,
            userid=1,
            firstname="Sofía",
            lastname="Pérez",
            email=SOFIA_EMAIL,
            phonenumber="+54.3514000111",
            country="AR",
            **login,
            **{**prefs, "invoiceemails": 1},
        )
        add(
            conn,
            tables,
            "contacts",
            id=2,
            userid=1,
            firstname="Pedro",
            lastname="Gómez",
            email="pedro@gomez.example.com",
            phonenumber="+54.2944555666",
            country="AR",
            **{**prefs, "generalemails": 1},
        )
    engine.dispose()
    return users


# -- helpers ------------------------------------------------------------------------------------


def write_config(
    tmp_path: Path, url: str, sandbox: SandboxPanel | None = None, extra: str = ""
) -> Path:
    path = tmp_path / "bridge.toml"
    text = f'[panel]\ndatabase_url = "{url}"\n[plugins]\nenabled = ["contacts"]\n'
    if sandbox is not None:
        text += f'[api]\nurl = "{sandbox.url}"\nidentifier = "ident"\nsecret = "api-s3cret"\n'
    text += f"[plugins.contacts]\n{extra}"
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    """``whmcs-bridge --config FILE contacts ARGS`` in-process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        main(["--config", str(config), "contacts", *args])
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def rights_in_panel(url: str, users: bool) -> dict[int, str]:
    """Stored permission lists: link id -> CSV on 8.x, contact id -> CSV on 7.x sub-accounts."""
    engine = create_engine(url)
    tables = PanelTables.from_database(engine)
    with engine.connect() as conn:
        if users:
            t = tables.users_clients
            rows = conn.execute(select(t.c.id, t.c.permissions).where(t.c.owner == 0))
        else:
            t = tables.contacts
            rows = conn.execute(select(t.c.id, t.c.permissions).where(t.c.subaccount == 1))
        found = {int(r.id): str(r.permissions or "") for r in rows}
    engine.dispose()
    return found


@pytest.fixture
def people_panel(empty_panel: tuple[str, str]) -> tuple[str, str, bool]:
    kind, url = empty_panel
    users = seed_people(url)
    make_bridge(url).close()  # the bridge's own tables
    return kind, url, users


@pytest.fixture
def sandbox(people_panel: tuple[str, str, bool]) -> Iterator[SandboxPanel]:
    engine = create_engine(people_panel[1])
    with SandboxPanel(engine, identifier="ident", secret="api-s3cret") as panel:
        yield panel
    engine.dispose()


# -- list ----------------------------------------------------------------------------------------


def test_list_names_everyone_with_rights_and_mail(
    tmp_path: Path, people_panel: tuple[str, str, bool], capsys: pytest.CaptureFixture[str]
) -> None:
    _, url, users = people_panel
    bridge = make_bridge(url, config={"plugins": {"enabled": ["contacts"]}})
    report = list_report(bridge, 1)
    bridge.close()
    people = {p["key"]: p for p in report["people"]}
    sofia = "user:3" if users else "subaccount:1"
    owner = "owner:1"
    assert report["model"] == ("users" if users else "subaccounts")
    assert list(people) == [owner, sofia, *(["contact:1"] if users else []), "contact:2"]
    assert [r["key"] for r in people[owner]["permissions"]] == list(PERMISSIONS)
    assert people[sofia]["permissions"] == [
        {"key": "invoices", "label_es": "Ver & Pagar facturas", "label_en": "View & Pay Invoices"},
        {
            "key": "tickets",
            "label_es": "Ver & Abrir tickets de soporte",
            "label_en": "View & Open Support Tickets",
        },
    ]
    assert people[sofia]["email_preferences"]["invoice"] is True
    assert people[sofia]["email_preferences"]["general"] is False
    assert people["contact:2"]["permissions"] == []
    assert people["contact:2"]["email_preferences"]["general"] is True
    assert people[owner]["email_preferences"] == dict.fromkeys(
        ("general", "invoice", "product", "domain", "support", "affiliate"), True
    )

    config = write_config(tmp_path, url)
    status, out, err = run(capsys, config, "list", "--client", "1")
    assert status == 0, err
    assert f"{sofia}" in out and "Sofía Pérez <sofia@contadora.example.com.ar>" in out
    assert (
        "rights: invoices (Ver & Pagar facturas), tickets (Ver & Abrir tickets de soporte)" in out
    )
    assert "rights: all (the owner holds every right)" in out
    status, out, _ = run(capsys, config, "list", "--client", "1", "--json")
    assert status == 0 and json.loads(out)["people"][1]["key"] == sofia
    status, _, err = run(capsys, config, "list", "--client", "99")
    assert status == 1 and err.strip() == "error: client 99 is not in the panel"


# -- grant, revoke, invite through the API stand-in ---------------------------------------------


def test_grant_revoke_invite_on_each_model(
    tmp_path: Path,
    people_panel: tuple[str, str, bool],
    sandbox: SandboxPanel,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, url, users = people_panel
    config = write_config(tmp_path, url, sandbox)
    who = ["--user", "3"] if users else ["--contact", "1"]
    slot = 10 if users else 1
    action = "UpdateUserPermissions" if users else "UpdateContact"

    # --dry-run shows the call and makes none.
    status, out, err = run(
        capsys, config, "grant", "--client", "1", *who, "--preset", "technical", "--dry-run"
    )
    assert status == 0, err
    assert out.startswith(f"dry run: would call {action} ")
    assert "permissions=products,manageproducts,domains,managedomains,invoices,tickets" in out
    assert sandbox.calls == []
    assert rights_in_panel(url, users)[slot] == "invoices,tickets"

    status, out, err = run(capsys, config, "grant", "--client", "1", *who, "--preset", "technical")
    assert status == 0, err
    assert sandbox.calls == [action]
    assert rights_in_panel(url, users)[slot] == (
        "products,manageproducts,domains,managedomains,invoices,tickets"
    )
    assert "managedomains (Administrar Configuración de Dominio)" in out

    status, out, err = run(
        capsys,
        config,
        "revoke",
        "--client",
        "1",
        *who,
        "--permission",
        "managedomains,manageproducts",
        "--json",
    )
    assert status == 0, err
    answer = json.loads(out)
    assert answer["after"] == ["products", "domains", "invoices", "tickets"] and answer["done"]
    assert rights_in_panel(url, users)[slot] == "products,domains,invoices,tickets"

    # Granting what is held already calls nothing.
    status, out, _ = run(capsys, config, "grant", "--client", "1", *who, "--permission", "tickets")
    assert status == 0 and "nothing to change: already held" in out
    assert len(sandbox.calls) == 2

    # Invite: 8.x CreateClientInvite, 7.x AddContact as a sub-account; a dry run first, which
    # never shows the 7.x sub-account's password.
    calls = len(sandbox.calls)
    status, out, err = run(
        capsys,
        config,
        "invite",
        "--client",
        "1",
        "--email",
        "ana@estudio.example.com",
        "--preset",
        "support",
        "--dry-run",
        "--json",
    )
    assert status == 0, err
    planned = json.loads(out)
    assert planned["action"] == ("CreateClientInvite" if users else "AddContact")
    assert planned["params"]["permissions"] == "tickets" and not planned["done"]
    assert planned["params"].get("password2", "***") == "***"
    assert len(sandbox.calls) == calls
    status, out, err = run(
        capsys,
        config,
        "invite",
        "--client",
        "1",
        "--email",
        "ana@estudio.example.com",
        "--preset",
        "support",
        "--first-name",
        "Ana",
    )
    assert status == 0, err
    engine = create_engine(url)
    tables = PanelTables.from_database(engine)
    with engine.connect() as conn:
        if users:
            invite = conn.execute(select(tables.user_invites)).one()
            assert (invite.email, invite.client_id, invite.permissions) == (
                "ana@estudio.example.com",
                1,
                "tickets",
            )
            assert sandbox.calls[-1] == "CreateClientInvite"
        else:
            t = tables.contacts
            row = conn.execute(select(t).where(t.c.email == "ana@estudio.example.com")).one()
            assert (row.userid, bool(row.subaccount), row.permissions, row.firstname) == (
                1,
                True,
                "tickets",
                "Ana",
            )
            assert row.password and "ana" not in row.password
            assert sandbox.calls[-1] == "AddContact"
    engine.dispose()
    # The same address twice is refused before any call.
    calls = len(sandbox.calls)
    status, _, err = run(
        capsys,
        config,
        "invite",
        "--client",
        "1",
        "--email",
        "ana@estudio.example.com",
        "--preset",
        "support",
    )
    assert status == 1 and len(sandbox.calls) == calls
    assert err.count("\n") == 1 and "ana@estudio.example.com" in err


def test_refusals_are_one_clear_line(
    tmp_path: Path,
    people_panel: tuple[str, str, bool],
    sandbox: SandboxPanel,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, url, users = people_panel
    config = write_config(tmp_path, url, sandbox)
    owner = ["--user", "1"] if users else ["--contact", "1"]

    def refused(*args: str) -> str:
        status, out, err = run(capsys, config, *args)
        assert status == 1, out
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err
        return err.strip()

    valid = "valid keys: " + ", ".join(PERMISSIONS)
    err = refused("grant", "--client", "1", "--user", "3", "--permission", "invoice,foo")
    assert err == f"error: unknown permission 'invoice', 'foo'; {valid}"
    err = refused("grant", "--client", "1", "--user", "3", "--preset", "boss")
    assert "unknown preset 'boss'; valid presets: billing, support, technical, all" in err
    if users:
        err = refused("grant", "--client", "1", *owner, "--permission", "invoices")
        assert "is the owner of client 1" in err and "cannot be changed" in err
        err = refused("grant", "--client", "1", "--contact", "2", "--permission", "invoices")
        assert "on WHMCS 8 a contact only receives e-mail" in err
        err = refused("revoke", "--client", "1", "--user", "3", "--permission", "invoices,tickets")
        assert "leaves none" in err and "Users tab" in err
    else:
        err = refused("grant", "--client", "1", "--user", "3", "--permission", "invoices")
        assert err == "error: WHMCS 7 has no users: name the sub-account with --contact ID"
        err = refused("grant", "--client", "1", "--contact", "2", "--permission", "invoices")
        assert "contact 2 is not a sub-account" in err
        # WHMCS 7 refuses a sub-account whose e-mail another client uses.
        err = refused(
            "invite", "--client", "1", "--email", "martin@ruiz.example.com", "--preset", "billing"
        )
        assert err == "error: WHMCS refused AddContact: Duplicate Email Address"
    err = refused("invite", "--client", "1", "--email", "not-an-address", "--preset", "billing")
    assert err == "error: 'not-an-address' is not an e-mail address"
    assert sandbox.calls == ([] if users else ["AddContact"])

    # What WHMCS itself refuses is shown as WHMCS says it, in one line.
    bridge = make_bridge(
        url, config={"api": {"url": sandbox.url, "identifier": "ident", "secret": "api-s3cret"}}
    )
    if users:
        change = Change(
            1,
            "UpdateUserPermissions",
            {"user_id": 1, "client_id": 1, "permissions": "invoices"},
            "owner:1",
        )
        message = "WHMCS refused UpdateUserPermissions: Permissions cannot be set on a client owner"
    else:
        change = Change(
            1,
            "CreateClientInvite",
            {"client_id": 1, "email": "x@y.com", "permissions": "invoices"},
            "x@y.com",
        )
        message = "WHMCS refused CreateClientInvite: Command Not Found"
    with pytest.raises(BridgeError) as caught:
        apply(bridge, change)
    assert str(caught.value) == message
    # The stand-in's other documented answers (whmcs.md §3.2, §3.5).
    assert bridge.api.call("GetPermissionsList")["permissions"]["permission"] == list(PERMISSIONS)
    added = bridge.api.call(
        "AddContact", {"clientid": 2, "email": "x@ruiz.example.com", "subaccount": 1}
    )
    assert added.get("warning", "").startswith("Sub Accounts are no longer supported") == users
    if users:
        with pytest.raises(BridgeError, match="You cannot remove the account owner"):
            bridge.api.call("DeleteUserClient", {"user_id": 1, "client_id": 1})
        bridge.api.call("DeleteUserClient", {"user_id": 3, "client_id": 1})
        assert rights_in_panel(url, users) == {}
    bridge.close()


def test_keys_presets_and_settings() -> None:
    assert parse_keys("tickets, INVOICES", "billing") == ("invoices", "quotes", "tickets")
    with pytest.raises(BridgeError, match="name at least one right"):
        parse_keys("", None)
    assert load_settings({}).notify_rights == (
        "profile",
        "contacts",
        "managedomains",
        "invoices",
        "emails",
        "orders",
    )
    settings = load_settings({"notify_rights": ["orders", "invoices"], "channels": ["email"]})
    assert settings.notify_rights == ("invoices", "orders")
    for section, message in (
        ({"notify_rights": ["invoice"]}, "plugins.contacts.notify_rights: unknown 'invoice'"),
        ({"whatsapp_template": "Bad Name"}, "plugins.contacts.whatsapp_template:"),
        ({"stale_login_days": 0}, "plugins.contacts.stale_login_days: expected a whole number"),
        ({"notify": True}, "plugins.contacts.notify: unknown key"),
    ):
        with pytest.raises(ValueError, match=message):
            load_settings(section)
