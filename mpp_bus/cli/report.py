"""``mpp-bus report``: performance per agency and service, computed from the status history.

Examples::

    mpp-bus report performance                     # compute now and print
    mpp-bus report performance --agency djp
    mpp-bus report performance --refresh           # also store the snapshot the API serves
    mpp-bus report performance --json
"""

from __future__ import annotations

import argparse
import json

from mpp_bus.cli.common import bus_from, console, table
from mpp_bus.reports.performance import performance, refresh


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser("report", help="performance reports (pelaporan kinerja)")
    kinds = report.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    p = kinds.add_parser("performance", help="share finished within SLA, median processing time and backlog")
    p.add_argument("--agency", help="only this agency")
    p.add_argument("--service", help="only this service code")
    p.add_argument("--refresh", action="store_true", help="store the snapshot the API serves (all agencies)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run_performance)


def run_performance(args: argparse.Namespace) -> int:
    bus = bus_from(args)
    bus.store.upgrade()
    if args.refresh:
        rows = [r for r in refresh(bus.store)
                if args.agency in (None, r.agency_id) and args.service in (None, r.service_code)]
    else:
        rows = performance(bus.store, agency_id=args.agency, service_code=args.service)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False))
        return 0
    console.print(table(
        "Performance per agency and service",
        ["agency", "service", "applications", "finished", "within SLA", "share", "median days", "backlog", "overdue"],
        ((r.agency_id, r.service_code, r.applications, r.finished, r.finished_within_sla,
          "" if r.share_within_sla is None else f"{r.share_within_sla:.1%}",
          "" if r.median_processing_days is None else f"{r.median_processing_days:.2f}", r.backlog,
          r.overdue_backlog) for r in rows),
    ))
    return 0
