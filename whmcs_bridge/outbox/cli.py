"""``whmcs-bridge outbox``: list, show, retry and purge messages; see and resume channels."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click
from sqlalchemy import delete, select

from whmcs_bridge.cli.context import CliState, emit_json, json_option, pass_state
from whmcs_bridge.outbox.tables import FINAL_STATES, STATES, outbox

o = outbox
_SUMMARY = (
    o.c.id,
    o.c.state,
    o.c.channel,
    o.c.recipient_key,
    o.c.event_id,
    o.c.attempts,
    o.c.duplicate_risk,
    o.c.next_attempt_at,
    o.c.error_kind,
    o.c.error_code,
    o.c.updated_at,
)


def _row(state: CliState, message_id: int) -> dict[str, Any]:
    bridge = state.bridge()
    with bridge.panel.connect() as conn:
        row = conn.execute(select(o).where(o.c.id == message_id)).first()
    if row is None:
        raise click.ClickException(f"no outbox message {message_id}")
    return dict(row._mapping)


@click.group()
def outbox_group() -> None:
    """The message outbox: what was sent, what waits, what failed."""


@outbox_group.command("list")
@click.option("--state", "only", type=click.Choice(STATES), help="Only messages in this state.")
@click.option("--limit", default=100, show_default=True, help="At most this many, newest first.")
@json_option
@pass_state
def list_messages(state: CliState, only: str | None, limit: int, as_json: bool) -> None:
    """List messages, newest first."""
    bridge = state.bridge()
    query = select(*_SUMMARY).order_by(o.c.id.desc()).limit(limit)
    if only:
        query = query.where(o.c.state == only)
    with bridge.panel.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        note = f" {r['error_kind']}" + (f" {r['error_code']}" if r["error_code"] else "")
        click.echo(
            f"{r['id']:>7} {r['state']:<9} {r['channel']:<9} {r['recipient_key']:<24} "
            f"event {r['event_id']:<7} tries {r['attempts']}"
            + (note if r["error_kind"] else "")
            + (" DUPLICATE-RISK" if r["duplicate_risk"] else "")
        )


@outbox_group.command("show")
@click.argument("message_id", type=int)
@json_option
@pass_state
def show(state: CliState, message_id: int, as_json: bool) -> None:
    """Everything about one message."""
    row = _row(state, message_id)
    for key in ("message", "fallback"):
        if row[key]:
            row[key] = json.loads(row[key])
    row.pop("claim_token", None)
    if as_json:
        emit_json(row)
        return
    for key, value in row.items():
        if key != "message":
            click.echo(f"{key:>22}: {value}")
    click.echo(f"{'message':>22}: {json.dumps(row['message'], ensure_ascii=False, indent=2)}")


@outbox_group.command("retry")
@click.argument("message_id", type=int)
@click.option("--force", is_flag=True, help="Also for an unknown outcome (it may duplicate).")
@pass_state
def retry(state: CliState, message_id: int, force: bool) -> None:
    """Queue a dead, failed or unknown message again, now."""
    was = state.bridge().outbox.requeue(message_id, force)
    click.echo(f"message {message_id}: queued again (was {was})")


@outbox_group.command("purge")
@click.option("--older-than", "days", type=click.IntRange(min=1), required=True, metavar="DAYS")
@pass_state
def purge(state: CliState, days: int) -> None:
    """Delete messages in a final state (sent, delivered, read, dead) older than DAYS."""
    bridge = state.bridge()
    limit = bridge.outbox.now() - timedelta(days=days)
    with bridge.panel.begin() as conn:
        count = conn.execute(
            delete(o).where(o.c.state.in_(sorted(FINAL_STATES)), o.c.updated_at < limit)
        ).rowcount
    click.echo(f"{count} message(s) older than {days} day(s) deleted")


@outbox_group.command("channels")
@json_option
@pass_state
def channels(state: CliState, as_json: bool) -> None:
    """Each channel: ready, or why it does not send (throttled, paused, stopped)."""
    health = state.bridge().outbox.channel_health()
    if as_json:
        emit_json(health)
        return
    for name, problem in sorted(health.items()):
        click.echo(f"{name:<10} {problem or 'ready'}")


@outbox_group.command("resume")
@click.argument("channel")
@click.option("--force", is_flag=True, help="Resume even if the channel's check still fails.")
@pass_state
def resume(state: CliState, channel: str, force: bool) -> None:
    """Let a stopped channel send again, once its check passes (after fixing the token...)."""
    box = state.bridge().outbox
    found = box.channels.get(channel)
    problem = found.check() if found is not None else f"no channel {channel!r} is configured"
    if problem and not force:
        raise click.ClickException(f"{channel}: {problem} (add --force to resume anyway)")
    if box.resume_channel(channel):
        click.echo(f"{channel}: resumed")
    else:
        click.echo(f"{channel}: was not stopped")


outbox_group.name = "outbox"
COMMANDS = (outbox_group,)
