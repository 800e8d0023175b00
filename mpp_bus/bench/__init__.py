"""The throughput benchmark of the sync engine: mock agencies with N records, REST and SOAP, PostgreSQL and SQLite.

Example::

    from mpp_bus.bench import BenchOptions, run_bench

    figures = run_bench(BenchOptions(records=100_000, paths=["rest"], stores=["sqlite"]))
    print(figures["results"][0]["full"]["records_per_s"])

The command ``mpp-bus bench`` runs it and prints the figures as a table, or as JSON with ``--json``.
"""

from __future__ import annotations

import typing as _typing

if _typing.TYPE_CHECKING:
    from mpp_bus.bench.runner import PATHS, STORES, BenchOptions, run_bench

__all__ = ["PATHS", "STORES", "BenchOptions", "run_bench"]


def __getattr__(name: str) -> object:
    if name in __all__:
        # The driver is loaded on first use, not above: each scenario's child process imports this package too,
        # and what it measures should be the sync, not the driver.
        from mpp_bus.bench import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
