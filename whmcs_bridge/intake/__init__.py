"""Intake: drain the hook inbox, run the watchers, store every change as an event once.

Before the watchers poll, the panel's activity log is read as a change feed (``activity.py``):
the watchers of open sets look at once at what it names and sweep the rest in bounded slices.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from whmcs_bridge.events.store import record_events
from whmcs_bridge.intake.activity import read_activity
from whmcs_bridge.intake.inbox import drain_inbox
from whmcs_bridge.intake.watcher import WatchContext, Watcher

if TYPE_CHECKING:
    from whmcs_bridge.bridge import Bridge

log = logging.getLogger(__name__)


@dataclass
class IntakeReport:
    inbox_rows: int = 0
    quarantined: int = 0
    found: int = 0
    new_events: int = 0
    baselines: list[str] = field(default_factory=list)
    by_name: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def registered_watchers(bridge: Bridge) -> list[Watcher]:
    """The core watchers plus any a plugin registers."""
    from whmcs_bridge.intake.watchers import core_watchers

    found: list[Watcher] = list(core_watchers(bridge.panel.tables))
    for result in bridge.plugins.call_each(
        "bridge_register_watchers", register=found.append, bridge=bridge
    ):
        if not result.ok:
            log.error("plugin %s: cannot add its watchers: %s", result.plugin, result.error)
    return found


def run_intake(bridge: Bridge, inbox_limit: int = 5000) -> IntakeReport:
    """One intake pass in one transaction (rolled back under ``--dry-run``)."""
    report = IntakeReport()
    watchers = registered_watchers(bridge)
    with bridge.panel.connect() as conn:
        transaction = conn.begin()
        try:
            ctx = WatchContext(conn, bridge.panel.tables, bridge.clock, bridge.clock.panel_now())
            ctx.dirty = read_activity(ctx)
            drained = drain_inbox(ctx, inbox_limit)
            report.inbox_rows, report.quarantined = drained.rows, drained.quarantined
            found = list(drained.events)
            for watcher in watchers:
                if hasattr(watcher, "observe_many"):
                    watcher.observe_many(ctx, drained.events)
                else:
                    for event in drained.events:
                        watcher.observe(ctx, event)
                if drained.hints and hasattr(watcher, "hinted"):
                    found.extend(watcher.hinted(ctx, drained.hints))
            for watcher in watchers:
                marker = f"baseline:{watcher.name}"
                if ctx.cursor(marker) is None:
                    watcher.baseline(ctx)
                    ctx.set_cursor(marker, ctx.now.isoformat(sep=" "))
                    report.baselines.append(watcher.name)
                else:
                    found.extend(watcher.poll(ctx))
            report.found = len(found)
            for event in found:
                report.by_name[event.name] = report.by_name.get(event.name, 0) + 1
            if bridge.dry_run:
                transaction.rollback()
                return report
            ctx.flush()
            report.new_events = record_events(conn, found, ctx.now)
            transaction.commit()
        except BaseException:
            if transaction.is_active:
                transaction.rollback()
            raise
    return report
