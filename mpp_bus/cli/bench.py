"""``mpp-bus bench``: how fast the engine syncs, end to end, against the mock agencies.

Examples::

    mpp-bus bench                                   # 100,000 records, REST and SOAP, PostgreSQL and SQLite
    mpp-bus bench --records 1000000 --json          # the figures as one JSON object
    mpp-bus bench --records 200000 --repeat 3       # engine and floor three times each, the medians compared
    mpp-bus bench --records 10000 --paths rest --stores sqlite --incremental-batches 3
    mpp-bus bench --dispatch --submissions 300      # the write path: outbox to the three agencies, --json too
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from mpp_bus.bench import PATHS, STORES, BenchOptions, run_bench
from mpp_bus.cli.common import console, errors, fail, table


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("bench", help="measure sync throughput, memory and stage times against the mock agencies")
    p.add_argument("--records", type=int, default=100_000, help="applications per mock agency (default 100000)")
    p.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated, of {', '.join(PATHS)}")
    p.add_argument("--stores", default=",".join(STORES), help=f"comma-separated, of {', '.join(STORES)}")
    p.add_argument("--incremental-batches", type=int, default=10,
                   help="rounds of 'the agency changes --batch-size applications, then an incremental sync'")
    p.add_argument("--batch-size", type=int, default=1000, help="applications changed per incremental batch")
    p.add_argument("--postgres-url", help="server for the throw-away database (default: $MPP_BENCH_POSTGRES_URL or "
                                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres)")
    p.add_argument("--repeat", type=int, default=1,
                   help="full syncs and floors per path and store, taking turns; the median of each is reported")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--dispatch", action="store_true",
                   help="measure the write path instead: accept --submissions into the outbox, deliver them to the "
                        "mock agencies, report submissions/s and latency from acceptance to receipt")
    p.add_argument("--submissions", type=int, default=300, help="with --dispatch: submissions in all (default 300)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.dispatch:
        return _run_dispatch(args)
    options = BenchOptions(records=args.records, paths=_list(args.paths), stores=_list(args.stores),
                           incremental_batches=args.incremental_batches, batch_size=args.batch_size,
                           repeat=args.repeat)
    if args.postgres_url:
        options.postgres_url = args.postgres_url
    try:
        figures = run_bench(options, report=lambda line: errors.print(f"[dim]{line}[/]"))
    except ValueError as exc:
        return fail(str(exc), 2)
    except RuntimeError as exc:
        return fail(str(exc))
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        console.print(figures_table(figures))
    return 0


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def figures_table(figures: dict[str, Any]) -> Table:
    rows = []
    for r in figures["results"]:
        runs = [("full", r["full"])]
        if r.get("floor"):  # the hand-written floor with the same stored result, beside the full sync
            runs.append(("floor (same rows)" if r["floor"].get("same_result") else "floor (ROWS DIFFER)", r["floor"]))
        runs.append(("incremental, unchanged", r["incremental_unchanged"]))
        batches = r.get("incremental_batches")
        if batches:
            rounds = batches["batches"]
            runs.append(("incremental batch 1", rounds[0]))
            if len(rounds) > 1:  # the first and the last show whether cost grows with the store
                runs.append((f"incremental batch {len(rounds)}", rounds[-1]))
        for label, run in runs:
            stages = run.get("stages", {})
            rows.append((
                r["path"], r["store"], label, f"{run['read']:,}", f"{run['seconds']:.2f}",
                "" if run["records_per_s"] is None else f"{run['records_per_s']:,}",
                run.get("peak_rss_mib", batches["peak_rss_mib"] if batches else ""),
                *(f"{stages.get(s, 0):.2f}" for s in ("fetch", "validate", "map", "write")),
                f"{r['engine_over_floor']:.2f}" if label == "full" and r.get("engine_over_floor") else "",
            ))
    return table(
        f"Sync throughput, {figures['records']:,} records, pages of {figures['page_size']:,}",
        ["path", "store", "run", "records", "seconds", "records/s", "peak RSS MiB", "fetch s", "validate s",
         "map s", "write s", "engine / floor"],
        rows,
    )


def _run_dispatch(args: argparse.Namespace) -> int:
    from mpp_bus.bench.dispatch import DispatchBenchOptions, run_dispatch_bench

    options = DispatchBenchOptions(submissions=args.submissions, stores=_list(args.stores))
    if args.postgres_url:
        options.postgres_url = args.postgres_url
    try:
        figures = run_dispatch_bench(options, report=lambda line: errors.print(f"[dim]{line}[/]"))
    except ValueError as exc:
        return fail(str(exc), 2)
    except RuntimeError as exc:
        return fail(str(exc))
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        console.print(dispatch_table(figures))
    return 0


def dispatch_table(figures: dict[str, Any]) -> Table:
    def latency(row: dict[str, Any]) -> list[str]:
        return ["" if row[k] is None else f"{row[k]:.2f}" for k in ("latency_p50_s", "latency_p95_s")]

    rows = []
    for r in figures["results"]:
        for a in r["agencies"]:
            rows.append((r["store"], a["agency_id"], a["adapter"], a["delivered"], f"{a['seconds']:.2f}",
                         a["submissions_per_s"], *latency(a)))
        rows.append((r["store"], "all", "", r["delivered"], f"{r['dispatch_seconds']:.2f}", r["submissions_per_s"],
                     *latency(r)))
    return table(f"Delivery throughput, {figures['submissions']:,} submissions accepted, then dispatched",
                 ["store", "agency", "adapter", "delivered", "seconds", "submissions/s", "latency p50 s",
                  "latency p95 s"], rows)
