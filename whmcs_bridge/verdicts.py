"""What decision hooks return: types declared by the core, implemented by plugins."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol, runtime_checkable

from whmcs_bridge.panel.money import Currency


@runtime_checkable
class UpgradePrice(Protocol):
    """The company's price for an upgrade (``bridge_upgrade_price``), as checkout reads it.

    ``amount_due`` is what the client pays now (never negative), ``credit`` what is credited
    to the account, ``explanation`` one line a client can read, ``policy`` the policy's name.
    """

    policy: str
    amount_due: Decimal
    credit: Decimal
    currency: Currency
    explanation: str
