"""The ``[plugins.upgrades]`` config section, read and checked in one place.

Keys and defaults::

    [plugins.upgrades]
    policy = "difference"          # difference | prorata | full           (R-UP-1)
    downgrade = "none"             # none | credit                          (R-UP-4)
    full_unused = "deduct"         # deduct | credit   (policy "full" only)
    difference_basis = "unused"    # unused | paid  (policy "difference", change of cycle)
    manual_department = "Ventas"   # ticket department for the manual path, id or name (R-UP-3)
    manual_without_module = true   # a product with no provisioning module takes the manual path
    correct_invoices = false       # upgrade.ordered: rewrite the invoice line to the policy price

    [plugins.upgrades.groups]      # policy per product group, by group id or group name
    "1" = "prorata"
    "Servidores VPS" = "full"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .pricing import DEFAULT_POLICY, DIFFERENCE_BASES, POLICIES

SECTION = "plugins.upgrades"
DOWNGRADE_MODES = ("none", "credit")
UNUSED_MODES = ("deduct", "credit")
KEYS = {
    "policy",
    "groups",
    "downgrade",
    "full_unused",
    "difference_basis",
    "manual_department",
    "manual_without_module",
    "correct_invoices",
}


@dataclass(frozen=True)
class UpgradeSettings:
    """The plugin's settings; ``groups`` keys are group ids as text or lower-cased names."""

    policy: str = DEFAULT_POLICY
    groups: dict[str, str] = field(default_factory=dict)
    downgrade: str = "none"
    full_unused: str = "deduct"
    # Under ``difference`` across a change of cycle (monthly 30 to annual 150): deduct the
    # ``unused`` part of the current cycle (150 - 15 half-way through the month) or the whole
    # amount ``paid`` for it (150 - 30 = 120, R-UP-1's words read literally).
    difference_basis: str = "unused"
    manual_department: int | str | None = None
    manual_without_module: bool = True
    correct_invoices: bool = False

    def policy_for(self, group_id: int, group_name: str) -> str:
        """The policy for a product of this group: by id, then by name, then the global one."""
        by_id = self.groups.get(str(group_id))
        if by_id is not None:
            return by_id
        return self.groups.get(group_name.strip().lower(), self.policy)


def _choice(section: dict[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        raise ValueError(f"{SECTION}.{key}: expected one of {', '.join(allowed)}, got {value!r}")
    return value.strip().lower()


def _flag(section: dict[str, Any], key: str, default: bool) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{SECTION}.{key}: expected true or false, got {value!r}")
    return value


def parse_settings(section: dict[str, Any]) -> UpgradeSettings:
    """Read the section; raises ValueError whose text starts with the dotted key at fault."""
    for key in sorted(set(section) - KEYS):
        raise ValueError(f"{SECTION}.{key}: unknown key; expected one of {', '.join(sorted(KEYS))}")
    policies = tuple(POLICIES)
    groups_raw = section.get("groups", {})
    if not isinstance(groups_raw, dict):
        raise ValueError(f"{SECTION}.groups: expected a table of group = policy")
    groups: dict[str, str] = {}
    for name, value in groups_raw.items():
        if not isinstance(value, str) or value.strip().lower() not in policies:
            raise ValueError(
                f"{SECTION}.groups.{name}: expected one of {', '.join(policies)}, got {value!r}"
            )
        groups[str(name).strip().lower()] = value.strip().lower()
    department = section.get("manual_department")
    if department is not None and (
        isinstance(department, bool) or not isinstance(department, int | str)
    ):
        raise ValueError(f"{SECTION}.manual_department: expected a department id or name")
    return UpgradeSettings(
        policy=_choice(section, "policy", policies, DEFAULT_POLICY),
        groups=groups,
        downgrade=_choice(section, "downgrade", DOWNGRADE_MODES, "none"),
        full_unused=_choice(section, "full_unused", UNUSED_MODES, "deduct"),
        difference_basis=_choice(section, "difference_basis", DIFFERENCE_BASES, "unused"),
        manual_department=department,
        manual_without_module=_flag(section, "manual_without_module", True),
        correct_invoices=_flag(section, "correct_invoices", False),
    )
