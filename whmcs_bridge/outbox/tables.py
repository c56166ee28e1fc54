"""The outbox tables and the message states.

A message is a row before anything acts on it. ``state`` moves along::

    queued -> sending -> sent -> delivered -> read      (sent onwards: provider webhooks)
              sending -> failed (retry scheduled) -> sending ...
              sending -> dead (permanent error, or too many failures)
              sending -> unknown (answer lost) -> sending once (duplicate_risk=1), or sent...
                         by a webhook, with no re-send

Times are naive datetimes in the panel's time zone with microseconds (pacing needs sub-second
precision), like every bridge table.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

from whmcs_bridge.store.tables import PREFIX, Id, metadata

QUEUED, SENDING, SENT, DELIVERED, READ = "queued", "sending", "sent", "delivered", "read"
FAILED, DEAD, UNKNOWN = "failed", "dead", "unknown"
STATES = (QUEUED, SENDING, SENT, DELIVERED, READ, FAILED, DEAD, UNKNOWN)
# Nothing more will happen to these without an admin; `outbox purge` removes only these.
FINAL_STATES = frozenset({SENT, DELIVERED, READ, DEAD})
# The worker picks these up once next_attempt_at has passed.
DUE_STATES = (QUEUED, FAILED, UNKNOWN)
# Provider progress; a status webhook only ever moves a row up this ladder.
PROGRESS = {SENT: 1, DELIVERED: 2, READ: 3}

# The claim's index (migration 5; it replaced OLD_DUE_INDEX, which lacked the id).
DUE_INDEX = f"{PREFIX}outbox_due_order"
OLD_DUE_INDEX = f"{PREFIX}outbox_due"

# MySQL's DATETIME drops fractions of a second unless asked (fsp); SQLite keeps them as text.
PreciseTime = (
    DateTime()
    .with_variant(mysql.DATETIME(fsp=6), "mysql")
    .with_variant(mysql.DATETIME(fsp=6), "mariadb")
)

outbox = Table(
    f"{PREFIX}outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", BigInteger, nullable=False),
    Column("recipient_key", String(191), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("recipient", String(191), nullable=False),
    Column("client_id", BigInteger, nullable=True),
    # JSON, ASCII-escaped: the panel's connection may be utf8 (3 bytes), which has no emoji.
    Column("message", Text, nullable=False),
    Column("fallback", Text, nullable=True),
    Column("fallback_of", BigInteger, nullable=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("failures", Integer, nullable=False, server_default="0"),  # transient ones
    Column("holds", Integer, nullable=False, server_default="0"),  # 131056 answers
    # NULL: nothing scheduled (e.g. an unknown row already re-sent once waits for an admin).
    Column("next_attempt_at", PreciseTime, nullable=True),
    # When the last provider call began; kept after it ends, for per-recipient pacing.
    Column("claimed_at", PreciseTime, nullable=True),
    Column("claim_token", String(32), nullable=True),
    Column("duplicate_risk", SmallInteger, nullable=False, server_default="0"),
    Column("provider_message_id", String(191), nullable=True),
    Column("provider_recipient_id", String(64), nullable=True),
    Column("error_kind", String(32), nullable=True),
    Column("error_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("sent_at", PreciseTime, nullable=True),
    Column("delivered_at", PreciseTime, nullable=True),
    Column("read_at", PreciseTime, nullable=True),
    Column("created_at", PreciseTime, nullable=False),
    Column("updated_at", PreciseTime, nullable=False),
    UniqueConstraint("event_id", "recipient_key", "channel", name=f"{PREFIX}outbox_unique"),
    # A claim walks this index in order, one due state at a time, and stops after a few rows.
    Index(DUE_INDEX, "state", "next_attempt_at", "id"),
    Index(f"{PREFIX}outbox_recipient", "channel", "recipient", "claimed_at"),
    Index(f"{PREFIX}outbox_provider_id", "provider_message_id"),
)

# One row per channel that is not simply healthy: throttled or paused until a time, or broken.
channel_states = Table(
    f"{PREFIX}channel_states",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("state", String(16), nullable=False),  # throttled | paused | broken
    Column("reason", Text, nullable=False),
    Column("until_at", PreciseTime, nullable=True),  # NULL for broken: until an admin resumes
    Column("since_at", PreciseTime, nullable=False),
)
