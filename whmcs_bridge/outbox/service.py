"""``bridge.outbox``: what plugins call to queue messages, and what the cycle calls to deliver.

The API is fixed (the alerts plugin calls it): :meth:`Outbox.enqueue`, :meth:`Outbox.deliver_due`,
:meth:`Outbox.apply_status`, :meth:`Outbox.channel_health`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from whmcs_bridge.channels.base import Channel, OutgoingMessage
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.outbox import store
from whmcs_bridge.outbox.pacing import RecipientSpacing
from whmcs_bridge.outbox.settings import OutboxSettings
from whmcs_bridge.outbox.shared_rate import SharedRate
from whmcs_bridge.outbox.tables import DEAD, FAILED, QUEUED, UNKNOWN, outbox

if TYPE_CHECKING:
    from whmcs_bridge.channels.whatsapp import StatusUpdate
    from whmcs_bridge.clock import Clock
    from whmcs_bridge.outbox.worker import DeliveryReport
    from whmcs_bridge.panel.database import Panel

log = logging.getLogger(__name__)

_FIRST_LATENCY = 0.05  # seconds: a guess of the provider's answer time until one is measured

MESSAGE_FIELDS = (
    "event",
    "language",
    "text",
    "template",
    "template_language",
    "params",
    "button_url_suffix",
    "subject",
    "button_index",
    "template_fallback_language",
    "free_form",
)


def _encode(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)


def outgoing(row: dict[str, Any]) -> OutgoingMessage:
    """The :class:`OutgoingMessage` a channel gets for an outbox row."""
    data = json.loads(row["message"])
    fields = {k: data[k] for k in MESSAGE_FIELDS if data.get(k) is not None}
    fields["params"] = [str(p) for p in fields.get("params", [])]
    for key in ("event", "language", "text"):
        fields[key] = str(fields.get(key, ""))
    return OutgoingMessage(outbox_id=int(row["id"]), recipient=str(row["recipient"]), **fields)


class Outbox:
    """The durable outbox over the panel's database.

    It takes only what it needs: the panel (its engine), the clock, the ``[outbox]`` settings and
    a function that offers the channels by name (called once, when a channel is first needed).
    ``dry_run`` queues nothing and sends nothing.
    """

    def __init__(
        self,
        panel: Panel,
        clock: Clock,
        settings: OutboxSettings,
        offer_channels: Callable[[], dict[str, Channel]],
        dry_run: bool = False,
    ) -> None:
        self.panel = panel
        self.clock = clock
        self.settings = settings
        self.dry_run = dry_run
        self._offer_channels = offer_channels
        # This process's share of the one rate every worker of the panel shares, and the bucket
        # that paces every sending thread of this process within it.
        self.shared_rate = SharedRate(
            self.settings.rate_per_second, self.settings.rate_margin_seconds
        )
        self.spacing = RecipientSpacing(self.settings.min_interval_per_recipient)
        # What the last delivery learnt: each channel's room (slow start) and the answer time.
        self.delivery_memory: tuple[dict[str, int], float] = ({}, _FIRST_LATENCY)
        self._channels: dict[str, Channel] | None = None
        self._skip_locked: bool | None = None

    def __repr__(self) -> str:
        return f"Outbox(channels={sorted(self.channels)!r})"

    # --- services -----------------------------------------------------------------------------
    def now(self) -> datetime:
        """The panel's local time, naive, with microseconds (pacing needs them)."""
        return self.clock.now().replace(tzinfo=None)

    @property
    def is_mysql(self) -> bool:
        return self.panel.backend == "mysql"

    @property
    def skip_locked(self) -> bool:
        if self._skip_locked is None:
            self._skip_locked = store.supports_skip_locked(self.panel.engine)
        return self._skip_locked

    @property
    def channels(self) -> dict[str, Channel]:
        """The channels on offer, by name."""
        if self._channels is None:
            self._channels = self._offer_channels()
        return self._channels

    # --- the API ------------------------------------------------------------------------------
    def enqueue(
        self,
        *,
        event_id: int,
        recipient_key: str,
        channel: str,
        recipient: str,
        message: dict[str, Any],
        client_id: int | None = None,
        fallback: dict[str, Any] | None = None,
        not_before: datetime | None = None,
    ) -> int | None:
        """Queue one message; ``None`` when (event, recipient_key, channel) is already queued.

        :param message: the :class:`OutgoingMessage` fields except ``outbox_id``/``recipient``.
        :param fallback: ``{"channel", "recipient", "message"}`` queued instead when the
            recipient cannot be reached on ``channel`` (WhatsApp 131026, a blocked bot).
        :param not_before: not sent before this time (naive = panel local time).
        """
        unknown_keys = set(message) - set(MESSAGE_FIELDS)
        if unknown_keys:
            raise ValueError(f"unknown message fields: {', '.join(sorted(unknown_keys))}")
        if fallback is not None and not {"channel", "recipient", "message"} <= set(fallback):
            raise ValueError("fallback needs channel, recipient and message")
        if self.dry_run:
            log.info(
                "dry run: would queue %s message for event %s to %s (%s)",
                channel,
                event_id,
                recipient_key,
                message.get("event"),
            )
            return None
        now = self.now()
        due = self._panel_time(not_before) if not_before is not None else now
        with self.panel.begin() as conn:
            return self._insert(
                conn,
                event_id=event_id,
                recipient_key=recipient_key,
                channel=channel,
                recipient=recipient,
                client_id=client_id,
                message=_encode(message),
                fallback=_encode(fallback) if fallback is not None else None,
                next_attempt_at=due,
                now=now,
            )

    def deliver_due(
        self, limit: int | None = None, time_budget: float | None = None
    ) -> DeliveryReport:
        """Send the messages that are due, paced; see :mod:`whmcs_bridge.outbox.worker`."""
        from whmcs_bridge.outbox.worker import deliver

        budget = self.settings.delivery_time_budget if time_budget is None else time_budget
        return deliver(self, limit=limit, time_budget=budget)

    def apply_status(self, update: StatusUpdate) -> bool:
        """Apply one provider status (webhook); True when the row changed.

        States only move forward (sent < delivered < read); repeats and late arrivals of an
        earlier status change nothing.
        """
        from whmcs_bridge.outbox.status import apply_status

        return apply_status(self, update)

    def channel_health(self) -> dict[str, str | None]:
        """Each channel with ``None`` when it may send, else why it does not."""
        health: dict[str, str | None] = dict.fromkeys(self.channels)
        with self.panel.connect() as conn:
            blocks = store.channel_blocks(conn, self.now())
        for name, block in blocks.items():
            health[name] = describe_block(block)
        return health

    def resume_channel(self, name: str) -> bool:
        """Let a stopped (broken, paused, throttled) channel send again; True if it was stopped."""
        with self.panel.begin() as conn:
            return store.clear_channel_state(conn, name)

    def requeue(self, message_id: int, force: bool = False) -> str:
        """Queue a dead, failed or unknown message again, now; returns its former state.

        An ``unknown`` message may have reached the recipient (its answer was lost): it goes
        again only with ``force``, marked as a possible duplicate.

        :raises BridgeError: no such message, a state that does not retry, or unknown without
            ``force``; the message says which.
        """
        with self.panel.begin() as conn:
            row = conn.execute(select(outbox).where(outbox.c.id == message_id)).first()
            if row is None:
                raise BridgeError(f"no outbox message {message_id}")
            if row.state not in (DEAD, FAILED, UNKNOWN):
                raise BridgeError(
                    f"message {message_id} is {row.state}: only dead, failed or unknown ones retry"
                )
            if row.state == UNKNOWN and not force:
                raise BridgeError(
                    f"message {message_id} may have reached the recipient already (its answer "
                    "was lost); add --force to send it again anyway"
                )
            now = self.now()
            values: dict[str, Any] = {
                "state": QUEUED,
                "next_attempt_at": now,
                "failures": 0,
                "holds": 0,
                "updated_at": now,
            }
            if row.state == UNKNOWN:
                values["duplicate_risk"] = 1
            conn.execute(
                outbox.update()
                .where(outbox.c.id == message_id, outbox.c.state == row.state)
                .values(**values)
            )
        return str(row.state)

    # --- helpers ------------------------------------------------------------------------------
    def _panel_time(self, value: datetime) -> datetime:
        if value.tzinfo is not None:
            return value.astimezone(self.clock.timezone).replace(tzinfo=None)
        return value

    def _insert(self, conn: Connection, **values: Any) -> int | None:
        o = outbox
        key = (values["event_id"], values["recipient_key"], values["channel"])
        exists = conn.execute(
            select(o.c.id).where(
                o.c.event_id == key[0], o.c.recipient_key == key[1], o.c.channel == key[2]
            )
        ).first()
        if exists:
            return None
        now = values.pop("now")
        try:
            result = conn.execute(
                o.insert().values(state=QUEUED, created_at=now, updated_at=now, **values)
            )
        except IntegrityError:
            # A concurrent enqueue of the same message won the unique key.
            return None
        new_id = int(result.inserted_primary_key[0])
        log.info("outbox %s: queued %s to %s", new_id, values["channel"], values["recipient_key"])
        return new_id

    def enqueue_fallback(self, conn: Connection, row: dict[str, Any]) -> int | None:
        """Queue the row's fallback message (inside the caller's transaction), if it has one."""
        if not row.get("fallback"):
            return None
        fallback = json.loads(row["fallback"])
        now = self.now()
        new_id = self._insert(
            conn,
            event_id=row["event_id"],
            recipient_key=f"{row['recipient_key']}:fallback",
            channel=str(fallback["channel"]),
            recipient=str(fallback["recipient"]),
            client_id=row["client_id"],
            message=_encode(fallback["message"]),
            fallback=None,
            fallback_of=row["id"],
            next_attempt_at=now,
            now=now,
        )
        if new_id is not None:
            log.info("outbox %s: unreachable on %s, fallback %s", row["id"], row["channel"], new_id)
        return new_id


def describe_block(block: dict[str, Any]) -> str:
    """One line for an admin about a stopped channel."""
    if block["state"] == "broken":
        return f"stopped since {block['since_at']:%Y-%m-%d %H:%M}: {block['reason']}"
    return f"{block['state']} until {block['until_at']:%Y-%m-%d %H:%M:%S}: {block['reason']}"
