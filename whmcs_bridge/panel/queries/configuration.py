"""Questions about the panel's settings (``tblconfiguration``: one ``setting`` -> ``value``)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from whmcs_bridge.panel.tables import PanelTables

__all__ = ["setting"]


def setting(conn: Connection, tables: PanelTables, name: str, default: str = "") -> str:
    """A WHMCS setting's stored text (``'on'``, ``''``, ``'spanish'``...), or ``default`` when
    the panel has no row of that name. Read on ``conn``, so inside the caller's transaction."""
    cfg = tables.configuration
    value = conn.execute(select(cfg.c.value).where(cfg.c.setting == name)).scalar()
    return default if value is None else str(value)
