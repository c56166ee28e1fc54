"""``whmcs-bridge contacts list|grant|revoke|invite|audit`` (R-CT-1, R-CT-2)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from whmcs_bridge.plugin import BridgeError, CliState, emit_json, json_option, pass_state, queries

from .changes import Change, apply, plan_invite, plan_rights
from .permissions import PERMISSIONS, PRESETS, label, labelled, parse_keys

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

_PRESET_HELP = "; ".join(f"{name}: {','.join(keys)}" for name, keys in PRESETS.items())


@click.group()
def contacts() -> None:
    """Who may act for a client: list, grant, revoke, invite, audit (R-CT)."""


def _when(value: datetime | None) -> str:
    return value.strftime("%d/%m/%Y %H:%M") if value else "never"


def _rights(keys: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"key": k, "label_es": label(k, "es_AR"), "label_en": label(k, "en")} for k in keys]


def _person_dict(person: Any) -> dict[str, Any]:
    return {
        "kind": person.kind,
        "id": person.id,
        "key": person.key,
        "name": person.name,
        "email": person.email,
        "permissions": _rights(person.permissions),
        "email_preferences": person.email_preferences,
        "last_login": person.last_login.isoformat(sep=" ") if person.last_login else None,
        "contact_id": person.contact_id,
        "link_id": person.link_id,
    }


def list_report(bridge: Bridge, client_id: int) -> dict[str, Any]:
    """What ``contacts list`` shows, as data."""
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        found = queries.people.people(conn, tables, client_id)
        invites = queries.people.pending_invites(conn, tables, client_id)
    if not found:
        raise BridgeError(f"client {client_id} is not in the panel")
    model = "users" if queries.people.has_users(tables) else "subaccounts"
    return {
        "client_id": client_id,
        "model": model,
        "people": [_person_dict(p) for p in found],
        "invites": [
            {
                "id": i.id,
                "email": i.email,
                "permissions": _rights(i.permissions),
                "created_at": i.created_at.isoformat(sep=" ") if i.created_at else None,
            }
            for i in invites
        ],
    }


def print_list(report: dict[str, Any], echo: Any = click.echo) -> None:
    """The human form of :func:`list_report`."""
    model = "WHMCS 8: users" if report["model"] == "users" else "WHMCS 7: sub-accounts"
    echo(f"Client #{report['client_id']} ({model})")
    for p in report["people"]:
        prefs = p["email_preferences"]
        mail = "-" if prefs is None else ",".join(k for k, on in prefs.items() if on) or "none"
        login = ""
        if p["kind"] in ("owner", "user"):  # WHMCS 7 keeps no sub-account logins
            login = "  last login " + (
                _when(datetime.fromisoformat(p["last_login"])) if p["last_login"] else "never"
            )
        echo(f"  {p['kind']:<10} {p['key']:<13} {p['name']} <{p['email']}>{login}")
        keys = tuple(r["key"] for r in p["permissions"])
        if p["kind"] == "owner":
            echo("             rights: all (the owner holds every right)")
        elif p["kind"] != "contact":
            echo(f"             rights: {labelled(keys)}")
        via = f" (contact #{p['contact_id']})" if p["kind"] == "user" and p["contact_id"] else ""
        echo(f"             e-mails: {mail}{via}")
    for i in report["invites"]:
        keys = tuple(r["key"] for r in i["permissions"])
        sent = _when(datetime.fromisoformat(i["created_at"])) if i["created_at"] else "?"
        echo(f"  invite     #{i['id']:<12} {i['email']} sent {sent}, not accepted")
        echo(f"             rights: {labelled(keys)}")


@contacts.command("list")
@click.option("--client", "client_id", type=int, required=True, help="tblclients.id")
@json_option
@pass_state
def list_command(state: CliState, client_id: int, as_json: bool) -> None:
    """Everyone who can act for or hear from a client, with rights and e-mail preferences."""
    report = list_report(state.bridge(), client_id)
    if as_json:
        emit_json(report)
    else:
        print_list(report)


def _show_change(change: Change, dry_run: bool, as_json: bool, verb: str) -> None:
    if as_json:
        emit_json({**change.as_dict(), "dry_run": dry_run, "done": change.needed and not dry_run})
        return
    if not change.needed:
        click.echo(f"{change.who}: {change.note}")
        return
    params = " ".join(f"{k}={v}" for k, v in change.shown_params().items())
    if dry_run:
        click.echo(f"dry run: would call {change.action} {params}")
    else:
        click.echo(f"{verb} {change.who} on client {change.client_id} ({change.action})")
    click.echo(f"  before: {labelled(change.before)}")
    click.echo(f"  after:  {labelled(change.after)}")
    if change.note:
        click.echo(f"  note: {change.note}")


def _rights_command(verb: str, grant: bool) -> Any:
    @click.option("--client", "client_id", type=int, required=True, help="tblclients.id")
    @click.option("--user", "user_id", type=int, help="tblusers.id (WHMCS 8)")
    @click.option("--contact", "contact_id", type=int, help="tblcontacts.id (WHMCS 7 sub-account)")
    @click.option(
        "--permission", "permission", help=f"comma list of keys: {', '.join(PERMISSIONS)}"
    )
    @click.option("--preset", help=f"a named set of rights ({_PRESET_HELP})")
    @click.option("--dry-run", is_flag=True, help="Show the API call without making it.")
    @json_option
    @pass_state
    def command(
        state: CliState,
        client_id: int,
        user_id: int | None,
        contact_id: int | None,
        permission: str | None,
        preset: str | None,
        dry_run: bool,
        as_json: bool,
    ) -> None:
        keys = parse_keys(permission, preset)
        bridge = state.bridge(dry_run=dry_run)
        change = plan_rights(bridge, client_id, keys, grant, user_id, contact_id)
        if not dry_run:
            apply(bridge, change)
        _show_change(change, dry_run, as_json, verb)

    return command


contacts.command(
    "grant", help="Give a user (8.x) or sub-account (7.x) more rights through the WHMCS API."
)(_rights_command("granted", True))
contacts.command(
    "revoke", help="Take rights from a user (8.x) or sub-account (7.x) through the WHMCS API."
)(_rights_command("revoked", False))


@contacts.command("invite")
@click.option("--client", "client_id", type=int, required=True, help="tblclients.id")
@click.option("--email", required=True, help="the new person's e-mail address")
@click.option("--permissions", "permission", help=f"comma list of keys: {', '.join(PERMISSIONS)}")
@click.option("--preset", help=f"a named set of rights ({_PRESET_HELP})")
@click.option("--first-name", default="", help="WHMCS 7: the sub-account's first name")
@click.option("--last-name", default="", help="WHMCS 7: the sub-account's last name")
@click.option("--dry-run", is_flag=True, help="Show the API call without making it.")
@json_option
@pass_state
def invite_command(
    state: CliState,
    client_id: int,
    email: str,
    permission: str | None,
    preset: str | None,
    first_name: str,
    last_name: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Let a new person act for a client (8.x CreateClientInvite; 7.x AddContact sub-account)."""
    keys = parse_keys(permission, preset)
    bridge = state.bridge(dry_run=dry_run)
    change = plan_invite(bridge, client_id, email, keys, first_name, last_name)
    if not dry_run:
        apply(bridge, change)
    _show_change(change, dry_run, as_json, "invited")


@contacts.command("audit")
@json_option
@pass_state
def audit_command(state: CliState, as_json: bool) -> None:
    """Findings over the whole panel; exit status 0 with none, 1 with findings (for cron)."""
    from .audit import run_audit
    from .settings import ContactSettings

    bridge = state.bridge()
    settings = bridge.settings("contacts") or ContactSettings()
    report = run_audit(bridge, settings)
    if as_json:
        emit_json(report.as_dict())
    else:
        for line in report.lines():
            click.echo(line)
    if report.findings:
        sys.exit(1)
