"""A password hash rewritten at login with a new algorithm or cost is not a password change."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select, update

from whmcs_bridge.cycle import run_cycle
from whmcs_bridge.intake.watchers.accounts import hash_scheme, password_changed, password_state
from whmcs_bridge.panel.tables import metadata
from whmcs_bridge.store.tables import events
from whmcs_bridge.testing.bridges import make_bridge, sqlite_panel

BCRYPT_10 = "$2y$10$abcdefghijklmnopqrstuu5lq1K8Qe0Hn2Xg2cQm9yq7Q8Y0a1b2C"
BCRYPT_12 = "$2y$12$zyxwvutsrqponmlkjihgfeJ0a9b8c7d6e5f4g3h2i1j0k9l8m7n6O"
ARGON = "$argon2id$v=19$m=65536,t=4,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


def test_schemes_leave_out_salt_and_digest() -> None:
    assert hash_scheme(BCRYPT_10) == "$2y$10"
    assert hash_scheme(ARGON) == "$argon2id$v=19$m=65536,t=4,p=1"
    assert hash_scheme("5f4dcc3b5aa765d61d8327deb882cf99") == "legacy"
    assert "$" not in password_state(BCRYPT_10)  # digests only


def test_a_rehash_is_not_a_change_and_a_new_hash_is() -> None:
    same_scheme = BCRYPT_10.replace("abc", "xyz")
    assert password_changed(password_state(BCRYPT_10), password_state(same_scheme))
    assert not password_changed(password_state(BCRYPT_10), password_state(BCRYPT_12))
    assert not password_changed(password_state(BCRYPT_10), password_state(ARGON))
    assert not password_changed(password_state(BCRYPT_10), password_state(BCRYPT_10))


def _password_events(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(select(events.c.id).where(events.c.name == "client.password_changed"))
        count = len(found.all())
    engine.dispose()
    return count


def _set_password(url: str, user_id: int, value: str) -> None:
    users = metadata.tables["tblusers"]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(password=value))
    engine.dispose()


def test_login_rehash_sends_no_alert_but_a_new_password_does(tmp_path: Path) -> None:
    url = sqlite_panel(tmp_path / "panel.sqlite")
    bridge = make_bridge(url)  # the sample panel fits in one sweep slice
    users = metadata.tables["tblusers"]
    with bridge.panel.connect() as conn:
        user_id = conn.execute(select(users.c.id).order_by(users.c.id).limit(1)).scalar_one()
    _set_password(url, user_id, BCRYPT_10)
    run_cycle(bridge)  # baseline
    run_cycle(bridge)

    _set_password(url, user_id, BCRYPT_12)  # WHMCS raised the cost at this login
    run_cycle(bridge)
    assert _password_events(url) == 0

    _set_password(url, user_id, BCRYPT_12.replace("zyx", "qrs"))  # a new password
    run_cycle(bridge)
    assert _password_events(url) == 1
