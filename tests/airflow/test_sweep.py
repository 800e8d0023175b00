"""The sweep benchmark's command line, result shape and CPU accounting (no Airflow is started here)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mpp_bus.airflow import factory, sweep
from mpp_bus.airflow.__main__ import main, sweep_options
from mpp_bus.airflow.sweep import ProcStat, SweepResult, cpu_by_group, parse_stat, render_table, tree_ticks


def result() -> SweepResult:
    return SweepResult(
        instances=20, executor="local", parallelism=8, applications=50, initial_sync=True, startup_s=60.0,
        wall_s=120.0, wall_with_report_s=125.0, sync_runs={"success": 19, "failed": 1}, report_runs=3,
        task_instances=80, task_instances_per_minute=40.0,
        cpu_s={"scheduler": 10.0, "dag_processor": 4.0, "api_server": 20.0, "task_processes": 40.0,
               "mock_agencies": 1.0, "airflow_total": 74.0, "airflow_total_syncs_only": 70.0},
        db_growth_bytes={"store": 204800, "airflow": 1024000},
        tasks={"check": {"count": 20, "mean_run_s": 3.0, "mean_queued_s": 1.0}},
    )


def test_arguments_become_options(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    seen: dict[str, sweep.SweepOptions] = {}

    def fake_run(options: sweep.SweepOptions) -> SweepResult:
        seen["options"] = options
        return result()

    monkeypatch.setattr("mpp_bus.airflow.__main__.run_sweep", fake_run)
    assert main(["bench-sweep", "--instances", "20", "--executor", "celery", "--json", "--no-initial-sync"]) == 0
    options = seen["options"]
    assert options.instances == 20 and options.executor == "celery" and options.initial_sync is False
    assert options.parallelism == 8 and options.applications == 50
    with pytest.raises(SystemExit):
        main(["bench-sweep", "--instances", "20", "--executor", "kubernetes"])
    with pytest.raises(SystemExit):
        main(["bench-sweep"])
    namespace = argparse.Namespace(instances=3, executor="local", parallelism=4, workers=1, worker_concurrency=2,
                                   applications=10, initial_sync=True, postgres="postgresql+psycopg://x/y",
                                   timeout=60.0, keep_logs=None, parse_interval=300)
    assert sweep_options(namespace).postgres_url == "postgresql+psycopg://x/y"


def test_json_is_one_object_with_totals_and_per_instance_figures(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("mpp_bus.airflow.__main__.run_sweep", lambda options: result())
    assert main(["bench-sweep", "--instances", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"instances", "executor", "wall_s", "wall_with_report_s", "task_instances_per_minute", "cpu_s",
            "cpu_s_per_instance", "db_growth_bytes", "db_growth_bytes_per_instance", "sync_runs", "tasks"} <= set(out)
    assert set(sweep.PROCESS_GROUPS) <= set(out["cpu_s"])
    assert out["cpu_s_per_instance"]["task_processes"] == 2.0
    assert out["db_growth_bytes_per_instance"] == {"store": 10240, "airflow": 51200}


def test_table_names_every_figure() -> None:
    table = render_table(result())
    for text in ("20 agency instances", "LocalExecutor", "120.0 s", "1 failed, 19 success", "40.0 a minute",
                 "task processes", "api server", "store", "airflow", "check"):
        assert text in table


def test_the_dag_ids_match_the_factory() -> None:
    assert (sweep.DAG_PREFIX, sweep.REPORT_DAG_ID, sweep.OUTBOX_WATCH_DAG_ID) == (
        factory.DAG_PREFIX, factory.REPORT_DAG_ID, factory.OUTBOX_WATCH_DAG_ID)
    # The watcher's task is listed apart from the sweep's rate, by its task id.
    watch = factory.build_outbox_watch_dag(Path("agencies.yaml"), factory.DagSettings())
    assert set(watch.task_ids) <= set(sweep.APART)


def test_stat_lines_with_odd_command_names_parse() -> None:
    line = "4242 (airflow (task) x) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 30 20 20 0 1 0 1 2 3"
    assert parse_stat(line) == ProcStat(pid=4242, ppid=17, own=300, children=50)
    own = parse_stat(Path(f"/proc/{os.getpid()}/stat").read_text())
    assert own.pid == os.getpid() and own.ppid == os.getppid()


def test_cpu_of_a_tree_counts_live_and_ended_descendants() -> None:
    # scheduler 10 (own) + 5 ended children; a live executor worker 3 + 40 ended tasks; its live task 7.
    procs = {10: ProcStat(10, 1, 10, 5), 11: ProcStat(11, 10, 3, 40), 12: ProcStat(12, 11, 7, 0),
             20: ProcStat(20, 1, 6, 0), 21: ProcStat(21, 20, 2, 2), 99: ProcStat(99, 1, 1000, 1000)}
    assert tree_ticks(10, procs) == (10, 55)
    assert tree_ticks(404, procs) == (0, 0)
    local = cpu_by_group({"scheduler": [10], "api_server": [20]}, "local", procs, 10.0)
    assert local == {"scheduler": 1.0, "task_processes": 5.5, "api_server": 1.0}
    celery = cpu_by_group({"scheduler": [10], "workers": [11, 20]}, "celery", procs, 10.0)
    assert celery == {"scheduler": 6.5, "task_processes": 6.0}
