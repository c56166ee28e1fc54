"""``whmcs-bridge upgrade quote`` and ``whmcs-bridge upgrade request`` (R-UP-1..3)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

from whmcs_bridge.plugin import ApiError, CliState, emit_json, json_option, pass_state
from whmcs_bridge.plugin import Currency as PanelCurrency

from .checkout import charge
from .eligibility import MANUAL_REASONS, UpgradeOption, UpgradePlan, plan_upgrade, price
from .manual import request_manual_upgrade
from .pricing import POLICIES, UpgradePricingError, format_money
from .texts import day

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge


@click.group()
def upgrade() -> None:
    """Quote service upgrades under the company's policy, or ask for a manual one."""


def _whmcs_price(
    bridge: Bridge, option: UpgradeOption, today: dt.date
) -> tuple[Decimal | None, str]:
    """What WHMCS itself would charge on ``today``, signed (negative: a downgrade), and how
    that was learnt.

    For the panel's today with ``[api]``: WHMCS's own answer (UpgradeProduct calconly). For
    another day, or without ``[api]``: WHMCS's rule (the ``prorata`` policy, which reproduces
    it to the cent, reference 4.2) computed here for that same day, so both figures are of one
    date.
    """
    assert option.quote is not None and option.target is not None
    c = option.quote.currency
    if bridge.has_api and today == bridge.clock.today():
        try:
            result = bridge.api.upgrade_product(
                option.service.id,
                option.target_id,
                option.cycle.value,
                calconly=True,
                currency=PanelCurrency(c.id, c.code, c.prefix, c.suffix, c.format),
            )
        except ApiError as exc:
            return None, f"n/a ({exc.message})"
        return result.price, result.price_text
    settings = replace(bridge.settings("upgrades"), downgrade="none", full_unused="deduct")
    try:
        with bridge.panel.connect() as conn:
            whmcs = price(
                conn,
                bridge.panel,
                settings,
                option.service,
                option.target,
                option.cycle,
                today,
                policy="prorata",
            )
    except UpgradePricingError as exc:
        return None, f"n/a ({exc})"
    amount = whmcs.net_amount
    return amount, f"{format_money(amount, c)} (WHMCS's rule, computed for {day(today)})"


def _whmcs_outcome(bridge: Bridge, amount: Decimal, currency: Any) -> tuple[Decimal, str]:
    """(what WHMCS would really take, signed like ours, and a note) for its signed figure.

    A negative figure is a downgrade: WHMCS credits it only when ``CreditOnDowngrade`` is on
    (reference 4.2 step 7), and never refunds.
    """
    if amount >= 0:
        return amount, ""
    zero = Decimal(0).quantize(amount)
    if bridge.panel.setting("CreditOnDowngrade").strip().lower() == "on":
        credit = format_money(-amount, currency)
        return (
            amount,
            f"a downgrade: WHMCS charges nothing and credits {credit} (CreditOnDowngrade is on)",
        )
    return zero, "a downgrade: WHMCS charges nothing and credits nothing (CreditOnDowngrade is off)"


def _route(option: UpgradeOption) -> str:
    if option.automatic:
        return "automatic"
    return "manual" if option.manual_reason else "refused"


def _target(bridge: Bridge, option: UpgradeOption, today: dt.date) -> dict[str, Any]:
    quote = option.quote
    entry: dict[str, Any] = {
        "product_id": option.target_id,
        "product": option.target.name if option.target else None,
        "cycle": option.cycle.value,
        "policy": option.policy,
        "route": _route(option),
        "refusals": [r.as_dict() for r in option.refusals],
        "amount": None,
        "whmcs_amount": None,
        "gap": None,
    }
    if quote is None:
        return entry
    ours = charge(quote)
    whmcs, whmcs_text = _whmcs_price(bridge, option, today)
    taken, note = (None, "") if whmcs is None else _whmcs_outcome(bridge, whmcs, quote.currency)
    entry.update(
        amount=str(ours),
        amount_text=format_money(ours, quote.currency),
        amount_due=str(quote.amount_due),
        credit=str(quote.credit),
        net_amount=str(quote.net_amount),
        next_due_date=quote.next_due_date.isoformat() if quote.next_due_date else None,
        explanation=quote.explanation,
        whmcs_amount=None if whmcs is None else str(whmcs),
        whmcs_text=whmcs_text + (f"; {note}" if note else ""),
        whmcs_charge=None if taken is None else str(taken),
        gap=None if taken is None else str(ours - taken),
        gap_text="n/a" if taken is None else format_money(ours - taken, quote.currency),
    )
    return entry


def _report(bridge: Bridge, plan: UpgradePlan) -> dict[str, Any]:
    s = plan.service
    manual = None
    closed = None
    if plan.closed:
        closed = f"service #{s.id} is {s.status}: it cannot be upgraded at all"
    elif plan.manual_reason:
        manual = {"code": plan.manual_reason, "reason": MANUAL_REASONS[plan.manual_reason][0]}
    return {
        "service": {
            "id": s.id,
            "domain": s.domain,
            "status": s.status,
            "product_id": plan.source.id,
            "product": plan.source.name,
            "cycle": s.cycle.value,
            "amount": str(s.amount),
            "next_due_date": s.next_due_date.isoformat() if s.next_due_date else None,
        },
        "date": plan.today.isoformat(),
        "closed": closed,
        "manual": manual,
        "targets": [] if closed else [_target(bridge, o, plan.today) for o in plan.options],
    }


def _print(report: dict[str, Any]) -> None:
    s = report["service"]
    click.echo(
        f"Service #{s['id']} {s['domain']} ({s['status']}): {s['product']}, {s['cycle']}, "
        f"{s['amount']}, next due {s['next_due_date'] or '-'}; priced as of {report['date']}"
    )
    if report["closed"]:
        click.echo(f"Not upgradable: {report['closed']}.")
        return
    if report["manual"]:
        click.echo(
            f"No automatic upgrade path (R-UP-3): {report['manual']['reason']}. "
            f"Ask with: whmcs-bridge upgrade request --service {s['id']} --to PID"
        )
    if not report["targets"]:
        click.echo("No upgrade targets.")
    for t in report["targets"]:
        head = f"-> #{t['product_id']} {t['product'] or '?'} ({t['cycle']}), {t['route']}"
        click.echo(head)
        if t["amount"] is not None:
            click.echo(f"   {t['policy']}: {t['amount_text']}")
            click.echo(f"   WHMCS would charge: {t['whmcs_text']}")
            click.echo(f"   gap: {t['gap_text']}")
            click.echo(f"   {t['explanation']}")
        for refusal in t["refusals"]:
            click.echo(f"   refused, {refusal['code']}: {refusal['reason']}")


@upgrade.command()
@click.option("--service", "service_id", type=int, required=True, help="tblhosting id.")
@click.option("--to", "target_id", type=int, help="Only this target product id.")
@click.option("--cycle", help="Only this billing cycle (default: every cycle the target offers).")
@click.option("--on", "on_date", type=click.DateTime(["%Y-%m-%d"]), help="Price as of DATE.")
@click.option("--policy", type=click.Choice(list(POLICIES)), help="Override the policy.")
@click.option("--user", "user_id", type=int, help="Acting login (8.x tblusers id, 7.x contact).")
@json_option
@pass_state
def quote(
    state: CliState,
    service_id: int,
    target_id: int | None,
    cycle: str | None,
    on_date: dt.datetime | None,
    policy: str | None,
    user_id: int | None,
    as_json: bool,
) -> None:
    """List each reachable target, in each cycle it offers, with the policy's price, WHMCS's
    price for the same day, and the gap."""
    bridge = state.bridge()
    settings = bridge.settings("upgrades")
    today = on_date.date() if on_date else bridge.clock.today()
    with bridge.panel.connect() as conn:
        plan = plan_upgrade(
            conn,
            bridge.panel,
            settings,
            service_id,
            today,
            target_id=target_id,
            cycle=cycle,
            policy=policy,
            user_id=user_id,
        )
    report = _report(bridge, plan)
    if as_json:
        emit_json(report)
    else:
        _print(report)


@upgrade.command()
@click.option("--service", "service_id", type=int, required=True, help="tblhosting id.")
@click.option("--to", "target_id", type=int, required=True, help="Target product id.")
@click.option("--cycle", help="Billing cycle of the target (default: the service's).")
@click.option("--dry-run", is_flag=True, help="Show the ticket; open nothing.")
@click.option(
    "--again",
    is_flag=True,
    help="An earlier OpenTicket lost its answer and the panel has no such ticket: open it now.",
)
@json_option
@pass_state
def request(
    state: CliState,
    service_id: int,
    target_id: int,
    cycle: str | None,
    dry_run: bool,
    again: bool,
    as_json: bool,
) -> None:
    """Take the manual path (R-UP-3): one ticket with the quote, however often it runs."""
    result = request_manual_upgrade(
        state.bridge(dry_run=dry_run), service_id, target_id, cycle, again=again
    )
    if as_json:
        emit_json(
            {
                "service_id": result.service_id,
                "product_id": result.product_id,
                "status": result.status,
                "ticket_id": result.ticket_id,
                "ticket_tid": result.ticket_tid,
                "created": result.created,
            }
        )
    elif result.status == "preview":
        click.echo(f"dry run: would open this ticket\n{result.subject}\n\n{result.message}")
    elif result.ticket_id is None:
        click.echo(
            f"another run is opening the ticket for service #{service_id} to product "
            f"#{target_id} (or was interrupted); check the panel's tickets"
        )
    else:
        how = "opened" if result.created else "already opened earlier"
        click.echo(f"ticket {result.ticket_id} ({result.ticket_tid}) {how}")
