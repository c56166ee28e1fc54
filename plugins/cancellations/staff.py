"""The Bajas tab of the staff page in the WHMCS admin area (issue 16): cancellation requests by
state, and the buttons staff use on them.

Sections, in this order: held for confirmation (R-CA-6), by hand (R-CA-5), failed, without an
answer from WHMCS, scheduled (with the day each service ends), then the ones done or voided
lately. Each row links to the service in the admin area (``clientsservices.php``) and shows the
client, the type, the end date and the state in plain words. Buttons: Confirmar for a held request
(:func:`.commands.confirm`), Hecho for one done by hand or failed
(:func:`.commands.mark_done`), Anular for one not carried out yet (:func:`.commands.void`): the
same functions as ``whmcs-bridge cancellations``, so no rule is written twice. An action is
refused when the request changed since the page was drawn (its ``version``: id, state and last
update), and records the admin in the request's note and in the panel's activity log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from whmcs_bridge.plugin import (
    BridgeError,
    StaffAction,
    StaffActionResult,
    StaffAdmin,
    StaffRow,
    StaffSection,
    StaffTab,
    fingerprint,
    is_english,
    log_staff_action,
    queries,
)

from . import commands, store
from .notices import dmy
from .tables import cancellations

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

PREFIX = "cancellations."
#: (section key, the states it shows), in the order staff read them.
SECTIONS = (
    ("confirm", ("confirm",)),
    ("manual", ("manual",)),
    ("failed", ("failed",)),
    ("unknown", ("unknown", "terminating")),
    ("waiting", ("waiting", "due")),
)
RECENT_STATES = ("done", "void")
RECENT_DAYS = 30
LIMIT = 50  # rows per section: the page is for the day's work, `cancellations list` for more
#: States a staff member must act on (the tab's badge).
WAITING_FOR_STAFF = ("confirm", "manual", "failed")

WORDS = {
    "es": {
        "title": "Bajas",
        "columns": ["servicio", "cliente", "tipo", "fin", "estado", "pedido"],
        "confirm": "Por confirmar (no se pidieron en el área de clientes)",
        "manual": "Para hacer a mano",
        "failed": "Fallidas",
        "unknown": "Sin respuesta de WHMCS",
        "waiting": "Programadas",
        "recent": f"Hechas o anuladas (últimos {RECENT_DAYS} días)",
        "none": "Ninguna.",
        "Immediate": "Inmediata",
        "period": "Fin del período facturado",
        "on_confirm": "el día que se confirme",
        "reason": "Motivo del cliente",
        "note": "Nota",
        "origin": "pedida por",
        "summary": "Por confirmar: {confirm}; a mano: {manual}; fallidas: {failed}; "
        "programadas: {waiting}",
        "b_confirm": "Confirmar",
        "b_done": "Hecho",
        "b_void": "Anular",
        "q_confirm": "¿Confirmar la baja #{id} de {service} ({client})? {when}",
        "q_today": "El servicio se da de baja hoy.",
        "q_on": "El servicio se da de baja el {date}.",
        "q_done": "¿Marcar hecha la baja #{id} de {service} ({client})? Solo si la cuenta ya "
        "se borró a mano: el servicio queda Cancelado en WHMCS.",
        "q_void": "¿Anular la baja #{id} de {service} ({client})? Se borra el pedido en WHMCS "
        "y el servicio sigue como está.",
    },
    "en": {
        "title": "Cancellations",
        "columns": ["service", "client", "type", "ends", "state", "request"],
        "confirm": "To confirm (not requested in the client area)",
        "manual": "To do by hand",
        "failed": "Failed",
        "unknown": "No answer from WHMCS",
        "waiting": "Scheduled",
        "recent": f"Done or voided (last {RECENT_DAYS} days)",
        "none": "None.",
        "Immediate": "Immediate",
        "period": "End of billing period",
        "on_confirm": "the day it is confirmed",
        "reason": "Client's reason",
        "note": "Note",
        "origin": "requested via",
        "summary": "To confirm: {confirm}; by hand: {manual}; failed: {failed}; "
        "scheduled: {waiting}",
        "b_confirm": "Confirm",
        "b_done": "Done",
        "b_void": "Void",
        "q_confirm": "Confirm cancellation #{id} of {service} ({client})? {when}",
        "q_today": "The service ends today.",
        "q_on": "The service ends on {date}.",
        "q_done": "Mark cancellation #{id} of {service} ({client}) done? Only once the account "
        "was deleted by hand: the service is left Cancelled in WHMCS.",
        "q_void": "Void cancellation #{id} of {service} ({client})? The request is deleted in "
        "WHMCS and the service stays as it is.",
    },
}

STATE_WORDS = {
    "es": {
        "confirm": "espera confirmación del personal",
        "waiting": "programada",
        "due": "se hace en el próximo ciclo",
        "terminating": "en curso",
        "unknown": "respuesta perdida: se revisa el estado del servicio",
        "manual": "a mano: borrar la cuenta y marcarla hecha",
        "failed": "falló: revisar y marcarla hecha",
        "done": "hecha",
        "void": "anulada",
    },
    "en": {
        "confirm": "awaiting staff confirmation",
        "waiting": "scheduled",
        "due": "runs in the next cycle",
        "terminating": "in progress",
        "unknown": "answer lost: the service's status is being checked",
        "manual": "by hand: delete the account, then mark it done",
        "failed": "failed: check it, then mark it done",
        "done": "done",
        "void": "voided",
    },
}


#: Where a request came from (``tables.cancellations.origin``), as staff read it.
ORIGIN_WORDS = {
    "es": {
        "admin": "el área de administración",
        "api": "la API de WHMCS",
        "cron": "una tarea automática",
        "unknown": "origen desconocido",
    },
    "en": {
        "admin": "the admin area",
        "api": "the WHMCS API",
        "cron": "an automated task",
        "unknown": "unknown origin",
    },
}


def version_of(row: Any) -> str:
    """What the page drew a request from: its id, state and last update."""
    return fingerprint(int(row.id), row.state, row.updated_at)


# -- the tab ----------------------------------------------------------------------------------


def tab(bridge: Bridge, language: str) -> StaffTab:
    """The Bajas tab in the admin's language (``es`` or ``en``)."""
    lang = "en" if is_english(language) else "es"
    words = WORDS[lang]
    c = cancellations.c
    since = bridge.clock.panel_now() - timedelta(days=RECENT_DAYS)
    with bridge.panel.connect() as conn:
        found = {
            key: conn.execute(
                select(cancellations)
                .where(c.state.in_(states))
                .order_by(c.end_date, c.id)
                .limit(LIMIT)
            ).all()
            for key, states in SECTIONS
        }
        found["recent"] = conn.execute(
            select(cancellations)
            .where(c.state.in_(RECENT_STATES), c.state_at >= since)
            .order_by(c.state_at.desc(), c.id.desc())
            .limit(LIMIT)
        ).all()
        every = [row for rows in found.values() for row in rows]
        tables = bridge.panel.tables
        names = queries.people_scans.client_names(conn, tables, [int(r.client_id) for r in every])
        services = queries.services.services_by_id(conn, tables, [r.service_id for r in every])
    labels = {sid: _service_label(s) for sid, s in services.items()}
    sections = []
    for key in [k for k, _states in SECTIONS] + ["recent"]:
        rows = [_row(row, words, STATE_WORDS[lang], labels, names, lang) for row in found[key]]
        sections.append(StaffSection(words[key], list(words["columns"]), rows, words["none"]))
    counts = {key: len(found[key]) for key, _states in SECTIONS}
    return StaffTab(
        "bajas",
        words["title"],
        words["summary"].format(**counts),
        sections,
        order=20,
        badge=sum(len(found[state]) for state in WAITING_FOR_STAFF),
    )


def _service_label(service: Any) -> str:
    name = service.product_name or f"#{service.id}"
    return f"{name} ({service.domain})" if service.domain.strip() else name


def _row(
    row: Any,
    words: dict[str, Any],
    states: dict[str, str],
    labels: dict[int, str],
    names: dict[int, str],
    lang: str,
) -> StaffRow:
    service = labels.get(int(row.service_id), f"#{row.service_id}")
    client = names.get(int(row.client_id), f"#{row.client_id}")
    immediate = row.type == "Immediate"
    kind = words["Immediate"] if immediate else words["period"]
    ends = words["on_confirm"] if row.state == "confirm" and immediate else dmy(row.end_date)
    requested = f"#{row.id}, {dmy(row.requested_at.date())}" if row.requested_at else f"#{row.id}"
    detail = [f"{words['reason']}: {' '.join(str(row.reason).split())[:200]}"]
    if row.state == "confirm":
        detail.append(f"{words['origin']}: {ORIGIN_WORDS[lang].get(row.origin, row.origin)}")
    if row.note and row.state != "confirm":
        detail.append(f"{words['note']}: {' '.join(row.note.split())[:300]}")
    return StaffRow(
        [service, client, kind, ends, states.get(row.state, row.state), requested],
        link=f"clientsservices.php?userid={int(row.client_id)}&id={int(row.service_id)}",
        actions=_actions(row, words, service, client, lang),
        tone={"failed": "bad", "confirm": "warn", "manual": "warn", "unknown": "warn"}.get(
            row.state, ""
        ),
        detail=" — ".join(detail),
    )


def _actions(
    row: Any, words: dict[str, Any], service: str, client: str, lang: str
) -> list[StaffAction]:
    version = version_of(row)
    ids = {"id": int(row.id), "service": service, "client": client}
    found = []
    if row.state == "confirm":
        when = (
            words["q_today"]
            if row.type == "Immediate"
            else words["q_on"].format(date=dmy(row.end_date))
        )
        found.append(
            StaffAction(
                PREFIX + "confirm",
                words["b_confirm"],
                words["q_confirm"].format(**ids, when=when),
                {"id": int(row.id)},
                version,
                cli=f"whmcs-bridge cancellations confirm --id {row.id}",
            )
        )
    if row.state in ("manual", "failed"):
        found.append(
            StaffAction(
                PREFIX + "done",
                words["b_done"],
                words["q_done"].format(**ids),
                {"id": int(row.id)},
                version,
                cli=f"whmcs-bridge cancellations done --service {row.service_id}",
            )
        )
    if row.state in ("confirm", "waiting", "due"):  # not carried out yet (commands.void)
        found.append(
            StaffAction(
                PREFIX + "void",
                words["b_void"],
                words["q_void"].format(**ids),
                {"id": int(row.id)},
                version,
                cli=f"whmcs-bridge cancellations void --id {row.id}",
                danger=True,
            )
        )
    return found


# -- the buttons ------------------------------------------------------------------------------


def act(
    bridge: Bridge, name: str, params: dict[str, Any], version: str, admin: StaffAdmin
) -> StaffActionResult:
    """Carry out ``cancellations.confirm``, ``.done`` or ``.void`` for ``admin``, once the
    request is still as the page drew it."""
    verb = name.removeprefix(PREFIX)
    if verb not in ("confirm", "done", "void"):
        return StaffActionResult.refused(f"no action {name}", 404)
    row_id = params.get("id")
    if not isinstance(row_id, int) or isinstance(row_id, bool):
        return StaffActionResult.refused("expected id: the request's number")
    row = store.row_by_id(bridge, row_id)
    if row is None:
        return StaffActionResult.changed(f"la baja #{row_id} ya no existe")
    if version_of(row) != version:
        return StaffActionResult.changed(
            f"la baja #{row_id} ahora está: {STATE_WORDS['es'].get(row.state, row.state)}"
        )
    who = admin.label
    try:
        if verb == "confirm":
            row = commands.confirm(bridge, row, None, who)
            ends = "hoy" if row.end_date <= bridge.clock.today() else f"el {dmy(row.end_date)}"
            text, log = (
                f"baja #{row.id} confirmada: el servicio se da de baja {ends}",
                "confirmed",
            )
        elif verb == "done":
            row = commands.mark_done(bridge, int(row.service_id), who, int(row.id))
            text, log = f"baja #{row.id} hecha: el servicio quedó Cancelado", "marked done"
        else:
            row = commands.void(bridge, row, who)
            text, log = f"baja #{row.id} anulada: el pedido se borró en WHMCS", "voided"
    except BridgeError as exc:
        now = store.row_by_id(bridge, row_id)
        if now is None or version_of(now) != version:
            return StaffActionResult.changed(str(exc))
        return StaffActionResult.refused(str(exc))
    note = log_staff_action(
        bridge,
        admin,
        f"whmcs-bridge: cancellation request #{row.id} of service {row.service_id} {log}",
        int(row.client_id) or None,
    )
    return StaffActionResult(True, f"{text}. {note}".strip())
