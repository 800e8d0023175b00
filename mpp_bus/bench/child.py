"""One benchmark scenario in its own process: ``python -m mpp_bus.bench.child`` with its spec as JSON on stdin.

A fresh process per scenario means its peak resident memory (``VmHWM``, see ``peak_rss_mib``) is the sync's own,
without the benchmark driver, the mock agencies or an earlier scenario in it. The result is one JSON object on stdout.

Spec: ``{"store_url", "instance": {...agency instance...}, "connection": {...}, "kind": "full" | "incremental" |
"batches", "advance": {"url", "count", "batches"}}``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from mpp_bus.bench.common import BENCH_NIK_KEY, peak_rss_mib
from mpp_bus.config import AgencyInstance
from mpp_bus.contract import StreamName, build_adapter
from mpp_bus.engine import RunResult, SyncEngine
from mpp_bus.mocks import advance as advance_at_agency
from mpp_bus.privacy import NikHasher
from mpp_bus.store import create_store


def run(spec: dict[str, Any]) -> dict[str, Any]:
    store = create_store(spec["store_url"])
    engine = SyncEngine(store, NikHasher(BENCH_NIK_KEY))
    instance = AgencyInstance.model_validate(spec["instance"])
    try:
        if spec["kind"] == "batches":
            out = _batches(engine, instance, spec)
        else:
            result, seconds = _sync(engine, instance, spec["connection"], full_refresh=spec["kind"] == "full")
            out = _describe(result, seconds)
    finally:
        store.dispose()
    out["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return out


def _sync(engine: SyncEngine, instance: AgencyInstance, connection: dict[str, Any], *,
          full_refresh: bool) -> tuple[RunResult, float]:
    adapter = build_adapter(instance, connection)
    try:
        started = time.perf_counter()
        result = engine.sync(adapter, StreamName.APPLICATIONS, full_refresh=full_refresh)
        seconds = time.perf_counter() - started
    finally:
        adapter.close()
    if not result.ok:
        raise RuntimeError(f"the {instance.id} sync did not succeed: {result.error}")
    return result, seconds


def _batches(engine: SyncEngine, instance: AgencyInstance, spec: dict[str, Any]) -> dict[str, Any]:
    """``batches`` rounds of: the agency advances ``count`` applications, then an incremental sync."""
    advance = spec["advance"]
    rounds = []
    last_second = None
    for _ in range(int(advance["batches"])):
        # The mock agencies stamp changes in whole seconds, and an incremental read resumes after the last (time, id)
        # it saw: changes stamped in that same second with a smaller id would be taken as already read. Real
        # changes are spread in time; the batches are not, so each waits for a new second (outside the timing).
        while last_second is not None and int(time.time()) <= last_second:
            time.sleep(0.05)
        advanced = len(advance_at_agency(advance["url"], instance.config.get("tenant", ""), int(advance["count"])))
        last_second = int(time.time())
        result, seconds = _sync(engine, instance, spec["connection"], full_refresh=False)
        rounds.append({**_describe(result, seconds), "advanced": advanced})
    return {"batch_size": int(advance["count"]), "batches": rounds}


def _describe(result: RunResult, seconds: float) -> dict[str, Any]:
    stages = result.stages.as_dict() if result.stages is not None else {}
    return {
        "read": result.read,
        "stored": result.stored,
        "unchanged": result.unchanged,
        "stale": result.stale,
        "quarantined": result.quarantined,
        "seconds": round(seconds, 4),
        "records_per_s": round(result.read / seconds) if seconds > 0 else None,
        "stages": {name: round(value, 4) for name, value in stages.items()},
    }


def main() -> int:
    print(json.dumps(run(json.load(sys.stdin))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
