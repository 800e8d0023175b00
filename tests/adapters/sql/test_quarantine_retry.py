"""``mpp-bus quarantine retry`` clears the rows of an unmapped status once the mapping table is fixed: the command the
quarantine reason names, run exactly as written, on a `sql` agency whose records are behind the cursor."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.engine import Engine

from mpp_bus.cli import main
from mpp_bus.store import create_store
from tests.adapters.sql.conftest import SPEC, put

AGENCY = "dpmptsp-3372"


@pytest.fixture
def setup(agency_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    spec = {**SPEC, "statuses": "statuses.yaml"}
    (tmp_path / "statuses.yaml").write_text(yaml.safe_dump(SPEC["statuses"]), encoding="utf-8")
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    agencies = {"agencies": [{"id": AGENCY, "adapter": "sql", "name": "DPMPTSP Kota Surakarta",
                              "level": "kabupaten_kota", "connection_id": "surakarta_db", "page_size": 2,
                              "retry": {"attempts": 1},
                              "config": {"spec_file": str(tmp_path / "spec.yaml")}}]}
    (tmp_path / "agencies.yaml").write_text(yaml.safe_dump(agencies), encoding="utf-8")
    url = agency_db.url.render_as_string(hide_password=False)
    monkeypatch.setenv("AIRFLOW_CONN_SURAKARTA_DB", json.dumps({"conn_type": "mysql", "extra": {"url": url}}))
    return tmp_path, f"sqlite:///{tmp_path / 'store.db'}"


def cli(setup: tuple[Path, str], *args: str) -> int:
    root, store_url = setup
    return main(["--agencies", str(root / "agencies.yaml"), "--database-url", store_url, *args])


def test_retry_clears_the_rows_once_the_mapping_is_fixed(setup, agency_db, capsys):
    root, store_url = setup
    put(agency_db, "P-01", "BARU", "2025-03-01 09:00:00")
    put(agency_db, "P-02", "DITANGGUHKAN", "2025-03-01 09:00:01")
    put(agency_db, "P-03", "DITANGGUHKAN", "2025-03-01 09:00:02")
    put(agency_db, "P-04", "DIPROSES", "2025-03-01 09:00:03")
    assert cli(setup, "sync", AGENCY, "--stream", "applications") == 0
    store = create_store(store_url)
    [row, _] = store.quarantine_items(open_only=True)
    command = row.reason[row.reason.index("`mpp-bus quarantine retry") + 1:].split("`")[0]
    assert command == "mpp-bus quarantine retry --reason 'unknown agency status code'"

    # An incremental run reads nothing again: the records are behind the cursor.
    assert cli(setup, "sync", AGENCY, "--stream", "applications") == 0
    assert store.open_quarantine_counts() == {(AGENCY, "applications"): 2}
    capsys.readouterr()
    assert cli(setup, "runs") == 0
    assert f"open quarantine {AGENCY} applications: 2" in " ".join(capsys.readouterr().out.split())

    # Retried before the fix: they fail again; the new rows supersede the old, two stay open.
    argv = shlex.split(command)[1:]
    assert cli(setup, *argv) == 1
    assert store.open_quarantine_counts() == {(AGENCY, "applications"): 2}

    statuses = yaml.safe_load((root / "statuses.yaml").read_text(encoding="utf-8"))
    statuses["statuses"]["DITANGGUHKAN"] = "needs_revision"
    (root / "statuses.yaml").write_text(yaml.safe_dump(statuses), encoding="utf-8")
    assert cli(setup, *argv) == 0
    assert store.open_quarantine_counts() == {}
    assert {i.resolution for i in store.quarantine_items()} == {"stored", "superseded"}
    stored = {a.application_id: a.agency_status for a in _applications(store_url)}
    assert stored == {"P-01": "BARU", "P-02": "DITANGGUHKAN", "P-03": "DITANGGUHKAN", "P-04": "DIPROSES"}
    # The cursor did not move back: the next incremental run reads only what is new.
    put(agency_db, "P-05", "BARU", "2025-03-01 10:00:00")
    capsys.readouterr()
    assert cli(setup, "sync", AGENCY, "--stream", "applications") == 0
    [latest] = store.recent_runs(limit=1)
    assert (latest.read, latest.stored) == (1, 1), latest
    store.dispose()


def test_retry_needs_one_selector(setup, capsys):
    assert cli(setup, "quarantine", "retry") == 2
    assert "an ID, --reason TEXT or --all" in capsys.readouterr().err


def _applications(store_url: str) -> list:
    from sqlalchemy import create_engine, select

    from mpp_bus.store.tables import applications

    engine = create_engine(store_url)
    with engine.connect() as conn:
        rows = list(conn.execute(select(applications.c.application_id, applications.c.agency_status)))
    engine.dispose()
    return rows


def test_the_sync_summary_shows_a_run_that_failed(setup, agency_db, capsys):
    put(agency_db, "P-01", "BARU", "2025-03-01 09:00:00")
    with agency_db.begin() as conn:
        conn.execute(text("DROP VIEW v_permohonan"))  # the office withdrew the grant
    capsys.readouterr()
    assert cli(setup, "sync", AGENCY, "--stream", "applications", "--no-progress") == 1
    captured = capsys.readouterr()
    summary = " ".join(captured.out.split())
    assert f"{AGENCY} │ applications │ incremental │ failed" in summary, captured.out
    assert "view or query of the spec" in captured.err
