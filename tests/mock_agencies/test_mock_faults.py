from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests
import zeep
from zeep.exceptions import TransportError
from zeep.wsse.username import UsernameToken

from mock_agencies import MockAgencies
from mock_agencies.catalogs import LICENSING_LIFECYCLE

if TYPE_CHECKING:
    from tests.mock_agencies.conftest import Admin

VALID_ID = re.compile(r"OSS-\d{9}")


def oss(mocks: MockAgencies) -> str:
    return f"{mocks.urls['licensing']}/api/v1/oss/applications"


def all_pages(session: requests.Session, url: str, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": limit}
    while True:
        body = session.get(url, params=query, timeout=5).json()
        out.extend(body["data"])
        if body["next_cursor"] is None:
            return out
        query = {"limit": limit, "cursor": body["next_cursor"]}


def test_flaky_answers_some_5xx(mocks: MockAgencies, admin: Admin) -> None:
    session = admin.licensing()
    admin.faults("licensing", "flaky", rate=0.3)
    codes = [session.get(oss(mocks), params={"limit": 5}, timeout=5).status_code for _ in range(40)]
    assert set(codes) - {200} <= {500, 502, 503} and 5 <= sum(c != 200 for c in codes) <= 25
    assert requests.get(f"{mocks.urls['licensing']}/health", timeout=5).status_code == 200


def test_rate_limit_answers_every_other_call_429_with_retry_after(mocks: MockAgencies, admin: Admin) -> None:
    session = admin.tax()
    admin.faults("tax", "rate_limit")
    answers = [session.get(f"{mocks.urls['tax']}/v2/permohonan", timeout=5) for _ in range(6)]
    assert [a.status_code for a in answers] == [200, 429] * 3
    assert answers[1].headers["Retry-After"] == "1"


def test_slow_is_longer_than_a_client_timeout(mocks: MockAgencies, admin: Admin) -> None:
    session = admin.licensing()
    admin.faults("licensing", "slow", delay=0.4)
    with pytest.raises(requests.Timeout):
        session.get(oss(mocks), params={"limit": 5}, timeout=0.15)
    started = time.monotonic()
    assert session.get(oss(mocks), params={"limit": 5}, timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.4


def test_drop_closes_the_connection_mid_page(mocks: MockAgencies, admin: Admin) -> None:
    session = admin.licensing()
    admin.faults("licensing", "drop", rate=1.0)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(oss(mocks), params={"limit": 200}, timeout=5)


def test_truncated_is_a_200_with_a_cut_body(mocks: MockAgencies, admin: Admin) -> None:
    session = admin.licensing()
    admin.faults("licensing", "truncated", rate=1.0)
    response = session.get(oss(mocks), params={"limit": 50}, timeout=5)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_malformed_records_are_exactly_the_ones_the_truth_lists(mocks: MockAgencies, admin: Admin) -> None:
    session = admin.licensing()
    admin.faults("licensing", "malformed", rate=0.05)
    records = all_pages(session, oss(mocks), 100)
    truth = admin.truth("licensing", "oss")
    corrupted = set(truth["corrupted"])
    assert 5 <= len(corrupted) <= 50 and len(truth["records"]) + len(corrupted) == mocks.applications

    def broken(r: dict[str, Any]) -> bool:
        try:
            dt.datetime.fromisoformat(r["submitted_at"].replace("Z", "+00:00"))
        except ValueError:
            return True
        return ("id" not in r or not VALID_ID.fullmatch(r["id"]) or r["status"] not in LICENSING_LIFECYCLE.statuses
                or not re.fullmatch(r"\d{16}", r["applicant_nik"]))

    bad = [r for r in records if broken(r)]
    assert len(bad) == len(corrupted)
    assert {r["id"] for r in bad if "id" in r} <= corrupted
    assert {r["id"] for r in records if not broken(r)} == {r["id"] for r in truth["records"]}


def test_duplicates_repeat_records_within_and_across_pages(mocks: MockAgencies, admin: Admin) -> None:
    session = admin.licensing()
    admin.faults("licensing", "duplicates", rate=0.05)
    first = session.get(oss(mocks), params={"limit": 100}, timeout=5).json()
    second = session.get(oss(mocks), params={"limit": 100, "cursor": first["next_cursor"]}, timeout=5).json()
    ids = [r["id"] for r in first["data"]]
    assert len(ids) > len(set(ids))  # within a page
    assert second["data"][0]["id"] == first["data"][-1]["id"]  # across the boundary
    assert {r["id"] for r in all_pages(session, oss(mocks), 100)} == {f"OSS-{i:09d}" for i in
                                                                       range(mocks.applications)}


def test_out_of_order_serves_older_versions_after_newer_ones(mocks: MockAgencies, admin: Admin) -> None:
    session = admin.licensing()
    admin.faults("licensing", "out_of_order", rate=0.05)
    newest: dict[str, dict[str, Any]] = {}
    regressions = 0
    for r in all_pages(session, oss(mocks), 100):
        seen = newest.get(r["id"])
        if seen is not None and r["updated_at"] < seen["updated_at"]:
            regressions += 1
            assert r["status"] != seen["status"]
            assert seen["status"] in LICENSING_LIFECYCLE.transitions[r["status"]]  # really an older status
        elif seen is None or r["updated_at"] > seen["updated_at"]:
            newest[r["id"]] = r
    assert regressions >= 3 and len(newest) == mocks.applications


def test_maintenance_answers_503_until_cleared(mocks: MockAgencies, admin: Admin) -> None:
    session = admin.licensing()
    admin.faults("licensing", "maintenance")
    response = session.get(oss(mocks), timeout=5)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert "pemeliharaan" in response.json()["error_description"]
    assert requests.get(f"{mocks.urls['licensing']}/health", timeout=5).status_code == 200
    assert admin.faults("licensing", "none")["profile"] == "none"
    assert session.get(oss(mocks), timeout=5).status_code == 200


def test_soap_faults_reach_a_zeep_client(mocks: MockAgencies, admin: Admin) -> None:
    client = zeep.Client(f"{mocks.urls['dukcapil']}/ws/dukcapil?wsdl",
                         wsse=UsernameToken("mpp-bus", "dukcapil-rahasia"))
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    admin.faults("dukcapil", "maintenance")
    with pytest.raises(TransportError) as caught:
        client.service.GetApplicationsChangedSince(Since=since, PageSize=10)
    assert caught.value.status_code == 503
    admin.faults("dukcapil", "truncated", rate=1.0)
    with pytest.raises(TransportError) as cut:
        client.service.GetApplicationsChangedSince(Since=since, PageSize=10)
    assert cut.value.status_code == 200 and "invalid XML" in str(cut.value)


def test_unknown_profiles_are_refused_with_the_known_ones(mocks: MockAgencies) -> None:
    response = requests.post(f"{mocks.urls['tax']}/admin/faults", json={"profile": "chaos"},
                             headers={"X-Admin-Token": "mock-admin"}, timeout=5)
    assert response.status_code == 400 and "maintenance" in response.json()["error"]
    assert requests.get(f"{mocks.urls['tax']}/admin/faults", timeout=5).status_code == 403
