"""The SLA tab of the staff page in the WHMCS admin area (issue 16).

Two sections: the open tickets waiting for a first staff answer, breached first then by
deadline, each with its time left on the ticket's clock (business hours, or every minute for a
24x7 clock), linked to the ticket in the admin area; and this month's report per plan and
department. Both come from what ``sla status`` and ``sla report`` compute
(:mod:`.report`): no rule is written twice. The tab is a board: it has no buttons (answering
the ticket in WHMCS is what stops the clock).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from whmcs_bridge.plugin import Bridge, StaffRow, StaffSection, StaffTab, is_english

from . import report as reports
from .catalog import PLAN_LABELS
from .tasks import settings_of

#: Tickets drawn on the page; the rest (a panel with thousands waiting) through the CLI.
LIMIT = 200
#: Breached tickets named under a report line.
BREACHES_NAMED = 10
MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "octubre", "noviembre", "diciembre",
)  # fmt: skip
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def duration(minutes: float, day_minutes: int, en: bool) -> str:
    """'2 h 15 min', '40 min', '3 días 2 h 5 min' (a day is ``day_minutes`` of the clock)."""
    whole = max(0, round(minutes))
    days, rest = divmod(whole, day_minutes)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        unit = ("day" if en else "día") if days == 1 else ("days" if en else "días")
        parts.append(f"{days} {unit}")
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return " ".join(parts)


def time_left(left: int, breached: bool, clock: str, day_minutes: int, en: bool) -> str:
    """'quedan 2 h 15 min hábiles', 'vencido hace 40 min hábiles' (or their English)."""
    business = clock == "business"
    span = duration(abs(left), day_minutes if business else 24 * 60, en)
    one = span.startswith("1 ") and span.count(" ") == 1  # '1 h', '1 día', '1 min'
    if en:
        unit = " (business hours)" if business else ""
        if not breached:
            return f"{span} left{unit}" if left else "less than 1 min left"
        return f"overdue by {span}{unit}" if left else "overdue"
    unit = (" hábil" if one else " hábiles") if business else ""
    if not breached:
        return f"{'queda' if one else 'quedan'} {span}{unit}" if left else "queda menos de 1 min"
    # Past the deadline with no minute of its clock since (after hours): just overdue.
    return f"vencido hace {span}{unit}" if left else "vencido"


def is_at_risk(row: dict[str, Any], warn_at: float) -> bool:
    """Past the warning share of its target (the moment staff are warned, R-SL)."""
    target = int(row["target_minutes"])
    warn_minutes = max(1, math.floor(target * warn_at))
    return target - int(row["business_minutes_left"]) >= warn_minutes


def _when(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%d/%m/%Y %H:%M")


def _plan(row: dict[str, Any]) -> str:
    return PLAN_LABELS.get(row["plan"], row["plan"]) + (" · P1" if row["p1"] else "")


def waiting_section(
    rows: list[dict[str, Any]], warn_at: float, day_minutes: int, en: bool
) -> tuple[StaffSection, int, int]:
    """The tickets waiting for a first answer (the first ``LIMIT``); with how many of all of
    them are breached and at risk."""
    # ``sla status`` gives them by deadline (then id); a stable sort puts the breached first.
    ordered = sorted(rows, key=lambda r: not r["breached"])
    breached = at_risk = 0
    drawn = []
    for row in ordered:
        if row["breached"]:
            tone = "bad"
            breached += 1
        elif is_at_risk(row, warn_at):
            tone = "warn"
            at_risk += 1
        else:
            tone = ""
        if len(drawn) >= LIMIT:
            continue
        cells = [
            f"#{row['tid']}",
            _plan(row),
            row["department"] or "—",
            _when(row["deadline"]),
            time_left(
                int(row["business_minutes_left"]), row["breached"], row["clock"], day_minutes, en
            ),
        ]
        link = f"supporttickets.php?action=view&id={int(row['ticket_id'])}"
        drawn.append(StaffRow(cells, link=link, tone=tone))
    if en:
        title = "Tickets waiting for a first response, by deadline"
        columns = ["Ticket", "Plan", "Department", "Due", "Time left"]
        empty = "No open ticket is waiting for a first response."
    else:
        title = "Tickets sin primera respuesta, por vencimiento"
        columns = ["Ticket", "Plan", "Departamento", "Vence", "Tiempo restante"]
        empty = "Ningún ticket abierto espera primera respuesta."
    return StaffSection(title, columns, drawn, empty), breached, at_risk


def _share(value: float | None, en: bool) -> str:
    if value is None:
        return "—"
    return f"{value:.0%}" if en else f"{round(value * 100)} %"


def report_section(
    groups: list[dict[str, Any]], month: datetime, day_minutes: int, en: bool
) -> StaffSection:
    """This month's first responses per plan and department (``sla report``'s figures)."""
    rows = []
    for group in groups:
        median, p90 = group["median_first_response"], group["p90_first_response"]
        breaches = group["breaches"]
        cells = [
            PLAN_LABELS.get(group["plan"], group["plan"]),
            group["department"] or "—",
            str(group["tickets"]),
            "—" if median is None else duration(median, day_minutes, en),
            "—" if p90 is None else duration(p90, day_minutes, en),
            _share(group["within_target"], en),
            str(len(breaches)),
        ]
        detail = ""
        if breaches:
            named = ", ".join(
                f"#{b['tid']} ({'due' if en else 'vencía'} {_when(b['deadline'])})"
                for b in breaches[:BREACHES_NAMED]
            )
            more = len(breaches) - BREACHES_NAMED
            if more > 0:
                named += f" {'and' if en else 'y'} {more} {'more' if en else 'más'}"
            detail = f"{'Breached' if en else 'Incumplidos'}: {named}"
        rows.append(StaffRow(cells, tone="bad" if breaches else "", detail=detail))
    if en:
        title = f"Report for {MONTHS_EN[month.month - 1]} {month.year} (tickets opened this month)"
        columns = ["Plan", "Department", "Tickets", "Median first response (business)",
                   "90th percentile (business)", "Within target", "Breaches"]  # fmt: skip
        empty = "No tickets opened this month."
    else:
        title = (
            f"Informe de {MONTHS_ES[month.month - 1]} de {month.year} (tickets abiertos en el mes)"
        )
        columns = ["Plan", "Departamento", "Tickets", "Mediana 1.ª respuesta (hábil)",
                   "Percentil 90 (hábil)", "Dentro del objetivo", "Incumplidos"]  # fmt: skip
        empty = "Ningún ticket abierto este mes."
    return StaffSection(title, columns, rows, empty)


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """First moment of ``now``'s month and of the next one (panel-local)."""
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if start.month == 12:
        return start, start.replace(year=start.year + 1, month=1)
    return start, start.replace(month=start.month + 1)


def sla_tab(bridge: Bridge, language: str) -> StaffTab:
    """The SLA tab: what waits for a first answer, and the month so far."""
    en = is_english(language)
    settings = settings_of(bridge)
    day_minutes = max(1, settings.calendar.day_seconds // 60)
    rows = reports.status(bridge)
    waiting, breached, at_risk = waiting_section(rows, settings.warn_at, day_minutes, en)
    start, end = month_bounds(bridge.clock.panel_now())
    month = report_section(reports.report(bridge, start, end), start, day_minutes, en)
    total = len(rows)
    hours = f"{settings.calendar.opens:%H:%M}-{settings.calendar.closes:%H:%M}"
    if en:
        summary = (
            f"{total} {'ticket is' if total == 1 else 'tickets are'} waiting for a first "
            f"response: {breached} overdue, {at_risk} near the deadline (business hours {hours})."
        )
        if total > len(waiting.rows):
            summary += f" The first {LIMIT} are shown; all of them: whmcs-bridge sla status."
    else:
        summary = (
            f"{total} {'ticket espera' if total == 1 else 'tickets esperan'} primera respuesta: "
            f"{breached} {'vencido' if breached == 1 else 'vencidos'}, {at_risk} por vencer "
            f"(horario hábil {hours})."
        )
        if total > len(waiting.rows):
            summary += f" Se muestran los primeros {LIMIT}; todos: whmcs-bridge sla status."
    return StaffTab("sla", "SLA", summary, [waiting, month], order=30, badge=breached + at_risk)
