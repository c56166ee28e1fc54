"""What to do with a row after a failed send, by error kind (messaging.md §1.6, §1.10, §6.1).

Pure functions of the error, the row's history and the settings, so the worker and the status
webhook share one table and tests can read it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from whmcs_bridge.channels.base import SendError
from whmcs_bridge.outbox.settings import OutboxSettings
from whmcs_bridge.outbox.tables import DEAD, FAILED, QUEUED, UNKNOWN

# Telegram answers these when a chat cannot be reached at all: worth an e-mail instead.
_TELEGRAM_UNREACHABLE = ("blocked", "chat not found", "can't initiate", "deactivated", "kicked")


@dataclass(frozen=True)
class ChannelAction:
    """Stop a whole channel: ``throttled``/``paused`` until a time, ``broken`` until resumed."""

    state: str
    reason: str
    until: datetime | None


@dataclass(frozen=True)
class Decision:
    """The row's next state and what else follows from the failure."""

    state: str
    next_attempt_at: datetime | None
    count_failure: bool = False
    channel: ChannelAction | None = None
    hold_recipient_until: datetime | None = None
    count_hold: bool = False
    fallback: bool = False


def backoff(settings: OutboxSettings, failures: int, rng: random.Random | None = None) -> float:
    """Seconds before retry number ``failures`` (1-based): capped doubling with equal jitter.

    Half the delay is fixed and half random, so retries spread out but never come back sooner
    than half the schedule.
    """
    delay = min(settings.retry_cap_seconds, settings.retry_base_seconds * 2 ** (failures - 1))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def unreachable(channel: str, error: SendError) -> bool:
    """Whether the recipient cannot be reached on this channel at all (use the fallback)."""
    if error.kind == "no_whatsapp":
        return True
    if channel == "whatsapp" and error.code == 132001:
        # No approved template in any language tried (issue 9 point 15): e-mail, not silence.
        return True
    if channel == "telegram" and error.kind == "permanent":
        text = error.message.lower()
        return any(part in text for part in _TELEGRAM_UNREACHABLE)
    return False


def decide(
    *,
    error: SendError,
    channel: str,
    failures: int,
    recipient_holds: int,
    duplicate_risk: bool,
    now: datetime,
    settings: OutboxSettings,
) -> Decision:
    """The decision for a send to ``channel`` that raised ``error``.

    :param failures: transient failures so far, before this one.
    :param recipient_holds: how many 131056 answers this row had before (doubles the wait).
    :param duplicate_risk: the row was already re-sent once after an unknown outcome.
    """
    kind = error.kind
    if kind == "transient":
        failures += 1
        if failures >= settings.max_attempts:
            return Decision(DEAD, None, count_failure=True)
        later = now + timedelta(seconds=backoff(settings, failures))
        return Decision(FAILED, later, count_failure=True)
    if kind == "recipient_rate":
        wait = settings.recipient_backoff_seconds * 2 ** min(recipient_holds, 6)
        wait = max(wait, error.retry_after or 0.0)
        until = now + timedelta(seconds=wait)
        return Decision(QUEUED, until, hold_recipient_until=until, count_hold=True)
    if kind == "throttled":
        until = now + timedelta(seconds=max(error.retry_after or 0.0, settings.throttle_seconds))
        return Decision(QUEUED, until, channel=ChannelAction("throttled", str(error), until))
    if kind == "channel_paused":
        until = now + timedelta(seconds=settings.pause_seconds)
        return Decision(QUEUED, until, channel=ChannelAction("paused", str(error), until))
    if kind == "channel_broken":
        return Decision(QUEUED, now, channel=ChannelAction("broken", str(error), None))
    if kind == "unknown":
        # Re-sent once already: a second blind re-send is a choice for an admin (`retry --force`).
        later = None if duplicate_risk else now + timedelta(seconds=settings.unknown_grace_seconds)
        return Decision(UNKNOWN, later)
    return Decision(DEAD, None, fallback=unreachable(channel, error))
