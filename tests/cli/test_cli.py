from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, inspect, select

from mock_agencies import MockAgencies
from mpp_bus.cli import main
from mpp_bus.store import create_store
from tests.cli.conftest import ADMIN, truth_niks


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def test_agencies_lists_the_configured_instances(agencies_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "--agencies", str(agencies_file), "agencies")
    assert code == 0
    assert all(i in out for i in ("dukcapil", "oss", "dpmptsp-3314", "djp", "mpp_licensing"))


def test_sync_all_then_rerun_changes_nothing_and_leaks_no_nik(
    db_url: str, agencies_file: Path, mocks: MockAgencies, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    base = ("--agencies", str(agencies_file), "--database-url", db_url)
    code, out = run_cli(capsys, *base, "-v", "sync", "--all", "--no-progress")
    assert code == 0, out
    summaries = {s.agency_id: s for s in create_store(db_url).agency_summaries()}
    assert {a: s.applications for a, s in summaries.items()} == {a: 250 for a in ("dukcapil", "oss", "dpmptsp-3314",
                                                                                   "djp")}
    assert all(s.active_services > 0 for s in summaries.values())

    code, rerun = run_cli(capsys, *base, "sync", "--all", "--no-progress")
    assert code == 0
    runs = create_store(db_url).recent_runs(limit=8)
    assert all(r.stored == 0 and r.quarantined == 0 for r in runs), rerun

    code, listing = run_cli(capsys, *base, "runs", "--limit", "16")
    assert code == 0 and listing.count("succeeded") == 16

    niks = truth_niks(mocks)
    texts = [out, rerun, listing, caplog.text, *dump_text(db_url)]
    leaked = [n for n in niks if any(n in t for t in texts)]
    assert leaked == [], f"{len(leaked)} clear NIKs found in the store or the logs"


def dump_text(url: str) -> list[str]:
    """Every value of every table, as text."""
    engine = create_engine(url)
    texts = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            from sqlalchemy import MetaData, Table

            t = Table(table, MetaData(), autoload_with=conn)
            texts.extend(" ".join(map(str, row)) for row in conn.execute(select(t)))
    engine.dispose()
    return texts


def test_incremental_sync_sees_advanced_applications(
    sqlite_url: str, agencies_file: Path, mocks: MockAgencies, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ("--agencies", str(agencies_file), "--database-url", sqlite_url)
    assert run_cli(capsys, *base, "sync", "oss", "--no-progress")[0] == 0
    response = requests.post(f"{mocks.urls['licensing']}/admin/advance", json={"dataset": "oss", "count": 7},
                             headers=ADMIN, timeout=10)
    advanced = set(response.json()["advanced"])
    assert run_cli(capsys, *base, "sync", "oss", "--stream", "applications", "--no-progress")[0] == 0
    [last] = create_store(sqlite_url).recent_runs(limit=1)
    assert last.mode == "incremental" and last.read == len(advanced) == 7 and last.stored == 7


def test_bad_credentials_fail_clearly_without_echoing_them(
    sqlite_url: str, agencies_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MPP_TAX", '{"password": "wrong-key-123"}')
    code, out = run_cli(capsys, "--agencies", str(agencies_file), "check", "djp", "oss")
    assert code == 1
    assert "failed" in out and "ok" in out and "wrong-key-123" not in out
    code, out = run_cli(capsys, "--agencies", str(agencies_file), "--database-url", sqlite_url, "sync", "djp",
                        "oss", "--no-progress")
    assert code == 1 and "djp" in out and "wrong-key-123" not in out
    # One agency failing never stops another.
    assert {s.agency_id for s in create_store(sqlite_url).agency_summaries() if s.applications} == {"oss"}


def test_unknown_agency_lists_the_known_ones(agencies_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "--agencies", str(agencies_file), "check", "nope")
    assert code == 1 and "unknown agency nope" in out and "dpmptsp-3314" in out


def test_missing_credentials_name_the_connection(
    agencies_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_MPP_TAX")
    code, out = run_cli(capsys, "--agencies", str(agencies_file), "check", "djp")
    assert code == 1 and "mpp_tax" in out and "AIRFLOW_CONN_MPP_TAX" in out


def test_quarantine_lists_and_shows_bad_records_redacted(
    sqlite_url: str, agencies_file: Path, mocks: MockAgencies, capsys: pytest.CaptureFixture[str]
) -> None:
    requests.post(f"{mocks.urls['licensing']}/admin/faults", json={"profile": "malformed"}, headers=ADMIN, timeout=5)
    try:
        code, out = run_cli(capsys, "--agencies", str(agencies_file), "--database-url", sqlite_url, "sync",
                            "dpmptsp-3314", "--stream", "applications", "--no-progress")
    finally:
        requests.post(f"{mocks.urls['licensing']}/admin/faults", json={"profile": "none"}, headers=ADMIN, timeout=5)
    assert code == 0, out
    store = create_store(sqlite_url)
    items = store.quarantine_items()
    [run] = store.recent_runs(limit=1)
    assert items and run.quarantined == len(items) and run.stored + run.quarantined >= 250
    code, listing = run_cli(capsys, "--agencies", str(agencies_file), "--database-url", sqlite_url, "quarantine")
    assert code == 0 and items[0].reason[:20] in listing
    code, shown = run_cli(capsys, "--database-url", sqlite_url, "quarantine", "show", str(items[0].id))
    assert code == 0 and "payload (redacted)" in shown
    assert not any(n in shown for n in truth_niks(mocks))
    code, missing = run_cli(capsys, "--database-url", sqlite_url, "quarantine", "show", "999999")
    assert code == 1 and "no quarantined record" in missing


def test_schemas_check_passes_on_the_committed_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    assert run_cli(capsys, "schemas", "check", "--dir", str(root / "schemas"))[0] == 0


def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mock_agencies.launcher import free_port

    ports = {a: free_port() for a in ("dukcapil", "licensing", "tax")}
    agencies = tmp_path / "agencies.yaml"
    import yaml

    from tests.cli.conftest import agencies_doc

    agencies.write_text(yaml.safe_dump(agencies_doc({a: f"http://127.0.0.1:{p}" for a, p in ports.items()})))
    code, out = run_cli(
        capsys, "--agencies", str(agencies), "demo", "--database", str(tmp_path / "demo.db"), "--applications", "150",
        "--advance", "10", "--dukcapil-port", str(ports["dukcapil"]), "--licensing-port", str(ports["licensing"]),
        "--tax-port", str(ports["tax"]),
    )
    assert code == 0, out
    assert "Portal store by agency" in out and "across" in out and "ok" in out


def test_an_error_message_prints_as_written_even_with_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    from mpp_bus.cli.common import fail

    assert fail("install the extra: pip install 'mpp-bus[testing]'", 2) == 2
    assert "pip install 'mpp-bus[testing]'" in capsys.readouterr().err
