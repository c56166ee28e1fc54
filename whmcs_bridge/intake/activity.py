"""The panel's activity log as a change feed: which subjects to look at this cycle.

WHMCS writes a ``tblactivitylog`` line for nearly every change, with the client it concerns in
``userid`` (reference §1.19): payments ("Invoice Marked Paid - Invoice ID: 4"), cancellations,
module commands ("Module Suspend Successful - Service ID: 7"), admins' edits, the cron's
suspensions and terminations. Reading the lines above a cursor (one query on the primary key)
tells the watchers of open sets which clients, services, invoices and quotes to compare at once,
so they need not compare their whole open set every cycle (``tblinvoices`` and ``tblhosting`` have
no index on ``updated_at``).

From each new line: ``userid`` > 0 is a dirty client; ids named in the description by the
patterns WHMCS uses (``Service ID: N``, ``Invoice ID: N``, ``Quote ID: N``, ``User ID: N`` and
``Client ID: N``, the latter two being client ids) are dirty services, invoices, quotes and
clients, which covers the lines logged with ``userid`` 0.

Safety nets, so that the feed only ever makes detection faster, never less sure:

* the subjects named in one cycle are looked at again in the next one (a line may commit a
  moment before the change it reports);
* a hole of at most ``GAP_WIDTH`` ids below the cursor (a line whose transaction had not committed
  yet) is looked up again for ``GAP_CHECKS`` cycles, as the watchers do for their new rows;
* more than :data:`ACTIVITY_BATCH` new lines, no activity log table, or the first cycle (the
  baseline) mark everything dirty: the watchers compare their whole open sets, as before the feed;
* a change nobody logged (a direct database edit with no hook) is still found by the watchers'
  round-robin slices of their open sets, within ``ceil(open set / OPEN_SLICE)`` cycles.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from whmcs_bridge.intake.watcher import Dirty, WatchContext
from whmcs_bridge.intake.watchers.base import (
    GAP_CHECKS,
    GAP_WIDTH,
    MAX_GAPS,
    client_or_none,
    load_cursor,
    save_cursor,
)

#: The cursor row of the feed (JSON: highest id read, holes in flight, ids to look at again).
CURSOR = "activitylog"
#: Lines read per cycle; more than this marks everything dirty for the cycle.
ACTIVITY_BATCH = 5000
#: Subjects named in one cycle that are carried to the next one at most (beyond: the slices).
CARRY_MAX = 1000

_NAMED = re.compile(r"\b(service|invoice|quote|user|client)\s+id\s*:\s*#?\s*(\d+)", re.IGNORECASE)
_KIND = {
    "service": "services",
    "invoice": "invoices",
    "quote": "quotes",
    "user": "clients",
    "client": "clients",
}


def note_line(dirty: Dirty, client: object, description: object) -> None:
    """Add what one activity log line names to ``dirty``."""
    client_id = client_or_none(client)
    if client_id is not None:
        dirty.add("clients", client_id)
    for word, number in _NAMED.findall(str(description or "")):
        dirty.add(_KIND[word.lower()], int(number))


def read_activity(ctx: WatchContext) -> Dirty:
    """The subjects the activity log named since the last cycle (moves the feed's cursor)."""
    table = ctx.tables.get("activitylog")
    if table is None:
        return Dirty.all()
    cursor = load_cursor(ctx, CURSOR)
    if "max" not in cursor:
        top = ctx.conn.execute(select(func.max(table.c.id))).scalar()
        save_cursor(ctx, CURSOR, {"max": int(top or 0)})
        return Dirty.all()
    dirty = Dirty()
    for kind, ids in (cursor.get("again") or {}).items():
        for subject_id in ids:
            dirty.add(kind, int(subject_id))
    fresh = Dirty()
    after = int(cursor.get("max", 0))
    gaps: dict[str, int] = dict(cursor.get("gaps") or {})
    columns = (table.c.id, table.c.userid, table.c.description)
    if gaps:
        rows = ctx.conn.execute(
            select(*columns).where(table.c.id.in_([int(i) for i in gaps]))
        ).all()
        for row in rows:
            note_line(fresh, row.userid, row.description)
        late = {str(row.id) for row in rows}
        gaps = {i: n - 1 for i, n in gaps.items() if i not in late and n > 1}
    rows = ctx.conn.execute(
        select(*columns).where(table.c.id > after).order_by(table.c.id).limit(ACTIVITY_BATCH + 1)
    ).all()
    if len(rows) > ACTIVITY_BATCH:
        # A burst (a mass update, the cron's run): everything is compared this cycle.
        top = ctx.conn.execute(select(func.max(table.c.id))).scalar()
        save_cursor(ctx, CURSOR, {"max": int(top or after)})
        return Dirty.all()
    for row in rows:
        if row.id - after - 1 <= GAP_WIDTH:
            for missing in range(after + 1, row.id):
                if len(gaps) < MAX_GAPS:
                    gaps[str(missing)] = GAP_CHECKS
        after = int(row.id)
        note_line(fresh, row.userid, row.description)
    for kind in Dirty.KINDS:
        dirty.of(kind).update(fresh.of(kind))
    value: dict[str, Any] = {"max": after}
    if gaps:
        value["gaps"] = gaps
    if 0 < fresh.size() <= CARRY_MAX:
        value["again"] = {k: sorted(fresh.of(k)) for k in Dirty.KINDS if fresh.of(k)}
    save_cursor(ctx, CURSOR, value)
    return dirty
