"""The sandbox panel: a WHMCS API stand-in on loopback, over a panel database.

It answers ``POST /includes/api.php`` like WHMCS (reference ``whmcs.md`` §3): credential and IP
checks first, then the action, run in one transaction over the ``tbl*`` tables (it plays WHMCS, so
it writes them directly) and, where real WHMCS would fire a hook, the inbox row
hooks/whmcs_bridge.php would write. Action handlers live in ``actions_*.py`` by area.

    with SandboxPanel(engine, "ident", "secret") as panel:
        api = WhmcsApi(panel.url, "ident", "secret")
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable
from decimal import Decimal
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sqlalchemy import Engine, create_engine, event

from whmcs_bridge.panel.tables import PanelTables
from whmcs_bridge.sandbox import (  # noqa: F401  (registers the handlers)
    actions_billing,
    actions_cancellations,
    actions_clients,
    actions_contacts,
    actions_services,
    actions_sla,
    actions_tickets,
    actions_transfers,
    actions_upgrades,
)
from whmcs_bridge.sandbox.actions_common import ACTIONS, SINCE_8, ActionError, Context, normalise

__all__ = ["SandboxPanel", "parse_php_form"]

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def parse_php_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild PHP's ``$_POST`` from form pairs: ``a[b]=1`` -> ``{"a": {"b": "1"}}``."""
    result: dict[str, Any] = {}
    for raw_key, value in pairs:
        head, _, rest = raw_key.partition("[")
        keys = [head] + ([k.rstrip("]") for k in ("[" + rest).split("[")[1:]] if rest else [])
        node: Any = result
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if key == "" and isinstance(node, dict):
                key = str(len(node))  # ``a[]=x`` appends
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
                if not isinstance(node, dict):
                    break
    return result


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox panel: " + format, *args)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, bytes):
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class SandboxPanel:
    """A WHMCS API stand-in serving the panel database behind ``engine`` on 127.0.0.1.

    :param allowed_ips: caller IPs let through (WHMCS's API IP Access Restriction).
    :param accesskey: ``$api_access_key``; a request carrying it skips the IP check.
    :param clock: the panel's "now" (naive local time); the system clock when None.
    """

    def __init__(
        self,
        engine: Engine,
        identifier: str,
        secret: str,
        allowed_ips: Iterable[str] = ("127.0.0.1",),
        accesskey: str | None = None,
        *,
        clock: Clock | None = None,
        role_actions: Iterable[str] | None = None,
    ) -> None:
        self._engine = engine
        self._identifier = identifier
        self._secret = secret
        self._accesskey = accesskey
        self.allowed_ips = tuple(allowed_ips)
        self.clock: Clock = clock or (lambda: dt.datetime.now().replace(microsecond=0))
        #: The API role of the credentials (whmcs.md §3.1): the actions it allows; None = all.
        self.role_actions = None if role_actions is None else {normalise(a) for a in role_actions}
        #: SendEmail answers "Sending Failed" this many times (PHPMailer/SMTP failures).
        self.mail_failures = 0
        self.sent_emails: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self._lock = threading.Lock()
        self._own_engine: Engine | None = None
        self._tables: PanelTables | None = None
        self._server: _ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"SandboxPanel(url={self.url if self._server else None!r})"

    @property
    def engine(self) -> Engine:
        """The engine the actions write through (its own, non-strict, on MySQL/MariaDB)."""
        if self._engine.dialect.name not in ("mysql", "mariadb"):
            return self._engine
        if self._own_engine is None:
            own = create_engine(self._engine.url, pool_pre_ping=True)

            # WHMCS's own session is non-strict (reference §1.0); ours must be too.
            @event.listens_for(own, "connect")
            def _relax(dbapi_conn: Any, _record: Any) -> None:
                with dbapi_conn.cursor() as cursor:
                    cursor.execute("SET SESSION sql_mode=''")

            self._own_engine = own
        return self._own_engine

    @property
    def tables(self) -> PanelTables:
        """The panel tables as this database has them (read once)."""
        if self._tables is None:
            self._tables = PanelTables.from_database(self.engine)
        return self._tables

    @property
    def url(self) -> str:
        """The system URL to give :class:`~whmcs_bridge.panel.api.WhmcsApi`."""
        if self._server is None:
            raise RuntimeError("the sandbox panel is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> SandboxPanel:
        """Serve on a free loopback port in a background thread."""
        if self._server is None:
            _ = self.tables
            self._server = make_server(
                "127.0.0.1",
                0,
                self.wsgi,
                server_class=_ThreadingWSGIServer,
                handler_class=_QuietHandler,
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="sandbox-panel", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the database connections the sandbox opened."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._own_engine is not None:
            self._own_engine.dispose()
            self._own_engine = None

    def __enter__(self) -> SandboxPanel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the WSGI app --------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """The WSGI application: ``POST /includes/api.php`` only."""
        if environ.get("PATH_INFO", "") != "/includes/api.php":
            return self._send(start_response, 404, {"result": "error", "message": "Not Found"})
        if environ.get("REQUEST_METHOD") != "POST":
            return self._send(
                start_response, 405, {"result": "error", "message": "Method Not Allowed"}
            )
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size).decode("utf-8", "replace") if size else ""
        params = parse_php_form(parse_qsl(body, keep_blank_values=True))
        try:
            self._check_caller(str(environ.get("REMOTE_ADDR", "")), params)
            status, answer = 200, self.dispatch(params)
        except ActionError as exc:
            status, answer = exc.status, {"result": "error", "message": exc.message}
        return self._send(start_response, status, answer)

    @staticmethod
    def _send(start_response: Callable[..., Any], status: int, data: Any) -> list[bytes]:
        payload = json.dumps(data, default=_json_default).encode()
        reason = {200: "OK", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}
        start_response(
            f"{status} {reason.get(status, 'Error')}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _check_caller(self, ip: str, params: dict[str, Any]) -> None:
        """Reference §3.1: the IP allow-list (or a valid access key), then the credentials."""
        sent_key = params.get("accesskey")
        if ip not in self.allowed_ips:
            if not sent_key:
                raise ActionError(f"Invalid IP {ip}", 403)
            if not self._accesskey or not hmac.compare_digest(str(sent_key), self._accesskey):
                raise ActionError("Invalid Access Key", 403)
        identifier = str(params.get("identifier") or params.get("username") or "")
        secret = str(params.get("secret") or params.get("password") or "")
        good_id = hmac.compare_digest(identifier.encode(), self._identifier.encode())
        good_secret = hmac.compare_digest(secret.encode(), self._secret.encode())
        if not (good_id and good_secret):
            raise ActionError("Authentication Failed", 403)

    def dispatch(self, params: dict[str, Any]) -> dict[str, Any]:
        """Run one action (credentials already checked) in a transaction; return the answer."""
        name = normalise(str(params.get("action", "")))
        handler = ACTIONS.get(name)
        if handler is None:
            # whmcs.md §0.1: what API credentials get for an action WHMCS does not have.
            action = str(params.get("action", ""))
            raise ActionError(f'Invalid API Action: "{action}" is not a valid API action', 403)
        if name in SINCE_8 and "tblusers" not in self.tables:
            raise ActionError("Command Not Found")  # 7.x, as the contacts tests saw it
        if self.role_actions is not None and name not in self.role_actions:
            # whmcs.md §0.1: what API credentials get for an action their role does not allow.
            raise ActionError(f'Invalid Permissions: API action "{name}" is not allowed', 403)
        with self._lock:
            self.calls.append(str(params.get("action")))
        with self.engine.begin() as conn:
            ctx = Context(
                panel=self, conn=conn, tables=self.tables, params=params, now=self.clock()
            )
            answer = handler(ctx)
        return {"result": "success", **answer}

    def take_mail_failure(self) -> bool:
        """True when this SendEmail is to fail like an SMTP error (see :attr:`mail_failures`)."""
        with self._lock:
            if self.mail_failures <= 0:
                return False
            self.mail_failures -= 1
            return True

    def record_email(self, mail: dict[str, Any]) -> None:
        """Keep a sent mail in :attr:`sent_emails` (thread-safe)."""
        with self._lock:
            self.sent_emails.append(mail)
