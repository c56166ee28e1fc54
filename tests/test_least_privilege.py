"""The README's least-privilege database user is enough: SELECT on WHMCS, writes on our tables."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from whmcs_bridge.panel.tables import metadata
from whmcs_bridge.sandbox.seed import SETTINGS, seed_panel

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.mariadb


def bridge(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "whmcs_bridge", "--config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ},
    )


def test_bridge_runs_with_select_only_on_whmcs_tables(tmp_path: Path, mariadb_84: str) -> None:
    root_engine = create_engine(mariadb_84)
    with root_engine.begin() as conn:
        conn.execute(
            delete(metadata.tables["tblconfiguration"]).where(
                metadata.tables["tblconfiguration"].c.setting.in_(list(SETTINGS))
            )
        )
        conn.execute(delete(metadata.tables["tblcurrencies"]))
        seed_panel(conn, date.today())
    admin = tmp_path / "admin.toml"
    admin.write_text(
        f'[panel]\ndatabase_url = "{mariadb_84}"\n[plugins]\nenabled = ["alerts", "upgrades"]\n'
    )
    assert bridge(admin, "db", "upgrade").returncode == 0

    user, password = f"wbtest_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    account = f"'{user}'@'%'"
    grants = bridge(admin, "db", "grants", "--user", account)
    assert grants.returncode == 0, grants.stderr
    assert "`tblclients`" not in grants.stdout and "GRANT SELECT ON" in grants.stdout
    with root_engine.begin() as conn:
        conn.execute(text(f"CREATE USER {account} IDENTIFIED BY '{password}'"))
        for line in grants.stdout.strip().splitlines():
            conn.execute(text(line))
    try:
        url = make_url(mariadb_84).set(username=user, password=password)
        config = tmp_path / "bridge.toml"
        config.write_text(
            f'[panel]\ndatabase_url = "{url.render_as_string(hide_password=False)}"\n'
            '[plugins]\nenabled = ["alerts", "upgrades"]\n'
            '[outbox]\nmin_interval_per_recipient = 0\n[plugins.alerts]\nchannels = ["console"]\n'
        )
        doctor = bridge(config, "doctor")
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert bridge(config, "run").returncode == 0  # baseline
        with root_engine.begin() as conn:  # WHMCS marks an invoice paid
            conn.execute(text("UPDATE tblinvoices SET status='Paid' WHERE id=4"))
        second = bridge(config, "run", "--json")
        assert second.returncode == 0, second.stdout + second.stderr
        assert '"invoice.paid": 1' in second.stdout
        assert password not in second.stdout + second.stderr
        restricted = create_engine(url)
        with pytest.raises((OperationalError, ProgrammingError)), restricted.begin() as conn:
            conn.execute(text("UPDATE tblclients SET firstname='x' WHERE id=1"))
        restricted.dispose()
    finally:
        with root_engine.begin() as conn:
            conn.execute(text(f"DROP USER IF EXISTS {account}"))
        root_engine.dispose()


def test_restricted_user_with_tables_behind_gets_a_clear_message(
    tmp_path: Path, mariadb_84: str
) -> None:
    root_engine = create_engine(mariadb_84)
    user, password = f"wbtest_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    account = f"'{user}'@'%'"
    db = make_url(mariadb_84).database
    with root_engine.begin() as conn:
        conn.execute(text(f"CREATE USER {account} IDENTIFIED BY '{password}'"))
        conn.execute(text(f"GRANT SELECT ON `{db}`.* TO {account}"))
    try:
        url = make_url(mariadb_84).set(username=user, password=password)
        config = tmp_path / "bridge.toml"
        config.write_text(
            f'[panel]\ndatabase_url = "{url.render_as_string(hide_password=False)}"\n'
        )
        result = bridge(config, "run")
        assert result.returncode == 1
        assert "db upgrade" in result.stderr and "denied" in result.stderr
        assert "Traceback" not in result.stderr and password not in result.stderr
    finally:
        with root_engine.begin() as conn:
            conn.execute(text(f"DROP USER IF EXISTS {account}"))
        root_engine.dispose()
