"""The demo: a sample panel on SQLite, the bridge installed on it, and a day of panel activity.

It shows the whole loop with no server to install: a sandbox WHMCS API runs on loopback over the
same SQLite file, the first cycle records a baseline (no old news), then changes happen the way
WHMCS makes them (through its API, which also writes the hook file's inbox rows, or straight in
its tables), and the next cycle turns them into events, alerts (printed by the console channel)
and upgrade price checks.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from contextlib import redirect_stdout
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, insert, update

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.config import load_config
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.events.store import list_events
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import metadata
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.store.tables import inbox
from whmcs_bridge.testing.bridges import sqlite_panel

IDENTIFIER, SECRET = "demo-identifier", "demo-secret-not-for-production"

CONFIG = """\
# Demo config written by `whmcs-bridge demo`; see config/bridge.example.toml for every key.
[panel]
database_url = "sqlite:///panel.sqlite"
timezone = "America/Argentina/Buenos_Aires"
system_url = "https://clientes.hostingpatagonia.com.ar/"

# The sandbox WHMCS API that `whmcs-bridge demo` ran on loopback; it is gone once the demo ends,
# so commands that call the API (doctor's API check, upgrade quote's WHMCS price) report it down.
[api]
url = "{api_url}"
identifier = "{identifier}"
secret = "{secret}"
timeout = 5

[plugins]
enabled = ["alerts", "upgrades", "cancellations", "transfers", "contacts", "sla"]

[plugins.alerts]
channels = ["console"]

[plugins.upgrades]
policy = "difference"
manual_department = "Ventas"

[plugins.cancellations]
technical_department = "Soporte Técnico"
require_client_origin = true

# R-SL: business hours 10-17 UTC-3 Monday to Friday and Argentina's holidays by default;
# clients with Hosting Avanzado have the Professional (Premium) support plan here.
[plugins.sla.products]
"Hosting Avanzado" = "premium"
"""


def _panel_activity(bridge: Bridge, today: date) -> list[str]:
    """A day in the panel: API calls as staff and cron make them, and direct table changes."""
    t = metadata.tables
    api = bridge.api
    done: list[str] = []
    api.add_invoice_payment(4, transid="MP-73519", gateway="mercadopago")
    done.append("API AddInvoicePayment: Carlos Rodríguez pays invoice #4 (hook InvoicePaid)")
    api.module_suspend(2, reason="Falta de pago")
    done.append("API ModuleSuspend: service #2 estudiofernandez.com.ar (hook AfterModuleSuspend)")
    with bridge.panel.begin() as conn:
        conn.execute(
            insert(t["tblclients"]).values(
                **blank_row(
                    t["tblclients"],
                    id=6,
                    firstname="Valentina",
                    lastname="Sosa",
                    email="valentina.sosa@example.com.ar",
                    country="AR",
                    phonenumber="+54.1145678901",
                    currency=1,
                    datecreated=today,
                    status="Active",
                    language="spanish",
                )
            )
        )
        done.append("table change: new client #6 Valentina Sosa (no hook file: a watcher sees it)")
        conn.execute(
            update(t["tblquotes"]).where(t["tblquotes"].c.id == 1).values(stage="Delivered")
        )
        done.append("table change: quote #1 for Estudio Fernández delivered")
        # No API deletes a domain: this is the row the hook file writes in the admin area.
        conn.execute(
            insert(inbox).values(
                hook="DomainDelete",
                origin="admin",
                created_at=bridge.clock.panel_now(),
                payload=json.dumps({"domainid": 2, "client_id": 3, "domain": "laespiga.com.ar"}),
            )
        )
        conn.execute(delete(t["tbldomains"]).where(t["tbldomains"].c.id == 2))
        done.append("admin deletes domain laespiga.com.ar (hook DomainDelete keeps its name)")
    return done


def _upgrade_quote(config_file: Path, today: date) -> list[str]:
    """``whmcs-bridge upgrade quote`` as an admin runs it, once per policy (the core knows the
    upgrades plugin only by its command)."""
    from whmcs_bridge.cli import main

    lines = []
    for policy in ("difference", "prorata"):
        out = io.StringIO()
        with redirect_stdout(out):
            main(
                [
                    *("--config", str(config_file), "upgrade", "quote", "--service", "1"),
                    *("--to", "2", "--cycle", "annually", "--policy", policy),
                    *("--on", today.isoformat(), "--json"),
                ]
            )
        target = json.loads(out.getvalue())["targets"][0]
        lines.append(
            f"  {policy:<10} {target['amount_text']:>14}   WHMCS would charge "
            f"{target['whmcs_text']} (gap {target['gap_text']})"
        )
    return lines


def client_area_cancellations(bridge: Bridge, sandbox: SandboxPanel) -> None:
    """Two requests from the client area (R-CA-7) and the cycles that carry them out: Emily's
    Immediate one ends today, María's End of Billing Period one waits for her due date (also
    the rows of the staff page's Bajas tab in ``make screenshots``)."""
    from whmcs_bridge.sandbox.actions_cancellations import client_area_cancel

    now = bridge.clock.panel_now()
    with sandbox.engine.begin() as conn:
        client_area_cancel(conn, sandbox.tables, 6, "Immediate", "Cierro el estudio", now)
        client_area_cancel(conn, sandbox.tables, 1, "End of Billing Period", "Me mudo", now)
    run_cycle(bridge)  # taken in, the client told the terms; the Immediate one terminated
    run_cycle(bridge)  # the termination's notice


def _cancellations(bridge: Bridge, sandbox: SandboxPanel, config_file: Path) -> list[str]:
    """:func:`client_area_cancellations`; ``cancellations list`` shows both."""
    from whmcs_bridge.cli import main
    from whmcs_bridge.outbox.tables import outbox

    client_area_cancellations(bridge, sandbox)
    out = io.StringIO()
    with redirect_stdout(out):
        main(["--config", str(config_file), "cancellations", "list", "--json"])
    lines = [
        f"  #{r['id']} service {r['service_id']} {r['type']:<21} {r['state']:<8} "
        f"ends {r['end_date']}"
        for r in json.loads(out.getvalue())
    ]
    with bridge.panel.connect() as conn:
        rows = conn.execute(outbox.select().order_by(outbox.c.id)).all()
    for row in rows:
        message = json.loads(row.message)
        if str(message.get("event", "")).startswith("cancellation."):
            first = message.get("text", "").splitlines()[0]
            lines.append(f"  to client {row.client_id} via {row.channel}: {first[:110]}")
    return lines


def _transfers(config_file: Path, bridge: Bridge) -> list[str]:
    """``whmcs-bridge transfer``: one refused check, one request from the owner's ticket that is
    applied, then a cycle sends the notices to both holders and the reply on the ticket."""
    from whmcs_bridge.cli import main

    def transfer(*args: str) -> dict[str, Any]:
        out = io.StringIO()
        with redirect_stdout(out):
            main(["--config", str(config_file), "transfer", *args, "--json"])
        return dict(json.loads(out.getvalue()))

    hosting = metadata.tables["tblhosting"]
    today = bridge.clock.today()
    with bridge.panel.begin() as conn:  # an order of Emily Carter's, active since last month
        conn.execute(
            insert(hosting).values(
                **blank_row(
                    hosting,
                    id=8,
                    userid=5,
                    packageid=1,
                    domain="carter-shop.com",
                    domainstatus="Active",
                    billingcycle="Annually",
                    amount=100,
                    regdate=today,
                    nextduedate=today.replace(year=today.year + 1),
                    nextinvoicedate=today.replace(year=today.year + 1),
                )
            )
        )
    refused = transfer("check", "--service", "3", "--to", "2")
    reasons = ", ".join(f"{r['code']} ({r['rule']})" for r in refused["reasons"])
    lines = [f"  check service #3 laespiga.com.ar -> client #2: {refused['verdict']}: {reasons}"]
    opened = bridge.api.call(
        "OpenTicket",
        {
            "deptid": 1,
            "clientid": 5,
            "subject": "Transfer carter-shop.com",
            "message": "Please move carter-shop.com to maria.gonzalez@example.com.ar",
        },
    )
    owner_ticket = ("--ticket", str(opened["id"]), "--service", "8")
    asked = transfer("request", *owner_ticket, "--to", "maria.gonzalez@example.com.ar")
    flags = ", ".join(f["code"] for f in asked["check"]["flags"]) or "none"
    lines.append(
        f"  ticket #{opened['id']} from Emily Carter: request #{asked['id']} {asked['state']} "
        f"(flags: {flags}); reply on the ticket {asked['request_reply']}"
    )
    if asked["state"] != "pending":
        return lines
    applied = transfer("apply", "--id", str(asked["id"]), "--yes")
    lines.append(
        f"  apply #{asked['id']}: moved {applied['applied']}, event {applied['event_key']}"
    )
    cycle = run_cycle(bridge)
    shown = transfer("show", str(asked["id"]))
    lines.append(
        f"  next cycle: {cycle.delivery.get('sent', 0)} messages delivered (the notices to both "
        f"holders); reply on the ticket that the move is done: {shown['moved_reply']}"
    )
    return lines


def _contacts(config_file: Path) -> list[str]:
    """``whmcs-bridge contacts list`` for Estudio Fernández (client 2), then a grant: Sofía, the
    bookkeeper, may also see quotes (R-CT-2), through WHMCS's UpdateUserPermissions."""
    from whmcs_bridge.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        main(["--config", str(config_file), "contacts", "list", "--client", "2"])
        main(
            [
                *("--config", str(config_file), "contacts", "grant", "--client", "2"),
                *("--user", "6", "--preset", "billing"),
            ]
        )
    return [f"  {line}" for line in out.getvalue().splitlines()]


def _sla_friday(bridge: Bridge, config_file: Path, today: date) -> list[str]:
    """R-SL-1/6: two tickets opened last Friday at 16:30, by a standard client (María, client 1)
    and a premium one (Estudio Fernández, client 2), and their deadlines from ``sla status``."""
    from datetime import datetime, time, timedelta

    from whmcs_bridge.cli import main

    friday = today - timedelta(days=(today.weekday() - 4) % 7 or 7)
    opened = datetime.combine(friday, time(16, 30))
    tickets = metadata.tables["tbltickets"]
    with bridge.panel.begin() as conn:
        for tid, client in (("SLA-000001", 1), ("SLA-000002", 2)):
            conn.execute(
                insert(tickets).values(
                    **blank_row(
                        tickets,
                        tid=tid,
                        did=1,
                        userid=client,
                        title="Consulta",
                        message="Hola, necesito ayuda con mi sitio.",
                        status="Open",
                        urgency="Medium",
                        date=opened,
                        lastreply=opened,
                    )
                )
            )
    out = io.StringIO()
    with redirect_stdout(out):
        main(["--config", str(config_file), "sla", "status", "--json"])
    lines = []
    for row in json.loads(out.getvalue()):
        if row["tid"].startswith("SLA-"):
            due = datetime.fromisoformat(row["deadline"])
            lines.append(
                f"  #{row['tid']} client {row['client_id']} ({row['plan']}): opened "
                f"{opened:%a %d/%m %H:%M}, first answer due {due:%a %d/%m %H:%M}"
            )
    return lines


def run_demo(directory: str, echo: Callable[[str], Any] | None = print) -> dict[str, Any]:
    """Build the demo in ``directory`` (replacing an earlier demo there) and run it."""
    from whmcs_bridge.channels import console

    say = echo or (lambda _text: None)
    root = Path(directory)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    today = date.today()
    panel_url = sqlite_panel(root / "panel.sqlite", today)
    engine = create_engine(panel_url)
    with SandboxPanel(engine, identifier=IDENTIFIER, secret=SECRET) as sandbox:
        config_file = root / "bridge.toml"
        config_file.write_text(
            CONFIG.format(api_url=sandbox.url, identifier=IDENTIFIER, secret=SECRET),
            encoding="utf-8",
        )
        say(f"sample panel: {root / 'panel.sqlite'} (Hosting Patagonia SRL, 5 clients, 7 services)")
        say(f"sandbox WHMCS API: {sandbox.url}/includes/api.php; config: {config_file}")
        bridge = Bridge(load_config(str(config_file)))
        try:
            first = run_cycle(bridge)
            say(
                f"\n1. first cycle: baseline of {len(first.intake['baselines'])} watchers, "
                f"{first.intake['new_events']} events (years of history are not news)"
            )
            say("\n2. a day in the panel:")
            activity = _panel_activity(bridge, today)
            for line in activity:
                say(f"   {line}")
            sent_before = len(console.SENT)
            second = run_cycle(bridge)
            say(
                f"\n3. second cycle: {second.intake['new_events']} new events, "
                f"{second.delivery.get('sent', 0)} messages delivered"
            )
            with bridge.panel.connect() as conn:
                found = list_events(conn, limit=50)
            for event, outcomes in reversed(found):
                handled = ", ".join(f"{o['plugin']} {o['status']}" for o in outcomes)
                say(
                    f"   event {event.name:<20} {event.subject_type} #{event.subject_id:<3} "
                    f"client {event.client_id} via {event.source:<7} -> {handled}"
                )
            say("\n4. alerts sent (console channel; WhatsApp templates when configured):")
            for message in console.SENT[sent_before:]:
                text = " ".join(message.text.split())
                say(f"   to {message.recipient} [{message.event}] {text[:150]}")
            say(
                "\n5. upgrade quote, service #1 (Hosting Inicial, 100/year, mid-cycle) to "
                "Hosting Avanzado (150/year), R-UP-1:"
            )
            quotes = _upgrade_quote(config_file, today)
            for line in quotes:
                say(line)
            say("\n6. cancellations from the client area (R-CA-7), and what the clients are told:")
            cancelled = _cancellations(bridge, sandbox, config_file)
            for line in cancelled:
                say(line)
            say("\n7. moving a service to another client (R-TR):")
            moves = _transfers(config_file, bridge)
            for line in moves:
                say(line)
            say("\n8. who may act for a client, and a grant (R-CT-2):")
            for line in _contacts(config_file):
                say(line)
            say(
                "\n9. support deadlines (R-SL): a ticket opened on Friday at 16:30 waits for "
                "business hours (10-17, Mon-Fri):"
            )
            for line in _sla_friday(bridge, config_file, today):
                say(line)
            say(f"\nexplore: .venv/bin/whmcs-bridge --config {config_file} events")
            say(
                "staff page (WHMCS admin area): `make screenshots` renders each tab against the "
                "sample panel into var/screenshots/"
            )
            return {
                "directory": str(root),
                "first_cycle": first.as_dict(),
                "activity": activity,
                "second_cycle": second.as_dict(),
                "events": [e.as_dict() | {"outcomes": o} for e, o in found],
                "messages": [m.text for m in console.SENT[sent_before:]],
                "upgrade_quote": quotes,
                "transfers": moves,
                "cancellations": cancelled,
            }
        finally:
            bridge.close()
            engine.dispose()
