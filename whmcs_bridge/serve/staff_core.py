"""The staff page's core tabs: Inicio (the cycle's health, failures, quarantine, stopped
channels) and Alertas (messages that failed or died, with the provider's reason).

Registered like a plugin (``CORE_PLUGINS``): the events, the quarantine and the outbox are the
core's, so are their tabs and buttons (``core.retry_event``, ``core.resume_channel``,
``core.retry_message``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from whmcs_bridge import hookimpl
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.events.store import retry_event
from whmcs_bridge.outbox.tables import DEAD, FAILED, UNKNOWN, outbox
from whmcs_bridge.staff import (
    StaffAction,
    StaffActionResult,
    StaffAdmin,
    StaffRow,
    StaffSection,
    StaffTab,
    fingerprint,
    log_staff_action,
)
from whmcs_bridge.store.tables import events as events_t
from whmcs_bridge.store.tables import outcomes as outcomes_t
from whmcs_bridge.store.tables import quarantine as quarantine_t

if TYPE_CHECKING:
    from whmcs_bridge.bridge import Bridge

LIMIT = 50  # rows per section: the page is for the work of the day, `events`/`outbox` for more


def _words(language: str) -> dict[str, str]:
    es = language != "en"
    return {
        "home": "Inicio" if es else "Home",
        "alerts": "Alertas" if es else "Alerts",
        "failures": "Eventos con fallas" if es else "Events with failures",
        "quarantine": "Filas en cuarentena" if es else "Quarantined rows",
        "channels": "Canales detenidos" if es else "Stopped channels",
        "retry": "Reintentar" if es else "Retry",
        "resume": "Reanudar" if es else "Resume",
        "none": "Nada pendiente." if es else "Nothing waiting.",
        "dead": "Mensajes fallidos" if es else "Failed messages",
    }


def _failures(bridge: Bridge, words: dict[str, str]) -> StaffSection:
    query = (
        select(events_t, outcomes_t.c.plugin, outcomes_t.c.status, outcomes_t.c.detail)
        .join(outcomes_t, outcomes_t.c.event_id == events_t.c.id)
        .where(outcomes_t.c.status.in_(("failed", "quarantined")))
        .order_by(events_t.c.id.desc())
        .limit(LIMIT)
    )
    rows = []
    with bridge.panel.connect() as conn:
        for row in conn.execute(query):
            version = fingerprint(row.id, row.plugin, row.status, row.detail)
            retry = StaffAction(
                "core.retry_event",
                words["retry"],
                f"¿Reintentar el evento {row.id}?",
                {"event_id": row.id},
                version,
                cli=f"whmcs-bridge events retry {row.id}",
            )
            rows.append(
                StaffRow(
                    [
                        str(row.id),
                        row.name,
                        f"{row.subject_type} #{row.subject_id}",
                        row.plugin,
                        row.status,
                        row.detail[:200],
                    ],
                    actions=[retry] if row.status == "quarantined" else [],
                    tone="bad" if row.status == "quarantined" else "warn",
                )
            )
    columns = ["#", "evento", "sujeto", "plugin", "estado", "motivo"]
    return StaffSection(words["failures"], columns, rows, words["none"])


def _quarantine(bridge: Bridge, words: dict[str, str]) -> StaffSection:
    query = select(quarantine_t).order_by(quarantine_t.c.id.desc()).limit(LIMIT)
    with bridge.panel.connect() as conn:
        rows = [
            StaffRow([str(r.id), r.hook, f"{r.created_at:%d/%m/%Y %H:%M}", r.reason[:200]])
            for r in conn.execute(query)
        ]
    return StaffSection(words["quarantine"], ["#", "hook", "fecha", "motivo"], rows, words["none"])


def _channels(bridge: Bridge, words: dict[str, str]) -> StaffSection:
    rows = []
    for name, reason in sorted(bridge.outbox.channel_health().items()):
        if reason is None:
            continue
        resume = StaffAction(
            "core.resume_channel",
            words["resume"],
            f"¿Reanudar el canal {name}? Solo si ya se corrigió la causa.",
            {"channel": name},
            fingerprint(name, reason),
            cli=f"whmcs-bridge outbox resume {name}",
        )
        rows.append(StaffRow([name, reason], actions=[resume], tone="bad"))
    return StaffSection(words["channels"], ["canal", "por qué"], rows, words["none"])


def _messages(bridge: Bridge, words: dict[str, str]) -> StaffSection:
    query = (
        select(outbox)
        .where(outbox.c.state.in_((DEAD, FAILED, UNKNOWN)))
        .order_by(outbox.c.id.desc())
        .limit(LIMIT)
    )
    rows = []
    with bridge.panel.connect() as conn:
        for row in conn.execute(query):
            event = json.loads(row.message).get("event", "")
            retry = StaffAction(
                "core.retry_message",
                words["retry"],
                f"¿Enviar de nuevo el mensaje {row.id} a {row.recipient}?"
                + (" Puede que ya haya llegado." if row.state == UNKNOWN else ""),
                {"message_id": row.id},
                fingerprint(row.id, row.state, row.updated_at),
                cli=f"whmcs-bridge outbox retry {row.id}"
                + (" --force" if row.state == UNKNOWN else ""),
            )
            link = f"clientssummary.php?userid={row.client_id}" if row.client_id else ""
            reason = " ".join(str(x) for x in (row.error_code, row.last_error) if x)
            rows.append(
                StaffRow(
                    [str(row.id), event, row.channel, row.recipient, row.state, reason[:200]],
                    link=link,
                    actions=[retry],
                    tone="bad" if row.state == DEAD else "warn",
                )
            )
    columns = ["#", "evento", "canal", "destinatario", "estado", "motivo del proveedor"]
    return StaffSection(words["dead"], columns, rows, words["none"])


@hookimpl
def bridge_staff_tabs(bridge: Bridge, language: str) -> list[StaffTab]:
    """Fires per staff page view; returns the Inicio and Alertas tabs."""
    words = _words(language)
    failures, quarantined = _failures(bridge, words), _quarantine(bridge, words)
    channels, messages = _channels(bridge, words), _messages(bridge, words)
    with bridge.panel.connect() as conn:
        waiting = conn.execute(
            select(func.count()).select_from(events_t).where(events_t.c.settled_at.is_(None))
        ).scalar_one()
    summary = (
        f"{waiting} eventos sin terminar; {len(failures.rows)} con fallas; "
        f"{len(channels.rows)} canales detenidos"
        if language != "en"
        else f"{waiting} events not settled; {len(failures.rows)} with failures; "
        f"{len(channels.rows)} channels stopped"
    )
    home = StaffTab(
        "inicio",
        words["home"],
        summary,
        [failures, quarantined, channels],
        badge=len(channels.rows) + sum(1 for r in failures.rows if r.actions),
    )
    alerts = StaffTab("alertas", words["alerts"], "", [messages], badge=len(messages.rows))
    return [home, alerts]


@hookimpl
def bridge_staff_action(
    bridge: Bridge, name: str, params: dict[str, Any], version: str, admin: StaffAdmin
) -> StaffActionResult | None:
    """Fires per button press; answers the ``core.*`` actions, None for the others."""
    if name == "core.retry_event":
        return _retry_event(bridge, params, version, admin)
    if name == "core.resume_channel":
        channel = str(params.get("channel", ""))
        reason = bridge.outbox.channel_health().get(channel)
        if reason is None or fingerprint(channel, reason) != version:
            return StaffActionResult.changed(f"el canal {channel} ya no está como se mostró")
        bridge.outbox.resume_channel(channel)
        note = log_staff_action(bridge, admin, f"whmcs-bridge: channel {channel} resumed", None)
        return StaffActionResult(True, f"canal {channel} reanudado. {note}".strip())
    if name == "core.retry_message":
        return _retry_message(bridge, params, version, admin)
    return None


def _retry_event(
    bridge: Bridge, params: dict[str, Any], version: str, admin: StaffAdmin
) -> StaffActionResult:
    event_id = params.get("event_id")
    if not isinstance(event_id, int):
        return StaffActionResult.refused("expected event_id")
    query = (
        select(events_t.c.id, outcomes_t.c.plugin, outcomes_t.c.status, outcomes_t.c.detail)
        .join(outcomes_t, outcomes_t.c.event_id == events_t.c.id)
        .where(events_t.c.id == event_id, outcomes_t.c.status == "quarantined")
    )
    with bridge.panel.begin() as conn:
        rows = conn.execute(query).all()
        if not any(fingerprint(r.id, r.plugin, r.status, r.detail) == version for r in rows):
            return StaffActionResult.changed(f"el evento {event_id} ya no está en cuarentena")
        count = retry_event(conn, event_id, bridge.clock.panel_now())
    note = log_staff_action(bridge, admin, f"whmcs-bridge: event {event_id} retried", None)
    return StaffActionResult(
        True, f"evento {event_id}: {count} reintento(s) en el próximo ciclo. {note}".strip()
    )


def _retry_message(
    bridge: Bridge, params: dict[str, Any], version: str, admin: StaffAdmin
) -> StaffActionResult:
    message_id = params.get("message_id")
    if not isinstance(message_id, int):
        return StaffActionResult.refused("expected message_id")
    with bridge.panel.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == message_id)).first()
    if row is None or fingerprint(row.id, row.state, row.updated_at) != version:
        return StaffActionResult.changed(f"el mensaje {message_id} cambió desde que se mostró")
    try:
        was = bridge.outbox.requeue(message_id, force=True)
    except BridgeError as exc:
        return StaffActionResult.changed(str(exc))
    note = log_staff_action(
        bridge, admin, f"whmcs-bridge: message {message_id} queued again", row.client_id
    )
    return StaffActionResult(
        True, f"mensaje {message_id} en cola otra vez (era {was}). {note}".strip()
    )
