"""Questions about what clients hold: the products, addons and client group a plan or an offer
can be tied to (a support plan sold as a product or an addon, or given to a group).

Read for many clients at once (``sla status`` over thousands of tickets): a few queries per
thousand clients, not per client.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from whmcs_bridge.panel.tables import PanelTables

__all__ = ["Holdings", "holdings_of_clients"]

#: A service or addon that counts as held.
HELD_STATUSES = ("Active", "Suspended")
_CHUNK = 1000


@dataclass
class Holdings:
    """One client's live products and addons (id and name) and its group."""

    client_id: int
    group_id: int = 0
    group_name: str = ""
    products: set[tuple[int, str]] = field(default_factory=set)
    addons: set[tuple[int, str]] = field(default_factory=set)


def holdings_of_clients(
    conn: Connection, tables: PanelTables, client_ids: Iterable[int]
) -> dict[int, Holdings]:
    """Each client's holdings, for the ids given that exist (guests, id 0, are left out)."""
    ids = sorted({int(i) for i in client_ids if int(i) > 0})
    found: dict[int, Holdings] = {}
    clients, hosting, products = tables.clients, tables.hosting, tables.products
    groups = tables.get("clientgroups")
    addons, catalogue = tables.get("hostingaddons"), tables.get("addons")
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        columns = [clients.c.id, clients.c.groupid]
        source = clients
        if groups is not None:
            columns.append(groups.c.groupname)
            source = clients.outerjoin(groups, groups.c.id == clients.c.groupid)
        for row in conn.execute(
            select(*columns).select_from(source).where(clients.c.id.in_(chunk))
        ):
            name = str(row._mapping.get("groupname") or "").strip()
            found[int(row.id)] = Holdings(int(row.id), int(row.groupid or 0), name)
        query = (
            select(hosting.c.userid, products.c.id, products.c.name)
            .select_from(hosting.join(products, products.c.id == hosting.c.packageid))
            .where(hosting.c.userid.in_(chunk), hosting.c.domainstatus.in_(HELD_STATUSES))
        )
        for row in conn.execute(query):
            held = found.get(int(row.userid))
            if held is not None:
                held.products.add((int(row.id), str(row.name or "").strip()))
        if addons is None:
            continue
        columns = [hosting.c.userid, addons.c.addonid, addons.c.name]
        source = addons.join(hosting, hosting.c.id == addons.c.hostingid)
        if catalogue is not None:
            columns.append(catalogue.c.name.label("catalogue_name"))
            source = source.outerjoin(catalogue, catalogue.c.id == addons.c.addonid)
        query = (
            select(*columns)
            .select_from(source)
            .where(hosting.c.userid.in_(chunk), addons.c.status.in_(HELD_STATUSES))
        )
        for row in conn.execute(query):
            held = found.get(int(row.userid))
            if held is None:
                continue
            # An addon's own name (tblhostingaddons.name) is set for custom addons; a catalogue
            # addon is named in tbladdons.
            name = str(row.name or "").strip() or str(row._mapping.get("catalogue_name") or "")
            held.addons.add((int(row.addonid or 0), name.strip()))
    return found
