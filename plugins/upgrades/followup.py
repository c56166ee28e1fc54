"""What a checkout price promised beyond the amount WHMCS invoices, kept when the upgrade completes.

PreUpgradeCheckout hands WHMCS one amount. Two quotes promise more than that: the cycle restarts
on the order day (``full``, and ``difference`` across a change of cycle), which WHMCS does not do
for a recurring service (it keeps the next due date, reference 4.2 step 8); and
``full_unused = "credit"`` grants the unused value as account credit, which WHMCS never grants.
Charging the amount without keeping the rest would bill the client twice for the same months.

So the checkout records the promise here, and the ``upgrade.completed`` event keeps it:
``UpdateClientProduct nextduedate`` (the same date again is harmless, so it may repeat) and
``AddCredit`` (sent at most once: the row says ``crediting`` before the call, and a lost answer
becomes ``unknown`` for an admin to check, never a second credit).
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from whmcs_bridge.plugin import SKIP, ApiOutcomeUnknown

from .pricing import UpgradeQuote
from .tables import upgrade_followups as follow_t

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

    from .catalog import UpgradeRow

log = logging.getLogger(__name__)


def promised(quote: UpgradeQuote) -> tuple[dt.date | None, Decimal]:
    """(new next due date or None, credit to grant) that the checkout amount does not carry.

    A downgrade's credit is not here: the checkout answers it as a negative amount, which WHMCS
    itself turns into credit (reference 2.2).
    """
    due = quote.next_due_date if quote.cycle_restarted else None
    credit = quote.credit if not quote.is_downgrade else Decimal(0)
    return due, credit


def record(bridge: Bridge, upgrade: UpgradeRow, quote: UpgradeQuote) -> bool:
    """Keep what ``quote`` promised for ``upgrade``; False when it promised nothing more.

    A second checkout call for the same upgrade replaces a promise not yet kept.
    """
    due, credit = promised(quote)
    if due is None and credit <= 0:
        return False
    now = bridge.clock.panel_now()
    values: dict[str, Any] = {
        "service_id": upgrade.service_id,
        "client_id": upgrade.client_id,
        "policy": quote.policy,
        "next_due_date": due,
        "credit": str(credit),
        "updated_at": now,
    }
    try:
        with bridge.panel.begin() as conn:
            conn.execute(
                insert(follow_t).values(
                    upgrade_id=upgrade.id, status="pending", created_at=now, **values
                )
            )
    except IntegrityError:
        with bridge.panel.begin() as conn:
            conn.execute(
                update(follow_t)
                .where((follow_t.c.upgrade_id == upgrade.id) & (follow_t.c.status == "pending"))
                .values(**values)
            )
    return True


def _set(bridge: Bridge, upgrade_id: int, status: str, note: str | None = None) -> None:
    with bridge.panel.begin() as conn:
        conn.execute(
            update(follow_t)
            .where(follow_t.c.upgrade_id == upgrade_id)
            .values(status=status, note=note, updated_at=bridge.clock.panel_now())
        )


def keep_promise(bridge: Bridge, upgrade_id: int) -> str:
    """On ``upgrade.completed``: move the due date and grant the credit the checkout promised.

    Returns a note for the event's outcome; ``SKIP`` when the checkout promised nothing. An
    API refusal raises, so dispatch retries the event; a lost AddCredit answer does not.
    """
    with bridge.panel.connect() as conn:
        row = conn.execute(select(follow_t).where(follow_t.c.upgrade_id == upgrade_id)).first()
    if row is None:
        return SKIP
    label = f"upgrade {upgrade_id} of service #{row.service_id}"
    if row.status == "done":
        return f"{label}: already kept ({row.note})"
    if row.status in ("crediting", "unknown"):
        note = (
            f"AddCredit for client #{row.client_id} may have been applied already (a run stopped "
            "or its answer was lost); check the client's credit log, it is not sent again"
        )
        _set(bridge, upgrade_id, "unknown", note)
        return f"{label}: {note}"
    credit = Decimal(row.credit)
    plan = []
    if row.next_due_date is not None:
        plan.append(f"next due date {row.next_due_date.isoformat()}")
    if credit > 0:
        plan.append(f"credit {credit}")
    if bridge.dry_run:
        return f"{label}: would set " + ", ".join(plan)
    if row.next_due_date is not None:
        bridge.api.update_client_product(row.service_id, nextduedate=row.next_due_date.isoformat())
    if credit > 0:
        _set(bridge, upgrade_id, "crediting")
        description = f"Upgrade #{upgrade_id}: unused part of the previous plan ({row.policy})"
        try:
            bridge.api.add_credit(row.client_id, credit, description)
        except ApiOutcomeUnknown as exc:
            note = f"AddCredit answer lost ({exc}); check the client's credit log"
            _set(bridge, upgrade_id, "unknown", note)
            log.warning("%s: %s", label, note)
            return f"{label}: {note}"
        except Exception:
            _set(bridge, upgrade_id, "pending")  # refused: nothing was granted, retry is safe
            raise
    done = "set " + ", ".join(plan)
    _set(bridge, upgrade_id, "done", done)
    log.info("%s: %s", label, done)
    return f"{label}: {done}"
