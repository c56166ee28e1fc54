"""The database rights a plugin needs beyond the core's, for ``db grants`` and ``doctor``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableGrant:
    """Privileges on one WHMCS table (``tblhosting``), optionally on some columns only.

    ``why`` says which feature needs it; ``db grants`` prints it beside the ``GRANT`` line.
    """

    table: str
    privileges: tuple[str, ...]
    columns: tuple[str, ...] = ()
    why: str = ""

    def sql(self, database: str, account: str) -> str:
        """The ``GRANT`` statement for ``account`` (``'user'@'host'``) on ``database``."""
        cols = f" ({', '.join(f'`{c}`' for c in self.columns)})" if self.columns else ""
        privileges = ", ".join(f"{p}{cols}" for p in self.privileges)
        return f"GRANT {privileges} ON `{database}`.`{self.table}` TO {account};"
