"""The event as plugins see it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row


@dataclass(frozen=True)
class Event:
    """One change in the panel, stored once under a unique key.

    ``subject_type``/``subject_id`` say what changed (``service`` 42); ``client_id`` is the client
    the subject belonged to when the event was recorded, when known. Handlers re-read current
    state from the panel: ``data`` only carries what cannot be read later (a deleted domain's
    name, which fields changed).
    """

    key: str
    name: str
    subject_type: str
    subject_id: int
    occurred_at: datetime
    source: str  # hook | watcher | bridge
    client_id: int | None = None
    origin: str = "unknown"  # clientarea | admin | api | cron | unknown
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @classmethod
    def from_row(cls, row: Row[Any]) -> Event:
        return cls(
            id=row.id,
            key=row.event_key,
            name=row.name,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            client_id=row.client_id,
            occurred_at=row.occurred_at,
            source=row.source,
            origin=row.origin,
            data=json.loads(row.data or "{}"),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "name": self.name,
            "subject": {"type": self.subject_type, "id": self.subject_id},
            "client_id": self.client_id,
            "occurred_at": self.occurred_at.isoformat(sep=" "),
            "source": self.source,
            "origin": self.origin,
            "data": self.data,
        }


def event_key(name: str, subject_id: int, discriminator: object | None = None) -> str:
    """The unique key of an event: the same change reported by a hook and a watcher gets the same
    key. Once-only events (an invoice is created once) use the subject alone; repeatable ones
    (a service is suspended many times) add a discriminator both sources can compute, such as
    the panel-local day of the change."""
    base = f"{name}:{subject_id}"
    return base if discriminator is None else f"{base}:{discriminator}"


class Skip:
    """The type of :data:`SKIP`: one instance, compared with ``is``."""

    _instance: Skip | None = None

    def __new__(cls) -> Skip:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SKIP"


#: What ``bridge_on_event`` returns for an event that is not for the plugin: its outcome is
#: recorded as ``skipped``, not ``done``.
SKIP = Skip()
