"""The plugin's own tables: transfer requests (with the check they were judged by) and the
staff notes R-TR-9 adds to tickets.

A request moves through ``pending -> applied`` or ends ``refused`` / ``cancelled``:

* ``refused``: the check or the ticket's e-mail (R-TR-3) said no when it was asked; a new request
  is needed once the reasons are gone;
* ``pending``: authorised by the owner's ticket, waiting for staff to apply it;
* ``applied``: the service was moved, in the same transaction that set this state and stored the
  ``service.moved`` event (so a crash never moves twice and never skips the notices);
* ``cancelled``: staff withdrew it.

``request_reply`` and ``moved_reply`` follow the two ticket replies (what happens next; the move
is done): ``sending`` before AddTicketReply is called, then ``sent``, or ``unknown`` when the
answer was lost (no second reply is sent; staff look at the ticket).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Table, Text

from whmcs_bridge.plugin import PREFIX, Id, LongText, metadata

PENDING, REFUSED, APPLIED, CANCELLED = "pending", "refused", "applied", "cancelled"
STATES = (PENDING, REFUSED, APPLIED, CANCELLED)

transfer_requests = Table(
    f"{PREFIX}transfer_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("service_id", Integer, nullable=False),
    Column("from_client_id", Integer, nullable=False),
    Column("to_client_id", Integer, nullable=True),  # None: the target did not exist (R-TR-2)
    Column("target", String(255), nullable=False),  # what was asked: an id or an e-mail
    Column("ticket_id", Integer, nullable=True),
    Column("state", String(16), nullable=False),
    Column("reasons", String(255), nullable=False, server_default=""),  # codes, comma-separated
    Column("check_json", LongText, nullable=False),  # the TransferCheck the state was decided by
    Column("with_domain", Boolean, nullable=False, server_default="0"),
    Column("event_key", String(191), nullable=True),
    Column("request_reply", String(16), nullable=True),
    Column("moved_reply", String(16), nullable=True),
    Column("note", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("applied_at", DateTime, nullable=True),
    Index(f"{PREFIX}transfer_requests_service", "service_id", "state"),
    Index(f"{PREFIX}transfer_requests_from", "from_client_id", "state"),
)

# One row per ticket that got (or is getting) the R-TR-9 note: the primary key is the claim, so
# two cycles never add the note twice. ``state``: sending, sent, unknown (answer lost).
transfer_notes = Table(
    f"{PREFIX}transfer_notes",
    metadata,
    Column("ticket_id", Integer, primary_key=True, autoincrement=False),
    Column("transfer_id", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
