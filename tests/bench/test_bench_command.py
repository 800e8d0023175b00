"""A small run of ``mpp-bus bench --json``: the figures have the promised shape and the counts add up.

Never a timing assertion: speed is shown by the benchmark itself, not by a test.
"""

from __future__ import annotations

import json

import pytest

from mpp_bus.cli import main

RECORDS = 2000
BATCHES = 2
BATCH_SIZE = 50
STAGES = {"fetch", "validate", "map", "write"}


def _run_bench(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = main(["bench", "--records", str(RECORDS), "--incremental-batches", str(BATCHES), "--batch-size",
                 str(BATCH_SIZE), "--json", *args])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def _check_run(run: dict) -> None:
    assert set(run["stages"]) == STAGES
    assert all(value >= 0 for value in run["stages"].values())
    assert run["seconds"] > 0
    assert run["read"] == run["stored"] + run["unchanged"] + run["stale"] + run["quarantined"]


def test_bench_rest_into_sqlite_reports_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    figures = _run_bench(capsys, "--paths", "rest", "--stores", "sqlite")

    assert figures["records"] == RECORDS
    [result] = figures["results"]
    assert (result["path"], result["adapter"], result["store"]) == ("rest", "licensing", "sqlite")
    full = result["full"]
    _check_run(full)
    assert full["read"] == full["stored"] == RECORDS
    assert full["peak_rss_mib"] > 0
    unchanged = result["incremental_unchanged"]
    _check_run(unchanged)
    assert unchanged["read"] == 0 and unchanged["stored"] == 0
    batches = result["incremental_batches"]
    assert batches["batch_size"] == BATCH_SIZE and len(batches["batches"]) == BATCHES
    for round_ in batches["batches"]:
        _check_run(round_)
        # every application the agency moved on comes back once and is stored
        assert round_["read"] == round_["stored"] == round_["advanced"]
    assert batches["first_seconds"] == batches["batches"][0]["seconds"]


@pytest.mark.postgres
def test_bench_soap_into_postgres_drops_its_database(capsys: pytest.CaptureFixture[str]) -> None:
    from sqlalchemy import create_engine, text

    from mpp_bus.bench.runner import DEFAULT_POSTGRES_URL

    figures = _run_bench(capsys, "--paths", "soap", "--stores", "postgres", "--repeat", "2")

    [result] = figures["results"]
    assert (result["adapter"], result["store"]) == ("dukcapil", "postgres")
    assert result["full"]["read"] == result["full"]["stored"] == RECORDS
    # Two turns of engine and floor, each in a fresh database (dropped below too); the reported run is the median
    assert figures["repeat"] == 2
    for run in (result["full"], result["floor"]):
        assert len(run["runs_records_per_s"]) == 2
        assert run["records_per_s"] == min(run["runs_records_per_s"])  # the lower middle of two
    assert result["floor"]["same_result"] is True
    engine = create_engine(DEFAULT_POSTGRES_URL)
    try:
        with engine.connect() as conn:
            left = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'mpp_bench_%'")).all()
    finally:
        engine.dispose()
    assert left == []


def test_unknown_path_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--paths", "ftp"]) == 2
    assert "known: rest, soap" in capsys.readouterr().err
