"""The ``[plugins.cancellations]`` config section, read and checked once at start.

Keys and defaults::

    [plugins.cancellations]
    technical_department = "Soporte Técnico"  # id or name; products without a module (R-CA-5)
    domains = "ask"                # ask | no_renew | leave: the hosting's domain (R-CA-3)
    require_client_origin = true   # hold requests not made in the client area as `confirm` (R-CA-6)
    template_received = "cancelacion_recibida"   # WhatsApp template: request received
    template_terminated = "cancelacion_realizada"  # WhatsApp template: service terminated
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SECTION = "plugins.cancellations"
DOMAIN_MODES = ("ask", "no_renew", "leave")
KEYS = {
    "technical_department",
    "domains",
    "require_client_origin",
    "template_received",
    "template_terminated",
}


@dataclass(frozen=True)
class CancellationSettings:
    """The plugin's settings."""

    technical_department: int | str | None = None
    domains: str = "ask"
    require_client_origin: bool = True
    template_received: str = "cancelacion_recibida"
    template_terminated: str = "cancelacion_realizada"


def _template(section: dict[str, Any], key: str, default: str) -> str:
    value = section.get(key, default)
    text = value.strip() if isinstance(value, str) else ""
    if not text or not all(ch.islower() or ch.isdigit() or ch == "_" for ch in text):
        raise ValueError(
            f"{SECTION}.{key}: expected a WhatsApp template name (lower case, digits, _), "
            f"got {value!r}"
        )
    return text


def parse_settings(section: dict[str, Any]) -> CancellationSettings:
    """Read the section; raises ValueError whose text starts with the dotted key at fault."""
    for key in sorted(set(section) - KEYS):
        raise ValueError(f"{SECTION}.{key}: unknown key; expected one of {', '.join(sorted(KEYS))}")
    department = section.get("technical_department")
    if department is not None and (
        isinstance(department, bool)
        or not isinstance(department, int | str)
        or not str(department).strip()
    ):
        raise ValueError(f"{SECTION}.technical_department: expected a department id or name")
    domains = section.get("domains", "ask")
    if not isinstance(domains, str) or domains.strip().lower() not in DOMAIN_MODES:
        raise ValueError(
            f"{SECTION}.domains: expected one of {', '.join(DOMAIN_MODES)}, got {domains!r}"
        )
    origin = section.get("require_client_origin", True)
    if not isinstance(origin, bool):
        raise ValueError(f"{SECTION}.require_client_origin: expected true or false, got {origin!r}")
    return CancellationSettings(
        technical_department=department.strip() if isinstance(department, str) else department,
        domains=domains.strip().lower(),
        require_client_origin=origin,
        template_received=_template(section, "template_received", "cancelacion_recibida"),
        template_terminated=_template(section, "template_terminated", "cancelacion_realizada"),
    )
