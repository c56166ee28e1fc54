"""One cycle: take the lock, intake, dispatch, tasks, deliver, release."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.events.dispatch import dispatch
from whmcs_bridge.intake import run_intake
from whmcs_bridge.lock import LockLost, cycle_lock
from whmcs_bridge.panel.database import describe_db_error
from whmcs_bridge.store.migrate import is_current, upgrade

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    """What a cycle did; printed by ``run`` and returned as ``--json``."""

    dry_run: bool = False
    schema: str = ""
    intake: dict[str, Any] = field(default_factory=dict)
    dispatch: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)
    delivery: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def run_cycle(bridge: Bridge) -> CycleReport:
    """Run one cycle under the panel-wide lock; raises LockHeld if another cycle runs.

    The lock is checked with the server before each step (and by dispatch and delivery as they
    go): once it is lost the cycle stops with :class:`~whmcs_bridge.lock.LockLost`.
    """
    report = CycleReport(dry_run=bridge.dry_run)
    started = time.monotonic()
    with cycle_lock(bridge.panel) as lock:
        plugin_tables = bridge.plugins.migrations()
        if not bridge.dry_run and not is_current(bridge.panel.engine, plugin_tables):
            try:
                before, after = upgrade(bridge.panel.engine, plugin_tables)
            except DBAPIError as exc:
                raise BridgeError(
                    "the bridge's tables need `whmcs-bridge db upgrade`, and it failed with this "
                    "database user (run it as one that may CREATE tables, then `db grants`): "
                    + describe_db_error(bridge.panel.url, exc)
                ) from None
            report.schema = f"bridge tables at version {after}" + (
                f" (upgraded from {before})" if before != after else ""
            )
        lock.check(now=True)
        report.intake = run_intake(bridge).as_dict()
        if bridge.dry_run:
            report.seconds = round(time.monotonic() - started, 3)
            return report
        lock.check(now=True)
        result = dispatch(bridge)
        report.dispatch = {
            "events": result.events,
            "done": result.done,
            "failed": result.failed,
            "quarantined": result.quarantined,
        }
        report.errors.extend(result.errors)
        lock.check(now=True)
        _run_tasks(bridge, report)
        lock.check(now=True)
        _deliver(bridge, report)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _run_tasks(bridge: Bridge, report: CycleReport) -> None:
    for result in bridge.plugins.call_each("bridge_run_tasks", bridge=bridge):
        if not result.ok:
            log.error("plugin %s: tasks failed: %s", result.plugin, result.error)
            report.errors.append(f"{result.plugin} tasks: {result.error}")
        elif result.value:
            report.tasks[result.plugin] = str(result.value)


def _deliver(bridge: Bridge, report: CycleReport) -> None:
    try:
        from whmcs_bridge.outbox.service import Outbox  # noqa: F401
    except ImportError:
        return
    try:
        report.delivery = bridge.outbox.deliver_due().as_dict()
    except LockLost:
        raise
    except Exception as exc:
        log.exception("delivery failed")
        report.errors.append(f"delivery: {type(exc).__name__}: {exc}")
