"""The Transferencias tab of the staff page in the WHMCS admin area (issue 16): transfer requests
waiting for staff, checked again as the page is drawn, and the buttons staff use on them.

Pending requests come first, oldest first, each with the check re-run now
(:func:`.owner_request.check_for_request`): every reason and flag in plain words (Spanish, or
English for an English admin) under the row, the ticket the owner asked in, the service and
both clients linked to their WHMCS pages.
Buttons: **Aprobar** runs the same apply as ``transfer apply --id N --yes``
(:func:`.apply.apply_transfer`; "con el dominio" as ``--with-domain`` when the domain of the same
name would stay), offered only while the check allows it; **Rechazar** cancels the request
(:func:`.apply.cancel_transfer`) and replies on the ticket with the reasons, in the client's
language (:func:`.texts.reject_reply`, sent by :func:`.owner_request.reply_on_ticket`).

A button carries the ``version`` of what was drawn: the request's state and the check's verdict,
reasons and flags. It is refused (409) when the check, run again when pressed, says anything else
(an invoice that became overdue meanwhile stops an approval). Each action records the admin in
the request's note and in the panel's activity log. The second section lists the requests
applied, cancelled or refused lately.

This module draws the tab; the buttons are carried out in :mod:`.staff_actions`, and the words
(reasons and flags in plain Spanish) are in :mod:`.staff_words`.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from whmcs_bridge.plugin import (
    BridgeError,
    StaffAction,
    StaffRow,
    StaffSection,
    StaffTab,
    fingerprint,
    is_english,
)

from . import store
from .model import TransferCheck
from .owner_request import check_for_request
from .staff_words import RECENT_DAYS, STATE_WORDS, WORDS, detail_text
from .tables import APPLIED, CANCELLED, PENDING, REFUSED, transfer_requests
from .texts import day, service_label

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

PREFIX = "transfers."
LIMIT = 50  # rows per section: the page is for the day's work, `transfer list` for more
RECENT_STATES = (APPLIED, CANCELLED, REFUSED)


# -- what the page draws ----------------------------------------------------------------------


def judge(bridge: Bridge, request: store.TransferRequest) -> tuple[TransferCheck, str]:
    """The check run now for a stored request, and what stops it beyond its reasons ('' none):
    a recipient that is now another client, or a service gone from the panel (then the stored
    check is returned)."""
    try:
        check = check_for_request(bridge, request)
    except BridgeError as exc:
        return request.check, str(exc)
    recipient = check.recipient
    if not check.reasons and (recipient is None or recipient.id != request.to_client_id):
        return check, f"recipient:{recipient.id if recipient else 0}"
    return check, ""


def version_of(request: store.TransferRequest, check: TransferCheck, problem: str) -> str:
    """What a pending row was drawn from: the request's state and the check's verdict, reasons
    and flags (ids included, so one more overdue invoice is a change)."""
    return fingerprint(
        request.id,
        request.state,
        request.service_id,
        request.to_client_id,
        check.verdict,
        problem,
        [asdict(r) for r in check.reasons],
        [asdict(f) for f in check.flags],
    )


def party_label(party: Any, fallback: str) -> str:
    if party is None:
        return fallback
    name = party.name or party.company
    company = f" ({party.company})" if party.company and party.company != name else ""
    return f"#{party.id} {name}{company}"


def _cells(
    request: store.TransferRequest, check: TransferCheck, lang: str, state: str
) -> tuple[list[str], list[str]]:
    """(cells, links) shared by both sections: ticket, service, the two clients, state, asked."""
    words = WORDS[lang]
    holder_id = request.to_client_id if request.state == APPLIED else request.from_client_id
    to_id = request.to_client_id
    cells = [
        f"#{request.ticket_id}" if request.ticket_id else words["no_ticket"],
        service_label(check),
        party_label(check.holder, f"#{request.from_client_id}"),
        party_label(check.recipient, request.target),
        state,
        f"#{request.id}, {day(request.created_at.date())}",
    ]
    links = [
        f"supporttickets.php?action=view&id={request.ticket_id}" if request.ticket_id else "",
        f"clientsservices.php?userid={holder_id}&id={request.service_id}",
        f"clientssummary.php?userid={request.from_client_id}",
        f"clientssummary.php?userid={to_id}" if to_id else "",
        "",
        "",
    ]
    return cells, links


def _pending_row(bridge: Bridge, request: store.TransferRequest, lang: str) -> StaffRow:
    words = WORDS[lang]
    check, problem = judge(bridge, request)
    extra = []
    if problem.startswith("recipient:"):
        extra.append(words["other_recipient"].format(id=problem.split(":", 1)[1]))
    elif problem:
        extra.append(words["gone"].format(problem=problem))
    can_apply = not check.reasons and not problem
    if can_apply:
        state = words["allowed"]
        if check.flags:
            state += "; " + words["flags_n"].format(n=len(check.flags))
    else:
        state = words["refused"]
        if check.reasons:
            state += ": " + words["reasons_n"].format(n=len(check.reasons))
    cells, links = _cells(request, check, lang, state)
    return StaffRow(
        cells,
        link=links[0],
        links=links,
        actions=_actions(request, check, version_of(request, check, problem), can_apply, lang),
        tone="" if can_apply and not check.flags else ("warn" if can_apply else "bad"),
        detail=detail_text(check, lang, extra),
    )


def _actions(
    request: store.TransferRequest,
    check: TransferCheck,
    version: str,
    can_apply: bool,
    lang: str,
) -> list[StaffAction]:
    words = WORDS[lang]
    names = {
        "id": request.id,
        "service": service_label(check),
        "from_": party_label(check.holder, f"#{request.from_client_id}"),
        "to": party_label(check.recipient, request.target),
    }
    apply_cli = f"whmcs-bridge transfer apply --id {request.id} --yes"
    found = []
    stays = check.flag("domain_stays")
    if can_apply:
        question = words["q_approve"].format(**names)
        if stays:
            question += words["q_stays"].format(domain=stays.ids.get("domain"), **names)
        found.append(
            StaffAction(
                PREFIX + "approve", words["b_approve"], question, {"id": request.id}, version,
                cli=apply_cli,
            )
        )  # fmt: skip
        if stays:
            found.append(
                StaffAction(
                    PREFIX + "approve",
                    words["b_domain"],
                    words["q_approve"].format(**names)
                    + words["q_domain"].format(domain=stays.ids.get("domain")),
                    {"id": request.id, "with_domain": True},
                    version,
                    cli=apply_cli + " --with-domain",
                )
            )
    question = words["q_reject" if request.ticket_id else "q_reject_no_ticket"].format(**names)
    found.append(
        StaffAction(
            PREFIX + "reject", words["b_reject"], question, {"id": request.id}, version,
            cli=f"whmcs-bridge transfer cancel {request.id} --reply", danger=True,
        )
    )  # fmt: skip
    return found


def _recent_row(request: store.TransferRequest, lang: str) -> StaffRow:
    words = WORDS[lang]
    state = STATE_WORDS[lang].get(request.state, request.state)
    when = request.applied_at if request.state == APPLIED else request.updated_at
    state += f" {'el' if lang == 'es' else 'on'} {when:%d/%m/%Y %H:%M}"
    cells, links = _cells(request, request.check, lang, state)
    extra = [f"{words['note']}: {' '.join(request.note.split())[:300]}"] if request.note else []
    # A request refused when asked: what refused it (its flags no longer matter).
    refused = replace(request.check, flags=())
    detail = detail_text(refused, lang, extra) if request.state == REFUSED else " — ".join(extra)
    return StaffRow(cells, link=links[0], links=links, detail=detail)


def tab(bridge: Bridge, language: str) -> StaffTab:
    """The Transferencias tab in the admin's language (``es`` or ``en``)."""
    lang = "en" if is_english(language) else "es"
    words = WORDS[lang]
    t = transfer_requests
    since = bridge.clock.panel_now() - timedelta(days=RECENT_DAYS)
    with bridge.panel.connect() as conn:
        pending = [
            store.TransferRequest.from_row(row)
            for row in conn.execute(
                select(t).where(t.c.state == PENDING).order_by(t.c.id).limit(LIMIT)
            )
        ]
        recent = [
            store.TransferRequest.from_row(row)
            for row in conn.execute(
                select(t)
                .where(t.c.state.in_(RECENT_STATES), t.c.updated_at >= since)
                .order_by(t.c.updated_at.desc(), t.c.id.desc())
                .limit(LIMIT)
            )
        ]
    rows = [_pending_row(bridge, request, lang) for request in pending]
    allowed = sum(1 for row in rows if row.actions[0].name == PREFIX + "approve")
    sections = [
        StaffSection(words["pending"], list(words["columns"]), rows, words["none"]),
        StaffSection(
            words["recent"],
            list(words["recent_columns"]),
            [_recent_row(request, lang) for request in recent],
            words["none"],
        ),
    ]
    summary = words["summary"].format(
        pending=len(rows), allowed=allowed, refused=len(rows) - allowed, recent=len(recent)
    )
    return StaffTab("transferencias", words["title"], summary, sections, order=10,
                    badge=len(rows))  # fmt: skip
