"""The keyset rule: a record re-served at the boundary second is skipped only when that very version was handled."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mpp_bus.errors import FatalError
from mpp_bus.transport import Keyset, KeysetPage
from mpp_bus.transport.paging import BOUNDARY_LIMIT
from mpp_bus.transport.records import item_version

T = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)
NIK = "3314015708900001"


def item(record_id: str, status: str = "VERIFIED", at: datetime = T, nik: str = NIK) -> dict[str, Any]:
    return {"id": record_id, "status": status, "applicant_nik": nik, "updated_at": at.isoformat()}


def read(start: Keyset | None, *items: dict[str, Any]) -> KeysetPage:
    """One page over ``items``, as an adapter collects it."""
    page = KeysetPage(start)
    for it in items:
        page.add(it, it.get("id"), lambda it=it: datetime.fromisoformat(it["updated_at"]),
                 lambda updated, it=it: _build(it, updated))
    return page


def _build(it: dict[str, Any], updated: datetime) -> dict[str, Any]:
    if len(it["applicant_nik"]) != 16:
        raise ValueError("not a NIK")
    return {"application_id": it["id"], "agency_status": it["status"], "source_updated_at": updated}


def ids(page: KeysetPage) -> list[str]:
    return [r["application_id"] for r in page.records]


def resumed(page: KeysetPage) -> Keyset | None:
    """The position a new run starts from: the page's cursor through JSON, as the store keeps it."""
    return Keyset.from_cursor(json.loads(json.dumps(page.cursor())))


def test_a_change_in_the_marks_second_below_the_marks_id_is_delivered():
    mark = resumed(read(None, item("A"), item("B")))
    assert mark is not None and (mark.updated, mark.id) == (T, "B")
    # After that run, A changed within the same second: the agency stamps it T again and re-serves A and B.
    again = read(mark, item("A", status="APPROVED"), item("B"))
    assert ids(again) == ["A"] and again.records[0]["agency_status"] == "APPROVED"
    assert not again.moved  # same place in the agency's order: a positional reader need not restart
    # The new version is remembered: the next run skips it, and B, unchanged.
    assert ids(read(resumed(again), item("A", status="APPROVED"), item("B"))) == []


def test_unchanged_records_of_the_marks_second_are_skipped_and_new_ones_delivered():
    mark = resumed(read(None, item("B"), item("D")))
    page = read(mark, item("A"), item("B"), item("C"), item("D"), item("E", at=T + timedelta(seconds=1)))
    assert ids(page) == ["A", "C", "E"]  # A and C are new at T although their ids are below the mark's
    assert page.position == Keyset.at(T + timedelta(seconds=1), "E", {"E": item_version(item("E", at=T +
                                                                                            timedelta(seconds=1)))})


def test_a_change_reverted_within_the_second_is_delivered_again():
    first = resumed(read(None, item("A", status="VERIFIED")))
    second = read(first, item("A", status="REJECTED"))
    assert ids(second) == ["A"]
    assert ids(read(resumed(second), item("A", status="VERIFIED"))) == ["A"]  # the store holds REJECTED


def test_a_cursor_without_versions_still_loads_and_re_delivers_its_second():
    old = Keyset.from_cursor({"updated": T.isoformat(), "id": "B"})
    assert old == Keyset(T, "B")
    page = read(old, item("A", status="APPROVED"), item("B"))
    assert ids(page) == ["A", "B"]  # nothing to tell a changed record from an unchanged one: deliver both
    assert page.cursor()["seen"].keys() == {"A", "B"}


def test_a_stale_copy_older_than_the_mark_goes_on_to_the_engine():
    mark = resumed(read(None, item("A"), item("B")))
    page = read(mark, item("A", status="SUBMITTED", at=T - timedelta(hours=1)))
    assert ids(page) == ["A"] and page.position == mark and not page.moved


def test_a_rejected_record_is_not_rejected_twice_and_its_fix_in_the_same_second_is_delivered():
    mark = resumed(read(None, item("A", nik="33"), item("B")))
    assert ids(read(mark, item("A", nik="33"), item("B"))) == []
    fixed = read(mark, item("A"), item("B"))
    assert ids(fixed) == ["A"] and fixed.rejects == []


def test_versions_are_bounded_and_the_forgotten_records_are_delivered_again_unchanged():
    many = [item(f"R{i:05d}") for i in range(BOUNDARY_LIMIT + 300)]
    mark = resumed(read(None, *many))
    assert mark is not None and len(mark.seen) == BOUNDARY_LIMIT
    assert min(i for i, _ in mark.seen) == "R00300"  # the largest ids are kept: a re-query serves them next
    assert ids(read(mark, *many)) == [f"R{i:05d}" for i in range(300)]


def test_versions_follow_the_content_not_the_key_order_and_keep_no_nik():
    assert item_version({"a": 1, "b": 2}) == item_version({"b": 2, "a": 1})
    assert item_version(item("A")) != item_version(item("A", status="APPROVED"))
    cursor = json.dumps(read(None, item("A"), item("B")).cursor())
    assert not re.search(r"\d{16}", cursor) and NIK not in cursor
    assert item_version({"n": 2**70}) is None  # not digestible: delivered again rather than skipped
    assert not Keyset.at(T, "A", {"A": "v"}).replays(T, "A", None)


@pytest.mark.parametrize("seen", [["A", "B"], {"A": 1}, "A"])
def test_a_cursor_with_bad_versions_is_refused(seen):
    with pytest.raises(FatalError, match="seen"):
        Keyset.from_cursor({"updated": T.isoformat(), "id": "B", "seen": seen})



def _app(record_id: str, status: str = "VERIFIED", at: datetime = T) -> dict[str, Any]:
    return {"application_id": record_id, "agency_status": status, "source_updated_at": at}


A, B, C = _app("A", at=T - timedelta(seconds=1)), _app("B"), _app("C", at=T + timedelta(seconds=1))


@pytest.mark.parametrize(("resumed_again", "high_water_again", "allowed"), [
    ([], [], True),
    ([B], [C], True),  # the cursor's last instant served again, byte-identical: what the keyset rule may do
    ([_app("B", status="APPROVED")], [_app("C", status="APPROVED")], False),  # changed: not a replay
    ([A], [B], False),  # from before the cursor's last instant: a real repeat
])
def test_the_conformance_kit_allows_only_identical_records_of_the_last_instant_again(resumed_again,
                                                                                     high_water_again, allowed):
    from mpp_bus.contract import Page, StreamName, StreamSpec, SyncMode
    from mpp_bus.testing import AdapterConformance
    from mpp_bus.testing.scenarios import StreamRun

    stream, cursor = StreamName.APPLICATIONS, {"updated": T.isoformat()}
    first, second = Page([A, B], cursor), Page([C], cursor)  # the whole read: its first page ends at T, all at T+1
    run = StreamRun([first, second], first, [Page(resumed_again, cursor), second], [Page(high_water_again, cursor)])
    exercised = (None, {stream: run})
    offered = {stream: StreamSpec(stream, SyncMode.INCREMENTAL, "source_updated_at")}
    kit = AdapterConformance()
    for check in (kit.test_resume_from_a_cursor_has_no_gap_and_no_repeat,
                  kit.test_read_from_the_high_water_mark_brings_nothing_new):
        if allowed:
            check(exercised, offered, stream)
        else:
            with pytest.raises(AssertionError):
                check(exercised, offered, stream)
