"""The demo: a sample panel on SQLite, the bridge installed on it, and a day of panel activity.

It shows the whole loop with no server: the first cycle records a baseline (no old news), then
changes happen in the panel the way WHMCS makes them, and the next cycle turns them into events
and hands them to the enabled plugins.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.config import load_config
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.events.store import list_events
from whmcs_bridge.panel.rows import blank_row
from whmcs_bridge.panel.tables import metadata
from whmcs_bridge.testing.bridges import sqlite_panel

CONFIG = """\
# Demo config written by `whmcs-bridge demo`; see config/bridge.example.toml for every key.
[panel]
database_url = "sqlite:///panel.sqlite"
timezone = "America/Argentina/Buenos_Aires"
system_url = "https://clientes.hostingpatagonia.com.ar/"

[plugins]
enabled = []
"""


def _panel_activity(bridge: Bridge, today: date) -> list[str]:
    """Changes as WHMCS would make them: rows in its tables and the hook file's inbox rows."""
    t = metadata.tables
    done: list[str] = []
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
        done.append("new client #6 Valentina Sosa signs up")
        conn.execute(
            update(t["tblinvoices"])
            .where(t["tblinvoices"].c.id == 4)
            .values(status="Paid", datepaid=bridge.clock.panel_now())
        )
        done.append("invoice #4 of Carlos Rodríguez is paid")
        conn.execute(
            update(t["tblhosting"])
            .where(t["tblhosting"].c.id == 2)
            .values(domainstatus="Suspended")
        )
        done.append("service #2 estudiofernandez.com.ar is suspended (product with a module)")
        conn.execute(
            update(t["tblquotes"]).where(t["tblquotes"].c.id == 1).values(stage="Delivered")
        )
        done.append("quote #1 for Estudio Fernández is delivered")
    return done


def run_demo(directory: str, echo: Callable[[str], Any] | None = print) -> dict[str, Any]:
    """Build the demo in ``directory`` (replacing an earlier demo there) and run it."""
    say = echo or (lambda _text: None)
    root = Path(directory)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    today = date.today()
    sqlite_panel(root / "panel.sqlite", today)
    config_file = root / "bridge.toml"
    config_file.write_text(CONFIG, encoding="utf-8")
    say(f"sample panel: {root / 'panel.sqlite'} (Hosting Patagonia SRL, 5 clients, 7 services)")
    say(f"config: {config_file}")

    bridge = Bridge(load_config(str(config_file)))
    try:
        first = run_cycle(bridge)
        say(
            f"first cycle: baseline of {len(first.intake['baselines'])} watchers, "
            f"{first.intake['new_events']} events (history is not news)"
        )
        activity = _panel_activity(bridge, today)
        for line in activity:
            say(f"  panel: {line}")
        second = run_cycle(bridge)
        say(f"second cycle: {second.intake['new_events']} new events")
        with bridge.panel.connect() as conn:
            found = list_events(conn, limit=50)
        for event, outcomes in reversed(found):
            handled = (
                ", ".join(f"{o['plugin']}: {o['status']}" for o in outcomes) or "no plugin enabled"
            )
            say(
                f"  event {event.name} {event.subject_type} #{event.subject_id} "
                f"(client {event.client_id}) from {event.source}: {handled}"
            )
        return {
            "directory": str(root),
            "first_cycle": first.as_dict(),
            "activity": activity,
            "second_cycle": second.as_dict(),
            "events": [e.as_dict() | {"outcomes": o} for e, o in found],
        }
    finally:
        bridge.close()
