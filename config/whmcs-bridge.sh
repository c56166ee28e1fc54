#!/bin/sh
# /usr/local/bin/whmcs-bridge: the bridge with its config and secrets, for admins and cron alike.
# Run it as the bridge's user (sudo -u whmcs-bridge whmcs-bridge doctor): secrets.env is theirs.
set -a
if [ -r /etc/whmcs-bridge/secrets.env ]; then . /etc/whmcs-bridge/secrets.env; fi
set +a
WHMCS_BRIDGE_CONFIG="${WHMCS_BRIDGE_CONFIG:-/etc/whmcs-bridge/bridge.toml}"
export WHMCS_BRIDGE_CONFIG
exec /opt/whmcs-bridge/venv/bin/whmcs-bridge "$@"
