"""An agency's applications as a pure function of (seed, dataset, index), plus a small overlay of advances.

Base records have strictly increasing update times (start + index * step), the last one just before "today" (the
real date in WIB, or MOCK_TODAY), so the records changed since T are found arithmetically, never by materialising the
dataset, and a demo on any day shows a current mix: recent applications mostly open and within their SLA, older ones
decided. Everything is a function of (seed, dataset, index, today). Advanced records live in an overlay whose
update times are later than every base record; they are served after the base range, in (updated, id) order.

Pages without record-level faults are written straight from the hash into an agency's Layout (`render`), with no
record object in between: that halves what the mock costs the bus it is measuring.
"""

from __future__ import annotations

import bisect
import os
import random
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from mock_agencies.catalogs import Lifecycle, Service
from mock_agencies.population import MASK64, Population, mix64, stable_seed
from mock_agencies.timefmt import (
    WIB_OFFSET,
    YEARS,
    DayTable,
    TimeFormat,
    add_working_days,
    mock_today,
    now,
    year_of,
)

LEGACY_START = 1735689600  # 2025-01-01T00:00:00Z: where the fixed timeline (MOCK_TIMELINE=2025) starts
BASE_SPAN = 300 * 86400  # the base range spans at most ~300 days and ends at the start of "today"
SHARED_CITIZENS = 300  # citizens 0..299 own application i in every dataset: one person, several agencies
_GOLD = 0x9E3779B97F4A7C15


class App(NamedTuple):
    index: int
    id: str
    service: Service
    nik: str
    status: str | int
    status_at: int  # epoch seconds
    submitted_at: int
    sla_due_day: int  # days since 1970-01-01
    document_number: str | None
    updated_at: int
    previous_status: str | int | None  # the status before this one, if any (used to serve stale copies)


Key = tuple[int, str | None]  # (updated, id) after which to continue; id None means "updated >= T"
_LOW3 = tuple(f"{n:03d}" for n in range(1000))


def _digits(first: int, stop: int) -> list[str]:
    """f"{i:09d}" for i in first..stop-1, a thousand at a time: several times cheaper than formatting each."""
    out: list[str] = []
    while first < stop:
        high, low = divmod(first, 1000)
        end = min(stop, (high + 1) * 1000)
        head = f"{high:06d}"
        out += [head + tail for tail in _LOW3[low:low + end - first]]
        first = end
    return out


class Layout:
    """How an agency writes one application, as a template with its fields in the order all three agencies use.

    `${name}` marks a field and the text between fields is written as is. Times are written with a TimeFormat (a
    zone designator belongs to the template), the status with `status_text` (str() unless the agency writes more
    with a status, such as the note that says what to fix), the document number as document[0] % number or, when
    there is none, as document[1]; `quote` escapes the constant part of a document number (for XML).
    """

    FIELDS = ("id", "service", "nik", "status", "status_at", "submitted_at", "sla_due", "document", "updated_at")

    def __init__(self, template: str, *, status_at: TimeFormat, submitted_at: TimeFormat, sla_due: DayTable,
                 updated_at: TimeFormat, document: tuple[str, str], quote: Callable[[str], str] = str,
                 status_text: Callable[[str | int], str] = str) -> None:
        parts = re.split(r"\$\{(\w+)\}", template)
        if tuple(parts[1::2]) != self.FIELDS or document[0].count("%s") != 1:
            raise ValueError(f"a layout has the fields {', '.join(self.FIELDS)} in this order, and one %s in "
                             "document[0]")
        if not status_at.offset == submitted_at.offset == updated_at.offset:
            raise ValueError("a layout writes all its times in one zone")
        self.text = tuple(parts[0::2])
        self.status_at, self.submitted_at, self.updated_at = status_at, submitted_at, updated_at
        self.sla_due = sla_due
        self.document = document
        self.quote = quote
        self.status_text = status_text

    def write(self, r: App) -> str:
        """One record object in this layout: for overlaid records and pages with record faults (the rest are
        written by Dataset._render_run, which must give the same text)."""
        t = self.text
        doc = self.document[1] if r.document_number is None else self.document[0] % self.quote(r.document_number)
        return (f"{t[0]}{r.id}{t[1]}{r.service.code}{t[2]}{r.nik}{t[3]}{self.status_text(r.status)}{t[4]}"
                f"{self.status_at(r.status_at)}{t[5]}{self.submitted_at(r.submitted_at)}{t[6]}{self.sla_due[r.sla_due_day]}{t[7]}{doc}{t[8]}"
                f"{self.updated_at(r.updated_at)}{t[9]}")


class Dataset:
    """One agency's (or one licensing tenant's) applications."""

    def __init__(self, name: str, seed: int, size: int, population: Population, lifecycle: Lifecycle,
                 services: tuple[Service, ...], id_prefix: str, today: int | None = None) -> None:
        """today: the day number (since 1970-01-01) the timeline ends on; None reads MOCK_TODAY or the date in WIB."""
        if size < 0:
            raise ValueError("a dataset cannot have a negative size")
        self.name = name
        self.size = size
        self.seed = stable_seed(seed, "dataset", name)
        self.population = population
        self.lifecycle = lifecycle
        self.services = services
        self.id_prefix = id_prefix
        self.today = mock_today() if today is None else today
        self.step = max(1, min(3600, BASE_SPAN // max(size, 1)))
        # the last base record is updated one step before today's 00.00 WIB, whatever the size
        self.start = self.today * 86400 - WIB_OFFSET - max(size, 1) * self.step
        # MOCK_TIMELINE=2025 keeps the former fixed timeline (from 2025-01-01, a day per status step, no settling),
        # which recorded runs were made against
        self.legacy = os.environ.get("MOCK_TIMELINE") == "2025"
        if self.legacy:
            self.start = LEGACY_START
        self._paths = self._build_paths()
        self._closed = self._closed_paths()
        self._n_services = len(services)
        self._n_citizens = population.count
        self._niks = population.niks
        self._issued = lifecycle.issued
        # calendar days from a submission day to its SLA due day, by service and weekday (0 = Monday)
        self._sla = tuple(tuple(add_working_days((wd - 3) % 7, s.sla_days) - (wd - 3) % 7 for wd in range(7))
                          for s in services)
        # Seconds one step of a status path takes, by service: a sixteenth of its SLA in calendar days, so a path of
        # three steps at the usual pace is decided well before the deadline and a long, slow one after it.
        self._units = tuple(86400 if self.legacy else max(3600, (s.sla_days * 7 // 5 + 1) * 86400 // 16)
                            for s in services)
        # A record last updated before its service's settle time (two thirds of an SLA ago) is mostly decided
        # (_closed_paths): what is still open is recent and mostly within its SLA; the few old open ones are overdue.
        end = self.start + max(size, 1) * self.step
        self._settle = tuple(0 if self.legacy else end - max(2 * 86400, (s.sla_days * 7 // 5 + 1) * 86400 * 2 // 3)
                             for s in services)
        self._lock = threading.Lock()
        self._overlay: dict[int, tuple[str | int, int, str | int]] = {}  # index -> (status, updated, previous)
        self._order: list[tuple[int, str, int]] = []  # (updated, id, index) of overlaid records, sorted
        self._overlaid: list[int] = []  # overlaid indexes, sorted
        self._advance_calls = 0
        self._submitted: dict[int, App] = {}  # index (from size on) -> an application submitted to this mock
        self._layouts: dict[Layout, tuple[Any, ...]] = {}  # per layout, what _render_run needs (_layout_tables)

    # --- base records ----------------------------------------------------------------------------------------------

    def _build_paths(self) -> tuple[tuple[str | int, ...], ...]:
        """1,024 status histories drawn once; a record picks one, so most records are done and some are open."""
        rng = random.Random(self.seed)
        paths = []
        for _ in range(1024):
            path = [self.lifecycle.initial]
            while not self.lifecycle.is_terminal(path[-1]) and rng.random() < 0.78:
                options = self.lifecycle.transitions[path[-1]]
                weights = [0.75, 0.17, 0.08][: len(options)]
                path.append(rng.choices(options, weights)[0])
            paths.append(tuple(path))
        return tuple(paths)

    def _closed_paths(self) -> tuple[int, ...]:
        """What an old record picks instead of path k: k itself when it ends in a terminal status or, for one open
        path in 32, to keep a few old cases open (overdue); else the next path that ends in a terminal status."""
        terminal = [k for k, p in enumerate(self._paths) if self.lifecycle.is_terminal(p[-1])]
        return tuple(k if k % 32 == 0 or self.lifecycle.is_terminal(p[-1])
                     else terminal[bisect.bisect_left(terminal, k) % len(terminal)]
                     for k, p in enumerate(self._paths))

    def id_of(self, i: int) -> str:
        return f"{self.id_prefix}{i:09d}"

    def index_of(self, record_id: str) -> int | None:
        if not record_id.startswith(self.id_prefix):
            return None
        digits = record_id[len(self.id_prefix):]
        if not digits.isdigit():
            return None
        i = int(digits)
        return i if 0 <= i < self.size else None

    def base_updated(self, i: int) -> int:
        return self.start + i * self.step

    def _base(self, i: int) -> App:
        return self._base_run(i, i + 1, ())[0]

    def _base_run(self, first: int, stop: int, skip: Any, limit: int | None = None) -> list[App]:
        """Base records first..stop-1 not in `skip`, at most `limit` of them: the hot path (100k records/s), so
        mix64 is inlined and every attribute is read once per page, not once per record."""
        seed, start, step, prefix, settle = self.seed, self.start, self.step, self.id_prefix, self._settle
        services, n_services, paths, niks, n_citizens = (self.services, self._n_services, self._paths, self._niks,
                                                         self._n_citizens)
        issued, sla, units, closed = self._issued, self._sla, self._units, self._closed
        limit = stop - first if limit is None else limit
        out: list[App] = []
        append = out.append
        i = first
        while i < stop and len(out) < limit:
            if i in skip:
                i += 1
                continue
            x = ((seed ^ (i * _GOLD & MASK64)) + _GOLD) & MASK64
            x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
            h = x ^ (x >> 31)
            k = h % n_services
            service = services[k]
            updated = start + i * step
            p = (h >> 12) & 1023
            path = paths[p if updated >= settle[k] else closed[p]]
            status = path[-1]
            status_at = updated - (h >> 24) % 600
            submitted = status_at - (len(path) - 1) * units[k] * ((h >> 34) % 5 + 1) - (h >> 40) % 3600
            sday = submitted // 86400
            citizen = i % n_citizens if i < SHARED_CITIZENS else (h >> 44) % n_citizens
            doc = f"{service.doc_prefix}/{i:09d}/{year_of(status_at)}" if status in issued else None
            append(App(i, f"{prefix}{i:09d}", service, niks[citizen], status, status_at, submitted,
                       sday + sla[k][(sday + 3) % 7], doc, updated, path[-2] if len(path) > 1 else None))
            i += 1
        return out

    def record(self, i: int) -> App:
        """The current version of application i."""
        base = self._base(i)
        over = self._overlay.get(i)
        if over is None:
            return base
        return self._apply(base, over)

    def _apply(self, base: App, over: tuple[str | int, int, str | int]) -> App:
        status, updated, previous = over
        doc = base.document_number
        if status in self.lifecycle.issued and doc is None:
            doc = f"{base.service.doc_prefix}/{base.index:09d}/{year_of(updated)}"
        return base._replace(status=status, status_at=updated, updated_at=updated, document_number=doc,
                             previous_status=previous)

    def _overlaid_record(self, index: int) -> App:
        """A record served after the base range: submitted to this mock, or a base record advanced."""
        submitted = self._submitted.get(index)
        return submitted if submitted is not None else self._apply(self._base(index), self._overlay[index])

    def stale_version(self, i: int) -> App | None:
        """An older version of application i (older status, older update time), for out-of-order faults."""
        current = self.record(i)
        if i in self._overlay:
            base = self._base(i)
            if base.status != current.status:
                return base
        if current.previous_status is None:
            return None
        older = current.updated_at - 3600 - (i % 7) * 600
        doc = current.document_number if current.previous_status in self.lifecycle.issued else None
        return current._replace(status=current.previous_status, status_at=older, updated_at=older,
                                document_number=doc, previous_status=None)

    # --- paging ----------------------------------------------------------------------------------------------------

    def _first_base(self, key: Key) -> int:
        updated, after_id = key
        if updated < self.start:
            return 0
        k, rem = divmod(updated - self.start, self.step)
        if rem:
            first = k + 1
        elif after_id is None:
            first = k
        else:
            first = k if self.id_of(k) > after_id else k + 1
        return min(first, self.size)

    def _first_overlay(self, key: Key) -> int:
        updated, after_id = key
        if after_id is None:
            return bisect.bisect_left(self._order, (updated,))
        return bisect.bisect_right(self._order, (updated, after_id, MASK64))

    def _overlaid_between(self, lo: int, hi: int) -> int:
        """How many overlaid indexes lie in [lo, hi]."""
        return bisect.bisect_right(self._overlaid, hi) - bisect.bisect_left(self._overlaid, lo)

    def _nth_base(self, first: int, n: int) -> int:
        """The index of the n-th (0-based) base record at or after `first` that is not overlaid."""
        j = first + n
        while True:
            nj = first + n + self._overlaid_between(first, j)
            if nj == j:
                return j
            j = nj

    def count_since(self, updated: int) -> int:
        with self._lock:
            first = self._first_base((updated, None))
            base = self.size - first - self._overlaid_between(first, self.size - 1)
            return base + len(self._order) - self._first_overlay((updated, None))

    def page(self, key: Key, limit: int, offset: int = 0) -> list[App]:
        """Up to `limit` records after `key` in (updated, id) order, skipping `offset` of them first."""
        out: list[App] = []
        with self._lock:
            first = self._first_base(key)
            base_left = self.size - first - self._overlaid_between(first, self.size - 1)
            if offset < base_left:
                i = self._nth_base(first, offset) if offset else first
                offset = 0
                out = self._base_run(i, self.size, self._overlay, limit)
            else:
                offset -= base_left
            pos = self._first_overlay(key) + offset
            while pos < len(self._order) and len(out) < limit:
                index = self._order[pos][2]
                out.append(self._overlaid_record(index))
                pos += 1
        return out

    def render(self, key: Key, limit: int, layout: Layout, offset: int = 0) -> tuple[list[str], tuple[int, str] | None]:
        """page(key, limit, offset) written in `layout`, and the (updated, id) of the last record if more follow.

        Base records are written by _render_run; overlaid ones (few) as record objects by layout.write."""
        out: list[str] = []
        last: tuple[int, str] | None = None
        with self._lock:
            first = self._first_base(key)
            base_left = self.size - first - self._overlaid_between(first, self.size - 1)
            i = self.size
            if offset < base_left:
                i = self._nth_base(first, offset) if offset else first
                offset = 0
                i, written = self._render_base(i, limit, layout, out)
                if written >= 0:
                    last = (self.base_updated(written), self.id_of(written))
            else:
                offset -= base_left
            pos = self._first_overlay(key) + offset
            while pos < len(self._order) and len(out) < limit:
                updated, record_id, index = self._order[pos]
                out.append(layout.write(self._overlaid_record(index)))
                last = (updated, record_id)
                pos += 1
            more = self.size - i - self._overlaid_between(i, self.size - 1) > 0 or pos < len(self._order)
        return out, (last if more else None)

    def _render_base(self, i: int, limit: int, layout: Layout, out: list[str]) -> tuple[int, int]:
        """Write base records from i on into `out`, around the overlaid ones, until it holds `limit`. Returns the
        index to go on from and the index of the last record written (-1 if none)."""
        tables = self._layouts.get(layout) or self._layout_tables(layout)
        overlaid = self._overlaid
        j = bisect.bisect_left(overlaid, i)
        written = -1
        while len(out) < limit and i < self.size:
            block_end = overlaid[j] if j < len(overlaid) else self.size
            stop = min(block_end, i + limit - len(out))
            if stop > i:
                out += self._render_run(i, stop, tables)
                written = stop - 1
            i = stop
            if i == block_end < self.size:  # an overlaid record: it is served after the base range
                i, j = i + 1, j + 1
        return i, written

    def _layout_tables(self, layout: Layout) -> tuple[Any, ...]:
        """What _render_run needs for a layout, prepared once per dataset: the text around each service and each
        status path, and day tables filled for every day a base record can fall on."""
        text = layout.text
        doc_open, _, doc_close = layout.document[0].partition("%s")
        services = tuple((text[1] + s.code + text[2], sla, doc_open + layout.quote(f"{s.doc_prefix}/"), unit,
                          settle + layout.updated_at.offset)
                         for s, sla, unit, settle in zip(self.services, self._sla, self._units, self._settle,
                                                         strict=True))
        paths = tuple((text[3] + layout.status_text(p[-1]) + text[4], p[-1] in self._issued, len(p) - 1)
                      for p in self._paths)
        # the earliest submission and the latest update of a base record, and the longest SLA, with a day to spare
        # on either side for a time zone
        earliest = self.start - 600 - max(p[2] for p in paths) * max(self._units) * 5 - 3600
        latest = self.base_updated(max(self.size - 1, 0))
        first, last = earliest // 86400 - 1, latest // 86400 + max(max(sla) for sla in self._sla) + 1
        tables = (services, paths, text[0] + self.id_prefix, text[5], text[6], text[7], doc_close + text[8],
                  layout.document[1] + text[8], text[9], layout.updated_at.offset,
                  *((f.days.cover(first, last), f.times) for f in (layout.status_at, layout.submitted_at,
                                                                    layout.updated_at)),
                  layout.sla_due.cover(first, last), YEARS.cover(first, last))
        self._layouts[layout] = tables
        return tables

    def _render_run(self, first: int, stop: int, tables: tuple[Any, ...]) -> list[str]:
        """Base records first..stop-1 written out: _base_run and an agency's writer fused into one loop, with no
        record object and no call per field. It must compute what _base_run computes; a test holds them together.
        Times are computed in the layout's zone (UTC + zone seconds), the one the days and times tables are in."""
        (services, paths, head, after_status, after_submitted, after_sla, doc_tail, no_doc, tail, zone,
         (a_days, a_times), (b_days, b_times), (u_days, u_times), sla_days, years) = tables
        seed, start, step, closed = self.seed, self.start + zone, self.step, self._closed
        niks, n_citizens, n_services = self._niks, self._n_citizens, self._n_services
        out: list[str] = []
        append = out.append
        for i, digits in zip(range(first, stop), _digits(first, stop), strict=True):
            x = ((seed ^ (i * _GOLD & MASK64)) + _GOLD) & MASK64
            x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
            h = x ^ (x >> 31)
            service, sla, doc_head, unit, settle = services[h % n_services]
            u = start + i * step  # updated
            p = (h >> 12) & 1023
            status, issued, steps = paths[p if u >= settle else closed[p]]
            a = u - (h >> 24) % 600  # status time
            b = a - steps * unit * ((h >> 34) % 5 + 1) - (h >> 40) % 3600  # submitted
            sday = (b - zone) // 86400  # in UTC
            nik = niks[i % n_citizens if i < SHARED_CITIZENS else (h >> 44) % n_citizens]
            doc = f"{doc_head}{digits}/{years[(a - zone) // 86400]}{doc_tail}" if issued else no_doc
            append(f"{head}{digits}{service}{nik}{status}{a_days[a // 86400]}{a_times[a % 86400]}{after_status}"
                   f"{b_days[b // 86400]}{b_times[b % 86400]}{after_submitted}"
                   f"{sla_days[sday + sla[(sday + 3) % 7]]}{after_sla}{doc}{u_days[u // 86400]}{u_times[u % 86400]}"
                   f"{tail}")
        return out

    def iter_all(self) -> Iterator[App]:
        for i in range(self.size):
            yield self.record(i)

    # --- advancing -------------------------------------------------------------------------------------------------

    def advance(self, count: int, clock: Callable[[], int] = now) -> list[str]:
        """Move `count` open applications one step forward along the lifecycle; a deterministic choice."""
        if self.size == 0:
            return []
        advanced: list[str] = []
        with self._lock:
            self._advance_calls += 1
            call = self._advance_calls
            stamp = max(clock(), self.base_updated(self.size - 1) + 1)
            tries = 0
            while len(advanced) < count and tries < count * 50 + 100:
                h = mix64(self.seed ^ stable_seed("advance", call, tries))
                tries += 1
                i = h % self.size
                current = self.record(i)
                options = self.lifecycle.transitions.get(current.status)
                if not options or current.id in advanced:
                    continue
                new_status = options[0] if (h >> 40) % 10 < 8 else options[(h >> 44) % len(options)]
                # strictly later than the version it replaces, even for two advances within one second
                self._set_overlay(i, (new_status, max(stamp, current.updated_at + 1), current.status))
                advanced.append(current.id)
        return advanced

    # --- submissions -----------------------------------------------------------------------------------------------

    def submit(self, service_code: str, nik: str, clock: Callable[[], int] = now) -> App:
        """A new application, as a citizen's submission creates it: initial status, served after every record so
        far (an incremental sync takes it over). Raises KeyError for a service this dataset does not offer."""
        k = {s.code: n for n, s in enumerate(self.services)}[service_code]
        service = self.services[k]
        with self._lock:
            index = self.size + len(self._submitted)
            latest = self._order[-1][0] if self._order else 0
            stamp = max(clock(), self.base_updated(self.size - 1) + 1 if self.size else 0, latest)
            day = stamp // 86400
            record = App(index, self.id_of(index), service, nik, self.lifecycle.initial, stamp, stamp,
                         day + self._sla[k][(day + 3) % 7], None, stamp, None)
            self._submitted[index] = record
            bisect.insort(self._order, (stamp, record.id, index))
        return record

    def submitted(self) -> list[App]:
        with self._lock:
            return list(self._submitted.values())

    def _set_overlay(self, i: int, value: tuple[str | int, int, str | int]) -> None:
        old = self._overlay.get(i)
        if old is not None:
            self._order.remove((old[1], self.id_of(i), i))
        else:
            bisect.insort(self._overlaid, i)
        self._overlay[i] = value
        bisect.insort(self._order, (value[1], self.id_of(i), i))
