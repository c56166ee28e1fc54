"""Reads the few settings the bridge needs from WHMCS's own ``configuration.php``.

The file is parsed as text, never executed: only simple ``$name = 'value';`` assignments of the
names below are recognised.
"""

from __future__ import annotations

import re
from pathlib import Path

from whmcs_bridge.errors import ConfigError

WANTED = ("db_host", "db_port", "db_username", "db_password", "db_name", "api_access_key")

_ASSIGNMENT = re.compile(
    r"""^\s*\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*
        (?:'(?P<single>(?:[^'\\]|\\.)*)'|"(?P<double>(?:[^"\\$]|\\.)*)"|(?P<number>\d+))
        \s*;""",
    re.VERBOSE | re.MULTILINE,
)
_DOUBLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$", "0": "\0"}


def _unescape_single(text: str) -> str:
    return re.sub(r"\\([\\'])", r"\1", text)


def _unescape_double(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _DOUBLE_ESCAPES.get(m.group(1), "\\" + m.group(1)), text)


def parse_configuration_php(text: str) -> dict[str, str]:
    """The wanted ``$name = value;`` assignments of a WHMCS ``configuration.php`` text."""
    found: dict[str, str] = {}
    for match in _ASSIGNMENT.finditer(text):
        name = match.group("name")
        if name not in WANTED:
            continue
        if match.group("single") is not None:
            found[name] = _unescape_single(match.group("single"))
        elif match.group("double") is not None:
            found[name] = _unescape_double(match.group("double"))
        else:
            found[name] = match.group("number")
    return found


def read_whmcs_root(whmcs_root: Path, *, config_path: str) -> dict[str, str]:
    """Settings from ``<whmcs_root>/configuration.php``; errors name the file and the key."""
    php_file = whmcs_root / "configuration.php"
    try:
        text = php_file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(
            f"cannot read {php_file}: {exc.strerror}; expected the WHMCS install folder",
            path=config_path,
            key="panel.whmcs_root",
        ) from None
    settings = parse_configuration_php(text)
    missing = [name for name in ("db_host", "db_username", "db_name") if name not in settings]
    if missing:
        raise ConfigError(
            f"{php_file} does not set {', '.join('$' + m for m in missing)}",
            path=config_path,
            key="panel.whmcs_root",
        )
    return settings
