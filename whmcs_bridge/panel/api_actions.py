"""Typed WHMCS API actions: one method per action the bridge uses, normalised answers.

WHMCS's JSON is loose (reference ``whmcs.md`` §3.1): ids and amounts arrive as strings, lists come
wrapped (``{"clients": {"client": [...]}}``) or as ``""`` when empty, unset dates as zero dates.
``api_values`` turns that into ``int``, ``Decimal``, ``date``/``None`` and plain lists (its
helpers stay importable from here), and each method passes ``read=True`` (retry-safe) or
``read=False`` (a write, never retried).

Here: billing, services and domains, tickets, mail, log and settings. The client, contact and
user actions live in ``api_account_actions`` (:class:`AccountActions`, the base class).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from whmcs_bridge.panel.api_account_actions import AccountActions
from whmcs_bridge.panel.api_types import (
    CancelRequest,
    Invoice,
    InvoiceItem,
    InvoiceSummary,
    OpenedTicket,
    Page,
    UpgradeResult,
)
from whmcs_bridge.panel.api_values import (
    to_bool,
    to_date,
    to_datetime,
    to_decimal,
    to_int,
    unwrap_list,
)
from whmcs_bridge.panel.money import Currency

__all__ = [
    "AccountActions",
    "ApiActions",
    "to_bool",
    "to_date",
    "to_datetime",
    "to_decimal",
    "to_int",
    "unwrap_list",
]


class ApiActions(AccountActions):
    """The typed actions; mixed into :class:`whmcs_bridge.panel.api.WhmcsApi`."""

    # -- billing -------------------------------------------------------------------------------

    def get_invoices(
        self,
        client_id: int | None = None,
        *,
        status: str | None = None,
        limitstart: int = 0,
        limitnum: int = 25,
    ) -> Page[InvoiceSummary]:
        """GetInvoices (read); ``status`` may be any stored status or ``Overdue``."""
        data = self.call(
            "GetInvoices",
            {"userid": client_id, "status": status, "limitstart": limitstart, "limitnum": limitnum},
            read=True,
        )
        rows = unwrap_list(data.get("invoices"), "invoice")
        return Page.of([InvoiceSummary.from_api(r) for r in rows], data)

    def get_invoice(self, invoice_id: int) -> Invoice:
        """GetInvoice (read): one invoice with its items, balance and transactions."""
        data = self.call("GetInvoice", {"invoiceid": invoice_id}, read=True)
        items = [InvoiceItem.from_api(r) for r in unwrap_list(data.get("items"), "item")]
        transactions = unwrap_list(data.get("transactions"), "transaction")
        return Invoice.from_api(data, items, transactions)

    def update_invoice(self, invoice_id: int, **fields: Any) -> int:
        """UpdateInvoice (write). ``status='Paid'`` only flips the column; pay with a payment."""
        data = self.call("UpdateInvoice", {"invoiceid": invoice_id, **fields}, read=False)
        return to_int(data.get("invoiceid"), invoice_id) or invoice_id

    def add_invoice_payment(
        self,
        invoice_id: int,
        *,
        transid: str,
        gateway: str,
        date: dt.datetime | None = None,
        amount: Decimal | None = None,
        fees: Decimal | None = None,
        noemail: bool = False,
    ) -> None:
        """AddInvoicePayment (write): a payment, which runs WHMCS's payment automation."""
        self.call(
            "AddInvoicePayment",
            {
                "invoiceid": invoice_id,
                "transid": transid,
                "gateway": gateway,
                "date": date or dt.datetime.now().replace(microsecond=0),
                "amount": amount,
                "fees": fees,
                "noemail": noemail or None,
            },
            read=False,
        )

    def get_currencies(self) -> list[Currency]:
        """GetCurrencies (read): the panel's currencies with prefix, suffix and format."""
        data = self.call("GetCurrencies", {}, read=True)
        return [
            Currency(
                id=to_int(r.get("id")) or 0,
                code=str(r.get("code", "")),
                prefix=str(r.get("prefix", "")),
                suffix=str(r.get("suffix", "")),
                format=to_int(r.get("format"), 1) or 1,
            )
            for r in unwrap_list(data.get("currencies"), "currency")
        ]

    def client_currency(self, client_id: int) -> Currency:
        """The currency a client is billed in (GetClientsDetails + GetCurrencies)."""
        client = self.get_clients_details(client_id)
        for currency in self.get_currencies():
            if currency.id == client.currency_id:
                return currency
        from whmcs_bridge.panel.api import ApiNotFound

        raise ApiNotFound("GetCurrencies", f"Currency {client.currency_id} Not Found")

    def upgrade_product(
        self,
        service_id: int,
        new_product_id: int,
        new_billing_cycle: str,
        *,
        payment_method: str = "",
        calconly: bool = False,
        currency: Currency | None = None,
        client_id: int | None = None,
        promocode: str | None = None,
    ) -> UpgradeResult:
        """UpgradeProduct ``type=product``: a quote (``calconly``, a read) or the order (a write).

        ``price`` is parsed from WHMCS's formatted string with ``currency``; when not given it is
        looked up from the service's client (``client_id`` saves one call).
        """
        params = {
            "serviceid": service_id,
            "type": "product",
            "newproductid": new_product_id,
            "newproductbillingcycle": new_billing_cycle.lower(),
            "paymentmethod": payment_method or None,
            "promocode": promocode,
            "calconly": True if calconly else None,
        }
        data = self.call("UpgradeProduct", params, read=calconly)
        if currency is None:
            if client_id is None:
                page = self.get_clients_products(service_id=service_id)
                client_id = page.items[0].client_id if page.items else 0
            currency = self.client_currency(client_id)
        return UpgradeResult.from_api(data, currency)

    def add_cancel_request(
        self, service_id: int, *, type: str = "End of Billing Period", reason: str | None = None
    ) -> tuple[int, int]:
        """AddCancelRequest (write): returns (service id, client id)."""
        data = self.call(
            "AddCancelRequest",
            {"serviceid": service_id, "type": type, "reason": reason},
            read=False,
        )
        return to_int(data.get("serviceid"), service_id) or service_id, to_int(
            data.get("userid")
        ) or 0

    def get_cancelled_packages(
        self, *, limitstart: int = 0, limitnum: int = 25
    ) -> Page[CancelRequest]:
        """GetCancelledPackages (read): the cancellation requests."""
        data = self.call(
            "GetCancelledPackages", {"limitstart": limitstart, "limitnum": limitnum}, read=True
        )
        rows = unwrap_list(data.get("packages"), "package")
        return Page.of([CancelRequest.from_api(r) for r in rows], data)

    # -- services and domains ------------------------------------------------------------------

    def module_suspend(self, service_id: int, reason: str | None = None) -> None:
        """ModuleSuspend (write); no reason means 'Overdue on Payment' (auto-unsuspendable)."""
        self.call("ModuleSuspend", {"serviceid": service_id, "suspendreason": reason}, read=False)

    def module_unsuspend(self, service_id: int) -> None:
        """ModuleUnsuspend (write)."""
        self.call("ModuleUnsuspend", {"serviceid": service_id}, read=False)

    def module_terminate(self, service_id: int) -> None:
        """ModuleTerminate (write)."""
        self.call("ModuleTerminate", {"serviceid": service_id}, read=False)

    def update_client_product(self, service_id: int, **fields: Any) -> int:
        """UpdateClientProduct (write): edits the service row; runs no module command."""
        data = self.call("UpdateClientProduct", {"serviceid": service_id, **fields}, read=False)
        return to_int(data.get("serviceid"), service_id) or service_id

    def update_client_domain(self, domain_id: int, **fields: Any) -> int:
        """UpdateClientDomain (write): edits the domain row (e.g. ``donotrenew=True``)."""
        data = self.call("UpdateClientDomain", {"domainid": domain_id, **fields}, read=False)
        return to_int(data.get("domainid"), domain_id) or domain_id

    # -- tickets, mail, log, settings ----------------------------------------------------------

    def open_ticket(
        self,
        dept_id: int,
        subject: str,
        message: str,
        *,
        client_id: int | None = None,
        **extra: Any,
    ) -> OpenedTicket:
        """OpenTicket (write): returns the ticket id, its public number and access key."""
        params = {"deptid": dept_id, "subject": subject, "message": message}
        data = self.call("OpenTicket", {**params, "clientid": client_id, **extra}, read=False)
        return OpenedTicket(
            id=to_int(data.get("id")) or 0, tid=str(data.get("tid", "")), c=str(data.get("c", ""))
        )

    def add_ticket_reply(self, ticket_id: int, message: str, **sender: Any) -> None:
        """AddTicketReply (write); ``sender`` is clientid/contactid, adminusername or name+email."""
        self.call(
            "AddTicketReply", {"ticketid": ticket_id, "message": message, **sender}, read=False
        )

    def send_email(
        self,
        messagename: str | None = None,
        related_id: int | None = None,
        *,
        customtype: str | None = None,
        customsubject: str | None = None,
        custommessage: str | None = None,
        customvars: Mapping[str, Any] | None = None,
    ) -> None:
        """SendEmail (write): a client template by name, or a custom message of ``customtype``."""
        self.call(
            "SendEmail",
            {
                "messagename": messagename,
                "id": related_id,
                "customtype": customtype,
                "customsubject": customsubject,
                "custommessage": custommessage,
                "customvars": customvars,
            },
            read=False,
        )

    def add_credit(
        self, client_id: int, amount: Decimal, description: str, date: dt.date | None = None
    ) -> Decimal | None:
        """AddCredit (write): account credit for the client; returns the new balance."""
        if amount <= 0:
            raise ValueError("AddCredit takes a positive amount")
        data = self.call(
            "AddCredit",
            {"clientid": client_id, "amount": amount, "description": description, "date": date},
            read=False,
        )
        return to_decimal(data.get("newbalance"), None)

    def log_activity(self, description: str, client_id: int | None = None) -> None:
        """LogActivity (write) to the panel's activity log."""
        # 8.x reads ``clientid``, 7.x ``userid``; each ignores the other, so send both.
        self.call(
            "LogActivity",
            {"description": description, "clientid": client_id, "userid": client_id},
            read=False,
        )

    def get_configuration_value(self, setting: str) -> str:
        """GetConfigurationValue (read): one ``tblconfiguration`` value as text."""
        data = self.call("GetConfigurationValue", {"setting": setting}, read=True)
        value = data.get("value", "")
        return "" if value is None else str(value)
