"""``demo``: a whole bridge on an embedded SQLite panel, with no server needed."""

from __future__ import annotations

import click

from whmcs_bridge.cli.context import emit_json, json_option


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default="var/demo",
    show_default=True,
    help="Where to build the demo panel and its config.",
)
@json_option
def demo(directory: str, as_json: bool) -> None:
    """Build a sample panel (SQLite, Spanish data), run cycles on it and show what happened."""
    from whmcs_bridge.sandbox.demo import run_demo

    result = run_demo(directory, echo=None if as_json else click.echo)
    if as_json:
        emit_json(result)
