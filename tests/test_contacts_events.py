"""Contacts events on every stock schema: a login linked, changed, unlinked is news once; the
owner hears about new access and sensitive rights in Spanish or English; alert recipients come
with their role and the holder's name (issue 10, R-CT-2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import test_contacts
from sqlalchemy import create_engine, delete, insert, select
from whmcs_bridge.plugins.contacts.notice import Gain, gain_of
from whmcs_bridge.plugins.contacts.recipients import alert_recipients
from whmcs_bridge.plugins.contacts.settings import ContactSettings

from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.events.model import Event
from whmcs_bridge.events.store import list_events
from whmcs_bridge.outbox.tables import outbox
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.sandbox.whatsapp_standin import WhatsAppStandIn
from whmcs_bridge.testing.bridges import make_bridge

# The panel and the API stand-in of test_contacts.py, as fixtures here too.
people_panel = test_contacts.people_panel
sandbox = test_contacts.sandbox

CONFIG = {
    "panel": {"system_url": "https://clientes.example.com.ar/"},
    "plugins": {"enabled": ["contacts"]},
    "outbox": {"min_interval_per_recipient": 0},
}


def bridge_for(
    url: str, sandbox: SandboxPanel | None = None, whatsapp: WhatsAppStandIn | None = None
) -> Any:
    config: dict[str, Any] = {k: dict(v) for k, v in CONFIG.items()}
    if sandbox is not None:
        config["api"] = {"url": sandbox.url, "identifier": "ident", "secret": "api-s3cret"}
    if whatsapp is not None:
        config["channels"] = {
            "whatsapp": {
                "api_base": whatsapp.base_url,
                "version": "v21.0",
                "phone_number_id": whatsapp.phone_number_id,
                "token": whatsapp.token,
            }
        }
    return make_bridge(url, config=config)


def queued(bridge: Any, after: int) -> list[dict[str, Any]]:
    """Outbox rows above id ``after``: channel, recipient, the message and its fallback."""
    with bridge.panel.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.id > after).order_by(outbox.c.id))
        return [
            {
                "id": r.id,
                "channel": r.channel,
                "recipient": r.recipient,
                "message": json.loads(r.message),
                "fallback": json.loads(r.fallback) if r.fallback else None,
            }
            for r in rows
        ]


def new_events(bridge: Any, seen: set[str]) -> list[Event]:
    with bridge.panel.connect() as conn:
        found = [e for e, _ in list_events(conn, limit=200) if e.key not in seen]
    seen.update(e.key for e in found)
    return sorted(found, key=lambda e: e.id or 0)


def panel_write(url: str, fn: Any) -> None:
    engine = create_engine(url)
    tables = PanelTables.from_database(engine)
    with engine.begin() as conn:
        fn(conn, tables)
    engine.dispose()


def outcome(bridge: Any, event: Event) -> str:
    with bridge.panel.connect() as conn:
        for found, outcomes in list_events(conn, limit=200):
            if found.id == event.id:
                return " / ".join(str(o["detail"]) for o in outcomes if o["plugin"] == "contacts")
    return ""


@pytest.fixture
def cycles(
    people_panel: tuple[str, str, bool], sandbox: SandboxPanel
) -> Iterator[tuple[Any, bool, Any]]:
    _, url, users = people_panel
    with WhatsAppStandIn() as whatsapp:
        bridge = bridge_for(url, sandbox, whatsapp)
        seen: set[str] = set()
        first = run_cycle(bridge)
        assert first.ok, first.errors
        new_events(bridge, seen)  # the baseline emits nothing of ours
        last = [0]

        def cycle() -> tuple[list[Event], list[dict[str, Any]]]:
            report = run_cycle(bridge)
            assert report.ok, report.errors
            rows = queued(bridge, last[0])
            last[0] = max([last[0], *(r["id"] for r in rows)])
            return new_events(bridge, seen), rows

        yield bridge, users, cycle
        bridge.close()


def test_links_and_subaccounts_are_news_once_and_the_owner_is_told(
    people_panel: tuple[str, str, bool], cycles: tuple[Any, bool, Any]
) -> None:
    _, url, _ = people_panel
    bridge, users, cycle = cycles
    who = ("user:3" if users else "subaccount:1", "Sofía Pérez")

    # A sensitive right gained through the API: one event, one notice in Spanish.
    if users:
        bridge.api.call(
            "UpdateUserPermissions",
            {"user_id": 3, "client_id": 1, "permissions": "profile,invoices,tickets"},
        )
    else:
        bridge.api.call(
            "UpdateContact", {"contactid": 1, "permissions": "profile,invoices,tickets"}
        )
    events, sent = cycle()
    assert [(e.name, e.subject_id, e.client_id) for e in events] == [
        ("user.permissions_changed", 10 if users else 1, 1)
    ]
    assert events[0].data["after"] == "invoices,profile,tickets"
    [row] = sent
    notice = row["message"]
    assert (row["channel"], row["recipient"]) == ("whatsapp", "+5492944123456")  # mobile 9 added
    assert row["fallback"]["channel"] == "email" and row["fallback"]["recipient"] == "1"
    assert row["fallback"]["message"]["subject"] == "Alerta de seguridad: nuevo acceso a tu cuenta"
    assert notice["language"] == "es_AR" and notice["template"] == "alerta_acceso_cuenta"
    assert notice["text"] == (
        "Hola Lucía, te avisamos que Sofía Pérez (sofia@contadora.example.com.ar) recibió nuevos "
        "permisos en tu cuenta con estos permisos: Modificar el perfil de la cuenta principal.\n"
        "Si lo autorizaste vos, no tenés que hacer nada. Si no lo reconocés, cambiá tu "
        "contraseña, revisá los usuarios de tu cuenta en https://clientes.example.com.ar/ y "
        "escribinos de inmediato."
    )
    assert notice["params"] == [
        "Lucía",
        "Sofía Pérez",
        "Modificar el perfil de la cuenta principal",
    ]
    assert f"owner of client 1 told about {who[0]}: 1 queued" in outcome(bridge, events[0])
    assert cycle() == ([], [])  # each change once

    # Losing a right, or gaining one the owner is not told about, is an event, no notice.
    if users:
        bridge.api.call(
            "UpdateUserPermissions",
            {"user_id": 3, "client_id": 1, "permissions": "invoices,tickets,quotes"},
        )
    else:
        bridge.api.call("UpdateContact", {"contactid": 1, "permissions": "invoices,tickets,quotes"})
    events, sent = cycle()
    assert [e.name for e in events] == ["user.permissions_changed"] and sent == []
    assert "gained no right the owner is told about" in outcome(bridge, events[0])

    if users:
        # A user linked to a client (new access) is told in the owner's language: English.
        panel_write(
            url,
            lambda conn, t: conn.execute(
                insert(t.users_clients).values(
                    **blank_row(
                        t.users_clients, id=20, auth_user_id=1, client_id=2, permissions="tickets"
                    )
                )
            ),
        )
        events, sent = cycle()
        assert [(e.name, e.subject_id, e.data["change"]) for e in events] == [
            ("user.permissions_changed", 20, "linked")
        ]
        [row] = sent
        assert row["message"]["language"] == "en" and row["recipient"] == "+5491145678901"
        assert row["message"]["params"] == [
            "Martín",
            "Lucía Fernández",
            "View & Open Support Tickets",
        ]
        assert row["message"]["text"].startswith(
            "Hi Martín, Lucía Fernández (lucia@fernandez.example.com.ar) can now log in to your "
            "account with these rights: View & Open Support Tickets.\n"
        )
        # Unlinked: news, no notice.
        panel_write(
            url,
            lambda conn, t: conn.execute(delete(t.users_clients).where(t.users_clients.c.id == 20)),
        )
        events, sent = cycle()
        assert [(e.subject_id, e.data["change"]) for e in events] == [(20, "unlinked")]
        assert sent == []

        # Joining through the owner's own invite: the panel says the owner did it.
        def accepted(conn: Any, t: Any) -> None:
            conn.execute(
                insert(t.users).values(
                    **blank_row(
                        t.users, id=7, first_name="Ana", last_name="Sosa", email="ana@example.com"
                    )
                )
            )
            conn.execute(
                insert(t.user_invites).values(
                    **blank_row(
                        t.user_invites,
                        id=5,
                        email="ana@example.com",
                        client_id=1,
                        invited_by=1,
                        invited_by_admin=0,
                        permissions="invoices",
                    )
                )
            )
            conn.execute(
                insert(t.users_clients).values(
                    **blank_row(
                        t.users_clients,
                        id=21,
                        auth_user_id=7,
                        client_id=1,
                        invite_id=5,
                        permissions="invoices",
                    )
                )
            )

        panel_write(url, accepted)
        events, sent = cycle()
        assert [e.data["change"] for e in events] == ["linked"] and sent == []
        assert "owner's own invite: owner not told" in outcome(bridge, events[0])
    else:
        # WHMCS 7: a new sub-account is new access (AddContact fires ContactAdd: one event).
        bridge.api.call(
            "AddContact",
            {
                "clientid": 1,
                "firstname": "Ana",
                "email": "ana@example.com",
                "subaccount": 1,
                "password2": "x-secret-x",
                "permissions": "tickets",
            },
        )
        events, sent = cycle()
        assert [e.name for e in events] == ["contact.added"]
        [row] = sent
        assert row["message"]["params"] == ["Lucía", "Ana", "Ver & Abrir tickets de soporte"]
        assert (
            "Ana (ana@example.com) ahora puede ingresar a tu cuenta con estos permisos: "
            "Ver & Abrir tickets de soporte." in row["message"]["text"]
        )


def test_alert_recipients_by_email_preference_with_role_and_holder(
    people_panel: tuple[str, str, bool],
) -> None:
    url = people_panel[1]
    bridge = bridge_for(url)
    settings = ContactSettings()

    def about(subject_type: str) -> list[tuple[str, str, str, str]]:
        event = Event(
            key="k",
            name="x",
            subject_type=subject_type,
            subject_id=1,
            occurred_at=None,
            source="hook",
            client_id=1,
        )  # type: ignore[arg-type]
        return [
            (r.key, r.role, r.first_name, r.account_name)
            for r in alert_recipients(bridge, event, 1, settings)
        ]

    sofia = ("contact:1", "user", "Sofía", "Lucía Fernández")
    assert about("invoice") == [sofia]
    assert about("client") == [("contact:2", "contact", "Pedro", "Lucía Fernández")]
    assert about("service") == []
    password = Event(
        key="k",
        name="client.password_changed",
        subject_type="client",
        subject_id=1,
        occurred_at=None,  # type: ignore[arg-type]
        source="hook",
        client_id=1,
    )
    assert alert_recipients(bridge, password, 1, settings) == []  # the holder's alone
    [person] = alert_recipients(
        bridge,
        Event(
            key="k",
            name="invoice.created",
            subject_type="invoice",
            subject_id=1,
            occurred_at=None,
            source="hook",
            client_id=1,
        ),  # type: ignore[arg-type]
        1,
        settings,
    )
    assert person.phone == "+5493514000111" and person.language == "es_AR"
    assert person.email == "sofia@contadora.example.com.ar"
    off = ContactSettings(alert_recipients=False)
    assert (
        alert_recipients(
            bridge,
            Event(
                key="k",
                name="x",
                subject_type="invoice",
                subject_id=1,
                occurred_at=None,
                source="hook",
            ),  # type: ignore[arg-type]
            1,
            off,
        )
        == []
    )
    bridge.close()


def test_what_an_event_says_was_gained() -> None:
    def event(**data: Any) -> Event:
        return Event(
            key="k",
            name="user.permissions_changed",
            subject_type="user",
            subject_id=10,
            occurred_at=None,  # type: ignore[arg-type]
            source="watcher",
            client_id=1,
            data=data,
        )

    link = {"user_id": 3, "client_id": 1}
    assert gain_of(event(**link, before="invoices", after="invoices,profile")) == Gain(
        1, "user:3", False, ("profile",)
    )
    linked = gain_of(event(**link, before="-", after="tickets", change="linked"))
    assert linked == Gain(1, "user:3", True, ("tickets",))
    assert gain_of(event(**link, before="tickets", after="-", change="unlinked")) is None
    assert gain_of(event(**link, before="tickets", after="*")) is None  # made the owner by staff
    assert gain_of(event(contact_id=4, before="-", after="tickets")) == Gain(
        1, "subaccount:4", True, ("tickets",)
    )
