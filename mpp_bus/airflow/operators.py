"""Airflow operators of the bus. ``MppSyncOperator`` syncs one stream of one agency, in any DAG::

    from mpp_bus.airflow.operators import MppSyncOperator

    MppSyncOperator(task_id="sync_sragen", agency_id="dpmptsp-3314", stream="applications", pool="mpp_dpmptsp-3314")

Each operator builds the same ``Bus`` the CLI builds, from ``Settings`` (``MPP_*`` variables), with credentials
from the Airflow Connection named by the agency's ``connection_id`` and the environment as a fallback. Tasks return
run summaries only (ids, counts, status, duration): never a NIK, a name or a payload, so XComs and logs stay clean.
Nothing heavy is imported at DAG parse time: the bus, the store and the adapters load when a task runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from mpp_bus.airflow.assets import outbox_alias, outbox_asset
from mpp_bus.config import Connection, connection_from_airflow, connection_from_env
from mpp_bus.config.connections import env_var
from mpp_bus.privacy import redact_text

if TYPE_CHECKING:
    from mpp_bus.bus import Bus
    from mpp_bus.engine import RunResult

SUMMARY_FIELDS = (
    "run_id", "agency_id", "stream", "mode", "status", "read", "stored", "unchanged", "stale", "quarantined",
    "withdrawn", "duration_s",
)


def task_connection(connection_id: str) -> Connection | None:
    """Airflow's Connection first, then ``AIRFLOW_CONN_<ID>`` read by the bus itself."""
    return connection_from_airflow(connection_id) or connection_from_env(connection_id)


def build_bus(agencies_file: str | None = None) -> Bus:
    """The bus a task uses: settings from the environment, credentials from Airflow Connections."""
    from mpp_bus.bus import Bus
    from mpp_bus.config import Settings

    overrides: dict[str, Any] = {"agencies_file": Path(agencies_file)} if agencies_file else {}
    return Bus.from_settings(Settings(**overrides), connections=task_connection)


def run_summary(result: RunResult) -> dict[str, Any]:
    """What a task returns and logs about a run: counts and ids only."""
    summary = {name: getattr(result, name, None) for name in SUMMARY_FIELDS}
    if summary["duration_s"] is not None:
        summary["duration_s"] = round(float(summary["duration_s"]), 3)
    for name in ("stream", "mode", "status"):
        if summary[name] is not None:
            summary[name] = str(summary[name])
    return summary


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class _BusOperator(BaseOperator):
    template_fields: Sequence[str] = ("agency_id", "agencies_file")
    ui_color = "#e8f4ea"

    def __init__(self, *, agency_id: str, agencies_file: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.agency_id = agency_id
        self.agencies_file = agencies_file


class MppCheckOperator(_BusOperator):
    """Fails when the agency cannot be reached or refuses the bus's credentials, and records the failure as a run.

    A failure a retry can fix (down, slow, maintenance) retries with backoff; one it cannot (refused credentials,
    bad configuration) fails at once, without retries, so the admin hears about it in seconds, not after an hour of
    backoff. ``MppSyncAgencyOperator`` makes the same check before it syncs.
    """

    def execute(self, context: Any) -> dict[str, Any]:
        bus = build_bus(self.agencies_file)
        try:
            return check_agency(bus, self.agency_id, self.task_id, self.log)
        finally:
            bus.store.dispose()


def check_agency(bus: Bus, agency_id: str, task_id: str, log: Any) -> dict[str, Any]:
    """Ask the agency whether it answers and takes our credentials; a failure is recorded as a run and raised."""
    instance = bus.instance(agency_id)
    result = bus.check(agency_id)
    if not result.ok:
        details = dict(result.details or {})
        error_class = str(details.get("error_class") or "CheckFailed")
        message = (
            f"agency {instance.id} ({instance.name}) failed its check: {redact_text(result.message)}. "
            f"What to do: {check_advice(error_class, instance.connection_id)}; "
            f"To ask again from a shell: `airflow tasks test {context_dag_id(instance.id)} {task_id}` (uses the "
            f"Airflow Connection), or `mpp-bus check {instance.id}` with `{env_var(instance.connection_id)}` set."
        )
        _record_failed_check(bus, instance, message, result.latency_ms, log)
        if details.get("retriable") is False:
            raise FatalCheckFailed(message, error_class=error_class)
        raise AgencyCheckFailed(message, error_class=error_class)
    latency = round(result.latency_ms, 1) if result.latency_ms is not None else None
    log.info("agency %s is reachable (%s ms): %s", instance.id, latency, redact_text(result.message))
    return {"agency_id": instance.id, "ok": True, "latency_ms": latency}


def _record_failed_check(bus: Bus, instance: Any, message: str, latency_ms: float | None, log: Any) -> None:
    try:
        run_id = bus.store.record_failed_check(
            instance.agency, adapter=instance.adapter, error=message,
            duration_s=(latency_ms or 0.0) / 1000, now=datetime.now(UTC))
    except Exception as exc:  # the store being down must not hide what the agency said
        log.warning("could not record the failed check in the store: %s", type(exc).__name__)
        return
    log.info("recorded the failed check as run %s", run_id)


def context_dag_id(agency_id: str) -> str:
    return f"mpp_sync__{agency_id}"


def check_advice(error_class: str, connection_id: str) -> str:
    if error_class == "AuthError":
        return f"fix the credentials in the Connection `{connection_id}` (Admin -> Connections), then clear this task"
    if error_class == "ConfigError":
        return "fix the agency's entry in the agencies file or its Connection, then clear this task"
    if error_class == "Maintenance":
        return "nothing on our side: the agency announced maintenance; the retries wait for its window"
    if error_class == "FatalError":
        return "check the agency's base URL and tenant in the agencies file, or report it to the agency"
    return "make sure the agency's system is up and reachable from this worker; the task retries with backoff"


class AgencyCheckFailed(Exception):
    """The agency is unreachable, failing or in maintenance; the task retries with backoff."""

    def __init__(self, message: str, *, error_class: str = "CheckFailed") -> None:
        super().__init__(message)
        self.error_class = error_class
        self.stream = "check"


class FatalCheckFailed(AirflowFailException):
    """The agency refused our credentials or the configuration is wrong: no retry can fix it, so none is made."""

    def __init__(self, message: str, *, error_class: str) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.stream = "check"


class SyncRunFailed(Exception):
    """The engine recorded a failed run; the message carries its error. The task retries with backoff.

    ``stream`` and ``error_class`` tell the failure notifier what failed (``None``: taken from the cause).
    """

    def __init__(self, message: str, *, stream: str | None = None, error_class: str | None = None) -> None:
        super().__init__(message)
        self.stream = stream
        if error_class:
            self.error_class = error_class


class FatalSyncFailed(AirflowFailException):
    """A sync that no retry can fix (refused credentials, bad configuration, a request the agency rejects)."""

    def __init__(self, message: str, *, stream: str | None = None, error_class: str | None = None) -> None:
        super().__init__(message)
        self.stream = stream
        if error_class:
            self.error_class = error_class


class QuarantineThresholdExceeded(AirflowFailException):
    """More of a run's records went to quarantine than ``quarantine_fail_ratio`` allows; retrying reads them again."""

    error_class = "QuarantineThresholdExceeded"

    def __init__(self, message: str, *, stream: str | None = None) -> None:
        super().__init__(message)
        self.stream = stream


def sync_stream(bus: Bus, agency_id: str, stream: str, *, full_refresh: bool, quarantine_fail_ratio: float | None,
                log: Any) -> dict[str, Any]:
    """One stream's sync run: its summary, logged; raises when the run failed or quarantined too much.

    The summary is logged (counts only) before anything is raised, so a failed attempt still shows what it did.
    """
    from mpp_bus.errors import ConfigError, FatalError

    try:
        result = bus.sync(agency_id, stream, full_refresh=full_refresh)
    except (FatalError, ConfigError) as exc:
        # The engine recorded the failed run; retrying would repeat the same refusal.
        raise FatalSyncFailed(
            f"sync of agency {agency_id} stream {stream} failed and no retry can fix it: {redact_text(str(exc))}",
            stream=stream, error_class=type(exc).__name__,
        ) from exc
    summary = run_summary(result)
    log.info("run %s", " ".join(f"{k}={v}" for k, v in summary.items()))
    # Quarantined records of earlier runs that still wait for a fix, not only this run's.
    waiting = bus.store.open_quarantine_counts(agency_id=agency_id).get((agency_id, stream), 0)
    if waiting:
        log.warning("open quarantine: %d record(s) of %s %s wait for a fix; see `mpp-bus quarantine list --open "
                    "--agency %s`, then `mpp-bus quarantine retry --all --agency %s`", waiting, agency_id, stream,
                    agency_id, agency_id)
    else:
        log.info("open quarantine: 0")
    if not result.ok:
        error = redact_text(str(getattr(result, "error", "") or "no error recorded"))
        raise SyncRunFailed(
            f"sync of agency {agency_id} stream {stream} ended {summary['status']} (run {summary['run_id']}): "
            f"{error}. What to do: see `mpp-bus runs` and `mpp-bus quarantine list`; the next attempt resumes from "
            f"the stored cursor.", stream=stream,
        )
    judge_quarantine(agency_id, stream, summary, quarantine_fail_ratio, log)
    return summary


def judge_quarantine(agency_id: str, stream: str, summary: Mapping[str, Any], fail_ratio: float | None,
                     log: Any) -> None:
    """Warn when a run quarantined records; fail it when their share of the records read exceeds ``fail_ratio``."""
    quarantined, read = int(summary.get("quarantined") or 0), int(summary.get("read") or 0)
    if not quarantined:
        return
    ratio = quarantined / read if read else 1.0
    advice = (f"read the reasons with `mpp-bus quarantine list --agency {agency_id}` (or the MPP agencies page), fix "
              f"the mapping or ask the agency to fix its data")
    if fail_ratio is not None and ratio > fail_ratio:
        # Data was stored and its assets are not updated: the report should not present this run as clean.
        raise QuarantineThresholdExceeded(
            f"agency {agency_id} stream {stream}: {quarantined} of {read} records ({ratio:.1%}) were quarantined, "
            f"above the limit of {fail_ratio:.1%} (quarantine_fail_ratio). The other records are stored. What to "
            f"do: {advice}, then clear this task.", stream=stream,
        )
    log.warning("agency %s stream %s: %d of %d records (%.1f%%) quarantined, not stored. What to do: %s",
                agency_id, stream, quarantined, read, ratio * 100, advice)


def _set_outlet_extra(context: Any, outlets: Sequence[Any], stream: str, summary: Mapping[str, Any]) -> None:
    outlet_events = context.get("outlet_events") if isinstance(context, Mapping) else None
    if outlet_events is None:
        return
    for outlet in outlets:
        if getattr(outlet, "uri", "").startswith(f"mpp://portal/{stream}/"):
            outlet_events[outlet].extra = {k: v for k, v in summary.items() if v is not None}


class MppSyncOperator(_BusOperator):
    """Sync one stream of one agency into the portal store: ``bus.sync(agency_id, stream, full_refresh=...)``.

    For your own DAGs; the bus's DAGs use ``MppSyncAgencyOperator``. ``agency_id``, ``stream`` and ``full_refresh``
    are templated, e.g. ``full_refresh="{{ params.full_refresh }}"``. The task is skipped when the agency does not
    offer ``stream``; it fails (and retries) when the run fails, and fails at once when no retry can help (refused
    credentials, bad configuration, a request the agency rejects). A run that quarantined records logs a warning;
    with ``quarantine_fail_ratio`` set, a run whose quarantined share of the records read exceeds it fails. Outlet
    assets get the run summary as their event's ``extra``.
    """

    template_fields: Sequence[str] = ("agency_id", "stream", "full_refresh", "agencies_file")

    def __init__(self, *, stream: str, full_refresh: bool | str = False, quarantine_fail_ratio: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stream = stream
        self.full_refresh = full_refresh
        self.quarantine_fail_ratio = quarantine_fail_ratio

    def execute(self, context: Any) -> dict[str, Any]:
        bus = build_bus(self.agencies_file)
        offered = [str(s) for s in bus.streams_of(self.agency_id)]
        if self.stream not in offered:
            raise AirflowSkipException(
                f"agency {self.agency_id} does not offer the {self.stream} stream (it offers: {', '.join(offered)})"
            )
        summary = sync_stream(bus, self.agency_id, self.stream, full_refresh=_as_bool(self.full_refresh),
                              quarantine_fail_ratio=self.quarantine_fail_ratio, log=self.log)
        _set_outlet_extra(context, self.outlets, self.stream, summary)
        return summary


SYNC_ORDER = ("catalog", "applications")


class MppSyncAgencyOperator(_BusOperator):
    """A whole sync run of one agency in one task: check, then every offered stream, then one summary.

    The task of every ``mpp_sync__<agency>`` DAG. Airflow's cost is per task instance (a process, a parse, execution
    API calls), so one task instead of four (check, two streams, summary) costs about a third, measured by
    ``python -m mpp_bus.airflow bench-sweep``. Each stream still runs with its own lock, breaker and cursor in the
    engine, in the agency's pool, with the task's retries. A failed check is recorded as a run and stops the task;
    a failed stream does not stop the next one. The task then fails: at once (no retries) when no retry can fix a
    stream (refused credentials, bad configuration, too much quarantined), otherwise with retries that resume from
    the stored cursors. The log ends with one line per stream (read, stored, unchanged, quarantined); the return
    value (XCom) carries the same counts; each stream's outlet asset gets its counts as the event's ``extra``.
    """

    template_fields: Sequence[str] = ("agency_id", "full_refresh", "agencies_file")

    def __init__(self, *, full_refresh: bool | str = False, quarantine_fail_ratio: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.full_refresh = full_refresh
        self.quarantine_fail_ratio = quarantine_fail_ratio

    def execute(self, context: Any) -> dict[str, Any]:
        bus = build_bus(self.agencies_file)
        try:
            return self._run(bus, context)
        finally:
            bus.store.dispose()

    def _run(self, bus: Bus, context: Any) -> dict[str, Any]:
        check = check_agency(bus, self.agency_id, self.task_id, self.log)
        offered = [str(s) for s in bus.streams_of(self.agency_id)]
        streams: dict[str, dict[str, Any]] = {}
        failures: list[tuple[str, Exception]] = []
        for stream in SYNC_ORDER:
            if stream not in offered:
                self.log.info("agency %s does not offer the %s stream; nothing to sync", self.agency_id, stream)
                continue
            try:
                summary = sync_stream(bus, self.agency_id, stream, full_refresh=_as_bool(self.full_refresh),
                                      quarantine_fail_ratio=self.quarantine_fail_ratio, log=self.log)
            except (SyncRunFailed, AirflowFailException) as exc:
                self.log.error("agency %s stream %s: %s", self.agency_id, stream, exc)
                failures.append((stream, exc))
                continue
            streams[stream] = summary
            _set_outlet_extra(context, self.outlets, stream, summary)
        self._log_summary(streams, failures)
        if failures:
            raise _combined_failure(self.agency_id, failures)
        self._resolve_failure_alert(bus)
        return {"agency_id": self.agency_id, "check": check, "streams": streams}

    def _log_summary(self, streams: Mapping[str, Mapping[str, Any]], failures: Sequence[tuple[str, Exception]]) -> None:
        for stream, summary in streams.items():
            self.log.info("summary %s: %s read=%s stored=%s unchanged=%s quarantined=%s (run %s)", stream,
                          summary["status"], summary["read"], summary["stored"], summary["unchanged"],
                          summary["quarantined"], summary["run_id"])
        for stream, exc in failures:
            self.log.info("summary %s: failed (%s)", stream, _error_class(exc))

    def _resolve_failure_alert(self, bus: Bus) -> None:
        """A clean run ends the agency's open failure alert, so the next outage alerts again."""
        from mpp_bus.airflow.alerts import FAILURE

        try:
            if bus.store.resolve_alert(self.agency_id, FAILURE, now=datetime.now(UTC)):
                self.log.info("agency %s recovered: its failure alert is resolved", self.agency_id)
        except Exception as exc:  # the run's summary matters more than the alert bookkeeping
            self.log.warning("could not resolve the failure alert: %s", type(exc).__name__)


def _error_class(exc: BaseException) -> str:
    from mpp_bus.airflow.alerts import error_class_of

    return error_class_of(exc)


def _combined_failure(agency_id: str, failures: Sequence[tuple[str, Exception]]) -> Exception:
    """One exception for the streams that failed: fatal (no retries) when any of them no retry can fix."""
    if len(failures) == 1:
        return failures[0][1]
    fatal: list[tuple[str, Exception]] = [(s, e) for s, e in failures if isinstance(e, AirflowFailException)]
    stream, first = (fatal or list(failures))[0]
    names = ", ".join(s for s, _ in failures)
    message = f"agency {agency_id}: {names} failed. First: {first}"
    if fatal:
        return FatalSyncFailed(message, stream=stream, error_class=_error_class(first))
    return SyncRunFailed(message, stream=stream, error_class=_error_class(first))


class MppReportOperator(BaseOperator):
    """Refresh the performance snapshot the API serves (``performance_reports``) at most once per
    ``min_refresh_seconds``, log which configured agencies are failing or stale, and alert once per stale agency
    (``MppStaleNotifier``; resolved when the agency is fresh again)."""

    template_fields: Sequence[str] = ("agencies_file",)
    ui_color = "#e8eef4"

    def __init__(self, *, agencies_file: str | None = None, min_refresh_seconds: float = 0.0,
                 alerts_connection_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.agencies_file = agencies_file
        self.min_refresh_seconds = min_refresh_seconds
        self.alerts_connection_id = alerts_connection_id

    def execute(self, context: Any) -> dict[str, Any]:
        from mpp_bus.airflow.alerts import ALERTS_CONNECTION_ID, MppStaleNotifier
        from mpp_bus.airflow.report import run_report

        bus = build_bus(self.agencies_file)
        try:
            report = run_report(bus.store, bus.instances, min_refresh_s=self.min_refresh_seconds)
            notifier = MppStaleNotifier(agencies_file=self.agencies_file,
                                        connection_id=self.alerts_connection_id or ALERTS_CONNECTION_ID)
            stale_rows = [(f.agency_id, f.name or f.agency_id, f.freshness_s, _limit(f.expected_interval_s))
                          for f in report.freshness if f.stale]
            alerted = notifier.send_stale(bus.store, stale_rows, [f.agency_id for f in report.freshness if not f.stale])
        finally:
            bus.store.dispose()
        stale, failing = report.stale, report.failing
        what = "refreshed" if report.refreshed else "kept (refreshed less than the interval ago)"
        self.log.info("performance of %d services %s; %d agencies: %d stale, %d failing, %d overdue applications",
                      report.services, what, len(report.freshness), len(stale), len(failing),
                      report.overdue_applications)
        if failing:
            self.log.warning("failing agencies (newest run or check failed): %s", _first(failing))
        if stale:
            self.log.warning("stale agencies: %s (%d new alert(s) sent)", _first(stale), alerted)
        return {"agencies": len(report.freshness), "stale": len(stale), "failing": len(failing),
                "alerts_sent": alerted, "refreshed": report.refreshed,
                "overdue_applications": report.overdue_applications, "services": report.services}


def _limit(interval: float | None) -> float | None:
    return 2 * interval if interval is not None else None


def _first(ids: Sequence[str], n: int = 50) -> str:
    return ", ".join(ids[:n]) + (" ..." if len(ids) > n else "")


class DispatchStopped(Exception):
    """The agency's breaker is open or another dispatcher holds its lock; the task retries with backoff."""


class MppDispatchOperator(_BusOperator):
    """Deliver one agency's waiting submissions: ``bus.dispatch(agency_id)``. Runs when the outbox watcher saw
    submissions due for the agency; ends at once when nothing waits any more (an earlier run delivered them), and
    fails (and retries) when the agency's breaker stopped the delivery."""

    def execute(self, context: Any) -> dict[str, Any]:
        bus = build_bus(self.agencies_file)
        waiting = bus.store.agencies_waiting(now=datetime.now(UTC)).get(self.agency_id, 0)
        if not waiting:
            self.log.info("agency %s: no submission waits", self.agency_id)
            return {"agency_id": self.agency_id, "waiting": 0}
        result = bus.dispatch(self.agency_id)
        summary = {"agency_id": self.agency_id, "waiting": waiting, "attempts": result.attempts,
                   "delivered": result.delivered, "found_by_lookup": result.found_by_lookup,
                   "refused": result.refused, "retrying": result.retrying, "dead": result.dead}
        self.log.info("dispatch %s", " ".join(f"{k}={v}" for k, v in summary.items()))
        if not result.ok:
            raise DispatchStopped(f"dispatch of agency {self.agency_id} stopped: {redact_text(result.stopped or '')}."
                                  " What to do: check the agency's health (`mpp-bus agencies`); waiting submissions "
                                  "stay in the outbox and are delivered by the next run.")
        return summary


class MppOutboxWatchOperator(BaseOperator):
    """Start the dispatch DAGs of the agencies whose submissions are due: one store query for every agency, then one
    event on the outbox asset (``mpp://outbox/<agency>``) of each agency that has any, through the asset alias
    ``mpp_outbox_due``. Due means accepted, retrying whose next attempt has come, or sending (a dispatcher that died
    mid-delivery left it). Agencies without a dispatch DAG (disabled, unknown, or whose adapter takes no
    submissions) get no event; their waiting submissions are logged as a warning. One cheap task on a short
    schedule instead of a timer on each dispatch DAG: Airflow's cost is per task instance."""

    template_fields: Sequence[str] = ("agencies_file",)
    ui_color = "#f4eee8"

    def __init__(self, *, agencies_file: str | None = None, **kwargs: Any) -> None:
        super().__init__(outlets=[outbox_alias()], **kwargs)
        self.agencies_file = agencies_file

    def execute(self, context: Any) -> dict[str, Any]:
        bus = build_bus(self.agencies_file)
        try:
            waiting = bus.store.agencies_waiting(now=datetime.now(UTC))
            submitting = {i.id for i in bus.submitting()} if waiting else set()
        finally:
            bus.store.dispose()
        due = {agency: n for agency, n in sorted(waiting.items()) if agency in submitting}
        stranded = {agency: n for agency, n in sorted(waiting.items()) if agency not in submitting}
        events = context["outlet_events"][outbox_alias()]
        for agency_id, count in due.items():
            events.add(outbox_asset(agency_id), extra={"waiting": count})
        self.log.info("outbox: %d submission(s) due for %d agencies; their dispatch DAGs are started: %s",
                      sum(due.values()), len(due), _counts(due) or "none")
        if stranded:
            self.log.warning("outbox: submissions wait for agencies without a dispatch DAG (disabled, not in the "
                             "agencies file, or not accepting submissions): %s. What to do: configure and enable "
                             "the agency in the agencies file; its dispatch DAG then delivers them", _counts(stranded))
        return {"agencies": len(due), "submissions": sum(due.values()), "stranded_agencies": len(stranded)}


def _counts(by_agency: Mapping[str, int], n: int = 50) -> str:
    """``agency=count`` pairs, the first ``n`` of them: ids and counts only."""
    pairs = [f"{agency}={count}" for agency, count in list(by_agency.items())[:n]]
    return ", ".join(pairs) + (" ..." if len(by_agency) > n else "")
