"""The command line as an admin runs it: real processes, real databases, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import make_url

from whmcs_bridge.store.migrate import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent


def bridge(
    *args: str, config: Path | None = None, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "whmcs_bridge"]
    if config is not None:
        command += ["--config", str(config)]
    return subprocess.run(
        command + list(args),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def write_config(tmp_path: Path, database_url: str, extra: str = "") -> Path:
    path = tmp_path / "bridge.toml"
    path.write_text(f'[panel]\ndatabase_url = "{database_url}"\n{extra}', encoding="utf-8")
    return path


@pytest.mark.mariadb
def test_doctor_on_stock_84_schema(tmp_path: Path, mariadb_84: str) -> None:
    config = write_config(tmp_path, mariadb_84)
    before = bridge("doctor", config=config)
    assert before.returncode == 1  # bridge tables not created yet
    assert "FAIL bridge tables" in before.stdout and "db upgrade" in before.stdout
    assert bridge("db", "upgrade", config=config).returncode == 0
    result = bridge("doctor", "--json", config=config)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert "WHMCS 8.4.0" in checks["whmcs schema"]["detail"]
    assert "login model users" in checks["whmcs schema"]["detail"]


@pytest.mark.mariadb
def test_doctor_on_stock_78_schema(tmp_path: Path, mariadb_78: str) -> None:
    config = write_config(tmp_path, mariadb_78)
    bridge("db", "upgrade", config=config)
    result = bridge("doctor", config=config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WHMCS 7.8.3" in result.stdout and "login model sub-accounts" in result.stdout
    assert result.stdout.count("OK  ") >= 3


@pytest.mark.mariadb
def test_doctor_with_wrong_password_names_host_without_secret(
    tmp_path: Path, mariadb_84: str
) -> None:
    url = make_url(mariadb_84).set(username="root", password="Wr0ng-S3cret-pw")
    config = write_config(tmp_path, url.render_as_string(hide_password=False))
    result = bridge("doctor", config=config)
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "127.0.0.1:3306" in output and "Access denied" in output
    assert "Wr0ng-S3cret-pw" not in output and "Traceback" not in output
    result = bridge("run", config=config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "127.0.0.1:3306" in result.stderr and "Wr0ng-S3cret-pw" not in result.stderr


def test_unreachable_database_names_the_host(tmp_path: Path) -> None:
    config = write_config(tmp_path, "mysql+pymysql://bridge:Sup3rS3cret@127.0.0.1:1/whmcs")
    result = bridge("doctor", config=config)
    assert result.returncode == 1
    assert "127.0.0.1:1" in result.stdout and "Sup3rS3cret" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sqlite:///panel.sqlite", "[run]\nmax_tries = -3\n")
    result = bridge("run", config=config)
    assert result.returncode == 2
    assert str(config) in result.stderr and "run.max_tries" in result.stderr
    assert "Traceback" not in result.stderr
    assert bridge("no-such-command", config=config).returncode == 2


def test_misspelled_plugin_stops_the_run(tmp_path: Path, demo_panel: str) -> None:
    config = write_config(tmp_path, demo_panel, '[plugins]\nenabled = ["alertz"]\n')
    result = bridge("run", config=config)
    assert (
        result.returncode == 2 and "'alertz'" in result.stderr and "Traceback" not in result.stderr
    )


SLOW_PLUGIN = """
import time
from whmcs_bridge import hookimpl

@hookimpl
def bridge_run_tasks(bridge):
    time.sleep(3)
    return "slept"
"""


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("8.4", marks=pytest.mark.mariadb)])
def test_two_runs_at_once_one_waits_out(
    tmp_path: Path, demo_panel: str, kind: str, request: pytest.FixtureRequest
) -> None:
    url = demo_panel if kind == "sqlite" else request.getfixturevalue("mariadb_84")
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "slow.py").write_text(SLOW_PLUGIN)
    config = write_config(tmp_path, url, '[plugins]\nenabled = ["slow"]\nplugins_dir = "plugins"\n')
    command = [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "run"]
    first = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.5)
    started = time.monotonic()
    second = bridge("run", config=config)
    assert time.monotonic() - started < 2.5
    assert second.returncode == 0 and "holds the lock" in second.stdout
    out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert "tasks slow: slept" in out


def test_db_upgrade_is_safe_to_repeat(tmp_path: Path, demo_panel: str) -> None:
    config = write_config(tmp_path, demo_panel)
    assert "upgraded from version 0" in bridge("db", "upgrade", config=config).stdout
    again = bridge("db", "upgrade", "--json", config=config)
    assert json.loads(again.stdout) == {"ok": True, "from": SCHEMA_VERSION, "to": SCHEMA_VERSION}


def test_plugins_lists_builtin_and_dropped(tmp_path: Path, demo_panel: str) -> None:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "slow.py").write_text(SLOW_PLUGIN)
    config = write_config(tmp_path, demo_panel, '[plugins]\nplugins_dir = "plugins"\n')
    listed = json.loads(bridge("plugins", "--json", config=config).stdout)
    by_name = {p["name"]: p for p in listed}
    assert by_name["slow"]["source"].startswith("plugins_dir:") and not by_name["slow"]["enabled"]


def test_demo_runs_end_to_end_without_a_server(tmp_path: Path) -> None:
    result = bridge("demo", "--dir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    assert "first cycle" in result.stdout and "second cycle" in result.stdout
    # Transfers (R-TR): one refused check, one request from the owner's ticket applied and told.
    assert "laespiga.com.ar -> client #2: refused: service_not_active (R-TR-7)" in result.stdout
    assert "apply #1: moved True" in result.stdout and "move is done: sent" in result.stdout
    assert (tmp_path / "demo" / "panel.sqlite").exists()


BROKEN_PLUGINS = {
    "misspelled hook": (
        "from whmcs_bridge import hookimpl\n"
        "@hookimpl\ndef bridge_on_events(bridge, event):\n    pass\n",
        ["unknown hook 'bridge_on_events'", "did you mean 'bridge_on_event'"],
    ),
    "extra argument": (
        "from whmcs_bridge import hookimpl\n"
        "@hookimpl\ndef bridge_on_event(bridge, event, extra):\n    pass\n",
        ["hook does not match its spec", "bridge_on_event(bridge, event, extra)"],
    ),
    "validate raises": (
        "from whmcs_bridge import hookimpl\n"
        "@hookimpl\ndef bridge_load_settings(config):\n"
        "    config.plugin_config('bad')['threshold']\n",
        ["failed checking [plugins.bad]", "KeyError: 'threshold'"],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_PLUGINS))
def test_broken_dropped_plugin_is_named_in_one_line(
    tmp_path: Path, demo_panel: str, case: str
) -> None:
    source, expected = BROKEN_PLUGINS[case]
    (tmp_path / "plugins").mkdir()
    plugin_file = tmp_path / "plugins" / "bad.py"
    plugin_file.write_text(source)
    config = write_config(
        tmp_path, demo_panel, '[plugins]\nenabled = ["bad"]\nplugins_dir = "plugins"\n'
    )
    helped = bridge("--help", config=config)
    assert helped.returncode == 0 and "Traceback" not in helped.stderr, helped.stderr
    assert "run" in helped.stdout
    result = bridge("run", config=config)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: plugin 'bad'") and str(plugin_file) in lines[0]
    for text in expected:
        assert text in lines[0]


def test_config_that_is_not_utf8_exits_2_naming_the_file(tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_bytes('[panel]\n# Zürich\ndatabase_url = "sqlite:///p.sqlite"\n'.encode("latin-1"))
    result = bridge("doctor", config=config)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"error: {config}: not UTF-8 text (byte 0xfc at offset 11); save the file as UTF-8"
    )


def test_database_url_with_a_bad_port_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, "mysql+pymysql://u:Hunter2-pw@h:abc/db")
    result = bridge("doctor", config=config)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and str(config) in line and "key 'panel.database_url'" in line
    assert "port is not a number" in line and "Hunter2-pw" not in line
