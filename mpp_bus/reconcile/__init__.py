"""Reconciliation: does the store hold what the agency holds? Counts and checksums per window of update time,
ids only for the windows that differ, and a re-sync of just those windows.

Example::

    report = compare(bus.store, adapter)
    print(report.windows_agreeing, report.missing, report.extra, report.different)
    if not report.ok:
        fix(bus.engine, adapter, report)
"""

from __future__ import annotations

from mpp_bus.reconcile.compare import Digest, ReconcileReport, Version, WindowDiff, compare, window_start
from mpp_bus.reconcile.fix import WindowRead, fix
from mpp_bus.reconcile.retry import RecordRead, RetryOutcome, retry

__all__ = ["Digest", "ReconcileReport", "RecordRead", "RetryOutcome", "Version", "WindowDiff", "WindowRead", "compare",
           "fix", "retry", "window_start"]
