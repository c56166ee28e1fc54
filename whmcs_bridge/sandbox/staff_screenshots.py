"""Render every tab of the staff page against the sample panel, and photograph each one.

``make screenshots`` (or ``python -m whmcs_bridge.sandbox.staff_screenshots DIR``) builds the
demo panel with every built-in plugin enabled and the sandbox WHMCS API (the demo's cancellation
requests and one held for staff give the Bajas tab rows), starts ``serve`` on loopback, renders
each tab with the addon module under php-cli (the WHMCS admin area's stand-ins of
``tests/php/addon_harness.php``) and saves ``DIR/<tab>.html`` and, with Debian's ``chromium``,
``DIR/<tab>.png``. Nothing of it is committed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.sandbox.api_server import SandboxPanel
from whmcs_bridge.testing.staff import render_staff_page, serving

SECRET = "screenshots-secret"
#: A plain frame standing in for the admin area's, so the page reads as staff see it.
FRAME = """<!doctype html><html lang="es"><head><meta charset="utf-8">
<title>whmcs-bridge: {tab}</title><style>
body {{ font: 13px/1.5 "Helvetica Neue", Arial, sans-serif; margin: 24px; color: #333; }}
.nav-tabs {{ list-style: none; padding: 0; border-bottom: 1px solid #ddd; display: flex; }}
.nav-tabs li {{ margin-right: 4px; }} .nav-tabs a {{ display: block; padding: 8px 14px; }}
.nav-tabs .active a {{ border: 1px solid #ddd; border-bottom-color: #fff; background: #fff; }}
.badge {{ background: #c9302c; color: #fff; border-radius: 9px; padding: 1px 7px; }}
.alert {{ padding: 10px; border-radius: 4px; }} .alert-success {{ background: #dff0d8; }}
.alert-danger {{ background: #f2dede; }} .alert-warning {{ background: #fcf8e3; }}
table {{ border-collapse: collapse; width: 100%; }} th, td {{ padding: 5px 8px;
border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }}
tr.danger td {{ background: #fbeaea; }} tr.warning td {{ background: #fdf7e1; }}
tr.wb-detail td {{ color: #666; font-size: 12px; }}
</style></head><body><h1>Addons &gt; whmcs-bridge</h1>{page}</body></html>"""
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str | None:
    """Debian's chromium, or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def photograph(html_file: Path, png_file: Path, profile: Path) -> None:
    """A full-width screenshot of a saved page (headless, no network)."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("chromium is not installed: apt-get install -y chromium")
    subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,900",
         f"--screenshot={png_file}", html_file.as_uri()],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def dump_dom(html_file: Path, profile: Path) -> str:
    """The page's DOM as chromium builds it (what a browser really shows)."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("chromium is not installed: apt-get install -y chromium")
    done = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
         html_file.as_uri()],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.stdout


def save_page(directory: Path, tab: str, page: str) -> Path:
    path = directory / f"{tab}.html"
    path.write_text(FRAME.format(tab=tab, page=page), encoding="utf-8")
    return path


def main(directory: str = "var/screenshots") -> int:
    from whmcs_bridge.sandbox.audit_cases import add_audit_cases
    from whmcs_bridge.testing.bridges import make_bridge, sqlite_panel

    root = Path(directory).absolute()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    url = sqlite_panel(root / "panel.sqlite", date.today())
    add_audit_cases(url)  # the Contactos tab's findings (the cycle audits them)
    enabled = ["alerts", "upgrades", "contacts", "transfers", "cancellations", "sla"]
    sandbox = SandboxPanel(create_engine(url), identifier="screenshots", secret=SECRET).start()
    api = {"url": sandbox.url, "identifier": "screenshots", "secret": SECRET}
    bridge = make_bridge(
        url,
        config={"plugins": {"enabled": enabled}, "serve": {"wake_secret": SECRET}, "api": api},
    )
    config_file = root / "bridge.toml"
    names = ", ".join(f'"{name}"' for name in enabled)
    config_file.write_text(
        f'[panel]\ndatabase_url = "{url}"\n[api]\nurl = "{sandbox.url}"\n'
        f'identifier = "screenshots"\nsecret = "{SECRET}"\n[plugins]\nenabled = [{names}]\n',
        encoding="utf-8",
    )
    try:
        _transfers(bridge, config_file)
        _cancellations(bridge, sandbox)
        _sla_ticket(bridge)
        with serving(bridge) as serve_url:
            first = render_staff_page(serve_url, SECRET)
            tabs = [key for key in _tab_keys(first)]
            for tab in tabs:
                page = render_staff_page(serve_url, SECRET, tab=tab)
                html_file = save_page(root, tab, page)
                if chromium():
                    photograph(html_file, root / f"{tab}.png", root / "chromium-profile")
                print(f"{tab}: {html_file}" + (f" and {tab}.png" if chromium() else ""))
    finally:
        bridge.close()
        sandbox.stop()
    if not chromium():
        print("chromium is not installed: the pages are saved as HTML only")
    return 0


def _cancellations(bridge: Bridge, sandbox: SandboxPanel) -> None:
    """The Bajas tab's rows: the demo's two requests from the client area (one done, one
    waiting for its date) and one made through the API, held for staff (R-CA-6)."""
    from whmcs_bridge.cycle import run_cycle
    from whmcs_bridge.sandbox.demo import client_area_cancellations

    run_cycle(bridge)  # the watchers' baseline: the sample panel's history is not news
    client_area_cancellations(bridge, sandbox)
    bridge.api.add_cancel_request(2, type="Immediate", reason="Pedido por teléfono")
    run_cycle(bridge)


def _transfers(bridge: Bridge, config_file: Path) -> None:
    """The Transferencias tab's rows, asked in the owners' tickets before the Bajas rows:
    Emily's new carter-shop.com to María (allowed, with a flag), Juan Pablo's service to Carlos
    (pending; refused when the page checks it again, once its cancellation request is held) and
    Lucía's suspended service (refused when asked)."""
    import io
    from contextlib import redirect_stdout

    from sqlalchemy import insert

    from whmcs_bridge.cli import main as cli
    from whmcs_bridge.panel.rows import blank_row

    hosting, today = bridge.panel.tables.hosting, bridge.clock.today()
    values = {"userid": 5, "packageid": 1, "domain": "carter-shop.com", "domainstatus": "Active",
              "billingcycle": "Annually", "amount": 100, "regdate": today,
              "nextduedate": today.replace(year=today.year + 1)}  # fmt: skip
    with bridge.panel.begin() as conn:
        shop = conn.execute(insert(hosting).values(**blank_row(hosting, **values)))
        shop_id = int(shop.inserted_primary_key[0])
    for client_id, service_id, target in (
        (5, shop_id, "maria.gonzalez@example.com.ar"), (2, 2, "4"), (3, 3, "2")
    ):  # fmt: skip
        ticket = bridge.api.call(
            "OpenTicket",
            {"deptid": 1, "clientid": client_id, "subject": "Cambio de titular",
             "message": f"Por favor pasen el servicio #{service_id} a {target}"},
        )  # fmt: skip
        with redirect_stdout(io.StringIO()):  # as staff run it: `whmcs-bridge transfer request`
            cli(["--config", str(config_file), "transfer", "request", "--ticket", str(ticket["id"]),
                 "--service", str(service_id), "--to", target])  # fmt: skip


def _sla_ticket(bridge: Bridge) -> None:
    """The SLA tab's rows: beside the sample panel's ticket opened three days ago (past its
    deadline), one a client opened just now, waiting for its first answer."""
    from sqlalchemy import insert

    from whmcs_bridge.panel.rows import blank_row

    tickets, now = bridge.panel.tables.tickets, bridge.clock.panel_now().replace(microsecond=0)
    values = {"tid": "SLA-000001", "did": 3, "userid": 2, "title": "Consulta por un plan",
              "message": "Hola", "status": "Open", "urgency": "Medium", "date": now,
              "lastreply": now}  # fmt: skip
    with bridge.panel.begin() as conn:
        conn.execute(insert(tickets).values(**blank_row(tickets, **values)))


def _tab_keys(page: str) -> list[str]:
    import re

    return re.findall(r"&amp;tab=([a-z_]+)\"", page)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
