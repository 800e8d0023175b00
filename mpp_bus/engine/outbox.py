"""Accepting a citizen's application into the outbox, and opening it again for delivery.

The portal's API calls ``Outbox.accept`` once per POST: the form is checked against the service's schema (an invalid
form is refused before it is accepted), the NIK is replaced by its keyed hash and mask, the clear NIK and the form
are sealed (AES-GCM, ``MPP_OUTBOX_KEY``), and the row is stored in one transaction keyed by the citizen and the
client's idempotency key, so a double click or a retried POST makes one submission.

Example::

    outbox = Outbox(store, NikHasher(settings.nik_secret()), Sealer(settings.outbox_key_bytes()))
    record, created = outbox.accept(SubmissionRequest("dpmptsp-3314", "IUMK", key, nik, form), schema=schema)
    print(record.reference, record.state)        # MPP-..., accepted
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mpp_bus.contract import DocumentRef, Submission, UploadedFile, form_problems
from mpp_bus.errors import InvalidSubmissionError
from mpp_bus.privacy import NikHasher, Sealer, mask, nik_problem
from mpp_bus.store import NewSubmission, Store, SubmissionRecord

MAX_KEY = 128


@dataclass(frozen=True)
class SubmissionRequest:
    """What the portal asks: deliver this form for this service of this agency, for this citizen."""

    agency_id: str
    service_code: str
    client_key: str
    applicant_nik: str = field(repr=False)
    form: Mapping[str, Any] = field(repr=False, default_factory=dict)
    documents: tuple[DocumentRef, ...] = ()
    uploads: tuple[UploadedFile, ...] = ()
    actor: str = "portal"
    actor_role: str = "citizen"


class Outbox:
    """The engine's side of the outbox: accept requests, and open stored submissions for the dispatcher."""

    def __init__(self, store: Store, hasher: NikHasher, sealer: Sealer) -> None:
        self.store = store
        self.hasher = hasher
        self.sealer = sealer

    def accept(self, request: SubmissionRequest, *, schema: Mapping[str, Any] | None = None,
               now: datetime | None = None) -> tuple[SubmissionRecord, bool]:
        """Accept ``request`` (validated against ``schema`` when given); returns the submission and whether it was
        created now (False: a replay of the same key). Raises ``InvalidSubmissionError`` with the problems, in
        Indonesian, of an invalid form or NIK, and ``IdempotencyConflictError`` for a key reused for another
        request."""
        problems: list[tuple[str, str]] = []
        if not request.client_key or len(request.client_key) > MAX_KEY:
            problems.append(("", f"kunci idempotensi wajib diisi, paling panjang {MAX_KEY} karakter"))
        if nik_problem(request.applicant_nik):
            problems.append(("nik", "NIK tidak valid"))
        if schema is not None:
            problems += [(p.field, p.message) for p in form_problems(schema, request.form)]
        if problems:
            raise InvalidSubmissionError(problems)
        nik = request.applicant_nik
        reference = f"MPP-{uuid.uuid4().hex[:24].upper()}"
        documents = [{"requirement": d.requirement, "agency_id": d.agency_id, "application_id": d.application_id,
                      "document_number": d.document_number} for d in request.documents]
        uploads = [{"requirement": u.requirement, "content_hash": u.content_hash, "media_type": u.media_type,
                    "filename": u.filename} for u in request.uploads]
        sealed = self.sealer.seal({"nik": nik, "form": dict(request.form), "documents": documents,
                                   "uploads": uploads}, context=reference)
        digest = self.sealer.digest({"agency": request.agency_id, "service": request.service_code, "nik": nik,
                                     "form": dict(request.form), "documents": documents, "uploads": uploads})
        # What is attached, without personal data: requirement codes, references and content hashes (for the
        # receipt page, which must still say what was sent after the sealed data is purged).
        attachments = ([{"kind": "document", **{k: v for k, v in d.items() if k != "document_number"}}
                        for d in documents]
                       + [{"kind": "upload", "requirement": u["requirement"], "content_hash": u["content_hash"],
                           "media_type": u["media_type"]} for u in uploads])
        new = NewSubmission(reference=reference, agency_id=request.agency_id, service_code=request.service_code,
                            client_key=request.client_key, nik_hash=self.hasher.hash(nik), nik_masked=mask(nik),
                            request_digest=digest, sealed=sealed, attachments=attachments, actor=request.actor,
                            actor_role=request.actor_role)
        return self.store.accept_submission(new, now=now)

    def open(self, record: SubmissionRecord, *, attempt: int, resend: bool) -> Submission:
        """The submission as the adapter receives it (clear NIK in memory only). ``InvalidSubmissionError`` when its
        sealed data is gone (a finished submission)."""
        if record.sealed is None:
            raise InvalidSubmissionError([("", "data pengajuan sudah dihapus")])
        data = self.sealer.open(record.sealed, context=record.reference)
        return Submission(
            agency_id=record.agency_id, service_code=record.service_code, reference=record.reference,
            applicant_nik=data["nik"], form=data["form"],
            documents=tuple(DocumentRef(**d) for d in data.get("documents", [])),
            uploads=tuple(UploadedFile(**u) for u in data.get("uploads", [])),
            attempt=attempt, resend=resend,
        )
