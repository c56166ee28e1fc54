"""Which plan a client has (R-SL-6), what a ticket's response target is, and the channels a
plan includes (R-SL-7).

A client's plan is the best one any of its live products, addons or its client group is mapped
to in the config; with none, ``default_plan`` (``standard``: it comes with every service).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from whmcs_bridge.plugin import queries

from .catalog import PLANS, plan_rank
from .settings import SlaSettings

Holdings = queries.holdings.Holdings


@dataclass(frozen=True)
class PlanChoice:
    plan: str
    because: str  # "product 'Soporte Full'", "client group 3", "default"


def _match(mapping: dict[str, str], item_id: int, name: str) -> str | None:
    return mapping.get(str(item_id)) or mapping.get(name.strip().lower())


def plan_of(settings: SlaSettings, held: Holdings | None) -> PlanChoice:
    """The client's plan from what it holds (``None``: a guest, or a client gone)."""
    best = PlanChoice(settings.default_plan, "default")
    if held is None:
        return best
    found: list[PlanChoice] = []
    for product_id, name in sorted(held.products):
        plan = _match(settings.products, product_id, name)
        if plan:
            found.append(PlanChoice(plan, f"product {name or product_id!r}"))
    for addon_id, name in sorted(held.addons):
        plan = _match(settings.addons, addon_id, name)
        if plan:
            found.append(PlanChoice(plan, f"addon {name or addon_id!r}"))
    if held.group_id:
        plan = _match(settings.client_groups, held.group_id, held.group_name)
        if plan:
            found.append(PlanChoice(plan, f"client group {held.group_name or held.group_id!r}"))
    if not found:
        return best
    # The best plan held wins; the first reason of that plan is named.
    return max(found, key=lambda choice: plan_rank(choice.plan))


@dataclass(frozen=True)
class Target:
    """A ticket's first-response target: minutes on a clock."""

    minutes: int
    clock: str  # business | 24x7
    kind: int  # SLA 1-4
    p1: bool


def target_for(
    settings: SlaSettings, plan: str, department_id: int, department_name: str, priority: str
) -> Target:
    """R-SL-2..6: the plan's target on its clock; SLA 2 and 3 departments run round the clock;
    SLA 4 answers within ``sla4_minutes`` (2 hours) of business time; a ``full`` client's P1
    (the configured priority in a critical department) gets ``p1_minutes`` on ``p1_clock``."""
    kind = settings.kind_of(department_id, department_name)
    p1 = (
        plan == "full"
        and priority.strip().lower() == settings.p1_priority.lower()
        and settings.is_critical(department_id, department_name)
    )
    if p1:
        return Target(settings.p1_minutes, settings.p1_clock, kind, True)
    spec = settings.plan(plan)
    minutes, clock = spec.target_minutes, spec.clock
    if kind in (2, 3):
        clock = "24x7"
    elif kind == 4:
        minutes = min(minutes, settings.sla4_minutes)
    return Target(minutes, clock, kind, False)


#: What a client may ask for in a ticket, by channel (Spanish and English words).
CHANNEL_WORDS = {
    "phone": r"tel[eé]fon\w*|llam(?:ar|ada|en|eme|enme)\w*|phone|call me",
    "whatsapp": r"whats\s?app|wsp|wpp|whatsapp",
    "telegram": r"telegram",
    "remote_support": r"soporte remoto|acceso remoto|remote support|rustdesk|anydesk|teamviewer",
}
_PATTERNS = {
    name: re.compile(rf"\b(?:{words})\b", re.IGNORECASE) for name, words in CHANNEL_WORDS.items()
}


def requested_channels(text: str) -> tuple[str, ...]:
    """The channels a ticket's text asks for (phone, WhatsApp, Telegram, remote support)."""
    return tuple(name for name, pattern in _PATTERNS.items() if pattern.search(text))


def missing_channels(settings: SlaSettings, plan: str, text: str) -> list[tuple[str, str]]:
    """(channel, the lowest plan that includes it) for each channel asked for that ``plan``
    lacks."""
    have = set(settings.plan(plan).channels)
    missing = []
    for channel in requested_channels(text):
        if channel in have:
            continue
        owner = next((p for p in PLANS if channel in settings.plan(p).channels), None)
        if owner is not None:
            missing.append((channel, owner))
    return missing
