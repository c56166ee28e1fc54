"""The services a plugin gets: ``panel``, ``api``, ``outbox``, ``clock`` and its own config."""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

from whmcs_bridge.clock import Clock
from whmcs_bridge.config import BridgeConfig
from whmcs_bridge.errors import ConfigError
from whmcs_bridge.events.model import Event
from whmcs_bridge.panel.database import Panel
from whmcs_bridge.plugin_manager import PluginHost, get_plugin_manager

log = logging.getLogger(__name__)


class Bridge:
    """One configured bridge: built once per command, shared by every plugin."""

    def __init__(
        self,
        config: BridgeConfig,
        plugins: PluginHost | None = None,
        panel: Panel | None = None,
        clock: Clock | None = None,
        dry_run: bool = False,
    ) -> None:
        self.config = config
        self.plugins = plugins or get_plugin_manager(config)
        self.panel = panel or Panel(config.database_url)
        self.clock = clock or Clock(config.timezone)
        self.dry_run = dry_run

    @property
    def hook(self) -> Any:
        return self.plugins.hook

    def plugin_config(self, name: str) -> dict[str, Any]:
        """The plugin's own config section, secrets resolved (``{}`` when absent)."""
        return self.config.plugin_config(name)

    def settings(self, name: str) -> Any:
        """What the plugin's ``bridge_load_settings`` returned at start (``None`` if nothing)."""
        return self.plugins.settings.get(name)

    def emit(self, *events: Event) -> int:
        """Store events a plugin raises itself (``service.moved``), once per key; returns how
        many were new. They are dispatched in this cycle or the next, like the panel's."""
        from whmcs_bridge.events.store import record_events

        if self.dry_run:
            return 0
        with self.panel.begin() as conn:
            return record_events(conn, events, self.clock.panel_now())

    def record_settled(self, event: Event) -> int:
        """Store an event that no plugin is to act on (a test message's anchor); its id."""
        from whmcs_bridge.events.store import record_settled

        with self.panel.begin() as conn:
            return record_settled(conn, event, self.clock.panel_now())

    @cached_property
    def api(self) -> Any:
        """The WHMCS API client; a clear error when ``[api]`` is not configured."""
        if self.config.api is None:
            raise ConfigError(
                "this needs the WHMCS API: add an [api] section (url, identifier, secret)",
                path=self.config.path,
                key="api",
            )
        from whmcs_bridge.panel.api import WhmcsApi

        api = self.config.api
        return WhmcsApi(
            api.url,
            identifier=api.identifier.reveal() if api.identifier else "",
            secret=api.secret.reveal() if api.secret else "",
            accesskey=api.accesskey.reveal() if api.accesskey else None,
            timeout=api.timeout,
        )

    @property
    def has_api(self) -> bool:
        return self.config.api is not None

    @cached_property
    def outbox(self) -> Any:
        """The durable message outbox (see ``whmcs_bridge.outbox``)."""
        from whmcs_bridge.outbox.service import Outbox

        return Outbox(
            self.panel, self.clock, self.config.outbox, self.offered_channels, self.dry_run
        )

    def offered_channels(self) -> dict[str, Any]:
        """Every channel the core and the plugins offer (``bridge_register_channels``), by name;
        one plugin failing leaves the others' channels usable."""
        found: dict[str, Any] = {}

        def register(channel: Any) -> None:
            found[channel.name] = channel

        for result in self.plugins.call_each(
            "bridge_register_channels", register=register, bridge=self
        ):
            if not result.ok:
                log.error("plugin %s: cannot offer its channels: %s", result.plugin, result.error)
        return found

    def close(self) -> None:
        self.panel.dispose()
