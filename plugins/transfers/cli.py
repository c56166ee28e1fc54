"""``whmcs-bridge transfer check|request|apply|list|show|cancel`` (R-TR-1..9).

``check`` exits 0 when the move is allowed, 1 when refused, 2 for bad arguments (no such
service, a target that is neither an id nor an e-mail).
"""

from __future__ import annotations

from typing import Any

import click

from whmcs_bridge.plugin import BridgeError, CliState, emit_json, json_option, pass_state

from . import store
from .apply import apply_transfer, cancel_transfer, reject_transfer
from .check import check_transfer
from .model import TransferCheck, parse_target
from .owner_request import check_for_request, create_request, settings_of
from .tables import APPLIED, CANCELLED, PENDING, REFUSED, STATES


@click.group()
def transfer() -> None:
    """Move a service to another client: check, request from a ticket, apply (R-TR)."""


def _print_check(check: TransferCheck) -> None:
    s = check.service
    to = check.recipient
    target = f"client #{to.id} {to.name or to.company}" if to else f"{check.target} (not found)"
    holder = check.holder
    click.echo(
        f"Service #{s['id']} {s['domain'] or '-'} ({s['product']}, {s['status']}) of client "
        f"#{holder.id if holder else '?'} -> {target}: {check.verdict}"
    )
    for reason in check.reasons:
        click.echo(f"  refused  {reason.rule:<10} {reason.code}: {reason.text}")
    for flag in check.flags:
        click.echo(f"  flag     {flag.rule:<10} {flag.code}: {flag.text}")


def _print_request(request: store.TransferRequest) -> None:
    click.echo(
        f"Transfer request #{request.id}: {request.state}; service #{request.service_id}, "
        f"client #{request.from_client_id} -> "
        f"{'#' + str(request.to_client_id) if request.to_client_id else request.target}; "
        f"ticket {request.ticket_id or '-'}"
    )
    click.echo(
        f"  asked {request.created_at:%d/%m/%Y %H:%M}"
        + (f", applied {request.applied_at:%d/%m/%Y %H:%M}" if request.applied_at else "")
        + f"; ticket replies: request {request.request_reply or '-'}, "
        f"moved {request.moved_reply or '-'}"
    )
    if request.note:
        click.echo(f"  note: {request.note}")
    _print_check(request.check)


@transfer.command()
@click.option("--service", "service_id", type=int, required=True, help="tblhosting id.")
@click.option("--to", "target", required=True, help="The new holder: a client id or e-mail.")
@json_option
@pass_state
@click.pass_context
def check(ctx: click.Context, state: CliState, service_id: int, target: str, as_json: bool) -> None:
    """Say whether the service may move, with every reason (exit 0 allowed, 1 refused)."""
    bridge = state.bridge()
    wanted = parse_target(target)
    with bridge.panel.connect() as conn:
        result = check_transfer(
            conn, bridge.panel.tables, settings_of(bridge), service_id, wanted, bridge.clock.today()
        )
    if as_json:
        emit_json(result.as_dict())
    else:
        _print_check(result)
    ctx.exit(1 if result.reasons else 0)


@transfer.command()
@click.option("--ticket", "ticket_id", type=int, required=True, help="The owner's ticket id.")
@click.option("--service", "service_id", type=int, required=True, help="tblhosting id.")
@click.option("--to", "target", required=True, help="The new holder: a client id or e-mail.")
@json_option
@pass_state
@click.pass_context
def request(
    ctx: click.Context,
    state: CliState,
    ticket_id: int,
    service_id: int,
    target: str,
    as_json: bool,
) -> None:
    """Record the owner's request from a ticket (R-TR-3) and reply on the ticket."""
    result = create_request(state.bridge(), ticket_id, service_id, target)
    if as_json:
        emit_json(
            {
                **result.request.as_dict(),
                "reply": result.reply_text,
                "reply_problem": result.reply_problem,
            }
        )
    else:
        _print_request(result.request)
        click.echo(f"\nReply on ticket {ticket_id}:\n{result.reply_text}")
        if result.reply_problem:
            click.echo(f"warning: {result.reply_problem}", err=True)
    ctx.exit(1 if result.request.state == REFUSED else 0)


@transfer.command()
@click.option("--id", "request_id", type=int, required=True, help="The transfer request id.")
@click.option("--yes", is_flag=True, help="Really move the service.")
@click.option(
    "--with-domain", is_flag=True, help="Move the domain of the same name too (it stays else)."
)
@json_option
@pass_state
@click.pass_context
def apply(
    ctx: click.Context,
    state: CliState,
    request_id: int,
    yes: bool,
    with_domain: bool,
    as_json: bool,
) -> None:
    """Check again and move the service in one transaction (exit 1 when now refused)."""
    if not yes:
        raise click.UsageError(
            f"apply moves service ownership in the panel: add --yes "
            f"(see `transfer show {request_id}` first)"
        )
    result = apply_transfer(state.bridge(), request_id, with_domain=with_domain)
    if as_json:
        moved: dict[str, Any] | None = None
        if result.moved is not None:
            moved = {
                "addon_ids": list(result.moved.addon_ids),
                "ssl_order_ids": list(result.moved.ssl_order_ids),
                "domain_ids": list(result.moved.domain_ids),
            }
        emit_json(
            {
                "id": request_id,
                "applied": result.applied,
                "moved": moved,
                "event_key": result.event_key,
                "check": result.check.as_dict(),
            }
        )
    elif result.applied:
        assert result.moved is not None
        m = result.moved
        click.echo(
            f"transfer #{request_id} applied: service #{result.check.service_id} moved with "
            f"{len(m.addon_ids)} addon(s), {len(m.ssl_order_ids)} SSL order(s), "
            f"{len(m.domain_ids)} domain(s); notices and the ticket reply go out with the next "
            "`whmcs-bridge run`"
        )
    else:
        _print_check(result.check)
        click.echo(f"transfer #{request_id} not applied: it stays pending", err=True)
    ctx.exit(0 if result.applied else 1)


@transfer.command(name="list")
@click.option("--state", "state_name", type=click.Choice(STATES), help="Only this state.")
@click.option("--limit", type=int, default=100, show_default=True)
@json_option
@pass_state
def list_(state: CliState, state_name: str | None, limit: int, as_json: bool) -> None:
    """The newest transfer requests."""
    bridge = state.bridge()
    with bridge.panel.connect() as conn:
        found = store.list_requests(conn, state_name, limit)
    if as_json:
        emit_json([r.as_dict() for r in found])
        return
    if not found:
        click.echo("no transfer requests")
    for r in found:
        to = f"#{r.to_client_id}" if r.to_client_id else r.target
        reasons = f" ({', '.join(r.check.codes)})" if r.check.codes and r.state != APPLIED else ""
        click.echo(
            f"#{r.id} {r.state:<9} service #{r.service_id} #{r.from_client_id} -> {to} "
            f"ticket {r.ticket_id or '-'} {r.created_at:%d/%m/%Y}{reasons}"
        )


def _get(state: CliState, request_id: int) -> store.TransferRequest:
    with state.bridge().panel.connect() as conn:
        found = store.get_request(conn, request_id)
    if found is None:
        raise BridgeError(f"no transfer request {request_id}")
    return found


@transfer.command()
@click.argument("request_id", type=int)
@json_option
@pass_state
def show(state: CliState, request_id: int, as_json: bool) -> None:
    """One transfer request, with the check it was decided by."""
    found = _get(state, request_id)
    if as_json:
        emit_json(found.as_dict())
    else:
        _print_request(found)


@transfer.command()
@click.argument("request_id", type=int)
@click.option(
    "--reply",
    is_flag=True,
    help="Also reply on the ticket with the reasons the check gives now, in the holder's "
    "language (what the staff page's Rechazar does).",
)
@click.option("--by", default="", help="Who withdraws it, kept in the request's note.")
@json_option
@pass_state
def cancel(state: CliState, request_id: int, reply: bool, by: str, as_json: bool) -> None:
    """Withdraw a pending (or refused) request; an applied one cannot be cancelled."""
    found = _get(state, request_id)
    bridge = state.bridge()
    if found.state not in (PENDING, REFUSED):
        raise BridgeError(f"transfer request {request_id} is {found.state}: it cannot be cancelled")
    outcome: str | None = "not asked"
    if reply:
        try:
            check = check_for_request(bridge, found)
        except BridgeError:
            check = found.check  # the service is gone: the reasons it was asked with
        outcome = reject_transfer(bridge, found, check, by.strip())
    elif not cancel_transfer(bridge, found, by.strip()):
        outcome = None
    if outcome is None:
        raise BridgeError(f"transfer request {request_id} changed meanwhile: look again")
    if as_json:
        emit_json({"id": request_id, "state": CANCELLED, "reply": outcome})
    else:
        click.echo(
            f"transfer request #{request_id} cancelled"
            + (f"; reply on ticket {found.ticket_id}: {outcome}" if reply else "")
        )
