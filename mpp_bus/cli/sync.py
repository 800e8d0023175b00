"""``mpp-bus sync``: run the engine for some agencies and show what each run did."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from mpp_bus.bus import Bus
from mpp_bus.cli.common import bus_from, console, fail, fmt_seconds, table
from mpp_bus.contract import StreamName
from mpp_bus.engine import RunProgress
from mpp_bus.errors import MppBusError
from mpp_bus.privacy import redact_text
from mpp_bus.store import RunRecord

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("sync", help="sync agencies into the portal store")
    p.add_argument("agency_ids", nargs="*", metavar="AGENCY", help="agency ids (see `mpp-bus agencies`)")
    p.add_argument("--all", action="store_true", help="every enabled agency")
    p.add_argument("--stream", choices=[s.value for s in StreamName], help="only this stream (default: all it offers)")
    p.add_argument("--full-refresh", action="store_true", help="ignore stored cursors and read everything again")
    p.add_argument("--no-progress", action="store_true", help="no live progress display")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.agency_ids and not args.all:
        return fail("name one or more agencies, or pass --all (see `mpp-bus agencies`)", 2)
    bus = bus_from(args)
    bus.store.upgrade()
    results, failures = sync_agencies(bus, args.agency_ids, stream=args.stream, full_refresh=args.full_refresh,
                                      show_progress=not args.no_progress)
    console.print(results_table(results))
    for agency_stream, message in failures:
        fail(f"{agency_stream}: {message}")
    return 1 if failures or any(not r.ok for r in results) else 0


def sync_agencies(
    bus: Bus,
    agency_ids: Sequence[str],
    *,
    stream: str | None = None,
    full_refresh: bool = False,
    show_progress: bool = True,
) -> tuple[list[RunRecord], list[tuple[str, str]]]:
    """Sync each agency in turn; one agency failing never stops the others. A run that failed is in the results as
    the store recorded it (what it read and stored before it failed), so the summary shows it too."""
    results: list[RunRecord] = []
    failures: list[tuple[str, str]] = []
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=console, transient=True, disable=not show_progress,
    ) as progress:
        for instance in bus.selected(agency_ids):
            try:
                streams = [StreamName(stream)] if stream else bus.streams_of(instance.id)
            except MppBusError as exc:
                failures.append((instance.id, str(exc)))
                continue
            for name in streams:
                task = progress.add_task(f"{instance.id} {name}: starting", total=None)

                def show(p: RunProgress, task: TaskID = task, label: str = f"{instance.id} {name}") -> None:
                    progress.update(task, description=f"{label}: {p.read:,} read, {p.stored:,} stored, "
                                                      f"{p.quarantined:,} quarantined")

                began = datetime.now(UTC) - timedelta(seconds=1)  # the store may keep whole seconds
                try:
                    results.append(bus.sync(instance.id, name, full_refresh=full_refresh, progress=show))
                except MppBusError as exc:
                    failures.append((f"{instance.id} {name}", str(exc)))
                    results.extend(_recorded_run(bus, instance.id, name, began))
                except Exception as exc:  # a bug in one adapter must not stop the other agencies
                    log.exception("sync of %s %s crashed", instance.id, name)
                    failures.append((f"{instance.id} {name}", redact_text(f"{type(exc).__name__}: {exc}")))
                    results.extend(_recorded_run(bus, instance.id, name, began))
                finally:
                    progress.remove_task(task)
    return results, failures


def _recorded_run(bus: Bus, agency_id: str, stream: str, began: datetime) -> list[RunRecord]:
    """The run the engine recorded for a sync that raised, if it got as far as opening one."""
    try:
        latest = bus.store.recent_runs(agency_id=agency_id, stream=stream, limit=1)
    except MppBusError:
        return []
    return [r for r in latest if r.started_at >= began and not r.ok]


def results_table(results: Sequence[RunRecord]) -> Table:
    return table(
        "Sync runs",
        ["agency", "stream", "mode", "status", "read", "stored", "unchanged", "stale", "quarantined", "withdrawn",
         "duration"],
        (
            (r.agency_id, r.stream, r.mode, r.status, r.read, r.stored, r.unchanged, r.stale, r.quarantined,
             r.withdrawn, fmt_seconds(r.duration_s))
            for r in results
        ),
    )
