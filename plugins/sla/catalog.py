"""The plans and SLA kinds the rules define: names, labels, targets, channels (R-SL-2..7).

``[plugins.sla]`` (:mod:`.settings`) may override a plan's target, clock and channels.
"""

from __future__ import annotations

from dataclasses import dataclass

PLANS = ("standard", "professional", "full")
#: The source calls the middle plan both "Profesional" and "Premium" (R-SL-6).
ALIASES = {"premium": "professional", "profesional": "professional", "estandar": "standard"}
PLAN_LABELS = {"standard": "Standard", "professional": "Professional (Premium)", "full": "Full"}
CLOCKS = ("business", "24x7")
#: R-SL-7, cumulative: each plan has the channels of the one before it.
CHANNELS = {
    "standard": ("bot", "tutorials", "manuals", "tickets", "chat"),
    "professional": ("remote_support", "phone", "courses"),
    "full": ("whatsapp", "telegram", "video_tutorials"),
}
#: R-SL-6 first-response targets, in minutes of the plan's clock.
TARGETS = {"standard": 8 * 60, "professional": 2 * 60, "full": 15}
#: SLA kinds (R-SL-2..5): 1 advice, 2 maintenance, 3 error reports, 4 web and software.
KINDS = {1: "advice", 2: "maintenance", 3: "error reports", 4: "web and software"}
ROUND_THE_CLOCK_KINDS = frozenset({2, 3})


def plan_rank(plan: str) -> int:
    return PLANS.index(plan)


def plan_channels(plan: str) -> tuple[str, ...]:
    """Every channel a plan includes (R-SL-7: each plan adds to the one below)."""
    found: list[str] = []
    for name in PLANS[: plan_rank(plan) + 1]:
        found.extend(CHANNELS[name])
    return tuple(found)


@dataclass(frozen=True)
class Plan:
    name: str
    target_minutes: int
    clock: str
    channels: tuple[str, ...]

    @property
    def label(self) -> str:
        return PLAN_LABELS[self.name]


def default_plans() -> dict[str, Plan]:
    return {name: Plan(name, TARGETS[name], "business", plan_channels(name)) for name in PLANS}
