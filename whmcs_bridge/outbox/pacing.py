"""Local pacing: a global messages-per-second limit and a gap between sends to one recipient.

Both use the monotonic clock, so a wall-clock jump can neither burst nor stall delivery, and both
are shared by the sending threads of one process (every method is thread-safe).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class TokenBucket:
    """At most ``rate`` request starts per second, never more, whatever the window.

    Two rules, both on the moment a caller is let through (just before its request starts):

    * consecutive starts are ``(window + margin) / floor(rate x window)`` apart, at least
      ``1 / rate`` (a bucket of one token: a burst of 2x the rate inside one second is exactly
      what provokes 130429), less at most ``margin`` when a thread woke that little late and
      the next one is on time;
    * at most ``floor(rate)`` starts in any ``window + margin`` seconds, counted on the times the
      callers really went (after their sleep), so a thread that woke late cannot make the next
      ones bunch up. ``margin`` covers the few milliseconds between our start and the provider's
      clock (thread switches, building the request).

    Callers reserve their slot under a lock and sleep outside it, in the order they came, so
    any number of threads share one bucket fairly.
    """

    def __init__(
        self,
        rate: float,
        capacity: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        window: float = 1.0,
        margin: float = 0.0,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.rate = rate
        self.capacity = capacity  # kept for callers; the bucket never holds more than one token
        self.window = window
        self.margin = margin
        self._interval = self._spacing(rate)
        self._clock = clock
        self._sleep = sleep
        self._next = -math.inf  # the earliest slot the next caller may reserve
        # The counted starts, oldest first; each a one-item list a later write may move on.
        self._starts: deque[list[float]] = deque(maxlen=max(1, math.floor(rate * window)))
        self._mine = threading.local()  # this thread's last start and its slot
        self._last_write = -math.inf  # the latest request written (or about to be) by any thread
        self._lock = threading.Lock()

    def _spacing(self, rate: float) -> float:
        """Seconds between two slots: the window rule's pace, so that it never has to hold a
        start back in steady running. Held back, a start copies the jitter of the one a window
        earlier, and the rate's shape wandered (gaps of 6-18 ms at 80/s, 79.4/s)."""
        per_window = max(1, math.floor(rate * self.window))
        return max(1.0 / rate, (self.window + self.margin) / per_window)

    def set_rate(self, rate: float) -> None:
        """A new rate from the next reservation on; the real starts already counted stay."""
        if rate <= 0:
            raise ValueError("rate must be above 0")
        with self._lock:
            if rate == self.rate:
                return
            self.rate = rate
            self._interval = self._spacing(rate)
            self._starts = deque(self._starts, maxlen=max(1, math.floor(rate * self.window)))

    def acquire(self) -> float:
        """Wait for this caller's turn; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
        waited = 0.0
        if slot > now:
            self._sleep(slot - now)
            waited += slot - now
        span = self.window + self.margin
        while True:
            with self._lock:
                now = self._clock()
                starts = self._starts
                free_at = starts[0][0] + span if len(starts) == starts.maxlen else now
                if now >= free_at:
                    start = [now]
                    starts.append(start)
                    self._mine.start, self._mine.slot = start, slot
                    self._push_after(now, slot)
                    return waited
            self._sleep(free_at - now)
            waited += free_at - now

    def ready(self) -> None:
        """This thread is about to write its request: not closer than ``1 / rate`` less the
        margin to the last write of any thread. Let start on time, a thread that then stalled
        (GC, a busy host) would otherwise write together with the next one."""
        while True:
            with self._lock:
                now = self._clock()
                turn = self._last_write + self._interval - self.margin
                if now >= turn:
                    self._last_write = now
                    return
            self._sleep(turn - now)

    def written(self) -> None:
        """This thread's request left now: count it at this moment, not when it was let start.

        Only ever later, so the window rule stays safe: the oldest counted start is at least as
        late as any of the others it stands for.
        """
        start = getattr(self._mine, "start", None)
        if start is None:
            return
        with self._lock:
            now = self._clock()
            self._last_write = max(self._last_write, now)
            if now > start[0]:
                start[0] = now
                self._push_after(now, self._mine.slot)
        self._mine.start = None

    def _push_after(self, start: float, slot: float) -> None:
        """After a stall, not jitter: nobody goes sooner than an interval after ``start``. A
        start late by less than the margin shifts no one: pushing every later slot by each
        one's few tenths of a ms cost ~2% of the rate. (Under the lock.)"""
        if start - slot > self.margin:
            self._next = max(self._next, start + self._interval)


class RecipientSpacing:
    """The monotonic time of the last send per (channel, recipient), in this process."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def wait_for(self, channel: str, recipient: str) -> float:
        """Seconds to wait before the next send to this recipient may start (0 when free)."""
        with self._lock:
            last = self._last.get((channel, recipient))
        if last is None:
            return 0.0
        return max(0.0, last + self.interval - self._clock())

    def mark(self, channel: str, recipient: str) -> None:
        """A send to this recipient starts now."""
        with self._lock:
            self._last[(channel, recipient)] = self._clock()
