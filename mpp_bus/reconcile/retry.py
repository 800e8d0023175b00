"""Retry quarantined records: read them again from their agency, through the adapter and the engine, once their
cause is fixed (a status added to the mapping table, a converter corrected, the agency's data repaired).

It is ``reconcile --fix``'s path: the engine writes the pages as any run does, but they carry no cursor, so the
stream's stored cursor stays where it was. The records are behind that cursor, which is why a plain incremental run
never reads them again. An incremental stream is read from its start and only the quarantined records are kept (the
read stops once every one of them was seen); a full stream (the catalog) is simply read whole, as every run of it is.

The engine closes the rows itself: a record that stores resolves its open rows (``stored``), one that fails again
gets a new open row that supersedes the old (``superseded``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from mpp_bus.contract import Adapter, Cursor, Page, StreamName, SyncMode
from mpp_bus.contract.stream import STREAM_ENTITY
from mpp_bus.engine import RunResult, SyncEngine
from mpp_bus.engine.breaker import CircuitBreaker

# stream -> the canonical id field of its records
_ID_FIELD = {StreamName.CATALOG: "code", StreamName.APPLICATIONS: "application_id"}
assert set(_ID_FIELD) == set(STREAM_ENTITY)


class RecordRead:
    """An adapter as the engine sees it, whose stream holds only the records ``record_ids``."""

    def __init__(self, adapter: Adapter[Any], stream: StreamName, record_ids: Collection[str]) -> None:
        self.adapter = adapter
        self.id_field = _ID_FIELD[stream]
        self.wanted = set(record_ids)
        self.found: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.adapter, name)

    def read(self, stream: StreamName, cursor: Cursor | None) -> Iterator[Page]:
        pages = self.adapter.read(stream, None)  # from the start: the records are behind the stored cursor
        try:
            for page in pages:
                records = [r for r in page.records if str(r.get(self.id_field)) in self.wanted]
                rejects = [r for r in page.rejects if r.record_id in self.wanted]
                self.found.update(str(r[self.id_field]) for r in records)
                self.found.update(r.record_id for r in rejects if r.record_id)
                # No cursor: the engine keeps the stream's own cursor as it was.
                yield Page(records, None, rejects)
                if self.found >= self.wanted:
                    return
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()


@dataclass(frozen=True)
class RetryOutcome:
    """One agency stream retried: the run, and the records its agency no longer serves (their rows stay open)."""

    result: RunResult
    not_served: list[str]


def retry(engine: SyncEngine, adapter: Adapter[Any], stream: StreamName, record_ids: Collection[str],
          breaker: CircuitBreaker | None = None) -> RetryOutcome:
    """Read ``record_ids`` of ``stream`` again from the agency and write them through ``engine`` without moving the
    stream's cursor."""
    if adapter.stream(stream).mode is SyncMode.FULL:
        # A full stream's run reads it whole (a filtered read would withdraw every entry it left out).
        result = engine.sync(adapter, stream, breaker=breaker)
        return RetryOutcome(result, [])
    read = RecordRead(adapter, stream, record_ids)
    result = engine.sync(read, stream, breaker=breaker)  # type: ignore[arg-type]  # RecordRead is an adapter by duck typing
    return RetryOutcome(result, sorted(read.wanted - read.found))
