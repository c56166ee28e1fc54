"""The ``console`` channel: writes each message to the log and keeps it in :data:`SENT`.

For the demo (``make demo`` shows the alerts on screen) and for tests that need a channel that
always works and can be read back.
"""

from __future__ import annotations

import logging

from .base import OutgoingMessage, SendResult

log = logging.getLogger(__name__)

#: Every message sent through a console channel in this process, oldest first.
SENT: list[OutgoingMessage] = []


class ConsoleChannel:
    """Always accepts; the provider message id is ``console-<outbox id>``."""

    name = "console"

    def __repr__(self) -> str:
        return "ConsoleChannel()"

    def send(self, msg: OutgoingMessage) -> SendResult:
        """Log ``msg`` and keep it in :data:`SENT`."""
        log.info(
            "console message %s to %s [%s]: %s", msg.outbox_id, msg.recipient, msg.event, msg.text
        )
        SENT.append(msg)
        return SendResult(f"console-{msg.outbox_id}", msg.recipient)

    def check(self) -> str | None:
        """Nothing to check."""
        return None
