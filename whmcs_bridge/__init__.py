"""whmcs-bridge: a sidecar that adds a hosting company's rules to a WHMCS panel."""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("whmcs_bridge")

__all__ = ["__version__", "hookimpl"]
