"""Orders, invoices, quotes, credit and transactions.

Columns, types, defaults and keys follow the stock WHMCS 8.4 schema; index names carry the
table name because SQLite index names are per database, not per table.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, text

from whmcs_bridge.panel.tables_meta import metadata
from whmcs_bridge.panel.types import (
    Money,
    PanelBool,
    PanelDate,
    PanelDateTime,
    PanelDecimal,
    PanelEnum,
)

__all__ = [
    "accounts",
    "credit",
    "invoiceitems",
    "invoices",
    "orders",
    "paymentgateways",
    "quoteitems",
    "quotes",
]

orders = Table(
    "tblorders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ordernum", BigInteger, nullable=False),
    Column("userid", Integer, nullable=False),
    Column("contactid", Integer, nullable=False),
    Column("requestor_id", Integer, nullable=False, server_default=text("0")),
    Column("admin_requestor_id", Integer, nullable=False, server_default=text("0")),
    Column("date", PanelDateTime(), nullable=False),
    Column("nameservers", Text, nullable=False),
    Column("transfersecret", Text, nullable=False),
    Column("renewals", Text, nullable=False),
    Column("promocode", Text, nullable=False),
    Column("promotype", Text, nullable=False),
    Column("promovalue", Text, nullable=False),
    Column("orderdata", Text, nullable=False),
    Column("amount", Money(), nullable=False),
    Column("paymentmethod", Text, nullable=False),
    Column("invoiceid", Integer, nullable=False, server_default=text("0")),
    Column("status", Text, nullable=False),
    Column("ipaddress", Text, nullable=False),
    Column("fraudmodule", Text, nullable=False),
    Column("fraudoutput", Text, nullable=False),
    Column("notes", Text, nullable=False),
    Index("tblorders_ordernum", "ordernum"),
    Index("tblorders_userid", "userid"),
    Index("tblorders_contactid", "contactid"),
    Index("tblorders_date", "date"),
    Index("tblorders_requestor_id", "requestor_id"),
)


invoices = Table(
    "tblinvoices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("userid", Integer, nullable=False),
    Column("invoicenum", Text, nullable=False),
    Column("date", PanelDate()),
    Column("duedate", PanelDate()),
    Column("datepaid", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column(
        "last_capture_attempt",
        PanelDateTime(),
        nullable=False,
        server_default="0000-00-00 00:00:00",
    ),
    Column("date_refunded", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("date_cancelled", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("subtotal", Money(), nullable=False),
    Column("credit", Money(), nullable=False),
    Column("tax", Money(), nullable=False),
    Column("tax2", Money(), nullable=False),
    Column("total", Money(), nullable=False, server_default=text("0.00")),
    Column("taxrate", PanelDecimal(10, 3), nullable=False, server_default=text("0.000")),
    Column("taxrate2", PanelDecimal(10, 3), nullable=False, server_default=text("0.000")),
    Column("status", Text, nullable=False),
    Column("paymentmethod", Text, nullable=False),
    Column("paymethodid", Integer),
    Column("notes", Text, nullable=False),
    Column("created_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("updated_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Index("tblinvoices_userid", "userid"),
    Index("tblinvoices_status", "status", mysql_length={"status": 3}),
)


invoiceitems = Table(
    "tblinvoiceitems",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("invoiceid", Integer, nullable=False, server_default=text("0")),
    Column("userid", Integer, nullable=False),
    Column("type", String(30), nullable=False),
    Column("relid", Integer, nullable=False),
    Column("description", Text, nullable=False),
    Column("amount", Money(), nullable=False, server_default=text("0.00")),
    Column("taxed", PanelBool(), nullable=False),
    Column("duedate", PanelDate()),
    Column("paymentmethod", Text, nullable=False),
    Column("notes", Text, nullable=False),
    Index("tblinvoiceitems_invoiceid", "invoiceid"),
    Index("tblinvoiceitems_userid", "userid", "type", "relid"),
)


quotes = Table(
    "tblquotes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", Text, nullable=False),
    Column(
        "stage",
        PanelEnum("Draft", "Delivered", "On Hold", "Accepted", "Lost", "Dead"),
        nullable=False,
    ),
    Column("validuntil", PanelDate(), nullable=False),
    Column("userid", Integer, nullable=False),
    Column("firstname", Text, nullable=False),
    Column("lastname", Text, nullable=False),
    Column("companyname", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("address1", Text, nullable=False),
    Column("address2", Text, nullable=False),
    Column("city", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("postcode", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("phonenumber", Text, nullable=False),
    Column("tax_id", String(128), nullable=False, server_default=""),
    Column("currency", Integer, nullable=False),
    Column("subtotal", Money(), nullable=False),
    Column("tax1", Money(), nullable=False),
    Column("tax2", Money(), nullable=False),
    Column("total", Money(), nullable=False),
    Column("proposal", Text, nullable=False),
    Column("customernotes", Text, nullable=False),
    Column("adminnotes", Text, nullable=False),
    Column("datecreated", PanelDate(), nullable=False),
    Column("lastmodified", PanelDate(), nullable=False),
    Column("datesent", PanelDate(), nullable=False),
    Column("dateaccepted", PanelDate(), nullable=False),
)


quoteitems = Table(
    "tblquoteitems",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("quoteid", Integer, nullable=False),
    Column("description", Text, nullable=False),
    Column("quantity", Text, nullable=False),
    Column("unitprice", Money(), nullable=False),
    Column("discount", Money(), nullable=False),
    Column("taxable", PanelBool(), nullable=False),
    Column("created_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("updated_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
)


credit = Table(
    "tblcredit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("clientid", Integer, nullable=False),
    Column("admin_id", Integer, nullable=False, server_default=text("0")),
    Column("date", PanelDate(), nullable=False),
    Column("description", Text, nullable=False),
    Column("amount", Money(), nullable=False),
    Column("relid", Integer, nullable=False, server_default=text("0")),
)


accounts = Table(
    "tblaccounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("userid", Integer, nullable=False),
    Column("currency", Integer, nullable=False),
    Column("gateway", Text, nullable=False),
    Column("date", PanelDateTime()),
    Column("description", Text, nullable=False),
    Column("amountin", Money(), nullable=False, server_default=text("0.00")),
    Column("fees", Money(), nullable=False, server_default=text("0.00")),
    Column("amountout", Money(), nullable=False, server_default=text("0.00")),
    Column("rate", PanelDecimal(16, 5), nullable=False, server_default=text("1.00000")),
    Column("transid", Text, nullable=False),
    Column("invoiceid", Integer, nullable=False, server_default=text("0")),
    Column("refundid", Integer, nullable=False, server_default=text("0")),
    Index("tblaccounts_invoiceid", "invoiceid"),
    Index("tblaccounts_userid", "userid"),
    Index("tblaccounts_date", "date"),
    Index("tblaccounts_transid", "transid", mysql_length={"transid": 32}),
)


paymentgateways = Table(
    "tblpaymentgateways",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("gateway", Text, nullable=False),
    Column("setting", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("order", Integer, nullable=False),
    Index(
        "tblpaymentgateways_gateway_setting",
        "gateway",
        "setting",
        mysql_length={"gateway": 32, "setting": 32},
    ),
    Index(
        "tblpaymentgateways_setting_value",
        "setting",
        "value",
        mysql_length={"setting": 32, "value": 32},
    ),
)
