"""Secret values from the config: kept out of logs, errors, reprs and ``--json`` output."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from whmcs_bridge.errors import ConfigError


class Secret:
    """A value that prints as ``***``; :meth:`reveal` is the only way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def resolve(value: Any, *, path: str, key: str, base_dir: Path | None = None) -> Any:
    """Resolve ``{"$env" = "NAME"}`` and ``{"$file" = "path"}`` indirections into :class:`Secret`.

    Plain strings pass through unchanged; nested tables and lists are resolved recursively, so a
    plugin section may hold indirected secrets at any depth.
    """
    if isinstance(value, dict):
        if set(value) == {"$env"}:
            name = value["$env"]
            if not isinstance(name, str) or name not in os.environ:
                raise ConfigError(f"environment variable {name!r} is not set", path=path, key=key)
            return Secret(os.environ[name])
        if set(value) == {"$file"}:
            file_path = Path(str(value["$file"])).expanduser()
            if base_dir is not None and not file_path.is_absolute():
                file_path = base_dir / file_path
            try:
                return Secret(file_path.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ConfigError(
                    f"cannot read secret file {file_path}: {exc.strerror}", path=path, key=key
                ) from None
        if any(k.startswith("$") for k in value):
            raise ConfigError(
                'expected {"$env" = "NAME"} or {"$file" = "path"}', path=path, key=key
            )
        return {
            k: resolve(v, path=path, key=f"{key}.{k}", base_dir=base_dir) for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            resolve(v, path=path, key=f"{key}[{i}]", base_dir=base_dir) for i, v in enumerate(value)
        ]
    return value


def reveal(value: str | Secret | None) -> str | None:
    """The plain text of a value that may or may not be a :class:`Secret`."""
    if isinstance(value, Secret):
        return value.reveal()
    return value


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***`` (for a provider's error text, a log line)."""
    # Longest first, so a secret that contains another is not left half-masked.
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def redact(value: Any) -> Any:
    """A copy fit for ``--json`` output: every :class:`Secret` becomes ``"***"``."""
    if isinstance(value, Secret):
        return "***"
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
