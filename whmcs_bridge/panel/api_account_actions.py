"""Typed WHMCS API actions on the account: clients, their contacts, and the login users.

One method per action the bridge uses, each passing ``read=True`` (retry-safe) or ``read=False``
(a write, never retried). :class:`AccountActions` is the base of
:class:`whmcs_bridge.panel.api_actions.ApiActions`, whose billing actions look clients up here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from whmcs_bridge.panel.api_types import (
    ClientDetails,
    ClientProduct,
    Contact,
    Page,
    User,
    UserPermissions,
)
from whmcs_bridge.panel.api_values import to_bool, to_int, unwrap_list

__all__ = ["AccountActions"]


def _csv(values: Iterable[str] | str) -> str:
    return values if isinstance(values, str) else ",".join(values)


def _permissions(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p for p in (s.strip() for s in value.split(",")) if p)
    return tuple(str(p) for p in unwrap_list(value, "permission"))


class AccountActions:
    """The client, contact and user actions; the base class of ``ApiActions``."""

    def call(
        self, action: str, params: Mapping[str, Any] | None = None, *, read: bool | None = None
    ) -> dict[str, Any]:
        """Run one action (provided by the client core)."""
        raise NotImplementedError

    # -- clients, contacts, users --------------------------------------------------------------

    def get_clients_details(
        self, client_id: int | None = None, *, email: str | None = None
    ) -> ClientDetails:
        """GetClientsDetails (read) by client id or e-mail."""
        data = self.call(
            "GetClientsDetails", {"clientid": client_id, "email": email, "stats": False}, read=True
        )
        return ClientDetails.from_api(data.get("client") or data)

    def get_clients_products(
        self,
        client_id: int | None = None,
        *,
        service_id: int | None = None,
        limitstart: int = 0,
        limitnum: int = 25,
    ) -> Page[ClientProduct]:
        """GetClientsProducts (read) for a client or one service."""
        data = self.call(
            "GetClientsProducts",
            {
                "clientid": client_id,
                "serviceid": service_id,
                "limitstart": limitstart,
                "limitnum": limitnum,
            },
            read=True,
        )
        rows = unwrap_list(data.get("products"), "product")
        return Page.of([ClientProduct.from_api(r) for r in rows], data)

    def get_contacts(self, client_id: int | None = None, **filters: Any) -> Page[Contact]:
        """GetContacts (read): a client's contacts, optionally filtered by exact field values."""
        data = self.call("GetContacts", {"userid": client_id, **filters}, read=True)
        rows = unwrap_list(data.get("contacts"), "contact")
        return Page.of([Contact.from_api(r) for r in rows], data)

    def add_contact(
        self,
        client_id: int,
        *,
        email_preferences: Mapping[str, bool] | None = None,
        **fields: Any,
    ) -> int:
        """AddContact (write): returns the new contact id."""
        params = {"clientid": client_id, **fields, "email_preferences": email_preferences}
        return to_int(self.call("AddContact", params, read=False).get("contactid")) or 0

    def update_contact(
        self,
        contact_id: int,
        *,
        email_preferences: Mapping[str, bool] | None = None,
        **fields: Any,
    ) -> int:
        """UpdateContact (write): returns the contact id. Fires no ContactEdit hook (§2.2)."""
        params = {"contactid": contact_id, **fields, "email_preferences": email_preferences}
        return to_int(self.call("UpdateContact", params, read=False).get("contactid")) or 0

    def get_users(
        self, search: str | None = None, *, limitstart: int = 0, limitnum: int = 25
    ) -> Page[User]:
        """GetUsers (read, WHMCS 8.1+): login users with the clients each belongs to."""
        data = self.call(
            "GetUsers",
            {"search": search, "limitstart": limitstart, "limitnum": limitnum},
            read=True,
        )
        rows = unwrap_list(data.get("users"), "user")
        return Page.of([User.from_api(r) for r in rows], data)

    def get_user_permissions(self, user_id: int, client_id: int) -> UserPermissions:
        """GetUserPermissions (read, 8.0+): the user's rights on a client account."""
        data = self.call(
            "GetUserPermissions", {"user_id": user_id, "client_id": client_id}, read=True
        )
        return UserPermissions(
            user_id=to_int(data.get("user_id"), user_id) or user_id,
            client_id=to_int(data.get("client_id"), client_id) or client_id,
            is_owner=to_bool(data.get("is_owner")),
            permissions=_permissions(data.get("permissions")),
        )

    def update_user_permissions(
        self, user_id: int, client_id: int, permissions: Iterable[str] | str
    ) -> tuple[str, ...]:
        """UpdateUserPermissions (write, 8.0+): returns the permissions WHMCS stored."""
        data = self.call(
            "UpdateUserPermissions",
            {"user_id": user_id, "client_id": client_id, "permissions": _csv(permissions)},
            read=False,
        )
        return _permissions(data.get("permissions", _csv(permissions)))

    def create_client_invite(
        self, client_id: int, email: str, permissions: Iterable[str] | str
    ) -> None:
        """CreateClientInvite (write, 8.0+): invite an e-mail to the client with these rights."""
        self.call(
            "CreateClientInvite",
            {"client_id": client_id, "email": email, "permissions": _csv(permissions)},
            read=False,
        )
