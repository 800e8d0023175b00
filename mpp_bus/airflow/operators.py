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
    backoff.
    """

    def execute(self, context: Any) -> dict[str, Any]:
        bus = build_bus(self.agencies_file)
        instance = bus.instance(self.agency_id)
        result = bus.check(self.agency_id)
        if not result.ok:
            details = dict(result.details or {})
            error_class = str(details.get("error_class") or "CheckFailed")
            message = (
                f"agency {instance.id} ({instance.name}) failed its check: {redact_text(result.message)}. "
                f"What to do: {check_advice(error_class, instance.connection_id)}; "
                f"To ask again from a shell: `airflow tasks test {context_dag_id(instance.id)} check` (uses the "
                f"Airflow Connection), or `mpp-bus check {instance.id}` with `{env_var(instance.connection_id)}` set."
            )
            self._record(bus, instance, message, result.latency_ms)
            if details.get("retriable") is False:
                raise FatalCheckFailed(message, error_class=error_class)
            raise AgencyCheckFailed(message, error_class=error_class)
        latency = round(result.latency_ms, 1) if result.latency_ms is not None else None
        self.log.info("agency %s is reachable (%s ms): %s", instance.id, latency, redact_text(result.message))
        return {"agency_id": instance.id, "ok": True, "latency_ms": latency}

    def _record(self, bus: Bus, instance: Any, message: str, latency_ms: float | None) -> None:
        from datetime import UTC, datetime

        try:
            run_id = bus.store.record_failed_check(
                instance.agency, adapter=instance.adapter, error=message,
                duration_s=(latency_ms or 0.0) / 1000, now=datetime.now(UTC))
        except Exception as exc:  # the store being down must not hide what the agency said
            self.log.warning("could not record the failed check in the store: %s", type(exc).__name__)
            return
        finally:
            bus.store.dispose()
        self.log.info("recorded the failed check as run %s", run_id)


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


class FatalCheckFailed(AirflowFailException):
    """The agency refused our credentials or the configuration is wrong: no retry can fix it, so none is made."""

    def __init__(self, message: str, *, error_class: str) -> None:
        super().__init__(message)
        self.error_class = error_class


class SyncRunFailed(Exception):
    """The engine recorded a failed run; the message carries its error. The task retries with backoff."""


class QuarantineThresholdExceeded(AirflowFailException):
    """More of a run's records went to quarantine than ``quarantine_fail_ratio`` allows; retrying reads them again."""

    error_class = "QuarantineThresholdExceeded"


class MppSyncOperator(_BusOperator):
    """Sync one stream of one agency into the portal store: ``bus.sync(agency_id, stream, full_refresh=...)``.

    ``agency_id``, ``stream`` and ``full_refresh`` are templated, e.g. ``full_refresh="{{ params.full_refresh }}"``.
    The task is skipped when the agency does not offer ``stream``; it fails (and retries) when the run fails, and
    fails at once when no retry can help (refused credentials, bad configuration, a request the agency rejects).
    A run that quarantined records logs a warning; with ``quarantine_fail_ratio`` set, a run whose quarantined share
    of the records read exceeds it fails. Outlet assets get the run summary as their event's ``extra``.
    """

    template_fields: Sequence[str] = ("agency_id", "stream", "full_refresh", "agencies_file")

    def __init__(self, *, stream: str, full_refresh: bool | str = False, quarantine_fail_ratio: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stream = stream
        self.full_refresh = full_refresh
        self.quarantine_fail_ratio = quarantine_fail_ratio

    def execute(self, context: Any) -> dict[str, Any]:
        from mpp_bus.errors import ConfigError, FatalError

        bus = build_bus(self.agencies_file)
        offered = [str(s) for s in bus.streams_of(self.agency_id)]
        if self.stream not in offered:
            raise AirflowSkipException(
                f"agency {self.agency_id} does not offer the {self.stream} stream (it offers: {', '.join(offered)})"
            )
        try:
            result = bus.sync(self.agency_id, self.stream, full_refresh=_as_bool(self.full_refresh))
        except (FatalError, ConfigError) as exc:
            # The engine recorded the failed run; retrying would repeat the same refusal.
            raise AirflowFailException(
                f"sync of agency {self.agency_id} stream {self.stream} failed and no retry can fix it: "
                f"{redact_text(str(exc))}"
            ) from exc
        summary = run_summary(result)
        self.log.info("run %s", " ".join(f"{k}={v}" for k, v in summary.items()))
        waiting = bus.store.open_quarantine_counts(agency_id=self.agency_id).get((self.agency_id, self.stream), 0)
        if waiting:
            self.log.warning("open quarantine: %d record(s) of %s %s wait for a fix; see `mpp-bus quarantine list "
                             "--open --agency %s`, then `mpp-bus quarantine retry --all --agency %s`", waiting,
                             self.agency_id, self.stream, self.agency_id, self.agency_id)
        else:
            self.log.info("open quarantine: 0")
        if not result.ok:
            error = redact_text(str(getattr(result, "error", "") or "no error recorded"))
            raise SyncRunFailed(
                f"sync of agency {self.agency_id} stream {self.stream} ended {summary['status']} (run "
                f"{summary['run_id']}): {error}. What to do: see `mpp-bus runs` and `mpp-bus quarantine list`; the "
                f"next attempt resumes from the stored cursor."
            )
        self._judge_quarantine(summary)
        outlet_events = context.get("outlet_events") if isinstance(context, Mapping) else None
        if outlet_events is not None:
            for outlet in self.outlets:
                outlet_events[outlet].extra = {k: v for k, v in summary.items() if v is not None}
        return summary

    def _judge_quarantine(self, summary: Mapping[str, Any]) -> None:
        quarantined, read = int(summary.get("quarantined") or 0), int(summary.get("read") or 0)
        if not quarantined:
            return
        ratio = quarantined / read if read else 1.0
        advice = (f"read the reasons with `mpp-bus quarantine list --agency {self.agency_id}` (or the MPP agencies "
                  f"page), fix the mapping or ask the agency to fix its data")
        if self.quarantine_fail_ratio is not None and ratio > self.quarantine_fail_ratio:
            # Data was stored and its assets are not updated: the report should not present this run as clean.
            raise QuarantineThresholdExceeded(
                f"agency {self.agency_id} stream {self.stream}: {quarantined} of {read} records ({ratio:.1%}) were "
                f"quarantined, above the limit of {self.quarantine_fail_ratio:.1%} (quarantine_fail_ratio). The "
                f"other records are stored. What to do: {advice}, then clear this task."
            )
        self.log.warning("agency %s stream %s: %d of %d records (%.1f%%) quarantined, not stored. What to do: %s",
                         self.agency_id, self.stream, quarantined, read, ratio * 100, advice)


class MppSyncAgencyOperator(_BusOperator):
    """A whole sync run of one agency in one task: check, then every offered stream, then one summary.

    The shape chosen by ``MPP_AIRFLOW_ONE_TASK_PER_INSTANCE``: Airflow's cost is per task instance (a process, a
    parse, execution API calls), so one task instead of four costs about a third. Each stream still runs with its
    own lock, breaker and cursor in the engine; a failed stream does not stop the next, and the task fails (and
    retries, resuming from the stored cursors) when any did.
    """

    template_fields: Sequence[str] = ("agency_id", "full_refresh", "agencies_file")

    def __init__(self, *, full_refresh: bool | str = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.full_refresh = full_refresh

    def execute(self, context: Any) -> dict[str, Any]:
        bus = build_bus(self.agencies_file)
        instance = bus.instance(self.agency_id)
        check = bus.check(self.agency_id)
        if not check.ok:
            raise AgencyCheckFailed(
                f"agency {instance.id} ({instance.name}) failed its check: {redact_text(check.message)}. "
                f"What to do: make sure the agency's system is up and that the Connection `{instance.connection_id}` "
                f"holds valid credentials, then clear this task."
            )
        offered = [str(s) for s in bus.streams_of(self.agency_id)]
        outlet_events = context.get("outlet_events") if isinstance(context, Mapping) else None
        streams: dict[str, dict[str, Any]] = {}
        for stream in ("catalog", "applications"):
            if stream not in offered:
                continue
            summary = run_summary(bus.sync(self.agency_id, stream, full_refresh=_as_bool(self.full_refresh)))
            streams[stream] = summary
            self.log.info("run %s", " ".join(f"{k}={v}" for k, v in summary.items()))
            if outlet_events is not None and summary["status"] == "succeeded":
                for outlet in self.outlets:
                    if getattr(outlet, "uri", "").startswith(f"mpp://portal/{stream}/"):
                        outlet_events[outlet].extra = {k: v for k, v in summary.items() if v is not None}
        failed = [s for s, summary in streams.items() if summary["status"] != "succeeded"]
        if failed:
            raise SyncRunFailed(
                f"agency {self.agency_id}: sync of {', '.join(failed)} did not succeed (runs "
                f"{', '.join(str(streams[s]['run_id']) for s in failed)}). What to do: see `mpp-bus runs` and "
                f"`mpp-bus quarantine list`; the next attempt resumes from the stored cursors."
            )
        return {"agency_id": self.agency_id, "streams": streams}


class MppRecordRunOperator(BaseOperator):
    """The last task of a sync DAG: one summary of what the run did, failing when an earlier task failed.

    It runs whatever happened upstream (``trigger_rule="all_done"``), so the run's outcome is always summarised in
    one place, and the DAG run fails when any stream failed rather than looking green.
    """

    template_fields: Sequence[str] = ("agency_id",)
    ui_color = "#f4f0e8"

    def __init__(
        self, *, agency_id: str, sync_task_ids: Sequence[str], upstream_task_ids_to_check: Sequence[str],
        agencies_file: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.agency_id = agency_id
        self.agencies_file = agencies_file
        self.sync_task_ids = list(sync_task_ids)
        self.upstream_task_ids_to_check = list(upstream_task_ids_to_check)

    def execute(self, context: Any) -> dict[str, Any]:
        ti = context["ti"]
        states = _task_states(ti, self.upstream_task_ids_to_check)
        streams: dict[str, Any] = {}
        for task_id in self.sync_task_ids:
            summary = ti.xcom_pull(task_ids=task_id)
            streams[task_id] = summary if isinstance(summary, Mapping) else {"state": states.get(task_id)}
        record = {"agency_id": self.agency_id, "run_id": context["run_id"], "task_states": states, "streams": streams}
        self.log.info("agency %s run %s: task states %s", self.agency_id, context["run_id"], states)
        for task_id, summary in streams.items():
            self.log.info("%s: %s", task_id, " ".join(f"{k}={v}" for k, v in summary.items()))
        failed = [t for t, s in states.items() if s == "failed"]
        not_run = [t for t, s in states.items() if s == "upstream_failed"]
        if not failed and not not_run:
            self._resolve_failure_alert()
        if failed or not_run:
            skipped = f" ({', '.join(not_run)} did not run)" if not_run else ""
            first = failed[0] if failed else not_run[0]
            raise AirflowFailException(
                f"agency {self.agency_id}: {', '.join(failed) or 'an earlier task'} failed{skipped}; open the log "
                f"of `{first}` for the reason and what to do"
            )
        return record


    def _resolve_failure_alert(self) -> None:
        """A clean run ends the agency's open failure alert, so the next outage alerts again."""
        from datetime import UTC, datetime

        from mpp_bus.airflow.alerts import FAILURE

        bus = build_bus(self.agencies_file)
        try:
            if bus.store.resolve_alert(self.agency_id, FAILURE, now=datetime.now(UTC)):
                self.log.info("agency %s recovered: its failure alert is resolved", self.agency_id)
        except Exception as exc:  # the run's summary matters more than the alert bookkeeping
            self.log.warning("could not resolve the failure alert: %s", type(exc).__name__)
        finally:
            bus.store.dispose()


def _task_states(ti: Any, task_ids: Sequence[str]) -> dict[str, str | None]:
    raw = ti.get_task_states(dag_id=ti.dag_id, task_ids=list(task_ids), run_ids=[ti.run_id])
    # The answer is keyed by run id, then task id.
    by_task = raw.get(ti.run_id, raw) if isinstance(raw, Mapping) else {}
    return {t: (str(by_task[t]) if by_task.get(t) is not None else None) for t in task_ids}


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
    """Deliver one agency's waiting submissions: ``bus.dispatch(agency_id)``. Ends at once when nothing waits (the
    check is one indexed count, so a short schedule costs nothing), and fails (and retries) when the agency's breaker
    stopped the delivery."""

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
