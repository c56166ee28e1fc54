"""Build a bridge for tests: a panel database, a config, chosen plugins, a fixed clock."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.clock import Clock
from whmcs_bridge.config import parse_config
from whmcs_bridge.panel.database import Panel
from whmcs_bridge.panel.tables import create_panel_schema
from whmcs_bridge.plugin_manager import get_plugin_manager
from whmcs_bridge.sandbox.seed import seed_panel
from whmcs_bridge.store.migrate import upgrade


class FixedClock(Clock):
    """A clock the test moves by hand."""

    def __init__(self, start: datetime, timezone: Any) -> None:
        self.current = start
        super().__init__(timezone, now=lambda: self.current)

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.current += timedelta(**delta)

    def sleep(self, seconds: float) -> None:
        """Waiting code moves the test clock instead of the test waiting."""
        self.advance(seconds=seconds)


def sqlite_panel(path: Path, today: date | None = None, seed: bool = True) -> str:
    """Create an SQLite panel (WHMCS tables, optionally the sample data); returns its URL."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    create_panel_schema(engine)
    if seed:
        with engine.begin() as conn:
            seed_panel(conn, today or date.today())
    engine.dispose()
    return url


def make_bridge(
    database_url: str,
    *,
    config: dict[str, Any] | None = None,
    plugins: Iterable[tuple[str, object]] = (),
    now: datetime | None = None,
    config_path: Path | None = None,
    create_tables: bool = True,
) -> Bridge:
    """A bridge over ``database_url`` with ``config`` (TOML-shaped dict) and extra plugins.

    Entry points are not loaded; built-in plugins load when named in
    ``config["plugins"]["enabled"]``.
    """
    raw: dict[str, Any] = {"panel": {"database_url": database_url}}
    for section, values in (config or {}).items():
        raw.setdefault(section, {}).update(values)
    cfg = parse_config(raw, config_path or Path("test-bridge.toml").absolute())
    host = get_plugin_manager(cfg, load_entrypoints=False, plugins=plugins)
    clock = FixedClock(now, cfg.timezone) if now else Clock(cfg.timezone)
    bridge = Bridge(cfg, plugins=host, clock=clock)
    if create_tables:
        upgrade(bridge.panel.engine, host.migrations())
    return bridge


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def delivery_config(flat: dict[str, Any]) -> dict[str, Any]:
    """Config sections from one flat dict of alerts, outbox and channel keys (for tests).

    ``{"rate_per_second": 9, "whatsapp": {...}, "channels": ["console"]}`` becomes
    ``{"outbox": {"rate_per_second": 9}, "channels": {"whatsapp": {...}},
    "plugins": {"alerts": {"channels": ["console"]}}}``; a channel set to ``None`` is left out.
    """
    from whmcs_bridge.config import CHANNEL_KEYS
    from whmcs_bridge.outbox.settings import OutboxSettings

    outbox_keys = set(OutboxSettings.keys())
    config: dict[str, Any] = {"outbox": {}, "channels": {}, "plugins": {"alerts": {}}}
    for key, value in flat.items():
        if key in outbox_keys:
            config["outbox"][key] = value
        elif key in CHANNEL_KEYS:
            if value is not None:
                config["channels"][key] = value
        else:
            config["plugins"]["alerts"][key] = value
    return config


@contextmanager
def whmcs_writes(panel: Panel) -> Iterator[Connection]:
    """A transaction that writes the panel's tables the way WHMCS itself does.

    The bridge's own sessions are strict (``STRICT_TRANS_TABLES``: a value that does not fit is an
    error); WHMCS runs with ``sql_mode=''``, where a NOT NULL column without a default (7.8's
    ``tblinvoices.taxrate``) takes a blank. A test standing in for WHMCS writes through this.
    """
    with panel.engine.connect() as conn:
        mysql = conn.dialect.name in ("mysql", "mariadb")
        if mysql:
            conn.exec_driver_sql("SET SESSION sql_mode=''")
            conn.commit()
        try:
            with conn.begin():
                yield conn
        finally:
            if mysql:
                conn.exec_driver_sql("SET SESSION sql_mode='STRICT_TRANS_TABLES'")
                conn.commit()
