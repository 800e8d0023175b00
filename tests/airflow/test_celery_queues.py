"""deploy/celery-cluster.sh serves every Celery queue the agencies file names by default, and warns about a named
queue that no worker serves (its agencies would wait forever). Nothing is started: ``queues`` only reads the file."""

from __future__ import annotations

from pathlib import Path

import yaml

from .conftest import ROOT, airflow_env, run

SCRIPT = str(ROOT / "deploy" / "celery-cluster.sh")


def _agencies(tmp_path: Path) -> Path:
    doc = yaml.safe_load((ROOT / "agencies.yaml").read_text(encoding="utf-8"))
    for agency in doc["agencies"]:
        if agency["id"] == "dpmptsp-3314":
            agency["queue"] = "jawa"
    path = tmp_path / "agencies.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_workers_serve_every_named_queue_by_default(tmp_path: Path) -> None:
    env = airflow_env(tmp_path, _agencies(tmp_path), "sqlite://")
    done = run([SCRIPT, "queues"], env, timeout=60)
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip().splitlines()[-1] == "default,jawa" and "WARNING" not in done.stdout


def test_a_named_queue_without_workers_is_warned_about(tmp_path: Path) -> None:
    env = airflow_env(tmp_path, _agencies(tmp_path), "sqlite://", CELERY_QUEUES="default")
    done = run([SCRIPT, "queues"], env, timeout=60)
    assert done.returncode == 0, done.stdout
    assert "WARNING: queue 'jawa' is named" in done.stdout and "no worker serves it" in done.stdout
