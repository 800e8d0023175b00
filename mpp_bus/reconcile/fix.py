"""Re-sync only what reconcile found different: the agency is read again from the start of each differing window
(the adapter's normal incremental read) and only records of those windows go through the engine.

The engine writes them as any run does (idempotent upserts guarded by the update time, history, quarantine, a run
record), but the stream's stored cursor stays where it was: the pages handed to it carry no cursor.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from mpp_bus.contract import Adapter, Cursor, Page, StreamName
from mpp_bus.engine import RunResult, SyncEngine
from mpp_bus.engine.breaker import CircuitBreaker
from mpp_bus.reconcile.compare import ReconcileReport


class WindowRead:
    """An adapter as the engine sees it, whose applications are only those updated within ``spans``."""

    def __init__(self, adapter: Adapter[Any], spans: Sequence[tuple[datetime, datetime]]) -> None:
        self.adapter = adapter
        self.spans = list(spans)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.adapter, name)

    def read(self, stream: StreamName, cursor: Cursor | None) -> Iterator[Page]:
        for start, end in self.spans:
            yield from self._span(stream, start, end)

    def _span(self, stream: StreamName, start: datetime, end: datetime) -> Iterator[Page]:
        pages = self.adapter.read(stream, {"updated": start.astimezone(UTC).isoformat(), "id": ""})
        try:
            for page in pages:
                inside = [r for r in page.records if _within(r, start, end)]
                # No cursor: the engine keeps the stream's own cursor as it was.
                yield Page(inside, None, page.rejects)
                if any(_at_or_after(r, end) for r in page.records):
                    return  # the agency orders by update time: the rest of the read is past the window
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()


def _updated(record: Any) -> datetime | None:
    value = record.get("source_updated_at") if isinstance(record, dict) else None
    return value if isinstance(value, datetime) and value.tzinfo is not None else None


def _within(record: Any, start: datetime, end: datetime) -> bool:
    updated = _updated(record)
    return updated is not None and start <= updated < end


def _at_or_after(record: Any, end: datetime) -> bool:
    updated = _updated(record)
    return updated is not None and updated >= end


def fix(engine: SyncEngine, adapter: Adapter[Any], report: ReconcileReport,
        breaker: CircuitBreaker | None = None) -> RunResult | None:
    """Re-read the windows ``report`` found different and write them through ``engine``; None when none needs it
    (records only in the store are reported, never deleted: the agency may have them again later)."""
    spans = report.windows_to_fix()
    if not spans:
        return None
    return engine.sync(WindowRead(adapter, spans), StreamName(report.stream),  # type: ignore[arg-type]  # WindowRead is an adapter by duck typing
                       breaker=breaker)
