"""The DAG factory: one sync DAG per configured agency instance, and the report DAG scheduled on their assets.

Parsing does no network or database I/O: it reads the agencies file (cached per file modification time, with the C
YAML loader) and builds operators. Everything that talks to an agency or the store happens when a task runs, through
the same ``Bus`` the CLI uses. A DAG file is two lines::

    from mpp_bus.airflow.factory import build_dags
    globals().update(build_dags())

Each ``mpp_sync__<agency id>`` DAG runs one task, ``sync`` (check, then each stream, then one summary), in the pool
``mpp_<agency id>``; it updates the assets ``mpp://portal/<stream>/<agency id>``, on which ``mpp_report`` is
scheduled. One task rather than one per step, because Airflow's cost is per task instance: measured with
``bench-sweep``, four tasks cost about 3.9 CPU-s per agency and one about 1.5 CPU-s.

Each agency whose adapter accepts submissions also gets ``mpp_dispatch__<agency id>``, scheduled on its outbox asset
``mpp://outbox/<agency id>`` alone; one DAG, ``mpp_outbox_watch``, on a short schedule asks the store which agencies
have submissions due and updates only their outbox assets. A timer on every dispatch DAG would cost a task instance
per agency and tick to find, almost always, nothing waiting.

A task process parses the DAG file only to find its own task: when Airflow's parsing context names a DAG of the
bus, ``build_dags()`` builds that DAG alone (the report DAG still gets every agency's assets).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from airflow.sdk import (
    DAG,
    Asset,
    AssetAny,
    AssetOrTimeSchedule,
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    Param,
    get_parsing_context,
)
from airflow.sdk.configuration import conf as airflow_conf
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mpp_bus.airflow.alerts import MppFailureNotifier
from mpp_bus.airflow.assets import outbox_asset
from mpp_bus.airflow.operators import (
    MppDispatchOperator,
    MppOutboxWatchOperator,
    MppReportOperator,
    MppSyncAgencyOperator,
)
from mpp_bus.config import AgencyInstance, load_agencies
from mpp_bus.contract.registry import adapter_type
from mpp_bus.errors import ConfigError

DAG_PREFIX = "mpp_sync__"
DISPATCH_PREFIX = "mpp_dispatch__"
REPORT_DAG_ID = "mpp_report"
OUTBOX_WATCH_DAG_ID = "mpp_outbox_watch"
START_DATE = datetime(2024, 1, 1, tzinfo=UTC)


class DagSettings(BaseSettings):
    """How the DAGs run, from ``MPP_AIRFLOW_*`` variables: task retries on top of the transport's own retries."""

    model_config = SettingsConfigDict(env_prefix="MPP_AIRFLOW_", extra="ignore")

    retries: Annotated[int, Field(ge=0, le=20)] = 3
    retry_delay_seconds: Annotated[float, Field(ge=0)] = 60.0
    max_retry_delay_seconds: Annotated[float, Field(ge=0)] = 1800.0
    execution_timeout_seconds: Annotated[float, Field(gt=0)] = 3600.0
    report_schedule_on_assets: bool = True
    # A sync run whose quarantined share of the records read exceeds this fails (None: it only warns).
    quarantine_fail_ratio: Annotated[float | None, Field(ge=0, le=1)] = None
    # However many assets land, the report refreshes the performance snapshot at most this often; it runs daily
    # (report_fallback_schedule) even when no data lands, so a national outage is still reported.
    report_min_refresh_seconds: Annotated[float, Field(ge=0)] = 300.0
    report_fallback_schedule: str = "@daily"
    # How often the outbox watcher asks the store which agencies have submissions due (accepted, or a retry whose
    # time has come) and starts only their dispatch DAGs: the longest a citizen's submission waits before delivery
    # starts. One task instance per run for all agencies, where a timer on each of 600 dispatch DAGs cost 600.
    outbox_watch_schedule: str = "*/2 * * * *"


def pool_name(agency_id: str) -> str:
    return f"mpp_{agency_id}"


def dag_id(agency_id: str) -> str:
    return f"{DAG_PREFIX}{agency_id}"


@lru_cache(maxsize=4096)  # the sync DAG and the report DAG share one object per asset
def stream_asset(agency_id: str, stream: str) -> Asset:
    """What a sync of one stream of one agency updates in the portal store."""
    return Asset(name=f"mpp_portal_{stream}__{agency_id}", uri=f"mpp://portal/{stream}/{agency_id}", group="mpp-portal")


def agencies_file() -> Path:
    """``MPP_AGENCIES_FILE``, else the project's ``agencies.yaml`` (not the scheduler's working directory)."""
    configured = os.environ.get("MPP_AGENCIES_FILE")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "agencies.yaml"


def cached_agencies(path: Path) -> tuple[AgencyInstance, ...]:
    """The instances in ``path``; re-read only when the file changes (the DAG processor parses it every few minutes,
    and every task process once)."""
    stat = path.stat()
    return _load(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> tuple[AgencyInstance, ...]:
    return tuple(load_agencies(Path(path)))


def build_dags(
    path: Path | None = None, settings: DagSettings | None = None, only: str | None = None
) -> dict[str, DAG]:
    """Every DAG of the bus for one agencies file, keyed by DAG id: a sync DAG per enabled instance, the report, and
    for the instances that accept submissions a dispatch DAG each and the one outbox watcher.

    ``only`` (by default the DAG id of Airflow's parsing context, set when a task process parses the file) builds
    just that DAG: a task of one agency need not pay for building the DAGs of 600. A DAG id the file does not
    define builds everything, so Airflow reports the missing DAG as it would without the shortcut.
    """
    path = path or agencies_file()
    settings = settings or DagSettings()
    instances = [i for i in cached_agencies(path) if i.enabled]
    wanted = only if only is not None else get_parsing_context().dag_id
    if wanted == REPORT_DAG_ID:
        return {REPORT_DAG_ID: build_report_dag(instances, path, settings)}
    # Whether an agency submits loads its adapter type: a sync task's process must not pay that for 600 agencies.
    if wanted == OUTBOX_WATCH_DAG_ID and any(_submits(i) for i in instances):
        return {OUTBOX_WATCH_DAG_ID: build_outbox_watch_dag(path, settings)}
    task_args = _task_defaults(settings)
    dag_args = _dag_defaults()
    if wanted is not None:
        chosen = [i for i in instances if dag_id(i.id) == wanted]
        if chosen:
            return {wanted: build_sync_dag(chosen[0], path, settings, task_args, dag_args)}
        chosen = [i for i in instances if dispatch_dag_id(i.id) == wanted and _submits(i)]
        if chosen:
            return {wanted: build_dispatch_dag(chosen[0], path, settings, task_args, dag_args)}
    submitting = [i for i in instances if _submits(i)]
    dags = {dag_id(i.id): build_sync_dag(i, path, settings, task_args, dag_args) for i in instances}
    dags[REPORT_DAG_ID] = build_report_dag(instances, path, settings)
    for instance in submitting:
        dags[dispatch_dag_id(instance.id)] = build_dispatch_dag(instance, path, settings, task_args, dag_args)
    if submitting:
        dags[OUTBOX_WATCH_DAG_ID] = build_outbox_watch_dag(path, settings, dag_args)
    return dags


def dispatch_dag_id(agency_id: str) -> str:
    return f"{DISPATCH_PREFIX}{agency_id}"


@lru_cache(maxsize=256)
def _adapter_submits(adapter: str) -> bool:
    try:
        return adapter_type(adapter).submits()
    except ConfigError:
        return False


def _submits(instance: AgencyInstance) -> bool:
    return _adapter_submits(instance.adapter)


def build_dispatch_dag(
    instance: AgencyInstance,
    path: Path,
    settings: DagSettings,
    task_args: dict[str, Any] | None = None,
    dag_args: dict[str, Any] | None = None,
) -> DAG:
    """The dispatch DAG of one agency that accepts submissions: runs when the outbox watcher updates the agency's
    outbox asset (submissions are due), in the agency's pool, under its breaker. No timer of its own: the watcher
    also notices retries that come due."""
    task_args = task_args if task_args is not None else _task_defaults(settings)
    dag_args = dict(dag_args if dag_args is not None else _dag_defaults())
    dag_args.pop("data_intervals")
    common: dict[str, Any] = {"agency_id": instance.id, "agencies_file": str(path), "pool": pool_name(instance.id),
                              **task_args}
    if instance.queue:
        common["queue"] = instance.queue
    with DAG(
        dag_id=dispatch_dag_id(instance.id),
        description=f"Deliver waiting submissions to {instance.name}",
        schedule=outbox_asset(instance.id),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=[*tags(instance), "dispatch"],
        doc_md=f"Delivers the submissions waiting in the outbox for **{instance.name}** (`{instance.id}`) through "
               f"its adapter, exactly once at the agency: `mpp-bus dispatch {instance.id}` does the same. Runs when "
               f"the asset `mpp://outbox/{instance.id}` is updated: the DAG `{OUTBOX_WATCH_DAG_ID}` does that "
               f"(on `{settings.outbox_watch_schedule}`, `MPP_AIRFLOW_OUTBOX_WATCH_SCHEDULE`) when submissions "
               f"for this agency are due, new ones as well as retries whose time has come. Ends at once when "
               f"nothing waits any more. Pool `{pool_name(instance.id)}`, the agency's breaker; a stopped delivery "
               f"fails the task, which retries, and the submissions stay in the outbox.",
        dagrun_timeout=timedelta(seconds=settings.execution_timeout_seconds * 2),
        **dag_args,
    ) as dag:
        MppDispatchOperator(task_id="dispatch", **common)
    return dag


# The watcher's own run is one query; a stuck one must not hold up every agency's deliveries for long, and a
# failed one needs no retry: the next run, minutes later, asks again.
WATCH_TIMEOUT = timedelta(minutes=5)


def build_outbox_watch_dag(path: Path, settings: DagSettings, dag_args: dict[str, Any] | None = None) -> DAG:
    """The outbox watcher: on a short schedule, one task asks the store which agencies have submissions due and
    updates only their outbox assets, so only their dispatch DAGs run."""
    dag_args = dict(dag_args if dag_args is not None else _dag_defaults())
    data_intervals = dag_args.pop("data_intervals")
    with DAG(
        dag_id=OUTBOX_WATCH_DAG_ID,
        description="Start the dispatch DAGs of the agencies whose submissions are due",
        schedule=timetable(settings.outbox_watch_schedule, data_intervals),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=["mpp-bus", "dispatch"],
        doc_md=outbox_watch_doc(settings),
        dagrun_timeout=WATCH_TIMEOUT * 2,
        **dag_args,
    ) as dag:
        MppOutboxWatchOperator(task_id="watch_outbox", agencies_file=str(path), owner="mpp-bus", retries=0,
                               execution_timeout=WATCH_TIMEOUT)
    return dag


def outbox_watch_doc(settings: DagSettings) -> str:
    return f"""\
### Outbox watcher

Starts the delivery of citizens' submissions. On `{settings.outbox_watch_schedule}`
(`MPP_AIRFLOW_OUTBOX_WATCH_SCHEDULE`) its one task, `watch_outbox`, asks the portal store once which agencies have
submissions due (just accepted, a retry whose time has come, or one a dispatcher left in `sending`) and updates the
asset `mpp://outbox/<agency>` of each of them, through the asset alias `mpp_outbox_due`. Only those agencies'
`mpp_dispatch__<agency>` DAGs then run; the others cost nothing. A submission therefore waits at most one interval
before its delivery starts.

Its log ends with one line: how many submissions are due for how many agencies, and which (agency ids and counts
only, never a NIK). A warning names agencies with waiting submissions but no dispatch DAG (disabled, removed from the
agencies file, or not accepting submissions): nothing delivers those until the agency is configured again.

**When it fails**: the store is unreachable or not migrated (`mpp-bus db upgrade`). There are no retries: the next
run asks again, and nothing waiting is lost. Meanwhile `mpp-bus dispatch` delivers from a shell.
"""


def _dag_defaults() -> dict[str, Any]:
    # Airflow reads these from its config for every DAG; reading them once keeps 600 DAGs cheap to parse.
    return {
        "max_consecutive_failed_dag_runs": airflow_conf.getint("core", "max_consecutive_failed_dag_runs_per_dag"),
        "disable_bundle_versioning": airflow_conf.getboolean("dag_processor", "disable_bundle_versioning"),
        "max_active_tasks": 4,
        "data_intervals": airflow_conf.getboolean("scheduler", "create_cron_data_intervals"),
    }


@lru_cache(maxsize=64)
def timetable(schedule: str | None, data_intervals: bool) -> Any:
    """One timetable object per distinct schedule, shared by the DAGs (Airflow would build one per DAG)."""
    if schedule is None or schedule in ("@once", "@continuous"):
        return schedule
    if data_intervals:
        return CronDataIntervalTimetable(schedule, timezone="UTC")
    return CronTriggerTimetable(schedule, timezone="UTC")


def _task_defaults(settings: DagSettings) -> dict[str, Any]:
    return {
        "owner": "mpp-bus",
        "retries": settings.retries,
        "retry_delay": timedelta(seconds=settings.retry_delay_seconds),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(seconds=settings.max_retry_delay_seconds),
        "execution_timeout": timedelta(seconds=settings.execution_timeout_seconds),
    }


def build_sync_dag(
    instance: AgencyInstance,
    path: Path,
    settings: DagSettings,
    task_args: dict[str, Any] | None = None,
    dag_args: dict[str, Any] | None = None,
) -> DAG:
    """The sync DAG of one agency instance."""
    task_args = task_args if task_args is not None else _task_defaults(settings)
    dag_args = dict(dag_args if dag_args is not None else _dag_defaults())
    data_intervals = dag_args.pop("data_intervals")
    common: dict[str, Any] = {"agency_id": instance.id, "agencies_file": str(path), "pool": pool_name(instance.id)}
    # The trigger form shows a "full_refresh" switch (a DAG param); a raw {"full_refresh": true} conf still works.
    full_refresh = "{{ params.full_refresh }}"
    # Passed to the operator rather than as default_args, which Airflow deep-copies for every task.
    common.update(task_args)
    # Told once per outage (the store keeps which alerts are open), after the last retry, not on each one.
    common["on_failure_callback"] = MppFailureNotifier(agency_id=instance.id, agency_name=instance.name,
                                                       agencies_file=str(path))
    outlets = [stream_asset(instance.id, "catalog"), stream_asset(instance.id, "applications")]
    if instance.queue:
        common["queue"] = instance.queue
    with DAG(
        dag_id=dag_id(instance.id),
        dag_display_name=instance.name,
        description=sync_description(instance),
        params={"full_refresh": Param(False, type="boolean", title="Full refresh",
                                      description="Read everything again instead of only what changed")},
        schedule=timetable(instance.schedule, data_intervals),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=tags(instance),
        doc_md=sync_doc(instance, settings),
        dagrun_timeout=timedelta(seconds=settings.execution_timeout_seconds * 2),
        render_template_as_native_obj=True,
        **dag_args,
    ) as dag:
        MppSyncAgencyOperator(task_id="sync", full_refresh=full_refresh,
                              quarantine_fail_ratio=settings.quarantine_fail_ratio, outlets=outlets, **common)
    return dag


def sync_description(instance: AgencyInstance) -> str:
    """What the DAG list shows and its search finds: the agency's name, id, level and region."""
    region = f", region {instance.region_code}" if instance.region_code else ""
    return f"{instance.name} ({instance.id}, {instance.level}{region}): sync into the portal store"


def tags(instance: AgencyInstance) -> list[str]:
    out = ["mpp-bus", f"level:{instance.level}", f"adapter:{instance.adapter}"]
    if instance.region_code:
        out.append(f"region:{instance.region_code}")
        out.append(f"province:{instance.region_code[:2]}")
    return out


def build_report_dag(instances: list[AgencyInstance], path: Path, settings: DagSettings) -> DAG:
    """The report DAG: runs whenever any agency's catalog or applications land, and at least daily otherwise."""
    assets = [stream_asset(i.id, s) for i in instances for s in ("catalog", "applications")]
    fallback = CronTriggerTimetable(settings.report_fallback_schedule, timezone="UTC")
    schedule: Any = (AssetOrTimeSchedule(timetable=fallback, assets=AssetAny(*assets))
                     if settings.report_schedule_on_assets and assets else fallback)
    with DAG(
        dag_id=REPORT_DAG_ID,
        description="Performance snapshot refreshed in the portal store; stale agencies logged",
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args={**_task_defaults(settings), "retries": 1},
        tags=["mpp-bus", "report"],
        doc_md=REPORT_DOC,
    ) as dag:
        MppReportOperator(task_id="write_report", agencies_file=str(path),
                          min_refresh_seconds=settings.report_min_refresh_seconds)
    return dag


def sync_doc(instance: AgencyInstance, settings: DagSettings) -> str:
    region = f" (region {instance.region_code})" if instance.region_code else ""
    return f"""\
### {instance.name}{region}

Keeps the portal store in step with agency **`{instance.id}`** (adapter `{instance.adapter}`, level
`{instance.level}`), schedule `{instance.schedule}`. The same engine runs from the command line:
`mpp-bus sync {instance.id}`.

One task, `sync`, does the whole run (one task rather than one per step keeps Airflow's per-task cost low):

1. checks that the agency answers and takes our credentials;
2. syncs the service catalog, then new and changed applications, each stream with its own lock, breaker and
   cursor, updating the Assets `mpp://portal/catalog/{instance.id}` and `mpp://portal/applications/{instance.id}`;
3. ends its log with one `summary` line per stream (read, stored, unchanged, quarantined; counts only, never a
   NIK); its return value (XCom) holds the same counts.

The task retries {settings.retries} times with exponential backoff (first wait {settings.retry_delay_seconds:.0f} s),
runs in the pool `{pool_name(instance.id)}` ({instance.pool_slots} slot(s)) so a fragile agency is never flooded,
and at most one run is active at a time. Credentials come from the Airflow Connection `{instance.connection_id}`
(or the environment variable `AIRFLOW_CONN_{instance.connection_id.upper()}`). When it fails for good, the
admins get one alert per outage (Connection `mpp_alerts_smtp`).

**When it fails**

1. Open the log of `sync`: the line before the traceback names the agency, the stream (or the check) and what to
   do; the `summary` lines show what each stream did.
2. The check failed: the agency is down, in maintenance, or refuses our credentials. A refused password or a bad
   configuration fails at once, without retries: fix the Connection `{instance.connection_id}` (Admin ->
   Connections) or the agencies file, then *Clear* the task. Otherwise ask the agency; the retries wait. The
   failed check is recorded as a run (`mpp-bus runs`, the *MPP agencies* page).
3. A stream failed: the engine recorded the run (`mpp-bus runs`); the other stream still ran. Records that could
   not be mapped are in quarantine (`mpp-bus quarantine list`), not lost. Fix the cause, then *Clear* the task; it
   resumes from the stored cursors. Trigger with the *Full refresh* switch to read everything again.
4. A warning that records were quarantined: the run is stored, the quarantined records are not. Above
   `MPP_AIRFLOW_QUARANTINE_FAIL_RATIO` the task fails instead.
5. A run stuck in *queued*: the pool `{pool_name(instance.id)}` is missing (`airflow pools list`) or full, or no
   worker serves the queue `{instance.queue or "default"}`.

Other agencies are never affected: each has its own DAG, pool and breaker.
"""


REPORT_DOC = """\
### Performance and freshness report

Runs whenever any agency's catalog or applications land (Assets `mpp://portal/...`), and daily even when nothing
lands. It refreshes the performance snapshot (at most once per `MPP_AIRFLOW_REPORT_MIN_REFRESH_SECONDS`) in the
store (`performance_reports`: per agency and service, the share finished within SLA, the median
processing time and the backlog), which the portal API serves at `/api/v1/reports/performance`. It then checks every
configured agency's freshness (stale: no successful sync for twice its schedule) and failures (its newest run or
check failed), logs both and the overdue applications, and mails one alert per newly stale agency (Connection
`mpp_alerts_smtp`); the task's result carries the counts. The same health shows on the *MPP agencies* page.

**When it fails**: the store is unreachable or not migrated (`mpp-bus db upgrade`). Clear the task once fixed; the
report is recomputed from the store, so nothing is lost by skipping a run.
"""
