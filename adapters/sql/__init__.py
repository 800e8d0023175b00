"""The ``sql`` adapter type: an agency read from a view or query in its own database, wired by a spec."""

from __future__ import annotations

from adapters.sql.adapter import SqlAdapter, SqlConfig
from adapters.sql.spec import SqlSpec, SqlStreamDef, load_sql_spec, read_sql_spec

__all__ = ["SqlAdapter", "SqlConfig", "SqlSpec", "SqlStreamDef", "load_sql_spec", "read_sql_spec"]
