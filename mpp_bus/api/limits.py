"""The API's limits: identity look-ups counted in the store, and the performance report cached and rate-limited.

Identity look-ups (``POST /api/v1/identity/verify``) are guarded by three counters, taken together or not at all:

- per caller and NIK (``MPP_API_VERIFY_LIMIT_PER_NIK`` per ``MPP_API_VERIFY_WINDOW_SECONDS``): the guessing limit.
  A stranger's wrong guesses use up the stranger's own pair, never the owner's, who signs up through another caller.
- per caller (``MPP_API_VERIFY_LIMIT_PER_CALLER``): keeps one caller from flooding the registry.
- per NIK across callers (``MPP_API_VERIFY_LIMIT_PER_NIK_GLOBAL`` per ``MPP_API_VERIFY_GLOBAL_WINDOW_SECONDS``): high
  and short, so a crowd of callers is slowed down but nobody is locked out for long.

An attempt the registry never answered (an outage, a timeout, a refusal of our own credentials) is given back: it
told the caller nothing, so it must not count against the citizen.

The performance report is computed at most once per filter every ``MPP_API_REPORT_CACHE_SECONDS`` in a process, and a
caller may force a live computation at most ``MPP_API_REPORT_LIVE_PER_MINUTE`` times a minute (counted in the store).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Generic, TypeVar

from fastapi import HTTPException, status

from mpp_bus.api.models import PerformanceReport
from mpp_bus.api.settings import ApiSettings
from mpp_bus.store import Limit, RateCounters, Refusal, Store, Ticket

T = TypeVar("T")

IDENTITY_PAIR = "identity.caller_nik"
IDENTITY_CALLER = "identity.caller"
IDENTITY_NIK = "identity.nik"
REPORT_LIVE = "report.live"


def caller_key(subject: str) -> str:
    # A digest, so a subject that happens to hold personal data never lands in the counters table as it is.
    return hashlib.sha256(subject.encode("utf-8")).hexdigest()[:32]


class TtlCache(Generic[T]):
    """A small in-process cache of computed values by key, each kept for ``seconds``."""

    def __init__(self, seconds: float, *, max_entries: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        now = self.clock()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] > now:
                return found[1]
        value = compute()
        if self.seconds > 0:
            with self._lock:
                if len(self._entries) >= self.max_entries:  # the filters are caller input: bound the memory
                    self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                    if len(self._entries) >= self.max_entries:
                        self._entries.clear()
                self._entries[key] = (now + self.seconds, value)
        return value


class ApiLimits:
    """The limits of one app: the store's counters and the report cache."""

    def __init__(self, store: Store, settings: ApiSettings) -> None:
        self.settings = settings
        self.counters = RateCounters(store)
        self.reports: TtlCache[PerformanceReport] = TtlCache(settings.report_cache_seconds)

    def identity_limits(self, subject: str, nik_hash: str) -> list[Limit]:
        s, caller = self.settings, caller_key(subject)
        return [
            Limit(IDENTITY_PAIR, f"{caller}:{nik_hash}", s.verify_limit_per_nik, s.verify_window_seconds),
            Limit(IDENTITY_CALLER, caller, s.verify_limit_per_caller, s.verify_window_seconds),
            Limit(IDENTITY_NIK, nik_hash, s.verify_limit_per_nik_global, s.verify_global_window_seconds),
        ]

    def take_identity_attempt(self, subject: str, nik_hash: str, *, now: datetime) -> Ticket | Refusal:
        return self.counters.take(self.identity_limits(subject, nik_hash), now=now)

    def check_live_report(self, subject: str, *, now: datetime) -> None:
        """Count one live computation of the report by this caller; 429 with Retry-After when over the limit."""
        limit = Limit(REPORT_LIVE, caller_key(subject), self.settings.report_live_per_minute, 60)
        taken = self.counters.take([limit], now=now)
        if isinstance(taken, Refusal):
            raise too_many("too many live performance reports; use the cached report or try again later",
                           taken.retry_after)


def too_many(message: str, retry_after: int) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, message, headers={"Retry-After": str(retry_after)})
