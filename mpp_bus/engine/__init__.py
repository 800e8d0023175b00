"""The sync engine: validate, pseudonymise, upsert, keep history, quarantine, move the cursor; one page at a time."""

from __future__ import annotations

from mpp_bus.engine.result import RunProgress, RunResult
from mpp_bus.engine.sync import SyncEngine

__all__ = ["RunProgress", "RunResult", "SyncEngine"]
