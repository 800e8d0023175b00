"""DAG integrity: the folder imports cleanly and builds the expected DAGs, tasks, tags, pools, retries and assets."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy
import yaml
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import AssetAlias
from airflow.sdk.definitions.timetables.assets import AssetOrTimeSchedule, AssetTriggeredTimetable

from mpp_bus.airflow.alerts import MppFailureNotifier
from mpp_bus.airflow.assets import OUTBOX_ALIAS, outbox_asset
from mpp_bus.airflow.factory import (
    OUTBOX_WATCH_DAG_ID,
    REPORT_DAG_ID,
    DagSettings,
    build_dags,
    cached_agencies,
    stream_asset,
)
from mpp_bus.airflow.generate import write_agencies
from mpp_bus.config import load_agencies
from mpp_bus.contract import adapter_type

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
SHIPPED = load_agencies(ROOT / "agencies.yaml")
SUBMITTING = [i for i in SHIPPED if i.enabled and adapter_type(i.adapter).submits()]


@pytest.fixture
def no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing must not touch the network or a database: make both fail loudly."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network or database I/O while parsing DAGs")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(sqlalchemy, "create_engine", refuse)


@pytest.fixture
def bag(no_io: None, monkeypatch: pytest.MonkeyPatch) -> DagBag:
    monkeypatch.setenv("MPP_AGENCIES_FILE", str(ROOT / "agencies.yaml"))
    return DagBag(dag_folder=str(DAGS), known_pools={f"mpp_{i.id}" for i in SHIPPED} | {"default_pool"})


def test_no_import_errors_and_one_dag_per_agency(bag: DagBag) -> None:
    assert bag.import_errors == {}
    expected = {f"mpp_sync__{i.id}" for i in SHIPPED if i.enabled} | {REPORT_DAG_ID}
    # and one dispatch DAG per agency whose adapter accepts submissions, and the outbox watcher that starts them
    expected |= {f"mpp_dispatch__{i.id}" for i in SUBMITTING} | {OUTBOX_WATCH_DAG_ID}
    assert set(bag.dag_ids) == expected


def test_dispatch_dag_shape(bag: DagBag) -> None:
    assert SUBMITTING
    for instance in SUBMITTING:
        dag = bag.dags[f"mpp_dispatch__{instance.id}"]
        assert dag is not None
        assert [t.task_id for t in dag.tasks] == ["dispatch"]
        assert dag.max_active_runs == 1 and dag.catchup is False
        assert dag.tasks[0].pool == f"mpp_{instance.id}"
        # Its outbox asset alone, no timer: the watcher notices retries that come due.
        assert isinstance(dag.timetable, AssetTriggeredTimetable)
        assert not isinstance(dag.timetable, AssetOrTimeSchedule)
        assert dag.timetable.asset_condition == outbox_asset(instance.id)
        assert "mpp_outbox_watch" in dag.doc_md


def test_outbox_watch_dag_shape(bag: DagBag) -> None:
    dag = bag.dags[OUTBOX_WATCH_DAG_ID]
    assert dag is not None
    assert [t.task_id for t in dag.tasks] == ["watch_outbox"]
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert dag.timetable.expression == "*/2 * * * *"
    task = dag.get_task("watch_outbox")
    assert task.outlets == [AssetAlias(name=OUTBOX_ALIAS, group="mpp-outbox")]
    assert task.retries == 0  # the next run, minutes later, is the retry
    assert "MPP_AIRFLOW_OUTBOX_WATCH_SCHEDULE" in dag.doc_md and "When it fails" in dag.doc_md


def test_the_watch_schedule_is_a_setting_and_no_submitting_agency_means_no_watcher(tmp_path: Path,
                                                                                    no_io: None) -> None:
    dags = build_dags(ROOT / "agencies.yaml", DagSettings(outbox_watch_schedule="*/5 * * * *"))
    assert dags[OUTBOX_WATCH_DAG_ID].timetable.expression == "*/5 * * * *"
    # dpmptsp-jateng's adapter (rest) takes no submissions: alone in the file, it gets neither dispatch nor watcher.
    doc = yaml.safe_load((ROOT / "agencies.yaml").read_text(encoding="utf-8"))
    doc["agencies"] = [a for a in doc["agencies"] if a["id"] == "dpmptsp-jateng"]
    path = tmp_path / "agencies.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert set(build_dags(path)) == {"mpp_sync__dpmptsp-jateng", REPORT_DAG_ID}
    assert set(build_dags(path, only=OUTBOX_WATCH_DAG_ID)) == {"mpp_sync__dpmptsp-jateng", REPORT_DAG_ID}


def test_sync_dag_shape(bag: DagBag) -> None:
    for instance in SHIPPED:
        dag = bag.dags[f"mpp_sync__{instance.id}"]
        assert dag is not None
        # One task per agency run: Airflow's cost is per task instance (bench-sweep measured a third of four).
        assert [t.task_id for t in dag.tasks] == ["sync"]
        assert dag.max_active_runs == 1 and dag.catchup is False
        assert {f"level:{instance.level}", f"adapter:{instance.adapter}"} <= set(dag.tags)
        if instance.region_code:
            assert f"region:{instance.region_code}" in dag.tags
        assert "When it fails" in dag.doc_md and instance.connection_id in dag.doc_md
        task = dag.get_task("sync")
        assert task.pool == f"mpp_{instance.id}"
        assert task.retries >= 1 and task.retry_exponential_backoff
        callbacks = task.on_failure_callback
        assert isinstance(callbacks, list) and isinstance(callbacks[0], MppFailureNotifier)
        assert task.outlets == [stream_asset(instance.id, "catalog"), stream_asset(instance.id, "applications")]


def test_report_dag_is_scheduled_on_every_agency_asset(bag: DagBag) -> None:
    report = bag.dags[REPORT_DAG_ID]
    assert report is not None
    uris = {asset.uri for asset in report.timetable.asset_condition.objects}
    assert uris == {f"mpp://portal/{s}/{i.id}" for i in SHIPPED for s in ("catalog", "applications")}


def test_operators_are_templated_and_summaries_carry_counts_only(bag: DagBag) -> None:
    task = bag.dags["mpp_sync__oss"].get_task("sync")
    assert {"agency_id", "full_refresh"} <= set(task.template_fields)
    from mpp_bus.airflow.operators import SUMMARY_FIELDS, MppSyncOperator

    assert {"agency_id", "stream", "full_refresh"} <= set(MppSyncOperator.template_fields)

    assert "error" not in SUMMARY_FIELDS and not any("nik" in f for f in SUMMARY_FIELDS)


def test_disabled_instances_get_no_dag(tmp_path: Path, no_io: None) -> None:
    path = tmp_path / "agencies.yaml"
    text = (ROOT / "agencies.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("  - id: djp\n", "  - id: djp\n    enabled: false\n"), encoding="utf-8")
    assert "mpp_sync__djp" not in build_dags(path)
    assert "mpp_sync__oss" in build_dags(path)


def test_agencies_file_is_reread_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "agencies.yaml"
    path.write_text((ROOT / "agencies.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    first = cached_agencies(path)
    assert cached_agencies(path) is first
    path.write_text(path.read_text(encoding="utf-8").replace("DPMPTSP Kabupaten Sragen", "DPMPTSP Sragen"))
    assert cached_agencies(path) is not first
    assert any(i.name == "DPMPTSP Sragen" for i in cached_agencies(path))


def test_generated_national_config_parses_cleanly(tmp_path: Path, no_io: None, monkeypatch) -> None:
    path = tmp_path / "agencies-600.yaml"
    assert write_agencies(path, 600) == 600
    monkeypatch.setenv("MPP_AGENCIES_FILE", str(path))
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert len(bag.dag_ids) == 1202  # a sync and a dispatch DAG per agency, the report and the outbox watcher
    sragen = bag.dags["mpp_sync__dpmptsp-3314"]
    assert "region:33.14" in sragen.tags and sragen.get_task("sync").queue == "jawa"


@pytest.mark.parametrize("wanted", ["mpp_sync__dpmptsp-3314", REPORT_DAG_ID, OUTBOX_WATCH_DAG_ID])
def test_a_task_process_builds_only_its_own_dag(wanted: str, tmp_path: Path, no_io: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # What the task runner sets before it parses the DAG file (Airflow's parsing context).
    path = tmp_path / "agencies-600.yaml"
    write_agencies(path, 600)
    monkeypatch.setenv("MPP_AGENCIES_FILE", str(path))
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", wanted)
    task_id = {REPORT_DAG_ID: "write_report", OUTBOX_WATCH_DAG_ID: "watch_outbox"}.get(wanted, "sync")
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_TASK_ID", task_id)
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert bag.dag_ids == [wanted]
    dag = bag.dags[wanted]
    assert dag is not None
    if wanted == REPORT_DAG_ID:
        assert len(dag.timetable.asset_condition.objects) == 1200
    elif wanted == OUTBOX_WATCH_DAG_ID:
        assert [t.task_id for t in dag.tasks] == ["watch_outbox"]
    else:
        assert [t.task_id for t in dag.tasks] == ["sync"]
        assert dag.get_task("sync").pool == "mpp_dpmptsp-3314"


def test_a_dag_id_the_file_does_not_define_builds_everything(no_io: None) -> None:
    dags = build_dags(ROOT / "agencies.yaml", only="mpp_sync__nowhere")
    assert set(dags) == ({f"mpp_sync__{i.id}" for i in SHIPPED if i.enabled} | {REPORT_DAG_ID}
                         | {f"mpp_dispatch__{i.id}" for i in SUBMITTING} | {OUTBOX_WATCH_DAG_ID})
    assert set(build_dags(ROOT / "agencies.yaml", only="mpp_sync__oss")) == {"mpp_sync__oss"}
    assert set(build_dags(ROOT / "agencies.yaml", only="mpp_dispatch__oss")) == {"mpp_dispatch__oss"}
    assert set(build_dags(ROOT / "agencies.yaml", only=OUTBOX_WATCH_DAG_ID)) == {OUTBOX_WATCH_DAG_ID}
