"""``python -m whmcs_bridge`` runs the CLI."""

from whmcs_bridge.cli import main

main()
