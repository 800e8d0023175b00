"""The one-pass route of a declarative applications stream stores exactly what the item-by-item route does.

Both routes read the same pages from the same fake agency (JSON, XML and CSV; clean pages and pages with bad
records; from the start and from every cursor the first read left, several of them inside one second); for each
page the test compares what the engine would store: the records as it validates them (a ``CanonicalRecords`` page
as it is), its quarantine of records that fail the canonical rules, the adapter's rejects with their reasons and
payloads, and the cursor. The Jawa Tengah mock is read both ways too, under each of its record fault profiles.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
import requests
import yaml

from mock_agencies import MockAgencies
from mpp_bus.canonical import Application
from mpp_bus.canonical.records import CanonicalRecords
from mpp_bus.config import AgencyInstance
from mpp_bus.contract import Page, StreamName
from mpp_bus.declarative import RestAdapter
from mpp_bus.declarative.adapter import _Tries
from mpp_bus.engine.validation import validate_page
from mpp_bus.testing import FunctionTransport, Reply, session_for

ROOT = Path(__file__).resolve().parents[2]
WIB = timezone(timedelta(hours=7))
START = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
RECORDS = 48
PAGE = 5
STATUSES = {"version": 1, "normalise": {"trim": True, "case": "upper", "spaces": True},
            "statuses": {"BARU": "submitted", "PROSES": "in_process", "PERLU PERBAIKAN": "needs_revision",
                         "SELESAI": "completed"}}

# How each format writes times, and the spec fields that read them: every converter kind an applications spec
# uses (nik, status, str, datetime in RFC 3339, in tokens and in strftime with a zone name or an offset, date in
# ISO and in a format, note), defaults and constants.
FORMATS: dict[str, dict[str, Any]] = {
    "json": {
        "status_at": lambda t: t.astimezone(WIB).isoformat(), "submitted": "%d/%m/%Y %H:%M",
        "due": lambda d: d.isoformat(), "updated": "%Y-%m-%d %H:%M:%S",
        "stream": {"records": "data.items", "id": "no", "paginator": {"type": "cursor", "field": "meta.next",
                                                                        "param": "c"},
                   "incremental": {"field": "diubah", "as": "datetime:YYYY-MM-DD HH:mm:ss@Asia/Jakarta"},
                   "fields": {"application_id": "no", "service_code": "layanan.kode",
                              "applicant_nik": {"from": "pemohon.nik", "as": "nik"},
                              "status": {"from": "status.kode", "as": "status"},
                              "agency_status": {"from": "status.kode", "as": "str"},
                              "status_at": {"from": "status.waktu", "as": "datetime"},
                              "submitted_at": {"from": "diajukan", "as": "datetime:DD/MM/YYYY HH:mm@+07:00"},
                              "sla_due_date": {"from": "jatuh_tempo", "as": "date", "default": None},
                              "output_document": {"from": "dokumen.nomor", "default": None},
                              "revision_note": {"from": "catatan", "as": "note", "default": None}}},
    },
    "xml": {
        "status_at": "%d-%m-%Y %H:%M", "submitted": "%d-%m-%Y %H:%M", "due": lambda d: d.strftime("%d-%m-%Y"),
        "updated": "%d-%m-%Y %H:%M:%S",
        "stream": {"format": "xml", "records": "./permohonan", "id": "@no",
                   "paginator": {"type": "link_header", "positional": True},
                   "incremental": {"field": "diubah", "as": "datetime:DD-MM-YYYY HH:mm:ss@Asia/Jakarta"},
                   "fields": {"application_id": "@no", "service_code": "@layanan",
                              "applicant_nik": {"from": "pemohon/@nik", "as": "nik"},
                              "status": {"from": "status/text()", "as": "status"}, "agency_status": "status/text()",
                              "status_at": {"from": "tgl_status", "as": "datetime:DD-MM-YYYY HH:mm@Asia/Jakarta"},
                              "submitted_at": {"from": "tgl_ajuan", "as": "datetime:DD-MM-YYYY HH:mm@Asia/Jakarta"},
                              "sla_due_date": {"from": "jatuh_tempo", "as": "date:DD-MM-YYYY", "default": None},
                              "output_document": {"from": "no_izin", "default": None},
                              "revision_note": {"const": None}}},
    },
    "csv": {
        "status_at": "%d/%m/%Y %H:%M:%S", "submitted": "%d/%m/%Y %H:%M:%S", "due": lambda d: d.strftime("%d/%m/%Y"),
        "updated": "%d/%m/%Y %H:%M:%S",
        "stream": {"format": "csv", "delimiter": ";", "id": "no", "paginator": {"type": "link_header"},
                   "incremental": {"field": "diubah", "as": "datetime:%d/%m/%Y %H:%M:%S@+07:00"},
                   "fields": {"application_id": {"from": "no", "as": "str"}, "service_code": "layanan",
                              "applicant_nik": {"from": "nik", "as": "nik"},
                              "status": {"from": "status", "as": "status"}, "agency_status": "status",
                              "status_at": {"from": "waktu_status", "as": "datetime:%d/%m/%Y %H:%M:%S@+07:00"},
                              "submitted_at": {"from": "diajukan", "as": "datetime:%d/%m/%Y %H:%M:%S@+07:00"},
                              "sla_due_date": {"from": "jatuh_tempo", "as": "date:%d/%m/%Y", "default": None},
                              "output_document": {"const": "TANPA-NOMOR"},
                              "revision_note": {"from": "catatan", "as": "note", "default": None}}},
    },
}
COLUMNS = ("no", "layanan", "nik", "status", "waktu_status", "diajukan", "jatuh_tempo", "no_izin", "catatan",
           "diubah")


def _time(fmt: Any, moment: datetime) -> str:
    return fmt(moment) if callable(fmt) else moment.astimezone(WIB).strftime(fmt)


def agency_row(i: int, fmt: str) -> dict[str, Any]:
    """Record ``i`` as the agency writes it (flat; None: not sent). Three records share each second, so page
    boundaries and cursors fall inside a second."""
    f = FORMATS[fmt]
    updated = START + timedelta(seconds=i // 3)
    return {"no": f"P-{i:04d}", "layanan": "IZN-01", "nik": f"337401150390{i + 1:04d}",
            "status": (" baru", "Proses", "PERLU  perbaikan", "SELESAI")[i % 4],
            "waktu_status": _time(f["status_at"], updated - timedelta(hours=1)),
            "diajukan": _time(f["submitted"], updated - timedelta(days=2, minutes=i % 50)),
            "jatuh_tempo": f["due"](date(2025, 3, 20)) if i % 2 else None,
            "no_izin": f"IZN/{i}" if i % 4 == 3 else None, "catatan": "  Lengkapi   KTP \n" if i % 4 == 2 else None,
            "diubah": _time(f["updated"], updated)}


def faulty(i: int, row: dict[str, Any], fmt: str) -> dict[str, Any] | str:
    """The bad records of the faulty data set, each a way a record fails on one route or the other."""
    changes: dict[int, dict[str, Any]] = {
        2: {"nik": "3374011503"},  # the nik converter refuses it
        6: {"diajukan": _time(FORMATS[fmt]["submitted"], START + timedelta(days=3))},  # after its update: the check
        12: {"status": "DITANGGUHKAN"},  # not in the status table
        13: {"no": None},  # no id
        17: {"layanan": None},  # a field without a default is missing
        21: {"waktu_status": "kemarin"},  # not a time
        26: {"layanan": "X" * 200},  # maps, then fails the canonical rules: the engine's quarantine
        33: {"no": f" P-{33:04d} "},  # an id the canonical rules trim (the cursor keeps it as served)
        36: {"jatuh_tempo": "", "no_izin": "", "catatan": ""},  # empty values take their defaults
        37: {"jatuh_tempo": "", "catatan": "   "},
    }
    if fmt == "json" and i == 1:
        return "not an object"
    if fmt == "json" and i == 14:
        return {**row, "status": ["BARU"]}  # a list where a code belongs
    return {**row, **changes.get(i, {})}


def body(rows: list[Any], fmt: str) -> Any:
    if fmt == "json":
        return [_nested(r) if isinstance(r, dict) else r for r in rows]
    if fmt == "xml":
        return "".join(_element(r) for r in rows)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows([["" if r[c] is None else r[c] for c in COLUMNS] for r in rows])
    return out.getvalue()


def _nested(r: dict[str, Any]) -> dict[str, Any]:
    out = {"layanan": {"kode": r["layanan"]}, "pemohon": {"nik": r["nik"]},
           "status": {"kode": r["status"], "waktu": r["waktu_status"]}, "diajukan": r["diajukan"],
           "jatuh_tempo": r["jatuh_tempo"], "dokumen": {"nomor": r["no_izin"]}, "catatan": r["catatan"],
           "diubah": r["diubah"]}
    if r["no"] is not None:
        out["no"] = r["no"]
    return out


def _element(r: dict[str, Any]) -> str:
    attrs = "".join(f" {k}={quoteattr(r[k])}" for k in ("no", "layanan") if r[k] is not None)
    texts = {"tgl_status": r["waktu_status"], "tgl_ajuan": r["diajukan"], "jatuh_tempo": r["jatuh_tempo"],
             "no_izin": r["no_izin"], "diubah": r["diubah"]}
    children = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in texts.items() if v is not None)
    return (f"<permohonan{attrs}><pemohon nik={quoteattr(r['nik'])}/><status>{escape(r['status'])}</status>"
            f"{children}</permohonan>")


def fake_agency(fmt: str, bad: bool) -> Callable[[Any], Reply]:
    """The agency: records ordered by (update time, id), "changed since" inclusive to the second, pages of ``n``;
    the next page's token ``c`` is the place of its first record (in the body for JSON, in a Link header for XML and
    CSV)."""
    rows = [(START + timedelta(seconds=i // 3), agency_row(i, fmt)) for i in range(RECORDS)]
    served = [(t, faulty(i, r, fmt) if bad else r) for i, (t, r) in enumerate(rows)]
    pattern = FORMATS[fmt]["updated"]

    def handle(request: Any) -> Reply:
        since, token, n = request.query.get("sejak"), request.query.get("c"), int(request.query["n"])
        if token:
            offset = int(token)
        else:
            start = datetime.strptime(since, pattern).replace(tzinfo=WIB) if since else None
            offset = next((i for i, (t, _) in enumerate(served) if start is None or t >= start), len(served))
        page = [r for _, r in served[offset:offset + n]]
        following = offset + n if offset + n < len(served) else None
        if fmt == "json":
            return Reply(200, {"data": {"items": body(page, fmt)}, "meta": {"next": following and str(following)}})
        headers = {}
        if following is not None:
            headers["Link"] = f'<http://agency/apps?n={n}&c={following}>; rel="next"'
        if fmt == "xml":
            return Reply(200, f"<daftar>{body(page, fmt)}</daftar>", {"Content-Type": "application/xml", **headers})
        return Reply(200, body(page, fmt), {"Content-Type": "text/csv", **headers})

    return handle


def spec(fmt: str) -> dict[str, Any]:
    stream = {"path": "/apps", "mode": "incremental", "params": {"n": "{page_size}", "sejak": "{since}"},
              **FORMATS[fmt]["stream"]}
    return {"statuses": STATUSES, "streams": {"applications": stream}}


def adapter(fmt: str, bad: bool, one_pass: bool, doc: dict[str, Any] | None = None) -> RestAdapter:
    instance = AgencyInstance(id="fake", adapter="rest", name="Fake", level="provinsi", page_size=PAGE,
                              config={"base_url": "http://agency", "spec": doc or spec(fmt)})
    built = RestAdapter.from_instance(instance, {}, session=session_for(FunctionTransport(fake_agency(fmt, bad))))
    if not one_pass:
        built.compiled[StreamName.APPLICATIONS].one_pass = None
    return built


def stored(pages: list[Page]) -> list[dict[str, Any]]:
    """What the engine stores of each page: the records as it validates them (a ``CanonicalRecords`` page as it is),
    its quarantine, the adapter's rejects, and the cursor."""
    out = []
    for page in pages:
        if isinstance(page.records, CanonicalRecords):
            records, quarantined = list(page.records), []
        else:
            good, bad = validate_page(Application, page.records, "application_id")
            records, quarantined = [r for _, r in good], [(b.index, b.record_id, b.reason, b.payload) for b in bad]
        out.append({"records": records, "quarantined": quarantined, "cursor": page.cursor,
                    "rejects": [(j.record_id, j.reason, j.payload) for j in page.rejects]})
    return out


def read(built: RestAdapter, cursor: dict[str, Any] | None) -> list[Page]:
    return list(built.read(StreamName.APPLICATIONS, cursor))


@pytest.fixture(params=[False, True], ids=["every-page", "backing-off"])
def backing_off(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """With the read's back-off after a page that failed its one-pass try (as shipped), or trying every page (so
    the test data's clean pages between bad ones go in one pass)."""
    if not request.param:
        monkeypatch.setattr(_Tries, "now", lambda self: True)
    return bool(request.param)


@pytest.mark.parametrize("bad", [False, True], ids=["clean", "bad-records"])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_both_routes_store_the_same_from_the_start_and_from_every_cursor(fmt: str, bad: bool,
                                                                         backing_off: bool) -> None:
    fast, slow = adapter(fmt, bad, one_pass=True), adapter(fmt, bad, one_pass=False)
    assert fast.compiled[StreamName.APPLICATIONS].one_pass is not None, "the spec compiles to one pass"
    pages = read(fast, None)
    assert stored(pages) == stored(read(slow, None))
    assert sum(len(p.records) for p in pages) > RECORDS / 2
    one_pass = [isinstance(p.records, CanonicalRecords) for p in pages if p.records]
    if bad:
        if backing_off:
            assert one_pass[0] is False and not all(one_pass[1:3]), "after a failed try, the next pages go item by item"
        else:
            assert any(one_pass) and not all(one_pass), "clean pages in one pass, those with bad records item by item"
            assert any(isinstance(p.records, CanonicalRecords) and p.rejects for p in pages), \
                "the record check rejects from a page read in one pass"
        reasons = " | ".join(j.reason for p in pages for j in p.rejects)
        for expected in ("NIK", "impossible dates", "unknown agency status code", "record without an id",
                         "is missing", "ValueError"):
            assert expected in reasons
    else:
        assert all(one_pass)
    seen = [p.cursor for p in pages if p.cursor and p.cursor.get("seen")]
    assert seen, "some cursors stand inside a second"
    for page in pages:
        assert stored(read(fast, page.cursor)) == stored(read(slow, page.cursor))


def test_a_read_backs_off_the_one_pass_tries_after_a_page_that_failed() -> None:
    tries = _Tries()
    pattern = []
    for passes in [False] * 7 + [True] * 5:  # an agency whose pages fail their try, then pass again
        tried = tries.now()
        pattern.append(tried)
        if tried:
            tries.passed() if passes else tries.failed()
    # Tried, then 1, 2 and 4 pages item by item between tries; once a try passes, every page is tried again.
    assert pattern == [True, False, True, False, False, True, False, False, False, False, True, True]


def test_the_one_pass_records_are_the_engines_records() -> None:
    """On a clean page the one-pass records equal the item-by-item records as the engine validates them, including
    the keys of fields that took their default."""
    fast, slow = read(adapter("csv", False, True), None)[0], read(adapter("csv", False, False), None)[0]
    assert isinstance(fast.records, CanonicalRecords) and not isinstance(slow.records, CanonicalRecords)
    validated = [r for _, r in validate_page(Application, slow.records, "application_id")[0]]
    assert list(fast.records) == validated
    assert validated[0]["sla_due_date"] is None and validated[0]["output_document"] == "TANPA-NOMOR"


def _changed(fmt: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = spec(fmt)
    change(doc["streams"]["applications"])
    return doc


def _field(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda stream: stream["fields"].__setitem__(name, value)


@pytest.mark.parametrize(("why", "change"), [
    ("a full stream", lambda s: (s.pop("incremental"), s.update(mode="full"))),
    ("the id is another field", _field("application_id", "layanan.kode")),
    ("the id has a default", _field("application_id", {"from": "no", "default": "X"})),
    ("times compared as text", _field("status_at", "status.waktu")),
    ("a field the model lacks", _field("catatan_lain", "catatan")),
    ("a required field left out", lambda s: s["fields"].pop("service_code")),
    ("the update time mapped as a field", _field("source_updated_at", {"from": "diubah", "as": "datetime"})),
    ("a converter reading the whole item", _field("revision_note", {"from": "catatan", "as": "describe:x",
                                                                    "default": ""})),
    ("a path through an attribute of a value", _field("output_document", {"from": "dokumen.upper",
                                                                          "default": None})),
])
def test_a_spec_the_validator_cannot_follow_exactly_reads_item_by_item(why: str, change: Any) -> None:
    doc = _changed("json", change)
    doc["vocabulary"] = {"version": 1}
    built = adapter("json", False, one_pass=True, doc=doc)
    assert built.compiled[StreamName.APPLICATIONS].one_pass is None, why


# --- the Jawa Tengah mock, read both ways under its record faults -----------------------------------------------

JATENG = ROOT / "adapters" / "jateng" / "spec.yaml"
ADMIN = {"X-Admin-Token": "mock-admin"}


@pytest.fixture(scope="module")
def provinsi() -> Iterator[str]:
    with MockAgencies(seed=9, citizens=200, applications=420) as mocks:
        yield mocks.urls["provinsi"]


def test_the_shipped_specs_compile_to_one_pass() -> None:
    for path in (JATENG, ROOT / "adapters" / "tax" / "spec.yaml"):
        doc = yaml.safe_load(path.read_text("utf-8"))
        assert "applications" in doc["streams"]
        instance = AgencyInstance(id="x", adapter="rest", name="X", level="provinsi",
                                  config={"base_url": "http://agency", "spec_file": str(path)})
        built = RestAdapter.from_instance(instance, {"login": "u", "password": "p"})
        assert built.compiled[StreamName.APPLICATIONS].one_pass is not None, path.parent.name


@pytest.mark.parametrize("profile", ["none", "malformed", "duplicates", "out_of_order"])
def test_the_jateng_mock_reads_the_same_both_ways(provinsi: str, profile: str) -> None:
    rate = {"none": None, "malformed": 0.02, "duplicates": 0.05, "out_of_order": 0.05}[profile]
    requests.post(provinsi + "/admin/faults", json={"profile": profile, "rate": rate}, headers=ADMIN,
                  timeout=10).raise_for_status()
    try:
        instance = AgencyInstance(id="kit-jateng", adapter="rest", name="Jawa Tengah", level="provinsi",
                                  page_size=40, timeout_seconds=5, config={"base_url": provinsi,
                                                                           "spec_file": str(JATENG)})
        connection = {"login": "mpp-bus", "password": "jateng-rahasia"}
        with RestAdapter.from_instance(instance, connection) as fast, \
                RestAdapter.from_instance(instance, connection) as slow:
            slow.compiled[StreamName.APPLICATIONS].one_pass = None
            pages = read(fast, None)
            assert any(isinstance(p.records, CanonicalRecords) for p in pages)
            assert stored(pages) == stored(read(slow, None))
            for page in pages[:: max(1, len(pages) // 4)]:
                assert stored(read(fast, page.cursor)) == stored(read(slow, page.cursor))
    finally:
        requests.post(provinsi + "/admin/faults", json={"profile": "none"}, headers=ADMIN,
                      timeout=10).raise_for_status()
