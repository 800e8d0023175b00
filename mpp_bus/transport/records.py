"""Record helpers every adapter needs: vocabulary tables, NIK and date checks, rejects, the ``check()`` answer,
and the collection of one page of an incremental read ordered by ``(updated, id)``.

Example (one page of a keyset-ordered incremental read; ``keyset_read`` runs this loop for a whole read)::

    page = KeysetPage(position)
    page.extend(body["data"], lambda item: item.get("id"), lambda item: parse_datetime(item["updated_at"]),
                lambda item, updated: {..., "source_updated_at": updated})
    yield page.page(next_cursor=token)
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

from mpp_bus.canonical import Category, Channel, Document
from mpp_bus.canonical.records import CanonicalRecords
from mpp_bus.contract import CheckResult, Cursor, Page, Reject
from mpp_bus.errors import (
    AdapterError,
    AuthError,
    ConfigError,
    FatalError,
    RateLimitedError,
    RetriableError,
    SkippableError,
)
from mpp_bus.privacy import nik_problem, redact_text
from mpp_bus.transport.paging import Keyset

# What a mapping failure of one record looks like: skip it with a reason, never fail the page.
RECORD_ERRORS: tuple[type[Exception], ...] = (SkippableError, KeyError, ValueError, TypeError, AttributeError)


@dataclass(frozen=True)
class Vocabulary:
    """An agency's requirement-document, channel and category codes mapped onto the canonical vocabularies, from
    YAML::

        version: 1
        documents:
          BUKU_NIKAH: AKTA_NIKAH
          PETA_LOKASI: null      # no canonical document yet: shown in the description, never dropped
        channels:
          langsung: direct
        categories:
          health: kesehatan      # an agency category missing here rejects the service (skippable)
    """

    version: int
    documents: Mapping[str, Document | None]
    channels: Mapping[str, Channel]
    source: str
    categories: Mapping[str, Category] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"vocabulary mapping {path}: {exc}") from exc
        return cls.from_document(doc, path.name)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], source: str) -> Vocabulary:
        """The table from its parsed YAML (a file's, or inline in a declarative spec); ``source`` names it in
        errors and in the reasons of rejects."""
        try:
            documents = {str(k): (Document(v) if v is not None else None)
                         for k, v in (doc.get("documents") or {}).items()}
            channels = {str(k): Channel(v) for k, v in (doc.get("channels") or {}).items()}
            categories = {str(k): Category(v) for k, v in (doc.get("categories") or {}).items()}
            return cls(int(doc.get("version", 1)), documents, channels, source, categories)
        except (AttributeError, ValueError, TypeError) as exc:
            raise ConfigError(f"vocabulary mapping {source}: {exc}") from exc

    def requirements(self, codes: Iterable[str]) -> tuple[list[str], list[str]]:
        """(canonical document codes, agency codes with no canonical document yet); unknown codes are skippable."""
        canonical: list[str] = []
        other: list[str] = []
        for code in codes:
            if code not in self.documents:
                raise SkippableError(f"unknown requirement code {code[:40]!r}: add it to {self.source} "
                                     f"(version {self.version}) and re-run")
            target = self.documents[code]
            if target is None:
                other.append(code)
            elif target.value not in canonical:
                canonical.append(target.value)
        return canonical, other

    def category_of(self, code: object) -> str:
        """The canonical category of an agency category code; an unknown one is skippable, naming the table."""
        key = str(code).strip() if code is not None else ""
        if key not in self.categories:
            raise SkippableError(f"unknown category {key[:40]!r}: add it under `categories` in {self.source} "
                                 f"(version {self.version}) and re-run")
        return self.categories[key].value

    def channels_of(self, codes: Iterable[str]) -> list[str]:
        out: list[str] = []
        for code in codes:
            if code not in self.channels:
                raise SkippableError(f"unknown channel code {code[:40]!r}: add it to {self.source} and re-run")
            if self.channels[code].value not in out:
                out.append(self.channels[code].value)
        return out


def describe(description: str, other_requirements: list[str]) -> str:
    """The description, with requirements that have no canonical document listed so a citizen still sees them."""
    if not other_requirements:
        return description
    names = ", ".join(code.replace("_", " ") for code in other_requirements)
    return f"{description}\n\nPersyaratan lain: {names}.".strip()


NOTE_LENGTH = 1000  # Application.revision_note's limit


def note(value: object) -> str | None:
    """An agency's free-text note (what to fix) as the canonical model takes it: None when empty, cut to its limit
    rather than failing the record (a long note is still worth showing)."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text[:NOTE_LENGTH] or None


def checked_nik(value: object) -> str:
    problem = nik_problem(value)
    if problem:
        raise SkippableError(f"applicant id is not a valid NIK: {problem}")
    return value  # type: ignore[return-value]  # nik_problem returned None, so value is a str


def checked_times(submitted: datetime, status_at: datetime, updated: datetime) -> None:
    """An application cannot be submitted after it was last updated (a corrupt date, not a real record)."""
    if submitted > updated or status_at > updated:
        raise SkippableError("impossible dates: submitted or status time later than the last update")


def checked_record_times(record: Mapping[str, Any]) -> None:
    """``checked_times`` on a mapped application record: the ``check`` of a ``keyset_read`` whose page came
    validated in one pass (``CanonicalRecords``)."""
    checked_times(record["submitted_at"], record["status_at"], record["source_updated_at"])


def reject(exc: Exception, record_id: str | None, payload: Mapping[str, Any]) -> Reject:
    """A record that could not be mapped; the reason never repeats a NIK (the engine redacts the payload)."""
    reason = str(exc) if isinstance(exc, SkippableError) else f"{type(exc).__name__}: {exc}"
    return Reject(reason=redact_text(reason)[:500], record_id=text_id(record_id), payload=dict(payload))


def text_id(value: object) -> str | None:
    """A record id as text: agencies send strings (or integers); anything else (a list, a float) is no id."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def run_check(agency: str, probe: Callable[[], object]) -> CheckResult:
    """Run a cheap authenticated call and answer in words; never raises for an unreachable agency.

    A failed answer's ``details`` say what kind of failure it was, so a scheduler can tell "retry later"
    (``retriable``) from "a person must act": ``error_class``, ``retriable``, and for maintenance ``maintenance``,
    ``retry_after`` and the agency's own ``agency_message``."""
    start = time.perf_counter()
    try:
        probe()
    except AuthError as exc:
        return CheckResult(False, f"{agency}: credentials refused. {_detail(exc)}", _ms(start),
                           _details(exc, retriable=False))
    except RateLimitedError as exc:
        what = "agency down for maintenance" if exc.maintenance else "agency asked us to slow down"
        return CheckResult(False, f"{agency}: {what}. {_detail(exc)}", _ms(start), _details(exc, retriable=True))
    except RetriableError as exc:
        return CheckResult(False, f"{agency}: agency unreachable or failing. {_detail(exc)}", _ms(start),
                           _details(exc, retriable=True))
    except FatalError as exc:
        return CheckResult(False, f"{agency}: request refused. {_detail(exc)}", _ms(start),
                           _details(exc, retriable=False))
    return CheckResult(True, f"{agency}: reachable, credentials accepted", _ms(start))


def _detail(exc: AdapterError) -> str:
    """The error's own words without its ``[agency=...]`` prefix: the answer already names the agency (and a
    console reading ``[...]`` as markup printed the prefix as nothing, leaving a double space)."""
    return str(exc.args[0]) if exc.args else str(exc)


def _details(exc: Exception, *, retriable: bool) -> dict[str, object]:
    details: dict[str, object] = {"error_class": type(exc).__name__, "retriable": retriable}
    if isinstance(exc, RateLimitedError):
        details.update(retry_after=exc.retry_after, maintenance=exc.maintenance, agency_message=exc.agency_message)
        if exc.maintenance:
            details["error_class"] = "Maintenance"
    return details


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def map_items(items: Iterable[Any], build: Callable[[Any], dict[str, Any]],
              record_id: Callable[[Any], str | None],
              payload: Callable[[Any], Mapping[str, Any]] | None = None) -> tuple[list[dict[str, Any]], list[Reject]]:
    """Map each agency item with ``build``; an item that fails becomes a reject instead of failing the page."""
    records: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    for item in items:
        try:
            records.append(build(item))
        except RECORD_ERRORS as exc:
            kept = payload(item) if payload else (item if isinstance(item, Mapping) else {"value": item})
            rejects.append(reject(exc, _safe(record_id, item), kept))
    return records, rejects


def _safe(fn: Callable[[Any], str | None], item: Any) -> str | None:
    try:
        return fn(item)
    except RECORD_ERRORS:
        return None


class KeysetPage:
    """One page of an incremental read whose agency orders by ``(updated, id)`` and filters "changed since T"
    inclusively: a record re-served at the boundary second is skipped only when the same version of it was already
    handled there (the rule is ``Keyset``'s); the position advances past every record whose time could be read (even
    one that is then rejected, so a bad record is not fetched forever).

    A record's version is ``item_version(item)`` of the agency item as served, taken only for the records of the
    page's last second, when the position is read: ``build`` must not change the item (if it did, the record would
    only be delivered again, never lost)."""

    def __init__(self, start: Keyset | None) -> None:
        self.start = start
        self.records: list[dict[str, Any]] = []
        self.rejects: list[Reject] = []
        self._mark = None if start is None else (start.updated, start.id)
        self._tail: dict[str, Any] = {}  # id -> item handled at the mark's second in this page (the last copy wins)
        self._position = start
        self._settled = True

    def add(self, item: Any, record_id: str | None, updated: Callable[[], datetime],
            build: Callable[[datetime], dict[str, Any]],
            payload: Callable[[Any], Mapping[str, Any]] | None = None) -> None:
        """Add one agency item: ``updated`` reads its update time, ``build`` maps it; ``payload`` turns the item
        into a plain mapping for a reject (only called for a bad record). A whole page goes through ``extend``."""
        self.extend((item,), lambda _: record_id, lambda _: updated(), lambda _, moment: build(moment), payload)

    def extend(self, items: Iterable[Any], record_id: Callable[[Any], object],
               updated: Callable[[Any], datetime], build: Callable[[Any, datetime], dict[str, Any]],
               payload: Callable[[Any], Mapping[str, Any]] | None = None) -> None:
        """Add the agency items of a page: ``record_id(item)`` and ``updated(item)`` read its id and update time,
        ``build(item, updated)`` maps it; ``payload`` turns an item into a plain mapping for a reject (only called
        for a bad record). The loop is written out here, not through ``add``: it is the read's per-record path."""
        start = self.start
        records, rejects = self.records, self.rejects
        for item in items:
            moment: datetime | None = None
            rid: str | None = None
            try:
                rid = text_id(record_id(item))
                if not rid:
                    raise SkippableError("record without an id")
                moment = updated(item)
                if not isinstance(moment, datetime) or moment.tzinfo is None:
                    moment = None
                    raise SkippableError("the record's update time is not a date and time with a zone")
                if start is not None and start.knows(moment, rid) and \
                        start.replays(moment, rid, item_version(item)):
                    continue  # this very version was handled: the agency's filter is inclusive
                records.append(build(item, moment))
            except RECORD_ERRORS as exc:
                kept = payload(item) if payload else (item if isinstance(item, Mapping) else {"value": item})
                rejects.append(reject(exc, rid, kept))
            if moment is not None and rid:
                self._note(moment, rid, item)

    def extend_canonical(self, records: CanonicalRecords, agency: str, check: Callable[[Any], None] | None = None, *,
                         id_key: str = "application_id", updated_key: str = "source_updated_at") -> None:
        """The fast path of ``extend``: the page's records already validated into canonical ones (one pydantic-core
        pass, see ``mapped_record_type``), so ids and times are read, not parsed. ``check`` raises a
        ``SkippableError`` for a record the canonical rules let through but the agency's own rules refuse (it
        becomes a reject). Each record gets ``agency_id`` = ``agency`` (the validator leaves it out: see
        ``mapped_record_type``). A record's version is taken from the canonical record, or from its agency item when
        the records carry their ``sources`` (a reject's payload too: then a cursor and a reject are those of
        ``extend``). Only for a page with nothing added yet: its records stay ``CanonicalRecords``, which the engine
        does not validate again."""
        if self.records or self.rejects:
            raise ValueError("extend_canonical takes a whole page: this one already has records")
        start = self.start
        sources = records.sources
        kept = []
        for index, record in enumerate(records):
            rid, moment = record[id_key], record[updated_key]
            record["agency_id"] = agency  # before its version is taken: a re-read must digest the same record
            item = record if sources is None else sources[index]
            if start is not None and start.knows(moment, rid) and start.replays(moment, rid, item_version(item)):
                continue  # this very version was handled: the agency's filter is inclusive
            if check is not None:
                try:
                    check(record)
                except RECORD_ERRORS as exc:
                    payload = orjson.loads(orjson.dumps(record)) if sources is None else item
                    self.rejects.append(reject(exc, rid, payload))
                    self._note(moment, rid, item)
                    continue
            kept.append(record)
            self._note(moment, rid, item)
        self.records = CanonicalRecords(kept, records.model)

    def _note(self, moment: datetime, record_id: str, item: Any) -> None:
        mark = self._mark
        if mark is None or moment > mark[0]:
            self._mark, self._tail = (moment, record_id), {record_id: item}
        elif moment == mark[0]:
            if record_id > mark[1]:
                self._mark = (moment, record_id)
            self._tail[record_id] = item
        else:
            return  # an older record: the position and its versions stay as they are
        self._settled = False

    @property
    def position(self) -> Keyset | None:
        """The keyset position after the records added so far, with the versions handled at its second."""
        if not self._settled and self._mark is not None:
            updated, record_id = self._mark
            start = self.start
            versions: dict[str, str | None] = dict(start.seen) if start and start.updated == updated else {}
            versions.update((i, item_version(item)) for i, item in self._tail.items())
            self._position, self._settled = Keyset.at(updated, record_id, versions), True
        return self._position

    @property
    def moved(self) -> bool:
        """True when the position moved in the agency's order (new versions at the same place do not count)."""
        return self._mark != (None if self.start is None else (self.start.updated, self.start.id))

    def cursor(self, **extra: Any) -> Cursor:
        position = self.position
        return {**(position.to_cursor() if position else {}), **extra}

    def page(self, **extra: Any) -> Page:
        """The ``Page`` with the cursor after it (the keyset position plus ``extra``, e.g. the agency's token)."""
        return Page(self.records, self.cursor(**extra), self.rejects)


def item_version(item: Any) -> str | None:
    """A short digest of one agency item as served (keys sorted), the version ``Keyset`` compares; None when the item
    cannot be digested (it is then delivered again rather than skipped).

    NIK-like numbers are masked first, as the store shows them, so a version kept in a cursor tells nothing about a
    NIK that the store does not already show."""
    try:
        text = orjson.dumps(item, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    except TypeError:  # orjson.JSONEncodeError is a TypeError: an integer beyond 64 bits, a cycle, ...
        return None
    digest = hashlib.blake2b(redact_text(text.decode()).encode(), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode()  # 12 characters, never a run of 16 digits
