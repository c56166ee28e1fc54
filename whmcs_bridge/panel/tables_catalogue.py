"""The catalogue: product groups, products, their upgrade paths, prices, currencies and addons.

What clients hold of it (services, their addons, domains) is in
:mod:`whmcs_bridge.panel.tables_services`. Columns, types, defaults and keys follow the stock
WHMCS 8.4 schema; index names carry the table name because SQLite index names are per database,
not per table.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, text

from whmcs_bridge.panel.tables_meta import metadata
from whmcs_bridge.panel.types import Money, PanelBool, PanelDateTime, PanelDecimal, PanelEnum

__all__ = [
    "addons",
    "currencies",
    "pricing",
    "product_upgrade_products",
    "productgroups",
    "products",
]

productgroups = Table(
    "tblproductgroups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("slug", String(128), nullable=False, server_default=""),
    Column("headline", Text),
    Column("tagline", Text),
    Column("orderfrmtpl", Text, nullable=False),
    Column("disabledgateways", Text, nullable=False),
    Column("hidden", PanelBool(), nullable=False),
    Column("order", Integer, nullable=False, server_default=text("0")),
    Column("created_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("updated_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Index("tblproductgroups_order", "order"),
)


products = Table(
    "tblproducts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", Text, nullable=False),
    Column("gid", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("slug", String(128), nullable=False, server_default=""),
    Column("description", Text, nullable=False),
    Column("hidden", PanelBool(), nullable=False),
    Column("showdomainoptions", PanelBool(), nullable=False),
    Column("welcomeemail", Integer, nullable=False, server_default=text("0")),
    Column("stockcontrol", PanelBool(), nullable=False),
    Column("qty", Integer, nullable=False, server_default=text("0")),
    Column("proratabilling", PanelBool(), nullable=False),
    Column("proratadate", Integer, nullable=False),
    Column("proratachargenextmonth", Integer, nullable=False),
    Column("paytype", Text, nullable=False),
    Column("allowqty", Integer, nullable=False),
    Column("subdomain", Text, nullable=False),
    Column("autosetup", Text, nullable=False),
    Column("servertype", Text, nullable=False),
    Column("servergroup", Integer, nullable=False),
    *(Column(f"configoption{n}", Text, nullable=False) for n in range(1, 25)),
    Column("freedomain", Text, nullable=False),
    Column("freedomainpaymentterms", Text, nullable=False),
    Column("freedomaintlds", Text, nullable=False),
    Column("recurringcycles", Integer, nullable=False),
    Column("autoterminatedays", Integer, nullable=False),
    Column("autoterminateemail", Integer, nullable=False, server_default=text("0")),
    Column("configoptionsupgrade", PanelBool(), nullable=False),
    Column("billingcycleupgrade", Text, nullable=False),
    Column("upgradeemail", Integer, nullable=False, server_default=text("0")),
    Column("overagesenabled", String(10), nullable=False),
    Column("overagesdisklimit", Integer, nullable=False),
    Column("overagesbwlimit", Integer, nullable=False),
    Column("overagesdiskprice", PanelDecimal(6, 4), nullable=False),
    Column("overagesbwprice", PanelDecimal(6, 4), nullable=False),
    Column("tax", PanelBool(), nullable=False),
    Column("affiliateonetime", PanelBool(), nullable=False),
    Column("affiliatepaytype", Text, nullable=False),
    Column("affiliatepayamount", Money(), nullable=False),
    Column("order", Integer, nullable=False, server_default=text("0")),
    Column("retired", PanelBool(), nullable=False),
    Column("is_featured", PanelBool(), nullable=False),
    Column("created_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("updated_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Index("tblproducts_gid", "gid"),
    Index("tblproducts_name", "name", mysql_length={"name": 64}),
)


product_upgrade_products = Table(
    "tblproduct_upgrade_products",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product_id", Integer, nullable=False),
    Column("upgrade_product_id", Integer, nullable=False),
    Column("created_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("updated_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Index("tblproduct_upgrade_products_product_id_index", "product_id"),
    Index("tblproduct_upgrade_products_upgrade_product_id_index", "upgrade_product_id"),
)


pricing = Table(
    "tblpricing",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "type",
        PanelEnum(
            "product",
            "addon",
            "configoptions",
            "domainregister",
            "domaintransfer",
            "domainrenew",
            "domainaddons",
            "usage",
        ),
        nullable=False,
    ),
    Column("currency", Integer, nullable=False),
    Column("relid", Integer, nullable=False),
    Column("msetupfee", Money(), nullable=False),
    Column("qsetupfee", Money(), nullable=False),
    Column("ssetupfee", Money(), nullable=False),
    Column("asetupfee", Money(), nullable=False),
    Column("bsetupfee", Money(), nullable=False),
    Column("tsetupfee", Money(), nullable=False),
    Column("monthly", Money(), nullable=False),
    Column("quarterly", Money(), nullable=False),
    Column("semiannually", Money(), nullable=False),
    Column("annually", Money(), nullable=False),
    Column("biennially", Money(), nullable=False),
    Column("triennially", Money(), nullable=False),
    Index("tblpricing_pricing_relid_idx", "relid"),
    Index("tblpricing_pricing_currency_idx", "currency"),
    Index("tblpricing_pricing_type_idx", "type"),
)


currencies = Table(
    "tblcurrencies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", Text, nullable=False),
    Column("prefix", Text, nullable=False),
    Column("suffix", Text, nullable=False),
    Column("format", Integer, nullable=False),
    Column("rate", PanelDecimal(10, 5), nullable=False, server_default=text("1.00000")),
    Column("default", PanelBool(), nullable=False),
)


# The addon catalogue: a service's addon (tblhostingaddons.addonid) takes its name from here
# when its own name is '' (whmcs.md §1.6); prices are in tblpricing, type addon.
addons = Table(
    "tbladdons",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("packages", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("billingcycle", Text, nullable=False),
    Column("allowqty", Integer, nullable=False, server_default=text("0")),
    Column("tax", PanelBool(), nullable=False),
    Column("showorder", PanelBool(), nullable=False),
    Column("hidden", PanelBool(), nullable=False, server_default=text("0")),
    Column("retired", PanelBool(), nullable=False, server_default=text("0")),
    Column("downloads", Text, nullable=False),
    Column("autoactivate", Text, nullable=False),
    Column("suspendproduct", PanelBool(), nullable=False),
    Column("welcomeemail", Integer, nullable=False),
    Column("type", String(16), nullable=False, server_default=""),
    Column("module", String(32), nullable=False, server_default=""),
    Column("server_group_id", Integer, nullable=False, server_default=text("0")),
    Column("prorate", PanelBool(), nullable=False, server_default=text("0")),
    Column("weight", Integer, nullable=False, server_default=text("0")),
    Column("autolinkby", Text, nullable=False),
    Column("created_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Column("updated_at", PanelDateTime(), nullable=False, server_default="0000-00-00 00:00:00"),
    Index("tbladdons_name", "name", mysql_length={"name": 32}),
)
