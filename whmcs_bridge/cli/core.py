"""``doctor``, ``run``, ``plugins`` and ``db upgrade``."""

from __future__ import annotations

import sys

import click

from whmcs_bridge.cli.context import CliState, emit_json, json_option, pass_state
from whmcs_bridge.errors import BridgeError, LockHeld


@click.command()
@json_option
@pass_state
def doctor(state: CliState, as_json: bool) -> None:
    """Check the database, the WHMCS schema, the bridge tables, the API and each plugin."""
    from whmcs_bridge.doctor import Check, core_checks, plugin_checks

    bridge = state.bridge()
    checks = core_checks(bridge)
    if not any(c.name == "database" and not c.ok for c in checks):
        checks.extend(plugin_checks(bridge))
    checks.extend(
        Check(f"plugin {name}", True, "loaded")
        for name in bridge.plugins.names()
        if not any(c.name.startswith(f"plugin {name}") for c in checks)
    )
    failed = [c for c in checks if not c.ok]
    if as_json:
        emit_json({"ok": not failed, "checks": [c.as_dict() for c in checks]})
    else:
        for check in checks:
            click.echo(f"{'OK  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    if failed:
        sys.exit(1)


@click.command()
@click.option("--dry-run", is_flag=True, help="Show what intake finds; store and send nothing.")
@json_option
@pass_state
def run(state: CliState, dry_run: bool, as_json: bool) -> None:
    """Run one cycle: intake, dispatch, tasks, delivery (under a lock)."""
    from whmcs_bridge.cycle import run_cycle

    bridge = state.bridge(dry_run=dry_run)
    try:
        report = run_cycle(bridge)
    except LockHeld as exc:
        if as_json:
            emit_json({"ok": True, "skipped": str(exc)})
        else:
            click.echo(str(exc))
        return
    if as_json:
        emit_json(report.as_dict())
    else:
        _print_report(report)
    if not report.ok:
        sys.exit(1)


def _print_report(report: object) -> None:
    data = report.as_dict()  # type: ignore[attr-defined]
    prefix = "dry run: " if data["dry_run"] else ""
    if data["schema"]:
        click.echo(data["schema"])
    intake = data["intake"]
    if intake.get("baselines"):
        click.echo(
            f"{prefix}first run of watchers {', '.join(intake['baselines'])}: baseline "
            "recorded, no events for past history"
        )
    names = ", ".join(f"{n} {c}" for n, c in sorted(intake.get("by_name", {}).items())) or "none"
    click.echo(
        f"{prefix}intake: {intake.get('inbox_rows', 0)} inbox rows, "
        f"{intake.get('quarantined', 0)} quarantined, events found: {names}; "
        f"new: {intake.get('new_events', 0)}"
    )
    if data["dispatch"]:
        d = data["dispatch"]
        click.echo(
            f"dispatch: {d['events']} events, {d['done']} handled, {d['failed']} failed, "
            f"{d['quarantined']} quarantined"
        )
    for plugin, summary in data["tasks"].items():
        click.echo(f"tasks {plugin}: {summary}")
    if data["delivery"]:
        click.echo("delivery: " + ", ".join(f"{k} {v}" for k, v in data["delivery"].items()))
    for error in data["errors"]:
        click.echo(f"error: {error}", err=True)
    click.echo(f"cycle took {data['seconds']} s")


@click.command()
@json_option
@pass_state
def plugins(state: CliState, as_json: bool) -> None:
    """List the plugins the bridge can find, and which are enabled."""
    from whmcs_bridge.plugin_manager import available_plugins

    config = state.config
    found = available_plugins(config)
    if as_json:
        emit_json([p.__dict__ for p in found])
        return
    for info in found:
        mark = "enabled " if info.enabled else "disabled"
        click.echo(f"{info.name:<16} {info.version:<10} {mark} {info.source}")
    missing = [name for name in config.enabled if name not in {p.name for p in found}]
    for name in missing:
        click.echo(f"{name:<16} {'-':<10} MISSING  named in [plugins] enabled, not found")
    if missing:
        sys.exit(1)


@click.group()
def db() -> None:
    """The bridge's own tables in the panel database."""


@db.command("upgrade")
@json_option
@pass_state
def db_upgrade(state: CliState, as_json: bool) -> None:
    """Create or migrate the mod_whmcs_bridge_* tables (safe to repeat)."""
    from whmcs_bridge.panel.database import describe_db_error
    from whmcs_bridge.store.migrate import upgrade

    bridge = state.bridge()
    try:
        before, after = upgrade(bridge.panel.engine, bridge.plugins.migrations())
    except BridgeError:
        raise
    except Exception as exc:  # a refused connection or missing CREATE right
        raise BridgeError(describe_db_error(bridge.panel.url, exc)) from None
    if as_json:
        emit_json({"ok": True, "from": before, "to": after})
    elif before == after:
        click.echo(f"bridge tables already at version {after}")
    else:
        click.echo(f"bridge tables upgraded from version {before} to {after}")


@db.command("grants")
@click.option(
    "--user",
    "account",
    required=True,
    metavar="'NAME'@'HOST'",
    help="The bridge's MySQL account, e.g. 'whmcs_bridge'@'127.0.0.1'.",
)
@pass_state
def db_grants(state: CliState, account: str) -> None:
    """Print the least-privilege GRANT lines for the bridge's own database user.

    Run `db upgrade` first (as a user that may CREATE), then apply these as an admin: SELECT on
    the WHMCS tables, writes only on the bridge's own tables, and the few narrow rights an
    enabled plugin declares (moving a service, withdrawing a cancellation request).
    """
    from sqlalchemy import inspect

    from whmcs_bridge.store.tables import PREFIX

    bridge = state.bridge()
    with bridge.panel.connect() as conn:
        names = sorted(n for n in inspect(conn).get_table_names() if n.startswith(PREFIX))
    if not names:
        raise BridgeError(
            "the bridge's tables do not exist yet: run `whmcs-bridge db upgrade` first"
        )
    database = state.config.database_url.database
    click.echo(f"GRANT SELECT ON `{database}`.* TO {account};")
    for name in names:
        click.echo(f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{database}`.`{name}` TO {account};")
    for result in bridge.plugins.call_each("bridge_db_grants", bridge=bridge):
        if not result.ok:
            raise BridgeError(f"plugin '{result.plugin}' cannot say its grants: {result.error}")
        for grant in result.value or ():
            why = f"  -- {result.plugin}: {grant.why}" if grant.why else f"  -- {result.plugin}"
            click.echo(grant.sql(str(database), account) + why)


COMMANDS = (doctor, run, plugins, db)
