"""The one :class:`~sqlalchemy.MetaData` that holds the WHMCS table definitions."""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
