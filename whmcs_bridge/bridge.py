"""The services a plugin gets: ``panel``, ``api``, ``outbox``, ``clock`` and its own config."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from whmcs_bridge.clock import Clock
from whmcs_bridge.config import BridgeConfig
from whmcs_bridge.errors import ConfigError
from whmcs_bridge.panel.database import Panel
from whmcs_bridge.plugin_manager import PluginHost, get_plugin_manager


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

        return Outbox(self)

    def close(self) -> None:
        self.panel.dispose()
