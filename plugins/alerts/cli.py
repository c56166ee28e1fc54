"""``whmcs-bridge alerts``: preview texts, send a test alert, record opt-outs and opt-ins."""

from __future__ import annotations

import getpass
import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import click
from sqlalchemy import Connection

from whmcs_bridge.plugin import (
    ALERT_EVENTS,
    Bridge,
    CliState,
    Event,
    OutgoingMessage,
    build_template_body,
    emit_json,
    json_option,
    normalise_phone,
    pass_state,
    queries,
    spec,
)

from . import preferences as prefs
from . import recipients as rcp
from .messages import base_url, build_message, subject_context

client_option = click.option("--client", "client_id", type=int, required=True, help="Client id.")
by_option = click.option("--by", default=None, help="Who asked (default: your login name).")


@click.group()
def alerts() -> None:
    """WhatsApp alerts of the R-AL-2 events: preview, test, opt-out and opt-in."""


def sample_event(conn: Connection, bridge: Bridge, name: str, client_id: int) -> Event | None:
    """An event of ``name`` about the client's latest subject of that kind; None when it has
    none (no invoice, service, quote or domain)."""
    kind = spec(name).subject
    subject_id, data = client_id, {}
    if kind != "client":
        latest = _latest_subject(conn, bridge, kind, client_id)
        if latest is None:
            return None
        subject_id = int(latest.id)
        if kind == "domain":
            data = {"domain": latest.domain}
    now = bridge.clock.panel_now()
    return Event(
        key=f"alerts.sample:{name}:{subject_id}:{now:%Y%m%d%H%M%S}",
        name=name,
        subject_type=kind,
        subject_id=subject_id,
        occurred_at=now,
        source="bridge",
        client_id=client_id,
        origin="admin",
        data=data,
    )


def _latest_subject(conn: Connection, bridge: Bridge, kind: str, client_id: int) -> Any:
    """The client's subject of ``kind`` with the highest id (it has ``id``), or ``None``."""
    tables = bridge.panel.tables
    if kind == "service":
        services = queries.services_of_client(conn, tables, client_id)
        return services[-1] if services else None
    if kind == "invoice":
        return queries.billing.latest_invoice(conn, tables, client_id)
    if kind == "quote":
        return queries.quotes.latest_quote(conn, tables, client_id)
    return queries.domains.latest_domain(conn, tables, client_id)


def _message_for(bridge: Bridge, conn: Connection, event: Event, client_id: int) -> dict[str, Any]:
    settings = bridge.settings("alerts")
    tables = bridge.panel.tables
    person = rcp.client_recipient(conn, tables, client_id, bridge.panel.setting("Language"))
    if person is None:
        raise click.ClickException(f"client {client_id} is not in the panel")
    url = base_url(bridge.config.system_url, bridge.panel.setting("SystemURL"))
    context = subject_context(
        conn, tables, event, client_id, url, bridge.panel.setting("CompanyName")
    )
    message = build_message(settings, event.name, context, person)
    return {"to": person.phone, "phone_problem": person.phone_problem, "message": message}


@alerts.command("preview")
@client_option
@json_option
@pass_state
def preview(state: CliState, client_id: int, as_json: bool) -> None:
    """Print every alert's text for a client, in its language, with its latest subjects."""
    bridge = state.bridge()
    shown: list[dict[str, Any]] = []
    with bridge.panel.connect() as conn:
        for name in ALERT_EVENTS:
            event = sample_event(conn, bridge, name, client_id)
            if event is None:
                shown.append({"event": name, "missing": f"client has no {spec(name).subject}"})
                continue
            item = _message_for(bridge, conn, event, client_id)
            shown.append({"event": name, "subject": f"{event.subject_type}:{event.subject_id}"})
            shown[-1].update(item)
    if as_json:
        emit_json(shown)
        return
    for item in shown:
        if "missing" in item:
            click.echo(f"== {item['event']}: ({item['missing']})\n")
            continue
        msg = item["message"]
        click.echo(
            f"== {item['event']} [{item['subject']}] {msg['template']} ({msg['template_language']})"
        )
        click.echo(
            f"Asunto: {msg['subject']}"
            if msg["language"] == "es_AR"
            else f"Subject: {msg['subject']}"
        )
        click.echo(msg["text"])
        click.echo(f"params: {json.dumps(msg['params'], ensure_ascii=False)}\n")


@alerts.command("test")
@click.option("--event", "event_name", required=True, type=click.Choice(ALERT_EVENTS))
@client_option
@click.option("--dry-run", is_flag=True, help="Print the message and the WhatsApp request only.")
@click.option("--send-now", is_flag=True, help="Deliver due outbox messages right away.")
@pass_state
def test_alert(
    state: CliState, event_name: str, client_id: int, dry_run: bool, send_now: bool
) -> None:
    """Build one alert for a client from its latest subject, and queue it (or just show it)."""
    from . import build_plan

    bridge = state.bridge()
    settings = bridge.settings("alerts")
    with bridge.panel.connect() as conn:
        event = sample_event(conn, bridge, event_name, client_id)
    if event is None:
        raise click.ClickException(f"client {client_id} has no {spec(event_name).subject}")
    plan = build_plan(bridge, event, settings, with_contacts=False)
    for note in plan.notes:
        click.echo(f"note: {note}")
    if dry_run:
        for item in plan.deliveries:
            click.echo(f"-- {item.channel} to {item.recipient}\n{item.message['text']}")
            if item.channel == "whatsapp":
                outgoing = OutgoingMessage(outbox_id=0, recipient=item.recipient, **item.message)
                body = json.dumps(build_template_body(outgoing), indent=2, ensure_ascii=False)
                click.echo(
                    "POST /<version>/<phone_number_id>/messages (outbox id not known yet: 0)"
                )
                click.echo(body)
        click.echo("dry run: nothing queued")
        return
    event_id = _record_test_event(bridge, event)
    for item in plan.deliveries:
        outbox_id = bridge.outbox.enqueue(
            event_id=event_id,
            recipient_key=item.recipient_key,
            channel=item.channel,
            recipient=item.recipient,
            message=item.message,
            client_id=plan.client_id,
            fallback=item.fallback,
            not_before=plan.not_before,
        )
        click.echo(f"queued {item.channel} to {item.recipient}: outbox id {outbox_id}")
    if send_now:
        report = bridge.outbox.deliver_due()
        click.echo(f"delivery: {report.as_dict() if hasattr(report, 'as_dict') else report}")


def _record_test_event(bridge: Bridge, event: Event) -> int:
    """Store the test as an already-settled event: the outbox needs an event id, and no plugin
    may act on a made-up invoice.paid."""
    return bridge.record_settled(
        replace(
            event,
            key=event.key.replace("alerts.sample:", "alerts.test:"),
            source="bridge",
            origin="admin",
            data={**event.data, "test": True},
        )
    )


def _by(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


@alerts.command("optout")
@client_option
@click.option("--event", "event_name", type=click.Choice(ALERT_EVENTS), help="Only this event.")
@by_option
@click.option("--undo", is_flag=True, help="Withdraw the opt-out instead.")
@pass_state
def optout(
    state: CliState, client_id: int, event_name: str | None, by: str | None, undo: bool
) -> None:
    """Stop alerts to a client: all of them, or one event."""
    what = event_name or "all alerts"
    _change(state.bridge(), client_id, prefs.OPT_OUT, event_name, by, undo, what)


@alerts.command("optin")
@client_option
@by_option
@click.option("--undo", is_flag=True, help="Withdraw the opt-in instead.")
@pass_state
def optin(state: CliState, client_id: int, by: str | None, undo: bool) -> None:
    """Record that a client agreed to receive alerts by WhatsApp."""
    _change(state.bridge(), client_id, prefs.OPT_IN, None, by, undo, "WhatsApp")


def _change(
    bridge: Bridge,
    client_id: int,
    kind: str,
    event: str | None,
    by: str | None,
    undo: bool,
    what: str,
) -> None:
    now: datetime = bridge.clock.panel_now()
    with bridge.panel.begin() as conn:
        if queries.client(conn, bridge.panel.tables, client_id) is None:
            raise click.ClickException(f"client {client_id} is not in the panel")
        if undo:
            changed = prefs.remove(conn, client_id, kind, event)
        else:
            changed = prefs.record(conn, client_id, kind, event, _by(by), now)
    verb = {
        (prefs.OPT_OUT, False): "opted out of",
        (prefs.OPT_OUT, True): "opt-out withdrawn:",
        (prefs.OPT_IN, False): "opted in to",
        (prefs.OPT_IN, True): "opt-in withdrawn:",
    }
    state_note = "" if changed else " (no change: it was already so)"
    click.echo(f"client {client_id} {verb[(kind, undo)]} {what}{state_note}")


@alerts.command("prefs")
@client_option
@json_option
@pass_state
def show_prefs(state: CliState, client_id: int, as_json: bool) -> None:
    """List a client's opt-outs and opt-ins, with who recorded them and when."""
    bridge = state.bridge()
    with bridge.panel.connect() as conn:
        found = prefs.list_prefs(conn, client_id)
    if as_json:
        emit_json(found)
        return
    for item in found or [{"kind": "none", "event": "", "by": "", "at": "", "note": ""}]:
        click.echo(f"{item['kind']:<7} {item['event']:<26} {item['at']} {item['by']}")


@alerts.command("phones")
@click.option("--all", "everyone", is_flag=True, help="Not only Active clients.")
@json_option
@pass_state
def phones(state: CliState, everyone: bool, as_json: bool) -> None:
    """List the clients whose phone cannot get WhatsApp, and why (R-AL-1: the client keeps it
    current). Exit status 0 either way: this is a list to work through, not a failure."""
    bridge = state.bridge()
    nine = bridge.settings("alerts").argentina_mobile_nine
    with bridge.panel.connect() as conn:
        rows = queries.client_phones(conn, bridge.panel.tables, active_only=not everyone)
    found = []
    for row in rows:
        result = normalise_phone(row.phone, row.country, nine)
        if result.e164 is None:
            found.append(
                {
                    "client_id": row.id,
                    "name": row.name,
                    "phone": row.phone,
                    "country": row.country,
                    "problem": result.problem,
                }
            )
    if as_json:
        emit_json({"checked": len(rows), "unusable": found})
        return
    for item in found:
        shown = item["phone"] or "(none)"
        click.echo(
            f"{item['client_id']:>6}  {item['name'][:30]:<30}  {shown:<22} {item['problem']}"
        )
    click.echo(f"{len(found)} of {len(rows)} client(s) cannot get WhatsApp alerts on their phone")
