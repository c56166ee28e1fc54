"""Service status (R-SL-3): network issues staff publish in WHMCS become client notices.

A watcher follows ``tblnetworkissues`` (WHMCS has no hook for it): a new issue not yet resolved
is ``incident.opened``, a tracked one turning ``Resolved`` is ``incident.resolved``. Its first
run only remembers the issues open at the time. The clients told are those with a live service
or addon on the affected server, each once however many services it has there; the resolution
goes to the clients who were told of the opening.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select

from whmcs_bridge.plugin import Bridge, Event, Notice, WatchContext, event_key, queries, send_notice

from . import texts
from .tables import incident_notices
from .tasks import settings_of

WATCHER = "sla.incidents"
STATUS_PAGE = "serverstatus.php"


class IncidentWatcher:
    """Turns Network Issues into ``incident.opened`` and ``incident.resolved``."""

    name = WATCHER

    def _state(self, ctx: WatchContext) -> dict[str, Any]:
        try:
            value = json.loads(ctx.cursor(self.name) or "{}")
        except json.JSONDecodeError:
            value = {}
        return value if isinstance(value, dict) else {}

    def _save(self, ctx: WatchContext, last: int, open_ids: set[int]) -> None:
        ctx.set_cursor(self.name, json.dumps({"max": last, "open": sorted(open_ids)}))

    def baseline(self, ctx: WatchContext) -> None:
        issues = queries.incidents.network_issues(ctx.conn, ctx.tables)
        last = max((issue.id for issue in issues), default=0)
        self._save(ctx, last, {issue.id for issue in issues if not issue.resolved})

    def poll(self, ctx: WatchContext) -> list[Event]:
        state = self._state(ctx)
        last = int(state.get("max", 0))
        open_ids = {int(i) for i in state.get("open", [])}
        found: list[Event] = []
        still: set[int] = set()
        for issue in queries.incidents.network_issues(ctx.conn, ctx.tables, open_ids):
            if issue.resolved:
                found.append(self._event(ctx, "incident.resolved", issue.id))
            else:
                still.add(issue.id)
        for issue in queries.incidents.network_issues(ctx.conn, ctx.tables, above_id=last):
            last = max(last, issue.id)
            if not issue.resolved:
                found.append(self._event(ctx, "incident.opened", issue.id))
                still.add(issue.id)
        if last != int(state.get("max", 0)) or still != open_ids:
            self._save(ctx, last, still)
        return found

    def observe(self, ctx: WatchContext, event: Event) -> None:
        """No hook reports network issues: nothing to learn."""

    @staticmethod
    def _event(ctx: WatchContext, name: str, issue_id: int) -> Event:
        return Event(
            key=event_key(name, issue_id),
            name=name,
            subject_type="incident",
            subject_id=issue_id,
            occurred_at=ctx.now,
            source="watcher",
        )


def _status_url(bridge: Bridge) -> str:
    base = (bridge.config.system_url or bridge.panel.setting("SystemURL") or "").strip()
    if base and not base.endswith("/"):
        base += "/"
    return f"{base}{STATUS_PAGE}"


def _notified(bridge: Bridge, issue_id: int, stage: str) -> set[int]:
    with bridge.panel.connect() as conn:
        query = select(incident_notices.c.client_id).where(
            incident_notices.c.issue_id == issue_id, incident_notices.c.stage == stage
        )
        return {int(i) for i in conn.execute(query).scalars()}


def tell_clients(bridge: Bridge, event: Event) -> str:
    """Handle ``incident.opened`` / ``incident.resolved``: one notice per affected client."""
    stage = event.name.split(".", 1)[1]
    tables = bridge.panel.tables
    with bridge.panel.connect() as conn:
        found = queries.incidents.network_issues(conn, tables, [event.subject_id])
        if not found:
            return f"network issue {event.subject_id} is gone: nobody told"
        issue = found[0]
        if issue.type != "Server" or issue.server_id is None:
            return f"network issue {issue.id} names no server ({issue.type}): nobody told"
        clients = queries.incidents.clients_on_server(conn, tables, issue.server_id)
    if stage == "resolved":
        told = _notified(bridge, issue.id, "opened")
        clients = [c for c in clients if c.client_id in told]
    already = _notified(bridge, issue.id, stage)
    settings = settings_of(bridge)
    template = settings.whatsapp_templates.get(event.name)
    when = issue.ended_at or issue.last_update or event.occurred_at
    queued, notes = 0, []
    for person in clients:
        texts_by_language, subjects, params = {}, {}, {}
        for language in ("es_AR", "en"):
            facts = {
                "first_name": person.first_name or person.company_name,
                "server": issue.server_name or f"#{issue.server_id}",
                "title": issue.title,
                "services": texts.services_phrase(person.domains, language),
                "status_url": _status_url(bridge),
                "date": texts.when(when),
            }
            subjects[language], texts_by_language[language] = texts.incident_notice(
                stage, language, facts
            )
            last = facts["status_url"] if stage == "opened" else facts["date"]
            params[language] = (facts["first_name"], facts["server"], facts["title"], last)
        notice = Notice(
            event_id=int(event.id or 0),
            client_id=person.client_id,
            key=event.name,
            texts=texts_by_language,
            subjects=subjects,
            template=template,
            params=params,
        )
        result = send_notice(bridge, notice)
        queued += result.new
        notes.extend(result.notes)
        if person.client_id not in already and not bridge.dry_run:
            with bridge.panel.begin() as conn:
                conn.execute(
                    insert(incident_notices).values(
                        issue_id=issue.id,
                        client_id=person.client_id,
                        stage=stage,
                        event_id=int(event.id or 0),
                        created_at=bridge.clock.panel_now(),
                    )
                )
    summary = f"{len(clients)} client(s) on {issue.server_name or issue.server_id}, {queued} queued"
    return "; ".join([summary, *sorted(set(notes))])
