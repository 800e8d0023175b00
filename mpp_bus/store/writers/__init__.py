"""Dialect-specific bulk writers of the application path, behind ``ApplicationWriter``."""

from __future__ import annotations

from sqlalchemy import Engine

from mpp_bus.store.writers.base import (
    APPLICATION_COLUMNS,
    EVENT_COLUMNS,
    ApplicationPage,
    ApplicationRow,
    ApplicationWriter,
    Current,
    StatusEventRow,
)
from mpp_bus.store.writers.postgres import PostgresWriter
from mpp_bus.store.writers.sqlite import SqliteWriter


def writer_for(engine: Engine) -> ApplicationWriter:
    """The writer for ``engine``'s database."""
    if engine.dialect.name == "postgresql":
        return PostgresWriter()
    return SqliteWriter()


__all__ = [
    "APPLICATION_COLUMNS",
    "EVENT_COLUMNS",
    "ApplicationPage",
    "ApplicationRow",
    "ApplicationWriter",
    "Current",
    "StatusEventRow",
    "PostgresWriter",
    "SqliteWriter",
    "writer_for",
]
