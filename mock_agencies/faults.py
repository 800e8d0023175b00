"""Fault profiles: the ways a real agency system misbehaves, switched on by name and deterministic from the seed."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from mock_agencies.population import MASK64, mix64, stable_seed

PROFILES = ("none", "flaky", "rate_limit", "slow", "drop", "truncated", "malformed", "duplicates", "out_of_order",
            "maintenance")
DEFAULT_RATES = {"flaky": 0.1, "drop": 0.1, "truncated": 0.1, "malformed": 0.03, "duplicates": 0.05,
                 "out_of_order": 0.03}
DEFAULT_DELAY = 2.0

# How a malformed record is broken.
BAD_NIK, MISSING_ID, UNKNOWN_STATUS, IMPOSSIBLE_DATE = range(4)
CORRUPTION_NAMES = ("invalid_nik", "missing_id", "unknown_status", "impossible_date")
RECORD_PROFILES = frozenset({"malformed", "duplicates", "out_of_order"})  # profiles that change a page's records


@dataclass(frozen=True)
class CallFault:
    """What to do to one data call. kind: none, error, rate_limit, maintenance, slow, drop, truncate."""

    kind: str
    status: int = 200
    delay: float = 0.0


NO_FAULT = CallFault("none")


class Faults:
    """The fault profile of one server; a call counter makes per-call choices reproducible."""

    def __init__(self, seed: int, profile: str = "none", rate: float | None = None, delay: float | None = None):
        self._seed = stable_seed(seed, "faults")
        self._lock = threading.Lock()
        self.profile = "none"
        self.rate = 0.0
        self.delay = DEFAULT_DELAY
        self._calls = 0
        self.set(profile, rate, delay)

    def set(self, profile: str, rate: float | None = None, delay: float | None = None) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown fault profile {profile!r}; known profiles: {', '.join(PROFILES)}")
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if delay is not None and not 0.0 <= delay <= 600.0:
            raise ValueError("delay must be between 0 and 600 seconds")
        with self._lock:
            self.profile = profile
            self.rate = DEFAULT_RATES.get(profile, 0.0) if rate is None else rate
            self.delay = DEFAULT_DELAY if delay is None else delay
            self._calls = 0

    @property
    def shapes_records(self) -> bool:
        """Whether pages must go through AgencyServer.shape_page (record by record) rather than the fast writer."""
        return self.profile in RECORD_PROFILES

    def describe(self) -> dict[str, object]:
        return {"profile": self.profile, "rate": self.rate, "delay": self.delay, "calls": self._calls,
                "profiles": list(PROFILES)}

    def _hit(self, *parts: object) -> bool:
        return mix64(self._seed ^ stable_seed(self.profile, *parts)) % 1_000_000 < self.rate * 1_000_000

    def next_call(self) -> CallFault:
        """Count one data call and say what to do to it."""
        with self._lock:
            self._calls += 1
            call = self._calls
        profile = self.profile
        if profile == "maintenance":
            return CallFault("maintenance", 503)
        if profile == "rate_limit":
            return CallFault("rate_limit", 429) if call % 2 == 0 else NO_FAULT
        if profile == "slow":
            return CallFault("slow", delay=self.delay)
        if profile in ("flaky", "drop", "truncated") and self._hit("call", call):
            if profile == "flaky":
                return CallFault("error", (500, 502, 503)[mix64(call ^ self._seed) % 3])
            return CallFault("drop" if profile == "drop" else "truncate")
        return NO_FAULT

    # Record-level faults are a function of (dataset, index), so the truth can list them without serving anything.

    def _record_hit(self, dataset_seed: int, index: int, what: str) -> int | None:
        h = mix64(dataset_seed ^ self._seed ^ stable_seed(what) ^ (index * 0xD1B54A32D192ED03 & MASK64))
        return h if h % 1_000_000 < self.rate * 1_000_000 else None

    def corruption(self, dataset_seed: int, index: int) -> int | None:
        if self.profile != "malformed":
            return None
        h = self._record_hit(dataset_seed, index, "malformed")
        return None if h is None else (h >> 32) % 4

    def duplicated(self, dataset_seed: int, index: int) -> bool:
        return self.profile == "duplicates" and self._record_hit(dataset_seed, index, "duplicates") is not None

    def served_stale(self, dataset_seed: int, index: int) -> bool:
        return self.profile == "out_of_order" and self._record_hit(dataset_seed, index, "stale") is not None
