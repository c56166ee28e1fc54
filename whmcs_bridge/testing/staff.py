"""Test the staff page the way WHMCS runs it: ``serve`` on loopback, the addon module under
php-cli with stand-ins for WHMCS's admin area (``tests/php/addon_harness.php``).

    with serving(bridge) as url:
        html = render_staff_page(url, SECRET, tab="transferencias")
        post = action_form(html, "transfers.approve")
        html = render_staff_page(url, SECRET, tab="transferencias", post=post)
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from whmcs_bridge.bridge import Bridge

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "tests" / "php" / "addon_harness.php"
ADDON = ROOT / "hooks" / "addon" / "whmcs_bridge" / "whmcs_bridge.php"
ADMIN = {"id": 1, "firstname": "Ana", "lastname": "Gómez", "username": "ana", "language": "spanish"}


@contextmanager
def sandboxed_bridge(
    url: str, now: datetime, plugins: dict[str, Any], secret: str, zone: str
) -> Iterator[Bridge]:
    """A bridge over ``url`` with ``plugins`` (the ``[plugins]`` section), ``serve``'s secret
    and the sandbox WHMCS API (``bridge.sandbox``), on a fixed clock in ``zone``."""
    from sqlalchemy import create_engine

    from whmcs_bridge.sandbox.api_server import SandboxPanel
    from whmcs_bridge.testing.bridges import make_bridge

    holder: dict[str, Bridge] = {}
    sandbox = SandboxPanel(
        create_engine(url),
        identifier="ident",
        secret="api",
        clock=lambda: holder["bridge"].clock.panel_now(),
    )
    with sandbox:
        made = make_bridge(
            url,
            config={
                "panel": {"timezone": zone},
                "serve": {"wake_secret": secret},
                "api": {"url": sandbox.url, "identifier": "ident", "secret": "api"},
                "plugins": plugins,
            },
            now=now,
        )
        holder["bridge"] = made
        made.sandbox = sandbox  # type: ignore[attr-defined]
        try:
            yield made
        finally:
            made.close()


@contextmanager
def serving(bridge: Bridge, health: dict[str, Any] | None = None) -> Iterator[str]:
    """``serve``'s WSGI app on a free loopback port (waitress, as in production); its URL."""
    import waitress.server

    from whmcs_bridge.serve.app import BridgeApp

    state = health or {"ok": True, "last_ok": True, "last_error": "",
                       "seconds_since_last_cycle": 12.0}  # fmt: skip
    app = BridgeApp(bridge, wake=lambda: None, health=lambda: state)
    server = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


def render_staff_page(
    serve_url: str,
    secret: str,
    *,
    tab: str | None = None,
    post: dict[str, str] | None = None,
    admin: dict[str, Any] | None = None,
    token: str = "tok-1",
) -> str:
    """The page's HTML as the addon renders it under php-cli; fails on any PHP warning."""
    env = {
        **os.environ,
        "WB_SERVE_URL": serve_url,
        "WB_SECRET": secret,
        "WB_ADMIN": json.dumps(admin or ADMIN),
        "WB_TAB": tab or "",
        "WB_POST": json.dumps(post) if post else "",
        "WB_TOKEN": token,
    }
    done = subprocess.run(
        ["php", str(HARNESS)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    if done.returncode != 0 or done.stderr.strip():
        raise AssertionError(f"the addon failed under php-cli: {done.stderr or done.stdout}")
    return done.stdout


def action_form(page: str, action: str, index: int = 0) -> dict[str, str]:
    """The hidden fields of the ``index``-th form of ``action`` on the page, as a POST body."""
    forms = re.findall(r"<form [^>]*>(.*?)</form>", page, re.S)
    found = []
    for form in forms:
        fields = {
            name: html_lib.unescape(value)
            for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', form)
        }
        if fields.get("wb_action") == action:
            found.append(fields)
    if len(found) <= index:
        raise AssertionError(f"no form for {action} on the page")
    return found[index]


def page_text(page: str) -> str:
    """The page's visible text, tags dropped, for assertions on what staff read."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())
