"""``mpp-bus quarantine retry``: read quarantined records again from their agency once the cause is fixed.

Examples::

    mpp-bus quarantine retry 12                                         # one row
    mpp-bus quarantine retry --reason 'unknown agency status code'      # every open row whose reason says so
    mpp-bus quarantine retry --all --agency dpmptsp-3314                # every open row (of one agency)

The records go through the adapter and the engine as in any run, without moving the stream's cursor (see
``mpp_bus.reconcile.retry``); a record that stores closes its rows, one that fails again stays open with the new
reason.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from mpp_bus.cli.common import bus_from, console, fail, table
from mpp_bus.cli.sync import results_table
from mpp_bus.contract import StreamName
from mpp_bus.reconcile import RetryOutcome, retry


def register_actions(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = actions.add_parser("retry", help="read quarantined records again from their agency (after fixing the cause)")
    p.add_argument("item_id", type=int, nargs="?", metavar="ID", help="one quarantine row (see `mpp-bus quarantine`)")
    p.add_argument("--reason", metavar="TEXT", help="every open row whose reason contains TEXT")
    p.add_argument("--all", action="store_true", help="every open row")
    p.add_argument("--agency", help="only rows of this agency")
    p.set_defaults(run=run_retry)


def run_retry(args: argparse.Namespace) -> int:
    chosen = [args.item_id is not None, bool(args.reason), args.all]
    if sum(chosen) != 1:
        return fail("say which rows to retry: an ID, --reason TEXT or --all", 2)
    bus = bus_from(args)
    bus.store.upgrade()
    rows = bus.store.open_quarantine(item_id=args.item_id, reason=args.reason, agency_id=args.agency)
    if not rows:
        what = f"row {args.item_id}" if args.item_id is not None else \
            (f"row whose reason contains {args.reason!r}" if args.reason else "row")
        console.print(f"no open quarantine {what}; see `mpp-bus quarantine list`")
        return 0 if args.item_id is None else 1
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    without_id = 0
    for row in rows:
        if row.record_id:
            groups[(row.agency_id, row.stream)].add(row.record_id)
        else:
            without_id += 1
    before = bus.store.open_quarantine_counts(agency_id=args.agency)
    outcomes: list[RetryOutcome] = []
    for (agency_id, stream), ids in sorted(groups.items()):
        with bus.adapter(agency_id) as adapter:
            outcomes.append(retry(bus.engine, adapter, StreamName(stream), ids, breaker=bus.breaker(agency_id)))
    console.print(results_table([o.result for o in outcomes]))
    after = bus.store.open_quarantine_counts(agency_id=args.agency)
    console.print(table("Open quarantine rows", ["agency", "stream", "before", "after"],
                        ((a, s, before.get((a, s), 0), after.get((a, s), 0)) for a, s in sorted(groups))))
    for (agency_id, stream), outcome in zip(sorted(groups), outcomes, strict=True):
        if outcome.not_served:
            shown = ", ".join(outcome.not_served[:5]) + (" ..." if len(outcome.not_served) > 5 else "")
            console.print(f"[yellow]{agency_id} {stream}: {len(outcome.not_served)} record(s) no longer served by "
                          f"the agency[/] ({shown}); their rows stay open", soft_wrap=True)
    if without_id:
        console.print(f"[yellow]{without_id} row(s) have no record id[/]: they cannot be read again one by one; a "
                      "full refresh (`mpp-bus sync AGENCY --stream S --full-refresh`) reads everything", soft_wrap=True)
    still = sum(after.get(k, 0) for k in groups)
    failed = any(o.result.status != "succeeded" for o in outcomes)
    return 1 if failed or still else 0
