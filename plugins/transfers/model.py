"""What a transfer check says: the verdict, its reasons and flags, and the two clients as seen.

:class:`TransferCheck` is stored with each request as JSON (:meth:`TransferCheck.as_dict`) and
read back (:meth:`TransferCheck.from_dict`), so what staff decided on can be read later.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from whmcs_bridge.plugin import BridgeError

ALLOWED, REFUSED = "allowed", "refused"
#: The rule of a reason that comes from what WHMCS's own move does (whmcs.md §3.6).
WHMCS = "WHMCS §3.6"


class BadTransferArgument(BridgeError):
    """The command names no service, or a target that is neither a client id nor an e-mail."""

    exit_code = 2


@dataclass(frozen=True)
class Finding:
    """A reason that refuses the move, or a flag staff must see before applying it.

    ``ids``: what is involved, e.g. ``{"invoice_ids": [4, 9]}``.
    """

    code: str
    rule: str
    text: str
    ids: dict[str, Any] = field(default_factory=dict)


Reason = Flag = Finding


@dataclass(frozen=True)
class Party:
    """A client as the check saw it."""

    id: int
    name: str
    company: str
    email: str
    status: str
    currency: str


@dataclass(frozen=True)
class TransferCheck:
    service_id: int
    target: str
    checked_on: date
    service: dict[str, Any]
    holder: Party | None
    recipient: Party | None
    reasons: tuple[Reason, ...]
    flags: tuple[Flag, ...]

    @property
    def verdict(self) -> str:
        return REFUSED if self.reasons else ALLOWED

    @property
    def codes(self) -> list[str]:
        return [reason.code for reason in self.reasons]

    def flag(self, code: str) -> Flag | None:
        return next((f for f in self.flags if f.code == code), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "service_id": self.service_id,
            "target": self.target,
            "checked_on": self.checked_on.isoformat(),
            "service": self.service,
            "from_client": asdict(self.holder) if self.holder else None,
            "to_client": asdict(self.recipient) if self.recipient else None,
            "reasons": [asdict(r) for r in self.reasons],
            "flags": [asdict(f) for f in self.flags],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TransferCheck:
        """Read back a stored snapshot."""

        def party(value: dict[str, Any] | None) -> Party | None:
            return Party(**value) if value else None

        return cls(
            service_id=int(data["service_id"]),
            target=str(data["target"]),
            checked_on=date.fromisoformat(data["checked_on"]),
            service=dict(data["service"]),
            holder=party(data.get("from_client")),
            recipient=party(data.get("to_client")),
            reasons=tuple(Reason(**r) for r in data.get("reasons", [])),
            flags=tuple(Flag(**f) for f in data.get("flags", [])),
        )


def parse_target(text: str) -> int | str:
    """A client id (digits) or an e-mail (lower-cased); anything else is a bad argument."""
    value = str(text).strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        return value.lower()
    raise BadTransferArgument(f"--to {text!r}: give a client id or the client's e-mail address")
