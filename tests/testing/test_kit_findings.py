"""The kit finds what it used to miss: a status that never mapped (so never reached a record), and a rerun that
quarantines; its messages say what was expected and what came."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mpp_bus.config.agencies import RetryConfig
from mpp_bus.contract import Page, Reject, StatusMapping, StreamName
from mpp_bus.testing.conformance import AdapterConformance, served_statuses
from mpp_bus.testing.transport import Cassette, NotRecorded, ReplayTransport, session_for
from mpp_bus.transport import HttpClient

MAPPING = StatusMapping.from_document({"version": 2, "statuses": {"BARU": "submitted", "SELESAI": "completed"}},
                                      "statuses.yaml")


def unknown(code: str, record_id: str) -> Reject:
    try:
        MAPPING(code)
    except Exception as exc:  # the reason the mapping itself gives
        return Reject(str(exc), record_id, {"status": code})
    raise AssertionError(f"{code} is mapped")


# 120 good records over three pages; the unmapped code appears only on the last page, twice.
PAGES = [Page([{"agency_status": "BARU"}] * 40, None) for _ in range(2)] + [
    Page([{"agency_status": "SELESAI"}] * 40, None, [unknown("DITANGGUHKAN", "P-1"), unknown("DITANGGUHKAN", "P-2"),
                                                     unknown(" ditolak", "P-3")])]


class _Adapter:
    status_mapping = MAPPING

    def __enter__(self) -> _Adapter:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def test_served_statuses_count_the_codes_of_rejected_records_too():
    assert served_statuses(PAGES) == {"BARU": 80, "SELESAI": 40, "DITANGGUHKAN": 2, " ditolak": 1}


def test_status_coverage_fails_on_a_status_that_appears_only_deep_in_the_data():
    kit = AdapterConformance()
    exercised = (None, {StreamName.APPLICATIONS: SimpleNamespace(pages=PAGES)})
    with pytest.raises(AssertionError) as info:
        kit.test_status_mapping_covers_every_agency_status(_Adapter, exercised, {StreamName.APPLICATIONS: None})
    message = str(info.value)
    assert "served 2 status code(s) that statuses.yaml does not map" in message, message
    assert "' ditolak' (1 record)" in message and "'DITANGGUHKAN' (2 records)" in message, message


def test_rerun_idempotence_says_what_came():
    class Engine:
        store = SimpleNamespace(content_counts=lambda: {"applications": 3})

        def __init__(self) -> None:
            self.runs = iter([SimpleNamespace(ok=True, stored=3, read=3, quarantined=0, error=None),
                              SimpleNamespace(ok=True, stored=2, read=3, quarantined=0, error=None),
                              SimpleNamespace(ok=True, stored=0, read=3, quarantined=0, error=None)])

        def sync(self, *args: Any, **kwargs: Any) -> Any:
            return next(self.runs)

    kit = AdapterConformance()
    with pytest.raises(AssertionError, match="an incremental rerun of applications stored 2 record"):
        kit.test_rerun_is_idempotent(Engine(), lambda: None, {StreamName.APPLICATIONS: None}, StreamName.APPLICATIONS)


def test_expect_rejects_is_honoured_by_the_rerun_too():
    class Engine:
        """Every run reads the same bad record again; only the first stores the three good ones."""

        store = SimpleNamespace(content_counts=lambda: {"applications": 3})

        def __init__(self) -> None:
            self.runs = 0

        def sync(self, *args: Any, **kwargs: Any) -> Any:
            self.runs += 1
            return SimpleNamespace(ok=True, stored=3 if self.runs == 1 else 0, read=4, quarantined=1, error=None)

    class Kit(AdapterConformance):
        expect_rejects = True

    Kit().test_rerun_is_idempotent(Engine(), lambda: None, {StreamName.APPLICATIONS: None}, StreamName.APPLICATIONS)
    with pytest.raises(AssertionError, match="quarantined 1 record.*expect_rejects = True"):
        AdapterConformance().test_rerun_is_idempotent(Engine(), lambda: None, {StreamName.APPLICATIONS: None},
                                                       StreamName.APPLICATIONS)


def test_a_request_missing_from_a_recording_fails_at_once_and_says_how_to_record(tmp_path):
    path = Path(tmp_path / "tax.json")
    Cassette({}, "tax").save(path)
    slept: list[float] = []
    client = HttpClient("http://djp.test", agency="djp", retry=RetryConfig(attempts=5),
                        session=session_for(ReplayTransport(Cassette.load(path))), sleep=slept.append)
    with pytest.raises(NotRecorded) as info:
        client.get_json("/v2/permohonan", {"halaman": 3})
    message = str(info.value)
    assert "GET" in message and "/v2/permohonan" in message and "halaman=3" in message, message
    assert f"`mpp_bus.testing.record(build, Path('{path}'))`" in message and "`tax` adapter" in message, message
    assert slept == [], "retried a request that no retry can make appear"
