"""``mpp-bus dispatch``: deliver the outbox's waiting submissions to their agencies, and show what it did."""

from __future__ import annotations

import argparse
import logging

from mpp_bus.cli.common import bus_from, console, fail, table
from mpp_bus.engine.dispatch import DispatchResult
from mpp_bus.errors import MppBusError
from mpp_bus.privacy import redact_text

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("dispatch", help="deliver waiting submissions (the outbox) to their agencies")
    p.add_argument("agency_ids", nargs="*", metavar="AGENCY",
                   help="agency ids (default: every enabled agency that accepts submissions)")
    p.add_argument("--limit", type=int, help="at most this many delivery attempts per agency")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Examples::

        mpp-bus dispatch                 # every agency that accepts submissions
        mpp-bus dispatch dpmptsp-3314    # one agency
    """
    bus = bus_from(args)
    bus.store.upgrade()
    results: list[DispatchResult] = []
    failures: list[tuple[str, str]] = []
    for instance in bus.submitting(args.agency_ids):
        try:
            results.append(bus.dispatch(instance.id, limit=args.limit))
        except MppBusError as exc:
            failures.append((instance.id, str(exc)))
        except Exception as exc:  # one agency's bug must not stop the others
            log.exception("dispatch of %s crashed", instance.id)
            failures.append((instance.id, redact_text(f"{type(exc).__name__}: {exc}")))
    console.print(table("Dispatch", ["agency", "attempts", "delivered", "found by reference", "refused", "retrying",
                                     "dead", "stopped"],
                        ((r.agency_id, r.attempts, r.delivered, r.found_by_lookup, r.refused, r.retrying, r.dead,
                          r.stopped or "") for r in results)))
    for agency_id, message in failures:
        fail(f"{agency_id}: {message}")
    return 1 if failures or any(not r.ok for r in results) else 0
