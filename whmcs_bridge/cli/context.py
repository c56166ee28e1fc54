"""What every subcommand shares: the config path, and the bridge built from it on first use."""

from __future__ import annotations

import json
from typing import Any

import click

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.config import BridgeConfig, load_config
from whmcs_bridge.secrets import redact


class CliState:
    """Loads the config and builds the bridge lazily, once."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._config: BridgeConfig | None = None
        self._bridge: Bridge | None = None

    @property
    def config(self) -> BridgeConfig:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def bridge(self, dry_run: bool = False) -> Bridge:
        if self._bridge is None:
            self._bridge = Bridge(self.config, dry_run=dry_run)
        return self._bridge

    def close(self) -> None:
        if self._bridge is not None:
            self._bridge.close()


pass_state = click.make_pass_decorator(CliState)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def emit_json(data: Any) -> None:
    """Print JSON for machines; secrets are replaced by ``***``."""
    click.echo(json.dumps(redact(data), indent=2, sort_keys=True, default=str))
