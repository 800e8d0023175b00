"""Applying once (pengajuan permohonan): a signed-in citizen's applications on their way to an agency.

The citizen asks which requirements of a service they already hold (the output documents of their completed
applications at any agency), uploads only what is missing, and posts the form with an ``Idempotency-Key`` header: the
form is checked against the service's JSON Schema before anything is accepted (422 with one message per field, in
Indonesian), held documents are attached by reference, and the submission is accepted in one transaction, so a
retried POST answers the same submission. A citizen reads only their own submissions (anyone else's answers 404).
Every acceptance and every delivery attempt is in the audit log under the NIK's keyed hash, never the clear NIK.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from mpp_bus.api.audit import Outcome
from mpp_bus.api.context import ApiContext, Citizen, Context, Purpose, bearer
from mpp_bus.api.models import AgencyName
from mpp_bus.canonical.vocabulary import Document
from mpp_bus.contract import DocumentRef, UploadedFile, prefill_sources
from mpp_bus.engine.outbox import SubmissionRequest
from mpp_bus.engine.uploads import UploadRefused, sanitise_filename
from mpp_bus.errors import IdempotencyConflictError, InvalidSubmissionError
from mpp_bus.store import RequirementState, SubmissionRecord, SubmissionState

router = APIRouter(prefix="/api/v1/me", tags=["submissions"])

UPLOAD_PATH = "/api/v1/me/uploads/"  # a prefix: one upload per requirement code
SUBMISSION_PURPOSE = "application by the data subject (pengajuan permohonan)"

STATE_LABELS: dict[SubmissionState, str] = {
    SubmissionState.ACCEPTED: "diterima",
    SubmissionState.SENDING: "sedang dikirim",
    SubmissionState.DELIVERED: "terkirim",
    SubmissionState.REFUSED: "ditolak",
    SubmissionState.RETRYING: "menunggu pengiriman ulang",
    SubmissionState.DEAD: "gagal dikirim",
}


class HeldDocumentView(BaseModel):
    agency: AgencyName
    application_id: str
    service_code: str
    service_name: str | None
    document_number: str | None
    completed_at: datetime


class RequirementView(BaseModel):
    requirement: str = Field(description="A code of the shared document vocabulary.")
    label: str = Field(description="Its name in Indonesian.")
    held: bool = Field(description="True when the citizen already holds it; it is then attached by reference.")
    document: HeldDocumentView | None = None


class ApplicationForm(BaseModel):
    """What a citizen needs to apply for a service: its form, each requirement as held or needed, and the fields
    pre-filled from what the portal already knows."""

    agency_id: str
    service_code: str
    service_name: str
    form_schema: dict[str, Any]
    requirements: list[RequirementView]
    prefill: dict[str, Any] = Field(default_factory=dict)


class UploadView(BaseModel):
    content_hash: str = Field(description="sha256 of the content, hex; name the upload by it in a submission.")
    media_type: str
    filename: str = Field(description="The name as sanitised for the agency.")
    size: int


class UploadChoice(BaseModel):
    requirement: str = Field(max_length=64)
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    filename: str | None = Field(default=None, max_length=200)


class SubmissionBody(BaseModel):
    form: dict[str, Any] = Field(default_factory=dict)
    uploads: list[UploadChoice] = Field(default_factory=list, max_length=20)


class AttachmentView(BaseModel):
    kind: str = Field(description="`document` (held, by reference) or `upload`.")
    requirement: str
    agency_id: str | None = None
    application_id: str | None = None
    content_hash: str | None = None
    media_type: str | None = None


class SubmissionView(BaseModel):
    reference: str = Field(description="The submission number (nomor pengajuan).")
    agency_id: str
    service_code: str
    applicant_nik_masked: str
    state: SubmissionState
    state_label: str = Field(description="The delivery state in Indonesian.")
    attempts: int
    created_at: datetime
    updated_at: datetime
    application_id: str | None = Field(description="The agency's application number once delivered.")
    agency_status: str | None
    accepted_by_agency_at: datetime | None
    refusal_reason: str | None = Field(description="The agency's reason, when it refused.")
    attachments: list[AttachmentView]


class FieldError(BaseModel):
    field: str
    message: str


class SubmissionErrors(BaseModel):
    detail: str
    errors: list[FieldError]


def submission_view(record: SubmissionRecord) -> SubmissionView:
    return SubmissionView(
        reference=record.reference, agency_id=record.agency_id, service_code=record.service_code,
        applicant_nik_masked=record.nik_masked, state=record.state, state_label=STATE_LABELS[record.state],
        attempts=record.attempts, created_at=record.created_at, updated_at=record.updated_at,
        application_id=record.application_id, agency_status=record.agency_status,
        accepted_by_agency_at=record.accepted_by_agency_at, refusal_reason=record.refusal_reason,
        attachments=[AttachmentView(**{k: v for k, v in a.items() if k in AttachmentView.model_fields})
                     for a in record.attachments])


def requirement_view(state: RequirementState) -> RequirementView:
    held = state.held
    document = None if held is None else HeldDocumentView(
        agency=AgencyName(id=held.agency_id, name=held.agency_name), application_id=held.application_id,
        service_code=held.service_code, service_name=held.service_name, document_number=held.document_number,
        completed_at=held.completed_at)
    try:
        label = Document(state.requirement).label
    except ValueError:
        label = state.requirement.replace("_", " ").title()
    return RequirementView(requirement=state.requirement, label=label, held=held is not None, document=document)


def _write_side(ctx: ApiContext) -> None:
    if ctx.outbox is None or ctx.forms is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this portal does not accept applications")


def service_form(ctx: ApiContext, agency_id: str, service_code: str) -> tuple[str, list[str], dict[str, Any]]:
    """The service's name, requirements and form schema; 404 when it is not in the catalog or takes no electronic
    application."""
    _write_side(ctx)
    assert ctx.forms is not None
    service = ctx.store.service_detail(agency_id, service_code)
    schema = ctx.forms(agency_id, service_code) if service is not None else None
    if service is None or schema is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such service taking electronic applications")
    return service.name, list(service.requirements), schema


def application_form(ctx: ApiContext, nik_hash: str, agency_id: str, service_code: str,
                     identity: Mapping[str, Any] | None = None) -> ApplicationForm:
    """The form of a service for one citizen (the caller audits the read), pre-filled where its schema says
    (``x-prefill``) from ``identity`` (the citizen's profile claims as the sign-on asserts them) and from the
    documents the citizen holds. Computed at each read, never stored."""
    name, requirements, schema = service_form(ctx, agency_id, service_code)
    states = ctx.store.requirement_states(nik_hash, requirements)
    sources = prefill_sources(schema)
    wanted = [s.removeprefix("document.") for s in sources.values() if s.startswith("document.")]
    numbers = {s.requirement: s.held.document_number for s in states if s.held is not None}
    missing = [code for code in dict.fromkeys(wanted) if code not in requirements]
    if missing:
        numbers.update({s.requirement: s.held.document_number
                        for s in ctx.store.requirement_states(nik_hash, missing) if s.held is not None})
    prefill: dict[str, Any] = {}
    for field, source in sources.items():
        kind, _, key = source.partition(".")
        value = (identity or {}).get(key) if kind == "identity" else numbers.get(key)
        if isinstance(value, str) and value.strip():
            prefill[field] = value.strip()
    return ApplicationForm(agency_id=agency_id, service_code=service_code, service_name=name, form_schema=schema,
                           requirements=[requirement_view(s) for s in states], prefill=prefill)


@router.get("/services/{agency_id}/{service_code}/application-form",
            summary="The form of a service for the signed-in citizen, with the requirements already held",
            tags=["submissions"],
            responses={404: {"description": "No such service taking electronic applications."}})
def my_application_form(ctx: Context, who: Citizen,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                        agency_id: str, service_code: str, purpose: Purpose = None) -> ApplicationForm:
    """Each required document as held (the output document of one of the citizen's completed applications at any
    agency, attached by reference) or still needed (to upload), and ``prefill``: the fields whose schema names an
    ``x-prefill`` source, filled from the token's profile claims (``identity.name``, ``identity.birthdate``) or
    the number of a document the citizen holds (``document.NIB``). Only a default; the citizen may change it."""
    identity = ctx.tokens.identity(credentials.credentials) if credentials is not None else {}
    form = application_form(ctx, who.nik_hash or "", agency_id, service_code, identity)
    ctx.audit_read(who, "requirements.read", f"service:{agency_id}/{service_code}"[:300],
                   subject_nik_hash=who.nik_hash, purpose=purpose or SUBMISSION_PURPOSE)
    return form


_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.post("/uploads/{requirement}", status_code=status.HTTP_201_CREATED,
             summary="Upload a document for an application",
             responses={415: {"description": "Not a PDF, JPEG or PNG by its content."},
                        413: {"description": "Larger than the upload limit."}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/pdf": _BINARY, "image/jpeg": _BINARY, "image/png": _BINARY}}})
async def upload(request: Request, ctx: Context, who: Citizen,
                 requirement: Annotated[str, Path(max_length=64, pattern=r"^[A-Z][A-Z0-9_]*$",
                                                  description="The requirement (a code of the shared document "
                                                              "vocabulary) the file is for.")],
                 filename: Annotated[str | None, Query(max_length=200, description="The file's name, as a hint "
                                                                                    "(sanitised).")] = None,
                 ) -> UploadView:
    """The raw file as the body. Its type is decided by its content (PDF, JPEG or PNG), not by its name or the
    Content-Type header; it is kept by its sha256, which names it in a submission."""
    if ctx.uploads is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this portal does not accept uploads")
    data = await request.body()
    if len(data) > ctx.uploads.max_bytes:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "berkas terlalu besar")
    try:
        stored = ctx.uploads.put(data, filename)
    except UploadRefused as exc:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(exc)) from None
    ctx.audit_read(who, "upload.stored", f"upload:{requirement}/{stored.content_hash}", subject_nik_hash=who.nik_hash,
                   purpose=SUBMISSION_PURPOSE)
    return UploadView(content_hash=stored.content_hash, media_type=stored.media_type, filename=stored.filename,
                      size=stored.size)


def accept(ctx: ApiContext, *, nik: str, nik_hash: str, actor: str, agency_id: str, service_code: str,
           form: Mapping[str, Any], uploads: list[UploadChoice], client_key: str) -> tuple[SubmissionRecord, bool]:
    """Validate and accept one submission (shared by the API and the citizen pages); ``InvalidSubmissionError``
    with the problems per field, ``IdempotencyConflictError`` for a key reused for another submission."""
    _, requirements, schema = service_form(ctx, agency_id, service_code)
    assert ctx.outbox is not None
    states = ctx.store.requirement_states(nik_hash, requirements)
    held = {s.requirement: s.held for s in states if s.held is not None}
    problems: list[tuple[str, str]] = []
    files: list[UploadedFile] = []
    for choice in uploads:
        if choice.requirement not in requirements:
            problems.append((f"uploads.{choice.requirement}", "dokumen ini tidak diminta layanan ini"))
        elif ctx.uploads is None or not ctx.uploads.exists(choice.content_hash):
            problems.append((f"uploads.{choice.requirement}", "berkas belum diunggah"))
        else:
            data = ctx.uploads.read(choice.content_hash)
            media_type, extension = ctx.uploads.check(data)
            files.append(UploadedFile(choice.requirement, choice.content_hash, media_type,
                                      sanitise_filename(choice.filename, extension)))
    if problems:
        raise InvalidSubmissionError(problems)
    documents = tuple(DocumentRef(code, h.agency_id, h.application_id, h.document_number) for code, h in held.items()
                      if code not in {f.requirement for f in files})
    request = SubmissionRequest(agency_id, service_code, client_key, nik, dict(form), documents, tuple(files),
                                actor=actor, actor_role="citizen")
    return ctx.outbox.accept(request, schema=schema, now=ctx.clock())


def _clear_nik(ctx: ApiContext, credentials: HTTPAuthorizationCredentials | None) -> str:
    nik = ctx.tokens.clear_nik(credentials.credentials) if credentials is not None else None
    if nik is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this endpoint needs a citizen's token carrying a NIK claim")
    return nik


@router.post("/services/{agency_id}/{service_code}/submissions", status_code=status.HTTP_201_CREATED,
             summary="Apply for a service",
             response_model=SubmissionView,
             responses={200: {"description": "A replay of an earlier POST with the same Idempotency-Key.",
                              "model": SubmissionView},
                        404: {"description": "No such service taking electronic applications."},
                        409: {"description": "The Idempotency-Key already names another submission."},
                        422: {"description": "The form is invalid; one message per field, in Indonesian.",
                              "model": SubmissionErrors}})
def submit(ctx: Context, who: Citizen, agency_id: str, service_code: str, body: SubmissionBody, response: Response,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
           idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=128,
                                                  description="The client's key: a retried POST with the same key "
                                                              "answers the same submission.")],
           ) -> SubmissionView | JSONResponse:
    """Accept an application in one transaction; the dispatcher then carries it to the agency. Documents the
    citizen already holds are attached by reference; ``uploads`` names the files uploaded for the others."""
    nik = _clear_nik(ctx, credentials)
    try:
        record, created = accept(ctx, nik=nik, nik_hash=who.nik_hash or "", actor=who.subject,
                                 agency_id=agency_id, service_code=service_code, form=body.form,
                                 uploads=body.uploads, client_key=idempotency_key)
    except InvalidSubmissionError as exc:
        ctx.audit_read(who, "submission.invalid", f"service:{agency_id}/{service_code}"[:300],
                       subject_nik_hash=who.nik_hash, purpose=SUBMISSION_PURPOSE, outcome=Outcome.DENIED)
        errors = SubmissionErrors(detail="isian formulir belum benar",
                                  errors=[FieldError(field=f, message=m) for f, m in exc.problems])
        return JSONResponse(errors.model_dump(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    except IdempotencyConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    return submission_view(record)


@router.get("/submissions", summary="The signed-in citizen's submissions, newest first")
def my_submissions(ctx: Context, who: Citizen, purpose: Purpose = None) -> list[SubmissionView]:
    records = ctx.store.citizen_submissions(who.nik_hash or "")
    ctx.audit_read(who, "submissions.list", f"submissions:{len(records)}", subject_nik_hash=who.nik_hash,
                   purpose=purpose or SUBMISSION_PURPOSE)
    return [submission_view(r) for r in records]


@router.get("/submissions/{reference}", summary="One of the signed-in citizen's submissions, with its delivery state",
            responses={404: {"description": "No such submission among the citizen's own."}})
def my_submission(ctx: Context, who: Citizen, reference: str, purpose: Purpose = None) -> SubmissionView:
    record = ctx.store.submission_by_reference(reference[:40])
    resource = f"submission:{reference}"[:300]
    if record is None or record.nik_hash != who.nik_hash:
        ctx.audit_read(who, "submissions.read", resource, subject_nik_hash=who.nik_hash,
                       purpose=purpose or SUBMISSION_PURPOSE, outcome=Outcome.NOT_FOUND)
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such submission among the caller's own")
    ctx.audit_read(who, "submissions.read", resource, subject_nik_hash=who.nik_hash,
                   purpose=purpose or SUBMISSION_PURPOSE)
    return submission_view(record)
