"""Who a message goes to: the type ``bridge_alert_recipients`` returns."""

from __future__ import annotations

from dataclasses import dataclass

#: What a recipient is to the account: its holder, a secondary contact, or an 8.x user login.
ROLES = ("client", "contact", "user")


@dataclass(frozen=True)
class Recipient:
    """One person to tell: the client itself (``client:3``), a secondary contact (``contact:7``)
    or a user login (``user:5``). ``phone`` is E.164 or ``None``; ``phone_problem`` then says
    why. ``phone_shared_with`` names an earlier recipient of this event with the same phone, who
    is the one sent to on it. ``account_name`` is the holder's name, for texts written to a
    contact about someone else's account."""

    key: str
    client_id: int
    name: str
    first_name: str
    email: str
    language: str
    phone: str | None
    phone_problem: str | None = None
    phone_note: str | None = None
    raw_phone: str = ""
    phone_shared_with: str | None = None
    role: str = "client"
    account_name: str = ""

    @property
    def is_client(self) -> bool:
        return self.key.startswith("client:")
