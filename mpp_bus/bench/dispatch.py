"""The benchmark of the write path: N submissions accepted into the outbox, then delivered to the mock agencies.

For each store (a throw-away PostgreSQL database, a SQLite file) it accepts ``submissions`` applications, spread
evenly over the three agencies that take them (licensing: REST with an ``Idempotency-Key``; tax: REST with a look-up
by client reference; Dukcapil: SOAP with a request id), through the outbox's accept (validation, sealing, one
transaction each), then runs the dispatcher of each agency in turn, as ``mpp-bus dispatch`` does. It reports
delivery throughput (submissions/s, per agency and overall) and the latency from acceptance to the recorded receipt
(p50, p95). All submissions are accepted before the dispatch starts, so latency includes the wait in the outbox:
it is what a citizen who applied in a burst of that size would see, not the cost of one call.
"""

from __future__ import annotations

import base64
import os
import platform
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

from mpp_bus.bench.common import BENCH_NIK_KEY, stop_on_sigterm
from mpp_bus.bench.runner import DEFAULT_POSTGRES_URL, STORES, Report, _store
from mpp_bus.bus import Bus
from mpp_bus.config import Settings, parse_agencies
from mpp_bus.engine.outbox import SubmissionRequest
from mpp_bus.mocks import ADMIN_TOKEN, MockAgencyProcess

# agency id -> (adapter, connection, service, a valid form)
AGENCIES: dict[str, tuple[str, dict[str, str], str, dict[str, Any]]] = {
    "bench-licensing": ("licensing", {"login": "mpp-bus", "password": "oss-rahasia"}, "IUMK",
                        {"nama_usaha": "Warung Makan Sari Rasa", "alamat_usaha": "Jl. Raya Sukowati No. 12, Sragen",
                         "modal_usaha": 25_000_000}),
    "bench-tax": ("tax", {"password": "djp-rahasia"}, "NPWP-01",
                  {"jenis_wajib_pajak": "orang_pribadi", "alamat": "Jl. Merdeka No. 5, Sragen"}),
    "bench-dukcapil": ("dukcapil", {"login": "mpp-bus", "password": "dukcapil-rahasia"}, "KK-UBAH",
                       {"jenis_perubahan": "TAMBAH_ANGGOTA", "keterangan": "Kelahiran anak kedua"}),
}


@dataclass
class DispatchBenchOptions:
    submissions: int = 300
    stores: list[str] = field(default_factory=lambda: list(STORES))
    postgres_url: str = field(default_factory=lambda: os.environ.get("MPP_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    seed: int = 2024


def run_dispatch_bench(options: DispatchBenchOptions, report: Report = lambda _: None) -> dict[str, Any]:
    """Accept and deliver ``options.submissions`` per store; the figures as one JSON-ready object."""
    unknown = [s for s in options.stores if s not in STORES]
    if unknown or not options.stores:
        raise ValueError(f"unknown store {', '.join(unknown) or '(none)'}; known: {', '.join(STORES)}")
    if options.submissions < len(AGENCIES):
        raise ValueError(f"submissions must be at least {len(AGENCIES)} (one per agency)")
    results = []
    started = time.perf_counter()
    with stop_on_sigterm(), tempfile.TemporaryDirectory(prefix="mpp-bench-") as tmp:
        report("starting the mock agencies")
        # Citizens enough for one submission each; a high rate limit, so the bus is measured, not the throttle.
        with MockAgencyProcess(seed=options.seed, citizens=max(options.submissions, 100), applications=10,
                               rate_limit=1_000_000, startup_timeout=120) as mocks:
            niks = _citizens(mocks.urls["dukcapil"], options.submissions)
            for store_kind in options.stores:
                with _store(store_kind, Path(tmp), options.postgres_url) as url:
                    report(f"{store_kind}: accepting and delivering {options.submissions:,} submissions")
                    results.append({"store": store_kind, **_scenario(url, mocks.urls, niks)})
    return {
        "submissions": options.submissions,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "total_seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }


def _citizens(dukcapil_url: str, count: int) -> list[str]:
    response = requests.get(f"{dukcapil_url}/admin/citizens", params={"start": 0, "limit": count},
                            headers={"X-Admin-Token": ADMIN_TOKEN}, timeout=30)
    response.raise_for_status()
    return [c["nik"] for c in response.json()["citizens"]][:count]


def _agencies_doc(urls: dict[str, str]) -> dict[str, Any]:
    configs = {"licensing": {"base_url": urls["licensing"], "tenant": "dpmptsp-3314"},
               "tax": {"base_url": urls["tax"]}, "dukcapil": {"wsdl_url": f"{urls['dukcapil']}/ws/dukcapil?wsdl"}}
    return {"defaults": {"timeout_seconds": 30},
            "agencies": [{"id": agency_id, "adapter": adapter, "name": f"Benchmark {adapter}", "level": "pusat",
                          "connection_id": agency_id, "config": configs[adapter]}
                         for agency_id, (adapter, _, _, _) in AGENCIES.items()]}


def _scenario(url: str, urls: dict[str, str], niks: list[str]) -> dict[str, Any]:
    # The store is thrown away afterwards: a fresh key protects nothing beyond this run.
    key = SecretStr(base64.b64encode(os.urandom(32)).decode())
    settings = Settings(database_url=url, environment="test", nik_hmac_secret=SecretStr(BENCH_NIK_KEY.decode()),
                        outbox_key=key)
    connections = {agency_id: connection for agency_id, (_, connection, _, _) in AGENCIES.items()}
    bus = Bus(settings, parse_agencies(_agencies_doc(urls)), connections.get)
    try:
        schemas: dict[str, Any] = {}
        for agency_id, (_, _, service, _) in AGENCIES.items():
            with bus.adapter(agency_id) as adapter:
                schemas[agency_id] = adapter.form_schema(service)
        ids = list(AGENCIES)
        accept_started = time.perf_counter()
        for n, nik in enumerate(niks):
            agency_id = ids[n % len(ids)]
            _, _, service, form = AGENCIES[agency_id]
            bus.outbox.accept(SubmissionRequest(agency_id, service, uuid.uuid4().hex, nik, form),
                              schema=schemas[agency_id])
        accept_seconds = time.perf_counter() - accept_started
        per_agency: list[dict[str, Any]] = []
        latencies: list[float] = []
        dispatch_started = time.perf_counter()
        for agency_id in ids:
            begun = time.perf_counter()
            result = bus.dispatch(agency_id)
            seconds = time.perf_counter() - begun
            latencies += result.latencies
            per_agency.append({"agency_id": agency_id, "adapter": AGENCIES[agency_id][0],
                               "delivered": result.delivered, "not_delivered": result.refused + result.retrying
                               + result.dead, "seconds": round(seconds, 3),
                               "submissions_per_s": round(result.delivered / seconds, 1) if seconds else None,
                               **_percentiles(result.latencies)})
        dispatch_seconds = time.perf_counter() - dispatch_started
        delivered = sum(a["delivered"] for a in per_agency)
        return {"accept_seconds": round(accept_seconds, 3),
                "accepted_per_s": round(len(niks) / accept_seconds, 1) if accept_seconds else None,
                "dispatch_seconds": round(dispatch_seconds, 3), "delivered": delivered,
                "submissions_per_s": round(delivered / dispatch_seconds, 1) if dispatch_seconds else None,
                **_percentiles(latencies), "agencies": per_agency}
    finally:
        bus.store.dispose()


def _percentiles(values: list[float]) -> dict[str, float | None]:
    """p50 and p95 of the acceptance-to-receipt latencies, in seconds (nearest rank)."""
    if not values:
        return {"latency_p50_s": None, "latency_p95_s": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(p * len(ordered) + 0.999999) - 1))], 3)

    return {"latency_p50_s": rank(0.50), "latency_p95_s": rank(0.95)}
