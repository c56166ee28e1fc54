"""The core watchers, one module per part of the panel."""

from __future__ import annotations

from whmcs_bridge.intake.watcher import Watcher
from whmcs_bridge.panel.tables import PanelTables


def core_watchers(tables: PanelTables) -> list[Watcher]:
    """Every core watcher that applies to this panel's schema."""
    return []
