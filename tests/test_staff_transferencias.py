"""The Transferencias tab of the staff page (issue 16) on the sample panel: pending transfer
requests checked again as the page is drawn (every reason and flag in plain words, the ticket and
both clients linked), rendered by the addon module under php-cli against a running ``serve``;
Aprobar moves the service (the same apply as ``transfer apply --yes``), an approval whose check
changed since the page was drawn is refused, Rechazar cancels and replies on the ticket in the
client's language; headless chromium shows the tab."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, insert, select, update
from whmcs_bridge.plugins.transfers import store
from whmcs_bridge.plugins.transfers.owner_request import create_request

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.sandbox.staff_screenshots import dump_dom, save_page
from whmcs_bridge.testing.bridges import utc
from whmcs_bridge.testing.staff import (
    action_form,
    page_text,
    render_staff_page,
    sandboxed_bridge,
    serving,
)

SECRET = "transferencias-s3cret"
ZONE = "America/Argentina/Buenos_Aires"
TODAY = date(2026, 12, 4)
NOW = utc(2026, 12, 4, 13, 0)  # 10:00 in Buenos Aires
ENGLISH = {"id": 2, "firstname": "John", "lastname": "Doe", "username": "john",
           "language": "english"}  # fmt: skip


def sandboxed(url: str) -> AbstractContextManager[Bridge]:
    """A bridge over ``url`` on 04/12/2026 with the sandbox WHMCS API (for the ticket replies)."""
    return sandboxed_bridge(url, NOW, {"enabled": ["transfers"]}, SECRET, ZONE)


@pytest.fixture
def bridge(demo_panel: str) -> Iterator[Bridge]:
    with sandboxed(demo_panel) as made:
        yield made


def ask(bridge: Bridge, client_id: int, service_id: int, target: str) -> tuple[int, int]:
    """The holder asks in a ticket (R-TR-3); (request id, ticket id)."""
    opened = bridge.api.call(
        "OpenTicket",
        {"deptid": 1, "clientid": client_id, "subject": "Transferencia",
         "message": f"Pasar el servicio {service_id} a {target}"},
    )  # fmt: skip
    result = create_request(bridge, int(opened["id"]), service_id, target)
    return result.request.id, int(opened["id"])


def requests(bridge: Bridge) -> dict[str, tuple[int, int]]:
    """Emily's carterdesign.com to María (allowed; her domain would stay), Juan Pablo's
    estudiofernandez.com.ar to Carlos (pending, then Carlos's invoice falls overdue), Emily's new
    carter-shop.com to Juan Pablo (allowed) and Lucía's suspended laespiga.com.ar (refused when
    asked)."""
    sandbox: SandboxPanel = bridge.sandbox  # type: ignore[attr-defined]
    tables = bridge.panel.tables
    with sandbox.engine.begin() as conn:
        conn.execute(
            insert(tables.hosting).values(
                blank_row(
                    tables.hosting, id=8, userid=5, packageid=1, domain="carter-shop.com",
                    domainstatus="Active", billingcycle="Annually", amount=100,
                    regdate=TODAY, nextduedate=TODAY + timedelta(days=365), paymentmethod="mp",
                )
            )
        )  # fmt: skip
    found = {
        "emily": ask(bridge, 5, 6, "maria.gonzalez@example.com.ar"),
        "juan": ask(bridge, 2, 2, "4"),
        "shop": ask(bridge, 5, 8, "2"),
        "lucia": ask(bridge, 3, 3, "2"),
    }
    with sandbox.engine.begin() as conn:  # Carlos's invoice falls due yesterday
        conn.execute(
            update(tables.invoices)
            .where(tables.invoices.c.id == 4)
            .values(duedate=TODAY - timedelta(days=1))
        )
    states = {name: request(bridge, ids[0]).state for name, ids in found.items()}
    assert states == {"emily": "pending", "juan": "pending", "shop": "pending", "lucia": "refused"}
    return found


def request(bridge: Bridge, request_id: int) -> store.TransferRequest:
    with bridge.panel.connect() as conn:
        found = store.get_request(conn, request_id)
    assert found is not None
    return found


def form_for(page: str, action: str, params: dict[str, Any]) -> dict[str, str]:
    for index in range(page.count(f'value="{action}"')):
        form = action_form(page, action, index)
        if json.loads(form["wb_params"]) == params:
            return form
    raise AssertionError(f"no {action} with {params}")


def press(url: str, form: dict[str, str]) -> str:
    """Press a button of the tab as drawn (its form posted through the addon); the page's text."""
    return page_text(render_staff_page(url, SECRET, tab="transferencias", post=form))


def last_reply(bridge: Bridge, ticket_id: int) -> Any:
    replies = bridge.panel.tables.ticketreplies
    with bridge.panel.connect() as conn:
        return conn.execute(
            select(replies).where(replies.c.tid == ticket_id).order_by(replies.c.id.desc())
        ).first()


def activity(bridge: Bridge) -> list[str]:
    log = bridge.panel.tables.activitylog
    with bridge.panel.connect() as conn:
        return list(conn.execute(select(log.c.description).order_by(log.c.id)).scalars())


def test_transferencias_tab_approve_reject_and_a_changed_check(
    bridge: Bridge, tmp_path: Path
) -> None:
    found = requests(bridge)
    (emily, emily_ticket), (juan, juan_ticket) = found["emily"], found["juan"]
    (shop, shop_ticket), (lucia, _) = found["shop"], found["lucia"]
    sandbox: SandboxPanel = bridge.sandbox  # type: ignore[attr-defined]
    invoices = bridge.panel.tables.invoices
    with serving(bridge) as url:
        page = render_staff_page(url, SECRET, tab="transferencias")
        text = page_text(page)
        assert "Transferencias 3" in text  # three pending requests wait for staff
        assert "Pendientes: 3 (2 se pueden aplicar, 1 no); recientes: 1" in text
        pending, recent = text.split("Aplicadas, rechazadas o canceladas (últimos 30 días)")
        # Emily's: allowed, with every flag in plain Spanish and its rule.
        assert (
            f"#{emily_ticket} Hosting Avanzado (carterdesign.com) #5 Emily Carter (Carter Design) "
            "#1 María González se puede aplicar; 2 aviso(s)" in pending
        )
        assert "Avisos: difieren los datos de los titulares (nombre, empresa, teléfono, " in pending
        assert "el dominio carterdesign.com queda con el titular actual" in pending
        # Juan Pablo's: Carlos's invoice fell overdue since it was asked; checked again now.
        assert "#4 Carlos Rodríguez no se puede aplicar: 1 motivo(s)" in pending
        assert (
            "Motivos: el cliente #4 (nuevo titular) tiene facturas vencidas (#4): las dos "
            "cuentas tienen que estar al día (R-TR-6)" in pending
        )
        assert "Lucía" not in pending
        assert "rechazada por la verificación al pedirla" in recent
        assert "el servicio está suspendido: solo se mueven servicios activos (R-TR-7)" in recent
        # The ticket, the service and both clients are linked to the admin area.
        for href in (
            f"supporttickets.php?action=view&amp;id={emily_ticket}",
            "clientsservices.php?userid=5&amp;id=6",
            "clientssummary.php?userid=5",
            "clientssummary.php?userid=1",
            "clientssummary.php?userid=4",
        ):
            assert f'href="{href}"' in page, href
        assert f'title="whmcs-bridge transfer apply --id {emily} --yes"' in page
        assert f'title="whmcs-bridge transfer apply --id {emily} --yes --with-domain"' in page
        assert f'title="whmcs-bridge transfer cancel {juan} --reply"' in page
        with pytest.raises(AssertionError):  # no Aprobar on a request the check refuses
            form_for(page, "transfers.approve", {"id": juan})

        english = page_text(render_staff_page(url, SECRET, tab="transferencias", admin=ENGLISH))
        assert "Transfers 3" in english and "Pending (checked now)" in english
        assert "client 4 (new holder) has overdue invoice(s) 4" in english
        assert "can be applied; 2 flag(s)" in english and "Approve with the domain" in english

        # The page was drawn; then María's account gets an overdue invoice: no approval.
        approve = form_for(page, "transfers.approve", {"id": emily, "with_domain": True})
        with sandbox.engine.begin() as conn:
            conn.execute(
                insert(invoices).values(
                    blank_row(invoices, id=90, userid=1, status="Unpaid", total=50,
                              date=TODAY - timedelta(days=20), duedate=TODAY - timedelta(days=2))
                )
            )  # fmt: skip
        stale = press(url, approve)
        assert "No se hizo: cambió desde que se mostró la página" in stale
        assert "el cliente #1 (nuevo titular) tiene facturas vencidas (#90)" in stale
        assert request(bridge, emily).state == "pending"
        # An approval forged for the refused request is refused by serve.
        forged = {**form_for(page, "transfers.reject", {"id": juan}),
                  "wb_action": "transfers.approve"}  # fmt: skip
        refused = press(url, forged)
        assert f"No se hizo la transferencia #{juan} no se puede aplicar" in refused

        # Paid: the page drawn again offers it, and Aprobar con el dominio moves it.
        with sandbox.engine.begin() as conn:
            conn.execute(delete(invoices).where(invoices.c.id == 90))
        page = render_staff_page(url, SECRET, tab="transferencias")
        approve = form_for(page, "transfers.approve", {"id": emily, "with_domain": True})
        done = press(url, approve)
        assert (
            f"Hecho: transferencia #{emily} aplicada: Hosting Avanzado (carterdesign.com) pasó "
            "de #5 Emily Carter (Carter Design) a #1 María González con su dominio" in done
        )
        again = press(url, approve)
        assert f"la transferencia #{emily} ahora está aplicada" in again

        # Rechazar: Juan Pablo is told why, in Spanish, without rule ids or Carlos's invoices.
        reject = form_for(page, "transfers.reject", {"id": juan})
        done = press(url, reject)
        assert f"Hecho: transferencia #{juan} rechazada: el pedido se canceló; respuesta " in done
        # Emily's second request, allowed, turned down: she is told in English.
        reject = form_for(page, "transfers.reject", {"id": shop})
        done = press(url, reject)
        assert f"respuesta enviada en el ticket #{shop_ticket}" in done

        final = render_staff_page(url, SECRET, tab="transferencias")

    hosting, domains = bridge.panel.tables.hosting, bridge.panel.tables.domains
    with bridge.panel.connect() as conn:
        assert conn.execute(select(hosting.c.userid).where(hosting.c.id == 6)).scalar() == 1
        assert conn.execute(select(domains.c.userid).where(domains.c.id == 3)).scalar() == 1
        assert conn.execute(select(hosting.c.userid).where(hosting.c.id == 2)).scalar() == 2
    assert request(bridge, emily).note == "approved by Ana Gómez (admin #1)"
    assert request(bridge, emily).with_domain
    juan_row = request(bridge, juan)
    assert juan_row.state == "cancelled"
    assert juan_row.note == f"rejected by Ana Gómez (admin #1); ticket {juan_ticket} reply sent"
    reply = last_reply(bridge, juan_ticket)
    assert reply.admin and reply.message.startswith("Hola Juan Pablo, revisamos tu pedido")
    assert "la otra cuenta tiene facturas vencidas" in reply.message
    assert "R-TR" not in reply.message and "#4" not in reply.message
    english_reply = last_reply(bridge, shop_ticket).message
    assert english_reply.startswith("Hi Emily, we reviewed your request to move the service")
    assert "we could not confirm it" in english_reply and "R-TR" not in english_reply
    assert request(bridge, lucia).state == "refused"
    lines = activity(bridge)
    for line in (
        f"transfer request #{emily} applied: service 6 moved from client 5 to client 1 with its "
        "domain (by Ana Gómez (admin #1), whmcs-bridge staff page)",
        f"transfer request #{juan} of service 2 rejected, ticket {juan_ticket} reply sent "
        "(by Ana Gómez (admin #1)",
    ):
        assert any(line in found for found in lines), line

    # A real browser shows the tab as drawn at the end: nothing pending, four recent.
    dom = dump_dom(save_page(tmp_path, "transferencias", final), tmp_path / "profile")
    shown = page_text(dom)
    assert 'data-tab="transferencias"' in dom
    assert "Pendientes: 0 (0 se pueden aplicar, 0 no); recientes: 4" in shown
    assert "aplicada el 04/12/2026 10:00" in shown and "cancelada el 04/12/2026" in shown
    assert "Nota: approved by Ana Gómez (admin #1)" in shown


def test_cancel_reply_from_the_cli_as_the_page_does(
    bridge: Bridge, demo_panel: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``transfer cancel N --reply --by NAME``: what Rechazar does, for when serve is down."""
    from whmcs_bridge.cli import main

    sandbox: SandboxPanel = bridge.sandbox  # type: ignore[attr-defined]
    request_id, ticket_id = ask(bridge, 5, 6, "maria.gonzalez@example.com.ar")
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[panel]\ndatabase_url = "{demo_panel}"\ntimezone = "{ZONE}"\n'
        f'[api]\nurl = "{sandbox.url}"\nidentifier = "ident"\nsecret = "api"\n'
        '[plugins]\nenabled = ["transfers"]\n'
    )
    args = ["--config", str(config), "transfer", "cancel", str(request_id), "--reply"]
    capsys.readouterr()
    assert main([*args, "--by", "Ana Gómez", "--json"]) in (0, None)
    assert json.loads(capsys.readouterr().out) == {
        "id": request_id, "state": "cancelled", "reply": "sent"
    }  # fmt: skip
    found = request(bridge, request_id)
    assert found.note == f"rejected by Ana Gómez; ticket {ticket_id} reply sent"
    text = last_reply(bridge, ticket_id).message
    assert text.startswith("Hi Emily, we reviewed your request") and "R-TR" not in text
    with pytest.raises(SystemExit):  # cancelled: not again
        main(args)
    assert "it cannot be cancelled" in capsys.readouterr().err


@pytest.mark.mariadb
def test_on_stock_whmcs_84(mariadb_84: str) -> None:
    """The tab and both buttons on MariaDB with WHMCS 8.4's own schema (strict sessions)."""
    from whmcs_bridge.panel.tables import metadata
    from whmcs_bridge.sandbox.seed import SETTINGS, seed_panel

    with create_engine(mariadb_84).begin() as conn:  # the sample company in place of defaults
        config = metadata.tables["tblconfiguration"]
        conn.execute(delete(config).where(config.c.setting.in_(list(SETTINGS))))
        conn.execute(delete(metadata.tables["tblcurrencies"]))
        seed_panel(conn, date(2026, 11, 26))
    with sandboxed(mariadb_84) as bridge, serving(bridge) as url:
        found = requests(bridge)
        (emily, _), (juan, juan_ticket) = found["emily"], found["juan"]
        page = render_staff_page(url, SECRET, tab="transferencias")
        assert "Pendientes: 3 (2 se pueden aplicar, 1 no); recientes: 1" in page_text(page)
        approve = form_for(page, "transfers.approve", {"id": emily})
        done = press(url, approve)
        assert f"Hecho: transferencia #{emily} aplicada" in done
        reject = form_for(page, "transfers.reject", {"id": juan})
        done = press(url, reject)
        assert f"respuesta enviada en el ticket #{juan_ticket}" in done
        assert request(bridge, emily).note == "approved by Ana Gómez (admin #1)"
        assert request(bridge, juan).state == "cancelled"
        assert "la otra cuenta tiene facturas vencidas" in last_reply(bridge, juan_ticket).message
        assert any(f"transfer request #{emily} applied" in line for line in activity(bridge))
