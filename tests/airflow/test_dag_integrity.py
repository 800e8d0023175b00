"""DAG integrity: the folder imports cleanly and builds the expected DAGs, tasks, tags, pools, retries and assets."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy
from airflow.dag_processing.dagbag import DagBag

from mpp_bus.airflow.factory import REPORT_DAG_ID, build_dags, cached_agencies, outbox_asset, stream_asset
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
    # and one dispatch DAG per agency whose adapter accepts submissions
    expected |= {f"mpp_dispatch__{i.id}" for i in SUBMITTING}
    assert set(bag.dag_ids) == expected


def test_dispatch_dag_shape(bag: DagBag) -> None:
    assert SUBMITTING
    for instance in SUBMITTING:
        dag = bag.dags[f"mpp_dispatch__{instance.id}"]
        assert dag is not None
        assert [t.task_id for t in dag.tasks] == ["dispatch"]
        assert dag.max_active_runs == 1 and dag.catchup is False
        assert dag.tasks[0].pool == f"mpp_{instance.id}"
        assert outbox_asset(instance.id).uri in str(dag.timetable.asset_condition)


def test_sync_dag_shape(bag: DagBag) -> None:
    for instance in SHIPPED:
        dag = bag.dags[f"mpp_sync__{instance.id}"]
        assert dag is not None
        assert [t.task_id for t in dag.topological_sort()] == ["check", "sync_catalog", "sync_applications",
                                                               "record_run"]
        assert dag.max_active_runs == 1 and dag.catchup is False
        assert {f"level:{instance.level}", f"adapter:{instance.adapter}"} <= set(dag.tags)
        if instance.region_code:
            assert f"region:{instance.region_code}" in dag.tags
        assert "When it fails" in dag.doc_md and instance.connection_id in dag.doc_md
        for task in dag.tasks:
            if task.task_id != "record_run":
                assert task.pool == f"mpp_{instance.id}"
                assert task.retries >= 1 and task.retry_exponential_backoff
        assert dag.get_task("record_run").trigger_rule == "all_done"
        outlets = {task.task_id: task.outlets for task in dag.tasks}
        assert outlets["sync_applications"] == [stream_asset(instance.id, "applications")]
        assert outlets["sync_catalog"] == [stream_asset(instance.id, "catalog")]


def test_report_dag_is_scheduled_on_every_agency_asset(bag: DagBag) -> None:
    report = bag.dags[REPORT_DAG_ID]
    assert report is not None
    uris = {asset.uri for asset in report.timetable.asset_condition.objects}
    assert uris == {f"mpp://portal/{s}/{i.id}" for i in SHIPPED for s in ("catalog", "applications")}


def test_operators_are_templated_and_summaries_carry_counts_only(bag: DagBag) -> None:
    task = bag.dags["mpp_sync__oss"].get_task("sync_applications")
    assert {"agency_id", "stream", "full_refresh"} <= set(task.template_fields)
    from mpp_bus.airflow.operators import SUMMARY_FIELDS

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
    assert len(bag.dag_ids) == 1201  # a sync and a dispatch DAG per agency, and the report
    sragen = bag.dags["mpp_sync__dpmptsp-3314"]
    assert "region:33.14" in sragen.tags and sragen.get_task("check").queue == "jawa"


@pytest.mark.parametrize("wanted", ["mpp_sync__dpmptsp-3314", REPORT_DAG_ID])
def test_a_task_process_builds_only_its_own_dag(wanted: str, tmp_path: Path, no_io: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # What the task runner sets before it parses the DAG file (Airflow's parsing context).
    path = tmp_path / "agencies-600.yaml"
    write_agencies(path, 600)
    monkeypatch.setenv("MPP_AGENCIES_FILE", str(path))
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", wanted)
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_TASK_ID", "check" if wanted != REPORT_DAG_ID else "write_report")
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert bag.dag_ids == [wanted]
    dag = bag.dags[wanted]
    assert dag is not None
    if wanted == REPORT_DAG_ID:
        assert len(dag.timetable.asset_condition.objects) == 1200
    else:
        assert [t.task_id for t in dag.topological_sort()] == ["check", "sync_catalog", "sync_applications",
                                                               "record_run"]
        assert dag.get_task("check").pool == "mpp_dpmptsp-3314"


def test_a_dag_id_the_file_does_not_define_builds_everything(no_io: None) -> None:
    dags = build_dags(ROOT / "agencies.yaml", only="mpp_sync__nowhere")
    assert set(dags) == ({f"mpp_sync__{i.id}" for i in SHIPPED if i.enabled} | {REPORT_DAG_ID}
                         | {f"mpp_dispatch__{i.id}" for i in SUBMITTING})
    assert set(build_dags(ROOT / "agencies.yaml", only="mpp_sync__oss")) == {"mpp_sync__oss"}
    assert set(build_dags(ROOT / "agencies.yaml", only="mpp_dispatch__oss")) == {"mpp_dispatch__oss"}


def test_one_task_per_instance_carries_the_whole_run(no_io: None) -> None:
    from mpp_bus.airflow.factory import DagSettings

    dags = build_dags(ROOT / "agencies.yaml", DagSettings(one_task_per_instance=True))
    dag = dags["mpp_sync__oss"]
    assert [t.task_id for t in dag.tasks] == ["sync"]
    task = dag.get_task("sync")
    assert task.pool == "mpp_oss" and task.retries >= 1
    assert task.outlets == [stream_asset("oss", "catalog"), stream_asset("oss", "applications")]
    assert REPORT_DAG_ID in dags
