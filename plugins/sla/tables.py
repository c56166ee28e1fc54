"""The plugin's own tables: one response clock per ticket and round, incident notices, state.

Times are naive panel-local datetimes, like every bridge table. A ticket's first clock is round
1 (from its opening); a client's reply after staff answered starts round 2, and so on
(``reopen_starts_new_clock``). The unique keys are what make every warning, breach and incident
notice go out once, whichever process or cycle gets there first.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

from whmcs_bridge.plugin import PREFIX, Id, metadata

clocks = Table(
    f"{PREFIX}sla_clocks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, nullable=False),
    Column("round", Integer, nullable=False),
    Column("tid", String(128), nullable=False),
    Column("client_id", Integer, nullable=False),
    Column("department_id", Integer, nullable=False),
    Column("plan", String(16), nullable=False),
    Column("kind", SmallInteger, nullable=False),  # SLA 1-4
    Column("p1", SmallInteger, nullable=False, server_default="0"),
    Column("clock", String(8), nullable=False),  # business | 24x7
    Column("target_minutes", Integer, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("warn_at", DateTime, nullable=False),
    Column("deadline", DateTime, nullable=False),
    Column("answered_at", DateTime, nullable=True),  # the first staff reply of the round
    Column("closed_at", DateTime, nullable=True),  # closed unanswered: off the clock
    # None: not yet; sent: staff told; skipped: the breach came first (only one message).
    Column("warning_state", String(16), nullable=True),
    Column("warning_sent_at", DateTime, nullable=True),
    # None: not breached yet; sent: recorded and staff told; before_tracking: breached before
    # the plugin was enabled (recorded, not announced).
    Column("breach_state", String(16), nullable=True),
    Column("breached_at", DateTime, nullable=True),
    # The staff-only ticket notes (AddTicketNote): None pending, done, unknown (answer lost).
    Column("warning_note", String(16), nullable=True),
    Column("breach_note", String(16), nullable=True),
    # R-SL-7: channels the client asked for that its plan lacks (round 1), and the note's state.
    Column("channel_request", String(64), nullable=True),
    Column("channel_note", String(16), nullable=True),
    Column("source", String(8), nullable=False),  # event | sync
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("ticket_id", "round", name=f"{PREFIX}sla_clock_round"),
    Index(f"{PREFIX}sla_clocks_open", "answered_at", "closed_at", "deadline"),
)

incident_notices = Table(
    f"{PREFIX}sla_incident_notices",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("issue_id", Integer, nullable=False),
    Column("client_id", Integer, nullable=False),
    Column("stage", String(16), nullable=False),  # opened | resolved
    Column("event_id", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("issue_id", "client_id", "stage", name=f"{PREFIX}sla_incident_once"),
)

state = Table(
    f"{PREFIX}sla_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(191), nullable=False),
)
