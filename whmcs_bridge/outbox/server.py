"""What the panel's database server can do, and how it says "try again"."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError


def supports_skip_locked(engine: Engine) -> bool:
    """MariaDB 10.6+ and MySQL 8.0.1+ have ``SKIP LOCKED``; SQLite has no row locks at all."""
    dialect = engine.dialect
    if dialect.name not in ("mysql", "mariadb"):
        return False
    if dialect.server_version_info is None:
        with engine.connect():
            pass  # the first connection fills in the server version
    version = tuple(dialect.server_version_info or ())
    if getattr(dialect, "is_mariadb", False):
        return version >= (10, 6)
    return version >= (8, 0, 1)


def is_contention(exc: BaseException) -> bool:
    """A deadlock or a lock wait timeout (MySQL 1213/1205, SQLite "locked"/"busy").

    The server rolled back (or will) the statement; nothing was changed, so the transaction can
    simply be tried again later.
    """
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    args = getattr(orig, "args", ())
    if args and args[0] in (1205, 1213):
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database is busy" in text
