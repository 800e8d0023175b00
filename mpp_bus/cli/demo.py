"""``mpp-bus demo``: the whole bus in one command, against the mock agencies, into a fresh SQLite store.

It starts the mock agencies, runs a full sync of every configured agency, advances some application statuses at each
agency, runs an incremental sync, prints a summary per agency and one citizen's applications across agencies (NIK
masked), then stops the mocks.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

from rich.table import Table

from mpp_bus.bus import Bus
from mpp_bus.cli.common import console, fail, settings_from, table
from mpp_bus.cli.sync import results_table, sync_agencies
from mpp_bus.config import AgencyInstance
from mpp_bus.mocks import MockAgencyProcess, advance
from mpp_bus.store import RunRecord, Store

# The mock agencies' published demo credentials; a real deployment sets its own connections.
MOCK_CONNECTIONS = {
    "mpp_dukcapil": {"conn_type": "http", "login": "mpp-bus", "password": "dukcapil-rahasia"},
    "mpp_licensing": {"conn_type": "http", "login": "mpp-bus", "password": "oss-rahasia"},
    "mpp_tax": {"conn_type": "http", "password": "djp-rahasia"},
    "mpp_jateng": {"conn_type": "http", "login": "mpp-bus", "password": "jateng-rahasia"},
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("demo", help="run the bus end to end against the mock agencies into a fresh SQLite store")
    p.add_argument("--database", type=Path, default=Path("var/demo.db"), help="SQLite file (recreated)")
    p.add_argument("--applications", type=int, default=2000, help="applications per mock agency dataset")
    p.add_argument("--citizens", type=int, default=3000, help="size of the synthetic population")
    p.add_argument("--advance", type=int, default=100, help="applications to advance at each agency before the "
                                                            "incremental sync")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--dukcapil-port", type=int, default=8701)
    p.add_argument("--licensing-port", type=int, default=8702)
    p.add_argument("--tax-port", type=int, default=8703)
    p.add_argument("--provinsi-port", type=int, default=8705)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.database}{suffix}").unlink(missing_ok=True)
    args.database.parent.mkdir(parents=True, exist_ok=True)
    args.database_url = f"sqlite:///{args.database}"
    for connection_id, connection in MOCK_CONNECTIONS.items():
        os.environ.setdefault(f"AIRFLOW_CONN_{connection_id.upper()}", json.dumps(connection))

    bus = Bus.from_settings(settings_from(args))
    ports = {"dukcapil": args.dukcapil_port, "licensing": args.licensing_port, "tax": args.tax_port,
             "provinsi": args.provinsi_port}
    console.print(f"[bold]Starting the mock agencies[/] on ports {ports} ...")
    with MockAgencyProcess(ports=ports, seed=args.seed, citizens=args.citizens,
                           applications=args.applications) as mocks:
        bus.store.upgrade()
        console.print("[bold]1. Full sync of every agency[/]")
        full, failed_full = sync_agencies(bus, [], full_refresh=True)
        console.print(results_table(full))
        console.print(f"[bold]2. Advancing {args.advance} applications at each agency[/]")
        advanced = advance_all(bus.selected([]), mocks.urls, args.advance)
        console.print("[bold]3. Incremental sync[/]")
        incremental, failed_incremental = sync_agencies(bus, [])
        console.print(results_table(incremental))
    console.print("[bold]Mock agencies stopped.[/]")

    console.print(summary_table(bus.store))
    show_sample_citizen(bus.store)
    problems = failed_full + failed_incremental
    for where, message in problems:
        fail(f"{where}: {message}")
    if not problems and not all(r.ok for r in [*full, *incremental]):
        problems.append(("runs", "some runs did not succeed"))
    missed = check_incremental_saw(advanced, incremental)
    if missed:
        problems.append(("incremental", missed))
        fail(missed)
    console.print(f"Portal store: {args.database} ({'[red]with problems[/]' if problems else '[green]ok[/]'})")
    return 1 if problems else 0


def advance_all(instances: Sequence[AgencyInstance], urls: dict[str, str], count: int) -> dict[str, int]:
    """Ask each mock agency to move ``count`` applications forward; returns how many each advanced."""
    return {i.id: len(advance(_mock_url(i, urls), i.config.get("tenant", ""), count)) for i in instances}


def _mock_url(instance: AgencyInstance, urls: dict[str, str]) -> str:
    """The mock serving ``instance``: by adapter type, or by base URL for a declarative (``rest``) agency."""
    if instance.adapter in urls:
        return urls[instance.adapter]
    base = str(instance.config.get("base_url", ""))
    return next(u for u in urls.values() if base.rstrip("/") == u.rstrip("/"))


def check_incremental_saw(advanced: dict[str, int], incremental: Sequence[RunRecord]) -> str | None:
    for run in incremental:
        if run.stream == "applications" and run.read < advanced.get(run.agency_id, 0):
            return (f"the incremental sync of {run.agency_id} read {run.read} records but {advanced[run.agency_id]} "
                    "were advanced")
    return None


def summary_table(store: Store) -> Table:
    rows = []
    for s in store.agency_summaries():
        by_status = ", ".join(f"{k} {v}" for k, v in sorted(s.applications_by_status.items()))
        rows.append((s.agency_id, s.name, s.active_services, s.applications, by_status, s.quarantined,
                     "" if s.last_run_duration_s is None else f"{s.last_run_duration_s:.2f}s"))
    return table("Portal store by agency",
                 ["agency", "name", "services", "applications", "by canonical status", "quarantined", "last run"],
                 rows)


def show_sample_citizen(store: Store) -> None:
    """One citizen with applications at the most agencies, as the portal's tracking page would list them."""
    nik_hash = store.widest_citizen()
    if nik_hash is None:
        console.print("no applications in the store")
        return
    apps = store.citizen_applications(nik_hash)
    console.print(table(
        f"One citizen ({apps[0].nik_masked}) across {len({a.agency_id for a in apps})} agencies",
        ["agency", "application", "service", "status", "agency status", "since", "SLA due", "fresh as of"],
        ((a.agency_name, a.application_id, a.service_name or a.service_code, f"{a.status.label} ({a.status})",
          a.agency_status, f"{a.status_at:%Y-%m-%d}", a.sla_due_date,
          "" if a.freshness is None else f"{a.freshness:%Y-%m-%d %H:%M:%S}")
         for a in apps),
    ))
