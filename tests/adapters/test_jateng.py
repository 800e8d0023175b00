"""The provincial licensing office (DPMPTSP Jawa Tengah): XML over REST, Basic auth, an offset inside a Link header,
an exclusive "changed after" filter at minute resolution, WIB minutes, statuses in any case and spacing, and a rare
undocumented status deep in the data. It is wired by ``adapters/jateng/spec.yaml`` alone (adapter type ``rest``).

Record again after changing what the spec asks of the agency::

    python -m tests.adapters.test_jateng
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mock_agencies import MockAgencies
from mock_agencies.catalogs import PROVINSI_LIFECYCLE, PROVINSI_RARE_STATUS
from mpp_bus.config import AgencyInstance, RetryConfig
from mpp_bus.contract import CONDITIONAL, StreamName
from mpp_bus.declarative import RestAdapter
from mpp_bus.testing import AdapterConformance
from mpp_bus.testing.conformance import RECORDED_URL
from mpp_bus.testing.scenarios import exercise
from mpp_bus.transport.convert import zone
from mpp_bus.transport.paging import SinceFilter

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "adapters" / "jateng" / "spec.yaml"
RECORDED = Path(__file__).parent / "recorded" / "jateng.json"
CONNECTION = {"login": "mpp-bus", "password": "jateng-rahasia"}
ADMIN = {"X-Admin-Token": "mock-admin"}
QUICK = RetryConfig(attempts=2, max_seconds=2, initial_wait=0, max_wait=0.01, jitter=0)


def jateng(url: str, page_size: int = 25, **spec_overrides: Any) -> AgencyInstance:
    config: dict[str, Any] = {"base_url": url, "spec_file": str(SPEC)}
    return AgencyInstance(id="kit-jateng", adapter="rest", name="DPMPTSP Provinsi Jawa Tengah", level="provinsi",
                          region_code="33", page_size=page_size, timeout_seconds=5, retry=QUICK, config=config)


class TestJatengRecorded(AdapterConformance):
    adapter_type, connection, recorded = RestAdapter, CONNECTION, RECORDED
    agency_statuses = PROVINSI_LIFECYCLE.statuses
    agency_since = SinceFilter(inclusive=False, resolution="minute", tz=zone("Asia/Jakarta"))  # as documented

    def instance(self, url: str) -> AgencyInstance:
        return jateng(url)


class TestJatengLive(TestJatengRecorded):
    mode = "live"

    @pytest.fixture(scope="class")
    @classmethod
    def agency_url(cls, mocks: Any) -> str:
        return str(mocks.urls["provinsi"])


# --- against a mock of its own: deep data, and records changed within one minute --------------------------------


@pytest.fixture(scope="module")
def deep() -> Iterator[MockAgencies]:
    with MockAgencies(seed=5, citizens=300, applications=700) as mocks:
        yield mocks


def _read(adapter: RestAdapter, cursor: dict[str, Any] | None) -> tuple[list[Any], dict[str, Any] | None]:
    pages = list(adapter.read(StreamName.APPLICATIONS, cursor))
    return pages, (pages[-1].cursor if pages else cursor)


def _truth(url: str) -> dict[str, str]:
    body = requests.get(url + "/admin/truth", headers=ADMIN, timeout=10).json()
    return {r["id"]: str(r["status"]) for r in body["records"]}


def _advance(url: str, count: int) -> list[str]:
    resp = requests.post(url + "/admin/advance", json={"count": count}, headers=ADMIN, timeout=10)
    resp.raise_for_status()
    return list(resp.json()["advanced"])


def _sync_exactly(url: str, spec_doc: dict[str, Any] | None = None) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """Read all, then twice advance several records within one minute and read on from the cursor each time.
    Returns what the reads hold (id -> canonical status), the truth, and the ids quarantined."""
    instance = jateng(url, page_size=40)
    if spec_doc is not None:
        instance = instance.model_copy(update={"config": {"base_url": url, "spec": spec_doc}})
    held: dict[str, str] = {}
    quarantined: set[str] = set()
    cursor = None
    with RestAdapter.from_instance(instance, CONNECTION) as adapter:
        mapping = adapter.statuses
        for advance in (0, 6, 5, 4):
            if advance:
                _advance(url, advance)  # one call stamps every record it moves with the same second
            pages, cursor = _read(adapter, cursor)
            for page in pages:
                held.update({r["application_id"]: r["status"] for r in page.records})
                quarantined |= {j.record_id for j in page.rejects if j.record_id}
    truth = {i: (mapping.get(s).value if mapping.get(s) else s) for i, s in _truth(url).items()}  # type: ignore
    return held, truth, quarantined


def _spec_with_since(since: dict[str, Any]) -> dict[str, Any]:
    import yaml

    doc = yaml.safe_load(SPEC.read_text("utf-8"))
    doc["streams"]["applications"]["since"] = {"param": "diubah_setelah", **since}
    for table in ("statuses", "vocabulary"):
        doc[table] = yaml.safe_load((SPEC.parent / doc[table]).read_text("utf-8"))
    return doc


@pytest.mark.parametrize("since", [{"inclusive": True, "resolution": "second"},
                                   {"inclusive": True, "resolution": "minute"},
                                   {"inclusive": False, "resolution": "second"}])
def test_the_kit_fails_a_spec_that_misreads_the_exclusive_minute_filter(since: dict[str, Any]) -> None:
    """Offline, from the recording alone: the kit's boundary check fails a spec whose `since:` is not the agency's,
    and says what to declare."""
    doc = _spec_with_since(since)

    class Misread(TestJatengRecorded):
        def instance(self, url: str) -> AgencyInstance:
            return jateng(url).model_copy(update={"config": {"base_url": url, "spec": doc}})

    with TestJatengRecorded.transport():
        recorded = exercise(TestJatengRecorded.build_for(RECORDED_URL))  # the records as recorded
    kit, build = Misread(), Misread.build_for(RECORDED_URL)
    with build() as adapter:
        offered = {s.name: s for s in adapter.streams()}
    with pytest.raises(AssertionError) as info:
        kit.test_a_cursor_inside_one_unit_of_the_since_filter_loses_and_repeats_nothing(
            recorded, offered, build, StreamName.APPLICATIONS)
    message = str(info.value)
    assert "would be lost on resuming" in message, message
    assert "`since: {inclusive: false, resolution: minute}`" in message, message


def test_the_kit_passes_the_spec_as_shipped() -> None:
    with TestJatengRecorded.transport():
        recorded = exercise(TestJatengRecorded.build_for(RECORDED_URL))
        build = TestJatengRecorded.build_for(RECORDED_URL)
        with build() as adapter:
            offered = {s.name: s for s in adapter.streams()}
        TestJatengRecorded().test_a_cursor_inside_one_unit_of_the_since_filter_loses_and_repeats_nothing(
            recorded, offered, build, StreamName.APPLICATIONS)


def test_incremental_reads_are_exact_with_several_changes_inside_the_boundary_minute(deep):
    url = deep.urls["provinsi"]
    held, truth, quarantined = _sync_exactly(url)
    rare = {i for i, s in truth.items() if s == PROVINSI_RARE_STATUS}
    assert rare and rare == quarantined, "the undocumented status is quarantined, nothing else"
    expected = {i: s for i, s in truth.items() if i not in rare}
    assert {i: held[i] for i in expected if i in held} == expected
    assert set(held) - rare == set(expected), "every record read once at least, none invented"


def test_an_inclusive_reading_of_the_exclusive_minute_filter_loses_records(deep):
    """The boundary bug the spec's `since: {inclusive: false, resolution: minute}` prevents: sending the cursor's own
    minute to an "after" filter misses the records changed later within that minute."""
    import yaml

    doc = yaml.safe_load(SPEC.read_text("utf-8"))
    doc["streams"]["applications"]["since"] = {"param": "diubah_setelah", "inclusive": True, "resolution": "minute"}
    for table in ("statuses", "vocabulary"):
        doc[table] = yaml.safe_load((SPEC.parent / doc[table]).read_text("utf-8"))
    held, truth, _ = _sync_exactly(deep.urls["provinsi"], doc)
    stale = [i for i, s in truth.items() if s != PROVINSI_RARE_STATUS and held.get(i) != s]
    assert stale, "with the boundary minute skipped, later changes within it are lost"


def test_the_rare_status_is_quarantined_with_a_reason_that_says_what_to_do(deep, tmp_path):
    from mpp_bus.engine import SyncEngine
    from mpp_bus.privacy import NikHasher
    from mpp_bus.store import create_store

    store = create_store(f"sqlite:///{tmp_path / 'jateng.db'}", upgrade=True)
    try:
        engine = SyncEngine(store, NikHasher(b"jateng-test-nik-secret-0123456789abcdef"))
        adapter = RestAdapter.from_instance(jateng(deep.urls["provinsi"], page_size=100), CONNECTION)
        result = engine.sync(adapter, "applications")
        assert result.ok and result.quarantined >= 2 and result.stored > 600
        with adapter:
            rejects = [j for p in adapter.read(StreamName.APPLICATIONS, None) for j in p.rejects]
        assert rejects and all("unknown agency status code" in j.reason and "statuses.yaml" in j.reason
                               for j in rejects)
    finally:
        store.dispose()


def test_the_catalog_is_not_read_again_while_unchanged(deep, tmp_path):
    from mpp_bus.engine import SyncEngine
    from mpp_bus.privacy import NikHasher
    from mpp_bus.store import create_store

    store = create_store(f"sqlite:///{tmp_path / 'jateng.db'}", upgrade=True)
    try:
        engine = SyncEngine(store, NikHasher(b"jateng-test-nik-secret-0123456789abcdef"))

        def build() -> RestAdapter:
            return RestAdapter.from_instance(jateng(deep.urls["provinsi"]), CONNECTION)

        first = engine.sync(build(), "catalog")
        again = engine.sync(build(), "catalog")
        refreshed = engine.sync(build(), "catalog", full_refresh=True)
        assert first.ok and first.stored == 4
        assert again.ok and again.read == 0 and again.withdrawn == 0, "a 304 keeps the catalog, withdraws nothing"
        assert refreshed.ok and refreshed.read == 4 and refreshed.withdrawn == 0
    finally:
        store.dispose()


def test_the_conditional_validators_reach_the_next_full_read(deep):
    with RestAdapter.from_instance(jateng(deep.urls["provinsi"]), CONNECTION) as adapter:
        (page,) = adapter.read(StreamName.CATALOG, None)
        assert page.validators and page.validators.get("etag")
        (again,) = adapter.read(StreamName.CATALOG, {CONDITIONAL: dict(page.validators)})
        assert again.not_modified and again.records == []


def record() -> None:
    from mpp_bus.testing import record as record_cassette

    with MockAgencies(seed=11, citizens=200, applications=80) as mocks:
        url = mocks.urls["provinsi"]
        record_cassette(lambda session: RestAdapter.from_instance(jateng(url), CONNECTION, session=session), RECORDED)


if __name__ == "__main__":
    record()
