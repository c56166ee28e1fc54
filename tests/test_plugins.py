"""The plugin host: discovery, the enabled list, config validation, isolated dispatch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from whmcs_bridge import hookimpl, hookspecs
from whmcs_bridge.config import parse_config
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.errors import ConfigError, PluginError
from whmcs_bridge.plugin_manager import available_plugins, get_plugin_manager
from whmcs_bridge.testing.bridges import make_bridge

DROPPED_PLUGIN = '''
"""An admin's own plugin, dropped into plugins_dir."""
from pathlib import Path
from whmcs_bridge import hookimpl

__version__ = "1.2"

@hookimpl
def bridge_run_tasks(bridge):
    marker = Path(bridge.plugin_config("mine")["marker"])
    marker.write_text("ran")
    return "wrote the marker"
'''


def config_for(tmp_path: Path, **plugins: Any) -> Any:
    raw = {"panel": {"database_url": "sqlite:///panel.sqlite"}, "plugins": plugins}
    return parse_config(raw, tmp_path / "bridge.toml")


def test_plugin_dropped_in_plugins_dir_runs_during_a_cycle(tmp_path: Path, demo_panel: str) -> None:
    plugins_dir = tmp_path / "myplugins"
    plugins_dir.mkdir()
    (plugins_dir / "mine.py").write_text(DROPPED_PLUGIN)
    marker = tmp_path / "marker.txt"
    bridge = make_bridge(
        demo_panel,
        config={
            "plugins": {
                "enabled": ["mine"],
                "plugins_dir": str(plugins_dir),
                "mine": {"marker": str(marker)},
            }
        },
    )
    report = run_cycle(bridge)
    assert marker.read_text() == "ran"
    assert report.tasks == {"mine": "wrote the marker"}
    info = {p.name: p for p in available_plugins(bridge.config)}["mine"]
    assert (info.version, info.enabled) == ("1.2", True)
    assert info.source.startswith("plugins_dir:")


def test_misspelled_enabled_name_stops_naming_it(tmp_path: Path) -> None:
    with pytest.raises(PluginError) as caught:
        get_plugin_manager(config_for(tmp_path, enabled=["alertz"]), load_entrypoints=False)
    assert "'alertz'" in str(caught.value) and str(tmp_path / "bridge.toml") in str(caught.value)


def test_plugin_that_fails_to_import_is_named(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    config = config_for(tmp_path, enabled=["broken"], plugins_dir=str(tmp_path))
    with pytest.raises(PluginError, match=r"plugin 'broken'.*boom"):
        get_plugin_manager(config, load_entrypoints=False)


def test_plugin_with_unknown_hook_fails_check_pending(tmp_path: Path) -> None:
    (tmp_path / "typo.py").write_text(
        "from whmcs_bridge import hookimpl\n"
        "@hookimpl\ndef bridge_on_evnet(bridge, event):\n    pass\n"
    )
    config = config_for(tmp_path, enabled=["typo"], plugins_dir=str(tmp_path))
    with pytest.raises(PluginError) as caught:
        get_plugin_manager(config, load_entrypoints=False)
    message = str(caught.value)
    assert message.startswith(f"plugin 'typo' ({tmp_path / 'typo.py'})")
    assert "unknown hook 'bridge_on_evnet'; did you mean 'bridge_on_event'?" in message


def test_plugin_hook_with_an_argument_the_spec_lacks_is_named(tmp_path: Path) -> None:
    (tmp_path / "extra.py").write_text(
        "from whmcs_bridge import hookimpl\n"
        "@hookimpl\ndef bridge_run_tasks(bridge, when):\n    pass\n"
    )
    config = config_for(tmp_path, enabled=["extra"], plugins_dir=str(tmp_path))
    with pytest.raises(PluginError) as caught:
        get_plugin_manager(config, load_entrypoints=False)
    message = str(caught.value)
    assert message.startswith(f"plugin 'extra' ({tmp_path / 'extra.py'})")
    assert "bridge_run_tasks(bridge, when)" in message and "\n" not in message


class RaisingValidator:
    @hookimpl
    def bridge_load_settings(self, config: Any) -> object:
        return config.plugin_config("fragile")["threshold"]


def test_plugin_whose_validation_raises_is_named(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    with pytest.raises(PluginError) as caught:
        get_plugin_manager(
            config, load_entrypoints=False, plugins=[("fragile", RaisingValidator())]
        )
    message = str(caught.value)
    assert message.startswith("plugin 'fragile' (test) failed checking [plugins.fragile]")
    assert str(tmp_path / "bridge.toml") in message and "KeyError: 'threshold'" in message


class Validating:
    @hookimpl
    def bridge_load_settings(self, config: Any) -> int:
        section = config.plugin_config("strict")
        if not isinstance(section.get("threshold"), int):
            raise ValueError("plugins.strict.threshold: expected a whole number")
        return section["threshold"]


def test_invalid_plugin_section_stops_with_file_and_key(tmp_path: Path) -> None:
    config = config_for(tmp_path, strict={"threshold": "high"})
    with pytest.raises(ConfigError) as caught:
        get_plugin_manager(config, load_entrypoints=False, plugins=[("strict", Validating())])
    assert "key 'plugins.strict.threshold'" in str(caught.value)
    assert str(tmp_path / "bridge.toml") in str(caught.value)


def test_only_enabled_plugins_are_loaded(tmp_path: Path) -> None:
    (tmp_path / "idle.py").write_text(DROPPED_PLUGIN)
    host = get_plugin_manager(
        config_for(tmp_path, plugins_dir=str(tmp_path)), load_entrypoints=False
    )
    assert host.names() == []
    assert [
        p.name
        for p in available_plugins(config_for(tmp_path, plugins_dir=str(tmp_path)))
        if not p.enabled and p.source != "builtin"
    ] == ["idle"]


def test_every_hookspec_is_documented() -> None:
    specs = [name for name in dir(hookspecs) if name.startswith("bridge_")]
    assert len(specs) >= 9
    for name in specs:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert "Fires" in doc, f"{name} docstring must say when it fires"
