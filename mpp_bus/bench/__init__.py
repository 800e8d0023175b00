"""The throughput benchmark of the sync engine: mock agencies with N records, REST and SOAP, PostgreSQL and SQLite.

Example::

    from mpp_bus.bench import BenchOptions, run_bench

    figures = run_bench(BenchOptions(records=100_000, paths=["rest"], stores=["sqlite"]))
    print(figures["results"][0]["full"]["records_per_s"])

The command ``mpp-bus bench`` runs it and prints the figures as a table, or as JSON with ``--json``.
"""

from __future__ import annotations

from mpp_bus.bench.runner import PATHS, STORES, BenchOptions, run_bench

__all__ = ["PATHS", "STORES", "BenchOptions", "run_bench"]
