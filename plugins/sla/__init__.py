"""SLA plugin: support plans, a business-hours clock, first-response deadlines, staff warnings
before a breach, incident notices, reports (R-SL-1..7).

- :mod:`.calendar`: business hours and days, holidays (AR by default), exact minute arithmetic;
- :mod:`.settings`: ``[plugins.sla]``; :mod:`.plans`: a client's plan, a ticket's target;
- :mod:`.deadlines`: response rounds and stored clocks; :mod:`.staff`: warnings, breaches and
  staff-only ticket notes (nothing ever goes to the client);
- :mod:`.incidents`: Network Issues -> ``incident.opened``/``incident.resolved`` -> clients on
  the affected server, once each;
- :mod:`.report` and :mod:`.cli`: ``whmcs-bridge sla status|plan|report``;
- :mod:`.staff_tab`: the SLA tab of the staff page in the WHMCS admin area.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from whmcs_bridge.plugin import SKIP, Migration, create_tables, hookimpl

if TYPE_CHECKING:
    import click

    from whmcs_bridge.plugin import Bridge, Check, Event, Skip, StaffTab


@hookimpl
def bridge_load_settings(config: Any) -> object:
    """Fires once at start; parses ``[plugins.sla]`` (ValueError names the key at fault)."""
    from .settings import parse_settings

    return parse_settings(config.plugin_config("sla"))


@hookimpl
def bridge_migrations() -> list[Migration]:
    """The plugin's tables: response clocks, incident notices, its small state."""
    from .tables import clocks, incident_notices, state

    return [
        Migration(
            1, "sla clocks, incident notices, state", create_tables(clocks, incident_notices, state)
        )
    ]


@hookimpl
def bridge_register_commands(cli: click.Group) -> None:
    """Fires at CLI start-up; adds ``whmcs-bridge sla`` (status, plan, report)."""
    from .cli import sla

    cli.add_command(sla)


@hookimpl
def bridge_register_watchers(register: Any, bridge: Bridge) -> None:
    """Fires before intake; follows Network Issues (R-SL-3)."""
    from .incidents import IncidentWatcher

    register(IncidentWatcher())


@hookimpl
def bridge_on_event(bridge: Bridge, event: Event) -> str | Skip:
    """``ticket.opened``: store the first deadline, note channels the plan lacks;
    ``incident.*``: tell the clients on the server. Every other event: SKIP."""
    if event.name == "ticket.opened":
        from .tasks import on_ticket_opened

        return on_ticket_opened(bridge, event)
    if event.name in ("incident.opened", "incident.resolved"):
        from .incidents import tell_clients

        return tell_clients(bridge, event)
    return SKIP


@hookimpl
def bridge_run_tasks(bridge: Bridge) -> str:
    """Each cycle: keep the clocks in step with the panel, warn at 75 %, record breaches."""
    from .tasks import run

    return run(bridge)


@hookimpl
def bridge_doctor_checks(bridge: Bridge) -> list[Check]:
    """Where staff are told, and whether notes can be added (the API)."""
    from whmcs_bridge.plugin import Check

    from .tasks import settings_of

    settings = settings_of(bridge)
    notify = settings.notify.any or any(n.any for n in settings.notify_departments.values())
    return [
        Check(  # not a failure: staff still see the notes on their tickets
            "plugin sla: staff notifications",
            True,
            "configured" if notify else "no [plugins.sla.notify]: warnings only as ticket notes",
        ),
        Check(
            "plugin sla: ticket notes",
            bridge.has_api,
            "AddTicketNote through [api]" if bridge.has_api else "no [api]: no staff notes",
        ),
    ]


@hookimpl
def bridge_staff_tabs(bridge: Bridge, language: str) -> list[StaffTab]:
    """Fires per staff page view; the SLA tab: tickets by deadline, the month's report."""
    from .staff_tab import sla_tab

    return [sla_tab(bridge, language)]
