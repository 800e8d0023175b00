"""Column types shared by the store's tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


def key_text(length: int) -> String:
    """Text compared by bytes on PostgreSQL (collation "C"): ids and hex hashes that are only matched, never shown
    sorted to a reader, are indexed several times faster without the database's locale rules."""
    # with_variant is typed as returning the base TypeEngine; the value is the String it was called on.
    return String(length).with_variant(String(length, collation="C"), "postgresql")  # type: ignore[return-value]


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, kept in UTC.

    PostgreSQL stores ``timestamptz``; SQLite has no zone type, so the value is stored as naive UTC text (fixed
    width, so text order is time order) and given back aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store keeps timezone-aware datetimes; got a naive one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw text read back through a textual query
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_time(value: datetime) -> str:
    """The text SQLite keeps for an aware datetime (the format SQLAlchemy's DATETIME reads back)."""
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]
