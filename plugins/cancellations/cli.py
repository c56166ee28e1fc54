"""``whmcs-bridge cancellations``: list, show, confirm, done, void, no-renew (R-CA)."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import select

from whmcs_bridge.plugin import BridgeError, CliState, emit_json, json_option, pass_state

from . import commands, store
from .tables import STATES
from .tables import cancellations as table

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

FIELDS = ("id", "service_id", "client_id", "type", "state", "end_date", "reason")


def as_dict(row: Any, full: bool = False) -> dict[str, Any]:
    """A request as ``list``/``show`` print it; ``end_date`` as YYYY-MM-DD."""
    data = {
        "id": int(row.id),
        "service_id": int(row.service_id),
        "client_id": int(row.client_id),
        "type": row.type,
        "state": row.state,
        "end_date": row.end_date.isoformat() if row.end_date else None,
        "reason": row.reason,
    }
    if full:
        data.update(
            request_id=int(row.request_id),
            origin=row.origin,
            requested_at=row.requested_at.isoformat(sep=" ") if row.requested_at else None,
            note=row.note,
            ticket_id=row.ticket_id,
            domain_id=row.domain_id,
            domain=row.domain_action,
            state_since=row.state_at.isoformat(sep=" ") if row.state_at else None,
        )
    return data


def _row(bridge: Bridge, row_id: int) -> Any:
    row = store.row_by_id(bridge, row_id)
    if row is None:
        raise BridgeError(f"no cancellation request #{row_id} (see `cancellations list`)")
    return row


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return f"whmcs-bridge ({getpass.getuser()})"
    except (KeyError, OSError):
        return "whmcs-bridge"


def _show(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key:>13}: {'' if value is None else value}")


by_option = click.option("--by", help="Who acts, for the notes and the activity log.")


@click.group()
def cancellations() -> None:
    """Cancellation requests carried out on the company's terms (R-CA)."""


@cancellations.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Only these.")
@click.option("--service", "service_id", type=int, help="Only this service (tblhosting id).")
@json_option
@pass_state
def list_requests(
    state: CliState, states: tuple[str, ...], service_id: int | None, as_json: bool
) -> None:
    """Each request: id, service, client, type, state, the day the service ends, reason."""
    bridge = state.bridge()
    query = select(table).order_by(table.c.id)
    if states:
        query = query.where(table.c.state.in_(states))
    if service_id is not None:
        query = query.where(table.c.service_id == service_id)
    with bridge.panel.connect() as conn:
        rows = [as_dict(row) for row in conn.execute(query)]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no cancellation requests")
        return
    click.echo(
        f"{'id':>5} {'service':>7} {'client':>6} {'type':<22} {'state':<11} {'ends':<10}  reason"
    )
    for r in rows:
        reason = " ".join(str(r["reason"]).split())
        click.echo(
            f"{r['id']:>5} {r['service_id']:>7} {r['client_id']:>6} {r['type']:<22} "
            f"{r['state']:<11} {r['end_date'] or '-':<10}  {reason[:60]}"
        )


@cancellations.command()
@click.option("--id", "row_id", type=int, required=True, help="The request's id (list).")
@json_option
@pass_state
def show(state: CliState, row_id: int, as_json: bool) -> None:
    """One request with its origin, note, ticket and domain."""
    _show(as_dict(_row(state.bridge(), row_id), full=True), as_json)


@cancellations.command()
@click.option("--id", "row_id", type=int, required=True, help="The request's id (list).")
@click.option("--ticket", "ticket_id", type=int, help="A ticket from the owner's e-mail.")
@by_option
@json_option
@pass_state
def confirm(
    state: CliState, row_id: int, ticket_id: int | None, by: str | None, as_json: bool
) -> None:
    """Accept a request held because it was not made in the client area (R-CA-6)."""
    bridge = state.bridge()
    row = commands.confirm(bridge, _row(bridge, row_id), ticket_id, _who(by))
    _show(as_dict(row, full=True), as_json)


@cancellations.command()
@click.option("--service", "service_id", type=int, required=True, help="tblhosting id.")
@by_option
@json_option
@pass_state
def done(state: CliState, service_id: int, by: str | None, as_json: bool) -> None:
    """Staff deleted the account by hand (R-CA-5): the service is left Cancelled."""
    row = commands.mark_done(state.bridge(), service_id, _who(by))
    _show(as_dict(row, full=True), as_json)


@cancellations.command()
@click.option("--id", "row_id", type=int, required=True, help="The request's id (list).")
@by_option
@json_option
@pass_state
def void(state: CliState, row_id: int, by: str | None, as_json: bool) -> None:
    """Withdraw a request before it takes effect: its WHMCS row is deleted and logged."""
    bridge = state.bridge()
    row = commands.void(bridge, _row(bridge, row_id), _who(by))
    _show(as_dict(row, full=True), as_json)


@cancellations.command("no-renew")
@click.option("--id", "row_id", type=int, required=True, help="The request's id (list).")
@json_option
@pass_state
def no_renew(state: CliState, row_id: int, as_json: bool) -> None:
    """The client asked that the hosting's domain not renew (R-CA-3); it is never cancelled."""
    bridge = state.bridge()
    commands.set_no_renew(bridge, _row(bridge, row_id))
    _show(as_dict(_row(bridge, row_id), full=True), as_json)
