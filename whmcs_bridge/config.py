"""The bridge's config file (TOML): where the panel is, what runs, and each plugin's own section.

The path comes from ``--config`` or ``WHMCS_BRIDGE_CONFIG``. Every error names the file, the key
and what was expected. Secrets may be written inline or as ``{"$env" = "NAME"}`` /
``{"$file" = "path"}``; they are held as :class:`~whmcs_bridge.secrets.Secret`.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from whmcs_bridge.errors import ConfigError
from whmcs_bridge.outbox.settings import OutboxSettings
from whmcs_bridge.secrets import Secret, resolve, reveal
from whmcs_bridge.whmcs_config import read_whmcs_root

ENV_VAR = "WHMCS_BRIDGE_CONFIG"
DEFAULT_TIMEZONE = "America/Argentina/Buenos_Aires"
TOP_LEVEL_KEYS = {"panel", "api", "plugins", "run", "serve", "channels", "outbox"}
#: ``[run] outcomes_per_commit`` unless set: a commit per event waits on the disk each time
#: (1,000-2,100 events/s), one per 100 takes a burst at 6,000-12,000/s (issue 17).
OUTCOMES_PER_COMMIT = 100
#: The keys of each core channel's section ``[channels.<name>]``; numbers are seconds.
CHANNEL_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "whatsapp": {
        "api_base": str,
        "version": str,
        "phone_number_id": (str, int),
        "token": str,
        "app_secret": str,
        "verify_token": str,
        "timeout": (int, float),
    },
    "telegram": {"api_base": str, "token": str, "timeout": (int, float)},
    "email": {},
    "console": {},
}


@dataclass
class ApiConfig:
    """How to reach the WHMCS API (``includes/api.php``)."""

    url: str
    identifier: Secret | None
    secret: Secret | None
    accesskey: Secret | None
    timeout: float = 10.0


@dataclass
class BridgeConfig:
    """The whole config, validated."""

    path: str
    database_url: URL
    timezone: ZoneInfo
    system_url: str
    api: ApiConfig | None
    enabled: list[str]
    plugins_dir: Path | None
    plugin_sections: dict[str, dict[str, Any]]
    #: Failures of a plugin on one event before quarantine; None = only the time span counts.
    max_tries: int | None = None
    #: A failing plugin is retried with backoff (first wait ``retry_base_seconds``, doubling up
    #: to an hour) for ``retry_span_seconds``, then quarantined (issue 9 point 3).
    retry_base_seconds: float = 60.0
    retry_span_seconds: float = 86400.0
    #: Events whose outcomes dispatch commits at once (and at least every half second): a
    #: crash re-runs the idempotent handlers of at most that many; 1: each event's at once.
    outcomes_per_commit: int = OUTCOMES_PER_COMMIT
    serve: dict[str, Any] = field(default_factory=dict)
    #: ``[channels.<name>]`` sections, secrets resolved; a channel without one is not offered
    #: (but ``email`` with an ``[api]`` and ``console``, which need no settings).
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)

    def plugin_config(self, name: str) -> dict[str, Any]:
        """The plugin's own section (``[plugins.<name>]``), secrets resolved; ``{}`` if absent."""
        return self.plugin_sections.get(name, {})

    def database_label(self) -> str:
        """Where the panel database is, for messages: never the password."""
        url = self.database_url
        if url.get_backend_name() == "sqlite":
            return f"sqlite file {url.database}"
        host = f"{url.host or 'localhost'}:{url.port or 3306}"
        return f"{host} (database {url.database}, user {url.username})"


class _Reader:
    """Typed access to a TOML table, with errors that name the file and the dotted key."""

    def __init__(self, path: str, table: dict[str, Any], prefix: str) -> None:
        self.path, self.table, self.prefix = path, table, prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.path, key=self.key(name))

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value = self.table.get(name, default)
        if value is None or (
            isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        ):
            return value
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise self.fail(name, f"expected {names}, got {type(value).__name__} {value!r}")

    def secret(self, name: str, base_dir: Path) -> Secret | None:
        value = resolve(self.table.get(name), path=self.path, key=self.key(name), base_dir=base_dir)
        if value is None or isinstance(value, Secret):
            return value
        if isinstance(value, str):
            return Secret(value)
        raise self.fail(name, 'expected a string, {"$env" = "NAME"} or {"$file" = "path"}')

    def unknown(self, allowed: set[str]) -> None:
        extra = sorted(set(self.table) - allowed)
        if extra:
            raise self.fail(extra[0], f"unknown key; expected one of: {', '.join(sorted(allowed))}")


def config_path(explicit: str | None) -> Path:
    """The config file to read: ``--config``, else ``$WHMCS_BRIDGE_CONFIG``."""
    chosen = explicit or os.environ.get(ENV_VAR)
    if not chosen:
        raise ConfigError(f"no config file: pass --config FILE or set {ENV_VAR}")
    return Path(chosen).expanduser()


def load_config(explicit: str | None = None) -> BridgeConfig:
    """Read, validate and resolve the config file."""
    path = config_path(explicit)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror}", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8",
            path=str(path),
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(path)) from None
    return parse_config(raw, path)


def parse_config(raw: dict[str, Any], path: Path) -> BridgeConfig:
    """Validate a parsed TOML document (see ``config/bridge.example.toml``)."""
    where, base_dir = str(path), path.parent
    _Reader(where, raw, "").unknown(TOP_LEVEL_KEYS)
    panel = _Reader(where, _table(raw, "panel", where), "panel")
    panel.unknown({"whmcs_root", "database_url", "database_password", "timezone", "system_url"})

    php: dict[str, str] = {}
    root = panel.get("whmcs_root", str)
    if root:
        php = read_whmcs_root(base_dir / Path(root).expanduser(), config_path=where)
    database_url = _database_url(panel, php, base_dir)

    tz_name = panel.get("timezone", str, DEFAULT_TIMEZONE)
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise panel.fail(
            "timezone", f"unknown time zone {tz_name!r}; expected e.g. {DEFAULT_TIMEZONE!r}"
        ) from None
    system_url = panel.get("system_url", str, "")

    api = _api_config(_Reader(where, _table(raw, "api", where), "api"), php, system_url, base_dir)

    plugins = _Reader(where, _table(raw, "plugins", where), "plugins")
    enabled = plugins.get("enabled", list, [])
    if not all(isinstance(name, str) for name in enabled):
        raise plugins.fail("enabled", "expected a list of plugin names (strings)")
    plugins_dir = plugins.get("plugins_dir", str)
    sections: dict[str, dict[str, Any]] = {}
    for name, value in plugins.table.items():
        if name in ("enabled", "plugins_dir"):
            continue
        if not isinstance(value, dict):
            raise plugins.fail(name, "expected a table [plugins.<name>] with the plugin's settings")
        sections[name] = resolve(value, path=where, key=f"plugins.{name}", base_dir=base_dir)

    run = _Reader(where, _table(raw, "run", where), "run")
    run.unknown({"max_tries", "retry_span_hours", "retry_base_seconds", "outcomes_per_commit"})
    max_tries = run.get("max_tries", int, None)
    if max_tries is not None and max_tries < 1:
        raise run.fail("max_tries", "expected a whole number of at least 1")
    span = run.get("retry_span_hours", (int, float), 24)
    if isinstance(span, bool) or not 0 < span <= 24 * 30:
        raise run.fail("retry_span_hours", "expected hours above 0, at most 720 (30 days)")
    base = run.get("retry_base_seconds", (int, float), 60)
    if isinstance(base, bool) or not 0 <= base <= 3600:
        raise run.fail("retry_base_seconds", "expected seconds from 0 to 3600")
    per_commit = run.get("outcomes_per_commit", int, OUTCOMES_PER_COMMIT)
    if isinstance(per_commit, bool) or not 1 <= per_commit <= 1000:
        raise run.fail("outcomes_per_commit", "expected a whole number from 1 to 1000")

    serve = _Reader(where, _table(raw, "serve", where), "serve")
    serve.unknown({"host", "port", "interval", "wake_secret", "threads"})
    serve_settings = {
        "host": serve.get("host", str, "127.0.0.1"),
        "port": serve.get("port", int, 8742),
        "interval": serve.get("interval", (int, float), 60),
        "threads": serve.get("threads", int, 4),
        "wake_secret": serve.secret("wake_secret", base_dir),
    }
    _check_serve(serve, serve_settings)
    channels = _channels(_Reader(where, _table(raw, "channels", where), "channels"), base_dir)
    outbox = _Reader(where, _table(raw, "outbox", where), "outbox")
    outbox.unknown(set(OutboxSettings.keys()))
    return BridgeConfig(
        path=where,
        channels=channels,
        outbox=OutboxSettings.from_config(outbox.table, where),
        database_url=database_url,
        timezone=timezone,
        system_url=system_url,
        api=api,
        enabled=list(enabled),
        plugins_dir=(base_dir / Path(plugins_dir).expanduser()) if plugins_dir else None,
        plugin_sections=sections,
        max_tries=max_tries,
        retry_base_seconds=float(base),
        retry_span_seconds=float(span) * 3600,
        outcomes_per_commit=per_commit,
        serve=serve_settings,
    )


def _channels(channels: _Reader, base_dir: Path) -> dict[str, dict[str, Any]]:
    """``[channels.<name>]``: known channels and keys, each value of the expected type."""
    found: dict[str, dict[str, Any]] = {}
    for name, value in channels.table.items():
        if name not in CHANNEL_KEYS:
            raise channels.fail(
                name, f"unknown channel; expected one of: {', '.join(sorted(CHANNEL_KEYS))}"
            )
        if not isinstance(value, dict):
            raise channels.fail(name, f"expected a table [channels.{name}]")
        section = _Reader(channels.path, value, f"channels.{name}")
        kinds = CHANNEL_KEYS[name]
        section.unknown(set(kinds))
        settings: dict[str, Any] = {}
        for key, kind in kinds.items():
            if key in ("token", "app_secret", "verify_token"):
                settings[key] = section.secret(key, base_dir)
            elif key in value:
                settings[key] = section.get(key, kind)
        timeout = settings.get("timeout")
        if timeout is not None and not 0 < timeout <= 300:  # also refuses nan (TOML has it)
            raise section.fail("timeout", "expected a number of seconds above 0, at most 300")
        found[name] = {k: v for k, v in settings.items() if v is not None}
    return found


def _check_serve(serve: _Reader, settings: dict[str, Any]) -> None:
    """``[serve]`` values that would make a busy loop, a server that never answers, or one that
    listens elsewhere than it says (issue 12)."""
    if not settings["host"].strip():
        raise serve.fail("host", "expected an address to listen on, e.g. 127.0.0.1")
    if not 1 <= settings["port"] <= 65535:
        raise serve.fail("port", f"expected a TCP port from 1 to 65535, got {settings['port']}")
    interval = settings["interval"]
    if not (math.isfinite(interval) and 1 <= interval <= 86400):
        raise serve.fail("interval", f"expected seconds from 1 to 86400, got {interval!r}")
    if not 1 <= settings["threads"] <= 256:
        raise serve.fail("threads", f"expected 1 to 256 threads, got {settings['threads']}")


def _table(raw: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"expected a table [{name}]", path=where, key=name)
    return value


def _database_url(panel: _Reader, php: dict[str, str], base_dir: Path) -> URL:
    text = panel.get("database_url", str)
    password = panel.secret("database_password", base_dir)
    if text:
        try:
            url = make_url(text)
        except ValueError:  # a port that is not a number; the text may hold a password
            raise panel.fail(
                "database_url",
                "the port is not a number; expected a URL like "
                "mysql+pymysql://user@host:3306/whmcs or sqlite:///panel.sqlite",
            ) from None
        except ArgumentError:
            raise panel.fail(
                "database_url",
                "expected a URL like mysql+pymysql://user@host:3306/whmcs or sqlite:///panel.sqlite",
            ) from None
        if url.get_backend_name() not in ("mysql", "mariadb", "sqlite"):
            raise panel.fail("database_url", "expected a mysql+pymysql:// or sqlite:/// URL")
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            url = url.set(database=str(base_dir / Path(url.database).expanduser()))
            folder = Path(str(url.database)).parent
            if not folder.is_dir():
                raise panel.fail("database_url", f"the SQLite file's folder {folder} is missing")
        if password is not None:
            url = url.set(password=password.reveal())
        return url
    if php:
        port = php.get("db_port") or "3306"
        if not port.isdigit():
            raise panel.fail(
                "whmcs_root", f"configuration.php sets $db_port to {port!r}: expected a number"
            )
        return URL.create(
            "mysql+pymysql",
            username=php["db_username"],
            password=reveal(password) if password is not None else php.get("db_password", ""),
            host=php["db_host"],
            port=int(port),
            database=php["db_name"],
            query={"charset": "utf8mb4"},
        )
    raise panel.fail("whmcs_root", "expected whmcs_root (the WHMCS folder) or database_url")


def _api_config(
    api: _Reader, php: dict[str, str], system_url: str, base_dir: Path
) -> ApiConfig | None:
    api.unknown({"url", "identifier", "secret", "accesskey", "timeout"})
    if not api.table:
        return None
    url = api.get("url", str, system_url)
    if not url:
        raise api.fail("url", "expected the panel's address, e.g. https://panel.example.com/")
    identifier = api.secret("identifier", base_dir)
    secret = api.secret("secret", base_dir)
    if not identifier or not secret:
        missing = "identifier" if not identifier else "secret"
        raise api.fail(
            missing,
            "expected the API credential created in WHMCS (System Settings > API Credentials)",
        )
    accesskey = api.secret("accesskey", base_dir)
    if accesskey is None and php.get("api_access_key"):
        accesskey = Secret(php["api_access_key"])
    timeout = api.get("timeout", (int, float), 10.0)
    if not 0 < timeout <= 300:  # also refuses nan and inf (TOML has them)
        raise api.fail("timeout", "expected a number of seconds above 0, at most 300")
    return ApiConfig(
        url=url, identifier=identifier, secret=secret, accesskey=accesskey, timeout=float(timeout)
    )
