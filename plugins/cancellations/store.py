"""The plugin's rows of ``cancellations``, its settings and the cycle's report: what the
taking in (:mod:`.intake`), the cycle (:mod:`.work`), the carrying out (:mod:`.ending`) and
the staff commands (:mod:`.commands`) share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from .tables import cancellations

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

    from .settings import CancellationSettings


ENDED = ("Cancelled", "Terminated")


@dataclass
class TaskReport:
    """What one ``bridge_run_tasks`` turn did, for the cycle's one-line summary."""

    taken: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def summary(self) -> str | None:
        parts = [f"{n} {what}" for what, n in sorted(self.counts.items())]
        if self.taken:
            parts.insert(0, f"{self.taken} request(s) taken in")
        return ", ".join(parts + self.notes) or None


def settings_of(bridge: Bridge) -> CancellationSettings:
    from .settings import CancellationSettings, parse_settings

    found = bridge.settings("cancellations")
    if isinstance(found, CancellationSettings):
        return found
    return parse_settings(bridge.plugin_config("cancellations"))


# -- the plugin's rows ------------------------------------------------------------------------


def row_by_id(bridge: Bridge, row_id: int) -> Any:
    with bridge.panel.connect() as conn:
        return conn.execute(select(cancellations).where(cancellations.c.id == row_id)).first()


def row_by_request(bridge: Bridge, request_id: int) -> Any:
    with bridge.panel.connect() as conn:
        return conn.execute(
            select(cancellations).where(cancellations.c.request_id == request_id)
        ).first()


def rows_of_service(bridge: Bridge, service_id: int) -> list[Any]:
    with bridge.panel.connect() as conn:
        return conn.execute(
            select(cancellations)
            .where(cancellations.c.service_id == service_id)
            .order_by(cancellations.c.id.desc())
        ).all()


def set_row(bridge: Bridge, row: Any, expect: str | None = None, **values: Any) -> bool:
    """Update the row; with ``expect`` only while its state is still that one (a claim)."""
    now = bridge.clock.panel_now()
    if "state" in values and values["state"] != row.state:
        values["state_at"] = now
    query = update(cancellations).where(cancellations.c.id == row.id)
    if expect is not None:
        query = query.where(cancellations.c.state == expect)
    with bridge.panel.begin() as conn:
        return conn.execute(query.values(**values, updated_at=now)).rowcount == 1
