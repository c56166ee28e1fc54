"""Local pacing: a global messages-per-second limit and a gap between sends to one recipient.

Both use the monotonic clock, so a wall-clock jump can neither burst nor stall delivery.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """At most ``rate`` acquisitions per second, never more, whatever the window.

    The capacity is one token: a larger bucket would allow a burst on top of the steady rate,
    and a burst of 2x the rate inside one second is exactly what provokes 130429.
    """

    def __init__(
        self,
        rate: float,
        capacity: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until there is one; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                # Rounding must not leave a token at 0.9999999 and the loop sleeping 1e-17 s.
                if self._tokens >= 1.0 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return waited
                need = (1.0 - self._tokens) / self.rate
            self._sleep(need)
            waited += need


class RecipientSpacing:
    """The monotonic time of the last send per (channel, recipient), in this process."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}

    def wait_for(self, channel: str, recipient: str) -> float:
        """Seconds to wait before the next send to this recipient may start (0 when free)."""
        last = self._last.get((channel, recipient))
        if last is None:
            return 0.0
        return max(0.0, last + self.interval - self._clock())

    def mark(self, channel: str, recipient: str) -> None:
        """A send to this recipient starts now."""
        self._last[(channel, recipient)] = self._clock()
