"""The declarative REST adapter against a fake agency: each paginator, converters, and specs that are refused."""

from __future__ import annotations

from typing import Any

import pytest

from mpp_bus.config import AgencyInstance
from mpp_bus.contract import StreamName
from mpp_bus.declarative import RestAdapter
from mpp_bus.errors import ConfigError
from mpp_bus.testing import FunctionTransport, Reply, session_for

SERVICES = [{"kode": f"S{i}", "nama": f"Layanan {i}", "kat": "umum", "hari": i, "tgl": "01/02/2025"}
            for i in range(1, 8)]
FIELDS = {"code": "kode", "name": "nama", "category": "kat", "sla_working_days": {"from": "hari", "as": "int"},
          "fee_idr": {"from": "tarif", "as": "int", "default": 0}}


def spec(paginator: dict[str, Any] | None, records: str = "data") -> dict[str, Any]:
    stream = {"path": "/layanan", "records": records, "id": "kode", "fields": FIELDS,
              "params": {"n": "{page_size}"}}
    if paginator:
        stream["paginator"] = paginator
    return {"auth": {"type": "api_key", "header": "X-Key"}, "streams": {"catalog": stream}}


def agency(request):
    assert request.headers["X-Key"] == "k"
    page = int(request.query.get("page", request.query.get("offset", "0")) or 0)
    if "page" in request.query:
        chunk = SERVICES[(page - 1) * 3: page * 3]
        return Reply(200, {"data": chunk, "page": page, "pages": 3})
    if "offset" in request.query:
        return Reply(200, {"data": SERVICES[page: page + 3]})
    start = int(request.query.get("c", "0"))
    nxt = start + 3 if start + 3 < len(SERVICES) else None
    link = {"Link": f'<http://a/layanan?c={nxt}>; rel="next"'} if nxt else {}
    return Reply(200, {"data": SERVICES[start: start + 3], "next": nxt and f"http://a/layanan?c={nxt}",
                       "cursor": nxt and str(nxt)}, link)


def build(s: dict[str, Any], handler: Any = agency) -> RestAdapter:
    instance = AgencyInstance(id="fake", adapter="rest", name="Fake", level="pusat", page_size=3,
                              config={"base_url": "http://a", "spec": s})
    return RestAdapter.from_instance(instance, {"password": "k"}, session=session_for(FunctionTransport(handler)))


@pytest.mark.parametrize("paginator", [
    {"type": "page_number", "page_field": "page", "total_field": "pages"},
    {"type": "offset", "limit": 3},
    {"type": "cursor", "field": "cursor", "param": "c"},
    {"type": "next_url", "field": "next"},
    {"type": "link_header"},
])
def test_every_paginator_reads_every_record_once(paginator):
    pages = list(build(spec(paginator)).read(StreamName.CATALOG, None))
    codes = [r["code"] for p in pages for r in p.records]
    assert codes == [s["kode"] for s in SERVICES]
    assert pages[0].records[0] == {"agency_id": "fake", "code": "S1", "name": "Layanan 1", "category": "umum",
                                   "sla_working_days": 1, "fee_idr": 0}


@pytest.mark.parametrize(("change", "message"), [
    ({"auth": {"type": "kerberos"}}, "known auth types: api_key"),
    ({"streams": {"catalog": {**spec(None)["streams"]["catalog"], "paginator": {"type": "pages"}}}},
     "known paginators: cursor, link_header, next_url, offset, page_number"),
    ({"streams": {"catalog": {**spec(None)["streams"]["catalog"], "fields": {"code": {"from": "k", "as": "x"}}}}},
     "known converters: str, int"),
    ({"streams": {"queue": spec(None)["streams"]["catalog"]}}, "invalid REST spec"),
    ({"streams": {"catalog": {**spec(None)["streams"]["catalog"], "params": {"n": "{tenant}"}}}},
     "unknown template value"),
])
def test_bad_specs_fail_naming_what_is_known(change, message):
    with pytest.raises(ConfigError, match=message):
        adapter = build({**spec(None), **change})
        list(adapter.read(StreamName.CATALOG, None))


def test_a_record_missing_a_required_field_is_rejected_not_fatal():
    def broken(request):
        return Reply(200, {"data": [SERVICES[0], {"kode": "S9"}]})

    page, = build(spec(None), broken).read(StreamName.CATALOG, None)
    assert [r["code"] for r in page.records] == ["S1"]
    assert page.rejects[0].record_id == "S9" and "missing" in page.rejects[0].reason
