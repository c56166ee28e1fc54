"""The one module a plugin imports: everything a plugin may use of the bridge.

A plugin writes ``from whmcs_bridge.plugin import hookimpl, Bridge, Event, SKIP, ...`` and
nothing else of ``whmcs_bridge``; the built-in plugins are held to that by a test. What is here
is the plugin API: it changes only with a note in the README. See ``docs/plugins.md``.

- hooks: :data:`hookimpl`, :data:`SKIP`, and the types hooks receive and return (:class:`Bridge`,
  :class:`Event`, :class:`Check`, :class:`Recipient`, :class:`UpgradePrice`, :class:`Watcher`);
- reading the panel: :mod:`queries`, one function per question on both WHMCS models, each taking
  a connection and ``bridge.panel.tables``; a question it does not answer is added there, never
  asked with SQL in a plugin (``tests/test_plugin_boundaries.py`` holds the built-ins to it);
- writing: ``bridge.api`` (the WHMCS API) and ``bridge.outbox`` (messages), with their errors;
  :func:`send_notice` tells a client through WhatsApp or e-mail; ``bridge.emit`` stores an event;
- owning tables: :class:`Migration`, :func:`create_tables`, :data:`metadata`, :data:`PREFIX`,
  :data:`Id`, and :class:`TableGrant` for the rare right beyond ``SELECT``;
- channels (to add one): :class:`Channel`, :class:`OutgoingMessage`, :class:`SendResult`,
  :class:`SendError`;
- the staff page in the WHMCS admin area: :class:`StaffTab` and its rows and actions;
- the CLI and ``serve``: :data:`pass_state`, :data:`json_option`, :func:`emit_json`,
  :class:`Request`, :func:`json_response`, :func:`signature_problem`;
- money, dates and phones: :class:`Currency`, :func:`round_money`, :func:`parse_panel_date`,
  :func:`normalise_phone`, :class:`Secret`.
"""

from __future__ import annotations

from whmcs_bridge import __version__, hookimpl
from whmcs_bridge.bridge import Bridge
from whmcs_bridge.channels.base import Channel, OutgoingMessage, SendError, SendResult
from whmcs_bridge.channels.whatsapp import build_template_body, sanitize_param
from whmcs_bridge.cli.context import CliState, emit_json, json_option, pass_state
from whmcs_bridge.clock import Clock
from whmcs_bridge.config import BridgeConfig
from whmcs_bridge.doctor import Check
from whmcs_bridge.errors import BridgeError, ConfigError
from whmcs_bridge.events.catalog import ALERT_EVENTS, CATALOG, EventSpec, spec
from whmcs_bridge.events.model import SKIP, Event, Skip, event_key
from whmcs_bridge.events.store import record_events
from whmcs_bridge.intake.watcher import WatchContext, Watcher
from whmcs_bridge.notices import (
    DEFAULT_LANGUAGE,
    Notice,
    NoticeResult,
    send_notice,
    text_language,
)
from whmcs_bridge.panel import queries
from whmcs_bridge.panel.api import (
    ApiError,
    ApiNotFound,
    ApiOutcomeUnknown,
    ApiTransportError,
    ApiValidationError,
)
from whmcs_bridge.panel.database import LOGIN_SUBACCOUNTS, LOGIN_USERS, Panel
from whmcs_bridge.panel.money import ZERO_DECIMAL_CODES, Currency, format_money, round_money
from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.panel.types import parse_money, parse_panel_date, parse_panel_datetime
from whmcs_bridge.phones import PhoneResult, normalise_phone
from whmcs_bridge.recipient import Recipient
from whmcs_bridge.secrets import Secret
from whmcs_bridge.serve.app import Request, Response, json_response, signature_problem
from whmcs_bridge.staff import (
    StaffAction,
    StaffActionResult,
    StaffAdmin,
    StaffRow,
    StaffSection,
    StaffTab,
    fingerprint,
    is_english,
    log_staff_action,
)
from whmcs_bridge.store.grants import TableGrant
from whmcs_bridge.store.migrate import Migration, create_tables
from whmcs_bridge.store.tables import PREFIX, Id, LongText, metadata
from whmcs_bridge.verdicts import UpgradePrice

__all__ = [
    "ALERT_EVENTS",
    "CATALOG",
    "DEFAULT_LANGUAGE",
    "LOGIN_SUBACCOUNTS",
    "LOGIN_USERS",
    "PREFIX",
    "SKIP",
    "ZERO_DECIMAL_CODES",
    "ApiError",
    "ApiNotFound",
    "ApiOutcomeUnknown",
    "ApiTransportError",
    "ApiValidationError",
    "Bridge",
    "BridgeConfig",
    "BridgeError",
    "Channel",
    "Check",
    "CliState",
    "Clock",
    "ConfigError",
    "Currency",
    "Event",
    "EventSpec",
    "Id",
    "LongText",
    "Migration",
    "Notice",
    "NoticeResult",
    "OutgoingMessage",
    "Panel",
    "PanelTables",
    "PhoneResult",
    "Recipient",
    "Request",
    "Response",
    "Secret",
    "SendError",
    "SendResult",
    "Skip",
    "StaffAction",
    "StaffActionResult",
    "StaffAdmin",
    "StaffRow",
    "StaffSection",
    "StaffTab",
    "TableGrant",
    "UpgradePrice",
    "WatchContext",
    "Watcher",
    "__version__",
    "build_template_body",
    "create_tables",
    "emit_json",
    "event_key",
    "fingerprint",
    "format_money",
    "hookimpl",
    "is_english",
    "json_option",
    "json_response",
    "log_staff_action",
    "metadata",
    "normalise_phone",
    "parse_money",
    "parse_panel_date",
    "parse_panel_datetime",
    "pass_state",
    "queries",
    "record_events",
    "round_money",
    "sanitize_param",
    "send_notice",
    "signature_problem",
    "spec",
    "text_language",
]
