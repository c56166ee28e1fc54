"""Definitions of the bridge-owned tables.

They live in the panel's database under the ``mod_whmcs_bridge_`` prefix, the WHMCS convention for
addon modules. Columns are portable between MySQL/MariaDB and SQLite. Times are naive datetimes in
the panel's time zone, like WHMCS's own columns, except where a column name ends in ``_utc``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql, sqlite

PREFIX = "mod_whmcs_bridge_"

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY, so BigInteger ids map to INTEGER there.
Id = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
# utf8mb4 and long texts are not needed: payloads are ids and short fields.
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql")

meta = Table(
    f"{PREFIX}meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Written by hooks/whmcs_bridge.php inside WHMCS's request: one row per hook call.
inbox = Table(
    f"{PREFIX}inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("hook", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("origin", String(16), nullable=False, server_default="unknown"),
    Column("created_at", DateTime, nullable=False),
)

# Inbox rows that could not become events, kept with the reason.
quarantine = Table(
    f"{PREFIX}quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("inbox_id", BigInteger, nullable=True),
    Column("hook", String(64), nullable=False),
    Column("payload", LongText, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

EVENTS_SUBJECT_INDEX = f"{PREFIX}events_subject"

events = Table(
    f"{PREFIX}events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_key", String(191), nullable=False),
    Column("name", String(64), nullable=False),
    Column("subject_type", String(32), nullable=False),
    Column("subject_id", BigInteger, nullable=False),
    Column("client_id", BigInteger, nullable=True),
    Column("occurred_at", DateTime, nullable=False),
    Column("source", String(16), nullable=False),
    Column("origin", String(16), nullable=False, server_default="unknown"),
    Column("data", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    # NULL until every enabled plugin has an outcome that needs no more work.
    Column("settled_at", DateTime, nullable=True),
    UniqueConstraint("event_key", name=f"{PREFIX}events_key"),
    Index(f"{PREFIX}events_unsettled", "settled_at", "id"),
    Index(f"{PREFIX}events_name", "name", "occurred_at"),
    # A hook row's occurrence finds a watcher's report of the same change (intake).
    Index(EVENTS_SUBJECT_INDEX, "name", "subject_id"),
)

# One row per (event, plugin): what the plugin did with the event.
outcomes = Table(
    f"{PREFIX}outcomes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", BigInteger, nullable=False),
    Column("plugin", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # done | failed | quarantined | skipped
    Column("tries", Integer, nullable=False, server_default="0"),
    Column("detail", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("event_id", "plugin", name=f"{PREFIX}outcomes_event_plugin"),
    Index(f"{PREFIX}outcomes_status", "status"),
)

# A watcher's position in a table (highest id seen, sweep position, ...), free-form text.
cursors = Table(
    f"{PREFIX}cursors",
    metadata,
    Column("watcher", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# The last state a watcher saw for one subject (a status, a digest of watched fields).
seen = Table(
    f"{PREFIX}seen",
    metadata,
    Column("watcher", String(32), primary_key=True),
    Column("subject_id", BigInteger, primary_key=True, autoincrement=False),
    Column("state", String(191), nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index(f"{PREFIX}seen_state", "watcher", "state"),
)
