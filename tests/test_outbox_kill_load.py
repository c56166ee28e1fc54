"""kill -9 in the middle of a fast delivery (issue 17): dozens of sends in flight, answers waiting
in the group write, shares of the rate leased. Nothing is lost: every row ends ``sent``; a message
that reached the stand-in twice is one whose row is marked ``duplicate_risk`` (its answer was
lost with the process), and only the messages in the dead process's hands can be such.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from test_outbox import ROOT, WA_TOKEN, alerts_section, panel_url, queue, rows  # noqa: F401

from whmcs_bridge.sandbox.whatsapp_standin import WhatsAppStandIn
from whmcs_bridge.testing.bridges import delivery_config, make_bridge

_DELIVER = """
import json, sys
from whmcs_bridge.testing.bridges import make_bridge
bridge = make_bridge(sys.argv[1], config=json.loads(sys.argv[2]))
bridge.outbox.deliver_due()
"""


def sent_ids(wa: WhatsAppStandIn) -> Counter[int]:
    """How many times each outbox id reached the stand-in (``wb:<id>``)."""
    return Counter(
        int(str(r["json"]["biz_opaque_callback_data"]).removeprefix("wb:"))
        for r in list(wa.requests)
        if isinstance(r["json"], dict)
    )


def test_kill_9_in_a_fast_delivery_loses_nothing(panel_url: str) -> None:  # noqa: F811
    count = 400
    with WhatsAppStandIn(token=WA_TOKEN) as wa:
        wa.delay(0.02)
        config = delivery_config(
            alerts_section(
                wa, rate_per_second=400, sending_stale_seconds=1, unknown_grace_seconds=0
            )
        )
        bridge = make_bridge(panel_url, config=config)
        ids = [queue(bridge, i, f"+54911{i:08d}") for i in range(1, count + 1)]
        child = subprocess.Popen(
            [sys.executable, "-c", _DELIVER, panel_url, json.dumps(config)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        deadline = time.monotonic() + 60
        while len(wa.requests) < count // 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        killed_at = len(wa.requests)
        assert count // 3 <= killed_at < count, "the kill came too late to prove anything"
        in_hands = [r["id"] for r in rows(bridge) if r["state"] == "sending"]
        assert in_hands, "nothing was in flight when the process died"
        time.sleep(1.2)  # older than sending_stale_seconds: the next delivery recovers them
        report = bridge.outbox.deliver_due()
        assert report.recovered == len(in_hands)
        final = {r["id"]: r for r in rows(bridge)}
        assert {r["state"] for r in final.values()} == {"sent"}
        times = sent_ids(wa)
        assert sorted(times) == ids  # every message reached the provider
        twice = {i for i, n in times.items() if n > 1}
        assert all(n <= 2 for n in times.values())
        assert twice <= set(in_hands)  # only what the dead process held
        risky = {i for i, r in final.items() if r["duplicate_risk"]}
        assert twice <= risky == set(in_hands)
        bridge.close()
