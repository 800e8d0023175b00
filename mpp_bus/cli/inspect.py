"""Commands that look without changing anything: agencies, check, runs, quarantine."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

from rich.markup import escape

from mpp_bus.cli import quarantine as quarantine_actions
from mpp_bus.cli.common import bus_from, console, fail, fmt_seconds, settings_from, table
from mpp_bus.config import load_agencies
from mpp_bus.store import AgencySummary, create_store
from mpp_bus.store.breakers import BreakerState, BreakerStatus


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands.add_parser("agencies", help="list the configured agency instances").set_defaults(run=agencies)

    check = commands.add_parser("check", help="can the bus reach these agencies with their credentials")
    check.add_argument("agency_ids", nargs="+", metavar="AGENCY")
    check.set_defaults(run=check_agencies)

    runs = commands.add_parser("runs", help="recent sync runs and what they did")
    runs.add_argument("--agency", help="only this agency")
    runs.add_argument("--limit", type=int, default=20)
    runs.set_defaults(run=recent_runs)

    quarantine = commands.add_parser("quarantine", help="records set aside by syncs, with the reason")
    actions = quarantine.add_subparsers(dest="quarantine_command", metavar="ACTION")
    listing = actions.add_parser("list", help="list quarantined records (the default)")
    for p in (quarantine, listing):
        p.add_argument("--agency", help="only this agency")
        p.add_argument("--limit", type=int, default=50)
        p.add_argument("--open", action="store_true", help="only the rows still waiting for a fix")
        p.set_defaults(run=quarantine_list)
    show = actions.add_parser("show", help="one quarantined record with its redacted payload")
    show.add_argument("item_id", type=int, metavar="ID")
    show.set_defaults(run=quarantine_show)
    quarantine_actions.register_actions(actions)


def agencies(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    instances = load_agencies(settings.agencies_file)
    health, breakers = store_health(settings.database_url)
    console.print(
        table(
            f"{len(instances)} agency instances",
            ["id", "adapter", "name", "level", "region", "connection", "schedule", "enabled", "breaker",
             "last success"],
            ((i.id, i.adapter, i.name, i.level, i.region_code, i.connection_id, i.schedule, i.enabled,
              describe_breaker(breakers.get(i.id), i.breaker.reset_seconds), describe_success(health.get(i.id)))
             for i in instances),
        )
    )
    return 0


def store_health(database_url: str) -> tuple[dict[str, AgencySummary], dict[str, BreakerStatus]]:
    """Each agency's health and circuit breaker from the store; none (never synced, all closed) when the store is
    not set up yet."""
    store = create_store(database_url)
    try:
        if not store.is_set_up():
            return {}, {}
        return {s.agency_id: s for s in store.agency_summaries()}, store.breaker_states()
    finally:
        store.dispose()


def describe_success(summary: AgencySummary | None) -> str:
    if summary is None or summary.last_success_at is None:
        return "never"
    return f"{summary.last_success_at:%Y-%m-%d %H:%M} UTC"


def describe_breaker(status: BreakerStatus | None, reset_seconds: float) -> str:
    if status is None or status.state is BreakerState.CLOSED:
        return "closed" + (f" ({status.failures} failed)" if status and status.failures else "")
    if status.state is BreakerState.OPEN and status.opened_at is not None:
        until = status.opened_at + timedelta(seconds=reset_seconds)
        if until > datetime.now(UTC):
            return f"[red]open[/] until {until:%H:%M:%S} UTC ({status.failures} failed)"
    return f"[yellow]half-open[/] ({status.failures} failed)"


def check_agencies(args: argparse.Namespace) -> int:
    bus = bus_from(args)
    rows, ok = [], True
    for instance in bus.selected(args.agency_ids):
        result = bus.check(instance.id)
        ok &= result.ok
        latency = "" if result.latency_ms is None else f"{result.latency_ms:.0f} ms"
        rows.append((instance.id, "[green]ok[/]" if result.ok else "[red]failed[/]", latency, escape(result.message)))
    console.print(table("Agency checks", ["agency", "result", "latency", "message"], rows))
    return 0 if ok else 1


def recent_runs(args: argparse.Namespace) -> int:
    store = create_store(settings_from(args).database_url)
    runs = store.recent_runs(limit=args.limit, agency_id=args.agency)
    console.print(
        table(
            "Recent sync runs",
            ["run", "agency", "stream", "mode", "status", "started", "read", "stored", "unchanged", "stale",
             "quarantined", "withdrawn", "duration", "breaker", "error"],
            ((r.id, r.agency_id, r.stream, r.mode, r.status, f"{r.started_at:%Y-%m-%d %H:%M:%S}", r.read, r.stored,
              r.unchanged, r.stale, r.quarantined, r.withdrawn, fmt_seconds(r.duration_s), r.breaker_state, r.error)
             for r in runs),
        )
    )
    show_open_quarantine(store.open_quarantine_counts(agency_id=args.agency))
    return 0


def show_open_quarantine(counts: dict[tuple[str, str], int]) -> None:
    """The records still waiting in quarantine, and the command that recovers them."""
    if not counts:
        return
    waiting = ", ".join(f"{agency} {stream}: {n}" for (agency, stream), n in sorted(counts.items()))
    console.print(f"[yellow]open quarantine[/] {waiting} (fix the cause, then `mpp-bus quarantine retry --all`; "
                  "see `mpp-bus quarantine list --open`)", soft_wrap=True)


def quarantine_list(args: argparse.Namespace) -> int:
    store = create_store(settings_from(args).database_url)
    items = store.quarantine_items(agency_id=args.agency, limit=args.limit, open_only=args.open)
    console.print(
        table(
            "Quarantined records (see `mpp-bus quarantine show ID`; `mpp-bus quarantine retry` once fixed)",
            ["id", "run", "agency", "stream", "record", "reason", "when", "state"],
            ((q.id, q.run_id, q.agency_id, q.stream, q.record_id, q.reason, f"{q.created_at:%Y-%m-%d %H:%M:%S}",
              "open" if q.open else f"{q.resolution} (run {q.resolved_run_id})")
             for q in items),
        )
    )
    return 0


def quarantine_show(args: argparse.Namespace) -> int:
    store = create_store(settings_from(args).database_url)
    item = store.quarantine_item(args.item_id)
    if item is None:
        return fail(f"no quarantined record with id {args.item_id}; list them with `mpp-bus quarantine`")
    console.print(f"[bold]#{item.id}[/] agency {item.agency_id}, stream {item.stream}, record {item.record_id}, "
                  f"run {item.run_id}, {item.created_at:%Y-%m-%d %H:%M:%S}")
    console.print(f"reason: {item.reason}")
    console.print("state: open (`mpp-bus quarantine retry " + str(item.id) + "` once the cause is fixed)" if item.open
                  else f"state: {item.resolution} in run {item.resolved_run_id}, {item.resolved_at:%Y-%m-%d %H:%M:%S}")
    console.print("payload (redacted):")
    console.print_json(json.dumps(item.payload, ensure_ascii=False, default=str))
    return 0
