"""The CLI against the real mock agencies: an agencies file pointing at mocks started on free ports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from mock_agencies import MockAgencies

CONNECTIONS = {
    "AIRFLOW_CONN_MPP_DUKCAPIL": {"login": "mpp-bus", "password": "dukcapil-rahasia"},
    "AIRFLOW_CONN_MPP_LICENSING": {"login": "mpp-bus", "password": "oss-rahasia"},
    "AIRFLOW_CONN_MPP_TAX": {"password": "djp-rahasia"},
}
ADMIN = {"X-Admin-Token": "mock-admin"}


def agencies_doc(urls: dict[str, str]) -> dict[str, object]:
    fast = {"attempts": 3, "max_seconds": 10, "initial_wait": 0, "max_wait": 0.1, "jitter": 0}
    return {
        "defaults": {"page_size": 100, "timeout_seconds": 5, "retry": fast},
        "agencies": [
            {"id": "dukcapil", "adapter": "dukcapil", "name": "Dukcapil", "level": "pusat",
             "connection_id": "mpp_dukcapil", "config": {"wsdl_url": f"{urls['dukcapil']}/ws/dukcapil?wsdl"}},
            {"id": "oss", "adapter": "licensing", "name": "OSS", "level": "pusat", "connection_id": "mpp_licensing",
             "config": {"base_url": urls["licensing"], "tenant": "oss"}},
            {"id": "dpmptsp-3314", "adapter": "licensing", "name": "DPMPTSP Kabupaten Sragen",
             "level": "kabupaten_kota", "region_code": "33.14", "connection_id": "mpp_licensing",
             "config": {"base_url": urls["licensing"], "tenant": "dpmptsp-3314"}},
            {"id": "djp", "adapter": "tax", "name": "DJP", "level": "pusat", "connection_id": "mpp_tax",
             "config": {"base_url": urls["tax"]}},
        ],
    }


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockAgencies]:
    with MockAgencies(seed=5, citizens=300, applications=250) as running:
        yield running


@pytest.fixture
def agencies_file(mocks: MockAgencies, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, connection in CONNECTIONS.items():
        monkeypatch.setenv(name, json.dumps(connection))
    # Commands run without --database-url (agencies shows breaker state) must not leave a store in the work tree.
    monkeypatch.setenv("MPP_DATABASE_URL", f"sqlite:///{tmp_path / 'default-store.db'}")
    path = tmp_path / "agencies.yaml"
    path.write_text(yaml.safe_dump(agencies_doc(mocks.urls)), encoding="utf-8")
    return path


def truth_niks(mocks: MockAgencies) -> set[str]:
    """Every NIK the mock agencies hold, to search the store and the logs for."""
    niks: set[str] = set()
    for agency, dataset in (("dukcapil", ""), ("licensing", "oss"), ("licensing", "dpmptsp-3314"), ("tax", "")):
        response = requests.get(f"{mocks.urls[agency]}/admin/truth", params={"dataset": dataset}, headers=ADMIN,
                                timeout=10)
        response.raise_for_status()
        niks.update(row["applicant_nik"] for row in response.json()["records"])
    assert len(niks) > 100
    return niks
