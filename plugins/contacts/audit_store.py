"""The last ``contacts audit``, kept for the staff page (issue 16).

The audit reads the whole panel: 2.9 s at 100,000 clients (``bench/contacts_audit.py``), too
slow for every view of the staff page. So it runs in the cycle at most once an hour
(``bridge_run_tasks``), when staff press "Auditar ahora", or on the first view when none is kept
yet; the page shows the kept result with its time. A kept audit holds the counts per code and
the first :data:`KEPT_PER_CODE` findings of each code (what the page shows); the whole list is
``whmcs-bridge contacts audit``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, DateTime, Integer, String, Table, delete, insert, select

from whmcs_bridge.plugin import PREFIX, Id, LongText, metadata

from .audit import run_audit

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

    from .settings import ContactSettings

#: How often the cycle audits the panel again.
EVERY = timedelta(hours=1)
#: Findings kept (and shown) per code; the counts are always whole.
KEPT_PER_CODE = 25
#: Audits kept in the table (the newest ones); older ones are deleted.
KEPT_AUDITS = 3

audits = Table(
    f"{PREFIX}contacts_audits",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("started_at", DateTime, nullable=False),  # panel-local, naive
    Column("duration_ms", Integer, nullable=False),
    Column("model", String(16), nullable=False),  # users (8.x) | subaccounts (7.x)
    Column("total", Integer, nullable=False),
    Column("ran_by", String(191), nullable=False),  # "cycle", "page" or the admin's label
    Column("report", LongText, nullable=False),  # JSON: counts and the kept findings
)


@dataclass(frozen=True)
class KeptAudit:
    """One kept audit, as the staff page reads it."""

    id: int
    started_at: datetime
    duration_ms: int
    model: str
    total: int
    ran_by: str
    counts: dict[str, int]
    findings: list[dict[str, Any]]


def latest(bridge: Bridge) -> KeptAudit | None:
    """The newest kept audit, or None when none ran yet."""
    with bridge.panel.connect() as conn:
        row = conn.execute(select(audits).order_by(audits.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    report = json.loads(row.report)
    return KeptAudit(
        int(row.id),
        row.started_at,
        int(row.duration_ms),
        row.model,
        int(row.total),
        row.ran_by,
        {str(k): int(v) for k, v in report.get("counts", {}).items()},
        list(report.get("findings", [])),
    )


def run_and_keep(bridge: Bridge, settings: ContactSettings, ran_by: str) -> KeptAudit:
    """Audit the panel now and keep the result (nothing is written on a dry run)."""
    started_at = bridge.clock.panel_now()
    began = time.perf_counter()
    report = run_audit(bridge, settings)
    duration_ms = round((time.perf_counter() - began) * 1000)
    kept: list[dict[str, Any]] = []
    shown: dict[str, int] = {}
    for finding in report.findings:
        if shown.get(finding.code, 0) < KEPT_PER_CODE:
            shown[finding.code] = shown.get(finding.code, 0) + 1
            kept.append({**finding.as_dict(), "facts": finding.facts})
    counts = report.counts()
    row = {
        "started_at": started_at,
        "duration_ms": duration_ms,
        "model": report.model,
        "total": len(report.findings),
        "ran_by": ran_by[:191],
        "report": json.dumps({"counts": counts, "findings": kept}, default=str),
    }
    audit_id = 0
    if not bridge.dry_run:
        with bridge.panel.begin() as conn:
            audit_id = int(conn.execute(insert(audits).values(**row)).inserted_primary_key[0])
            older = conn.execute(
                select(audits.c.id).order_by(audits.c.id.desc()).offset(KEPT_AUDITS - 1).limit(1)
            ).scalar()
            if older is not None:
                conn.execute(delete(audits).where(audits.c.id < older))
    return KeptAudit(
        audit_id,
        started_at,
        duration_ms,
        report.model,
        len(report.findings),
        row["ran_by"],
        counts,
        kept,
    )


def is_due(kept: KeptAudit | None, now: datetime) -> bool:
    """No audit yet, the last one an hour old or more, or one dated ahead of the clock."""
    return kept is None or not (now - EVERY < kept.started_at <= now)


def run_if_due(bridge: Bridge, settings: ContactSettings) -> str | None:
    """The cycle's task: audit again when the kept one is an hour old; a one-line summary."""
    if not is_due(latest(bridge), bridge.clock.panel_now()):
        return None
    kept = run_and_keep(bridge, settings, "cycle")
    summary = ", ".join(f"{code} {n}" for code, n in sorted(kept.counts.items()))
    return f"contacts audit: {kept.total} finding(s) in {kept.duration_ms / 1000:.1f} s" + (
        f" ({summary})" if summary else ""
    )
