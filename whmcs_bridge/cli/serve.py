"""``serve``: a small service on a production WSGI server (waitress)."""

from __future__ import annotations

import click

from whmcs_bridge.cli.context import CliState, pass_state


@click.command()
@click.option("--host", help="Address to bind (default [serve] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default [serve] port, 8742).")
@pass_state
def serve(state: CliState, host: str | None, port: int | None) -> None:
    """Run cycles on wake-up pings from the hook file and every [serve] interval seconds."""
    from whmcs_bridge.serve.app import BridgeApp
    from whmcs_bridge.serve.runner import CycleRunner, listen

    bridge = state.bridge()
    settings = bridge.config.serve
    runner = CycleRunner(bridge, float(settings["interval"]))
    app = BridgeApp(bridge, wake=runner.wake, health=runner.health)
    bind_host, bind_port = host or settings["host"], port or settings["port"]
    if not settings.get("wake_secret"):
        click.echo(
            "note: [serve] wake_secret is not set; POST /wake will refuse every ping", err=True
        )
    # Bound before the first cycle: a port in use or a bad host stops here (exit 2), no work done.
    server = listen(
        app,
        bind_host,
        bind_port,
        settings["threads"],
        config_path=bridge.config.path,
        flags={name for name, value in (("host", host), ("port", port)) if value},
    )
    runner.start()
    click.echo(f"serving on http://{bind_host}:{bind_port} (cycle every {settings['interval']} s)")
    try:
        server.run()
    finally:
        runner.stop()
