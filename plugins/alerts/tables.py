"""The alerts plugin's own table, beside the bridge's: per-client opt-outs and WhatsApp opt-ins.

Defined on the bridge's :data:`~whmcs_bridge.store.tables.metadata` so ``whmcs-bridge db upgrade``
creates it (migration 3).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, String, Table, Text, UniqueConstraint

from whmcs_bridge.plugin import PREFIX, Id, metadata

#: ``event`` for a record that covers every alert.
ALL_EVENTS = "*"

alert_prefs = Table(
    f"{PREFIX}alert_prefs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("client_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # optout | optin
    Column("event", String(64), nullable=False),  # an alert event name, or "*"
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("note", Text, nullable=False),
    UniqueConstraint("client_id", "kind", "event", name=f"{PREFIX}alert_prefs_unique"),
    Index(f"{PREFIX}alert_prefs_client", "client_id"),
)
