"""The benchmark driver: mock agencies with N records, throw-away stores, one child process per scenario.

For each path (REST: the licensing adapter; SOAP: the Dukcapil adapter through zeep) and each store (PostgreSQL,
SQLite) it runs, each in a fresh process: a full sync of N records, an incremental sync with nothing changed, and
``batches`` rounds of "the agency advances ``batch_size`` applications, then an incremental sync" (the first and the
last round show whether cost grows with the store). Everything it starts or creates is removed again, also on
Ctrl-C or SIGTERM: the child process and the mock agencies by their PID, the PostgreSQL database, the temp dir.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from mpp_bus.bench.common import stop_on_sigterm
from mpp_bus.mocks import MockAgencyProcess
from mpp_bus.store import create_store
from mpp_bus.store.database import scratch_database

PATHS = ("rest", "soap")
STORES = ("postgres", "sqlite")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PAGE_SIZE = 1000
# The mock agencies' published demo credentials.
CONNECTIONS = {
    "licensing": {"conn_type": "http", "login": "mpp-bus", "password": "oss-rahasia"},
    "dukcapil": {"conn_type": "http", "login": "mpp-bus", "password": "dukcapil-rahasia"},
}
ADAPTERS = {"rest": "licensing", "soap": "dukcapil"}


@dataclass
class BenchOptions:
    records: int = 100_000
    paths: Sequence[str] = PATHS
    stores: Sequence[str] = STORES
    incremental_batches: int = 10
    batch_size: int = 1000
    postgres_url: str = field(default_factory=lambda: os.environ.get("MPP_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    seed: int = 2024
    citizens: int = 5000
    # Full syncs and floors per path and store; the median of each is reported (one run is noisy on a busy machine).
    repeat: int = 1


Report = Callable[[str], None]


def run_bench(options: BenchOptions, report: Report = lambda _: None) -> dict[str, Any]:
    """Run every scenario and return the figures as one JSON-ready object."""
    _check(options)
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    with stop_on_sigterm(), tempfile.TemporaryDirectory(prefix="mpp-bench-") as tmp:
        report(f"starting the mock agencies with {options.records:,} applications per dataset")
        # A high rate limit: the benchmark measures the bus, not the licensing system's throttle.
        with MockAgencyProcess(seed=options.seed, citizens=options.citizens, applications=options.records,
                          rate_limit=1_000_000, startup_timeout=120) as mocks:
            for store_kind in options.stores:
                for path in options.paths:
                    with _store(store_kind, Path(tmp), options.postgres_url) as url:
                        fresh = partial(_store, store_kind, Path(tmp), options.postgres_url)
                        results.append(_scenarios(options, path, store_kind, url, mocks.urls, report, fresh))
    return {
        "records": options.records,
        "page_size": PAGE_SIZE,
        "incremental_batches": options.incremental_batches,
        "repeat": options.repeat,
        "batch_size": options.batch_size,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "total_seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }


def _check(options: BenchOptions) -> None:
    for name, chosen, known in (("path", options.paths, PATHS), ("store", options.stores, STORES)):
        unknown = [c for c in chosen if c not in known]
        if unknown or not chosen:
            raise ValueError(f"unknown {name} {', '.join(unknown) or '(none)'}; known: {', '.join(known)}")
    if options.records < 1 or options.incremental_batches < 0 or options.batch_size < 1 or options.repeat < 1:
        raise ValueError("records, batch size and repeat must be positive, incremental batches at least 0")


def _scenarios(options: BenchOptions, path: str, store_kind: str, url: str, urls: dict[str, str],
               report: Report, fresh_store: Callable[[], AbstractContextManager[str]]) -> dict[str, Any]:
    from mpp_bus.bench.floor import stored_fingerprint  # psycopg and lxml: only when a benchmark runs

    adapter = ADAPTERS[path]
    instance = _instance(path, urls[adapter])
    base = {"store_url": url, "instance": instance, "connection": CONNECTIONS[adapter]}
    label = f"{path} -> {store_kind}"
    engine_rows: dict[str, Any] = {}
    fulls: list[dict[str, Any]] = []
    floors: list[dict[str, Any]] = []
    # Engine and floor take turns, so a machine that gets busier or quieter meanwhile weighs on both alike. The
    # first full sync fills ``url``, which the incremental scenarios then use; repeats go into fresh stores.
    # Before the incremental batches, which move the agency's data on: every run reads the same records.
    for turn in range(options.repeat):
        report(f"{label}: full sync of {options.records:,} records" + _turn(turn, options.repeat))
        with nullcontext(url) if turn == 0 else fresh_store() as target:
            fulls.append(_child({**base, "store_url": target, "kind": "full"}))
            if turn == 0:  # what the engine stores is the same every turn; one look is enough
                engine_rows = stored_fingerprint(target, instance["id"])
        report(f"{label}: {fulls[-1]['records_per_s']:,} records/s, peak RSS {fulls[-1]['peak_rss_mib']} MiB; "
               "the floor")
        floors.append(_floor(path, instance, urls[adapter], engine_rows, fresh_store))
        report(f"{label}: floor {floors[-1]['records_per_s']:,} records/s, peak RSS {floors[-1]['peak_rss_mib']} "
               f"MiB; engine / floor {_ratio(fulls[-1], floors[-1])}")
    full, floor = _median(fulls), _median(floors)
    report(f"{label}: incremental sync with nothing changed")
    unchanged = _child({**base, "kind": "incremental"})
    out: dict[str, Any] = {"path": path, "adapter": adapter, "store": store_kind, "full": full, "floor": floor,
                           "engine_over_floor": _ratio(full, floor), "incremental_unchanged": unchanged}
    if options.incremental_batches:
        report(f"{label}: {options.incremental_batches} incremental batches of {options.batch_size:,} changes")
        advance = {"url": urls[adapter], "count": options.batch_size, "batches": options.incremental_batches}
        batches = _child({**base, "kind": "batches", "advance": advance})
        rounds = batches["batches"]
        batches.update(first_seconds=rounds[0]["seconds"], last_seconds=rounds[-1]["seconds"])
        out["incremental_batches"] = batches
    return out


def _turn(turn: int, repeat: int) -> str:
    return f" (turn {turn + 1} of {repeat})" if repeat > 1 else ""


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median records/s (the lower of the two middle ones for an even count), with every run's
    records/s beside it: one run's figures stay consistent with each other, which an average of each would not."""
    ranked = sorted(runs, key=lambda r: r["records_per_s"] or 0)
    median = dict(ranked[(len(ranked) - 1) // 2])
    if len(runs) > 1:
        median["runs_records_per_s"] = [r["records_per_s"] for r in runs]
    return median


def _floor(path: str, instance: dict[str, Any], agency_url: str, engine_rows: dict[str, Any],
           fresh_store: Callable[[], AbstractContextManager[str]]) -> dict[str, Any]:
    """The floor loop (``floor.py``) in its own process and fresh store, and whether it stored what the engine did
    (``engine_rows``: the engine's ``stored_fingerprint``)."""
    from mpp_bus.bench.floor import stored_fingerprint

    with fresh_store() as url:
        floor = _child({"path": path, "store_url": url, "url": agency_url, "agency_id": instance["id"],
                        "connection": CONNECTIONS[instance["adapter"]], "page_size": PAGE_SIZE,
                        "tenant": instance["config"].get("tenant", "")}, module="mpp_bus.bench.floor")
        floor_rows = stored_fingerprint(url, instance["id"])
    floor["same_result"] = floor_rows == engine_rows
    floor["rows"] = {"applications": floor_rows["applications"]["rows"],
                     "status_events": floor_rows["status_events"]["rows"]}
    return floor


def _ratio(engine: dict[str, Any], floor: dict[str, Any]) -> float | None:
    """``engine / floor`` in records/s (equal reads, so also floor seconds / engine seconds)."""
    if not engine.get("records_per_s") or not floor.get("records_per_s"):
        return None
    return round(engine["records_per_s"] / floor["records_per_s"], 3)


def _instance(path: str, url: str) -> dict[str, Any]:
    common = {"level": "pusat", "page_size": PAGE_SIZE, "timeout_seconds": 120}
    if path == "rest":
        return {**common, "id": "bench-licensing", "adapter": "licensing", "name": "Benchmark licensing office",
                "config": {"base_url": url, "tenant": "oss"}}
    return {**common, "id": "bench-dukcapil", "adapter": "dukcapil", "name": "Benchmark Dukcapil",
            "config": {"wsdl_url": f"{url}/ws/dukcapil?wsdl"}}


def _child(spec: dict[str, Any], module: str = "mpp_bus.bench.child") -> dict[str, Any]:
    """Run one scenario in a fresh process and return its JSON; the process is stopped by its PID on any exit."""
    with tempfile.TemporaryFile() as err:
        # The spec goes through stdin: a store URL may carry a password, which argv would show to every user.
        process = subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=err)
        try:
            out, _ = process.communicate(json.dumps(spec).encode())
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if process.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"the benchmark scenario failed (exit {process.returncode}):\n{tail}")
    figures: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return figures


@contextmanager
def _store(kind: str, tmp: Path, postgres_url: str) -> Iterator[str]:
    """A migrated, empty store that is removed afterwards."""
    if kind == "sqlite":
        path = tmp / f"bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        _migrate(url)
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    with scratch_database(postgres_url, prefix=f"mpp_bench_{os.getpid()}") as url:
        _migrate(url)
        yield url


def _migrate(url: str) -> None:
    store = create_store(url, upgrade=True)
    store.dispose()


