"""Errors the bridge expects and reports as a clear message, never as a traceback.

Every error an admin can cause or fix (a bad config line, an unreachable database, a refused API
call) is a :class:`BridgeError`. The CLI prints ``str(error)`` and exits with ``exit_code``.
Messages never contain secrets: callers pass host names and keys, never passwords or tokens.
"""

from __future__ import annotations


class BridgeError(Exception):
    """An expected failure with a message fit for an admin."""

    exit_code = 1


class ConfigError(BridgeError):
    """The config (or a file it names) is wrong: says the file, the key, what was expected."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = ", ".join(part for part in (path, f"key '{key}'" if key else None) if part)
        super().__init__(f"{where}: {message}" if where else message)


class PanelUnreachable(BridgeError):
    """The panel database is unreachable or refused us: names the host, never the password."""


class SchemaError(BridgeError):
    """The database does not hold a WHMCS schema the bridge recognises."""


class PluginError(BridgeError):
    """A plugin could not be found, loaded or configured; names the plugin."""

    exit_code = 2


class LockHeld(BridgeError):
    """Another cycle holds the lock; not a failure (exit 0)."""

    exit_code = 0
