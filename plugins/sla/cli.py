"""``whmcs-bridge sla status|plan|report``."""

from __future__ import annotations

import datetime as dt

import click

from whmcs_bridge.plugin import CliState, emit_json, json_option, pass_state

from . import report as reports


@click.group()
def sla() -> None:
    """Support plans and first-response deadlines (R-SL)."""


@sla.command("status")
@json_option
@pass_state
def status(state: CliState, as_json: bool) -> None:
    """Open tickets waiting for a first staff answer, earliest deadline first."""
    rows = reports.status(state.bridge())
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no open ticket is waiting for staff")
        return
    for row in rows:
        left = row["business_minutes_left"]
        flag = "BREACHED" if row["breached"] else f"{left} min left"
        click.echo(
            f"#{row['tid']:<12} ticket {row['ticket_id']:<7} client {row['client_id']:<6} "
            f"{row['plan']:<12} SLA {row['sla']} due {row['deadline']}  {flag}"
        )


@sla.command("plan")
@click.option("--client", "client_id", type=int, required=True, help="Client id.")
@json_option
@pass_state
def plan(state: CliState, client_id: int, as_json: bool) -> None:
    """A client's support plan, its first-response targets and its channels (R-SL-6, R-SL-7)."""
    result = reports.client_plan(state.bridge(), client_id)
    if as_json:
        emit_json(result)
        return
    first = result["first_response"]
    click.echo(f"client {client_id}: {result['label']} ({result['because']})")
    click.echo(f"first response: {first['minutes']} min ({first['clock']})")
    for kind, target in result["targets"].items():
        click.echo(f"  {kind} {target['kind']}: {target['minutes']} min ({target['clock']})")
    if "p1" in result:
        p1 = result["p1"]
        click.echo(f"P1: {p1['minutes']} min ({p1['clock']})")
    click.echo(f"channels: {', '.join(result['channels'])}")


def _day(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.UsageError(f"{name}: expected a date YYYY-MM-DD, got {value!r}") from None


@sla.command("report")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "end", required=True, help="Last day (included), YYYY-MM-DD.")
@json_option
@pass_state
def report(state: CliState, start: str, end: str, as_json: bool) -> None:
    """First responses per plan and department for tickets opened in a period."""
    first, last = _day(start, "--from"), _day(end, "--to")
    if last < first:
        raise click.UsageError("--to is before --from")
    rows = reports.report(
        state.bridge(),
        dt.datetime.combine(first, dt.time()),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time()),
    )
    if as_json:
        emit_json({"from": first.isoformat(), "to": last.isoformat(), "groups": rows})
        return
    if not rows:
        click.echo("no tickets opened in that period")
        return
    for row in rows:
        share = row["within_target"]
        click.echo(
            f"{row['plan']:<12} {row['department'] or '-':<20} tickets {row['tickets']:<5} "
            f"median {row['median_first_response']} p90 {row['p90_first_response']} "
            f"within target {'-' if share is None else f'{share:.0%}'} "
            f"breaches {len(row['breaches'])}"
        )
        for breach in row["breaches"]:
            click.echo(f"    #{breach['tid']} due {breach['deadline']}")
