"""``python -m whmcs_bridge`` runs the CLI."""

import sys

from whmcs_bridge.cli import main

# As the console script does: a command's ctx.exit(code) comes back as main()'s return value.
sys.exit(main())
