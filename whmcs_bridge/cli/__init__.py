"""The ``whmcs-bridge`` command: one click group, subcommands in small modules.

Exit codes: 0 ok, 1 a check or the run failed, 2 bad usage or config. Expected errors print one
clear line, never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

import click
from sqlalchemy.exc import DBAPIError

from whmcs_bridge import __version__
from whmcs_bridge.cli.context import CliState
from whmcs_bridge.errors import BridgeError


@click.group()
@click.version_option(__version__, prog_name="whmcs-bridge")
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    envvar="WHMCS_BRIDGE_CONFIG",
    help="Config file (or set WHMCS_BRIDGE_CONFIG).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """whmcs-bridge: the company's rules, alerts and events beside a WHMCS panel."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = CliState(config_path)
    ctx.call_on_close(ctx.obj.close)


def _register_builtin_commands() -> None:
    from whmcs_bridge.cli import core, demo, events, serve

    for command in (*core.COMMANDS, *events.COMMANDS, demo.demo, serve.serve):
        cli.add_command(command)
    cli.add_command(importlib.import_module("whmcs_bridge.outbox.cli").outbox_group)


def _register_plugin_commands(argv: list[str]) -> None:
    """Enabled plugins add their commands before the command line is parsed."""
    path = None
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            path = argv[i + 1]
        elif arg.startswith("--config="):
            path = arg.split("=", 1)[1]
    path = path or os.environ.get("WHMCS_BRIDGE_CONFIG")
    if not path:
        return
    try:
        from whmcs_bridge.config import load_config
        from whmcs_bridge.plugin_manager import get_plugin_manager

        host = get_plugin_manager(load_config(path))
    except Exception:  # before parsing: even --help must work
        return  # the command itself loads the plugins again and reports the problem
    for result in host.call_each("bridge_register_commands", cli=cli):
        if not result.ok:  # one broken plugin must not stop the CLI
            click.echo(
                f"warning: plugin '{result.plugin}' could not add its commands: {result.error}",
                err=True,
            )


def _one_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", exc)
    args = getattr(original, "args", ())
    text = str(args[1]) if len(args) > 1 else str(original)
    return "database error: " + " ".join(text.split())


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the console script."""
    args = sys.argv[1:] if argv is None else argv
    _register_builtin_commands()
    _register_plugin_commands(args)
    try:
        return cli.main(args=args, prog_name="whmcs-bridge", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except DBAPIError as exc:
        # A database failing mid-command (server gone, a right missing): the driver's one line,
        # which names the server's reason and never the password.
        click.echo(f"error: {_one_line(exc)}", err=True)
        sys.exit(1)
    except BridgeError as exc:
        if exc.exit_code == 0:
            click.echo(str(exc))
        else:
            click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
