"""``mpp-bus reconcile AGENCY``: compare the store with the agency, window by window, and optionally re-sync
only the windows that differ.

Examples::

    mpp-bus reconcile oss                        # report differences (exit 1 when there are some)
    mpp-bus reconcile oss --window-hours 6       # finer windows
    mpp-bus reconcile oss --fix                  # re-read the differing windows, then compare again
"""

from __future__ import annotations

import argparse
from datetime import timedelta

from mpp_bus.cli.common import bus_from, console, fail, table
from mpp_bus.cli.sync import results_table
from mpp_bus.reconcile import ReconcileReport, compare, fix

SHOWN_IDS = 5


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("reconcile", help="compare an agency's applications in the store with the agency")
    p.add_argument("agency_id", metavar="AGENCY", help="agency id (see `mpp-bus agencies`)")
    p.add_argument("--window-hours", type=float, default=24.0,
                   help="width of the update-time windows compared by count and checksum (default: 24)")
    p.add_argument("--fix", action="store_true", help="re-sync only the windows that differ, then compare again")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.window_hours <= 0:
        return fail("--window-hours must be a positive number of hours", 2)
    bus = bus_from(args)
    bus.store.upgrade()
    window = timedelta(hours=args.window_hours)
    with bus.adapter(args.agency_id) as adapter:
        report = compare(bus.store, adapter, window=window)
        show(report)
        if args.fix and not report.ok:
            result = fix(bus.engine, adapter, report, breaker=bus.breaker(args.agency_id))
            if result is not None:
                console.print(results_table([result]))
            report = compare(bus.store, adapter, window=window)
            show(report, title="after the fix")
    return 0 if report.ok else 1


def show(report: ReconcileReport, title: str = "") -> None:
    heading = f"Reconcile {report.agency_id} {report.stream}" + (f" ({title})" if title else "")
    hours = report.window.total_seconds() / 3600
    console.print(f"[bold]{heading}[/]", soft_wrap=True)
    console.print(f"windows of {hours:g} h: {report.windows_compared} compared, {report.windows_agreeing} agree",
                  soft_wrap=True)
    console.print(f"records: store {report.store_records:,}, agency {report.agency_records:,} (and "
                  f"{report.agency_rejects:,} it served that cannot be stored)", soft_wrap=True)
    console.print(f"missing {len(report.missing)}, extra {len(report.extra)}, different {len(report.different)}",
                  soft_wrap=True)
    if report.differences:
        console.print(table(
            "Windows that differ",
            ["window (UTC)", "store", "agency", "missing in store", "extra in store", "different"],
            ((f"{d.start:%Y-%m-%d %H:%M}", d.store_count, d.agency_count, _ids(d.missing), _ids(d.extra),
              _ids(d.different)) for d in report.differences),
        ))
    else:
        console.print("[green]no differences[/]")


def _ids(ids: list[str]) -> str:
    if not ids:
        return ""
    more = f" (+{len(ids) - SHOWN_IDS})" if len(ids) > SHOWN_IDS else ""
    return ", ".join(ids[:SHOWN_IDS]) + more
