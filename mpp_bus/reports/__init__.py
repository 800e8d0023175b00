"""Performance reporting (pelaporan kinerja): SLA compliance, processing time and backlog per agency and service.

    rows = performance(store)          # computed now from the status history
    refresh(store)                     # recompute and store the snapshot the API serves (the report DAG calls this)
    stamp, rows = latest(store)        # the stored snapshot
"""

from __future__ import annotations

from mpp_bus.reports.performance import FINISHED, ServicePerformance, latest, performance, refresh

__all__ = ["FINISHED", "ServicePerformance", "latest", "performance", "refresh"]
