"""The watcher interface and the state it keeps between cycles.

A watcher turns database changes into events where no hook reports them. It reads only rows
changed since its cursor, or the small set of rows still "open", through indexes. Its first run
records a baseline and emits nothing, so installing the bridge never floods customers with old
news.

Before the watchers poll, the intake reads the panel's activity log (``activity.py``) and tells
them in :attr:`WatchContext.dirty` which clients, services, invoices and quotes something was
logged about, so the watchers of open sets can look at those at once and only sweep the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import Connection, delete, insert, select, update

from whmcs_bridge.clock import Clock
from whmcs_bridge.events.model import Event
from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.store.tables import cursors as cursors_t
from whmcs_bridge.store.tables import seen as seen_t


@dataclass
class Dirty:
    """What the activity log named since the last cycle: look at these subjects now.

    ``everything`` means the feed cannot narrow it down (no activity log, the first cycle, or more
    entries than one read takes): compare the whole open sets, as if every subject were named.
    """

    everything: bool = False
    clients: set[int] = field(default_factory=set)
    services: set[int] = field(default_factory=set)
    invoices: set[int] = field(default_factory=set)
    quotes: set[int] = field(default_factory=set)

    KINDS = ("clients", "services", "invoices", "quotes")

    @classmethod
    def all(cls) -> Dirty:
        return cls(everything=True)

    def of(self, kind: str) -> set[int]:
        """The ids of one kind (``clients``, ``services``, ``invoices``, ``quotes``)."""
        return getattr(self, kind) if kind in self.KINDS else set()

    def add(self, kind: str, subject_id: int) -> None:
        if kind in self.KINDS and subject_id > 0:
            getattr(self, kind).add(subject_id)

    def size(self) -> int:
        return sum(len(self.of(kind)) for kind in self.KINDS)


@dataclass
class WatchContext:
    """What a watcher works with during one intake: one connection, one transaction."""

    conn: Connection
    tables: PanelTables
    clock: Clock
    now: datetime
    #: Set by the intake from the activity log before the watchers poll; by default everything.
    dirty: Dirty = field(default_factory=Dirty.all)

    @property
    def today(self) -> date:
        return self.now.date()

    def __post_init__(self) -> None:
        # All cursors in one query; written back once by flush(): an idle cycle stays cheap.
        self._cursors: dict[str, str] = {
            row.watcher: row.value for row in self.conn.execute(select(cursors_t))
        }
        self._dirty: set[str] = set()

    def cursor(self, name: str) -> str | None:
        return self._cursors.get(name)

    def set_cursor(self, name: str, value: object) -> None:
        text = str(value)
        if self._cursors.get(name) != text:
            self._cursors[name] = text
            self._dirty.add(name)

    def flush(self) -> None:
        """Write the cursors that moved (in the intake's transaction)."""
        for name in sorted(self._dirty):
            updated = self.conn.execute(
                update(cursors_t)
                .where(cursors_t.c.watcher == name)
                .values(value=self._cursors[name], updated_at=self.now)
            )
            if updated.rowcount == 0:
                self.conn.execute(
                    insert(cursors_t).values(
                        watcher=name, value=self._cursors[name], updated_at=self.now
                    )
                )
        self._dirty.clear()

    def remember(self, watcher: str, states: dict[int, str]) -> None:
        """Store the last seen state of several subjects (insert or replace)."""
        if not states:
            return
        ids = list(states)
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            self.conn.execute(
                delete(seen_t).where(seen_t.c.watcher == watcher, seen_t.c.subject_id.in_(chunk))
            )
            self.conn.execute(
                insert(seen_t),
                [
                    {
                        "watcher": watcher,
                        "subject_id": i,
                        "state": states[i][:191],
                        "updated_at": self.now,
                    }
                    for i in chunk
                ],
            )

    def forget(self, watcher: str, ids: Iterable[int]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), 1000):
            self.conn.execute(
                delete(seen_t).where(
                    seen_t.c.watcher == watcher, seen_t.c.subject_id.in_(ids[start : start + 1000])
                )
            )


class Watcher(Protocol):
    """One source of events read from the panel's tables."""

    name: str

    def baseline(self, ctx: WatchContext) -> None:
        """Record the current state as seen, emitting nothing (first run)."""

    def poll(self, ctx: WatchContext) -> list[Event]:
        """Events for what changed since the last poll; updates cursors and seen state."""

    def observe(self, ctx: WatchContext, event: Event) -> None:
        """Learn from an event a hook reported, so the same change is not reported twice."""

    # Optional: ``hinted(ctx, hints) -> list[Event]`` checks at once the subjects named by
    # inbox rows that carry no event of their own (an admin's ServiceEdit), not at the sweep.
