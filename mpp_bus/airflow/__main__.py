"""``python -m mpp_bus.airflow``: set-up commands for Airflow.

    python -m mpp_bus.airflow pools > pools.json && airflow pools import pools.json
    python -m mpp_bus.airflow generate --count 600 var/agencies-600.yaml
    python -m mpp_bus.airflow bench-parse --count 600
    python -m mpp_bus.airflow bench-sweep --instances 50 [--executor local|celery] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mpp_bus.airflow.generate import write_agencies
from mpp_bus.airflow.sweep import DEFAULT_POSTGRES_URL, PARSE_INTERVAL, SweepOptions, render_table, run_sweep
from mpp_bus.errors import MppBusError

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


def pools_document(agencies_file: Path) -> dict[str, dict[str, object]]:
    """The pool of every enabled agency, in the format of ``airflow pools import``."""
    from mpp_bus.config import load_agencies

    return {
        f"mpp_{i.id}": {"slots": i.pool_slots, "description": f"mpp-bus: {i.name}", "include_deferred": False}
        for i in load_agencies(agencies_file)
        if i.enabled
    }


# Run in a fresh interpreter so the figure is what the DAG processor pays for one parse of the folder.
_BENCH = """
import json, sys, time
t0 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
t1, c1 = time.perf_counter(), time.process_time()
bag = DagBag(dag_folder=sys.argv[1])
t2, c2 = time.perf_counter(), time.process_time()
tasks = sum(len(d.tasks) for d in bag.dags.values())
print(json.dumps({"import_airflow_s": t1 - t0, "parse_s": t2 - t1, "parse_cpu_s": c2 - c1,
                  "dags": len(bag.dags), "tasks": tasks, "import_errors": len(bag.import_errors)}))
"""


def bench_parse(count: int, dags_folder: Path = DAGS_FOLDER, repeat: int = 3) -> list[dict[str, float]]:
    """Parse the DAG folder against a generated config of ``count`` agencies, ``repeat`` times, in fresh processes."""
    results = []
    with tempfile.TemporaryDirectory(prefix="mpp-bench-") as tmp:
        agencies = Path(tmp) / f"agencies-{count}.yaml"
        write_agencies(agencies, count)
        env = {**os.environ, "MPP_AGENCIES_FILE": str(agencies), "AIRFLOW_HOME": tmp,
               "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"}
        for _ in range(repeat):
            out = subprocess.run([sys.executable, "-c", _BENCH, str(dags_folder)], env=env, check=True,
                                 capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def sweep_options(args: argparse.Namespace) -> SweepOptions:
    """The sweep's options from the parsed ``bench-sweep`` arguments."""
    return SweepOptions(
        instances=args.instances, executor=args.executor, parallelism=args.parallelism, workers=args.workers,
        worker_concurrency=args.worker_concurrency, applications=args.applications, initial_sync=args.initial_sync,
        postgres_url=args.postgres, timeout_seconds=args.timeout, keep_logs=args.keep_logs,
        parse_interval=args.parse_interval,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mpp_bus.airflow", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    pools = sub.add_parser("pools", help="print the pool of every agency as JSON for `airflow pools import`")
    pools.add_argument("--agencies", type=Path, default=Path(os.environ.get("MPP_AGENCIES_FILE", "agencies.yaml")))
    gen = sub.add_parser("generate", help="write an agencies file for every region")
    gen.add_argument("path", type=Path)
    gen.add_argument("--count", type=int, default=600)
    bench = sub.add_parser("bench-parse", help="time one parse of the DAG folder with a generated config")
    bench.add_argument("--count", type=int, default=600)
    bench.add_argument("--repeat", type=int, default=3)
    sweep = sub.add_parser("bench-sweep", help="one run of every generated agency's DAG on a real Airflow, measured")
    sweep.add_argument("--instances", type=int, required=True, help="generated agency instances to sweep")
    sweep.add_argument("--executor", choices=("local", "celery"), default="local")
    sweep.add_argument("--parallelism", type=int, default=8, help="Airflow's core parallelism (task slots)")
    sweep.add_argument("--workers", type=int, default=2, help="Celery workers (celery only)")
    sweep.add_argument("--worker-concurrency", type=int, default=4, help="tasks per Celery worker (celery only)")
    sweep.add_argument("--applications", type=int, default=50, help="applications per agency dataset in the mocks")
    sweep.add_argument("--no-initial-sync", dest="initial_sync", action="store_false",
                       help="sweep empty stores (a first sync) instead of syncing once before with nothing changed")
    sweep.add_argument("--postgres", default=os.environ.get("MPP_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
                       help="server for the throw-away databases (any database on it; default %(default)s)")
    sweep.add_argument("--timeout", type=float, default=1800.0, help="seconds the sweep may take")
    sweep.add_argument("--parse-interval", type=int, default=PARSE_INTERVAL,
                       help=f"seconds between two parses of the DAG file (default {PARSE_INTERVAL}, as deployed; "
                            "Airflow's own default is 30)")
    sweep.add_argument("--keep-logs", type=Path, default=None, help="keep every process's log in this folder")
    sweep.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    try:
        if args.command == "pools":
            print(json.dumps(pools_document(args.agencies), indent=2))
        elif args.command == "generate":
            print(f"wrote {write_agencies(args.path, args.count)} agency instances to {args.path}")
        elif args.command == "bench-sweep":
            result = run_sweep(sweep_options(args))
            print(json.dumps(result.to_dict()) if args.json else render_table(result))
        else:
            runs = bench_parse(args.count, repeat=args.repeat)
            for run in runs:
                print(f"parsed {run['dags']} DAGs ({run['tasks']} tasks, {run['import_errors']} import errors) in "
                      f"{run['parse_s']:.2f} s wall, {run['parse_cpu_s']:.2f} s CPU (importing Airflow first took "
                      f"{run['import_airflow_s']:.2f} s)")
            best = min(runs, key=lambda r: r["parse_s"])
            print(f"DAG folder parse with {args.count} agency instances: best of {len(runs)} {best['parse_s']:.2f} s "
                  f"wall ({best['parse_cpu_s']:.2f} s CPU)")
    except MppBusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the sweep has stopped what it started and dropped its databases by now
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
