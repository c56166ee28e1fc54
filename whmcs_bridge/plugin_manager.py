"""Finds, loads and checks plugins; only the names in ``[plugins] enabled`` run.

Plugins come from three places, looked up in this order for each enabled name:
1. the built-in ``plugins/`` folder (installed as ``whmcs_bridge.plugins``),
2. loose ``.py`` files in the config's ``plugins_dir`` (as admins drop modules into WHMCS),
3. the ``whmcs_bridge`` entry-point group of installed packages.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import importlib.util
import logging
import os
import re
import sys
from collections.abc import Container, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from whmcs_bridge import __version__, hookspecs
from whmcs_bridge.config import BridgeConfig
from whmcs_bridge.errors import ConfigError, PluginError
from whmcs_bridge.store.migrate import Migration, PluginSchema

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "whmcs_bridge"
_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)
BUILTIN_PLUGINS: dict[str, str] = {
    "alerts": "whmcs_bridge.plugins.alerts",
    "upgrades": "whmcs_bridge.plugins.upgrades",
    "contacts": "whmcs_bridge.plugins.contacts",
    "transfers": "whmcs_bridge.plugins.transfers",
    "cancellations": "whmcs_bridge.plugins.cancellations",
    "sla": "whmcs_bridge.plugins.sla",
}
# Core services written as plugins; always registered, not named in `enabled`.
CORE_PLUGINS: tuple[str, ...] = (
    "whmcs_bridge.channels.registry",
    "whmcs_bridge.serve.staff_core",
)


@dataclass(frozen=True)
class PluginInfo:
    """What ``whmcs-bridge plugins`` lists."""

    name: str
    version: str
    source: str  # builtin | plugins_dir:<path> | entrypoint:<distribution> | test
    enabled: bool


def _builtin_available(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        return False


def _dir_plugins(plugins_dir: Path | None) -> dict[str, Path]:
    if plugins_dir is None or not plugins_dir.is_dir():
        return {}
    return {
        p.stem: p for p in sorted(plugins_dir.glob("*.py")) if not p.name.startswith(("_", "."))
    }


def _file_version(path: Path) -> str:
    """A dropped file's ``__version__``, read as text: listing never executes a plugin."""
    try:
        match = _VERSION.search(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return "-"
    return match.group(1) if match else "-"


def _entry_points(load_entrypoints: bool) -> dict[str, importlib.metadata.EntryPoint]:
    if not load_entrypoints:
        return {}
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _load_file(name: str, path: Path) -> ModuleType:
    module_name = f"whmcs_bridge_plugins_dir.{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin '{name}': cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise PluginError(f"plugin '{name}' ({path}) failed to load: {exc!r}") from exc
    return module


def available_plugins(
    config: BridgeConfig | None, load_entrypoints: bool = True
) -> list[PluginInfo]:
    """Every plugin the bridge can find, enabled or not."""
    enabled = set(config.enabled) if config else set()
    found: dict[str, PluginInfo] = {}
    for name, module in BUILTIN_PLUGINS.items():
        if _builtin_available(module):
            found[name] = PluginInfo(name, __version__, "builtin", name in enabled)
    for name, path in _dir_plugins(config.plugins_dir if config else None).items():
        found.setdefault(
            name, PluginInfo(name, _file_version(path), f"plugins_dir:{path}", name in enabled)
        )
    for name, ep in _entry_points(load_entrypoints).items():
        dist = ep.dist
        version = dist.version if dist else "-"
        source = f"entrypoint:{dist.name if dist else ep.value}"
        found.setdefault(name, PluginInfo(name, version, source, name in enabled))
    return sorted(found.values(), key=lambda info: info.name)


@dataclass(frozen=True)
class HookResult:
    """One plugin's answer to a hook call: its value, or the failure it raised (one line)."""

    plugin: str
    value: Any = None
    error: str | None = None
    exception: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class PluginHost:
    """The pluggy manager plus what was loaded, by name."""

    def __init__(self, pm: pluggy.PluginManager, loaded: list[PluginInfo]) -> None:
        self.pm = pm
        self.loaded = loaded
        #: Each plugin's parsed settings (``bridge_load_settings``), by plugin name.
        self.settings: dict[str, object] = {}

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def names(self) -> list[str]:
        return [info.name for info in self.loaded]

    def info(self, name: str) -> PluginInfo | None:
        return next((info for info in self.loaded if info.name == name), None)

    def impls(self, hook_name: str) -> list[pluggy.HookImpl]:
        """The implementations of a hook, one per plugin, in call order."""
        return getattr(self.pm.hook, hook_name).get_hookimpls()[::-1]

    def call_each(
        self, hook_name: str, *, only: Container[str] | None = None, **kwargs: Any
    ) -> list[HookResult]:
        """Call every implementation of a hook, one plugin at a time, in call order.

        pluggy stops at the first exception; here a plugin that raises is recorded with its name
        in its :class:`HookResult` (the caller reports it: a failed outcome, a doctor line, a log
        line), and the other plugins still run. Hooks are
        called with keyword arguments only.

        :param only: call just these plugins (dispatch: those still owed an event).
        """
        results: list[HookResult] = []
        for impl in self.impls(hook_name):
            if only is not None and impl.plugin_name not in only:
                continue
            args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            try:
                value = impl.function(**args)
            except Exception as exc:
                error = _one_line(f"{type(exc).__name__}: {exc}")
                results.append(HookResult(impl.plugin_name, None, error, exc))
            else:
                results.append(HookResult(impl.plugin_name, value))
        return results

    def migrations(self) -> dict[str, PluginSchema]:
        """Each enabled plugin's declared tables (``bridge_migrations``), by plugin name.

        :raises PluginError: a plugin's declaration fails or is not a list of ``Migration``.
        """
        found: dict[str, PluginSchema] = {}
        for result in self.call_each("bridge_migrations"):
            if not result.ok:
                raise PluginError(
                    f"plugin '{result.plugin}' cannot declare its tables: {result.error}"
                )
            steps = tuple(result.value or ())
            if not all(isinstance(step, Migration) for step in steps):
                raise PluginError(
                    f"plugin '{result.plugin}': bridge_migrations must return Migration objects"
                )
            info = self.info(result.plugin)
            found[result.plugin] = PluginSchema(info.version if info else "-", steps)
        return found


def get_plugin_manager(
    config: BridgeConfig | None,
    load_entrypoints: bool = True,
    plugins: Iterable[tuple[str, object]] = (),
) -> PluginHost:
    """Build the plugin manager for a config: load the enabled plugins and check them.

    :param plugins: extra ``(name, plugin_object)`` pairs registered as if enabled (tests).
    :raises PluginError: an enabled name does not resolve or its module fails to load.
    :raises ConfigError: a plugin finds its config section invalid.
    """
    pm = pluggy.PluginManager("whmcs_bridge")
    pm.add_hookspecs(hookspecs)
    if os.environ.get("WHMCS_BRIDGE_TRACE_PLUGINS") == "1":
        pm.trace.root.setwriter(lambda text: log.warning("plugin trace: %s", text.rstrip()))
        pm.enable_tracing()
    for module_name in CORE_PLUGINS:
        if _builtin_available(module_name):
            pm.register(importlib.import_module(module_name), name=f"core:{module_name}")

    loaded: list[PluginInfo] = []
    if config is not None:
        dir_plugins = _dir_plugins(config.plugins_dir)
        entry_points = None
        for name in config.enabled:
            module: object
            if name in BUILTIN_PLUGINS and _builtin_available(BUILTIN_PLUGINS[name]):
                module = importlib.import_module(BUILTIN_PLUGINS[name])
                info = PluginInfo(name, __version__, "builtin", True)
            elif name in dir_plugins:
                module = _load_file(name, dir_plugins[name])
                info = PluginInfo(
                    name,
                    str(getattr(module, "__version__", "-")),
                    f"plugins_dir:{dir_plugins[name]}",
                    True,
                )
            else:
                if entry_points is None:
                    entry_points = _entry_points(load_entrypoints)
                if name not in entry_points:
                    raise _unknown_plugin(name, config, load_entrypoints)
                ep = entry_points[name]
                try:
                    module = ep.load()
                except Exception as exc:
                    raise PluginError(
                        f"plugin '{name}' ({ep.value}) failed to load: {exc!r}"
                    ) from exc
                dist = ep.dist
                info = PluginInfo(
                    name,
                    dist.version if dist else "-",
                    f"entrypoint:{dist.name if dist else ep.value}",
                    True,
                )
            _register(pm, module, info)
            loaded.append(info)
            log.info("plugin %s %s %s", info.name, info.version, info.source)
    for name, plugin in plugins:
        info = PluginInfo(name, "-", "test", True)
        _register(pm, plugin, info)
        loaded.append(info)
    _check_pending(pm, loaded)
    host = PluginHost(pm, loaded)
    if config is not None:
        host.settings = _load_settings(host, config, loaded)
    return host


def _where(name: str, loaded: Iterable[PluginInfo]) -> str:
    """``plugin 'name' (its file or origin)``, for a message naming a plugin."""
    for info in loaded:
        if info.name == name:
            origin = info.source.removeprefix("plugins_dir:")
            return f"plugin '{name}' ({origin})"
    return f"plugin '{name}'"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _register(pm: pluggy.PluginManager, plugin: object, info: PluginInfo) -> None:
    """``pm.register``, with a hook pluggy refuses (e.g. an argument the spec lacks) named."""
    try:
        pm.register(plugin, name=info.name)
    except pluggy.PluginValidationError as exc:
        # pluggy's text: "Plugin .. for hook ..", "hookimpl definition: f(a, b)", the reason.
        lines = str(exc).splitlines()
        detail = [line.removeprefix("hookimpl definition: ") for line in lines[1:]] or lines
        raise PluginError(
            f"{_where(info.name, [info])}: hook does not match its spec: "
            f"{_one_line(': '.join(detail))}"
        ) from None
    except ValueError as exc:  # the same name or module registered twice
        raise PluginError(
            f"{_where(info.name, [info])} cannot be registered: {_one_line(str(exc))}"
        ) from None


def _check_pending(pm: pluggy.PluginManager, loaded: list[PluginInfo]) -> None:
    """Every ``@hookimpl`` must name a hook of :mod:`hookspecs` (a typo never runs silently)."""
    specs = sorted(name for name in dir(hookspecs) if name.startswith("bridge_"))
    for hook_name in sorted(pm.hook.__dict__):
        caller = getattr(pm.hook, hook_name)
        if hook_name.startswith("_") or caller.spec is not None:
            continue
        for impl in caller.get_hookimpls():
            if impl.optionalhook:
                continue
            close = difflib.get_close_matches(hook_name, specs, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise PluginError(
                f"{_where(impl.plugin_name, loaded)}: unknown hook '{hook_name}'{hint}"
            )
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:  # anything the loop above did not foresee
        name = pm.get_name(exc.plugin) or "?"
        raise PluginError(f"{_where(name, loaded)}: {_one_line(str(exc))}") from None


def _unknown_plugin(name: str, config: BridgeConfig, load_entrypoints: bool) -> PluginError:
    known = ", ".join(info.name for info in available_plugins(config, load_entrypoints)) or "none"
    hint = ""
    if name in BUILTIN_PLUGINS:
        hint = " (a built-in name this version does not ship yet)"
    return PluginError(
        f"{config.path}: [plugins] enabled names '{name}', but no plugin has that name{hint}; "
        f"available: {known}"
    )


def _load_settings(
    host: PluginHost, config: BridgeConfig, loaded: list[PluginInfo]
) -> dict[str, object]:
    """Each plugin's ``bridge_load_settings``, once; the first problem stops the run (exit 2).

    A plugin raises :class:`ConfigError`, or ``ValueError("plugins.<name>.<key>: message")``;
    anything else is the plugin's own failure and is reported as such, naming the plugin.
    """
    settings: dict[str, object] = {}
    for result in host.call_each("bridge_load_settings", config=config):
        exc = result.exception
        if exc is None:
            settings[result.plugin] = result.value
        elif isinstance(exc, ConfigError):
            if exc.path is None:
                raise ConfigError(str(exc), path=config.path, key=exc.key) from None
            raise exc
        elif isinstance(exc, ValueError) and str(exc).startswith("plugins."):
            key, _, message = str(exc).partition(": ")
            raise ConfigError(message or str(exc), path=config.path, key=key) from None
        else:
            section = f"[plugins.{result.plugin}]"
            raise PluginError(
                f"{_where(result.plugin, loaded)} failed checking {section} of "
                f"{config.path}: {result.error}"
            ) from None
    return settings
