"""The "Writing a plugin" page runs: its example, dropped into plugins_dir, does what it says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import create_engine, update
from test_cli import bridge as run_bridge
from test_cli import write_config

from whmcs_bridge.panel.tables import metadata
from whmcs_bridge.plugin import Event

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "plugins.md"


def example_source() -> str:
    """The first Python block after the page's "An example" heading, as the page shows it."""
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("## An example") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "docs/plugins.md lost its example"
    return match.group(1)


def test_the_example_is_about_30_lines_and_imports_only_the_plugin_module() -> None:
    source = example_source()
    assert len(source.splitlines()) <= 50
    imports = re.findall(r"^from (whmcs_bridge[\w.]*) import", source, re.M)
    assert imports == ["whmcs_bridge.plugin"]


def test_the_example_handles_an_event_adds_a_command_and_a_doctor_line(
    tmp_path: Path, demo_panel: str
) -> None:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "vip.py").write_text(example_source(), encoding="utf-8")
    config = write_config(
        tmp_path,
        demo_panel,
        '[plugins]\nenabled = ["vip"]\nplugins_dir = "plugins"\n[plugins.vip]\ngroup = 2\n',
    )
    engine = create_engine(demo_panel)
    clients = metadata.tables["tblclients"]
    with engine.begin() as conn:
        conn.execute(update(clients).where(clients.c.id == 4).values(groupid=2))
    engine.dispose()

    listed = run_bridge("plugins", "--json", config=config)
    assert listed.returncode == 0, listed.stderr
    assert {"name": "vip", "version": "1.0"}.items() <= next(
        p for p in json.loads(listed.stdout) if p["name"] == "vip"
    ).items()
    assert run_bridge("db", "upgrade", config=config).returncode == 0
    assert run_bridge("run", config=config).returncode == 0  # the watchers' baseline

    from whmcs_bridge.testing.bridges import make_bridge

    made = make_bridge(
        demo_panel,
        config={
            "plugins": {
                "enabled": ["vip"],
                "plugins_dir": str(tmp_path / "plugins"),
                "vip": {"group": 2},
            }
        },
    )
    now = made.clock.panel_now()
    made.emit(
        Event(
            key="invoice.paid:4",
            name="invoice.paid",
            subject_type="invoice",
            subject_id=4,
            occurred_at=now,
            source="hook",
            client_id=4,
        ),
        Event(
            key="invoice.paid:1",
            name="invoice.paid",
            subject_type="invoice",
            subject_id=1,
            occurred_at=now,
            source="hook",
            client_id=1,
        ),
    )
    made.close()
    assert run_bridge("run", config=config).returncode == 0
    events = json.loads(run_bridge("events", "--json", config=config).stdout)
    notes = {e["subject"]: e["outcomes"][0] for e in events if e["name"] == "invoice.paid"}
    assert notes["invoice:4"]["status"] == "done"
    assert notes["invoice:4"]["detail"].startswith("VIP Carlos")
    assert notes["invoice:1"]["status"] == "skipped"

    command = run_bridge("vip", config=config)
    assert command.returncode == 0 and command.stdout.strip() == "VIP client group: #2"
    doctor = run_bridge("doctor", config=config)
    assert "OK   plugin vip: VIP client group #2" in doctor.stdout

    bad = write_config(
        tmp_path, demo_panel, '[plugins]\nenabled = ["vip"]\nplugins_dir = "plugins"\n'
    )
    refused = run_bridge("run", config=bad)
    assert refused.returncode == 2 and "key 'plugins.vip.group'" in refused.stderr
