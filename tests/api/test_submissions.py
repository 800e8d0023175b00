"""Applying once through the API: requirements already held, uploads checked by content, idempotent submissions
validated before they are accepted, a citizen's own submissions only, and an audit log without the clear NIK."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mpp_bus.api import build_context, create_app
from mpp_bus.api.auth import issue_token
from mpp_bus.canonical import Level
from mpp_bus.contract import FormSchemas, StreamName
from mpp_bus.engine import SyncEngine
from mpp_bus.engine.outbox import Outbox
from mpp_bus.engine.uploads import UploadStore, sanitise_filename
from mpp_bus.errors import ConfigError
from mpp_bus.privacy import Sealer
from mpp_bus.store import SubmissionState
from tests.api.seed import BUDI, SITI, T0, ScriptedAgency, Seeded, application, service

FORMS = Path(__file__).resolve().parents[2] / "adapters" / "licensing" / "forms"
IUMK_SCHEMA: dict[str, Any] = json.loads((FORMS / "IUMK.json").read_text(encoding="utf-8"))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
FORM = {"nama_usaha": "Warung Sari Rasa", "alamat_usaha": "Jl. Raya Sukowati No. 12, Sragen", "modal_usaha": 15000000}


@pytest.fixture
def held(seeded: Seeded) -> Seeded:
    """Siti holds a NIB from a completed application at OSS; a regional office takes IUMK applications needing it."""
    engine = SyncEngine(seeded.store, seeded.hasher)
    oss = ScriptedAgency.of("oss", "OSS RBA", Level.PUSAT, None)
    oss.records[StreamName.CATALOG] = [{**service("oss", "NIB", "Nomor Induk Berusaha", "perizinan_usaha", ["KTP_EL"],
                                                  ["electronic"], []), "output_document": "NIB"}]
    oss.records[StreamName.APPLICATIONS] = [{**application("oss", "OSS-1", "NIB", SITI, "completed", T0, T0, None),
                                             "output_document": "9120000000001"}]
    office = ScriptedAgency.of("dpmptsp-3301", "DPMPTSP Kabupaten Cilacap", Level.KABUPATEN_KOTA, "33.01")
    office.records[StreamName.CATALOG] = [service("dpmptsp-3301", "IUMK", "Izin Usaha Mikro Kecil", "perizinan_usaha",
                                                  ["NIB", "SURAT_PENGANTAR_RT_RW"], ["electronic"], [])]
    for agency in (oss, office):
        engine.sync(agency, StreamName.CATALOG)
    engine.sync(oss, StreamName.APPLICATIONS)
    return seeded


def forms(agency_id: str, service_code: str) -> dict[str, Any] | None:
    return IUMK_SCHEMA if (agency_id, service_code) == ("dpmptsp-3301", "IUMK") else None


@pytest.fixture
def client(held: Seeded, tmp_path: Path) -> Iterator[TestClient]:
    ctx = build_context(held.store, held.settings, environment="test", hasher=held.hasher,
                        outbox=Outbox(held.store, held.hasher, Sealer(b"k" * 32)),
                        uploads=UploadStore(tmp_path / "uploads", max_bytes=64 * 1024), forms=forms)
    with TestClient(create_app(ctx)) as c:
        yield c


def upload(client: TestClient, held: Seeded, data: bytes, name: str = "pengantar.pdf", nik: str = SITI) -> Any:
    return client.post("/api/v1/me/uploads/SURAT_PENGANTAR_RT_RW", params={"filename": name}, content=data,
                       headers={**held.headers("c-1", nik=nik), "Content-Type": "application/octet-stream"})


def submit(client: TestClient, held: Seeded, key: str, *, form: dict[str, Any] | None = None,
           uploads: list[dict[str, Any]] | None = None, nik: str = SITI) -> Any:
    body = {"form": FORM if form is None else form, "uploads": uploads or []}
    return client.post("/api/v1/me/services/dpmptsp-3301/IUMK/submissions", json=body,
                       headers={**held.headers("c-1", nik=nik), "Idempotency-Key": key})


def test_requirements_already_held_are_marked_and_the_rest_needed(client: TestClient, held: Seeded) -> None:
    response = client.get("/api/v1/me/services/dpmptsp-3301/IUMK/application-form", headers=held.headers("c-1",
                                                                                                         nik=SITI))
    assert response.status_code == 200
    body = response.json()
    by_code = {r["requirement"]: r for r in body["requirements"]}
    assert by_code["NIB"]["held"] is True
    assert by_code["NIB"]["document"]["agency"]["id"] == "oss"
    assert by_code["NIB"]["document"]["document_number"] == "9120000000001"
    assert by_code["SURAT_PENGANTAR_RT_RW"]["held"] is False
    assert body["form_schema"]["properties"]["nama_usaha"]["title"] == "Nama usaha"
    # Budi holds nothing: everything is still needed.
    other = client.get("/api/v1/me/services/dpmptsp-3301/IUMK/application-form", headers=held.headers("c-2",
                                                                                                      nik=BUDI))
    assert [r["held"] for r in other.json()["requirements"]] == [False, False]


def test_a_service_without_a_form_answers_404(client: TestClient, held: Seeded) -> None:
    response = client.get("/api/v1/me/services/djp/EFIN/application-form", headers=held.headers("c-1", nik=SITI))
    assert response.status_code == 404


def test_uploads_are_checked_by_content_and_kept_by_hash(client: TestClient, held: Seeded, tmp_path: Path) -> None:
    response = upload(client, held, PDF, "../../etc/Surat Pengantar RT;rm -rf.exe")
    assert response.status_code == 201
    body = response.json()
    assert body["content_hash"] == hashlib.sha256(PDF).hexdigest()
    assert body["media_type"] == "application/pdf"
    assert body["filename"] == "Surat_Pengantar_RT_rm_-rf.pdf"
    folder = tmp_path / "uploads"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert (folder / body["content_hash"]).read_bytes() == PDF
    assert upload(client, held, PNG, "foto.pdf").json()["media_type"] == "image/png"
    # A PDF by name that is not one by content, and an executable, are refused in Indonesian.
    for data in (b"MZ\x90\x00 not a document", b"<html>halo</html>"):
        refused = upload(client, held, data, "surat.pdf")
        assert refused.status_code == 415
        assert "PDF, JPEG atau PNG" in refused.text
    assert upload(client, held, b"%PDF-" + b"0" * (64 * 1024)).status_code == 413


def test_names_are_sanitised() -> None:
    assert sanitise_filename("C:\\Users\\siti\\KTP Siti.jpeg", ".jpg") == "KTP_Siti.jpg"
    assert sanitise_filename("", ".pdf") == "dokumen.pdf"
    assert sanitise_filename("....", ".png") == "dokumen.png"
    assert sanitise_filename("Ñama dé\u202eusaha.pdf", ".pdf") == "Nama_deusaha.pdf"
    assert len(sanitise_filename("a" * 500, ".pdf")) <= 100


def test_a_retried_post_returns_the_same_submission(client: TestClient, held: Seeded) -> None:
    stored = upload(client, held, PDF).json()
    uploads = [{"requirement": "SURAT_PENGANTAR_RT_RW", "content_hash": stored["content_hash"]}]
    first = submit(client, held, "key-1", uploads=uploads)
    assert first.status_code == 201, first.text
    again = submit(client, held, "key-1", uploads=uploads)
    assert again.status_code == 200
    assert again.json()["reference"] == first.json()["reference"]
    body = first.json()
    assert body["state"] == "accepted" and body["state_label"] == "diterima"
    assert body["applicant_nik_masked"] != SITI and SITI not in first.text
    kinds = {(a["kind"], a["requirement"]) for a in body["attachments"]}
    # The NIB is attached by reference (held from OSS); only the missing letter was uploaded.
    assert kinds == {("document", "NIB"), ("upload", "SURAT_PENGANTAR_RT_RW")}
    assert len(held.store.citizen_submissions(held.hasher.hash(SITI))) == 1
    # The same key for another form is a conflict, not a second submission.
    assert submit(client, held, "key-1", form={**FORM, "modal_usaha": 1}).status_code == 409


def test_an_invalid_form_is_refused_before_it_is_accepted(client: TestClient, held: Seeded) -> None:
    response = submit(client, held, "key-2", form={"nama_usaha": "W", "modal_usaha": "banyak"})
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors["alamat_usaha"] == "wajib diisi"
    assert "terlalu pendek" in errors["nama_usaha"]
    assert "jenis isian tidak sesuai" in errors["modal_usaha"]
    assert held.store.citizen_submissions(held.hasher.hash(SITI)) == []
    missing = submit(client, held, "key-3", uploads=[{"requirement": "SURAT_PENGANTAR_RT_RW",
                                                      "content_hash": "0" * 64}])
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["message"] == "berkas belum diunggah"
    assert submit(client, held, "", form=FORM).status_code == 422


def test_a_citizen_reads_only_their_own_submissions(client: TestClient, held: Seeded) -> None:
    reference = submit(client, held, "key-4").json()["reference"]
    mine = client.get(f"/api/v1/me/submissions/{reference}", headers=held.headers("c-1", nik=SITI))
    assert mine.status_code == 200 and mine.json()["state_label"] == "diterima"
    theirs = client.get(f"/api/v1/me/submissions/{reference}", headers=held.headers("c-2", nik=BUDI))
    assert theirs.status_code == 404
    assert client.get("/api/v1/me/submissions/MPP-NONE", headers=held.headers("c-2", nik=BUDI)).status_code == 404
    listed = client.get("/api/v1/me/submissions", headers=held.headers("c-1", nik=SITI)).json()
    assert [s["reference"] for s in listed] == [reference]
    assert client.get("/api/v1/me/submissions", headers=held.headers("c-2", nik=BUDI)).json() == []


def test_the_refusal_reason_reaches_the_citizen(client: TestClient, held: Seeded) -> None:
    reference = submit(client, held, "key-5").json()["reference"]
    record = held.store.submission_by_reference(reference)
    assert record is not None
    sending = held.store.move_submission(record, SubmissionState.SENDING, now=T0, attempts=1)
    assert sending is not None
    held.store.move_submission(sending, SubmissionState.REFUSED, now=T0,
                               refusal_reason="NIB tidak aktif; perbarui data usaha di OSS")
    body = client.get(f"/api/v1/me/submissions/{reference}", headers=held.headers("c-1", nik=SITI)).json()
    assert body["state_label"] == "ditolak"
    assert body["refusal_reason"] == "NIB tidak aktif; perbarui data usaha di OSS"


def test_every_submission_and_attempt_is_audited_without_the_clear_nik(client: TestClient, held: Seeded) -> None:
    reference = submit(client, held, "key-6").json()["reference"]
    record = held.store.submission_by_reference(reference)
    assert record is not None
    held.store.move_submission(record, SubmissionState.SENDING, now=T0, attempts=1)
    client.get(f"/api/v1/me/submissions/{reference}", headers=held.headers("c-1", nik=SITI))
    entries = held.store.audit_entries(limit=500, subject_nik_hash=held.hasher.hash(SITI))
    actions = [e.action for e in entries]
    assert "submission.accepted" in actions and "submission.sending" in actions
    assert "submissions.read" in actions
    everything = repr(held.store.audit_entries(limit=1000))
    assert SITI not in everything and BUDI not in everything


def test_the_form_is_pre_filled_from_the_token_and_the_documents_held(client: TestClient, held: Seeded) -> None:
    def form_of(nik: str, profile: dict[str, str]) -> dict[str, Any]:
        token = issue_token(held.settings, "test", subject="c-1", nik=nik, profile=profile)
        response = client.get("/api/v1/me/services/dpmptsp-3301/IUMK/application-form",
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]

    siti = form_of(SITI, {"name": "Siti Aminah", "birthdate": "1990-05-05"})
    assert siti["prefill"] == {"nama_pemilik": "Siti Aminah", "nomor_nib": "9120000000001"}
    assert siti["form_schema"]["properties"]["nomor_nib"]["x-prefill"] == "document.NIB"
    # Budi holds no NIB, and his sign-on asserted no name: nothing to pre-fill, and never a NIK.
    budi = form_of(BUDI, {})
    assert budi["prefill"] == {}
    assert SITI not in json.dumps(siti) and BUDI not in json.dumps(budi)


def test_an_unknown_prefill_source_is_refused_with_the_known_ones() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "string", "x-prefill": "identity.nik"}}}
    with pytest.raises(ConfigError, match=r"unknown 'x-prefill' source 'identity.nik'; known sources: identity.name"):
        FormSchemas({"X": schema})
