"""The sync engine: reads an adapter's pages and keeps the portal store in step, one transaction per page.

For every page, in one transaction: the good records are upserted (guarded by their source time), their status
history appended, the bad ones quarantined (redacted) and the cursor after the page stored. A crash at any instant
therefore resumes from the last committed page with nothing lost or doubled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from mpp_bus.canonical.entities import Application, Service
from mpp_bus.contract.adapter import Adapter
from mpp_bus.contract.stream import (
    CONDITIONAL,
    Page,
    Reject,
    StreamName,
    StreamSpec,
    SyncMode,
    conditional_cursor,
)
from mpp_bus.engine.applications import Prepared, prepare_applications, write_applications
from mpp_bus.engine.breaker import CircuitBreaker
from mpp_bus.engine.catalog import write_services
from mpp_bus.engine.prefetch import Prefetcher, switch_interval
from mpp_bus.engine.result import RunProgress, RunResult, StageTimes
from mpp_bus.engine.validation import MAX_RECORD_ID, Invalid, invalid, validate_page
from mpp_bus.errors import AdapterError
from mpp_bus.privacy import NikHasher, redact, redact_text
from mpp_bus.store import (
    STORED,
    SUPERSEDED,
    CursorState,
    PageTransaction,
    QuarantineRow,
    RunCounts,
    RunStatus,
    Store,
    SyncSession,
)

log = logging.getLogger("mpp_bus.engine")

MAX_ERROR = 4000
# A run that stored this many applications refreshes the planner's statistics: right after a bulk load they still
# describe a small table, and a look-up of 1,000 ids then scanned a million-row agency (450 ms instead of 13).
ANALYZE_AFTER = 10_000

# stream -> (canonical model, id field); pages are validated into dicts by the model's rules (canonical.records)
_MODELS: dict[str, tuple[type[BaseModel], str]] = {
    StreamName.CATALOG: (Service, "code"),
    StreamName.APPLICATIONS: (Application, "application_id"),
}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Run:
    run_id: int
    agency_id: str
    spec: StreamSpec
    mode: str
    started: float
    counts: RunCounts = field(default_factory=RunCounts)
    pages: int = 0
    stages: StageTimes = field(default_factory=StageTimes)
    # Insert the next page's applications before looking them up (see write_applications): true while most are new
    optimistic: bool = False
    not_modified: bool = False  # a full stream answered "unchanged": keep what is stored, withdraw nothing
    validators: Any = None  # a full stream's validators for its next read (Page.validators)
    # A record of this stream waits in quarantine: each page then resolves the rows of the records it stores
    quarantine_open: bool = False


@dataclass
class _Staged:
    """A page read, validated and (applications) prepared, waiting for its write."""

    page: Page
    good: list[tuple[int, Any]]
    bad: list[Invalid]
    prepared: Prepared | None
    now: datetime


class SyncEngine:
    """Runs syncs of one agency stream at a time into a store.

    Example::

        engine = SyncEngine(create_store(url, upgrade=True), NikHasher(settings.nik_secret()))
        result = engine.sync(adapter, "applications")
        print(result.status, result.read, result.stored, result.quarantined)

    ``lock_wait`` is how long a sync waits for another writer of the same agency stream (0: fail at once with
    ``SyncLockedError``). ``prefetch`` is how many pages are read, validated and prepared ahead in a background
    thread while the engine writes (0: all in the engine's thread).
    """

    def __init__(self, store: Store, hasher: NikHasher, *, lock_wait: float = 0.0, prefetch: int = 1) -> None:
        self.store = store
        self.hasher = hasher
        self.lock_wait = lock_wait
        self.prefetch = prefetch

    def sync(
        self,
        adapter: Adapter[Any],
        stream: StreamName | str,
        *,
        full_refresh: bool = False,
        progress: Callable[[RunProgress], None] | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> RunResult:
        """Sync one stream of one agency; raises what the adapter raised after recording the failed run.

        With a ``breaker``, a run of an agency whose breaker is open is refused at once (recorded as failed, with
        ``CircuitOpenError``), and the run's outcome moves the breaker; its state is kept on the run."""
        spec = adapter.stream(str(stream))
        agency = adapter.instance.agency
        mode = SyncMode.FULL.value if full_refresh or spec.mode is SyncMode.FULL else SyncMode.INCREMENTAL.value
        self.store.register_agency(agency, adapter=adapter.instance.adapter)
        with self.store.lock(agency.id, spec.name.value, wait=self.lock_wait):
            run_id = self.store.open_run(agency.id, spec.name.value, mode, now=_now())
            run = _Run(run_id, agency.id, spec, mode, time.monotonic())
            log.info("sync started: agency=%s stream=%s mode=%s run=%d", agency.id, spec.name.value, mode, run_id)
            try:
                if breaker is not None:
                    breaker.allow()
                self._read(adapter, run, full_refresh, progress)
            except BaseException as exc:
                error = _describe(exc, agency.id, spec.name.value)
                self._finish_safely(run, error, _breaker_after(breaker, exc))
                raise
            state = None if breaker is None else breaker.succeeded().value
            return self._finish(run, RunStatus.SUCCEEDED, None, state)

    # --- reading ------------------------------------------------------------------------------------------------

    def _read(
        self, adapter: Adapter[Any], run: _Run, full_refresh: bool, progress: Callable[[RunProgress], None] | None
    ) -> None:
        spec, agency_id = run.spec, run.agency_id
        with self.store.session() as session:
            if spec.name is StreamName.APPLICATIONS:
                session.prepare_applications()
            held = session.load_cursor(agency_id, spec.name.value)
            run.quarantine_open = session.has_open_quarantine(agency_id, spec.name.value)
            position = _start(spec, held, full_refresh)
            run.optimistic = position.cursor is None  # a first or full read: most applications are likely new
            read = adapter.read(spec.name, position.cursor)
            if spec.name is StreamName.CATALOG and adapter.submits():
                read = _with_forms(adapter, read)
            pages = self._staged(read, run)
            if self.prefetch > 0:
                pages = Prefetcher(pages, self.prefetch)
            handover: AbstractContextManager[None] = nullcontext()
            if self.prefetch > 0 and self.store.writer.remote:
                handover = switch_interval.lowered()
            with handover:
                position = self._write_pages(session, run, pages, position, progress)
            if spec.name is StreamName.APPLICATIONS and run.counts.stored >= ANALYZE_AFTER:
                mark = time.perf_counter()
                session.refresh_statistics()
                run.stages.write += time.perf_counter() - mark
            if spec.mode is SyncMode.FULL:
                with session.transaction() as tx:
                    if spec.name is StreamName.CATALOG and not run.not_modified:
                        run.counts.withdrawn += tx.withdraw_unseen(agency_id, position.generation, now=_now())
                    done = CursorState(conditional_cursor(run.validators), position.generation, full_read_open=False)
                    tx.save_cursor(agency_id, spec.name.value, done, now=_now())
                    tx.record_progress(run.run_id, run.counts)

    def _write_pages(self, session: SyncSession, run: _Run, pages: Iterator[_Staged], position: CursorState,
                     progress: Callable[[RunProgress], None] | None) -> CursorState:
        """Write each staged page with the cursor after it, one transaction a page; returns the last position."""
        spec, agency_id = run.spec, run.agency_id
        stages, clock = run.stages, time.perf_counter
        try:
            while True:
                mark = clock()
                staged = next(pages, None)
                stages.fetch += clock() - mark
                if staged is None:
                    return position
                run.not_modified = run.not_modified or staged.page.not_modified
                run.validators = staged.page.validators or run.validators
                with session.transaction() as tx:
                    counts = self._write_page(tx, run, staged, position.generation)
                    mark = clock()
                    position = _advance(spec, position, staged.page)
                    tx.save_cursor(agency_id, spec.name.value, position, now=_now())
                    run.counts.add(counts)
                    tx.record_progress(run.run_id, run.counts)
                stages.write += clock() - mark
                run.pages += 1
                self._report(run, counts, progress)
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    def _staged(self, pages: Iterator[Page], run: _Run) -> Iterator[_Staged]:
        """Each page validated and, for applications, pseudonymised and laid out as rows: work that needs no store,
        done in the read-ahead thread while the page before is written."""
        model, id_field = _MODELS[run.spec.name]
        stages, clock = run.stages, time.perf_counter
        applications = run.spec.name is StreamName.APPLICATIONS
        try:
            for page in pages:
                now = _now()
                mark = clock()
                good, bad = validate_page(model, page.records, id_field)
                good, foreign = _own_records(good, page.records, id_field, run.agency_id)
                bad.extend(foreign)
                validated = clock()
                stages.validate += validated - mark
                prepared = None
                if applications:
                    prepared = prepare_applications(self.store.writer, self.hasher, run.agency_id, good, now)
                    stages.map += clock() - validated
                yield _Staged(page, good, bad, prepared, now)
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    def _write_page(self, tx: PageTransaction, run: _Run, staged: _Staged, generation: int) -> RunCounts:
        page, bad, now = staged.page, staged.bad, staged.now
        id_field = _MODELS[run.spec.name][1]
        stages = run.stages
        if staged.prepared is not None:
            outcome = write_applications(tx, run.agency_id, staged.prepared, optimistic=run.optimistic,
                                         stages=stages)
            run.optimistic = outcome.mostly_new  # the next page is likely to look like this one
            counts = outcome.counts
            bad.extend(invalid(i, page.records[i], id_field, reason) for i, reason in outcome.refused)
        else:
            mark = time.perf_counter()
            counts = write_services(tx, run.agency_id, staged.good, generation=generation, now=now)
            stages.write += time.perf_counter() - mark
        mark = time.perf_counter()
        quarantined = [self._quarantine_row(run, item.record_id, item.reason, item.payload, now) for item in bad]
        quarantined.extend(self._reject_row(run, reject, now) for reject in page.rejects)
        if run.quarantine_open:
            self._resolve_quarantine(tx, run, staged, bad, quarantined, now)
        tx.add_quarantine(quarantined)
        run.quarantine_open = run.quarantine_open or bool(quarantined)
        stages.write += time.perf_counter() - mark
        counts.read += len(page.records) + len(page.rejects)
        counts.quarantined += len(quarantined)
        return counts

    def _resolve_quarantine(self, tx: PageTransaction, run: _Run, staged: _Staged, bad: list[Invalid],
                            quarantined: list[QuarantineRow], now: datetime) -> None:
        """Close the open quarantine rows of the records this page stored, and of those it quarantines again (the
        new row supersedes the old): one set-based statement each, only while the stream has open rows."""
        id_field = _MODELS[run.spec.name][1]
        refused = {item.index for item in bad}
        stored = [record[id_field] for i, record in staged.good if i not in refused]
        stream = run.spec.name.value
        tx.resolve_quarantine(run.agency_id, stream, stored, resolution=STORED, run_id=run.run_id, now=now)
        again = [row["record_id"] for row in quarantined if row["record_id"]]
        tx.resolve_quarantine(run.agency_id, stream, again, resolution=SUPERSEDED, run_id=run.run_id, now=now)

    def _quarantine_row(
        self, run: _Run, record_id: str | None, reason: str, payload: Any, now: datetime
    ) -> QuarantineRow:
        return {
            "run_id": run.run_id,
            "agency_id": run.agency_id,
            "stream": run.spec.name.value,
            "record_id": record_id,
            "reason": reason,
            "payload": payload,
            "created_at": now,
        }

    def _reject_row(self, run: _Run, reject: Reject, now: datetime) -> QuarantineRow:
        record_id = None if reject.record_id is None else redact_text(reject.record_id)[:MAX_RECORD_ID]
        payload = None if reject.payload is None else redact(reject.payload)
        return self._quarantine_row(run, record_id, redact_text(reject.reason), payload, now)

    # --- reporting ----------------------------------------------------------------------------------------------

    def _report(self, run: _Run, page: RunCounts, progress: Callable[[RunProgress], None] | None) -> None:
        log.debug(
            "page %d: agency=%s stream=%s read=%d stored=%d unchanged=%d stale=%d quarantined=%d",
            run.pages,
            run.agency_id,
            run.spec.name.value,
            page.read,
            page.stored,
            page.unchanged,
            page.stale,
            page.quarantined,
        )
        if progress is not None:
            c = run.counts
            progress(
                RunProgress(
                    run.run_id,
                    run.agency_id,
                    run.spec.name.value,
                    run.pages,
                    c.read,
                    c.stored,
                    c.unchanged,
                    c.stale,
                    c.quarantined,
                    time.monotonic() - run.started,
                )
            )

    def _finish(
        self, run: _Run, status: RunStatus, error: str | None, breaker_state: str | None = None
    ) -> RunResult:
        duration = time.monotonic() - run.started
        c = run.counts
        record = self.store.finish_run(
            run.run_id, status=status, counts=c, duration_s=duration, now=_now(), error=error,
            breaker_state=breaker_state,
        )
        level = logging.INFO if status is RunStatus.SUCCEEDED else logging.ERROR
        log.log(
            level,
            "sync %s: agency=%s stream=%s run=%d read=%d stored=%d unchanged=%d stale=%d quarantined=%d "
            "withdrawn=%d in %.2fs%s",
            status,
            run.agency_id,
            run.spec.name.value,
            run.run_id,
            c.read,
            c.stored,
            c.unchanged,
            c.stale,
            c.quarantined,
            c.withdrawn,
            duration,
            f": {error}" if error else "",
        )
        return RunResult(**vars(record), stages=run.stages)

    def _finish_safely(self, run: _Run, error: str, breaker_state: str | None = None) -> None:
        # Recording the failure must not hide the exception that caused it.
        try:
            self._finish(run, RunStatus.FAILED, error, breaker_state)
        except Exception:
            log.exception("could not record the failed run %d of agency %s", run.run_id, run.agency_id)


def _breaker_after(breaker: CircuitBreaker | None, exc: BaseException) -> str | None:
    """Count a failed run on the breaker; a store error doing so must not hide the run's own error."""
    if breaker is None:
        return None
    try:
        return breaker.failed(exc).value
    except Exception:
        log.exception("could not record the failure on the circuit breaker of agency %s", breaker.agency_id)
        return None


def _start(spec: StreamSpec, held: CursorState | None, full_refresh: bool) -> CursorState:
    """Where a run starts: the stored cursor, or the beginning (a new generation for FULL streams)."""
    generation = held.generation if held else 0
    if spec.mode is SyncMode.FULL:
        if held is not None and held.full_read_open and not full_refresh:
            return CursorState(held.cursor, generation, full_read_open=True)  # resume the interrupted read
        # the validators a complete read left (conditional_cursor): a full refresh asks without them
        validators = None if full_refresh or held is None or held.cursor is None else held.cursor
        return CursorState(validators if validators and CONDITIONAL in validators else None, generation + 1,
                           full_read_open=True)
    return CursorState(None if full_refresh or held is None else held.cursor, generation, full_read_open=False)


def _advance(spec: StreamSpec, position: CursorState, page: Page) -> CursorState:
    if spec.mode is SyncMode.FULL:
        return CursorState(page.cursor, position.generation, full_read_open=True)
    # An incremental page without a cursor keeps the last one: going back to the start would re-read everything.
    cursor = page.cursor if page.cursor is not None else position.cursor
    return CursorState(cursor, position.generation, full_read_open=False)


def _own_records(
    good: list[tuple[int, Any]], records: list[Any], id_field: str, agency_id: str
) -> tuple[list[tuple[int, Any]], list[Invalid]]:
    """Records must belong to the agency being synced; another agency's record is quarantined, never stored."""
    if all(r["agency_id"] == agency_id for _, r in good):
        return good, []
    mine = [(i, r) for i, r in good if r["agency_id"] == agency_id]
    foreign = [
        invalid(i, records[i], id_field, f"agency_id: the record belongs to another agency, not to {agency_id}")
        for i, r in good
        if r["agency_id"] != agency_id
    ]
    return mine, foreign


def _describe(exc: BaseException, agency_id: str, stream: str) -> str:
    """The error kept on the run row: adapter errors as they are (their messages are written to be safe), anything
    else with its type, NIK-like numbers masked either way."""
    if isinstance(exc, AdapterError):
        text = str(exc.located(agency=agency_id, stream=stream))
    else:
        text = f"{type(exc).__name__}: {exc}"
    return redact_text(text)[:MAX_ERROR]


def _with_forms(adapter: Adapter[Any], pages: Iterator[Page]) -> Iterator[Page]:
    """Catalog pages with each service's ``accepts_submissions`` and ``form_schema`` filled from the adapter's
    forms, so an adapter ships its forms as data and never repeats them in its mapping."""
    for page in pages:
        for record in page.records:
            if isinstance(record, dict) and isinstance(record.get("code"), str):
                record.update(adapter.catalog_form_fields(record["code"]))
        yield page
