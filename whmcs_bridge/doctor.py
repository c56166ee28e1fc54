"""Health checks for ``whmcs-bridge doctor``: one line each, OK or FAIL with the reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.store.migrate import SCHEMA_VERSION, behind, current_version

if TYPE_CHECKING:
    from whmcs_bridge.bridge import Bridge

# Tables every supported WHMCS version has and the plugins read.
REQUIRED_TABLES = (
    "clients",
    "contacts",
    "hosting",
    "products",
    "pricing",
    "currencies",
    "invoices",
    "invoiceitems",
    "configuration",
    "tickets",
)


@dataclass(frozen=True)
class Check:
    """One doctor line."""

    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def core_checks(bridge: Bridge) -> list[Check]:
    """Database reachable, WHMCS recognised, bridge tables current, API answering."""
    panel = bridge.panel
    try:
        panel.ping()
    except BridgeError as exc:
        return [Check("database", False, str(exc))]
    checks = [Check("database", True, f"reachable: {panel.database_label()}")]
    try:
        info = panel.info
    except BridgeError as exc:
        return [*checks, Check("whmcs schema", False, str(exc))]
    missing = [name for name in REQUIRED_TABLES if panel.tables.get(name) is None]
    if missing:
        checks.append(
            Check("whmcs schema", False, "missing tables: " + ", ".join("tbl" + m for m in missing))
        )
    else:
        login = (
            "users (tblusers_clients)"
            if info.login_model == "users"
            else "sub-accounts (tblcontacts)"
        )
        release = f" ({info.release})" if info.release else " (no Version row: guessed from schema)"
        checks.append(
            Check("whmcs schema", True, f"WHMCS {info.version}{release}, login model {login}")
        )
    with panel.connect() as conn:
        version = current_version(conn)
    late = behind(panel.engine, bridge.plugins.migrations())
    if not late:
        checks.append(Check("bridge tables", True, f"at version {version}"))
    else:
        checks.append(
            Check(
                "bridge tables",
                False,
                f"behind: {', '.join(late)} (core at version {version}, expected "
                f"{SCHEMA_VERSION}): run `whmcs-bridge db upgrade`",
            )
        )
    zone = zone_check(bridge) if version else None  # the hook file writes into our tables
    if zone is not None:
        checks.append(zone)
    if bridge.has_api:
        checks.append(api_check(bridge))
    return checks


def zone_check(bridge: Bridge) -> Check | None:
    """PHP's time zone (recorded by the hook file) against ``[panel] timezone``; None before the
    hook file has written a row. WHMCS writes its own dates in PHP's zone, so a different
    ``[panel] timezone`` shifts every date the bridge reads (issue 9 point 4)."""
    from whmcs_bridge.intake.inbox import PHP_ZONE_KEY
    from whmcs_bridge.store.tables import meta

    with bridge.panel.connect() as conn:
        php = conn.execute(select(meta.c.value).where(meta.c.name == PHP_ZONE_KEY)).scalar()
    if not php:
        return None
    ours = bridge.config.timezone
    now = bridge.clock.now()
    try:
        same = str(php) == ours.key or now.astimezone(ZoneInfo(str(php))).utcoffset() == (
            now.utcoffset()
        )
    except (ValueError, ZoneInfoNotFoundError):
        same = False
    if same:
        return Check("time zone", True, f"PHP and [panel] timezone agree: {ours.key}")
    return Check(
        "time zone",
        False,
        f"PHP runs in {php}, [panel] timezone is {ours.key}: WHMCS writes its dates in PHP's"
        f' zone, so set [panel] timezone = "{php}" (or PHP\'s date.timezone to {ours.key})',
    )


def api_check(bridge: Bridge) -> Check:
    """The API answers and accepts our credentials (a harmless read action)."""
    try:
        bridge.api.call("GetConfigurationValue", {"setting": "Version"})
    except BridgeError as exc:
        return Check("whmcs api", False, str(exc))
    return Check("whmcs api", True, f"credentials accepted at {bridge.config.api.url}")  # type: ignore[union-attr]


def plugin_checks(bridge: Bridge) -> list[Check]:
    checks: list[Check] = []
    for result in bridge.plugins.call_each("bridge_doctor_checks", bridge=bridge):
        if result.ok:
            checks.extend(result.value or [])
        else:
            checks.append(Check(f"plugin {result.plugin}", False, str(result.error)))
    return checks
