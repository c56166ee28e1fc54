"""Accepted sends recorded in groups: one transaction (one executemany) per group, not per send.

The sending threads of a delivery hand their accepted answers to one :class:`SentRecorder`. The
first thread to arrive while nobody is writing becomes the writer: it writes everything handed in
so far in one transaction, then again what came meanwhile, until nothing is left (group commit).
The others return at once. So a lone send is written as soon as it is answered, and under load
the answers of all threads share a transaction.

An answer not yet written when the process is killed leaves its row ``sending``: the next
delivery calls it an unknown outcome (as for a kill during the request), never unsent. Rows that
moved on meanwhile (a webhook first, a recovery) are found by the row count and written one by
one with :func:`whmcs_bridge.outbox.store.record_sent`, which keeps their state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Update, bindparam, case, func, literal_column, update

from whmcs_bridge.channels.base import SendResult
from whmcs_bridge.outbox import store
from whmcs_bridge.outbox.tables import SENDING, SENT, UNKNOWN, outbox

o = outbox
Entry = tuple[store.Claimed, SendResult, datetime, bool]


@cache
def _update_sent() -> Update:
    """The one UPDATE of an accepted send, with a bound parameter per row (built once)."""
    return (
        update(o)
        .where(
            o.c.id == bindparam("b_id"),
            o.c.claim_token == bindparam("b_token"),
            # Literal states: an expanding IN cannot go into an executemany.
            o.c.state.in_([literal_column(f"'{SENDING}'"), literal_column(f"'{UNKNOWN}'")]),
        )
        .values(
            state=SENT,
            sent_at=bindparam("b_now", type_=o.c.sent_at.type),
            next_attempt_at=None,
            provider_message_id=bindparam("b_pmid", type_=o.c.provider_message_id.type),
            provider_recipient_id=bindparam("b_prid", type_=o.c.provider_recipient_id.type),
            error_kind=None,
            error_code=None,
            updated_at=bindparam("b_now", type_=o.c.updated_at.type),
            last_error=func.coalesce(
                bindparam("b_note", type_=o.c.last_error.type), o.c.last_error
            ),
            duplicate_risk=case((bindparam("b_resend") == 1, 1), else_=o.c.duplicate_risk),
        )
    )


def _params(entry: Entry) -> dict[str, Any]:
    claim, result, now, resend = entry
    status = result.provider_status
    return {
        "b_id": claim.id,
        "b_token": claim.token,
        "b_now": now,
        "b_pmid": result.provider_message_id,
        "b_prid": result.provider_recipient_id,
        # Meta accepted it but holds it (held_for_quality_assessment, paused): keep the word.
        "b_note": f"accepted with message_status {status}"
        if status and status != "accepted"
        else None,
        "b_resend": int(resend),
    }


def write_sent(conn: Connection, entries: list[Entry]) -> None:
    """Record accepted sends in the caller's transaction: one executemany for all of them."""
    if not entries:
        return
    changed = conn.execute(_update_sent(), [_params(e) for e in entries]).rowcount
    if changed != len(entries):
        # Some rows moved on meanwhile: the single-row path keeps their state and takes the ids;
        # for the rows written above it changes nothing.
        for claim, result, now, resend in entries:
            store.record_sent(conn, claim, result, now, resend)


class SentRecorder:
    """Group commit of the accepted sends of one delivery (thread-safe)."""

    def __init__(
        self,
        begin: Callable[[], AbstractContextManager[Connection]],
        retrying: Callable[[Callable[[], None]], None],
    ) -> None:
        self._begin = begin
        self._retrying = retrying
        self._pending: list[Entry] = []
        self._lock = threading.Lock()
        self._writing = False

    def record(self, claim: store.Claimed, result: SendResult, now: datetime, resend: bool) -> None:
        """Hand in one accepted send; written before this returns, or by the thread writing now."""
        with self._lock:
            self._pending.append((claim, result, now, resend))
            if self._writing:
                return
            self._writing = True
        try:
            while self._write_next(stop_writing=True):
                pass
        except BaseException:
            with self._lock:
                self._writing = False
            raise

    def flush(self) -> None:
        """Write what is left (once every sending thread is done: a writer may have failed)."""
        while self._write_next(stop_writing=False):
            pass

    def _write_next(self, stop_writing: bool) -> bool:
        """Write what is pending in one transaction; False when nothing was."""
        with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                if stop_writing:
                    self._writing = False  # under the lock: a later entry finds nobody writing
                return False

        def write() -> None:
            with self._begin() as conn:
                write_sent(conn, batch)

        self._retrying(write)
        return True
