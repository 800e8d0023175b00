# ruff: noqa: F811  # the fixtures imported from the API tests are parameters here, as pytest means them
"""The citizen's side of applying once: the service page offers it, the form shows what is already held, errors sit
next to their field in Indonesian, the receipt shows what was sent without the NIK, and Lacak Permohonan shows the
delivery state, the agency's reason for a refusal included."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from mpp_bus.api.auth import issue_token
from mpp_bus.api.pages import SESSION_COOKIE
from mpp_bus.store import SubmissionState
from tests.api.seed import BUDI, SITI, T0, Seeded
from tests.api.test_submissions import FORM, PDF, client, held  # noqa: F401  # the fixtures of the API tests

APPLY = "/layanan/dpmptsp-3301/IUMK/ajukan"


def sign_in(client: TestClient, held: Seeded) -> None:
    ctx = client.app.state.context  # type: ignore[attr-defined]  # a FastAPI app
    token = held.token("c-1", nik=SITI)
    client.cookies.set(SESSION_COOKIE, ctx.sessions.create(ctx.tokens.principal(token), token))


def form_page(client: TestClient) -> tuple[str, dict[str, str]]:
    page = client.get(APPLY)
    assert page.status_code == 200, page.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return page.text, hidden


def test_the_service_page_offers_to_apply(client: TestClient, held: Seeded) -> None:
    assert "Masuk untuk mengajukan" in client.get("/layanan/dpmptsp-3301/IUMK").text
    assert "Ajukan Permohonan" not in client.get("/layanan/djp/EFIN").text
    sign_in(client, held)
    assert 'id="ajukan"' in client.get("/layanan/dpmptsp-3301/IUMK").text


def test_apply_shows_held_requirements_and_refuses_bad_input_next_to_the_field(client: TestClient,
                                                                               held: Seeded) -> None:
    assert client.get(APPLY, follow_redirects=False).status_code == 303
    sign_in(client, held)
    text, hidden = form_page(client)
    assert "Nama usaha" in text and "Sudah dimiliki" in text and "9120000000001" in text
    assert 'name="dokumen_SURAT_PENGANTAR_RT_RW"' in text and 'name="dokumen_NIB"' not in text
    bad = client.post(APPLY, data={**hidden, "nama_usaha": "W", "modal_usaha": "banyak"},
                      files={"dokumen_SURAT_PENGANTAR_RT_RW": ("virus.pdf", b"MZ\x90\x00", "application/pdf")})
    assert bad.status_code == 422
    assert 'id="salah-alamat_usaha">wajib diisi' in bad.text
    assert "PDF, JPEG atau PNG" in bad.text
    assert held.store.citizen_submissions(held.hasher.hash(SITI)) == []


def test_a_receipt_then_the_delivery_state_in_lacak(client: TestClient, held: Seeded) -> None:
    sign_in(client, held)
    _, hidden = form_page(client)
    data = {**hidden, **{k: str(v) for k, v in FORM.items()}}
    files = {"dokumen_SURAT_PENGANTAR_RT_RW": ("Surat RT.pdf", PDF, "application/pdf")}
    sent = client.post(APPLY, data=data, files=files, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    again = client.post(APPLY, data=data, files=files, follow_redirects=False)  # a double click
    assert again.headers["location"] == sent.headers["location"]
    receipt = client.get(sent.headers["location"])
    assert "Bukti Pengajuan" in receipt.text and "Warung Sari Rasa" in receipt.text
    assert "DPMPTSP Kabupaten Cilacap" in receipt.text and SITI not in receipt.text
    reference = sent.headers["location"].rsplit("/", 1)[1]
    record = held.store.submission_by_reference(reference)
    assert record is not None
    sending = held.store.move_submission(record, SubmissionState.SENDING, now=T0, attempts=1)
    assert sending is not None
    held.store.move_submission(sending, SubmissionState.REFUSED, now=T0,
                               refusal_reason="Alamat usaha berada di luar wilayah Kabupaten Cilacap")
    lacak = client.get("/lacak").text
    assert reference in lacak and "ditolak" in lacak
    assert "Alamat usaha berada di luar wilayah Kabupaten Cilacap" in lacak
    assert "Isian formulir sudah dihapus" in client.get(f"/pengajuan/{reference}").text


def test_the_form_page_is_pre_filled_with_the_name_and_the_nib_held(client: TestClient, held: Seeded) -> None:
    ctx = client.app.state.context  # type: ignore[attr-defined]  # a FastAPI app

    def page_of(nik: str, profile: dict[str, str]) -> str:
        token = issue_token(held.settings, "test", subject="c-1", nik=nik, profile=profile)
        client.cookies.set(SESSION_COOKIE, ctx.sessions.create(ctx.tokens.principal(token), token))
        text, _ = form_page(client)
        return text

    siti = page_of(SITI, {"name": "Siti Aminah"})
    assert 'name="nama_pemilik" type="text" value="Siti Aminah"' in siti
    assert 'name="nomor_nib" type="text" value="9120000000001"' in siti
    assert SITI not in siti  # the NIK only ever masked
    budi = page_of(BUDI, {})
    assert 'name="nama_pemilik" type="text" value=""' in budi
    assert 'name="nomor_nib" type="text" value=""' in budi
    # A pre-filled value is a default: what the citizen typed instead is what is kept on a re-shown form.
    _, hidden = form_page(client)
    bad = client.post(APPLY, data={**hidden, "nama_pemilik": "Budi S", "nomor_nib": "", "nama_usaha": "W"})
    assert bad.status_code == 422
    assert 'name="nama_pemilik" type="text" value="Budi S"' in bad.text
    assert 'name="nomor_nib" type="text" value=""' in bad.text
