"""What a citizen reads, on both stores: categories by their Indonesian labels, the agency's note of what to fix,
and no English on the citizen pages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

from mpp_bus.canonical import Category, Level
from mpp_bus.contract import StreamName
from mpp_bus.engine import SyncEngine
from tests.api.seed import SITI, T0, ScriptedAgency, application
from tests.api.test_pages import sign_in

# Words of an English UI. "Status" is left out: it is Indonesian too (KBBI), as in "Status terakhir".
ENGLISH = ("Search", "Error", "Not found", "Not Found", "Submit", "Sign in", "Sign out", "Login", "Logout",
           "Category", "Categories", "Filter", "Next", "Previous", "Details", "Service", "Application", "Request",
           "Internal Server Error", "Unprocessable", "Forbidden", "required", "invalid")
NOTE = "Foto KTP-el buram. Hubungi 0812-3456-7890 atau kirim ulang; NIK 3314015505900001 harus terbaca."


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def english_in(html: str) -> list[str]:
    text = visible_text(html)
    return [w for w in ENGLISH if re.search(rf"\b{re.escape(w)}\b", text)]


def test_categories_are_shown_by_their_indonesian_labels(client):
    categories = client.get("/api/v1/catalog/categories").json()
    assert [c["label"] for c in categories] == ["Kesehatan (1)", "Bangunan gedung dan tata ruang (1)",
                                                "Perpajakan (2)"]
    services = client.get("/api/v1/catalog/services", params={"category": "perpajakan"}).json()["items"]
    assert {s["category_label"] for s in services} == {Category.PERPAJAKAN.label}
    page = client.get("/layanan").text
    assert '<option value="perizinan_bangunan">Bangunan gedung dan tata ruang (1)</option>' in page
    assert "perizinan_bangunan" not in visible_text(page)  # the code is the option's value, never its text
    filtered = client.get("/layanan", params={"kategori": "kesehatan"}).text
    assert "Surat Izin Praktik Dokter" in filtered and "Persetujuan Bangunan Gedung" not in filtered
    assert "Bangunan gedung dan tata ruang" in client.get("/layanan/dpmptsp-3314/PBG").text


def test_a_category_outside_the_vocabulary_is_quarantined_not_stored(seeded):
    agency = ScriptedAgency.of("dpmptsp-3314", "DPMPTSP Kabupaten Sragen", Level.KABUPATEN_KOTA, "33.14")
    agency.records[StreamName.CATALOG] = [{
        "agency_id": "dpmptsp-3314", "code": "X", "name": "Izin X", "category": "business_permit",
        "sla_working_days": 1, "fee_idr": 0}]
    result = SyncEngine(seeded.store, seeded.hasher).sync(agency, StreamName.CATALOG)
    assert result.quarantined == 1 and result.stored == 0


def _needs_revision(seeded, note: str | None, status: str = "needs_revision", days: int = 1) -> None:
    djp = ScriptedAgency.of("djp", "Direktorat Jenderal Pajak", Level.PUSAT, None)
    at = datetime.now(UTC) - timedelta(days=days)
    djp.records[StreamName.APPLICATIONS] = [{
        **application("djp", "DJP-1", "NPWP-OP", SITI, status, at, T0 + timedelta(days=2), date(2025, 3, 6)),
        "revision_note": note}]
    SyncEngine(seeded.store, seeded.hasher).sync(djp, StreamName.APPLICATIONS, full_refresh=True)


def test_the_revision_note_is_stored_redacted_and_shown_while_the_agency_waits(client, seeded):
    _needs_revision(seeded, NOTE)
    headers = seeded.headers("siti", nik=SITI)
    siti = {a["application_id"]: a for a in client.get("/api/v1/me/applications", headers=headers).json()}
    note = siti["DJP-1"]["revision_note"]
    assert note.startswith("Foto KTP-el buram.") and "3314015505900001" not in note and "0812" not in note
    assert "33************01" in note
    sign_in(client, seeded.token("siti", nik=SITI))
    page = client.get("/lacak").text
    assert "Yang perlu diperbaiki:" in page and "Foto KTP-el buram." in page and "3314015505900001" not in page

    _needs_revision(seeded, None, status="in_process", days=0)  # fixed and resumed: the note no longer applies
    siti = {a["application_id"]: a for a in client.get("/api/v1/me/applications", headers=headers).json()}
    assert siti["DJP-1"]["revision_note"] is None
    assert "Yang perlu diperbaiki" not in client.get("/lacak").text


def test_citizen_pages_speak_indonesian_only(client, seeded):
    _needs_revision(seeded, "Lengkapi surat permohonan.")
    pages = {path: client.get(path) for path in ("/layanan", "/layanan?q=pbg", "/layanan?wilayah=Atlantis",
                                                 "/layanan/djp/EFIN", "/layanan/djp/TIDAK-ADA", "/tidak-ada",
                                                 "/masuk")}
    sign_in(client, seeded.token("siti", nik=SITI))
    pages["/lacak"] = client.get("/lacak")
    pages["/lacak?status=needs_revision"] = client.get("/lacak", params={"status": "needs_revision"})
    assert pages["/layanan/djp/TIDAK-ADA"].status_code == 404 and pages["/tidak-ada"].status_code == 404
    for path, response in pages.items():
        assert 'lang="id"' in response.text, path
        assert english_in(response.text) == [], path
    assert "Perlu perbaikan" in visible_text(pages["/lacak"].text)
