"""The staff API of ``serve``: what the staff page in the WHMCS admin area shows and does.

``POST /staff/tabs`` answers every tab the core and the plugins offer; ``POST /staff/action``
carries out one button. Both are signed like ``/wake`` (the addon module shares the hook file's
secret) and answer only on loopback or a private network: the page runs on the panel's host.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from whmcs_bridge.serve.app import Request, Response, json_response, signature_problem
from whmcs_bridge.staff import ORDER, StaffActionResult, StaffAdmin

if TYPE_CHECKING:
    from whmcs_bridge.bridge import Bridge

log = logging.getLogger(__name__)

Route = tuple[str, str, Callable[["Bridge", Request], Response]]


def _private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private


def _read(bridge: Bridge, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
    """The request's JSON body once it is from a private address and signed; else the answer."""
    if not _private(request.remote_addr):
        log.warning("staff API refused for %s: not a private address", request.remote_addr)
        return None, json_response(403, {"error": "the staff API answers on private networks only"})
    reason = signature_problem(bridge, request)
    if reason:
        return None, json_response(401, {"error": reason})
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        return None, json_response(400, {"error": "the body is not JSON"})
    if not isinstance(body, dict):
        return None, json_response(400, {"error": "expected a JSON object"})
    return body, None


def _admin(body: dict[str, Any]) -> StaffAdmin | None:
    admin = body.get("admin")
    if not isinstance(admin, dict):
        return None
    admin_id, name = admin.get("id"), admin.get("name")
    if not isinstance(admin_id, int) or isinstance(admin_id, bool) or admin_id < 1:
        return None
    if not isinstance(name, str) or not name.strip():
        return None
    return StaffAdmin(admin_id, name.strip()[:100])


def staff_routes(health: Callable[[], dict[str, Any]]) -> list[Route]:
    """The two routes, bound to ``serve``'s health (the home tab shows the last cycle)."""

    def tabs(bridge: Bridge, request: Request) -> Response:
        body, refused = _read(bridge, request)
        if body is None:
            return refused  # type: ignore[return-value]
        language = "en" if str(body.get("language", "es")).lower().startswith("en") else "es"
        found, errors = [], []
        for result in bridge.plugins.call_each(
            "bridge_staff_tabs", bridge=bridge, language=language
        ):
            if result.ok:
                found.extend(tab.as_dict() for tab in result.value or ())
            else:
                log.error("plugin %s: staff tabs failed: %s", result.plugin, result.error)
                errors.append(f"{result.plugin}: {result.error}")
        found.sort(key=lambda tab: (ORDER.get(tab["key"], tab["order"]), tab["key"]))
        return json_response(200, {"ok": True, "health": health(), "tabs": found, "errors": errors})

    def action(bridge: Bridge, request: Request) -> Response:
        body, refused = _read(bridge, request)
        if body is None:
            return refused  # type: ignore[return-value]
        name, params = body.get("action"), body.get("params", {})
        admin = _admin(body)
        if not isinstance(name, str) or "." not in name or not isinstance(params, dict):
            return json_response(400, {"error": "expected action '<plugin>.<verb>' and params"})
        if admin is None:
            return json_response(400, {"error": "expected admin {id, name}: who pressed it"})
        version = str(body.get("version", ""))
        try:
            result: StaffActionResult | None = bridge.hook.bridge_staff_action(
                bridge=bridge, name=name, params=params, version=version, admin=admin
            )
        except Exception as exc:
            log.exception("staff action %s failed", name)
            text = " ".join(f"{type(exc).__name__}: {exc}".split())
            return json_response(500, {"ok": False, "message": f"the action failed: {text}"})
        if result is None:
            return json_response(404, {"ok": False, "message": f"no plugin answers {name}"})
        log.info("staff action %s by %s: %s", name, admin.label, result.message)
        return json_response(result.status, {"ok": result.ok, "message": result.message})

    return [("POST", "/staff/tabs", tabs), ("POST", "/staff/action", action)]
