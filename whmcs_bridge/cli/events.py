"""``events``: what came in, and what each plugin did with it."""

from __future__ import annotations

from datetime import datetime

import click

from whmcs_bridge.cli.context import CliState, emit_json, json_option, pass_state


@click.group(invoke_without_command=True)
@click.option("--name", help="Only events of this name, e.g. invoice.paid.")
@click.option("--since", help="Only events at or after this panel-local time (YYYY-MM-DD[ HH:MM]).")
@click.option("--limit", default=100, show_default=True, help="At most this many, newest first.")
@json_option
@click.pass_context
def events(
    ctx: click.Context, name: str | None, since: str | None, limit: int, as_json: bool
) -> None:
    """List events with each plugin's outcome."""
    if ctx.invoked_subcommand is not None:
        return
    from whmcs_bridge.events.store import list_events

    since_at = None
    if since:
        try:
            since_at = datetime.fromisoformat(since)
        except ValueError:
            raise click.BadParameter(
                "expected YYYY-MM-DD or 'YYYY-MM-DD HH:MM'", param_hint="--since"
            ) from None
    bridge = ctx.find_object(CliState).bridge()  # type: ignore[union-attr]
    with bridge.panel.connect() as conn:
        found = list_events(conn, name=name, since=since_at, limit=limit)
    if as_json:
        emit_json(
            [
                {
                    **event.as_dict(),
                    "subject": f"{event.subject_type}:{event.subject_id}",
                    "outcomes": outcomes,
                }
                for event, outcomes in found
            ]
        )
        return
    for event, outcomes in found:
        states = ", ".join(f"{o['plugin']} {o['status']}" for o in outcomes) or "no plugin yet"
        click.echo(
            f"{event.id:>7} {event.occurred_at:%Y-%m-%d %H:%M} {event.name:<26} "
            f"{event.subject_type} {event.subject_id:<8} {event.source:<7} {states}"
        )


@events.command("retry")
@click.argument("event_id", type=int)
@pass_state
def retry(state: CliState, event_id: int) -> None:
    """Re-queue an event whose handling was quarantined."""
    from whmcs_bridge.events.store import retry_event

    bridge = state.bridge()
    with bridge.panel.begin() as conn:
        count = retry_event(conn, event_id, bridge.clock.panel_now())
    if count == 0:
        raise click.ClickException(f"event {event_id} has no quarantined or failed outcome")
    click.echo(f"event {event_id}: {count} outcome(s) re-queued for the next cycle")


COMMANDS = (events,)
