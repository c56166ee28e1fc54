"""The demo: a sample panel on SQLite, the bridge installed on it, and a day of panel activity.

It shows the whole loop with no server to install: a sandbox WHMCS API runs on loopback over the
same SQLite file, the first cycle records a baseline (no old news), then changes happen the way
WHMCS makes them (through its API, which also writes the hook file's inbox rows, or straight in
its tables), and the next cycle turns them into events, alerts (printed by the console channel)
and upgrade price checks.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
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
enabled = ["alerts", "upgrades"]

[plugins.alerts]
channels = ["console"]

[plugins.upgrades]
policy = "difference"
manual_department = "Ventas"
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


def _upgrade_quote(bridge: Bridge, today: date) -> list[str]:
    from whmcs_bridge.plugins.upgrades.cli import _report
    from whmcs_bridge.plugins.upgrades.eligibility import plan_upgrade
    from whmcs_bridge.plugins.upgrades.settings import parse_settings

    lines = []
    for policy in ("difference", "prorata"):
        with bridge.panel.connect() as conn:
            plan = plan_upgrade(
                conn,
                bridge.panel,
                parse_settings(bridge.plugin_config("upgrades")),
                1,
                today,
                target_id=2,
                policy=policy,
            )
        target = _report(bridge, plan)["targets"][0]
        lines.append(
            f"  {policy:<10} {target['amount_text']:>14}   WHMCS would charge "
            f"{target['whmcs_text']} (gap {target['gap_text']})"
        )
    return lines


def run_demo(directory: str, echo: Callable[[str], Any] | None = print) -> dict[str, Any]:
    """Build the demo in ``directory`` (replacing an earlier demo there) and run it."""
    from whmcs_bridge.plugins.channels import console

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
            quotes = _upgrade_quote(bridge, today)
            for line in quotes:
                say(line)
            say(f"\nexplore: .venv/bin/whmcs-bridge --config {config_file} events")
            return {
                "directory": str(root),
                "first_cycle": first.as_dict(),
                "activity": activity,
                "second_cycle": second.as_dict(),
                "events": [e.as_dict() | {"outcomes": o} for e, o in found],
                "messages": [m.text for m in console.SENT[sent_before:]],
                "upgrade_quote": quotes,
            }
        finally:
            bridge.close()
            engine.dispose()
