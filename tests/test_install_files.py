"""The files the README's install steps copy: the wrapper script parses and cron calls it."""

from __future__ import annotations

import subprocess
from pathlib import Path

CONFIG = Path(__file__).resolve().parent.parent / "config"


def test_the_wrapper_is_valid_sh_and_loads_secrets_and_config() -> None:
    wrapper = CONFIG / "whmcs-bridge.sh"
    checked = subprocess.run(["sh", "-n", str(wrapper)], capture_output=True, text=True)
    assert (checked.returncode, checked.stderr) == (0, "")
    text = wrapper.read_text()
    assert ". /etc/whmcs-bridge/secrets.env" in text
    assert "WHMCS_BRIDGE_CONFIG" in text


def test_cron_runs_the_wrapper_as_the_bridge_user() -> None:
    jobs = [
        line.split()
        for line in (CONFIG / "whmcs-bridge.cron").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert [job[5:8] for job in jobs] == [["whmcs-bridge", "/usr/local/bin/whmcs-bridge", "run"]]
