"""The national agencies file generator and the shipped region tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpp_bus.airflow.__main__ import pools_document
from mpp_bus.airflow.generate import generate_agencies, write_agencies
from mpp_bus.airflow.report import expected_interval
from mpp_bus.config import load_agencies, parse_agencies
from mpp_bus.errors import ConfigError
from mpp_bus.regions import provinces, regencies, regency


def test_region_tables_are_complete() -> None:
    assert len(provinces()) == 38 and len(regencies()) == 514
    assert regency("33.14").name == "Kabupaten Sragen" and regency("32.73").is_city
    with pytest.raises(ConfigError, match="unknown regency"):
        regency("99.99")


def test_600_instances_cover_every_regency_and_validate(tmp_path: Path) -> None:
    instances = parse_agencies(generate_agencies(600))
    assert len(instances) == 600 and len({i.id for i in instances}) == 600
    licensing_regions = {i.region_code for i in instances if i.adapter == "licensing" and i.level == "kabupaten_kota"}
    assert licensing_regions == {r.code for r in regencies()}
    assert {"dukcapil", "oss", "djp"} <= {i.id for i in instances if i.level == "pusat"}
    path = tmp_path / "agencies.yaml"
    assert write_agencies(path, 600) == 600 and len(load_agencies(path)) == 600
    with pytest.raises(ConfigError, match="can generate 1 to"):
        generate_agencies(5000)


def test_pools_document_has_one_pool_per_agency() -> None:
    agencies = Path(__file__).resolve().parents[2] / "agencies.yaml"
    pools = pools_document(agencies)
    assert pools["mpp_dukcapil"]["slots"] == 2 and pools["mpp_oss"]["slots"] == 1
    assert sorted(pools) == sorted(f"mpp_{i.id}" for i in load_agencies(agencies) if i.enabled)


@pytest.mark.parametrize(("schedule", "seconds"), [
    ("@hourly", 3600), ("@daily", 86400), ("*/15 * * * *", 900), ("0 */6 * * *", 21600), ("30 2 * * *", 86400),
    (None, None),
])
def test_expected_interval(schedule: str | None, seconds: float | None) -> None:
    assert expected_interval(schedule) == seconds
