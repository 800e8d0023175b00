"""The floor beside the engine in ``mpp-bus bench``: reported with its ratio, storing the very rows the engine stores.

Never a timing assertion: the ratio is shown by the benchmark itself, not judged by a test.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mpp_bus.cli import main

RECORDS = 1500  # a page and a half: the second page is a short one
STAGES = {"fetch", "validate", "map", "write"}


def _bench(capsys: pytest.CaptureFixture[str], paths: str, stores: str) -> list[dict]:
    code = main(["bench", "--records", str(RECORDS), "--incremental-batches", "0", "--json", "--paths", paths,
                 "--stores", stores])
    assert code == 0
    return json.loads(capsys.readouterr().out)["results"]  # type: ignore[no-any-return]


def _check_floor(result: dict) -> None:
    floor = result["floor"]
    assert floor["read"] == floor["stored"] == floor["events"] == RECORDS
    assert floor["rows"] == {"applications": RECORDS, "status_events": RECORDS}
    # the same applications and history rows as the engine's full sync, compared in the driver
    assert floor["same_result"] is True
    assert set(floor["stages"]) == STAGES and all(v >= 0 for v in floor["stages"].values())
    assert floor["seconds"] > 0 and floor["records_per_s"] > 0 and floor["peak_rss_mib"] > 0
    expected = round(result["full"]["records_per_s"] / floor["records_per_s"], 3)
    assert result["engine_over_floor"] == expected > 0


def test_floor_beside_rest_into_sqlite(capsys: pytest.CaptureFixture[str]) -> None:
    [result] = _bench(capsys, "rest", "sqlite")
    assert result["full"]["stored"] == RECORDS
    _check_floor(result)


@pytest.mark.postgres
def test_floor_beside_rest_and_soap_into_postgres(capsys: pytest.CaptureFixture[str]) -> None:
    results = _bench(capsys, "rest,soap", "postgres")
    assert [(r["path"], r["store"]) for r in results] == [("rest", "postgres"), ("soap", "postgres")]
    for result in results:
        _check_floor(result)


def test_floor_loads_neither_sqlalchemy_nor_the_mock_agencies() -> None:
    # The floor is a hand loop on the database drivers: only mpp_bus/store may import SQLAlchemy, and the bench
    # never imports the stand-in agencies.
    code = ("import sys, mpp_bus.bench.floor; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'mock_agencies')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
