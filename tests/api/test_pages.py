"""The citizen pages over HTTP: Indonesian text, the server-side session, and the same denials as the API.

Signing in through the real single sign-on is in ``test_sign_in.py``; here a session is opened in the store for the
caller a token names, as the callback would after checking the provider's ID token."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from mpp_bus.api.pages import SESSION_COOKIE, rupiah, sejak, tanggal
from mpp_bus.store.tables import audit_log
from tests.api.seed import BUDI, SITI


def sign_in(client, token):
    ctx = client.app.state.context
    cookie = ctx.sessions.create(ctx.tokens.principal(token), None)
    client.cookies.set(SESSION_COOKIE, cookie)
    return cookie


def test_pages_need_a_session(client):
    for path in ("/lacak",):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/masuk")
    page = client.get("/lacak")
    assert "Silakan masuk terlebih dahulu" in page.text and 'lang="id"' in page.text


def test_the_catalog_pages_are_public(client):
    listing = client.get("/layanan", params={"q": "imb"}, follow_redirects=False)
    assert listing.status_code == 200 and "Persetujuan Bangunan Gedung" in listing.text
    detail = client.get("/layanan/djp/EFIN", follow_redirects=False)
    assert detail.status_code == 200 and "Aktivasi EFIN" in detail.text


def test_sign_in_sets_an_httponly_cookie_and_shows_own_applications(client, seeded):
    cookie = sign_in(client, seeded.token("budi", nik=BUDI))
    assert BUDI not in cookie and "." not in cookie  # opaque: no NIK, no JWT
    page = client.get("/lacak")
    assert page.headers["cache-control"] == "no-store"
    assert "Lacak Permohonan" in page.text
    assert "PRM-2" in page.text and "Ditolak" in page.text and "Dibatalkan" in page.text
    assert "PRM-1" not in page.text and BUDI not in page.text
    with seeded.store.engine.connect() as conn:
        assert conn.execute(select(audit_log.c.action)).scalars().all() == ["applications.list"]


def test_an_unknown_or_ended_session_is_refused_in_indonesian(client, seeded):
    client.cookies.set(SESSION_COOKIE, seeded.token("siti", nik=SITI))  # a token is no session
    expired = client.get("/lacak", follow_redirects=False)
    assert expired.headers["location"] == "/masuk?alasan=sesi-berakhir&lanjut=%2Flacak"
    assert "Sesi Anda telah berakhir" in client.get(expired.headers["location"]).text


def test_an_admin_without_a_nik_cannot_track(client, seeded):
    sign_in(client, seeded.token("ops", roles=["admin"]))
    assert "tidak memiliki NIK" in client.get("/lacak").text


def test_catalog_page_search_filters_and_detail(client, seeded):
    sign_in(client, seeded.token("siti", nik=SITI))
    page = client.get("/layanan", params={"q": "pajak", "kanal": "mobile"})
    assert "1 layanan ditemukan" in page.text and "Pendaftaran NPWP Orang Pribadi" in page.text
    bad = client.get("/layanan", params={"wilayah": "Atlantis"})
    assert "Wilayah tidak dikenal" in bad.text and "4 layanan ditemukan" in bad.text
    by_name = client.get("/layanan", params={"wilayah": "Sragen"})  # a name is resolved to its code (33.14)
    assert "3 layanan ditemukan" in by_name.text and "Aktivasi EFIN" not in by_name.text
    assert '<option value="Kabupaten Sragen">33.14</option>' in by_name.text
    detail = client.get("/layanan/dpmptsp-3314/SIP")
    assert "Surat Tanda Registrasi" in detail.text and "5 hari kerja" in detail.text
    missing = client.get("/layanan/dpmptsp-3314/TIDAK-ADA")
    assert missing.status_code == 404 and "Layanan tidak ditemukan" in missing.text


def test_indonesian_formatting():
    moment = datetime(2025, 7, 5, 7, 30, tzinfo=UTC)
    assert tanggal(moment) == "5 Juli 2025 14.30 WIB"
    assert tanggal(moment, with_time=False) == "5 Juli 2025"
    assert sejak(moment, datetime(2025, 7, 5, 10, 31, tzinfo=UTC)) == "3 jam yang lalu"
    assert sejak(None, moment) == "belum pernah"
    assert rupiah(0) == "Gratis" and rupiah(1500000) == "Rp1.500.000"
