"""The ``email`` channel: a custom e-mail to a client through the WHMCS API ``SendEmail``.

The recipient is the WHMCS client id; WHMCS picks the address, the language and the mail
template's frame, and logs the mail in the client's e-mail history. API failures map to the
send error kinds the outbox acts on.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from whmcs_bridge.errors import ConfigError
from whmcs_bridge.panel.api import (
    ApiAuthError,
    ApiCommandNotFound,
    ApiError,
    ApiOutcomeUnknown,
    ApiPermissionError,
    ApiTransportError,
)

from .base import OutgoingMessage, SendError, SendErrorKind, SendResult

if TYPE_CHECKING:
    from whmcs_bridge.bridge import Bridge


def as_html(text: str) -> str:
    """The text as the body of a WHMCS mail: HTML-escaped, with plain line breaks.

    WHMCS runs ``nl2br()`` on a custom message itself (whmcs.md §0.1): a ``<br />`` of ours
    would come out as two line breaks."""
    return "\n".join(html.escape(line) for line in text.strip().splitlines())


def admin_html(text: str) -> str:
    """The body of a staff mail (SendAdminEmail, whose custom message is sent as given):
    escaped, line breaks as ``<br />``."""
    return "<br />\n".join(html.escape(line) for line in text.strip().splitlines())


#: WHMCS's one text for a failed SendEmail, SMTP failures included (whmcs.md §0.1).
SENDING_FAILED = "sending failed"


def error_kind(exc: ApiError) -> SendErrorKind:
    """What an API failure means for a send."""
    if isinstance(exc, ApiOutcomeUnknown):
        return "unknown"  # WHMCS may have sent it: never mail twice blindly
    if isinstance(exc, ApiTransportError):
        return "transient"
    if isinstance(exc, ApiAuthError | ApiCommandNotFound):
        return "channel_broken"  # every mail would fail the same way until an admin acts
    if exc.message.strip().lower().startswith(SENDING_FAILED):
        return "transient"  # the mail server may answer later; the client id was checked
    return "permanent"  # validation, client not found


def error_text(exc: ApiError) -> str:
    """What an admin reads about the failure: a missing API role permission named as such."""
    if isinstance(exc, ApiPermissionError):
        return (
            f"the WHMCS API role of [api] identifier does not allow {exc.action}: grant it under"
            f" Setup > Staff Management > Manage API Credentials > API Roles ({exc.message})"
        )
    return str(exc)


class EmailChannel:
    """Sends through ``bridge.api`` (built on first use, so a bad ``[api]`` shows at send)."""

    name = "email"

    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    def __repr__(self) -> str:
        return "EmailChannel()"

    def send(self, msg: OutgoingMessage) -> SendResult:
        """Mail ``msg.text`` (subject ``msg.subject``) to the client whose id is the recipient,
        or to staff when the recipient is ``admin`` or ``admin:<department id>``."""
        if msg.recipient == "admin" or msg.recipient.startswith("admin:"):
            return self._send_admin(msg)
        try:
            client_id = int(msg.recipient)
        except ValueError:
            raise SendError(
                "permanent", f"e-mail recipient {msg.recipient!r} is not a WHMCS client id"
            ) from None
        if not msg.text.strip():
            raise SendError("permanent", f"empty text for event {msg.event!r}")
        params = {
            "customtype": "general",
            "id": client_id,
            "customsubject": msg.subject or msg.event,
            "custommessage": as_html(msg.text),
        }
        try:
            self._bridge.api.call("SendEmail", params)
        except ConfigError as exc:
            raise SendError("channel_broken", str(exc)) from None
        except ApiError as exc:
            raise SendError(error_kind(exc), error_text(exc)) from None
        return SendResult(None, str(client_id))

    def _send_admin(self, msg: OutgoingMessage) -> SendResult:
        """Staff mail through ``SendAdminEmail`` (whmcs.md §3.4): with a department id, WHMCS
        mails that department's admins (``type=support``), else its system admins."""
        department = msg.recipient.partition(":")[2].strip()
        if department and not department.isdigit():
            raise SendError("permanent", f"admin e-mail department {department!r} is not an id")
        if not msg.text.strip():
            raise SendError("permanent", f"empty text for event {msg.event!r}")
        params: dict[str, object] = {
            "customsubject": msg.subject or msg.event,
            "custommessage": admin_html(msg.text),
            "type": "support" if department else "system",
        }
        if department:
            params["deptid"] = int(department)
        try:
            self._bridge.api.call("SendAdminEmail", params)
        except ConfigError as exc:
            raise SendError("channel_broken", str(exc)) from None
        except ApiError as exc:
            raise SendError(error_kind(exc), error_text(exc)) from None
        return SendResult(None, msg.recipient)

    def check(self) -> str | None:
        """The ``whmcs api`` line of ``doctor`` already proves the API works; nothing more here."""
        return None if self._bridge.has_api else "no [api] section: e-mail cannot be sent"
