"""The ``[plugins.sla]`` config section, read and checked once at start (``bridge_load_settings``).

Every key is optional: with no section at all the plugin runs R-SL-1 (10:00-17:00 UTC-3, Monday
to Friday, Argentina's holidays), every client on ``standard`` and every department SLA 1::

    [plugins.sla]
    timezone = "-03:00"                 # a UTC offset or an IANA name
    business_hours = "10:00-17:00"
    business_days = ["mon", "tue", "wed", "thu", "fri"]
    holidays_country = "AR"             # "" for none
    extra_holidays = ["2026-12-24"]     # company days off, YYYY-MM-DD
    default_plan = "standard"
    warn_at = 0.75                      # share of the target elapsed before staff are warned
    reopen_starts_new_clock = true      # a client's reply after staff answered: a new clock
    p1_priority = "High"                # WHMCS priority that, in a critical department, is P1
    critical_departments = ["Urgencias"]
    p1_minutes = 30                     # R-SL-6: a full client's P1
    p1_clock = "24x7"
    sla4_minutes = 120                  # R-SL-5: first analysis of SLA 4

    [plugins.sla.plans.full]            # override a plan: target, clock, channels
    target_minutes = 15
    clock = "business"                  # or "24x7"

    [plugins.sla.products]              # product id or name -> plan (also addons, client_groups)
    "Soporte Full" = "full"
    [plugins.sla.addons]
    "Soporte Premium" = "premium"
    [plugins.sla.client_groups]
    "Corporativos" = "professional"

    [plugins.sla.departments]           # department id or name -> SLA kind 1-4
    "Mantenimiento" = 2

    [plugins.sla.notify]                # staff only: never the client
    telegram_chat = "-1001234567890"
    email = true                        # SendAdminEmail to the ticket's department
    whatsapp = "+5491122334455"         # the on-call person
    whatsapp_template = "sla_aviso"     # body: stage, ticket number, deadline
    [plugins.sla.notify.departments."Desarrollo web"]
    telegram_chat = "-100999"

    [plugins.sla.whatsapp_templates]    # incident notices to clients; without one: e-mail
    "incident.opened" = "incidente_servidor"    # params: name, server, title, status page
    "incident.resolved" = "incidente_resuelto"  # params: name, server, title, date
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from .calendar import (
    DEFAULT_COUNTRY,
    WEEKDAYS,
    BusinessCalendar,
    Clock,
    RoundTheClock,
    build_calendar,
    parse_timezone,
)
from .catalog import ALIASES, CLOCKS, KINDS, PLANS, Plan, default_plans

SECTION = "plugins.sla"
KEYS = {
    "timezone",
    "business_hours",
    "business_days",
    "holidays_country",
    "extra_holidays",
    "default_plan",
    "warn_at",
    "reopen_starts_new_clock",
    "p1_priority",
    "critical_departments",
    "p1_minutes",
    "p1_clock",
    "sla4_minutes",
    "plans",
    "products",
    "addons",
    "client_groups",
    "departments",
    "notify",
    "whatsapp_templates",
}
NOTIFY_KEYS = {"telegram_chat", "email", "whatsapp", "whatsapp_template"}


@dataclass(frozen=True)
class StaffNotify:
    """Where staff are told of a warning or a breach."""

    telegram_chat: str = ""
    email: bool = False
    whatsapp: str = ""
    #: An approved template for the on-call WhatsApp (body: stage, ticket number, deadline):
    #: WhatsApp refuses free text outside a conversation the person opened in the last 24 h.
    whatsapp_template: str = ""

    @property
    def any(self) -> bool:
        return bool(self.telegram_chat or self.email or self.whatsapp)


@dataclass(frozen=True)
class SlaSettings:
    calendar: BusinessCalendar = field(default_factory=build_calendar)
    plans: dict[str, Plan] = field(default_factory=dict)
    default_plan: str = "standard"
    warn_at: float = 0.75
    reopen_starts_new_clock: bool = True
    p1_priority: str = "High"
    critical_departments: frozenset[str] = frozenset()
    p1_minutes: int = 30
    p1_clock: str = "24x7"
    sla4_minutes: int = 120
    products: dict[str, str] = field(default_factory=dict)
    addons: dict[str, str] = field(default_factory=dict)
    client_groups: dict[str, str] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)
    notify: StaffNotify = field(default_factory=StaffNotify)
    notify_departments: dict[str, StaffNotify] = field(default_factory=dict)
    #: Approved WhatsApp templates for incident notices, by event; without one, e-mail only.
    whatsapp_templates: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.plans:
            object.__setattr__(self, "plans", default_plans())

    def clock(self, name: str) -> Clock:
        return RoundTheClock() if name == "24x7" else self.calendar

    def plan(self, name: str) -> Plan:
        return self.plans[name]

    def kind_of(self, department_id: int, department_name: str) -> int:
        """The SLA kind of a department, by id then name; 1 when the config does not name it."""
        by_id = self.departments.get(str(department_id))
        if by_id is not None:
            return by_id
        return self.departments.get(department_name.strip().lower(), 1)

    def is_critical(self, department_id: int, department_name: str) -> bool:
        names = self.critical_departments
        return str(department_id) in names or department_name.strip().lower() in names

    def staff_for(self, department_id: int, department_name: str) -> StaffNotify:
        """The department's own notify table, else the global one."""
        found = self.notify_departments.get(str(department_id))
        if found is None:
            found = self.notify_departments.get(department_name.strip().lower())
        return found or self.notify


def _fail(key: str, message: str) -> ValueError:
    return ValueError(f"{SECTION}.{key}: {message}")


def plan_name(value: object, key: str) -> str:
    """A plan name or alias, normalised; ValueError naming ``key`` otherwise."""
    if isinstance(value, str):
        name = value.strip().lower()
        name = ALIASES.get(name, name)
        if name in PLANS:
            return name
    raise _fail(key, f"expected one of {', '.join(PLANS)} (or premium), got {value!r}")


def _table(section: dict[str, Any], key: str) -> dict[str, Any]:
    value = section.get(key, {})
    if not isinstance(value, dict):
        raise _fail(key, "expected a table")
    return value


def _hours(value: object) -> tuple[time, time]:
    if isinstance(value, str) and value.count("-") == 1:
        first, second = (part.strip() for part in value.split("-"))
        try:
            opens, closes = time.fromisoformat(first), time.fromisoformat(second)
        except ValueError:
            pass
        else:
            if opens < closes:
                return opens, closes
    raise _fail("business_hours", f"expected 'HH:MM-HH:MM', opening before closing, got {value!r}")


def _days(value: object) -> frozenset[int]:
    if isinstance(value, list) and value:
        found = set()
        for item in value:
            name = str(item).strip().lower()[:3]
            if name not in WEEKDAYS:
                break
            found.add(WEEKDAYS.index(name))
        else:
            return frozenset(found)
    raise _fail("business_days", f"expected a list such as ['mon', 'fri'], got {value!r}")


def _dates(value: object) -> frozenset[date]:
    if not isinstance(value, list):
        raise _fail("extra_holidays", "expected a list of dates 'YYYY-MM-DD'")
    found = set()
    for item in value:
        if isinstance(item, date):
            found.add(item)
            continue
        try:
            found.add(date.fromisoformat(str(item)))
        except ValueError:
            raise _fail("extra_holidays", f"not a date 'YYYY-MM-DD': {item!r}") from None
    return frozenset(found)


def _minutes(section: dict[str, Any], key: str, default: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _fail(key, f"expected a whole number of minutes above 0, got {value!r}")
    return value


def _clock(section: dict[str, Any], key: str, default: str, where: str | None = None) -> str:
    value = section.get(key, default)
    if value not in CLOCKS:
        raise _fail(where or key, f"expected 'business' or '24x7', got {value!r}")
    return str(value)


def _flag(section: dict[str, Any], key: str, default: bool) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise _fail(key, f"expected true or false, got {value!r}")
    return value


def _plans(section: dict[str, Any]) -> dict[str, Plan]:
    plans = default_plans()
    for raw_name, raw in _table(section, "plans").items():
        name = plan_name(raw_name, f"plans.{raw_name}")
        where = f"plans.{raw_name}"
        if not isinstance(raw, dict):
            raise _fail(where, "expected a table (target_minutes, clock, channels)")
        unknown = set(raw) - {"target_minutes", "clock", "channels"}
        if unknown:
            raise _fail(f"{where}.{sorted(unknown)[0]}", "unknown key")
        base = plans[name]
        target = _minutes(raw, "target_minutes", base.target_minutes)
        clock = _clock(raw, "clock", base.clock, f"{where}.clock")
        channels = raw.get("channels", list(base.channels))
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise _fail(f"{where}.channels", "expected a list of channel names")
        plans[name] = Plan(name, target, clock, tuple(c.strip().lower() for c in channels))
    return plans


def _assign(section: dict[str, Any], key: str) -> dict[str, str]:
    return {
        str(name).strip().lower(): plan_name(value, f"{key}.{name}")
        for name, value in _table(section, key).items()
    }


def _departments(section: dict[str, Any]) -> dict[str, int]:
    found = {}
    for name, value in _table(section, "departments").items():
        if isinstance(value, bool) or value not in KINDS:
            raise _fail(f"departments.{name}", f"expected an SLA kind 1 to 4, got {value!r}")
        found[str(name).strip().lower()] = int(value)
    return found


def _notify(raw: dict[str, Any], where: str) -> StaffNotify:
    unknown = set(raw) - NOTIFY_KEYS - ({"departments"} if where == "notify" else set())
    if unknown:
        raise _fail(f"{where}.{sorted(unknown)[0]}", f"unknown key; expected {sorted(NOTIFY_KEYS)}")
    for key in ("telegram_chat", "whatsapp", "whatsapp_template"):
        value = raw.get(key, "")
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise _fail(f"{where}.{key}", f"expected text, got {value!r}")
    email = raw.get("email", False)
    if not isinstance(email, bool):
        raise _fail(f"{where}.email", f"expected true or false, got {email!r}")
    return StaffNotify(
        str(raw.get("telegram_chat", "")).strip(),
        email,
        str(raw.get("whatsapp", "")).strip(),
        str(raw.get("whatsapp_template", "")).strip(),
    )


def _templates(section: dict[str, Any]) -> dict[str, str]:
    found = {}
    for name, value in _table(section, "whatsapp_templates").items():
        if name not in ("incident.opened", "incident.resolved"):
            raise _fail(
                f"whatsapp_templates.{name}", "expected incident.opened or incident.resolved"
            )
        if not isinstance(value, str) or not value.strip():
            raise _fail(f"whatsapp_templates.{name}", "expected an approved template's name")
        found[name] = value.strip()
    return found


def parse_settings(section: dict[str, Any]) -> SlaSettings:
    """Read the section; raises ValueError whose text starts with the dotted key at fault."""
    for key in sorted(set(section) - KEYS):
        raise _fail(key, f"unknown key; expected one of {', '.join(sorted(KEYS))}")
    opens, closes = _hours(section.get("business_hours", "10:00-17:00"))
    days = _days(section.get("business_days", ["mon", "tue", "wed", "thu", "fri"]))
    try:
        tz = parse_timezone(str(section.get("timezone", "-03:00")))
    except ValueError as exc:
        raise _fail("timezone", str(exc)) from None
    country = section.get("holidays_country", DEFAULT_COUNTRY)
    if not isinstance(country, str):
        raise _fail("holidays_country", f"expected a country code such as 'AR', got {country!r}")
    if country.strip():
        import holidays

        if country.strip().upper() not in holidays.list_supported_countries():
            raise _fail("holidays_country", f"no public holidays known for {country!r}")
    calendar = build_calendar(
        opens, closes, days, tz, country, _dates(section.get("extra_holidays", []))
    )
    warn_at = section.get("warn_at", 0.75)
    if isinstance(warn_at, bool) or not isinstance(warn_at, int | float) or not 0 < warn_at < 1:
        raise _fail("warn_at", f"expected a share between 0 and 1 (0.75), got {warn_at!r}")
    critical = section.get("critical_departments", [])
    if not isinstance(critical, list):
        raise _fail("critical_departments", "expected a list of department ids or names")
    priority = section.get("p1_priority", "High")
    if priority not in ("Low", "Medium", "High"):
        raise _fail("p1_priority", f"expected Low, Medium or High, got {priority!r}")
    notify_raw = _table(section, "notify")
    notify_departments = {}
    for name, raw in _table(notify_raw, "departments").items():
        if not isinstance(raw, dict):
            raise _fail(f"notify.departments.{name}", "expected a table")
        notify_departments[str(name).strip().lower()] = _notify(raw, f"notify.departments.{name}")
    return SlaSettings(
        calendar=calendar,
        plans=_plans(section),
        default_plan=plan_name(section.get("default_plan", "standard"), "default_plan"),
        warn_at=float(warn_at),
        reopen_starts_new_clock=_flag(section, "reopen_starts_new_clock", True),
        p1_priority=str(priority),
        critical_departments=frozenset(str(c).strip().lower() for c in critical),
        p1_minutes=_minutes(section, "p1_minutes", 30),
        p1_clock=_clock(section, "p1_clock", "24x7"),
        sla4_minutes=_minutes(section, "sla4_minutes", 120),
        products=_assign(section, "products"),
        addons=_assign(section, "addons"),
        client_groups=_assign(section, "client_groups"),
        departments=_departments(section),
        notify=_notify(notify_raw, "notify"),
        notify_departments=notify_departments,
        whatsapp_templates=_templates(section),
    )
