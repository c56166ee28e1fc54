"""The outbox's delivery settings: the ``[outbox]`` section of the config."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from whmcs_bridge.errors import ConfigError


@dataclass(frozen=True)
class OutboxSettings:
    """Delivery knobs; every one is a key of ``[outbox]`` with the same name."""

    # Meta's default throughput per business number: one cap, shared by every worker of the panel.
    rate_per_second: float = 80.0
    min_interval_per_recipient: float = 6.0  # Meta's pair rate (messaging.md §1.7)
    unknown_grace_seconds: float = 900.0
    sending_stale_seconds: float = 300.0  # a send older than this belongs to a dead process
    max_attempts: int = 8  # transient failures before a row is dead
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 3600.0
    recipient_backoff_seconds: float = 30.0  # first wait after 131056, doubled each time
    throttle_seconds: float = 60.0  # channel back-off after 130429 without retry_after
    pause_seconds: float = 3600.0  # channel pause after 131048 / 368
    unconfigured_retry_seconds: float = 3600.0  # rows for a channel no plugin offers
    claim_window: int = 50  # due rows a claim looks at to find a free recipient
    # At most this many sends in flight in one delivery (a thread each); below it, as many as the
    # rate and the provider's answer time need (3 x rate x answer time, and a reserve).
    send_concurrency: int = 256
    # Extra seconds on the 1-s window of the rate limit, for the jitter between the moment a
    # request leaves (when it is counted) and the moment Meta's window counts it (the network),
    # so the window measured there stays at the limit. Costs 0.4% of the rate.
    rate_margin_seconds: float = 0.004
    delivery_time_budget: float = 45.0  # one cron minute, minus the rest of the cycle
    webhook_late_minutes: float = 10.0  # a status older than this is logged as late (and applied)

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_config(cls, section: dict[str, Any], path: str | None = None) -> OutboxSettings:
        """Read the known keys of the section; a wrong type or a negative value is a ConfigError."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in section:
                continue
            value = section[f.name]
            want = int if f.type == "int" else float
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigError(
                    f"expected a finite number of at least 0, got {value!r}",
                    path=path,
                    key=f"outbox.{f.name}",
                )
            values[f.name] = want(value)
        settings = cls(**values)
        if settings.rate_per_second <= 0:
            raise ConfigError(
                "expected messages per second above 0",
                path=path,
                key="outbox.rate_per_second",
            )
        return settings
