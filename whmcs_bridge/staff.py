"""What the staff page inside the WHMCS admin area shows and does: tabs, rows and actions.

The addon module in ``hooks/addon/whmcs_bridge/`` is a thin renderer: it asks ``serve`` for
the tabs (``bridge_staff_tabs``), draws them, and sends a button's action back
(``bridge_staff_action``). Every rule stays in the plugin that owns it; the page writes none
twice. A row's action carries the ``version`` of what was drawn (a fingerprint of the state it
was decided on); the plugin refuses the action when the state has moved on since, so staff never
approve what they did not see.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from whmcs_bridge.bridge import Bridge

#: Tabs in this order on the page (a plugin's own tab names its place with ``order``).
ORDER = {"inicio": 0, "transferencias": 10, "bajas": 20, "sla": 30, "contactos": 40, "alertas": 50}


def fingerprint(*parts: object) -> str:
    """A short, stable digest of the state an action is decided on."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StaffAdmin:
    """The WHMCS admin who pressed the button (the page passes ``tbladmins`` id and name)."""

    id: int
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} (admin #{self.id})"


@dataclass(frozen=True)
class StaffAction:
    """A button on a row: ``name`` is ``<plugin>.<verb>`` (``transfers.approve``)."""

    name: str
    label: str
    confirm: str  # the question the page asks before sending it
    params: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    cli: str = ""  # the same action from a shell, shown when serve is down
    danger: bool = False


@dataclass(frozen=True)
class StaffRow:
    """One line of a tab; ``link`` is a WHMCS admin page (``clientssummary.php?userid=7``)."""

    cells: list[str]
    link: str = ""
    actions: list[StaffAction] = field(default_factory=list)
    tone: str = ""  # "" | "warn" | "bad"
    detail: str = ""  # a longer line under the row (every reason of a refused transfer)
    links: list[str] = field(default_factory=list)  # a link per cell ("" none); else ``link``


@dataclass(frozen=True)
class StaffSection:
    """A titled table inside a tab (a tab may have several: requests by state, a report)."""

    title: str
    columns: list[str]
    rows: list[StaffRow]
    empty: str = ""


@dataclass(frozen=True)
class StaffTab:
    """One tab of the page, in the admin's language (``es`` or ``en``)."""

    key: str
    title: str
    summary: str
    sections: list[StaffSection]
    order: int = 100
    badge: int = 0  # how many things wait for staff (shown on the tab)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StaffActionResult:
    """What an action did: ``status`` 200 done, 409 the state changed, 400/404 refused."""

    ok: bool
    message: str
    status: int = 200

    @classmethod
    def changed(cls, message: str) -> StaffActionResult:
        return cls(False, message, 409)

    @classmethod
    def refused(cls, message: str, status: int = 400) -> StaffActionResult:
        return cls(False, message, status)


def is_english(language: str) -> bool:
    """The page's language: English for an admin whose WHMCS language is English, else Spanish."""
    return language.strip().lower() in ("en", "english")


def log_staff_action(bridge: Bridge, admin: StaffAdmin, text: str, client_id: int | None) -> str:
    """Write the action to the panel's activity log (WHMCS ``LogActivity``); a note if it fails.

    The plugin's own table records the action first: the activity log is the panel's copy, so
    an API failure here is reported, never a reason to undo what was done.
    """
    from whmcs_bridge.errors import BridgeError

    if not bridge.has_api:
        return "activity log not written: no [api] section"
    try:
        bridge.api.log_activity(f"{text} (by {admin.label}, whmcs-bridge staff page)", client_id)
    except BridgeError as exc:
        return f"activity log not written: {exc}"
    return ""
