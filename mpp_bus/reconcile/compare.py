"""Reconciliation of one agency's applications: the store against the agency, window by window.

Both sides are cut into windows of source update time (a day by default). Per window each side gives a count and an
order-independent checksum of ``(application id, agency status, update time)``; only the windows whose digests
differ are looked at id by id, so the two sides' agreeing windows are never compared or pulled again.

The agency side is the adapter's normal incremental read from the beginning (no agency-specific endpoint), validated
as the engine validates, keeping the newest version of each id (duplicates and out-of-order copies collapse).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mpp_bus.canonical.entities import Application
from mpp_bus.contract import Adapter, Page, StreamName
from mpp_bus.engine.validation import validate_page
from mpp_bus.errors import ConfigError
from mpp_bus.store import Store

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class Version:
    """What both sides must agree on for one application."""

    status: str
    updated: datetime


@dataclass
class Digest:
    """Count and checksum of one window; the checksum is a sum of per-record hashes, so order does not matter."""

    count: int = 0
    checksum: int = 0

    def add(self, record_id: str, version: Version) -> None:
        self.count += 1
        self.checksum = (self.checksum + record_hash(record_id, version)) & MASK64


def record_hash(record_id: str, version: Version) -> int:
    text = f"{record_id}\x1f{version.status}\x1f{version.updated.astimezone(UTC).isoformat()}"
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class WindowDiff:
    """One window whose two sides differ, with the ids that make the difference (by the agency's window for
    ``missing`` and ``different``, by the store's for ``extra``)."""

    start: datetime
    end: datetime
    store_count: int
    agency_count: int
    missing: list[str] = field(default_factory=list)  # at the agency, not in the store
    extra: list[str] = field(default_factory=list)  # in the store, not at the agency
    different: list[str] = field(default_factory=list)  # on both sides, with another status or update time


@dataclass(frozen=True)
class ReconcileReport:
    """What ``reconcile`` found for one agency stream."""

    agency_id: str
    stream: str
    window: timedelta
    windows_compared: int
    windows_agreeing: int
    store_records: int
    agency_records: int
    agency_rejects: int
    differences: list[WindowDiff]

    @property
    def missing(self) -> list[str]:
        return sorted(i for d in self.differences for i in d.missing)

    @property
    def extra(self) -> list[str]:
        return sorted(i for d in self.differences for i in d.extra)

    @property
    def different(self) -> list[str]:
        return sorted(i for d in self.differences for i in d.different)

    @property
    def difference_count(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.different)

    @property
    def ok(self) -> bool:
        return self.difference_count == 0

    def windows_to_fix(self) -> list[tuple[datetime, datetime]]:
        """The windows holding the agency's version of a missing or different record, adjacent ones merged."""
        spans = sorted((d.start, d.end) for d in self.differences if d.missing or d.different)
        merged: list[tuple[datetime, datetime]] = []
        for start, end in spans:
            if merged and merged[-1][1] >= start:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged


def window_start(moment: datetime, window: timedelta) -> datetime:
    steps = (moment.astimezone(UTC) - EPOCH) // window
    return EPOCH + steps * window


def compare(store: Store, adapter: Adapter[Any], *, window: timedelta = timedelta(days=1)) -> ReconcileReport:
    """Compare the store's applications of ``adapter``'s agency with what the agency serves now."""
    stream = check_stream(adapter)
    agency_id = adapter.agency_id
    theirs, rejects = agency_versions(adapter.read(stream, None))
    ours_digests = store_digests(store, agency_id, window)
    their_digests = digests(theirs.items(), window)
    keys = set(ours_digests) | set(their_digests)
    differing = sorted(k for k in keys if ours_digests.get(k) != their_digests.get(k))
    diffs = _differences(store, agency_id, theirs, differing, window, ours_digests, their_digests)
    return ReconcileReport(
        agency_id=agency_id,
        stream=stream.value,
        window=window,
        windows_compared=len(keys),
        windows_agreeing=len(keys) - len(differing),
        store_records=sum(d.count for d in ours_digests.values()),
        agency_records=len(theirs),
        agency_rejects=rejects,
        differences=diffs,
    )


def check_stream(adapter: Adapter[Any]) -> StreamName:
    spec = adapter.stream(StreamName.APPLICATIONS.value)
    if spec.cursor_field is None:
        raise ConfigError(f"agency {adapter.agency_id}: its applications stream has no update time to window by; "
                          "reconcile needs an incremental stream")
    return spec.name


def agency_versions(pages: Iterable[Page]) -> tuple[dict[str, Version], int]:
    """The newest valid version of each application the agency serves, and how many records it could not map."""
    versions: dict[str, Version] = {}
    rejects = 0
    for page in pages:
        good, bad = validate_page(Application, page.records, "application_id")
        rejects += len(page.rejects) + len(bad)
        for _, record in good:
            version = Version(record["agency_status"], record["source_updated_at"].astimezone(UTC))
            held = versions.get(record["application_id"])
            if held is None or version.updated >= held.updated:
                versions[record["application_id"]] = version
    return versions, rejects


def digests(items: Iterable[tuple[str, Version]], window: timedelta) -> dict[datetime, Digest]:
    out: dict[datetime, Digest] = {}
    for record_id, version in items:
        out.setdefault(window_start(version.updated, window), Digest()).add(record_id, version)
    return out


def store_rows(store: Store, agency_id: str, start: datetime | None = None,
               end: datetime | None = None) -> Iterator[tuple[str, Version]]:
    """(id, version) of the agency's stored applications, optionally of one time span, streamed."""
    for row in store.application_versions(agency_id, start, end):
        yield row.application_id, Version(row.agency_status, row.source_updated_at)


def store_digests(store: Store, agency_id: str, window: timedelta) -> dict[datetime, Digest]:
    return digests(store_rows(store, agency_id), window)


def _stored_versions(store: Store, agency_id: str, ids: list[str]) -> dict[str, Version]:
    return {r.application_id: Version(r.agency_status, r.source_updated_at)
            for r in store.application_versions_of(agency_id, ids)}


def _differences(store: Store, agency_id: str, theirs: dict[str, Version], differing: list[datetime],
                 window: timedelta, ours_digests: dict[datetime, Digest],
                 their_digests: dict[datetime, Digest]) -> list[WindowDiff]:
    if not differing:
        return []
    wanted = set(differing)
    their_by_window: dict[datetime, dict[str, Version]] = {}
    for record_id, version in theirs.items():
        key = window_start(version.updated, window)
        if key in wanted:
            their_by_window.setdefault(key, {})[record_id] = version
    diffs = []
    for start in differing:
        end = start + window
        ours = dict(store_rows(store, agency_id, start, end))
        agency_side = their_by_window.get(start, {})
        unseen = [i for i in agency_side if i not in ours]
        elsewhere = _stored_versions(store, agency_id, unseen)  # stored, but with a version in another window
        missing = sorted(i for i in unseen if i not in elsewhere)
        different = sorted([i for i in unseen if i in elsewhere]
                           + [i for i, v in agency_side.items() if i in ours and ours[i] != v])
        # a stored id that the agency holds in another window is counted there, as different
        extra = sorted(i for i in ours if i not in agency_side and i not in theirs)
        diffs.append(WindowDiff(start, end, ours_digests.get(start, Digest()).count,
                                their_digests.get(start, Digest()).count, missing, extra, different))
    return [d for d in diffs if d.missing or d.extra or d.different]
