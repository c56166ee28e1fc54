"""Accepted sends recorded in groups: one transaction (one UPDATE) per group, not per send.

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
from typing import Any

from sqlalchemy import Connection

from whmcs_bridge.channels.base import SendResult
from whmcs_bridge.outbox import store
from whmcs_bridge.outbox.tables import SENDING, SENT, UNKNOWN, outbox

o = outbox
Entry = tuple[store.Claimed, SendResult, datetime, bool]


_STATES = f"'{SENDING}', '{UNKNOWN}'"


def _bind(conn: Connection) -> tuple[str, Callable[[Any], Any]]:
    """The driver's placeholder and how a datetime is passed to it (the column type's own
    conversion: SQLite stores text, MySQL drivers take the datetime)."""
    mark = "?" if conn.dialect.paramstyle in ("qmark", "numeric") else "%s"
    convert = o.c.sent_at.type.bind_processor(conn.dialect)
    return mark, convert or (lambda value: value)


def _sent_statement(conn: Connection, entries: list[Entry]) -> tuple[str, list[Any]]:
    """ONE statement for a group of accepted sends: the per-row values in CASE expressions.

    Driver-level SQL (``exec_driver_sql``) because the statement's shape changes with the group:
    a SQLAlchemy construct of 3 CASEs over 50 rows costs more to compile than to run, and an
    executemany is one round trip per row with PyMySQL.
    """
    mark, convert = _bind(conn)
    when = f" WHEN {mark} THEN {mark}"
    ids = [e[0].id for e in entries]
    params: list[Any] = []

    def column(values: list[Any]) -> str:
        for row_id, value in zip(ids, values, strict=True):
            params.extend((row_id, value))
        return "CASE id" + when * len(ids) + " END"

    sent_at = column([convert(e[2]) for e in entries])
    message_ids = column([e[1].provider_message_id for e in entries])
    recipient_ids = column([e[1].provider_recipient_id for e in entries])
    sets = [
        f"state = '{SENT}'",
        f"sent_at = {sent_at}",
        "next_attempt_at = NULL",
        f"provider_message_id = {message_ids}",
        f"provider_recipient_id = {recipient_ids}",
        "error_kind = NULL",
        "error_code = NULL",
        f"updated_at = {sent_at}",
    ]
    params.extend(params[: 2 * len(ids)])  # updated_at: the same CASE as sent_at
    noted = [(e[0].id, _note(e[1])) for e in entries if _note(e[1])]
    if noted:
        sets.append("last_error = CASE id" + when * len(noted) + " ELSE last_error END")
        params.extend(value for pair in noted for value in pair)
    resent = [e[0].id for e in entries if e[3]]
    if resent:
        marks = ", ".join([mark] * len(resent))
        sets.append(f"duplicate_risk = CASE WHEN id IN ({marks}) THEN 1 ELSE duplicate_risk END")
        params.extend(resent)
    # A stale-send recovery may have called a row unknown while its answer was on its way.
    where = (
        f"id IN ({', '.join([mark] * len(ids))}) AND claim_token = {mark} AND state IN ({_STATES})"
    )
    params.extend([*ids, entries[0][0].token])
    return f"UPDATE {o.name} SET {', '.join(sets)} WHERE {where}", params


def _note(result: SendResult) -> str | None:
    """Meta accepted it but holds it (held_for_quality_assessment, paused): keep the word."""
    status = result.provider_status
    return f"accepted with message_status {status}" if status and status != "accepted" else None


def write_sent(conn: Connection, entries: list[Entry]) -> None:
    """Record accepted sends in the caller's transaction: one statement per claim token."""
    by_token: dict[str, list[Entry]] = {}
    for entry in entries:
        by_token.setdefault(entry[0].token, []).append(entry)
    for group in by_token.values():
        sql, params = _sent_statement(conn, group)
        changed = conn.exec_driver_sql(sql, tuple(params)).rowcount
        if changed != len(group):
            # Some rows moved on meanwhile: the single-row path keeps their state and takes the
            # ids; for the rows written above it changes nothing.
            for claim, result, now, resend in group:
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
