"""One page of the service catalog: upsert changed services, mark unchanged ones as seen in this generation."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from mpp_bus.canonical.entities import Service
from mpp_bus.store import PageTransaction, RunCounts


def write_services(
    tx: PageTransaction, agency_id: str, records: list[tuple[int, dict[str, Any]]], *, generation: int, now: datetime
) -> RunCounts:
    counts = RunCounts()
    latest: dict[str, dict[str, Any]] = {}
    for _, record in records:
        # Validated already: the model only fills in defaults and gives the stored (JSON) form.
        m = Service.model_construct(**record)
        if m.code in latest:  # a duplicate within the page: the last one wins
            counts.unchanged += 1
        latest[m.code] = _row(agency_id, m, generation, now)
    stored = tx.current_services(agency_id, latest.keys())
    changed, seen = [], []
    for code, row in latest.items():
        held = stored.get(code)
        if held is not None and held.content_hash == row["content_hash"] and not held.withdrawn:
            seen.append(code)
        else:  # new, changed, or back after a withdrawal
            changed.append(row)
    tx.upsert_services(changed)
    tx.mark_seen(agency_id, seen, generation)
    counts.stored += len(changed)
    counts.unchanged += len(seen)
    return counts


def _row(agency_id: str, m: Service, generation: int, now: datetime) -> dict[str, Any]:
    data = m.model_dump(mode="json", exclude={"agency_id"})
    content_hash = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return {
        **data,
        "agency_id": agency_id,
        "content_hash": content_hash,
        "seen_generation": generation,
        "withdrawn_at": None,
        # The canonical Service carries no source update time; the column waits for adapters that report one.
        "source_updated_at": None,
        "synced_at": now,
    }
