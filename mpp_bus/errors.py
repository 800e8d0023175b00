"""Errors of mpp-bus, typed by what the caller should do next.

    MppBusError
     ├── ConfigError            fix the configuration (the message names the field)
 ├── InvalidSubmissionError a form or NIK the bus refuses before accepting it; ``problems`` says what, in Indonesian
     ├── AdapterError           raised while talking to an agency; carries agency, stream and record id
     │    ├── RetriableError    try again later: timeouts, dropped connections, 429, 5xx, maintenance
     │    │    └── RateLimitedError   the agency said when (``retry_after`` seconds); ``maintenance`` when it is
     │    │                           down for an announced window (HTTP 503 with Retry-After), with its message
     │    ├── FatalError        retrying will not help: bad credentials, 4xx, SOAP faults of our making
     │    │    ├── AuthError
     │    │    └── SubmissionRefused   the agency refused an application; ``reason`` is its word, for the citizen
     │    └── SkippableError    one record is bad: quarantine it and go on
     ├── CircuitOpenError       the agency failed repeatedly; calls are paused until the breaker half-opens
     └── StoreError             the portal store refused an operation
          ├── SyncLockedError   another writer holds this agency stream
          └── IdempotencyConflictError   an idempotency key was reused for a different submission

Lower-level errors (requests, zeep, SQLAlchemy) are translated at the boundary into the most specific of these,
chained with ``from``. Messages never contain a NIK, a name or a credential.
"""

from __future__ import annotations


class MppBusError(Exception):
    """Base of every error the bus raises on purpose."""


class ConfigError(MppBusError):
    """The configuration is invalid; the message names the file and field and says how to fix it."""


class AdapterError(MppBusError):
    """An error while reading from an agency."""

    def __init__(
        self,
        message: str,
        *,
        agency: str | None = None,
        stream: str | None = None,
        record_id: str | None = None,
    ) -> None:
        self.agency = agency
        self.stream = stream
        self.record_id = record_id
        super().__init__(message)

    def __str__(self) -> str:
        where = ", ".join(
            f"{k}={v}" for k, v in (("agency", self.agency), ("stream", self.stream), ("record", self.record_id)) if v
        )
        base = super().__str__()
        return f"[{where}] {base}" if where else base

    def located(self, *, agency: str | None = None, stream: str | None = None) -> AdapterError:
        """Fill in where the error happened if the raiser did not know."""
        self.agency = self.agency or agency
        self.stream = self.stream or stream
        return self


class RetriableError(AdapterError):
    """A transient failure: retry with backoff."""


class RateLimitedError(RetriableError):
    """The agency asked us to wait: slow down (HTTP 429), or it is down for maintenance (HTTP 503 with Retry-After;
    ``maintenance`` is true and ``agency_message`` holds what the agency said, redacted)."""

    def __init__(self, message: str, *, retry_after: float | None = None, maintenance: bool = False,
                 agency_message: str | None = None, **where: str | None) -> None:
        self.retry_after = retry_after
        self.maintenance = maintenance
        self.agency_message = agency_message
        super().__init__(message, **where)


class FatalError(AdapterError):
    """Retrying will not help; a person must act (fix credentials, config, or report to the agency)."""


class AuthError(FatalError):
    """The agency rejected our credentials."""


class SubmissionRefused(FatalError):
    """The agency refused a submitted application (an invalid form, a rule of its own). Resending the same
    application will not help: the citizen must change it. ``reason`` is the agency's own reason (Indonesian, shown to
    the citizen), with any 16-digit run masked by the raiser."""

    def __init__(self, reason: str, **where: str | None) -> None:
        self.reason = reason
        super().__init__(f"the agency refused the application: {reason}", **where)


class SkippableError(AdapterError):
    """One record cannot be mapped; the engine quarantines it and continues with the page."""


class CircuitOpenError(MppBusError):
    """The agency's circuit breaker is open after repeated failures."""

    def __init__(self, agency: str, retry_in: float) -> None:
        self.agency = agency
        self.retry_in = retry_in
        super().__init__(
            f"[agency={agency}] circuit breaker is open after repeated failures; the next attempt is allowed in "
            f"{retry_in:.0f} s. Check the agency's health, then re-run."
        )


class StoreError(MppBusError):
    """The portal store refused an operation."""


class SyncLockedError(StoreError):
    """Another sync of the same agency stream is running; only one writer is allowed."""


class IdempotencyConflictError(StoreError):
    """A client idempotency key already names another submission of the same citizen (a different service or form):
    the client must use a new key for a new submission."""


class InvalidSubmissionError(MppBusError):
    """A submission the bus refuses before accepting it: ``problems`` lists (field, message in Indonesian). The
    message never echoes what was entered."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        fields = ", ".join(f or "(form)" for f, _ in problems)
        super().__init__(f"the submission is invalid: {len(problems)} problem(s) in {fields}")
