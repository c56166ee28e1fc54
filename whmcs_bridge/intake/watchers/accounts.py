"""Watchers of client accounts and their logins: added, details changed, password changed.

Only sha256 digests are remembered: of the client's contact fields, and of the password hash
(``tblclients.password`` on WHMCS 7; ``tblusers.password`` on WHMCS 8, where the login moved to
``tblusers`` and the client's own column is a leftover), next to a digest of the hash's scheme
(algorithm and cost, so a rehash at login is not a new password). Never a value, never the hash.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, literal, select

from whmcs_bridge.events.model import Event
from whmcs_bridge.intake.watcher import WatchContext
from whmcs_bridge.intake.watchers.base import chunks, digest, make_event, seen_states
from whmcs_bridge.intake.watchers.sweep import SweepWatcher
from whmcs_bridge.panel.tables import PanelTables

CLIENT_FIELDS = (
    "firstname",
    "lastname",
    "companyname",
    "email",
    "address1",
    "address2",
    "city",
    "state",
    "postcode",
    "country",
    "phonenumber",
    "tax_id",
)


def field_columns(table: Any, names: tuple[str, ...]) -> list[ColumnElement[Any]]:
    """The watched columns; one an older schema lacks reads as '' so digests stay comparable."""
    return [
        table.c[name].label(f"f_{name}") if name in table.c else literal("").label(f"f_{name}")
        for name in names
    ]


def field_positions(columns: list[ColumnElement[Any]], names: tuple[str, ...]) -> tuple[int, ...]:
    """Where :func:`field_columns`' labels sit in a select list (for :func:`fields_digest`)."""
    keys = [column.key for column in columns]
    return tuple(keys.index(f"f_{name}") for name in names)


def fields_digest(
    row: Row[Any], names: tuple[str, ...], positions: tuple[int, ...] | None = None
) -> str:
    """The digest of the watched fields; by ``positions`` when given (a sweep digests thousands
    of rows, and a Row's attribute access by name is several times slower than indexing)."""
    if positions is None:
        return digest(getattr(row, f"f_{name}") for name in names)
    return digest([row[i] for i in positions])


#: Joins the client's fields in one column (a control character no form lets through).
PACK = "\x1f"


def packed_fields(table: Any, names: tuple[str, ...]) -> ColumnElement[Any]:
    """The fields joined by :data:`PACK` in SQL: one column to read instead of twelve.

    A sweep reads thousands of clients a cycle and the driver's cost is per column. The fields
    are ``NOT NULL`` text, so splitting the joined text gives back the very values, and their
    digest is the one of the fields read one by one.
    """
    parts: list[ColumnElement[Any]] = []
    for name in names:
        if parts:
            parts.append(literal(PACK))
        parts.append(table.c[name] if name in table.c else literal(""))
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.concat(part)
    return joined.label("f_packed")


def packed_digest(packed: object, names: tuple[str, ...]) -> str:
    values = str(packed).split(PACK) if packed is not None else []
    if len(values) != len(names):
        # A NULL (the schema forbids it) or the separator in a value: still a stable state.
        return digest(["\x00packed", None if packed is None else str(packed)])
    return digest(values)


def hash_scheme(password_hash: object) -> str:
    """The algorithm and cost of a password hash, without salt or digest: ``$2y$10``,
    ``$argon2id$v=19$m=65536,t=4,p=1``, ``$6`` for other crypt formats, ``legacy`` otherwise."""
    text = "" if password_hash is None else str(password_hash)
    if not text.startswith("$"):
        return "legacy"
    parts = text.split("$")
    if parts[1].startswith("2") and len(parts) >= 4:  # bcrypt: $2y$<cost>$<salt+hash>
        return "$".join(parts[:3])
    if parts[1].startswith("argon2") and len(parts) >= 5:  # $argon2id$v=..$m=..,t=..,p=..$
        return "$".join(parts[:4])
    return "$".join(parts[:2])


def password_state(password_hash: object) -> str:
    """What is remembered of a password hash: its scheme and a digest, never the hash."""
    # Digests both: nothing of the hash is stored as written (16 + 1 + 64 characters).
    return f"{digest([hash_scheme(password_hash)])[:16]}:{digest([password_hash])}"


def password_changed(old: str, new: str) -> bool:
    """A new password, not WHMCS rehashing the same one with a new algorithm or cost.

    WHMCS rewrites a hash at login when its algorithm or cost is outdated; that changes the
    digest without any change of password, and must not tell the client their password changed.
    """
    old_scheme, _, old_digest = old.rpartition(":")
    new_scheme, _, new_digest = new.rpartition(":")
    return old_scheme == new_scheme and old_digest != new_digest


class ClientWatcher(SweepWatcher):
    """``client.added``, ``client.details_changed`` and, on WHMCS 7, ``client.password_changed``.

    State: ``<digest of the contact fields>|<digest of the password hash, 7.x only>``.
    """

    name = "clients"
    table_name = "clients"

    def __init__(self, tables: PanelTables, sweep_size: int | None = None) -> None:
        super().__init__(tables, sweep_size)
        self.password_here = tables.get("users") is None and "password" in self.table.c

    def columns(self) -> list[ColumnElement[Any]]:
        extra = [self.table.c.password] if self.password_here else []
        return [self.table.c.id, packed_fields(self.table, CLIENT_FIELDS), *extra]

    def state_of(self, row: Row[Any]) -> str:
        password = password_state(row.password) if self.password_here else ""
        return f"{packed_digest(row[1], CLIENT_FIELDS)}|{password}"

    def logged(self, ctx: WatchContext) -> list[ColumnElement[bool]]:
        return [self.table.c.id.in_(chunk) for chunk in chunks(ctx.dirty.clients)]

    def added(self, ctx: WatchContext, row: Row[Any]) -> list[Event]:
        return [make_event(ctx, "client.added", row.id, row.id)]

    def changed(self, ctx: WatchContext, row: Row[Any], old: str, new: str) -> list[Event]:
        old_fields, _, old_password = old.partition("|")
        new_fields, _, new_password = new.partition("|")
        found: list[Event] = []
        if old_fields != new_fields:
            found.append(make_event(ctx, "client.details_changed", row.id, row.id))
        # An empty part is a schema that does not keep the password here (after a 7 -> 8 upgrade).
        if old_password and new_password and password_changed(old_password, new_password):
            found.append(make_event(ctx, "client.password_changed", row.id, row.id))
        return found

    def observe(self, ctx: WatchContext, event: Event) -> None:
        if event.name == "client.details_changed":
            part = 0
        elif event.name == "client.password_changed" and self.password_here:
            part = 1
        else:
            return
        row = self.current(ctx, event.subject_id)
        if row is None:
            return
        old = seen_states(ctx, self.namespace, [row.id]).get(row.id)
        new = self.state_of(row)
        if old is not None:
            # Take only the part the hook reported; a change of the other part is still news.
            parts = old.partition("|")[::2]
            fresh = new.partition("|")[::2]
            merged = [fresh[i] if i == part else parts[i] for i in (0, 1)]
            new = "|".join(merged)
        ctx.remember(self.namespace, {row.id: new})


class UserPasswordWatcher(SweepWatcher):
    """WHMCS 8: ``client.password_changed`` for each client a login user owns, when the
    digest of ``tblusers.password`` changes."""

    name = "user_passwords"
    table_name = "users"

    def columns(self) -> list[ColumnElement[Any]]:
        return [self.table.c.id, self.table.c.password]

    def state_of(self, row: Row[Any]) -> str:
        return password_state(row.password)

    def logged(self, ctx: WatchContext) -> list[ColumnElement[bool]]:
        """The logins of the named clients, through ``tblusers_clients``' client index."""
        links = self.tables.users_clients
        return [
            self.table.c.id.in_(
                select(links.c.auth_user_id).where(links.c.client_id.in_(chunk)).scalar_subquery()
            )
            for chunk in chunks(ctx.dirty.clients)
        ]

    def changed(self, ctx: WatchContext, row: Row[Any], old: str, new: str) -> list[Event]:
        if not password_changed(old, new):
            return []  # rehashed at login: remembered, no event
        return [
            make_event(ctx, "client.password_changed", client, client, {"user_id": row.id})
            for client in self._owned(ctx, row.id)
        ]

    def _owned(self, ctx: WatchContext, user_id: int) -> list[int]:
        links = self.tables.users_clients
        return list(
            ctx.conn.execute(
                select(links.c.client_id).where(links.c.auth_user_id == user_id, links.c.owner == 1)
            ).scalars()
        )

    def observe(self, ctx: WatchContext, event: Event) -> None:
        if event.name != "client.password_changed":
            return
        user_id = event.data.get("user_id")
        if user_id:
            self.refresh(ctx, int(user_id))
            return
        links = self.tables.users_clients
        owners = ctx.conn.execute(
            select(links.c.auth_user_id).where(
                links.c.client_id == event.subject_id, links.c.owner == 1
            )
        ).scalars()
        for owner in list(owners):
            self.refresh(ctx, int(owner))
