"""The staff page's Contactos tab (issue 16): the last ``contacts audit``, worst findings first.

Each code is a table titled in plain words (Spanish, English for an English-speaking admin)
with the rule it protects and its count; each row names the client (linked to its page in the
WHMCS admin area), the people involved and what is wrong. The audit is the kept one
(:mod:`.audit_store`: the cycle runs it at most once an hour) and the tab says when it ran and
how long it took; "Auditar ahora" (``contacts.audit_now``) runs it again, recorded with the
admin who pressed it. The button only reads the panel.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import (
    StaffAction,
    StaffActionResult,
    StaffRow,
    StaffSection,
    StaffTab,
    fingerprint,
    is_english,
    log_staff_action,
    queries,
)

from .audit import CODES
from .audit_store import KEPT_PER_CODE, KeptAudit, latest, run_and_keep
from .permissions import PERMISSIONS, label

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge, StaffAdmin

    from .settings import ContactSettings

AUDIT_NOW = "contacts.audit_now"

#: Codes worst first, with the row's tone: "bad" a client's account can be taken or mixed
#: with another's; "warn" someone may see or hear what they should not; "" housekeeping.
SEVERITY: tuple[tuple[str, str], ...] = (
    ("email_of_other_client", "bad"),
    ("email_shared_by_owners", "bad"),
    ("all_rights", "bad"),
    ("invoice_mail_without_right", "warn"),
    ("many_clients", "warn"),
    ("stale_login", "warn"),
    ("invite_not_accepted", ""),
    ("invoice_right_without_mail", ""),
)

#: code -> (Spanish, English): what the finding means, in plain words.
TITLES: dict[str, tuple[str, str]] = {
    "email_of_other_client": (
        "Un contacto usa el e-mail del titular de otro cliente",
        "A contact uses the e-mail of another client's holder",
    ),
    "email_shared_by_owners": (
        "Dos clientes con el mismo e-mail de titular",
        "Two clients whose holders share one e-mail",
    ),
    "all_rights": (
        "Un acceso que no es el titular tiene todos los permisos",
        "A login that is not the holder has every right",
    ),
    "invoice_mail_without_right": (
        "Recibe las facturas por e-mail pero no puede verlas en el panel",
        "Receives invoice e-mails but may not see invoices in the panel",
    ),
    "many_clients": (
        "Un mismo acceso actúa por muchos clientes",
        "One login acts for many clients",
    ),
    "stale_login": (
        "Un acceso sin usar hace mucho conserva permisos",
        "A login unused for a long time still has rights",
    ),
    "invite_not_accepted": (
        "Invitaciones nunca aceptadas",
        "Invites never accepted",
    ),
    "invoice_right_without_mail": (
        "Puede ver las facturas en el panel pero no las recibe por e-mail",
        "May see invoices in the panel but receives no invoice e-mails",
    ),
}

#: kind -> (Spanish, English)
KINDS: dict[str, tuple[str, str]] = {
    "owner": ("titular", "holder"),
    "user": ("usuario", "user"),
    "subaccount": ("subcuenta", "sub-account"),
    "contact": ("contacto", "contact"),
    "invite": ("invitación", "invite"),
}


class _Words:
    """The tab's words in the admin's language."""

    def __init__(self, language: str) -> None:
        self.en = is_english(language)

    def __call__(self, spanish: str, english: str) -> str:
        return english if self.en else spanish

    def pick(self, pair: tuple[str, str]) -> str:
        return pair[1] if self.en else pair[0]

    def seconds(self, ms: int) -> str:
        if ms < 1000:
            return f"{ms} ms"
        text = f"{ms / 1000:.1f} s"
        return text if self.en else text.replace(".", ",")

    def right(self, key: str) -> str:
        return label(key, "en" if self.en else "es_AR")

    def day(self, iso: str | None) -> str:
        return date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def _clients(ids: list[int]) -> str:
    return ", ".join(f"#{c}" for c in ids)


def _link_client(finding: dict[str, Any]) -> int:
    """The client whose page staff open to fix it."""
    people = finding.get("people") or [{}]
    if finding["code"] == "email_shared_by_owners":
        return int(people[-1].get("client_id") or 0)  # the later registration
    if finding["code"] == "email_of_other_client":
        return int(people[-1].get("client_id") or 0)  # the contact's client
    return int(people[0].get("client_id") or 0)


def _person(person: dict[str, Any], w: _Words) -> str:
    kind = w.pick(KINDS.get(person.get("kind", ""), (person.get("kind", "?"),) * 2))
    email = person.get("email") or ""
    if person.get("kind") == "owner" and "id" not in person:
        who = w(f"titular de #{person.get('client_id')}", f"holder of #{person.get('client_id')}")
    else:
        who = f"{kind} #{person.get('id')}"
    name = person.get("name") or ""
    if name and name != email:
        who += f" {name}"
    return f"{who} <{email}>" if email else who


def _detail(finding: dict[str, Any], client_id: int, w: _Words) -> str:
    code, people = finding["code"], finding.get("people") or []
    facts = finding.get("facts") or {}
    email = people[0].get("email", "") if people else ""
    if code == "email_shared_by_owners":
        others = _clients([p["client_id"] for p in people if p.get("client_id") != client_id])
        return w(
            f"{email} es también el e-mail del titular de {others}",
            f"{email} is also the e-mail of the holder of {others}",
        )
    if code == "email_of_other_client":
        holder = people[0].get("client_id")
        contact = people[-1].get("id")
        return w(
            f"el contacto #{contact} usa {email}, el e-mail del titular de #{holder}",
            f"contact #{contact} uses {email}, the e-mail of the holder of #{holder}",
        )
    if code == "all_rights":
        n = len(PERMISSIONS)
        return w(
            f"tiene los {n} permisos sin ser el titular",
            f"holds all {n} rights without being the holder",
        )
    invoices = w("«{}»", "“{}”").format(w.right("invoices"))
    if code == "invoice_mail_without_right":
        return w(
            f"recibe las facturas por e-mail sin el permiso {invoices}",
            f"receives invoice e-mails without the right {invoices}",
        )
    if code == "invoice_right_without_mail":
        return w(
            f"tiene el permiso {invoices} y no recibe las facturas por e-mail",
            f"holds the right {invoices} and receives no invoice e-mails",
        )
    if code == "many_clients":
        count = facts.get("clients", len(people))
        ids = _clients([p["client_id"] for p in people if p.get("client_id")])
        return w(f"actúa por {count} clientes: {ids}", f"acts for {count} clients: {ids}")
    if code == "stale_login":
        rights = ", ".join(w.right(k) for k in facts.get("rights", ()))
        last = facts.get("last_login")
        when = (
            w(f"último ingreso {w.day(last)}", f"last login {w.day(last)}")
            if last
            else w("nunca ingresó", "never logged in")
        )
        return w(f"{when}; conserva: {rights}", f"{when}; still holds: {rights}")
    if code == "invite_not_accepted":
        sent = w.day(facts.get("sent"))
        return w(f"enviada el {sent}, nunca aceptada", f"sent {sent}, never accepted")
    return str(finding.get("detail", ""))


def _finding_sections(bridge: Bridge, kept: KeptAudit, w: _Words) -> list[StaffSection]:
    by_code: dict[str, list[dict[str, Any]]] = {}
    for finding in kept.findings:
        by_code.setdefault(finding["code"], []).append(finding)
    ids = [_link_client(f) for f in kept.findings]
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        names = queries.people_scans.client_names(conn, tables, [i for i in ids if i])
    columns = [w("Cliente", "Client"), w("Personas", "People"), w("Qué pasa", "What is wrong")]
    sections = []
    for code, tone in SEVERITY:
        count = kept.counts.get(code, 0)
        if not count:
            continue
        rows = []
        for finding in by_code.get(code, []):
            client_id = _link_client(finding)
            people = "; ".join(dict.fromkeys(_person(p, w) for p in finding.get("people") or []))
            rows.append(
                StaffRow(
                    [f"#{client_id} {names.get(client_id, '')}".strip(), people,
                     _detail(finding, client_id, w)],
                    link=f"clientssummary.php?userid={client_id}" if client_id else "",
                    tone=tone,
                )
            )  # fmt: skip
        shown = len(rows)
        more = (
            w(
                f"{shown} de {count}; todos: whmcs-bridge contacts audit",
                f"{shown} of {count}; all: whmcs-bridge contacts audit",
            )
            if count > shown
            else str(count)
        )
        title = f"{w.pick(TITLES[code])} · {CODES[code][0]} ({more})"
        sections.append(StaffSection(title, columns, rows))
    return sections


def _ran_by(ran_by: str, w: _Words) -> str:
    if ran_by == "cycle":
        return w("el ciclo (cada hora)", "the cycle (hourly)")
    if ran_by == "page":
        return w("la primera vista de esta página", "this page's first view")
    return ran_by


def _audit_section(kept: KeptAudit, w: _Words) -> StaffSection:
    action = StaffAction(
        AUDIT_NOW,
        w("Auditar ahora", "Audit now"),
        w(
            "¿Auditar ahora los contactos y accesos de todo el panel? "
            "En un panel grande tarda unos segundos.",
            "Audit the contacts and logins of the whole panel now? "
            "On a big panel it takes a few seconds.",
        ),
        {"last_audit": kept.id},  # never empty: PHP would send an empty {} as []
        fingerprint(kept.id),
        cli="whmcs-bridge contacts audit",
    )
    row = StaffRow(
        [
            f"{kept.started_at:%d/%m/%Y %H:%M}",
            w.seconds(kept.duration_ms),
            str(kept.total),
            _ran_by(kept.ran_by, w),
        ],
        actions=[action],
    )
    columns = [w("fecha", "date"), w("duración", "took"), w("hallazgos", "findings"),
               w("la corrió", "run by")]  # fmt: skip
    return StaffSection(w("Auditoría", "Audit"), columns, [row])


def contacts_tab(bridge: Bridge, language: str, settings: ContactSettings) -> StaffTab:
    """The Contactos tab from the kept audit (run now only when none is kept yet)."""
    w = _Words(language)
    kept = latest(bridge) or run_and_keep(bridge, settings, "page")
    sections = _finding_sections(bridge, kept, w)
    if not sections:
        sections = [
            StaffSection(
                w("Hallazgos", "Findings"),
                [],
                [],
                w(
                    "Sin hallazgos: ningún e-mail compartido ni acceso de más.",
                    "No findings: no shared e-mail, no login with too much.",
                ),
            )
        ]
    when = f"{kept.started_at:%d/%m/%Y %H:%M}"
    took = w.seconds(kept.duration_ms)
    summary = w(
        f"Auditoría del {when} (tardó {took}; se repite cada hora): "
        f"{kept.total} hallazgo{'' if kept.total == 1 else 's'}, los más graves primero; "
        f"se muestran hasta {KEPT_PER_CODE} por tipo.",
        f"Audit of {when} (took {took}; runs again every hour): "
        f"{kept.total} finding{'' if kept.total == 1 else 's'}, worst first; "
        f"up to {KEPT_PER_CODE} shown per kind.",
    )
    return StaffTab(
        "contactos",
        w("Contactos", "Contacts"),
        summary,
        [*sections, _audit_section(kept, w)],
        order=40,
        badge=kept.total,
    )


def audit_now(
    bridge: Bridge, version: str, admin: StaffAdmin, settings: ContactSettings
) -> StaffActionResult:
    """``contacts.audit_now``: audit again unless a newer audit came since the page was drawn."""
    kept = latest(bridge)
    if kept is not None and fingerprint(kept.id) != version:
        return StaffActionResult.changed(
            f"ya hay una auditoría más nueva, del {kept.started_at:%d/%m/%Y %H:%M}"
        )
    fresh = run_and_keep(bridge, settings, admin.label)
    note = log_staff_action(
        bridge, admin, f"whmcs-bridge: contacts audit run ({fresh.total} findings)", None
    )
    return StaffActionResult(
        True,
        f"auditoría de contactos: {fresh.total} hallazgo(s), tardó "
        f"{_Words('es').seconds(fresh.duration_ms)}. {note}".strip(),
    )
