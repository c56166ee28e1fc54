"""The panel's time: WHMCS stores naive local times in the panel's time zone."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


class Clock:
    """Now and today in the panel's time zone; tests pass a fixed ``now``."""

    def __init__(self, timezone: ZoneInfo, now: Callable[[], datetime] | None = None) -> None:
        self.timezone = timezone
        self._now = now or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        """Aware datetime in the panel's time zone."""
        return self._now().astimezone(self.timezone)

    def panel_now(self) -> datetime:
        """Naive local datetime, as WHMCS writes it into its own columns."""
        return self.now().replace(tzinfo=None, microsecond=0)

    def today(self) -> date:
        return self.now().date()

    def sleep(self, seconds: float) -> None:
        """Wait; a test clock moves itself forward instead (the seam for waiting code)."""
        time.sleep(seconds)

    def to_panel(self, naive_local: datetime) -> datetime:
        """Attach the panel's zone to a naive datetime read from the panel."""
        return naive_local.replace(tzinfo=self.timezone)
