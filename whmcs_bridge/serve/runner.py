"""Runs cycles for ``serve``: on a wake-up ping (soon) or every ``interval`` seconds anyway."""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from typing import Any

from whmcs_bridge.bridge import Bridge
from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.errors import BridgeError, ConfigError, LockHeld

log = logging.getLogger(__name__)


class CycleRunner:
    """A background thread that runs one cycle at a time; wake-ups coalesce."""

    def __init__(self, bridge: Bridge, interval: float) -> None:
        self.bridge = bridge
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="whmcs-bridge-cycles", daemon=True)
        self.cycles = 0
        self.last_ok: bool | None = None
        self.last_error = ""
        self.last_finished = 0.0

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Ask for a cycle soon; several pings before it starts give one cycle."""
        self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` answers: not ok (503) after a failed or overdue cycle, or while a
        channel is stopped (a dead token, a refused login) or paused by the provider."""
        age = time.time() - self.last_finished if self.last_finished else None
        stale = age is None or age > 3 * self.interval + 60
        stopped = self._stopped_channels()
        return {
            "ok": self.last_ok is not False and not (self.cycles and stale) and not stopped,
            "cycles": self.cycles,
            "last_ok": self.last_ok,
            "last_error": self.last_error,
            "seconds_since_last_cycle": round(age, 1) if age is not None else None,
            "stopped_channels": stopped,
        }

    def _stopped_channels(self) -> dict[str, str]:
        """Channels that send nothing until an admin acts (broken) or for a long while (paused),
        with why; a short throttle is not a fault."""
        from whmcs_bridge.outbox.service import describe_block
        from whmcs_bridge.outbox.store import channel_blocks

        box = self.bridge.outbox
        try:
            with self.bridge.panel.connect() as conn:
                blocks = channel_blocks(conn, box.now())
        except Exception as exc:  # no tables yet, the database away: the cycle reports that
            log.debug("health: cannot read the channels' state: %s", exc)
            return {}
        return {
            name: describe_block(block)
            for name, block in sorted(blocks.items())
            if block["state"] in ("broken", "paused")
        }

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._run_once()
            self._wake.wait(self.interval)
            self._wake.clear()

    def _run_once(self) -> None:
        try:
            report = run_cycle(self.bridge)
        except LockHeld:
            log.info("another process holds the cycle lock; skipping")
            return
        except BridgeError as exc:
            self.last_ok, self.last_error = False, str(exc)
            log.error("cycle failed: %s", exc)
        except Exception as exc:
            self.last_ok, self.last_error = False, f"{type(exc).__name__}: {exc}"
            log.exception("cycle crashed")
        else:
            self.last_ok = report.ok
            self.last_error = "; ".join(report.errors)[:500]
        self.cycles += 1
        self.last_finished = time.time()


def listen(
    app: Any, host: str, port: int, threads: int, *, config_path: str | None, flags: set[str]
) -> Any:
    """Bind the HTTP server (waitress) before any cycle runs; its ``run()`` serves.

    A port in use, a host that does not resolve or is not this machine's: exit 2 with one line
    naming the key (``serve.host`` / ``serve.port``, or the ``--host`` / ``--port`` flag).
    """
    from waitress.server import create_server

    def fail(key: str, message: str) -> ConfigError:
        if key in flags:  # given on the command line, not in the file
            return ConfigError(message, key=f"--{key}")
        return ConfigError(message, path=config_path, key=f"serve.{key}")

    try:
        return create_server(app, host=host, port=port, threads=threads, ident="whmcs-bridge")
    except socket.gaierror as exc:
        raise fail("host", f"cannot resolve {host!r}: {exc.strerror}") from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise fail("port", f"port {port} on {host} is in use (another serve?)") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise fail("host", f"{host} is not an address of this machine") from None
        raise fail("port", f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except ValueError as exc:  # waitress: "Invalid host/port specified"
        raise fail("host", f"cannot listen on {host}:{port}: {exc}") from None
