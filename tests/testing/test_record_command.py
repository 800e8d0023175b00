"""`mpp-bus record`: recordings of the licensing and Jawa Tengah mocks made by the command, redacted, replayed green
by the kit offline (one of them capped with --max-records), with no clear NIK or name of the mocks in the file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from mock_agencies import MockAgencies
from mock_agencies.catalogs import LICENSING_LIFECYCLE, PROVINSI_LIFECYCLE
from mpp_bus.cli import main
from mpp_bus.config import AgencyInstance
from mpp_bus.contract import StreamName
from mpp_bus.declarative import RestAdapter
from mpp_bus.testing import AdapterConformance
from mpp_bus.testing.conformance import RECORDED_URL
from mpp_bus.testing.scenarios import read_all
from mpp_bus.testing.transport import Cassette, NotRecorded
from tests.adapters.conformance_setup import TYPES

ROOT = Path(__file__).resolve().parents[2]
JATENG_SPEC = ROOT / "adapters" / "jateng" / "spec.yaml"
ADMIN = {"X-Admin-Token": "mock-admin"}
CONNECTIONS = {
    "AIRFLOW_CONN_MPP_LICENSING": {"login": "mpp-bus", "password": "oss-rahasia"},
    "AIRFLOW_CONN_MPP_JATENG": {"login": "mpp-bus", "password": "jateng-rahasia"},
}
FAST = {"attempts": 2, "max_seconds": 2, "initial_wait": 0, "max_wait": 0.01, "jitter": 0}


def _instances(urls: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"id": "dpmptsp-3314", "adapter": "licensing", "name": "DPMPTSP Kabupaten Sragen", "level": "kabupaten_kota",
         "region_code": "33.14", "connection_id": "mpp_licensing", "page_size": 25,
         "config": {"base_url": urls["licensing"], "tenant": "dpmptsp-3314"}},
        {"id": "jateng", "adapter": "rest", "name": "DPMPTSP Provinsi Jawa Tengah", "level": "provinsi",
         "region_code": "33", "connection_id": "mpp_jateng", "page_size": 25,
         "config": {"base_url": urls["provinsi"], "spec_file": str(JATENG_SPEC)}},
    ]


def _instance(agency_id: str, url: str) -> AgencyInstance:
    """The instance the command recorded, on the kit's placeholder URL (request keys hold no host)."""
    doc = next(d for d in _instances({"licensing": url, "provinsi": url}) if d["id"] == agency_id)
    return AgencyInstance(**{**doc, "retry": FAST})


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockAgencies]:
    with MockAgencies(seed=11, citizens=200, applications=80) as running:
        yield running


def _record(agencies: Path, agency_id: str, output: Path, *options: str) -> int:
    with pytest.MonkeyPatch.context() as env:
        for name, connection in CONNECTIONS.items():
            env.setenv(name, json.dumps(connection))
        env.setenv("MPP_DATABASE_URL", f"sqlite:///{agencies.parent / 'unused.db'}")
        return main(["--agencies", str(agencies), "record", agency_id, *options, "--output", str(output)])


@pytest.fixture(scope="module")
def agencies(mocks: MockAgencies, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recordings") / "agencies.yaml"
    path.write_text(yaml.safe_dump({"defaults": {"retry": FAST, "timeout_seconds": 5},
                                    "agencies": _instances(mocks.urls)}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def recordings(agencies: Path) -> dict[str, Path]:
    """Each mock recorded once by the command: licensing whole, Jawa Tengah capped at 30 records a read."""
    out = {"dpmptsp-3314": agencies.parent / "licensing.json", "jateng": agencies.parent / "jateng.json"}
    assert _record(agencies, "dpmptsp-3314", out["dpmptsp-3314"]) == 0
    assert _record(agencies, "jateng", out["jateng"], "--max-records", "30") == 0
    return out


def _citizens(url: str) -> list[dict[str, Any]]:
    """Every citizen of the mocks' shared population (200 here), with NIK and full name."""
    response = requests.get(f"{url}/admin/citizens", params={"limit": 1000}, headers=ADMIN, timeout=10)
    response.raise_for_status()
    return list(response.json()["citizens"])


def test_the_recordings_hold_no_clear_nik_or_name_of_the_mocks(mocks: MockAgencies,
                                                               recordings: dict[str, Path]) -> None:
    citizens = _citizens(mocks.urls["licensing"]) + _citizens(mocks.urls["provinsi"])
    niks = {str(c["nik"]) for c in citizens}
    names = {str(c["nama_lengkap"]) for c in citizens}
    served = requests.get(f"{mocks.urls['provinsi']}/admin/truth", headers=ADMIN, timeout=10).json()["records"]
    assert {r["applicant_nik"] for r in served} <= niks, "the applicants are citizens of the population"
    for path in recordings.values():
        text = path.read_text("utf-8")
        assert niks and not [n for n in niks if n in text], f"a clear NIK of the mock in {path.name}"
        assert not [n for n in names if n and n in text], f"a clear name of the mock in {path.name}"
        assert '"redacted": true' in text
    assert Cassette.load(recordings["jateng"]).max_records == 30


@pytest.fixture(scope="module")
def licensing_recording(recordings: dict[str, Path]) -> Path:
    return recordings["dpmptsp-3314"]


class TestLicensingRecordedByTheCommand(AdapterConformance):
    adapter_type, connection = TYPES["licensing"], CONNECTIONS["AIRFLOW_CONN_MPP_LICENSING"]
    agency_statuses = LICENSING_LIFECYCLE.statuses

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _recorded_by_the_command(cls, recordings: dict[str, Path]) -> Iterator[None]:
        cls.recorded = recordings["dpmptsp-3314"]
        yield
        cls.recorded = None

    def instance(self, url: str) -> AgencyInstance:
        return _instance("dpmptsp-3314", url)


class TestJatengRecordedCappedByTheCommand(AdapterConformance):
    adapter_type, connection = RestAdapter, CONNECTIONS["AIRFLOW_CONN_MPP_JATENG"]
    agency_statuses = PROVINSI_LIFECYCLE.statuses

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _recorded_by_the_command(cls, recordings: dict[str, Path]) -> Iterator[None]:
        cls.recorded = recordings["jateng"]
        yield
        cls.recorded = None

    def instance(self, url: str) -> AgencyInstance:
        return _instance("jateng", url)


def test_a_read_past_the_cap_names_the_command_to_record_again(agencies: Path) -> None:
    """Uncapped, a replay of a recording capped at one page asks for a page it does not hold: it fails at once,
    naming `mpp-bus record` with the agency and the file."""
    from mpp_bus.testing.transport import ReplayTransport, session_for

    path = agencies.parent / "jateng-one-page.json"
    assert _record(agencies, "jateng", path, "--stream", "applications", "--max-records", "1") == 0
    assert Cassette.load(path).streams == ["applications"]
    replay = ReplayTransport(Cassette.load(path))

    def build(*, session: Any = None) -> Any:
        return RestAdapter.from_instance(_instance("jateng", RECORDED_URL), CONNECTIONS["AIRFLOW_CONN_MPP_JATENG"],
                                         session=session_for(replay))

    with pytest.raises(NotRecorded) as info:
        read_all(build, StreamName.APPLICATIONS)
    assert f"`mpp-bus record jateng --output {path}`" in str(info.value)


def test_an_unknown_stream_is_refused_with_the_streams_offered(agencies: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert _record(agencies, "jateng", agencies.parent / "none.json", "--stream", "permits") == 1
    assert "offers no stream permits; it offers catalog, applications" in capsys.readouterr().err
