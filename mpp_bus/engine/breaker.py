"""The circuit breaker of one agency: a down agency is paused instead of eating every scheduled run.

    closed --(failure_threshold consecutive failed runs)--> open --(reset_seconds pass)--> half_open
    half_open --(the trial run succeeds)--> closed
    half_open --(the trial run fails)--> open (the wait starts again)

While open, ``allow()`` refuses at once with ``CircuitOpenError`` (no call reaches the agency). The state lives in
a ``BreakerStates`` (the portal store in production, so CLI runs and Airflow tasks, separate processes, share it);
``MemoryBreakerStates`` serves one process and tests. The breaker is the engine's: adapters never see it, and the
state it keeps (``BreakerState``, ``BreakerStatus``) is a value type of the store, which persists it without knowing
the engine.

Failures that count are ``AdapterError``s left after the retry policy gave up (timeouts, 5xx, 429, maintenance,
refused requests); a bad record never counts, nor does a crash of the bus itself.

Example::

    breaker = CircuitBreaker(instance.id, instance.breaker, MemoryBreakerStates())
    breaker.allow()                      # raises CircuitOpenError while open
    try:
        read_everything()
    except AdapterError as exc:
        breaker.failed(exc)
        raise
    breaker.succeeded()
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from mpp_bus.config.agencies import BreakerConfig
from mpp_bus.errors import AdapterError, CircuitOpenError, SkippableError
from mpp_bus.privacy import redact_text
from mpp_bus.store.breakers import CLOSED, BreakerState, BreakerStatus

__all__ = [
    "CLOSED",
    "BreakerState",
    "BreakerStates",
    "BreakerStatus",
    "CircuitBreaker",
    "MemoryBreakerStates",
    "counts_as_failure",
]

MAX_ERROR = 500


class BreakerStates(Protocol):
    """Where breaker states are kept, one per agency."""

    def load(self, agency_id: str) -> BreakerStatus | None: ...

    def save(self, agency_id: str, status: BreakerStatus, *, now: datetime) -> None: ...


class MemoryBreakerStates:
    """Breaker states of one process (tests, a single long-running worker)."""

    def __init__(self) -> None:
        self._states: dict[str, BreakerStatus] = {}
        self._lock = threading.Lock()

    def load(self, agency_id: str) -> BreakerStatus | None:
        with self._lock:
            return self._states.get(agency_id)

    def save(self, agency_id: str, status: BreakerStatus, *, now: datetime) -> None:
        with self._lock:
            self._states[agency_id] = status


def counts_as_failure(exc: BaseException) -> bool:
    """An agency failure the breaker counts: not one bad record, not a refusal by the breaker, not a bus bug."""
    return isinstance(exc, AdapterError) and not isinstance(exc, SkippableError)


class CircuitBreaker:
    """The breaker of one agency, over a ``BreakerStates``; ``clock`` is injectable so tests never sleep."""

    def __init__(
        self,
        agency_id: str,
        config: BreakerConfig,
        states: BreakerStates,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.agency_id = agency_id
        self.config = config
        self.states = states
        self.clock = clock

    def status(self) -> BreakerStatus:
        """The current status; an open breaker whose wait is over reads as half-open."""
        held = self.states.load(self.agency_id) or CLOSED
        if held.state is BreakerState.OPEN and self._retry_in(held) <= 0:
            return replace(held, state=BreakerState.HALF_OPEN)
        return held

    def allow(self) -> BreakerState:
        """Let a run through (closed, or half-open for one trial) or refuse it with ``CircuitOpenError``."""
        status = self.status()
        if status.state is BreakerState.OPEN:
            raise CircuitOpenError(self.agency_id, self._retry_in(status))
        if status.state is BreakerState.HALF_OPEN:
            self.states.save(self.agency_id, status, now=self.clock())
        return status.state

    def succeeded(self) -> BreakerState:
        """The agency answered: close the breaker and forget past failures."""
        held = self.states.load(self.agency_id)
        if held is not None and held != CLOSED:
            self.states.save(self.agency_id, CLOSED, now=self.clock())
        return BreakerState.CLOSED

    def failed(self, exc: BaseException) -> BreakerState:
        """Count a failure if it is the agency's; open after the threshold, or at once when a trial fails."""
        status = self.status()
        if isinstance(exc, CircuitOpenError) or not counts_as_failure(exc):
            return status.state
        now = self.clock()
        failures = status.failures + 1
        error = redact_text(str(exc))[:MAX_ERROR]
        if status.state is BreakerState.HALF_OPEN or failures >= self.config.failure_threshold:
            status = BreakerStatus(BreakerState.OPEN, failures, now, error)
        else:
            status = BreakerStatus(BreakerState.CLOSED, failures, None, error)
        self.states.save(self.agency_id, status, now=now)
        return status.state

    def _retry_in(self, status: BreakerStatus) -> float:
        if status.opened_at is None:
            return 0.0
        return self.config.reset_seconds - (self.clock() - status.opened_at).total_seconds()
