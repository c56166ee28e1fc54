"""What clients hold: services, their addons, option choices, SSL orders and domains.

Also the upgrades and cancellation requests made on services. What they are bought from
(products, prices, currencies, the addon catalogue) is in
:mod:`whmcs_bridge.panel.tables_catalogue`.
Columns, types, defaults and keys follow the stock WHMCS 8.4 schema; index names carry the table
name because SQLite index names are per database, not per table.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, text

from whmcs_bridge.panel.tables_meta import metadata
from whmcs_bridge.panel.types import (
    Money,
    PanelBool,
    PanelDate,
    PanelDateTime,
    PanelEnum,
)

__all__ = [
    "cancelrequests",
    "domains",
    "hosting",
    "hostingaddons",
    "hostingconfigoptions",
    "sslorders",
    "upgrades",
]

hosting = Table(
    "tblhosting",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("userid", Integer, nullable=False),
    Column("orderid", Integer, nullable=False),
    Column("packageid", Integer, nullable=False),
    Column("server", Integer, nullable=False),
    Column("regdate", PanelDate(), nullable=False),
    Column("domain", Text, nullable=False),
    Column("paymentmethod", Text, nullable=False),
    Column("qty", Integer, nullable=False, server_default=text("1")),
    Column("firstpaymentamount", Money(), nullable=False, server_default=text("0.00")),
    Column("amount", Money(), nullable=False, server_default=text("0.00")),
    Column("billingcycle", Text, nullable=False),
    Column("nextduedate", PanelDate()),
    Column("nextinvoicedate", PanelDate(), nullable=False),
    Column("termination_date", PanelDate(), nullable=False, server_default="0000-00-00"),
    Column("completed_date", PanelDate(), nullable=False, server_default="0000-00-00"),
    Column(
        "domainstatus",
        PanelEnum(
            "Pending", "Active", "Suspended", "Terminated", "Cancelled", "Fraud", "Completed"
        ),
        nullable=False,
        server_default="Pending",
    ),
    Column("username", Text, nullable=False),
    Column("password", Text, nullable=False),
    Column("notes", Text, nullable=False),
    Column("subscriptionid", Text, nullable=False),
    Column("promoid", Integer, nullable=False),
    Column("promocount", Integer, server_default=text("0")),
    Column("suspendreason", Text, nullable=False),
    Column("overideautosuspend", PanelBool(), nullable=False),
    Column("overidesuspenduntil", PanelDate(), nullable=False),
    Column("dedicatedip", Text, nullable=False),
    Column("assignedips", Text, nullable=False),
    Column("ns1", Text, nullable=False),
    Column("ns2", Text, nullable=False),
    Column("diskusage", Integer, nullable=False, server_default=text("0")),
    Column("disklimit", Integer, nullable=False, server_default=text("0")),
    Column("bwusage", Integer, nullable=False, server_default=text("0")),
    Column("bwlimit", Integer, nullable=False, server_default=text("0")),
    Column("lastupdate", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("created_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("updated_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Index("tblhosting_serviceid", "id"),
    Index("tblhosting_userid", "userid"),
    Index("tblhosting_orderid", "orderid"),
    Index("tblhosting_productid", "packageid"),
    Index("tblhosting_serverid", "server"),
    Index("tblhosting_domain", "domain", mysql_length={"domain": 64}),
    Index("tblhosting_domainstatus", "domainstatus"),
    Index("tblhosting_username", "username", mysql_length={"username": 8}),
)


hostingaddons = Table(
    "tblhostingaddons",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("orderid", Integer, nullable=False),
    Column("hostingid", Integer, nullable=False),
    Column("addonid", Integer, nullable=False),
    Column("userid", Integer, nullable=False, server_default=text("0")),
    Column("server", Integer, nullable=False, server_default=text("0")),
    Column("name", Text, nullable=False),
    Column("qty", Integer, nullable=False, server_default=text("1")),
    Column("firstpaymentamount", Money(), nullable=False, server_default=text("0.00")),
    Column("setupfee", Money(), nullable=False, server_default=text("0.00")),
    Column("recurring", Money(), nullable=False, server_default=text("0.00")),
    Column("billingcycle", Text, nullable=False),
    Column("tax", PanelBool(text_style=True), nullable=False),
    Column(
        "status",
        PanelEnum(
            "Pending", "Active", "Suspended", "Terminated", "Cancelled", "Fraud", "Completed"
        ),
        nullable=False,
        server_default="Pending",
    ),
    Column("regdate", PanelDate(), nullable=False, server_default="0000-00-00"),
    Column("nextduedate", PanelDate()),
    Column("nextinvoicedate", PanelDate(), nullable=False),
    Column("termination_date", PanelDate(), nullable=False, server_default="0000-00-00"),
    Column("proratadate", PanelDate(), nullable=False, server_default="0000-00-00"),
    Column("paymentmethod", Text, nullable=False),
    Column("notes", Text, nullable=False),
    Column("subscriptionid", String(128), nullable=False, server_default=""),
    Column("created_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("updated_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Index("tblhostingaddons_orderid", "orderid"),
    Index("tblhostingaddons_serviceid", "hostingid"),
    Index("tblhostingaddons_name", "name", mysql_length={"name": 32}),
    Index("tblhostingaddons_status", "status"),
)


# SSL certificates ordered with a service (or one of its addons): they move with it (§3.6).
sslorders = Table(
    "tblsslorders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("userid", Integer, nullable=False),
    Column("serviceid", Integer, nullable=False),
    Column("addon_id", Integer, nullable=False, server_default=text("0")),
    Column("remoteid", Text, nullable=False),
    Column("module", Text, nullable=False),
    Column("certtype", Text, nullable=False),
    Column("configdata", Text, nullable=False),
    Column("authdata", Text),
    Column("completiondate", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("status", Text, nullable=False),
)


domains = Table(
    "tbldomains",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("userid", Integer, nullable=False),
    Column("orderid", Integer, nullable=False),
    Column("type", PanelEnum("Register", "Transfer"), nullable=False),
    Column("registrationdate", PanelDate(), nullable=False),
    Column("domain", Text, nullable=False),
    Column("firstpaymentamount", Money(), nullable=False, server_default=text("0.00")),
    Column("recurringamount", Money(), nullable=False),
    Column("registrar", Text, nullable=False),
    Column("registrationperiod", Integer, nullable=False, server_default=text("1")),
    Column("expirydate", PanelDate()),
    Column("subscriptionid", Text, nullable=False),
    Column("promoid", Integer, nullable=False),
    Column(
        "status",
        PanelEnum(
            "Pending",
            "Pending Registration",
            "Pending Transfer",
            "Active",
            "Grace",
            "Redemption",
            "Expired",
            "Cancelled",
            "Fraud",
            "Transferred Away",
        ),
        nullable=False,
        server_default="Pending",
    ),
    Column("nextduedate", PanelDate(), nullable=False, server_default="0000-00-00"),
    Column("nextinvoicedate", PanelDate(), nullable=False),
    Column("additionalnotes", Text, nullable=False),
    Column("paymentmethod", Text, nullable=False),
    Column("dnsmanagement", PanelBool(), nullable=False),
    Column("emailforwarding", PanelBool(), nullable=False),
    Column("idprotection", PanelBool(), nullable=False),
    Column("is_premium", PanelBool()),
    Column("donotrenew", PanelBool(), nullable=False),
    Column("reminders", Text, nullable=False),
    Column("synced", PanelBool(), nullable=False),
    Column("created_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("updated_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Index("tbldomains_userid", "userid"),
    Index("tbldomains_orderid", "orderid"),
    Index("tbldomains_domain", "domain", mysql_length={"domain": 64}),
    Index("tbldomains_status", "status"),
)


upgrades = Table(
    "tblupgrades",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("userid", Integer, nullable=False),
    Column("orderid", Integer, nullable=False),
    Column("type", PanelEnum("service", "addon", "package", "configoptions"), nullable=False),
    Column("date", PanelDate(), nullable=False),
    Column("relid", Integer, nullable=False),
    Column("originalvalue", Text, nullable=False),
    Column("newvalue", Text, nullable=False),
    Column("new_cycle", String(30), nullable=False),
    Column("amount", Money(), nullable=False),
    Column("credit_amount", Money(), nullable=False),
    Column("days_remaining", Integer, nullable=False),
    Column("total_days_in_cycle", Integer, nullable=False),
    Column("new_recurring_amount", Money(), nullable=False),
    Column("recurringchange", Money(), nullable=False),
    Column("status", PanelEnum("Pending", "Completed"), nullable=False, server_default="Pending"),
    Column("paid", PanelEnum("Y", "N"), nullable=False, server_default="N"),
    Index("tblupgrades_orderid", "orderid"),
    Index("tblupgrades_serviceid", "relid"),
)


cancelrequests = Table(
    "tblcancelrequests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("date", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("relid", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("created_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("updated_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Index("tblcancelrequests_serviceid", "relid"),
)


# A service's configurable option choices (their prices are in tblpricing, type configoptions).
hostingconfigoptions = Table(
    "tblhostingconfigoptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("relid", Integer, nullable=False),
    Column("configid", Integer, nullable=False),
    Column("optionid", Integer, nullable=False),
    Column("qty", Integer, nullable=False),
    Index("tblhostingconfigoptions_relid_configid", "relid", "configid"),
)
