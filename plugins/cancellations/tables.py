"""The plugin's own table: one row per WHMCS cancellation request, with its state.

``request_id`` is ``tblcancelrequests.id`` (unique: a request is taken in once, whichever of the
event and the catch-up read sees it first). States (``STATES``):

- ``confirm``: held until staff confirm it (R-CA-6: not made by the client in the client area);
- ``waiting``: End of Billing Period, until ``end_date``;
- ``due``: to be carried out in this cycle;
- ``terminating``: ModuleTerminate was sent (claimed before the call: never sent twice);
- ``unknown``: ModuleTerminate's answer was lost; the next cycle reads the service's status
  before anything is repeated;
- ``done``: the service ended (by the bridge, or by WHMCS's own daily task);
- ``manual``: staff must act (a product without a module: a ticket lists what to delete);
- ``failed``: the terminate was refused (``note`` says why); staff act, then ``done``;
- ``void``: withdrawn (``cancellations void``, or deleted in the admin area).
"""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Index, Integer, String, Table, Text

from whmcs_bridge.plugin import PREFIX, Id, metadata

STATES = ("confirm", "waiting", "due", "terminating", "unknown", "done", "manual", "failed", "void")
#: States the cycle still works on.
OPEN_STATES = ("confirm", "waiting", "due", "terminating", "unknown")

cancellations = Table(
    f"{PREFIX}cancellations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("request_id", Integer, nullable=False, unique=True),
    Column("service_id", Integer, nullable=False),
    Column("client_id", Integer, nullable=False),
    Column("type", String(32), nullable=False),  # Immediate | End of Billing Period
    Column("reason", Text, nullable=False),  # what the client wrote
    Column("origin", String(16), nullable=False),  # clientarea | admin | api | cron | unknown
    Column("requested_at", DateTime, nullable=True),  # panel local time
    Column("end_date", Date, nullable=True),  # the day the service ends
    Column("state", String(16), nullable=False),
    Column("note", Text, nullable=True),  # why failed/manual/void; how it was confirmed
    Column("ticket_id", Integer, nullable=True),  # the technical department's ticket (R-CA-5)
    Column("domain_id", Integer, nullable=True),  # a domain of the same name (R-CA-3)
    Column("domain_action", String(16), nullable=True),  # no_renew | client | renews | none
    Column("event_id", Integer, nullable=True),  # the cancellation.requested event, if any
    Column("state_at", DateTime, nullable=False),  # when the state last changed
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index(f"{PREFIX}cancellations_state", "state"),
    Index(f"{PREFIX}cancellations_service", "service_id"),
)

#: How far the catch-up read of ``tblcancelrequests`` has got (one row, id 1).
cancellation_cursor = Table(
    f"{PREFIX}cancellation_cursor",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_request_id", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
