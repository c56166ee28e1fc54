"""The staff page's Contactos tab (issue 16): the kept ``contacts audit``, worst findings first,
each row linked to the client, rendered by the addon module under php-cli against ``serve`` on
the sample panel; the cycle audits at most once an hour; "Auditar ahora" by an admin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, insert, select
from whmcs_bridge.plugins.contacts.audit import CODES
from whmcs_bridge.plugins.contacts.audit_store import KEPT_AUDITS, audits, run_and_keep, run_if_due
from whmcs_bridge.plugins.contacts.settings import ContactSettings
from whmcs_bridge.plugins.contacts.staff import SEVERITY, TITLES, contacts_tab

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import PanelTables, metadata
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.sandbox.audit_cases import NO_MAIL, add_audit_cases
from whmcs_bridge.sandbox.staff_screenshots import dump_dom, save_page
from whmcs_bridge.testing.bridges import FixedClock, make_bridge, sqlite_panel, utc
from whmcs_bridge.testing.mariadb import SchemaPool
from whmcs_bridge.testing.staff import action_form, page_text, render_staff_page, serving

SECRET = "staff-contactos-s3cret"
ENGLISH = {"id": 2, "firstname": "John", "lastname": "Doe", "username": "john",
           "language": "english"}  # fmt: skip


@pytest.fixture
def bridge(demo_panel: str) -> Iterator[Bridge]:
    add_audit_cases(demo_panel)
    with SandboxPanel(create_engine(demo_panel), identifier="ident", secret="api") as sandbox:
        config: dict[str, Any] = {
            "plugins": {"enabled": ["contacts"]},
            "serve": {"wake_secret": SECRET},
            "api": {"url": sandbox.url, "identifier": "ident", "secret": "api"},
        }
        made = make_bridge(demo_panel, config=config, now=utc(2026, 12, 4, 16, 0))
        yield made
        made.close()


def test_every_code_has_a_place_words_and_a_rule() -> None:
    assert [code for code, _ in SEVERITY] != list(CODES)  # worst first, not the audit's order
    assert sorted(code for code, _ in SEVERITY) == sorted(CODES) == sorted(TITLES)


def test_findings_worst_first_linked_to_clients_and_audit_now(bridge: Bridge) -> None:
    with serving(bridge) as url:
        page = render_staff_page(url, SECRET, tab="contactos")
        text = page_text(page)
        assert "Contactos 4" in text  # the tab and its badge: four findings
        assert "Auditoría del 04/12/2026 13:00 (tardó" in text
        # Worst first: a contact with another holder's e-mail, then two holders sharing one.
        titles = [
            "Un contacto usa el e-mail del titular de otro cliente · R-TR-8 (1)",
            "Dos clientes con el mismo e-mail de titular · R-TR-1 (1)",
            "Un acceso que no es el titular tiene todos los permisos · R-CT-2 (1)",
            "Puede ver las facturas en el panel pero no las recibe por e-mail · R-CT-2 (1)",
        ]
        assert [text.index(t) for t in titles] == sorted(text.index(t) for t in titles)
        assert (
            '<a href="clientssummary.php?userid=6">#6 Lucía Martínez</a></td><td>titular de #3 '
            "&lt;lucia@laespiga.example.com.ar&gt;; titular de #6" in page
        )
        assert "lucia@laespiga.example.com.ar es también el e-mail del titular de #3" in text
        assert 'href="clientssummary.php?userid=4">#4 Carlos Rodríguez' in page
        assert "el contacto #" in text and "el e-mail del titular de #1" in text
        assert "usuario #7 Diego Sosa <diego@sosa.example.com.ar> tiene los 13 permisos" in text
        assert "tiene el permiso «Ver & Pagar facturas» y no recibe las facturas" in text
        assert '<tr class="danger"><td><a href="clientssummary.php?userid=5">' in page

        english = page_text(render_staff_page(url, SECRET, tab="contactos", admin=ENGLISH))
        assert "Contacts 4" in english and "Audit of 04/12/2026 13:00 (took" in english
        assert "Two clients whose holders share one e-mail · R-TR-1 (1)" in english
        assert "holds the right “View & Pay Invoices” and receives no invoice e-mails" in english

        # The kept audit is shown: a new finding waits for the next audit.
        contacts = metadata.tables["tblcontacts"]
        with bridge.panel.begin() as conn:
            conn.execute(
                insert(contacts).values(
                    **blank_row(contacts, userid=2, firstname="E", country="AR",
                                email="emily@carterdesign.example.com", **NO_MAIL)
                )
            )  # fmt: skip
        assert "Contactos 4" in page_text(render_staff_page(url, SECRET, tab="contactos"))
        post = action_form(page, "contacts.audit_now")
        done = page_text(render_staff_page(url, SECRET, tab="contactos", post=post))
        assert "Hecho: auditoría de contactos: 5 hallazgo(s), tardó" in done
        assert "Contactos 5" in done and "· R-TR-8 (2)" in done
        assert "Ana Gómez (admin #1)" in done  # who ran it, on the tab
        again = page_text(render_staff_page(url, SECRET, tab="contactos", post=post))
        assert "No se hizo: cambió desde que se mostró la página" in again
        assert "ya hay una auditoría más nueva, del 04/12/2026 13:00" in again

    with bridge.panel.connect() as conn:
        log = metadata.tables["tblactivitylog"]
        lines = conn.execute(select(log.c.description)).scalars().all()
    assert any("contacts audit run (5 findings) (by Ana Gómez (admin #1)" in line for line in lines)


def test_the_cycle_audits_at_most_once_an_hour(bridge: Bridge) -> None:
    settings = ContactSettings()
    assert isinstance(bridge.clock, FixedClock)
    summary = run_if_due(bridge, settings)
    assert summary is not None and summary.startswith("contacts audit: 4 finding(s) in ")
    assert "email_shared_by_owners 1" in summary
    bridge.clock.advance(minutes=59)
    assert run_if_due(bridge, settings) is None
    tab = contacts_tab(bridge, "es", settings)  # the kept one, not a new run
    assert tab.summary.startswith("Auditoría del 04/12/2026 13:00 (tardó")
    assert tab.sections[-1].rows[0].cells[3] == "el ciclo (cada hora)"
    for _ in range(KEPT_AUDITS + 1):
        bridge.clock.advance(minutes=61)
        assert run_if_due(bridge, settings) is not None
    with bridge.panel.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audits)).scalar() == KEPT_AUDITS
    assert contacts_tab(bridge, "en", settings).summary.startswith("Audit of 04/12/2026 18:03")


@pytest.fixture(params=["sqlite", pytest.param("8.4", marks=pytest.mark.mariadb)])
def stock_panel(
    request: pytest.FixtureRequest, tmp_path: Path, whmcs_databases: SchemaPool
) -> Iterator[tuple[str, str]]:
    """(kind, url): an empty SQLite panel, and MariaDB with the stock WHMCS 8.4 schema."""
    if request.param == "sqlite":
        yield "sqlite", sqlite_panel(tmp_path / "panel.sqlite", seed=False)
        return
    url = whmcs_databases.take(request.param)
    yield request.param, url
    whmcs_databases.give_back(url)


def test_no_findings_then_one(stock_panel: tuple[str, str]) -> None:
    """The plugin's table on SQLite and MariaDB: an audit with nothing found, then one."""
    kind, url = stock_panel
    made = make_bridge(url, config={"plugins": {"enabled": ["contacts"]}})
    try:
        tab = contacts_tab(made, "es", ContactSettings())
        assert tab.badge == 0 and tab.sections[0].empty.startswith("Sin hallazgos")
        tables = PanelTables.from_database(made.panel.engine)
        with made.panel.begin() as conn:
            for cid in (1, 2):
                conn.execute(
                    insert(tables.clients).values(
                        **blank_row(tables.clients, id=cid, firstname="Ñandú", lastname=str(cid),
                                    email="misma@example.com", country="AR", currency=1,
                                    status="Active")
                    )
                )  # fmt: skip
        assert run_and_keep(made, ContactSettings(), "cycle").total == 1  # not due yet: now
        tab = contacts_tab(made, "es", ContactSettings())
        assert tab.badge == 1, kind
        row = tab.sections[0].rows[0]
        assert (row.link, row.cells[0]) == ("clientssummary.php?userid=2", "#2 Ñandú 2")
    finally:
        made.close()


def test_chromium_shows_the_contactos_tab(bridge: Bridge, tmp_path: Path) -> None:
    with serving(bridge) as url:
        page = render_staff_page(url, SECRET, tab="contactos")
    dom = dump_dom(save_page(tmp_path, "contactos", page), tmp_path / "profile")
    text = page_text(dom)
    assert "Addons > whmcs-bridge" in text and "Contactos 4" in text, text[:300]
    assert "Dos clientes con el mismo e-mail de titular · R-TR-1 (1)" in text
    assert 'href="clientssummary.php?userid=6"' in dom
    assert "Auditar ahora" in text
