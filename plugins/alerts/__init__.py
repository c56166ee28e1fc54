"""Alerts plugin: the eleven R-AL-2 events become WhatsApp template messages to the client.

For each alert event the plugin re-reads the subject from the panel, finds its client now (a
service's ``tblhosting.userid``, never the client carried by the event), normalises the phone of
the client's details to E.164 (R-AL-1), renders the text in the client's language (Spanish by
default) and queues one outbox message per recipient and channel. Secondary contacts whose e-mail
preference covers the event are told too (R-CT-2), through ``bridge_alert_recipients``.

Channels (``[plugins.alerts] channels``): ``whatsapp`` (the default), ``console`` (the demo), and
``telegram`` only with ``telegram_chats``, a table mapping clients to chat ids: WHMCS keeps no
Telegram chat id, so without that mapping Telegram is skipped with a note.

``require_opt_in`` is false by default: these alerts are UTILITY messages about the client's own
account (invoices, payments, suspensions, security), sent to the number the client keeps in its
details for exactly this (R-AL-1), not marketing. A company whose WhatsApp policy asks for a
recorded opt-in turns it on and records opt-ins with ``whmcs-bridge alerts optin``; until then
such a client is told by e-mail. Opt-outs (``alerts optout``) always win, for every channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import ALERT_EVENTS, SKIP, Migration, create_tables, hookimpl

from . import recipients as rcp
from .messages import (
    Delivery,
    base_url,
    build_message,
    detail_groups,
    plan_deliveries,
    subject_context,
)
from .preferences import read_prefs
from .settings import AlertSettings, load_settings

if TYPE_CHECKING:
    import click

    from whmcs_bridge.plugin import Bridge, BridgeConfig, Event

log = logging.getLogger(__name__)


@dataclass
class AlertPlan:
    """What one event turns into: the sends, when they may leave, and notes for the outcome."""

    client_id: int | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_before: datetime | None = None


@hookimpl
def bridge_load_settings(config: BridgeConfig) -> AlertSettings:
    """Fires once at start-up; returns ``[plugins.alerts]`` parsed, or raises ValueError naming
    the first wrong key."""
    return load_settings(config.plugin_config("alerts"))


@hookimpl
def bridge_migrations() -> list[Migration]:
    """Fires before ``db upgrade`` and each cycle; returns the plugin's one table."""
    from .tables import alert_prefs

    return [
        Migration(1, "alert preferences: opt-outs, WhatsApp opt-ins", create_tables(alert_prefs))
    ]


@hookimpl
def bridge_register_commands(cli: click.Group) -> None:
    """Add ``whmcs-bridge alerts`` (preview, test, optout, optin) at CLI start-up."""
    from .cli import alerts

    cli.add_command(alerts)


@hookimpl(trylast=True)
def bridge_alert_recipients(bridge: Bridge, event: Event, client_id: int) -> list[Any]:
    """The default extra recipients: the client's contacts whose e-mail preference covers the
    event (invoice -> invoiceemails, service -> productemails, domain -> domainemails, client
    and quote -> generalemails). Fires while an alert is built; returns Recipients, [] when
    ``contacts = false``. A contacts plugin may name more; each person is told once."""
    settings: AlertSettings = bridge.settings("alerts")
    if not settings.contacts:
        return []
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        owner = rcp.client_recipient(
            conn, tables, client_id, bridge.panel.setting("Language"), False
        )
        language = owner.language if owner else rcp.DEFAULT_LANGUAGE
        return rcp.contact_recipients(
            conn, tables, client_id, event.subject_type, language, settings.argentina_mobile_nine
        )


@hookimpl
def bridge_run_tasks(bridge: Bridge) -> str | None:
    """Fires once per cycle: with ``phone_reminder = true``, raise this month's reminder event
    (once per month; its handling e-mails the clients whose phone cannot get WhatsApp)."""
    settings: AlertSettings = bridge.settings("alerts")
    if not settings.phone_reminder:
        return None
    from .reminders import monthly_event

    event = monthly_event(bridge)
    if bridge.emit(event):
        return f"phone reminders of {event.occurred_at:%m/%Y} scheduled"
    return None


@hookimpl
def bridge_on_event(bridge: Bridge, event: Event) -> str:
    """Queue the alert messages of an R-AL-2 event; fires once per event during dispatch.

    A ``whatsapp.message_received`` "BAJA" / "ALTA" opts its client out or back in (see
    :mod:`.inbound`). Returns ``SKIP`` for other events and for events disabled in the config,
    otherwise a note for the outcome: how many messages were queued and anything not sent
    (opt-out, phone not usable and sent by e-mail instead, quiet hours). Safe to repeat: the
    outbox keeps one message per (event, recipient, channel).
    """
    if event.name == "alerts.phone_reminder":
        from .reminders import send_reminders

        return send_reminders(bridge, event, bridge.settings("alerts"))
    if event.name == "whatsapp.message_received":
        from .inbound import handle_message

        note = handle_message(bridge, event, bridge.settings("alerts"))
        return SKIP if note is None else note
    if event.name not in ALERT_EVENTS:
        return SKIP
    settings: AlertSettings = bridge.settings("alerts")
    if not settings.event(event.name).enabled:
        return SKIP
    plan = build_plan(bridge, event, settings)
    queued = 0
    for item in plan.deliveries:
        outbox_id = bridge.outbox.enqueue(
            event_id=event.id,
            recipient_key=item.recipient_key,
            channel=item.channel,
            recipient=item.recipient,
            message=item.message,
            client_id=plan.client_id,
            fallback=item.fallback,
            not_before=plan.not_before,
        )
        queued += outbox_id is not None
    summary = f"{queued} message(s) queued"
    if queued < len(plan.deliveries):
        summary += f", {len(plan.deliveries) - queued} already queued"
    if plan.not_before is not None and plan.deliveries:
        summary += f", held for quiet hours until {plan.not_before:%Y-%m-%d %H:%M}"
    return "; ".join([summary, *plan.notes])


def build_plan(
    bridge: Bridge, event: Event, settings: AlertSettings, with_contacts: bool = True
) -> AlertPlan:
    """Resolve recipients from the subject, render their messages, and choose channels."""
    plan = AlertPlan()
    if event.name == "client.details_changed" and detail_groups(event.data.get("changed")) == []:
        # ClientEdit named what changed, and none of it is a contact or security detail
        # (notes, admin-only fields, a save without change): nothing to tell (issue 9 point 2).
        plan.notes.append("nothing sent: no contact or security detail changed")
        return plan
    tables = bridge.panel.tables
    panel_language = bridge.panel.setting("Language")
    nine = settings.argentina_mobile_nine
    with bridge.panel.connect() as conn:
        try:
            plan.client_id = rcp.owner_of(conn, tables, event)
            client = rcp.client_recipient(conn, tables, plan.client_id, panel_language, nine)
            if client is None:
                raise LookupError(f"client {plan.client_id} is not in the panel")
            url = base_url(bridge.config.system_url, bridge.panel.setting("SystemURL"))
            panel_name = bridge.panel.setting("CompanyName")
            context = subject_context(conn, tables, event, plan.client_id, url, panel_name)
        except LookupError as exc:
            plan.notes.append(f"nothing sent: {exc}")
            return plan
        prefs = read_prefs(conn, plan.client_id)
        if not prefs.allows(event.name):
            plan.notes.append(f"client {plan.client_id} opted out of {event.name}")
            return plan
        extra = []
        if with_contacts:
            for answer in bridge.plugins.call_each(
                "bridge_alert_recipients", bridge=bridge, event=event, client_id=plan.client_id
            ):
                if answer.ok:
                    extra.append(answer.value)
                else:
                    plan.notes.append(f"recipients of plugin {answer.plugin} left out")
        for person in rcp.merge(client, extra):
            if person.phone_problem:
                log.warning(
                    "alerts: %s phone %r: %s", person.key, person.raw_phone, person.phone_problem
                )
            elif person.phone_note:
                log.info("alerts: %s phone %r: %s", person.key, person.raw_phone, person.phone_note)
            message = build_message(settings, event.name, context, person)
            chat = rcp.telegram_chat(conn, settings.telegram_chats, person)
            found, notes = plan_deliveries(settings, person, message, prefs.opted_in, chat)
            plan.deliveries.extend(found)
            plan.notes.extend(notes)
    quiet = settings.event(event.name).quiet_hours
    if quiet is not None:
        plan.not_before = quiet.release_at(bridge.clock.now())
    return plan
