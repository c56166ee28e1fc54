"""The catalog is the one source for hook -> event (issue 18, point 7).

Three other places name WHMCS hooks: the PHP hook file (which hooks it registers and which payload
keys it records), the inbox's ``HOOKS`` (which event and subject a hook's row becomes, and which
payload keys it reads), and the sandbox's ``HOOK_FIELDS`` (the rows the sandbox writes where real
WHMCS would run the PHP file). These tests prove, hook by hook and key by key, that all of them
agree with ``whmcs_bridge.events.catalog.CATALOG``. They are generic: a hook added to the catalog
is checked without editing this file.

The PHP side is not parsed: php-cli loads the real hook file with a stand-in ``add_hook`` and
prints what it registered and the payload keys ``whmcs_bridge_payload`` builds for each hook.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from whmcs_bridge.events.catalog import CATALOG
from whmcs_bridge.intake.inbox import HINT_HOOKS, HOOKS, HookRule
from whmcs_bridge.sandbox.hook_rows import HOOK_FIELDS

ROOT = Path(__file__).resolve().parent.parent
HOOK_FILE = ROOT / "hooks" / "whmcs_bridge.php"

# Loads the hook file the way WHMCS does (WHMCS defined, add_hook available) and prints
# {"registered": [hooks in registration order], "keys": {hook: [payload keys in order]}}.
# whmcs_bridge_payload($hook, []) needs no database: DomainDelete looks a name up only for a
# domain id, ClientEdit compares only when olddata is given.
DUMP = """<?php
define('WHMCS', true);
$registered = [];
function add_hook($hook, $priority, $callable) { $GLOBALS['registered'][] = $hook; }
require getenv('WB_HOOK_FILE');
// Page hooks (whmcs_bridge_page_hooks) only return template variables: no row, no event.
$registered = array_values(array_diff($registered, array_keys(whmcs_bridge_page_hooks())));
$keys = [];
foreach ($registered as $hook) {
    $keys[$hook] = array_keys(whmcs_bridge_payload($hook, []));
}
echo json_encode(['registered' => $registered, 'keys' => $keys]);
"""

CATALOG_HOOKS: dict[str, tuple[str, str]] = {}  # hook -> (event, subject)
for _spec in CATALOG:
    for _hook in _spec.hooks:
        CATALOG_HOOKS.setdefault(_hook, (_spec.name, _spec.subject))


@pytest.fixture(scope="module")
def php_hooks() -> dict[str, list[str]]:
    """hook -> payload keys, in the order the PHP file registers hooks and writes keys."""
    binary = shutil.which("php")
    if binary is None:
        pytest.fail("php is not installed: run `make services` (or apt-get install -y php-cli)")
    done = subprocess.run(
        [binary],
        input=DUMP,
        capture_output=True,
        text=True,
        env={"WB_HOOK_FILE": str(HOOK_FILE), "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stdout + done.stderr
    dumped = json.loads(done.stdout)
    registered = dumped["registered"]
    assert len(registered) == len(set(registered)), f"a hook is registered twice: {registered}"
    return {hook: dumped["keys"][hook] for hook in registered}


class _Reads(dict[str, Any]):
    """A payload that remembers which keys were asked for (to learn what a ``when`` reads)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)


def _keys_read_by(when: Callable[[dict[str, Any]], bool] | None) -> set[str]:
    if when is None:
        return set()
    payload = _Reads()
    when(payload)
    return payload.asked


def _needed_and_optional(rule: HookRule) -> tuple[set[str], set[str]]:
    """(keys the PHP file must record for ``rule``, keys it may record besides).

    ``events_from_row`` reads the subject id, the data keys and the keys of ``when``; it reads
    ``client_id`` too, needed unless the rule looks the client up (then it is only a fallback),
    and a reply's ``ticketid`` for the ``tickets_of_reply`` lookup.
    """
    needed = {rule.id_key, *rule.data_keys, *_keys_read_by(rule.when)}
    if rule.client_from is None:
        needed.add("client_id")
    if rule.client_from == "tickets_of_reply":
        needed.add("ticketid")
    return needed, {"client_id"}


def test_every_catalog_hook_is_registered_and_mapped_to_its_event(
    php_hooks: dict[str, list[str]],
) -> None:
    problems = []
    owners: dict[str, list[str]] = {}
    for spec in CATALOG:
        for hook in spec.hooks:
            owners.setdefault(hook, []).append(spec.name)
            if hook not in php_hooks:
                problems.append(f"{spec.name}: hooks/whmcs_bridge.php does not register {hook}")
            rule = HOOKS.get(hook)
            if rule is None:
                problems.append(f"{spec.name}: inbox HOOKS has no rule for {hook}")
            elif (rule.event, rule.subject) != (spec.name, spec.subject):
                problems.append(
                    f"{hook}: catalog says ({spec.name}, {spec.subject}), "
                    f"inbox HOOKS says ({rule.event}, {rule.subject})"
                )
    problems += [
        f"{hook} is named by several catalog events: {names}"
        for hook, names in owners.items()
        if len(names) > 1
    ]
    assert not problems, "\n".join(problems)


def test_every_registered_hook_is_in_the_catalog_or_a_watcher_hint(
    php_hooks: dict[str, list[str]],
) -> None:
    problems = [
        f"hooks/whmcs_bridge.php registers {hook}, which no catalog event names"
        for hook in php_hooks
        if hook not in CATALOG_HOOKS and hook not in HINT_HOOKS
    ]
    problems += [
        f"inbox HOOKS maps {hook}, which no catalog event names"
        for hook in HOOKS
        if hook not in CATALOG_HOOKS
    ]
    problems += [
        f"{hook} is a watcher hint and a catalog hook at once"
        for hook in HINT_HOOKS
        if hook in CATALOG_HOOKS or hook in HOOKS
    ]
    problems += [
        f"hint {hook} is not registered by hooks/whmcs_bridge.php"
        for hook in HINT_HOOKS
        if hook not in php_hooks
    ]
    assert not problems, "\n".join(problems)


def test_the_php_file_records_exactly_the_keys_the_inbox_reads(
    php_hooks: dict[str, list[str]],
) -> None:
    problems = []
    for hook, rule in HOOKS.items():
        if hook not in php_hooks:
            continue  # reported by the test above
        recorded = set(php_hooks[hook])
        needed, optional = _needed_and_optional(rule)
        problems += [
            f"{hook}: inbox HOOKS reads '{key}', hooks/whmcs_bridge.php never records it"
            for key in sorted(needed - recorded)
        ]
        problems += [
            f"{hook}: hooks/whmcs_bridge.php records '{key}', inbox HOOKS never reads it"
            for key in sorted(recorded - needed - optional)
        ]
    for hook in HINT_HOOKS & set(php_hooks):
        if "serviceid" not in php_hooks[hook]:
            problems.append(f"hint {hook}: the services watcher needs 'serviceid'")
    assert not problems, "\n".join(problems)


def test_the_sandbox_writes_the_rows_the_php_file_writes(
    php_hooks: dict[str, list[str]],
) -> None:
    problems = [
        f"{hook}: sandbox HOOK_FIELDS {HOOK_FIELDS.get(hook)} != PHP {tuple(keys)}"
        for hook, keys in php_hooks.items()
        if HOOK_FIELDS.get(hook) != tuple(keys)
    ]
    problems += [
        f"sandbox HOOK_FIELDS has {hook}, which hooks/whmcs_bridge.php does not register"
        for hook in HOOK_FIELDS
        if hook not in php_hooks
    ]
    assert not problems, "\n".join(problems)
