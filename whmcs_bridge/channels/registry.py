"""The core channel plugin: offers the configured channels, the status webhook and their checks.

Always registered (``CORE_PLUGINS``). Channels are configured in their own sections:
``[channels.whatsapp]`` (api_base, version, phone_number_id, token, app_secret, verify_token,
timeout) and ``[channels.telegram]`` (api_base, token, timeout). ``email`` is offered when the
bridge has an ``[api]``; ``console`` always.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from whmcs_bridge import hookimpl
from whmcs_bridge.doctor import Check

from . import webhook
from .console import ConsoleChannel
from .email import EmailChannel

if TYPE_CHECKING:
    from whmcs_bridge.bridge import Bridge

log = logging.getLogger(__name__)

GRAPH_API = "https://graph.facebook.com"
GRAPH_VERSION = "v23.0"
TELEGRAM_API = "https://api.telegram.org"


def _table(bridge: Bridge, name: str) -> dict[str, Any]:
    return bridge.config.channels.get(name, {})


@hookimpl
def bridge_register_channels(register: Any, bridge: Bridge) -> None:
    """Offer whatsapp and telegram when configured, email with an API, console always."""
    wa = _table(bridge, "whatsapp")
    if wa.get("token") and wa.get("phone_number_id"):
        from .whatsapp import WhatsAppChannel

        register(
            WhatsAppChannel(
                api_base=str(wa.get("api_base", GRAPH_API)),
                version=str(wa.get("version", GRAPH_VERSION)),
                phone_number_id=str(wa["phone_number_id"]),
                token=wa["token"],
                timeout=float(wa.get("timeout", 10)),
            )
        )
    tg = _table(bridge, "telegram")
    if tg.get("token"):
        from .telegram import TelegramChannel

        register(
            TelegramChannel(
                api_base=str(tg.get("api_base", TELEGRAM_API)),
                token=tg["token"],
                timeout=float(tg.get("timeout", 10)),
            )
        )
    if bridge.has_api:
        register(EmailChannel(bridge))
    register(ConsoleChannel())


@hookimpl
def bridge_register_routes(register: Any) -> None:
    """The WhatsApp status webhook: ``GET``/``POST /webhooks/whatsapp``."""
    register("GET", "/webhooks/whatsapp", webhook.verify_subscription)
    register("POST", "/webhooks/whatsapp", webhook.receive_status)


@hookimpl
def bridge_doctor_checks(bridge: Bridge) -> list[Check]:
    """One line per channel: its own check, and FAIL while it is stopped (190) or paused."""
    box = bridge.outbox
    try:
        health = box.channel_health()
    except Exception as exc:
        return [Check("channels", False, f"cannot read the channel states: {exc}")]
    checks = []
    for name, channel in sorted(box.channels.items()):
        try:
            problem = channel.check()
        except Exception as exc:
            problem = f"check failed: {type(exc).__name__}"
        stopped = health.get(name)
        if stopped and stopped.startswith("throttled") and problem is None:
            checks.append(Check(f"channel {name}", True, f"ready, {stopped}"))
        elif stopped:
            after = (
                f"; it answers again: run `whmcs-bridge outbox resume {name}`"
                if problem is None
                else f"; still failing: {problem}"
            )
            checks.append(Check(f"channel {name}", False, stopped + after))
        elif problem:
            checks.append(Check(f"channel {name}", False, problem))
        else:
            checks.append(Check(f"channel {name}", True, "ready"))
    return checks
