"""The small, normalised records the typed API actions return (ids ``int``, money ``Decimal``,
zero dates ``None``). Each keeps WHMCS's full answer in ``raw`` for fields not modelled here.

Reading WHMCS's loose values (``to_int``, ``to_date``, ``unwrap_list`` ...) lives in
``api_values``; those names stay importable from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

from whmcs_bridge.panel.api_values import ZERO_DATES as ZERO_DATES  # importable from here too
from whmcs_bridge.panel.api_values import (
    to_bool,
    to_date,
    to_datetime,
    to_decimal,
    to_int,
    unwrap_list,
)
from whmcs_bridge.panel.money import Currency

T = TypeVar("T")

EMAIL_KINDS = ("general", "invoice", "support", "product", "domain", "affiliate")


def _i(value: Any) -> int:
    return to_int(value) or 0


def _d(value: Any) -> Decimal:
    return to_decimal(value) or Decimal("0.00")


def _s(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list action: the items and WHMCS's ``totalresults``."""

    items: list[T]
    total: int

    @classmethod
    def of(cls, items: list[T], data: Mapping[str, Any]) -> Page[T]:
        """Wrap items with the total the answer reports (the item count when it has none)."""
        total = to_int(data.get("totalresults"), len(items))
        return cls(items=items, total=len(items) if total is None else total)

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class ClientDetails:
    """GetClientsDetails: the client fields the bridge uses."""

    id: int
    firstname: str
    lastname: str
    companyname: str
    email: str
    phonenumber: str
    phonecc: str
    country: str
    status: str
    currency_id: int
    currency_code: str
    credit: Decimal
    language: str
    email_preferences: dict[str, bool]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, c: Mapping[str, Any]) -> ClientDetails:
        """Normalise a ``client`` object."""
        prefs = c.get("email_preferences") or {}
        return cls(
            id=_i(c.get("client_id") or c.get("id") or c.get("userid")),
            firstname=_s(c.get("firstname")),
            lastname=_s(c.get("lastname")),
            companyname=_s(c.get("companyname")),
            email=_s(c.get("email")),
            phonenumber=_s(c.get("phonenumber")),
            phonecc=_s(c.get("phonecc")),
            country=_s(c.get("countrycode") or c.get("country")),
            status=_s(c.get("status")),
            currency_id=_i(c.get("currency")),
            currency_code=_s(c.get("currency_code")),
            credit=_d(c.get("credit")),
            language=_s(c.get("language")),
            email_preferences={
                k: to_bool(prefs.get(k, True)) for k in EMAIL_KINDS if isinstance(prefs, Mapping)
            },
            raw=c,
        )


@dataclass(frozen=True)
class ClientProduct:
    """GetClientsProducts: one service."""

    id: int
    client_id: int
    pid: int
    name: str
    domain: str
    status: str
    billingcycle: str
    recurringamount: Decimal
    firstpaymentamount: Decimal
    regdate: dt.date | None
    nextduedate: dt.date | None
    paymentmethod: str
    suspensionreason: str
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, p: Mapping[str, Any]) -> ClientProduct:
        """Normalise a ``product`` object."""
        return cls(
            id=_i(p.get("id")),
            client_id=_i(p.get("clientid")),
            pid=_i(p.get("pid")),
            name=_s(p.get("name")),
            domain=_s(p.get("domain")),
            status=_s(p.get("status")),
            billingcycle=_s(p.get("billingcycle")),
            recurringamount=_d(p.get("recurringamount")),
            firstpaymentamount=_d(p.get("firstpaymentamount")),
            regdate=to_date(p.get("regdate")),
            nextduedate=to_date(p.get("nextduedate")),
            paymentmethod=_s(p.get("paymentmethod")),
            suspensionreason=_s(p.get("suspensionreason")),
            raw=p,
        )


@dataclass(frozen=True)
class InvoiceSummary:
    """GetInvoices: one invoice of the list."""

    id: int
    client_id: int
    invoicenum: str
    date: dt.date | None
    duedate: dt.date | None
    datepaid: dt.datetime | None
    total: Decimal
    status: str
    paymentmethod: str
    currencycode: str
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, r: Mapping[str, Any]) -> InvoiceSummary:
        """Normalise an ``invoice`` object of GetInvoices."""
        return cls(
            id=_i(r.get("id")),
            client_id=_i(r.get("userid")),
            invoicenum=_s(r.get("invoicenum")),
            date=to_date(r.get("date")),
            duedate=to_date(r.get("duedate")),
            datepaid=to_datetime(r.get("datepaid")),
            total=_d(r.get("total")),
            status=_s(r.get("status")),
            paymentmethod=_s(r.get("paymentmethod")),
            currencycode=_s(r.get("currencycode")),
            raw=r,
        )


@dataclass(frozen=True)
class InvoiceItem:
    """One line of GetInvoice."""

    id: int
    type: str
    relid: int
    description: str
    amount: Decimal
    taxed: bool

    @classmethod
    def from_api(cls, r: Mapping[str, Any]) -> InvoiceItem:
        """Normalise an ``item`` object."""
        return cls(
            id=_i(r.get("id")),
            type=_s(r.get("type")),
            relid=_i(r.get("relid")),
            description=_s(r.get("description")),
            amount=_d(r.get("amount")),
            taxed=to_bool(r.get("taxed")),
        )


@dataclass(frozen=True)
class Invoice:
    """GetInvoice: the invoice with its lines and payments."""

    id: int
    client_id: int
    invoicenum: str
    status: str
    date: dt.date | None
    duedate: dt.date | None
    datepaid: dt.datetime | None
    subtotal: Decimal
    credit: Decimal
    tax: Decimal
    tax2: Decimal
    total: Decimal
    balance: Decimal
    paymentmethod: str
    items: list[InvoiceItem]
    transactions: list[Mapping[str, Any]]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(
        cls,
        r: Mapping[str, Any],
        items: list[InvoiceItem],
        transactions: Sequence[Mapping[str, Any]],
    ) -> Invoice:
        """Normalise a GetInvoice answer."""
        return cls(
            id=_i(r.get("invoiceid")),
            client_id=_i(r.get("userid")),
            invoicenum=_s(r.get("invoicenum")),
            status=_s(r.get("status")),
            date=to_date(r.get("date")),
            duedate=to_date(r.get("duedate")),
            datepaid=to_datetime(r.get("datepaid")),
            subtotal=_d(r.get("subtotal")),
            credit=_d(r.get("credit")),
            tax=_d(r.get("tax")),
            tax2=_d(r.get("tax2")),
            total=_d(r.get("total")),
            balance=_d(r.get("balance")),
            paymentmethod=_s(r.get("paymentmethod")),
            items=items,
            transactions=list(transactions),
            raw=r,
        )


@dataclass(frozen=True)
class UpgradeResult:
    """UpgradeProduct ``type=product``: the quote, and the order when not ``calconly``.

    ``price`` is signed (negative for a downgrade); ``price_text`` is WHMCS's formatted string.
    """

    old_product_id: int
    old_product_name: str
    new_product_id: int
    new_product_name: str
    billing_cycle: str
    days_until_renewal: int
    total_days: int
    price: Decimal
    price_text: str
    upgrade_in_progress: bool
    order_id: int | None
    order_number: str | None
    invoice_id: int | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, r: Mapping[str, Any], currency: Currency) -> UpgradeResult:
        """Normalise an answer; the price is read with the client's currency."""
        text = _s(r.get("price"))
        return cls(
            old_product_id=_i(r.get("oldproductid")),
            old_product_name=_s(r.get("oldproductname")),
            new_product_id=_i(r.get("newproductid")),
            new_product_name=_s(r.get("newproductname")),
            billing_cycle=_s(r.get("newproductbillingcycle")),
            days_until_renewal=_i(r.get("daysuntilrenewal")),
            total_days=_i(r.get("totaldays")),
            price=currency.parse_amount(text) if text else Decimal("0.00"),
            price_text=text,
            upgrade_in_progress=to_bool(r.get("upgradeinprogress")),
            order_id=to_int(r.get("orderid"), None),
            order_number=_s(r.get("order_number")) or None,
            invoice_id=to_int(r.get("invoiceid"), None) or None,
            raw=r,
        )


@dataclass(frozen=True)
class CancelRequest:
    """GetCancelledPackages: one ``tblcancelrequests`` row."""

    id: int
    service_id: int
    date: dt.datetime | None
    reason: str
    type: str

    @classmethod
    def from_api(cls, r: Mapping[str, Any]) -> CancelRequest:
        """Normalise a ``package`` object."""
        return cls(
            id=_i(r.get("id")),
            service_id=_i(r.get("relid")),
            date=to_datetime(r.get("date")),
            reason=_s(r.get("reason")),
            type=_s(r.get("type")),
        )


@dataclass(frozen=True)
class Contact:
    """GetContacts: one contact with its e-mail preferences."""

    id: int
    client_id: int
    firstname: str
    lastname: str
    companyname: str
    email: str
    phonenumber: str
    email_preferences: dict[str, bool]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, r: Mapping[str, Any]) -> Contact:
        """Normalise a ``contact`` object (``<kind>emails`` columns become preferences)."""
        return cls(
            id=_i(r.get("id")),
            client_id=_i(r.get("userid")),
            firstname=_s(r.get("firstname")),
            lastname=_s(r.get("lastname")),
            companyname=_s(r.get("companyname")),
            email=_s(r.get("email")),
            phonenumber=_s(r.get("phonenumber")),
            email_preferences={k: to_bool(r.get(f"{k}emails")) for k in EMAIL_KINDS},
            raw=r,
        )


@dataclass(frozen=True)
class User:
    """GetUsers: a login user and the clients it belongs to (client id -> is owner)."""

    id: int
    firstname: str
    lastname: str
    email: str
    clients: dict[int, bool]

    @classmethod
    def from_api(cls, r: Mapping[str, Any]) -> User:
        """Normalise a ``user`` object."""
        links = unwrap_list(r.get("clients"), "client")
        return cls(
            id=_i(r.get("id")),
            firstname=_s(r.get("firstname")),
            lastname=_s(r.get("lastname")),
            email=_s(r.get("email")),
            clients={_i(c.get("id")): to_bool(c.get("isOwner")) for c in links},
        )


@dataclass(frozen=True)
class UserPermissions:
    """GetUserPermissions: a user's rights on one client (an owner has them all)."""

    user_id: int
    client_id: int
    is_owner: bool
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class OpenedTicket:
    """OpenTicket: the ticket id, its public number (``tid``) and access key (``c``)."""

    id: int
    tid: str
    c: str
