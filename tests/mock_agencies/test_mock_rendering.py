"""The fast page writer (Dataset.render) against the record-by-record one, and the layouts against their formats."""

from __future__ import annotations

import json
from email.message import Message

import pytest

from mock_agencies import dukcapil, licensing, tax
from mock_agencies.catalogs import (
    DUKCAPIL_LIFECYCLE,
    DUKCAPIL_SERVICES,
    LICENSING_LIFECYCLE,
    OSS_SERVICES,
    TAX_LIFECYCLE,
    TAX_SERVICES,
    regional_services,
)
from mock_agencies.datasets import App, Dataset, Key, Layout
from mock_agencies.dukcapil import DukcapilServer
from mock_agencies.faults import Faults
from mock_agencies.httpbase import Request
from mock_agencies.population import Population
from mock_agencies.timefmt import iso_date, rfc3339, slash_date, wib_minutes, wib_seconds

POPULATION = Population(9, 700)


def datasets(size: int) -> list[tuple[Dataset, Layout]]:
    return [
        (Dataset("oss", 9, size, POPULATION, LICENSING_LIFECYCLE, OSS_SERVICES, "OSS-"), licensing.LAYOUT),
        (Dataset("dpmptsp-3314", 9, size, POPULATION, LICENSING_LIFECYCLE,
                 regional_services("dpmptsp-3314", "KABUPATEN SRAGEN"), "3314-"), licensing.LAYOUT),
        (Dataset("tax", 9, size, POPULATION, TAX_LIFECYCLE, TAX_SERVICES, "PMH-"), tax.LAYOUT),
        (Dataset("dukcapil", 9, size, POPULATION, DUKCAPIL_LIFECYCLE, DUKCAPIL_SERVICES, "DKP"), dukcapil.LAYOUT),
    ]


def expected(data: Dataset, layout: Layout, key: Key, limit: int, offset: int = 0) -> tuple[list[str], Key | None]:
    """What render() must give, from the record objects."""
    records = data.page(key, limit + 1, offset)
    last = records[limit - 1] if len(records) > limit else None
    return [layout.write(r) for r in records[:limit]], None if last is None else (last.updated_at, last.id)


@pytest.mark.parametrize("size", [0, 1, 2, 350, 2600])
def test_render_writes_what_the_record_writer_writes_around_the_overlay(size: int) -> None:
    for data, layout in datasets(size):
        for _ in range(2):
            keys: list[Key] = [(0, None), (data.base_updated(size // 3), None), (2_000_000_500, None)]
            if size:
                keys.append((data.base_updated(size // 2), data.id_of(size // 2)))
            for key in keys:
                for limit, offset in [(1, 0), (7, 0), (1000, 0), (25, 3), (100, size // 2), (10, size + 5)]:
                    assert data.render(key, limit, layout, offset) == expected(data, layout, key, limit, offset)
            if size:  # some records advanced (several twice) for the second round
                data.advance(max(1, size // 20), clock=lambda: 2_000_000_000)
                data.advance(max(1, size // 40), clock=lambda: 2_000_000_001)
        assert not size or data.count_since(2_000_000_000) > 0  # the second round did page around an overlay


def test_render_pages_through_a_large_dataset() -> None:
    for data, layout in datasets(1_000_000)[::2]:
        for i in (0, 299, 300, 999_000, 999_990):
            key = (data.base_updated(i), None)
            assert data.render(key, 50, layout) == expected(data, layout, key, 50)


def test_the_json_layouts_write_the_record() -> None:
    for data, layout in datasets(400)[:3]:
        items, _ = data.render((0, None), 400, layout)
        for item, r in zip(items, data.page((0, None), 400), strict=True):
            assert json.loads(item) == json_fields(r, layout)


def json_fields(r: App, layout: Layout) -> dict[str, object]:
    # Both offices write what to fix beside the status that asks for a revision.
    if layout is tax.LAYOUT:
        note = {"catatan_perbaikan": tax.CATATAN_PERBAIKAN} if r.status == 25 else {}
        return {"no_permohonan": r.id, "kode_layanan": r.service.code, "npwp_or_nik": r.nik, "kode_status": r.status,
                "tgl_status": wib_minutes(r.status_at), "tgl_pengajuan": wib_minutes(r.submitted_at),
                "jatuh_tempo": slash_date(r.sla_due_day), "no_dokumen": r.document_number,
                "terakhir_diubah": wib_seconds(r.updated_at), **note}
    note = {"revision_note": licensing.REVISION_NOTE} if r.status == "REVISION_REQUIRED" else {}
    return {"id": r.id, "service_code": r.service.code, "applicant_nik": r.nik, "status": r.status,
            "status_at": rfc3339(r.status_at), "submitted_at": rfc3339(r.submitted_at),
            "sla_due_date": iso_date(r.sla_due_day), "document_number": r.document_number,
            "updated_at": rfc3339(r.updated_at), **note}


def test_the_soap_layout_writes_what_spyne_writes() -> None:
    faults = Faults(3)
    fast, slow = (DukcapilServer(3, POPULATION, 300, faults, fast=flag) for flag in (True, False))
    for server in (fast, slow):
        server.data.advance(25, clock=lambda: 1_900_000_000)
    headers = Message()
    headers["Host"] = "127.0.0.1:1"
    for since, size in [("2000-01-01T00:00:00Z", 1000), ("2025-01-03T10:00:00+07:00", 40), ("2030-01-01T00:00:00Z",
                                                                                              5)]:
        body = ENVELOPE % (f"<d:GetApplicationsChangedSince><d:Since>{since}</d:Since>"
                           f"<d:PageSize>{size}</d:PageSize></d:GetApplicationsChangedSince>")
        answers = [server.handle(Request("POST", "/ws/dukcapil", {}, headers, body.encode())) for server in
                   (fast, slow)]
        assert answers[0].status == answers[1].status == 200
        assert answers[0].body == answers[1].body


def test_a_layout_names_every_field_in_order() -> None:
    t = dukcapil.LAYOUT
    with pytest.raises(ValueError, match="fields"):
        Layout("${id}${nik}${service}${status}${status_at}${submitted_at}${sla_due}${document}${updated_at}",
               status_at=t.status_at, submitted_at=t.submitted_at, sla_due=t.sla_due, updated_at=t.updated_at,
               document=("%s", ""))
    with pytest.raises(ValueError, match="one zone"):
        Layout("${id}${service}${nik}${status}${status_at}${submitted_at}${sla_due}${document}${updated_at}",
               status_at=t.status_at, submitted_at=tax.LAYOUT.submitted_at, sla_due=t.sla_due,
               updated_at=t.updated_at, document=("%s", ""))


ENVELOPE = (
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:d="urn:mpp:mock:dukcapil:v1">'
    '<s:Header><w:Security xmlns:w="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0'
    '.xsd"><w:UsernameToken><w:Username>mpp-bus</w:Username><w:Password>dukcapil-rahasia</w:Password>'
    "</w:UsernameToken></w:Security></s:Header><s:Body>%s</s:Body></s:Envelope>"
)
