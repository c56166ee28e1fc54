"""The Bajas tab of the staff page (issue 16): cancellation requests by state on the sample panel,
rendered by the addon module under php-cli against a running ``serve``, with Confirmar (R-CA-6),
Hecho (R-CA-5) and Anular pressed through the page, a request that changed since the page was
drawn refused, and headless chromium showing the tab."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from whmcs_bridge.plugins.cancellations import intake
from whmcs_bridge.plugins.cancellations.tables import cancellations as cancel_t

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.panel.queries.cancellations import service_cancel_request
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.sandbox.actions_cancellations import client_area_cancel
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.sandbox.staff_screenshots import dump_dom, save_page
from whmcs_bridge.testing.bridges import make_bridge, utc
from whmcs_bridge.testing.staff import (
    action_form,
    page_text,
    render_staff_page,
    sandboxed_bridge,
    serving,
)

SECRET = "bajas-s3cret"
ZONE = "America/Argentina/Buenos_Aires"
TODAY = date(2026, 12, 4)
NOW = utc(2026, 12, 4, 13, 0)  # 10:00 in Buenos Aires
SEEDED = date(2026, 11, 26)  # the demo_panel fixture's sample day
MARIA_ENDS = SEEDED + timedelta(days=180)  # service 1's next due date (seed: 6 months of 30 days)
ENGLISH = {"id": 2, "firstname": "John", "lastname": "Doe", "username": "john",
           "language": "english"}  # fmt: skip


def bridge_over(url: str, now: datetime) -> AbstractContextManager[Bridge]:
    """A bridge with the cancellations plugin, ``serve``'s secret and the sandbox API over
    ``url`` (``bridge.sandbox``), on a fixed clock."""
    plugins = {
        "enabled": ["cancellations"],
        "cancellations": {"technical_department": "Soporte Técnico"},
    }
    return sandboxed_bridge(url, now, plugins, SECRET, ZONE)


@pytest.fixture
def bridge(demo_panel: str) -> Iterator[Bridge]:
    with bridge_over(demo_panel, NOW) as made:
        yield made


def requests_in_every_state(bridge: Bridge) -> None:
    """María's End of Billing Period request waits for her due date; Juan Pablo's, made through
    the API, is held (R-CA-6); Emily's Immediate one is done; Carlos's VPS (no module) is manual
    with a ticket (R-CA-5); Lucía's terminate was refused (failed)."""
    sandbox: SandboxPanel = bridge.sandbox  # type: ignore[attr-defined]
    tables = bridge.panel.tables
    run_cycle(bridge)  # the watchers' baseline
    when = datetime(2026, 12, 4, 9, 30)
    with sandbox.engine.begin() as conn:
        conn.execute(
            insert(tables.hosting).values(
                blank_row(
                    tables.hosting, id=8, userid=4, packageid=4, domain="vps.crodriguez.com.ar",
                    domainstatus="Active", billingcycle="Monthly", amount=110,
                    nextduedate=TODAY + timedelta(days=20), regdate=SEEDED, paymentmethod="mp",
                )
            )
        )  # fmt: skip
        client_area_cancel(conn, sandbox.tables, 1, "End of Billing Period", "Me mudo", when)
        client_area_cancel(conn, sandbox.tables, 6, "Immediate", "Cierro el estudio", when)
        client_area_cancel(conn, sandbox.tables, 8, "Immediate", "Ya no uso el VPS", when)
    bridge.api.add_cancel_request(2, type="Immediate", reason="pedido por teléfono")
    assert run_cycle(bridge).ok
    with sandbox.engine.begin() as conn:
        client_area_cancel(conn, sandbox.tables, 3, "Immediate", "Cierro la panadería", when)
    with bridge.panel.connect() as conn:
        request = service_cancel_request(conn, tables, 3)
    row, _created = intake.take_in(bridge, request, "clientarea")
    with bridge.panel.begin() as conn:
        conn.execute(
            update(cancel_t)
            .where(cancel_t.c.id == row.id)
            .values(state="failed", note="ModuleTerminate refused: Unable to connect to server")
        )
    states = {r.service_id: r.state for r in rows(bridge)}
    assert states == {1: "waiting", 2: "confirm", 3: "failed", 6: "done", 8: "manual"}


def rows(bridge: Bridge) -> list[Any]:
    with bridge.panel.connect() as conn:
        return conn.execute(select(cancel_t).order_by(cancel_t.c.id)).all()


def row_of(bridge: Bridge, service_id: int) -> Any:
    return next(r for r in rows(bridge) if r.service_id == service_id)


def activity(bridge: Bridge) -> list[str]:
    with bridge.panel.connect() as conn:
        log = bridge.panel.tables.activitylog
        return list(conn.execute(select(log.c.description).order_by(log.c.id)).scalars())


def form_for(page: str, action: str, row_id: int) -> dict[str, str]:
    """The form of ``action`` on the row of request ``row_id``."""
    for index in range(page.count(f'value="{action}"')):
        form = action_form(page, action, index)
        if json.loads(form["wb_params"]) == {"id": row_id}:
            return form
    raise AssertionError(f"no {action} for request #{row_id}")


def section(text: str, title: str, following: str) -> str:
    """The text of one section of the tab: from its title to the next one's."""
    match = re.search(re.escape(title) + "(.*?)" + re.escape(following), text)
    assert match, f"{title!r} then {following!r} not in {text[:2000]}"
    return match.group(1)


def test_bajas_tab_by_state_and_each_button(bridge: Bridge, tmp_path: Path) -> None:
    requests_in_every_state(bridge)
    juan, maria, carlos = row_of(bridge, 2), row_of(bridge, 1), row_of(bridge, 8)
    with serving(bridge) as url:
        page = render_staff_page(url, SECRET, tab="bajas")
        text = page_text(page)
        assert "Bajas 3" in text  # held, manual and failed wait for staff
        assert "Por confirmar: 1; a mano: 1; fallidas: 1; programadas: 1" in text
        titles = ["Por confirmar", "Para hacer a mano", "Fallidas", "Sin respuesta de WHMCS",
                  "Programadas", "Hechas o anuladas"]  # fmt: skip
        assert [text.index(t) for t in titles] == sorted(text.index(t) for t in titles)
        held = section(text, "Por confirmar", "Para hacer a mano")
        assert "Hosting Avanzado (estudiofernandez.com.ar) Juan Pablo Fernández Inmediata" in held
        assert "el día que se confirme espera confirmación del personal" in held
        assert "Motivo del cliente: pedido por teléfono — pedida por: la API de WHMCS" in held
        assert "Confirmar" in held and "Anular" in held and "Hecho" not in held
        manual = section(text, "Para hacer a mano", "Fallidas")
        assert (
            "VPS Administrado (vps.crodriguez.com.ar) Carlos Rodríguez Inmediata 04/12/2026"
            in manual
        )
        assert "a mano: borrar la cuenta y marcarla hecha" in manual and "Hecho" in manual
        assert "Anular" not in manual
        failed = section(text, "Fallidas", "Sin respuesta de WHMCS")
        assert "Lucía Martínez" in failed and "Unable to connect to server" in failed
        scheduled = section(text, "Programadas", "Hechas o anuladas")
        assert (
            f"María González Fin del período facturado {MARIA_ENDS:%d/%m/%Y} programada"
            in scheduled
        )
        assert MARIA_ENDS.isoformat() not in text
        recent = text.split("Hechas o anuladas", 1)[1]
        assert "Emily Carter Inmediata 04/12/2026 hecha" in recent
        assert 'href="clientsservices.php?userid=2&amp;id=2"' in page
        assert 'title="whmcs-bridge cancellations confirm --id ' in page
        assert f'title="whmcs-bridge cancellations done --service {carlos.service_id}"' in page

        english = page_text(render_staff_page(url, SECRET, tab="bajas", admin=ENGLISH))
        assert "Cancellations 3" in english and "To confirm" in english
        assert "awaiting staff confirmation" in english and "End of billing period" in english

        # Confirmar (R-CA-6): Immediate, so it ends the day it is confirmed.
        confirm = action_form(page, "cancellations.confirm")
        void_held = form_for(page, "cancellations.void", juan.id)
        done = page_text(render_staff_page(url, SECRET, tab="bajas", post=confirm))
        assert f"Hecho: baja #{juan.id} confirmada: el servicio se da de baja hoy" in done
        after = row_of(bridge, 2)
        assert after.state == "due" and after.end_date == TODAY
        assert after.note == "confirmed by Ana Gómez (admin #1)"
        # The same form again, and the Anular drawn before it was confirmed: refused.
        again = page_text(render_staff_page(url, SECRET, tab="bajas", post=confirm))
        assert "No se hizo: cambió desde que se mostró la página" in again
        assert f"la baja #{juan.id} ahora está: se hace en el próximo ciclo" in again
        stale = page_text(render_staff_page(url, SECRET, tab="bajas", post=void_held))
        assert "No se hizo: cambió desde que se mostró la página" in stale
        assert row_of(bridge, 2).state == "due"

        # Hecho (R-CA-5): staff deleted the VPS by hand; the service is left Cancelled.
        marked = page_text(
            render_staff_page(
                url, SECRET, tab="bajas", post=action_form(page, "cancellations.done")
            )
        )
        assert f"Hecho: baja #{carlos.id} hecha: el servicio quedó Cancelado" in marked
        carlos = row_of(bridge, 8)
        assert carlos.state == "done" and carlos.note.endswith("; done by Ana Gómez (admin #1)")

        # Anular: María's request withdrawn; its WHMCS row deleted, the service untouched.
        void = form_for(page, "cancellations.void", maria.id)
        voided = page_text(render_staff_page(url, SECRET, tab="bajas", post=void))
        assert f"Hecho: baja #{maria.id} anulada: el pedido se borró en WHMCS" in voided
        assert row_of(bridge, 1).note == "withdrawn by Ana Gómez (admin #1)"

        final = render_staff_page(url, SECRET, tab="bajas")
    with bridge.panel.connect() as conn:
        tables = bridge.panel.tables
        hosting = tables.hosting
        status = {
            r.id: r.domainstatus for r in conn.execute(select(hosting.c.id, hosting.c.domainstatus))
        }
        left = conn.execute(select(tables.cancelrequests.c.relid)).scalars().all()
    assert status[8] == "Cancelled" and status[1] == "Active"
    assert 1 not in left
    lines = activity(bridge)
    for line in (
        f"cancellation request #{juan.id} of service 2 confirmed (by Ana Gómez (admin #1)",
        f"cancellation request #{carlos.id} of service 8 marked done (by Ana Gómez (admin #1)",
        f"cancellation request #{maria.id} of service 1 voided (by Ana Gómez (admin #1)",
        "Cancellation Request Withdrawn - Service ID: 1",
    ):
        assert any(line in found for found in lines), line

    # A real browser shows the tab as drawn at the end.
    dom = dump_dom(save_page(tmp_path, "bajas", final), tmp_path / "profile")
    shown = page_text(dom)
    assert "Addons > whmcs-bridge" in shown and "Bajas" in shown
    assert "María González Fin del período facturado" in shown and "anulada" in shown
    assert 'data-tab="bajas"' in dom


@pytest.mark.mariadb
def test_bajas_on_stock_whmcs_84(mariadb_84: str) -> None:
    """The buttons on MariaDB with the stock 8.4 schema (DATETIME without fractions): a held End
    of Billing Period request confirmed keeps its date, the same form again is refused, a manual
    one marked done, the confirmed one voided; each recorded with the admin."""
    import test_cancellations as company

    make_bridge(mariadb_84).close()
    company.build_company(mariadb_84)
    with bridge_over(mariadb_84, company.local(company.DAY, 9, 0)) as bridge:
        sandbox: SandboxPanel = bridge.sandbox  # type: ignore[attr-defined]
        run_cycle(bridge)  # baseline
        bridge.api.add_cancel_request(1, reason="por teléfono")  # held (R-CA-6)
        with sandbox.engine.begin() as conn:  # a product without a module: by hand (R-CA-5)
            when = datetime(2026, 12, 10, 8, 0)
            client_area_cancel(conn, sandbox.tables, 2, "Immediate", "Ya no lo uso", when)
        assert run_cycle(bridge).ok
        held, manual = row_of(bridge, 1), row_of(bridge, 2)
        assert (held.state, manual.state) == ("confirm", "manual")
        with serving(bridge) as url:
            page = render_staff_page(url, SECRET, tab="bajas")
            text = page_text(page)
            assert "Bajas 2" in text
            assert (
                "Hosting Inicial (maria.com.ar) María Pérez Fin del período facturado "
                f"{company.DUE:%d/%m/%Y} espera confirmación del personal" in text
            )
            assert "Hosting Manual (manual.maria.com.ar) María Pérez Inmediata 10/12/2026" in text
            confirm = form_for(page, "cancellations.confirm", held.id)
            done = page_text(render_staff_page(url, SECRET, tab="bajas", post=confirm))
            assert f"se da de baja el {company.DUE:%d/%m/%Y}" in done
            again = page_text(render_staff_page(url, SECRET, tab="bajas", post=confirm))
            assert "No se hizo: cambió desde que se mostró la página" in again
            marked = page_text(
                render_staff_page(
                    url, SECRET, tab="bajas", post=form_for(page, "cancellations.done", manual.id)
                )
            )
            assert f"baja #{manual.id} hecha" in marked
            fresh = render_staff_page(url, SECRET, tab="bajas")
            void = form_for(fresh, "cancellations.void", held.id)
            voided = page_text(render_staff_page(url, SECRET, tab="bajas", post=void))
            assert f"baja #{held.id} anulada" in voided
        held, manual = row_of(bridge, 1), row_of(bridge, 2)
        assert (held.state, held.end_date, manual.state) == ("void", company.DUE, "done")
        assert held.note == "withdrawn by Ana Gómez (admin #1)"
        assert manual.note.endswith("done by Ana Gómez (admin #1)")
        lines = activity(bridge)
        assert sum("(by Ana Gómez (admin #1), whmcs-bridge staff page)" in x for x in lines) == 3
