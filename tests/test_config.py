"""Config: every error names the file and the key; secrets never print."""

from __future__ import annotations

from pathlib import Path

import pytest

from whmcs_bridge.config import load_config
from whmcs_bridge.errors import ConfigError
from whmcs_bridge.secrets import Secret, redact
from whmcs_bridge.whmcs_config import parse_configuration_php

CONFIGURATION_PHP = r"""<?php
$license = 'WHMCS-abc';
$db_host = 'db.internal';
$db_port = '3307';
$db_username = 'whmcs_user';
$db_password = 'p@ss\'w0rd';
$db_name = "whmcs_prod";
$cc_encryption_hash = 'not-for-us';
$api_access_key = 'k3y!';
// $db_password = 'commented out';
"""


def write(tmp_path: Path, text: str, name: str = "bridge.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_configuration_php_is_parsed_as_text_not_executed() -> None:
    found = parse_configuration_php(CONFIGURATION_PHP)
    assert found == {
        "db_host": "db.internal",
        "db_port": "3307",
        "db_username": "whmcs_user",
        "db_password": "p@ss'w0rd",
        "db_name": "whmcs_prod",
        "api_access_key": "k3y!",
    }


def test_whmcs_root_gives_database_and_access_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WB_TEST_SECRET", "x")
    root = tmp_path / "whmcs"
    root.mkdir()
    (root / "configuration.php").write_text(CONFIGURATION_PHP)
    config = load_config(
        write(
            tmp_path,
            f"""
[panel]
whmcs_root = "{root}"
[api]
url = "https://panel.example.com/"
identifier = "ident"
secret = {{"$env" = "WB_TEST_SECRET"}}
""",
        )
    )
    url = config.database_url
    assert (url.host, url.port, url.username, url.database) == (
        "db.internal",
        3307,
        "whmcs_user",
        "whmcs_prod",
    )
    assert url.password == "p@ss'w0rd"
    assert "p@ss" not in repr(url) and "p@ss" not in config.database_label()
    assert config.api is not None and config.api.accesskey == Secret("k3y!")


def test_env_and_file_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WB_TEST_SECRET", "s3cr3t-from-env")
    (tmp_path / "wake.secret").write_text("s3cr3t-from-file\n")
    config = load_config(
        write(
            tmp_path,
            """
[panel]
database_url = "sqlite:///panel.sqlite"
[api]
url = "https://panel.example.com/"
identifier = "ident"
secret = {"$env" = "WB_TEST_SECRET"}
[serve]
wake_secret = {"$file" = "wake.secret"}
[channels.whatsapp]
token = {"$env" = "WB_TEST_SECRET"}
""",
        )
    )
    assert config.api.secret.reveal() == "s3cr3t-from-env"  # type: ignore[union-attr]
    assert config.serve["wake_secret"].reveal() == "s3cr3t-from-file"
    token = config.channels["whatsapp"]["token"]
    assert isinstance(token, Secret) and "s3cr3t" not in repr(config.channels)
    assert redact(config.channels) == {"whatsapp": {"token": "***"}}
    assert config.database_url.database == str(tmp_path / "panel.sqlite")


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[panel]\ndatabase_url = 42\n", "panel.database_url", "expected str"),
        ('[panel]\ndatabase_url = "postgres://x/y"\n', "panel.database_url", "mysql+pymysql"),
        ("[panel]\n", "panel.whmcs_root", "expected whmcs_root"),
        (
            '[panel]\ndatabase_url = "sqlite:///p"\ntimezone = "Mars/Olympus"\n',
            "panel.timezone",
            "unknown time zone",
        ),
        ('[panel]\ndatabase_url = "sqlite:///p"\ncolour = "red"\n', "panel.colour", "unknown key"),
        (
            '[panel]\ndatabase_url = "sqlite:///p"\n[plugins]\nenabled = "alerts"\n',
            "plugins.enabled",
            "expected list",
        ),
        (
            '[panel]\ndatabase_url = "sqlite:///p"\n[run]\nmax_tries = 0\n',
            "run.max_tries",
            "at least 1",
        ),
        (
            '[panel]\ndatabase_url = "sqlite:///p"\n[run]\noutcomes_per_commit = 0\n',
            "run.outcomes_per_commit",
            "from 1 to 1000",
        ),
        (
            '[panel]\ndatabase_url = "sqlite:///p"\n[api]\nurl = "https://x"\nidentifier = "i"\n',
            "api.secret",
            "API credential",
        ),
        (
            '[panel]\ndatabase_url = "sqlite:///p"\n'
            '[serve]\nwake_secret = {"$env" = "WB_NOT_SET_X"}\n',
            "serve.wake_secret",
            "WB_NOT_SET_X",
        ),
        ('[panel]\nwhmcs_root = "/nonexistent/whmcs"\n', "panel.whmcs_root", "cannot read"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, key: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert path in message and f"key '{key}'" in message and expected in message
    assert caught.value.exit_code == 2


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[panel\n")
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_config(path)
    assert path in str(caught.value)


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[panel]\ndatabase_url = "sqlite:///p.sqlite"\n')
    monkeypatch.setenv("WHMCS_BRIDGE_CONFIG", path)
    assert load_config().path == path
    monkeypatch.delenv("WHMCS_BRIDGE_CONFIG")
    with pytest.raises(ConfigError, match="--config"):
        load_config()


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """config/bridge.example.toml, with a database in place of whmcs_root, passes every check."""
    import tomllib

    from whmcs_bridge.config import parse_config
    from whmcs_bridge.plugin_manager import get_plugin_manager

    example = Path(__file__).resolve().parent.parent / "config" / "bridge.example.toml"
    raw = tomllib.loads(example.read_text(encoding="utf-8"))
    raw["panel"].pop("whmcs_root")
    raw["panel"]["database_url"] = "sqlite:///example.sqlite"
    monkeypatch.setenv("WHMCS_API_IDENTIFIER", "ident")
    monkeypatch.setenv("WHMCS_API_SECRET", "secret")
    config = parse_config(raw, example)
    host = get_plugin_manager(config, load_entrypoints=False)
    assert host.names() == ["alerts", "upgrades"]


def test_outcomes_are_committed_a_hundred_events_at_once_by_default(tmp_path: Path) -> None:
    """Unless ``[run] outcomes_per_commit`` says otherwise (1: one commit per event), and the
    example config shows the default."""
    import tomllib

    from whmcs_bridge.config import OUTCOMES_PER_COMMIT

    assert OUTCOMES_PER_COMMIT == 100
    panel = '[panel]\ndatabase_url = "sqlite:///p"\n'
    assert load_config(write(tmp_path, panel)).outcomes_per_commit == 100
    one = load_config(write(tmp_path, panel + "[run]\noutcomes_per_commit = 1\n"))
    assert one.outcomes_per_commit == 1
    example = Path(__file__).resolve().parent.parent / "config" / "bridge.example.toml"
    raw = tomllib.loads(example.read_text(encoding="utf-8"))
    assert raw["run"]["outcomes_per_commit"] == OUTCOMES_PER_COMMIT
