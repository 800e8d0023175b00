"""``python -m mpp_bus.airflow``: set-up commands for Airflow.

    python -m mpp_bus.airflow pools > pools.json && airflow pools import pools.json
    python -m mpp_bus.airflow generate --count 600 var/agencies-600.yaml
    python -m mpp_bus.airflow bench-parse --count 600
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
    args = parser.parse_args(argv)
    try:
        if args.command == "pools":
            print(json.dumps(pools_document(args.agencies), indent=2))
        elif args.command == "generate":
            print(f"wrote {write_agencies(args.path, args.count)} agency instances to {args.path}")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
