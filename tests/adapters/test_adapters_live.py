"""Every shipped adapter, end to end against its mock agency."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic_core import to_jsonable_python

from mock_agencies.catalogs import DUKCAPIL_LIFECYCLE, LICENSING_LIFECYCLE, TAX_LIFECYCLE
from mock_agencies.launcher import free_port
from mpp_bus.canonical.schema import schema_errors
from mpp_bus.config import RetryConfig
from mpp_bus.contract import Page, StreamName, SyncMode
from mpp_bus.errors import FatalError

LIFECYCLES = {"dukcapil": DUKCAPIL_LIFECYCLE, "licensing": LICENSING_LIFECYCLE, "tax": TAX_LIFECYCLE}
BAD = {
    "dukcapil": {"login": "mpp-bus", "password": "x9-wrong-secret"},
    "licensing": {"login": "mpp-bus", "password": "x9-wrong-secret"},
    "tax": {"password": "x9-wrong-secret"},
}


def read_all(adapter: Any, stream: str, cursor: dict[str, Any] | None = None) -> list[Page]:
    return list(adapter.read(StreamName(stream), cursor))


def test_check_good_credentials(kit, agency):
    result = kit.build(agency).check()
    assert result.ok, result.message
    assert result.latency_ms is not None


def test_check_bad_credentials_answers_without_raising(kit, agency):
    result = kit.build(agency, BAD[agency]).check()
    assert not result.ok
    assert "credentials refused" in result.message
    assert "x9-wrong-secret" not in result.message


def test_check_agency_down_answers_without_raising(kit, agency):
    dead = f"http://127.0.0.1:{free_port()}"
    config = {"dukcapil": {"wsdl_url": f"{dead}/ws/dukcapil?wsdl"}, "licensing": {"base_url": dead, "tenant": "oss"},
              "tax": {"base_url": dead}}[agency]
    result = kit.build(agency, config=config).check()
    assert not result.ok
    assert "unreachable" in result.message


def test_streams_declare_full_catalog_and_incremental_applications(kit, agency):
    specs = {s.name: s for s in kit.build(agency).streams()}
    assert specs[StreamName.CATALOG].mode is SyncMode.FULL
    assert specs[StreamName.APPLICATIONS].mode is SyncMode.INCREMENTAL
    assert specs[StreamName.APPLICATIONS].cursor_field


@pytest.mark.parametrize(("stream", "entity"), [("catalog", "service"), ("applications", "application")])
def test_records_are_canonical(kit, agency, stream, entity):
    pages = read_all(kit.build(agency), stream)
    records = [r for p in pages for r in p.records]
    assert records
    assert not [r for p in pages for r in p.rejects]
    for record in records:
        assert schema_errors(entity, to_jsonable_python(record)) == []
        assert record["agency_id"] == f"test-{agency}"
    if stream == "applications":
        assert len({r["application_id"] for r in records}) == kit.applications
        assert len(pages) >= kit.applications // kit.page_size


def test_status_mapping_covers_every_agency_code(kit, agency):
    codes = LIFECYCLES[agency].statuses
    assert len(codes) >= 7
    assert kit.types[agency].status_mapping.missing(codes) == []


def test_applications_match_the_agency_truth(kit, agency):
    truth = kit.admin(agency, "GET", f"/admin/truth?dataset={kit.dataset[agency]}")["records"]
    records = [r for p in read_all(kit.build(agency), "applications") for r in p.records]
    mapping = kit.types[agency].status_mapping
    got = {r["application_id"]: (r["agency_status"], r["status"]) for r in records}
    want = {t["id"]: (str(t["status"]), mapping(t["status"]).value) for t in truth}
    assert got == want


def test_resume_from_a_page_cursor_in_a_new_process(kit, agency):
    first = kit.build(agency).read(StreamName.APPLICATIONS, None)
    page1 = next(first)
    first.close()  # the process dies after committing page 1
    rest = read_all(kit.build(agency), "applications", page1.cursor)
    ids = [r["application_id"] for r in page1.records] + [r["application_id"] for p in rest for r in p.records]
    assert len(ids) == len(set(ids)) == kit.applications


def test_incremental_read_after_advance_sees_exactly_the_changed_records(kit, agency):
    adapter = kit.build(agency)
    high_water = read_all(adapter, "applications")[-1].cursor
    assert read_all(adapter, "applications", high_water)[-1].records == []  # nothing changed yet
    advanced = kit.admin(agency, "POST", "/admin/advance", json={"dataset": kit.dataset[agency], "count": 7})
    pages = read_all(kit.build(agency), "applications", high_water)
    changed = [r for p in pages for r in p.records]
    assert sorted(r["application_id"] for r in changed) == sorted(advanced["advanced"])
    assert pages[-1].cursor["updated"] > high_water["updated"]


def test_malformed_records_become_rejects_and_never_fail_the_page(kit, agency, faults):
    faults(agency, "malformed", rate=0.2)
    pages = read_all(kit.build(agency), "applications")
    rejects = [j for p in pages for j in p.rejects]
    records = [r for p in pages for r in p.records]
    corrupted = kit.admin(agency, "GET", f"/admin/truth?dataset={kit.dataset[agency]}")["corrupted"]
    assert rejects and len(rejects) == len(corrupted)
    assert len(records) + len(rejects) == kit.applications
    for rej in rejects:
        assert rej.reason and rej.payload is not None
        assert not re.search(r"(?<!\d)\d{16}(?!\d)", rej.reason)


@pytest.mark.parametrize("profile", ["flaky", "drop", "truncated"])
def test_transient_faults_are_retried(kit, agency, faults, profile):
    faults(agency, profile, rate=0.25)
    patient = RetryConfig(attempts=8, max_seconds=10, initial_wait=0, max_wait=0.01, jitter=0)
    records = [r for p in read_all(kit.build(agency, retry=patient), "applications") for r in p.records]
    assert len({r["application_id"] for r in records}) == kit.applications


def test_unknown_tenant_is_fatal(kit):
    adapter = kit.build("licensing", config={"base_url": kit.urls["licensing"], "tenant": "nowhere"})
    with pytest.raises(FatalError, match="HTTP 404"):
        read_all(adapter, "catalog")
