"""``contacts audit``: who may act for whom across the whole panel, and what looks wrong.

Each finding has a code, the rule it protects and the people involved. The scans stream the
panel in primary-key pages (``queries.people_scans``), so 100,000 clients audit in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import queries

from .permissions import PERMISSIONS

if TYPE_CHECKING:
    from whmcs_bridge.plugin import Bridge

    from .settings import ContactSettings

#: code -> (rule, what it means)
CODES: dict[str, tuple[str, str]] = {
    "email_shared_by_owners": ("R-TR-1", "two clients' holders share one e-mail address"),
    "email_of_other_client": ("R-TR-8", "a contact uses the e-mail of another client's holder"),
    "all_rights": ("R-CT-2", "a login that is not the owner holds every right"),
    "invoice_mail_without_right": (
        "R-CT-2",
        "receives invoice e-mails but may not see invoices in the panel",
    ),
    "invoice_right_without_mail": (
        "R-CT-2",
        "may see invoices in the panel but receives no invoice e-mails",
    ),
    "many_clients": ("R-TR-9", "one login acts for many clients"),
    "stale_login": ("R-CT-2", "a login unused for a long time still holds rights"),
    "invite_not_accepted": ("R-CT-2", "an invite was never accepted"),
}


@dataclass
class Finding:
    code: str
    detail: str
    people: list[dict[str, Any]] = field(default_factory=list)
    #: What the detail says, as data (the staff page words it in the admin's language).
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        rule, meaning = CODES[self.code]
        return {
            "code": self.code,
            "rule": rule,
            "meaning": meaning,
            "detail": self.detail,
            "people": self.people,
        }


@dataclass
class AuditReport:
    findings: list[Finding] = field(default_factory=list)
    model: str = ""

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for f in self.findings:
            found[f.code] = found.get(f.code, 0) + 1
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "counts": self.counts(),
            "findings": [f.as_dict() for f in self.findings],
        }

    def lines(self) -> list[str]:
        if not self.findings:
            return ["contacts audit: no findings"]
        out = [f"contacts audit: {len(self.findings)} finding(s)"]
        for f in self.findings:
            rule = CODES[f.code][0]
            out.append(f"  {f.code} ({rule}): {f.detail}")
        summary = ", ".join(f"{code} {n}" for code, n in sorted(self.counts().items()))
        out.append(f"by code: {summary}")
        return out


def _who(person: Any) -> dict[str, Any]:
    return {
        "kind": person.kind,
        "id": person.id,
        "client_id": person.client_id,
        "name": person.name,
        "email": person.email,
    }


def run_audit(bridge: Bridge, settings: ContactSettings) -> AuditReport:
    """Every finding of the panel, in a stable order (by code, then by id)."""
    tables = bridge.panel.tables
    people, scans = queries.people, queries.people_scans
    report = AuditReport(model="users" if people.has_users(tables) else "subaccounts")
    now = bridge.clock.panel_now().replace(tzinfo=None)
    stale_before = now - timedelta(days=settings.stale_login_days)
    with bridge.panel.connect() as conn:
        _emails(conn, tables, report)
        invoice_mail = scans.invoice_mail_index(conn, tables)
        for person in scans.login_rows(conn, tables):
            _login_findings(report, person, invoice_mail, stale_before)
        many = scans.clients_per_user(conn, tables, settings.many_clients)
        if many:
            links = scans.user_links(conn, tables, sorted(many))
            by_user: dict[int, list[Any]] = {}
            for link in links:
                by_user.setdefault(link.id, []).append(link)
            for user_id, count in sorted(many.items()):
                rows = by_user.get(user_id, [])
                email = rows[0].email if rows else "?"
                report.findings.append(
                    Finding(
                        "many_clients",
                        f"user {user_id} <{email}> acts for {count} clients",
                        [_who(p) for p in rows],
                        {"clients": count},
                    )
                )
        invite_before = now - timedelta(days=settings.invite_days)
        for invite in people.pending_invites(conn, tables):
            if invite.created_at is not None and invite.created_at > invite_before:
                continue
            sent = invite.created_at.strftime("%d/%m/%Y") if invite.created_at else "?"
            report.findings.append(
                Finding(
                    "invite_not_accepted",
                    f"invite #{invite.id} of {invite.email} to client {invite.client_id}, "
                    f"sent {sent}, never accepted",
                    [
                        {
                            "kind": "invite",
                            "id": invite.id,
                            "client_id": invite.client_id,
                            "email": invite.email,
                        }
                    ],
                    {"sent": invite.created_at.date().isoformat() if invite.created_at else None},
                )
            )
    order = list(CODES)
    report.findings.sort(key=lambda f: order.index(f.code))
    return report


def _emails(conn: Any, tables: Any, report: AuditReport) -> None:
    for holder in queries.people_scans.email_holders(conn, tables):
        owners = [{"kind": "owner", "client_id": c, "email": holder.email} for c in holder.owners]
        if len(holder.owners) > 1:
            report.findings.append(
                Finding(
                    "email_shared_by_owners",
                    f"{holder.email} is the e-mail of clients "
                    f"{', '.join(str(c) for c in holder.owners)}",
                    owners,
                )
            )
        for contact_id, client_id in holder.contacts:
            report.findings.append(
                Finding(
                    "email_of_other_client",
                    f"contact {contact_id} of client {client_id} uses {holder.email}, the "
                    f"e-mail of client {holder.owners[0]}",
                    [
                        owners[0],
                        {
                            "kind": "contact",
                            "id": contact_id,
                            "client_id": client_id,
                            "email": holder.email,
                        },
                    ],
                )
            )


def _login_findings(
    report: AuditReport,
    person: Any,
    invoice_mail: dict[tuple[int, str], bool],
    stale_before: Any,
) -> None:
    where = f"{person.key} <{person.email}> on client {person.client_id}"
    if person.permissions == PERMISSIONS:
        report.findings.append(Finding("all_rights", f"{where} holds every right", [_who(person)]))
    # Mail by preference: a 7.x sub-account's own columns; an 8.x user's contact row, if any.
    if person.kind == "subaccount":
        gets_invoices = bool(person.email_preferences and person.email_preferences["invoice"])
    else:
        gets_invoices = invoice_mail.get((person.client_id, person.email.lower()), False)
    may_see = "invoices" in person.permissions
    if gets_invoices and not may_see:
        report.findings.append(
            Finding(
                "invoice_mail_without_right",
                f"{where}: invoice e-mails, no invoices right",
                [_who(person)],
            )
        )
    elif may_see and not gets_invoices and person.permissions:
        report.findings.append(
            Finding(
                "invoice_right_without_mail",
                f"{where}: invoices right, no invoice e-mails",
                [_who(person)],
            )
        )
    if person.kind == "user" and person.permissions:
        # Never logged in and created at an unknown time: nothing says a year has passed.
        seen = person.last_login or person.created_at
        if seen is not None and seen < stale_before:
            last = person.last_login.strftime("%d/%m/%Y") if person.last_login else "never"
            report.findings.append(
                Finding(
                    "stale_login",
                    f"{where}: last login {last}, still holds {','.join(person.permissions)}",
                    [_who(person)],
                    {
                        "last_login": person.last_login.date().isoformat()
                        if person.last_login
                        else None,
                        "rights": list(person.permissions),
                    },
                )
            )
