"""The citizen's side of applying once, in Indonesian: "Ajukan Permohonan" and "Bukti Pengajuan".

The form is rendered from the service's JSON Schema (labels from its titles), pre-filled from what the portal knows;
requirements the citizen already holds are shown as such and attached by reference, and only the missing ones ask for
a file. The page carries a fresh idempotency key, so a double click makes one submission; errors come back next to
their field. Everything goes through the same ``accept`` as the API.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mpp_bus.api.audit import Outcome
from mpp_bus.api.context import ApiContext, context
from mpp_bus.api.csrf import require_csrf
from mpp_bus.api.forms import parse_form
from mpp_bus.api.pages import SESSION_COOKIE, WIB, private, session, templates, to_sign_in
from mpp_bus.api.submissions import (
    SUBMISSION_PURPOSE,
    UploadChoice,
    accept,
    application_form,
    submission_view,
)
from mpp_bus.contract import form_problems
from mpp_bus.engine.uploads import UploadRefused
from mpp_bus.errors import IdempotencyConflictError, InvalidSubmissionError

router = APIRouter(include_in_schema=False)


def fields_of(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The form's fields as the template draws them: name, label, input type, choices, required."""
    required = set(schema.get("required") or [])
    fields = []
    for name, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type")
        fields.append({"name": name, "label": spec.get("title") or name.replace("_", " ").capitalize(),
                       "input": "number" if kind in ("integer", "number") else "text",
                       "choices": spec.get("enum"), "required": name in required,
                       "maxlength": spec.get("maxLength")})
    return fields


def _typed(schema: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    # Browsers send text; numbers become numbers when they are numbers, else stay text so the schema says why.
    form: dict[str, Any] = {}
    for name, spec in (schema.get("properties") or {}).items():
        value = values.get(name, "").strip()
        if value == "":
            continue
        if spec.get("type") == "integer" and value.lstrip("-").isdigit():
            form[name] = int(value)
        elif spec.get("type") == "number" and _is_number(value.replace(",", ".")):
            form[name] = float(value.replace(",", "."))  # a decimal comma, as Indonesians write it
        else:
            form[name] = value
    return form


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in {"nan", "inf", "-inf", "infinity", "-infinity"}


def _page(request: Request, ctx: ApiContext, who: Any, agency_id: str, code: str, *, values: dict[str, str],
          errors: dict[str, str], key: str, status_code: int = 200) -> Response:
    form = application_form(ctx, who.nik_hash or "", agency_id, code,
                            ctx.sessions.identity(request.cookies.get(SESSION_COOKIE)))
    service = ctx.store.service_detail(agency_id, code)
    return private(templates.TemplateResponse(request, "ajukan.html", {
        "who": who, "f": form, "agency_name": service.agency_name if service else agency_id,
        "fields": fields_of(form.form_schema), "values": values, "errors": errors, "kunci": key,
    }, status_code=status_code))


def _signed_in(request: Request, ctx: ApiContext) -> Any:
    who = session(request, ctx)
    if who is None:
        return to_sign_in("sesi-berakhir" if request.cookies.get(SESSION_COOKIE) else "perlu-masuk",
                          request.url.path)
    if not who.is_citizen:
        return to_sign_in("bukan-warga")
    return who


def _not_offered(request: Request, who: Any) -> Response:
    return private(templates.TemplateResponse(request, "pesan.html", {
        "who": who, "judul": "Layanan tidak dapat diajukan daring",
        "pesan": "Layanan ini tidak tersedia atau belum dapat diajukan secara elektronik melalui portal.",
    }, status_code=status.HTTP_404_NOT_FOUND))


@router.get("/layanan/{agency_id}/{code}/ajukan", response_class=HTMLResponse)
def apply_page(request: Request, ctx: Annotated[ApiContext, Depends(context)], agency_id: str,
               code: str) -> Response:
    who = _signed_in(request, ctx)
    if isinstance(who, Response):
        return who
    if ctx.forms is None or ctx.outbox is None or ctx.forms(agency_id, code) is None:
        return _not_offered(request, who)
    ctx.audit_read(who, "requirements.read", f"service:{agency_id}/{code}"[:300], subject_nik_hash=who.nik_hash,
                   purpose=SUBMISSION_PURPOSE + " (portal page)")
    return _page(request, ctx, who, agency_id, code, values={}, errors={}, key=uuid.uuid4().hex)


@router.post("/layanan/{agency_id}/{code}/ajukan", dependencies=[Depends(require_csrf)])
async def apply(request: Request, ctx: Annotated[ApiContext, Depends(context)], agency_id: str,
                code: str) -> Response:
    who = _signed_in(request, ctx)
    if isinstance(who, Response):
        return who
    if ctx.forms is None or ctx.outbox is None:
        return _not_offered(request, who)
    schema = ctx.forms(agency_id, code)
    if schema is None:
        return _not_offered(request, who)
    parsed = parse_form(await request.body(), request.headers.get("content-type", ""))
    values = {name: parsed.value(name) for name in (schema.get("properties") or {})}
    key = parsed.value("kunci")[:128] or uuid.uuid4().hex
    nik = ctx.sessions.clear_nik(request.cookies.get(SESSION_COOKIE))
    if nik is None:
        return to_sign_in("sesi-berakhir", request.url.path)
    errors: dict[str, str] = {}
    uploads: list[UploadChoice] = []
    for name, file in parsed.files.items():
        if not name.startswith("dokumen_") or not file.content:
            continue
        requirement = name.removeprefix("dokumen_")
        if ctx.uploads is None:
            errors[name] = "portal ini belum menerima unggahan berkas; serahkan dokumen ini langsung ke instansi"
            continue
        try:
            stored = ctx.uploads.put(file.content, file.filename)
        except UploadRefused as exc:
            errors[name] = str(exc)
            continue
        uploads.append(UploadChoice(requirement=requirement, content_hash=stored.content_hash,
                                    filename=stored.filename))
    try:
        if errors:  # a refused file: still say what is wrong with the rest of the form
            raise InvalidSubmissionError([(p.field, p.message) for p in form_problems(schema, _typed(schema, values))])
        record, _ = accept(ctx, nik=nik, nik_hash=who.nik_hash or "", actor=who.subject, agency_id=agency_id,
                           service_code=code, form=_typed(schema, values), uploads=uploads, client_key=key)
    except InvalidSubmissionError as exc:
        for field, message in exc.problems:
            name = "dokumen_" + field.removeprefix("uploads.") if field.startswith("uploads.") else field
            errors.setdefault(name or "_", message)
        return _page(request, ctx, who, agency_id, code, values=values, errors=errors, key=key,
                     status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    except IdempotencyConflictError:
        errors["_"] = "Formulir ini sudah pernah dikirim dengan isian lain. Silakan buka formulir baru."
        return _page(request, ctx, who, agency_id, code, values=values, errors=errors, key=uuid.uuid4().hex,
                     status_code=status.HTTP_409_CONFLICT)
    return private(RedirectResponse(f"/pengajuan/{record.reference}", status.HTTP_303_SEE_OTHER))


@router.get("/pengajuan/{reference}", response_class=HTMLResponse)
def receipt_page(request: Request, ctx: Annotated[ApiContext, Depends(context)], reference: str) -> Response:
    who = _signed_in(request, ctx)
    if isinstance(who, Response):
        return who
    record = ctx.store.submission_by_reference(reference[:40])
    resource = f"submission:{reference}"[:300]
    if record is None or record.nik_hash != who.nik_hash:
        ctx.audit_read(who, "submissions.read", resource, subject_nik_hash=who.nik_hash,
                       purpose=SUBMISSION_PURPOSE + " (portal page)", outcome=Outcome.NOT_FOUND)
        return private(templates.TemplateResponse(request, "pesan.html", {
            "who": who, "judul": "Pengajuan tidak ditemukan",
            "pesan": "Tidak ada pengajuan dengan nomor itu atas NIK Anda."}, status_code=status.HTTP_404_NOT_FOUND))
    ctx.audit_read(who, "submissions.read", resource, subject_nik_hash=who.nik_hash,
                   purpose=SUBMISSION_PURPOSE + " (portal page)")
    service = ctx.store.service_detail(record.agency_id, record.service_code)
    schema = ctx.forms(record.agency_id, record.service_code) if ctx.forms is not None else None
    sent: list[tuple[str, Any]] = []
    if record.sealed is not None and ctx.outbox is not None and schema is not None:
        # What was sent, while the outbox still holds it (purged once delivered); never the NIK.
        opened = ctx.outbox.open(record, attempt=record.attempts, resend=False)
        sent = [(f["label"], opened.form[f["name"]]) for f in fields_of(schema) if f["name"] in opened.form]
    return private(templates.TemplateResponse(request, "bukti.html", {
        "who": who, "p": submission_view(record), "service": service, "sent": sent,
        "waktu": record.created_at.astimezone(WIB),
    }))
