"""The dispatcher: delivers an agency's waiting submissions through its adapter, exactly once at the agency.

For one agency, holding the store's dispatch lock (one dispatcher per agency at a time), for each due submission:

1. it is moved to ``sending`` (attempts + 1) and that is committed BEFORE the agency is called;
2. if an earlier attempt may have reached the agency (any attempt before this one) and the agency does not
   de-duplicate by itself (``adapter.resend_safe`` False), the adapter looks it up by its client reference first;
   agencies that do de-duplicate (an ``Idempotency-Key``, a SOAP request id) simply receive it again;
3. the receipt makes it ``delivered`` and, in the same transaction, the application row (status ``submitted``, by
   the agency's application number) is written the way a sync writes it, so it shows in the citizen's tracking at
   once and the next sync takes it over without a second row;
4. a refusal makes it ``refused`` with the agency's reason; a failure makes it ``retrying`` with backoff (the
   agency's retry policy, at least its ``Retry-After``) and counts on the shared circuit breaker; past the
   configured attempts or hours it is ``dead``. An error that sending again cannot change (a 4xx other than the
   refusal) makes it ``dead`` at once with the reason; refused credentials stop the agency's dispatch and leave the
   submission waiting, its attempt not counted, until an admin fixes them. Finished submissions lose their sealed
   personal data.

A dispatcher killed at any instant leaves rows in ``sending``; the next one treats them as "may have been sent".
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mpp_bus.canonical.status import Status
from mpp_bus.contract import Adapter, Receipt, Submission, UploadedFile
from mpp_bus.engine.applications import prepare_applications, write_applications
from mpp_bus.engine.breaker import CircuitBreaker
from mpp_bus.engine.outbox import Outbox
from mpp_bus.errors import (
    AdapterError,
    AuthError,
    CircuitOpenError,
    FatalError,
    InvalidSubmissionError,
    RateLimitedError,
    SubmissionRefused,
)
from mpp_bus.privacy import NikHasher, Sealer, redact_text
from mpp_bus.store import Store, SubmissionRecord, SubmissionState
from mpp_bus.store.reads.audit import Outcome

log = logging.getLogger("mpp_bus.engine.dispatch")

DISPATCH_STREAM = "dispatch"  # the store's writer lock of an agency's dispatcher
MAX_ERROR = 1000
FileSource = Callable[[str], bytes]
"""Reads an uploaded file by its content hash (the upload store the API writes)."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class DispatchResult:
    """What one dispatch of one agency did."""

    agency_id: str
    delivered: int = 0
    refused: int = 0
    retrying: int = 0
    dead: int = 0
    found_by_lookup: int = 0  # delivered by an earlier attempt, found by the client reference instead of resent
    attempts: int = 0
    stopped: str | None = None  # why the dispatch stopped early (the breaker opened)
    latencies: list[float] = field(default_factory=list)  # seconds from acceptance to receipt, per delivery

    @property
    def ok(self) -> bool:
        return self.stopped is None


@dataclass(frozen=True)
class RetryPlan:
    """When to try again after a failed attempt, and when to give up."""

    initial_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 0.5
    max_attempts: int = 25
    max_age: timedelta = timedelta(hours=72)

    def wait(self, attempts: int, retry_after: float | None = None, *, rng: random.Random | None = None) -> float:
        """Seconds before attempt ``attempts + 1``: exponential from ``initial_wait``, capped, with jitter, and
        never shorter than the agency's ``Retry-After``."""
        base = min(self.max_wait, self.initial_wait * (2 ** max(attempts - 1, 0)))
        wait = base + (rng or random).uniform(0, self.jitter)
        return max(wait, retry_after or 0.0)

    def gives_up(self, record: SubmissionRecord, now: datetime) -> bool:
        return record.attempts >= self.max_attempts or now - record.created_at >= self.max_age


class Dispatcher:
    """Delivers the outbox of one agency at a time.

    Example::

        dispatcher = Dispatcher(store, NikHasher(settings.nik_secret()), Sealer(settings.outbox_key_bytes()))
        result = dispatcher.dispatch(adapter, breaker=bus.breaker(adapter.agency_id))
        print(result.delivered, result.retrying, result.refused)
    """

    def __init__(self, store: Store, hasher: NikHasher, sealer: Sealer, *, plan: RetryPlan | None = None,
                 max_attempts: int = 25, max_age: timedelta = timedelta(hours=72), files: FileSource | None = None,
                 lock_wait: float = 0.0, batch: int = 100, clock: Callable[[], datetime] = _now) -> None:
        """``plan`` fixes the retry plan for every agency; without it each agency's ``retry`` policy sets the
        backoff and ``max_attempts``/``max_age`` when a submission is given up as dead."""
        self.store = store
        self.max_attempts = max_attempts
        self.max_age = max_age
        self.hasher = hasher
        self.outbox = Outbox(store, hasher, sealer)
        self.plan = plan
        self.files = files
        self.lock_wait = lock_wait
        self.batch = batch
        self.clock = clock

    def plan_for(self, adapter: Adapter[Any]) -> RetryPlan:
        if self.plan is not None:
            return self.plan
        retry = adapter.instance.retry
        return RetryPlan(initial_wait=retry.initial_wait, max_wait=retry.max_wait, jitter=retry.jitter,
                         max_attempts=self.max_attempts, max_age=self.max_age)

    def dispatch(self, adapter: Adapter[Any], *, breaker: CircuitBreaker | None = None,
                 limit: int | None = None) -> DispatchResult:
        """Deliver the agency's due submissions (at most ``limit``); returns what happened. Holds the agency's
        dispatch lock throughout (``SyncLockedError`` when another dispatcher has it)."""
        agency = adapter.instance.agency
        result = DispatchResult(agency.id)
        plan = self.plan_for(adapter)
        self.store.register_agency(agency, adapter=adapter.instance.adapter)
        with self.store.lock(agency.id, DISPATCH_STREAM, wait=self.lock_wait):
            seen: set[int] = set()
            while limit is None or result.attempts < limit:
                due = [r for r in self.store.due_submissions(agency.id, now=self.clock(), limit=self.batch)
                       if r.id not in seen]
                if not due:
                    break
                for record in due:
                    if limit is not None and result.attempts >= limit:
                        break
                    seen.add(record.id)
                    if breaker is not None:
                        try:
                            breaker.allow()
                        except CircuitOpenError as exc:
                            result.stopped = str(exc)
                            return result
                    self._deliver_one(adapter, record, plan, result, breaker)
                    if result.stopped is not None:
                        return result
        log.info("dispatch finished: agency=%s delivered=%d refused=%d retrying=%d dead=%d", agency.id,
                 result.delivered, result.refused, result.retrying, result.dead)
        return result

    # --- one submission ---------------------------------------------------------------------------------------------

    def _deliver_one(self, adapter: Adapter[Any], record: SubmissionRecord, plan: RetryPlan, result: DispatchResult,
                     breaker: CircuitBreaker | None) -> None:
        now = self.clock()
        if plan.gives_up(record, now):
            why = (f"given up after {record.attempts} attempts over "
                   f"{(now - record.created_at).total_seconds() / 3600:.1f} h; last error: {record.last_error or '-'}")
            if self.store.move_submission(record, SubmissionState.DEAD, now=now, outcome=Outcome.FAILED,
                                          last_error=why):
                result.dead += 1
            return
        maybe_sent = record.in_doubt or record.state is SubmissionState.SENDING
        try:
            submission = self.outbox.open(record, attempt=record.attempts + 1, resend=maybe_sent)
        except (InvalidSubmissionError, ValueError) as exc:  # unreadable: another key, or tampered with
            if self.store.move_submission(record, SubmissionState.DEAD, now=now, outcome=Outcome.FAILED,
                                          last_error=f"the sealed submission cannot be opened: {exc}"):
                result.dead += 1
            return
        if submission.uploads and self.files is None:
            # The dispatcher's configuration, not the submission, is at fault: stop before claiming, use up nothing.
            result.stopped = ("a submission has uploaded files but the dispatcher has no upload store; set the upload "
                              "folder, then dispatch again")
            return
        claimed = self.store.move_submission(record, SubmissionState.SENDING, now=now, attempts=record.attempts + 1,
                                             last_attempt_at=now, in_doubt=True)
        if claimed is None:
            return  # moved by someone else since it was read
        result.attempts += 1
        looked_up = False
        try:
            receipt: Receipt | None = None
            if maybe_sent and not adapter.resend_safe:
                receipt = adapter.find_submission(submission)
                looked_up = True
                if receipt is not None:
                    result.found_by_lookup += 1
            if receipt is None:
                receipt = adapter.submit(self._with_files(submission))
        except SubmissionRefused as exc:
            if breaker is not None:
                breaker.succeeded()  # the agency answered: a refusal is the application's, not the agency's fault
            if self.store.move_submission(claimed, SubmissionState.REFUSED, now=self.clock(), outcome=Outcome.DENIED,
                                          refusal_reason=redact_text(exc.reason)):
                result.refused += 1
            return
        except AdapterError as exc:
            if breaker is not None:
                breaker.failed(exc)
            # A rate limit (429, or 503 with Retry-After) answers before the agency takes the request: it is certainly
            # not there. Any other failure (a cut connection, a 5xx, a timeout) may come after the agency took it;
            # and a doubt from before stays until a look-up has cleared it.
            # An agency that says no (credentials, a 4xx) did not take the request either.
            doubt = (maybe_sent and not looked_up) or not isinstance(exc, RateLimitedError | FatalError)
            if isinstance(exc, AuthError):
                self._held(claimed, exc, plan, result, in_doubt=doubt)
            elif isinstance(exc, FatalError):
                self._rejected(claimed, exc, result, in_doubt=doubt)
            else:
                self._failed(claimed, exc, plan, result, in_doubt=doubt)
            return
        if breaker is not None:
            breaker.succeeded()
        self._delivered(adapter, claimed, submission, receipt, result)

    def _with_files(self, submission: Submission) -> Submission:
        if not submission.uploads:
            return submission
        if self.files is None:
            raise FatalError("the submission has uploaded files but the dispatcher has no upload store; set the "
                             "upload folder", agency=submission.agency_id)
        uploads = []
        for upload in submission.uploads:
            try:
                content = self.files(upload.content_hash)
            except OSError as exc:
                raise FatalError(f"uploaded file {upload.content_hash[:12]} is missing from the upload store",
                                 agency=submission.agency_id) from exc
            uploads.append(UploadedFile(upload.requirement, upload.content_hash, upload.media_type, upload.filename,
                                        content))
        return Submission(submission.agency_id, submission.service_code, submission.reference,
                          submission.applicant_nik, submission.form, submission.documents, tuple(uploads),
                          submission.attempt, submission.resend)

    def _failed(self, claimed: SubmissionRecord, exc: AdapterError, plan: RetryPlan, result: DispatchResult, *,
                in_doubt: bool) -> None:
        now = self.clock()
        error = redact_text(str(exc))[:MAX_ERROR]
        if plan.gives_up(claimed, now):
            if self.store.move_submission(claimed, SubmissionState.DEAD, now=now, outcome=Outcome.FAILED,
                                          last_error=f"given up after {claimed.attempts} attempts: {error}"):
                result.dead += 1
            return
        retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
        wait = plan.wait(claimed.attempts, retry_after)
        if self.store.move_submission(claimed, SubmissionState.RETRYING, now=now, outcome=Outcome.FAILED,
                                      last_error=error, next_attempt_at=now + timedelta(seconds=wait),
                                      in_doubt=in_doubt):
            result.retrying += 1
        log.warning("submission %s to agency %s will be retried in %.1f s: %s", claimed.reference,
                    claimed.agency_id, wait, error)

    def _held(self, claimed: SubmissionRecord, exc: AdapterError, plan: RetryPlan, result: DispatchResult, *,
              in_doubt: bool) -> None:
        """The agency refused our credentials: the whole agency is blocked until an admin fixes them, and no
        submission is at fault. This one waits as ``retrying`` with its attempt given back (an outage of
        credentials must not use up attempts), and the dispatch of the agency stops with the reason, so the admin
        sees one clear failure instead of every waiting submission failing the same way."""
        now = self.clock()
        error = redact_text(str(exc))[:MAX_ERROR]
        if self.store.move_submission(claimed, SubmissionState.RETRYING, now=now, outcome=Outcome.FAILED,
                                      attempts=claimed.attempts - 1, last_error=error, in_doubt=in_doubt,
                                      next_attempt_at=now + timedelta(seconds=plan.max_wait)):
            result.retrying += 1
        result.stopped = f"the agency refused the bus's credentials; fix them, then dispatch again: {error}"
        log.error("dispatch of agency %s stopped: %s", claimed.agency_id, error)

    def _rejected(self, claimed: SubmissionRecord, exc: FatalError, result: DispatchResult, *,
                  in_doubt: bool) -> None:
        """The agency answered with an error that sending again cannot change (a 4xx that is not its refusal, an
        answer the adapter cannot read): ``dead`` at once with the reason, shown to the admin and the citizen,
        instead of retrying at the longest wait for days to the same end."""
        now = self.clock()
        error = redact_text(str(exc))[:MAX_ERROR]
        doubt = " (the agency may have received it: check there before the citizen applies again)" if in_doubt else ""
        if self.store.move_submission(claimed, SubmissionState.DEAD, now=now, outcome=Outcome.FAILED,
                                      last_error=f"the agency cannot take this submission{doubt}: {error}"):
            result.dead += 1
        log.warning("submission %s to agency %s is dead: %s", claimed.reference, claimed.agency_id, error)

    def _delivered(self, adapter: Adapter[Any], claimed: SubmissionRecord, submission: Submission, receipt: Receipt,
                   result: DispatchResult) -> None:
        now = self.clock()
        mapping = adapter.status_mapping
        status = mapping(receipt.agency_status) if mapping is not None else Status.SUBMITTED
        accepted = receipt.accepted_at.astimezone(UTC)
        record = {
            "application_id": receipt.application_id, "service_code": claimed.service_code,
            "applicant_nik": submission.applicant_nik, "status": status, "agency_status": receipt.agency_status,
            "status_at": accepted, "submitted_at": accepted, "sla_due_date": receipt.sla_due_date,
            "output_document": None, "source_updated_at": accepted,
        }
        writer = self.store.writer
        prepared = prepare_applications(writer, self.hasher, claimed.agency_id, [(0, record)], now)
        with self.store.session() as session:
            session.prepare_applications()  # the bulk writer's staging (temporary tables on PostgreSQL)
            with session.transaction() as tx:
                moved = tx.move_submission(claimed, SubmissionState.DELIVERED, now=now,
                                           application_id=receipt.application_id,
                                           agency_status=receipt.agency_status, accepted_by_agency_at=accepted)
                if moved is None:
                    return
                write_applications(tx, claimed.agency_id, prepared)
        result.delivered += 1
        result.latencies.append(max(0.0, (now - claimed.created_at).total_seconds()))
