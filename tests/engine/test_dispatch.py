"""The write direction end to end: submissions accepted into the outbox, delivered through the adapters to the real
mock agencies exactly once (Idempotency-Key at licensing, look-up before resend at tax, request id at Dukcapil),
shown at once as applications, taken over by the next sync without a second row, and purged of personal data."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from mock_agencies import MockAgencies
from mpp_bus.bus import Bus
from mpp_bus.config import Settings, parse_agencies
from mpp_bus.contract import UploadedFile
from mpp_bus.engine.dispatch import Dispatcher, RetryPlan
from mpp_bus.engine.outbox import SubmissionRequest
from mpp_bus.errors import IdempotencyConflictError, InvalidSubmissionError
from mpp_bus.privacy import NikHasher, Sealer
from mpp_bus.store import SubmissionState

ADMIN = {"X-Admin-Token": "mock-admin"}
SECRET = "dispatch-test-secret-of-32-bytes!!"
KEY = "Zm9yLXRlc3RzLW9ubHktb3V0Ym94LWtleS0zMi1ieXQ="  # base64 of 32 bytes, tests only
CONNECTIONS: dict[str, dict[str, Any]] = {
    "mpp_dukcapil": {"login": "mpp-bus", "password": "dukcapil-rahasia"},
    "mpp_licensing": {"login": "mpp-bus", "password": "oss-rahasia"},
    "mpp_tax": {"password": "djp-rahasia"},
}
FAST_RETRY = {"attempts": 3, "max_seconds": 10, "initial_wait": 0.01, "max_wait": 0.05, "jitter": 0.01}
# agency id -> (mock server, dataset, service, a valid form)
FORMS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "dpmptsp-3314": ("licensing", "dpmptsp-3314", "IUMK",
                     {"nama_usaha": "Warung Makan Sari Rasa", "alamat_usaha": "Jl. Raya Sukowati No. 12, Sragen",
                      "modal_usaha": 25_000_000}),
    "djp": ("tax", "tax", "NPWP-01", {"jenis_wajib_pajak": "orang_pribadi", "alamat": "Jl. Merdeka No. 5, Sragen"}),
    "dukcapil": ("dukcapil", "dukcapil", "KK-UBAH",
                 {"jenis_perubahan": "TAMBAH_ANGGOTA", "keterangan": "Kelahiran anak kedua"}),
}


def agencies_doc(urls: Mapping[str, str]) -> dict[str, Any]:
    return {
        "defaults": {"page_size": 100, "timeout_seconds": 5, "retry": FAST_RETRY},
        "agencies": [
            {"id": "dukcapil", "adapter": "dukcapil", "name": "Dukcapil", "level": "pusat",
             "connection_id": "mpp_dukcapil", "config": {"wsdl_url": f"{urls['dukcapil']}/ws/dukcapil?wsdl"}},
            {"id": "dpmptsp-3314", "adapter": "licensing", "name": "DPMPTSP Kabupaten Sragen",
             "level": "kabupaten_kota", "region_code": "33.14", "connection_id": "mpp_licensing",
             "config": {"base_url": urls["licensing"], "tenant": "dpmptsp-3314"}},
            {"id": "djp", "adapter": "tax", "name": "DJP", "level": "pusat", "connection_id": "mpp_tax",
             "config": {"base_url": urls["tax"]}},
        ],
    }


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockAgencies]:
    with MockAgencies(seed=11, citizens=200, applications=150) as running:
        yield running


@pytest.fixture
def bus(mocks: MockAgencies, db_url: str) -> Iterator[Bus]:
    settings = Settings(database_url=db_url, environment="test", nik_hmac_secret=SECRET, outbox_key=KEY)
    bus = Bus(settings, parse_agencies(agencies_doc(mocks.urls)), CONNECTIONS.get)
    bus.store.upgrade()
    yield bus
    for url in mocks.urls.values():
        requests.post(f"{url}/admin/faults", json={"profile": "none"}, headers=ADMIN, timeout=5)
    bus.store.dispose()


@pytest.fixture(scope="module")
def niks(mocks: MockAgencies) -> list[str]:
    response = requests.get(f"{mocks.urls['dukcapil']}/admin/citizens", params={"start": 0, "limit": 50},
                            headers=ADMIN, timeout=5)
    response.raise_for_status()
    return [c["nik"] for c in response.json()["citizens"]]


def received(mocks: MockAgencies, agency_id: str) -> list[dict[str, Any]]:
    server, dataset, _, _ = FORMS[agency_id]
    response = requests.get(f"{mocks.urls[server]}/admin/submissions", params={"dataset": dataset}, headers=ADMIN,
                            timeout=5)
    response.raise_for_status()
    return response.json()["received"]  # type: ignore[no-any-return]


def created_per_reference(mocks: MockAgencies, agency_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in received(mocks, agency_id):
        if entry["outcome"] == "created":
            counts[entry["reference"]] = counts.get(entry["reference"], 0) + 1
    return counts


def request(agency_id: str, nik: str, **form: Any) -> SubmissionRequest:
    _, _, service, valid = FORMS[agency_id]
    return SubmissionRequest(agency_id, service, uuid.uuid4().hex, nik, {**valid, **form})


def accept(bus: Bus, req: SubmissionRequest) -> str:
    with bus.adapter(req.agency_id) as adapter:
        schema = adapter.form_schema(req.service_code)
    record, created = bus.outbox.accept(req, schema=schema)
    assert created
    return record.reference


def drain(bus: Bus, agency_id: str, dispatcher: Dispatcher, rounds: int = 60) -> None:
    """Dispatch until nothing of the agency waits, ignoring backoff times (the clock is moved forward)."""
    for n in range(rounds):
        with bus.adapter(agency_id) as adapter:
            dispatcher.clock = lambda n=n: bus.dispatcher.clock() + timedelta(hours=n)  # type: ignore[misc]
            dispatcher.dispatch(adapter, breaker=None)
        if not bus.store.agencies_waiting().get(agency_id):
            return
    raise AssertionError(f"{agency_id}: submissions still waiting after {rounds} rounds")


@pytest.mark.parametrize("agency_id", list(FORMS))
def test_delivered_once_shown_at_once_and_taken_over_by_the_next_sync(bus: Bus, mocks: MockAgencies,
                                                                       niks: list[str], agency_id: str) -> None:
    references = [accept(bus, request(agency_id, nik)) for nik in niks[:3]]
    result = bus.dispatch(agency_id)
    assert (result.delivered, result.retrying, result.refused) == (3, 0, 0)
    hasher = NikHasher(SECRET.encode())
    for reference, nik in zip(references, niks[:3], strict=True):
        record = bus.store.submission_by_reference(reference)
        assert record is not None and record.state is SubmissionState.DELIVERED and record.sealed is None
        assert record.application_id
        tracked = {(a.agency_id, a.application_id): a for a in bus.store.citizen_applications(hasher.hash(nik))}
        assert tracked[(agency_id, record.application_id)].status == "submitted"
    assert all(created_per_reference(mocks, agency_id).get(r) == 1 for r in references)
    assert bus.store.sealed_finished_submissions() == 0
    # the next sync takes the new applications over: no second row for any of them
    before = bus.store.content_counts().applications
    bus.sync(agency_id, "applications")
    for nik in niks[:3]:
        ids = [a.application_id for a in bus.store.citizen_applications(hasher.hash(nik)) if a.agency_id == agency_id]
        assert len(ids) == len(set(ids))
    assert bus.store.content_counts().applications >= before


def test_a_replayed_accept_makes_one_submission_and_another_body_conflicts(bus: Bus, niks: list[str]) -> None:
    req = request("dpmptsp-3314", niks[5])
    first, created = bus.outbox.accept(req)
    again, created_again = bus.outbox.accept(req)
    assert created and not created_again and first.reference == again.reference
    with pytest.raises(IdempotencyConflictError):
        bus.outbox.accept(request("dpmptsp-3314", niks[5], nama_usaha="Toko Lain Sekali").__class__(
            req.agency_id, req.service_code, req.client_key, req.applicant_nik, {**req.form, "modal_usaha": 1}))


def test_an_invalid_form_is_refused_before_it_is_accepted(bus: Bus, niks: list[str]) -> None:
    with bus.adapter("dpmptsp-3314") as adapter:
        schema = adapter.form_schema("IUMK")
    with pytest.raises(InvalidSubmissionError) as caught:
        bus.outbox.accept(request("dpmptsp-3314", niks[6], nama_usaha="", modal_usaha="banyak"), schema=schema)
    fields = dict(caught.value.problems)
    assert fields["nama_usaha"] == "Nama usaha: terlalu pendek"
    assert "modal_usaha" in fields
    assert niks[6] not in str(caught.value)
    assert bus.store.agencies_waiting() == {}


def test_the_agencys_refusal_is_kept_with_its_reason_in_indonesian(bus: Bus, niks: list[str]) -> None:
    reference = accept(bus, request("dpmptsp-3314", niks[7], modal_usaha=9_000_000_000))
    result = bus.dispatch("dpmptsp-3314")
    assert result.refused == 1
    record = bus.store.submission_by_reference(reference)
    assert record is not None and record.state is SubmissionState.REFUSED and record.sealed is None
    assert record.refusal_reason is not None and "Modal usaha melebihi batas" in record.refusal_reason


@pytest.mark.parametrize("agency_id", list(FORMS))
@pytest.mark.parametrize("profile", ["drop", "flaky", "rate_limit", "truncated"])
def test_faults_leave_submissions_retrying_never_doubled(bus: Bus, mocks: MockAgencies, niks: list[str],
                                                         agency_id: str, profile: str) -> None:
    server = FORMS[agency_id][0]
    requests.post(f"{mocks.urls[server]}/admin/faults", json={"profile": profile, "rate": 0.5}, headers=ADMIN,
                  timeout=5).raise_for_status()
    references = [accept(bus, request(agency_id, nik)) for nik in niks[10:16]]
    dispatcher = Dispatcher(bus.store, NikHasher(SECRET.encode()), Sealer(bus.settings.outbox_key_bytes()),
                            plan=RetryPlan(initial_wait=0.01, max_wait=0.02, jitter=0.0, max_attempts=100))
    drain(bus, agency_id, dispatcher)
    counts = created_per_reference(mocks, agency_id)
    for reference in references:
        record = bus.store.submission_by_reference(reference)
        assert record is not None and record.state is SubmissionState.DELIVERED, record
        assert counts.get(reference) == 1, (reference, counts.get(reference))


def test_a_dispatcher_killed_after_the_agency_answered_resends_safely(bus: Bus, mocks: MockAgencies,
                                                                      niks: list[str]) -> None:
    """The receipt is lost with the process: the row stays in `sending`; the next dispatcher looks the tax
    submission up by its reference instead of creating a second application."""
    reference = accept(bus, request("djp", niks[20]))

    class Killed(BaseException):
        pass

    def die(*args: Any, **kwargs: Any) -> None:
        raise Killed

    dispatcher = bus.dispatcher
    dispatcher._delivered = die  # type: ignore[method-assign]
    with pytest.raises(Killed), bus.adapter("djp") as adapter:
        dispatcher.dispatch(adapter)
    del dispatcher._delivered
    record = bus.store.submission_by_reference(reference)
    assert record is not None and record.state is SubmissionState.SENDING and record.attempts == 1
    bus.store.lock("djp", "dispatch").release()  # the killed process's lock (a live pid here) is gone with it
    result = bus.dispatch("djp")
    assert (result.delivered, result.found_by_lookup) == (1, 1)
    assert created_per_reference(mocks, "djp")[reference] == 1


def other_bus(mocks: MockAgencies, db_url: str, *, tenant: str = "dpmptsp-3314",
              connections: Mapping[str, dict[str, Any]] = CONNECTIONS) -> Bus:
    doc = agencies_doc(mocks.urls)
    doc["agencies"][1]["config"]["tenant"] = tenant
    settings = Settings(database_url=db_url, environment="test", nik_hmac_secret=SECRET, outbox_key=KEY)
    return Bus(settings, parse_agencies(doc), connections.get)


def test_refused_credentials_stop_the_agency_and_keep_its_submissions_waiting(bus: Bus, mocks: MockAgencies,
                                                                             niks: list[str], db_url: str) -> None:
    """An admin fixes credentials; no submission is at fault, so none dies or uses up an attempt meanwhile."""
    references = [accept(bus, request("dpmptsp-3314", nik)) for nik in niks[30:33]]
    wrong = other_bus(mocks, db_url, connections={**CONNECTIONS, "mpp_licensing": {"login": "mpp-bus",
                                                                                   "password": "salah"}})
    try:
        result = wrong.dispatch("dpmptsp-3314")
    finally:
        wrong.store.dispose()
    assert result.stopped is not None and "credentials" in result.stopped
    assert (result.attempts, result.retrying, result.dead) == (1, 1, 0)  # stopped at the first, not each in turn
    records = [bus.store.submission_by_reference(r) for r in references]
    assert all(r is not None and r.attempts == 0 and r.sealed is not None and not r.in_doubt for r in records)
    assert [r.state for r in records if r is not None].count(SubmissionState.RETRYING) == 1
    assert all(created_per_reference(mocks, "dpmptsp-3314").get(r) is None for r in references)
    # credentials fixed: everything goes through
    drain(bus, "dpmptsp-3314", Dispatcher(bus.store, NikHasher(SECRET.encode()),
                                          Sealer(bus.settings.outbox_key_bytes())))
    counts = created_per_reference(mocks, "dpmptsp-3314")
    assert all(counts.get(r) == 1 for r in references)


def test_an_error_resending_cannot_change_makes_the_submission_dead_at_once_with_its_reason(
    bus: Bus, mocks: MockAgencies, niks: list[str], db_url: str
) -> None:
    """A 4xx that is not the agency's refusal (here: an office the agency does not know) would fail the same way
    for days: the admin and the citizen see it dead at once, with why."""
    reference = accept(bus, request("dpmptsp-3314", niks[34]))
    misconfigured = other_bus(mocks, db_url, tenant="dpmptsp-9999")
    try:
        result = misconfigured.dispatch("dpmptsp-3314")
    finally:
        misconfigured.store.dispose()
    assert (result.attempts, result.dead, result.retrying) == (1, 1, 0)
    record = bus.store.submission_by_reference(reference)
    assert record is not None and record.state is SubmissionState.DEAD and record.sealed is None
    assert record.last_error is not None and record.last_error.startswith("the agency cannot take this submission")
    assert "HTTP 404" in record.last_error and niks[34] not in record.last_error


def test_uploads_without_an_upload_store_stop_the_dispatch_and_use_up_nothing(bus: Bus, niks: list[str]) -> None:
    req = request("dpmptsp-3314", niks[35])
    upload = UploadedFile("SURAT_KETERANGAN", "ab" * 32, "application/pdf", "surat.pdf")
    record, _ = bus.outbox.accept(SubmissionRequest(req.agency_id, req.service_code, req.client_key,
                                                    req.applicant_nik, req.form, uploads=(upload,)))
    result = bus.dispatch("dpmptsp-3314")
    assert result.stopped is not None and "upload store" in result.stopped and result.attempts == 0
    after = bus.store.submission_by_reference(record.reference)
    assert after is not None and (after.state, after.attempts) == (SubmissionState.ACCEPTED, 0)


def test_licensing_receives_uploads_as_multipart_parts_with_their_bytes(mocks: MockAgencies, db_url: str,
                                                                        niks: list[str], tmp_path: Path) -> None:
    settings = Settings(database_url=db_url, environment="test", nik_hmac_secret=SECRET, outbox_key=KEY,
                        upload_dir=tmp_path / "uploads")
    bus = Bus(settings, parse_agencies(agencies_doc(mocks.urls)), CONNECTIONS.get)
    bus.store.upgrade()
    try:
        assert bus.uploads is not None
        # CR LF and NUL inside the PNG signature: a multipart body that mangled line ends would change the hash.
        png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
        pdf = b"%PDF-1.4\n" + b"\r\n%%\x00\xff" * 100 + b"%%EOF\n"
        stored = [bus.uploads.put(png, "denah lokasi.png"), bus.uploads.put(pdf, "surat.pdf")]
        req = request("dpmptsp-3314", niks[36])
        uploads = tuple(UploadedFile(requirement, s.content_hash, s.media_type, s.filename)
                        for requirement, s in zip(("DENAH_LOKASI", "SURAT_KETERANGAN"), stored, strict=True))
        record, _ = bus.outbox.accept(SubmissionRequest(req.agency_id, req.service_code, req.client_key,
                                                        req.applicant_nik, req.form, uploads=uploads))
        result = bus.dispatch("dpmptsp-3314")
        assert (result.delivered, result.retrying) == (1, 0)
        [entry] = [e for e in received(mocks, "dpmptsp-3314") if e["reference"] == record.reference]
        assert entry["outcome"] == "created"
        assert entry["files"] == [
            {"name": "DENAH_LOKASI", "filename": "denah_lokasi.png", "content_type": "image/png",
             "sha256": hashlib.sha256(png).hexdigest(), "size": len(png)},
            {"name": "SURAT_KETERANGAN", "filename": "surat.pdf", "content_type": "application/pdf",
             "sha256": hashlib.sha256(pdf).hexdigest(), "size": len(pdf)},
        ]
    finally:
        bus.store.dispose()
