"""The write direction of the contract: a citizen's application carried to the agency, and the agency's receipt.

An adapter whose agency accepts electronic applications implements ``submit(submission) -> Receipt`` and ships one
JSON Schema per service it accepts (``forms/<service code>.json`` beside the adapter, loaded with ``FormSchemas``).
How the agency keeps a resend from creating a second application is declared by ``Adapter.resend_safe``:

- ``True``: the agency de-duplicates by itself (an ``Idempotency-Key`` header, a request id); the dispatcher resends
  freely after a failure;
- ``False``: it does not; the dispatcher asks ``find_submission(submission)`` (a look-up by the client reference)
  before any resend and records what it finds instead of sending again.

Example::

    class TownHallAdapter(Adapter[Config]):
        forms = FormSchemas.load(Path(__file__).with_name("forms"))
        resend_safe = True

        def submit(self, submission: Submission) -> Receipt:
            body = self.http.post_json(f"/permits", {...}, headers={"Idempotency-Key": submission.reference})
            return Receipt(body["number"], parse_datetime(body["received_at"]), body["status"])
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from mpp_bus.canonical.vocabulary import Document
from mpp_bus.errors import ConfigError

__all__ = [
    "DocumentRef",
    "FieldProblem",
    "FormSchemas",
    "Receipt",
    "Submission",
    "UploadedFile",
    "form_problems",
]


@dataclass(frozen=True)
class DocumentRef:
    """A requirement the citizen already holds, attached by reference: the output document of one of their
    applications (``requirement`` is a code of the shared document vocabulary, e.g. ``NIB``)."""

    requirement: str
    agency_id: str
    application_id: str
    document_number: str | None = None


@dataclass(frozen=True)
class UploadedFile:
    """A file the citizen uploaded for a requirement, kept by its content hash (sha256 hex). ``content`` is filled by
    the dispatcher from the upload store just before sending; it is never kept in the outbox."""

    requirement: str
    content_hash: str
    media_type: str
    filename: str = "dokumen"
    content: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class Submission:
    """One application to deliver to an agency.

    ``reference`` is the bus's client reference for this submission (stable across resends): agencies that honour an
    idempotency key or a request id receive it as that, the others keep it as their client reference so it can be
    looked up. ``applicant_nik`` is the clear NIK, held only in memory while delivering: never log or raise it.
    ``resend`` is True when an earlier attempt may have reached the agency.
    """

    agency_id: str
    service_code: str
    reference: str
    applicant_nik: str = field(repr=False)
    form: Mapping[str, Any] = field(repr=False, default_factory=dict)
    documents: tuple[DocumentRef, ...] = ()
    uploads: tuple[UploadedFile, ...] = ()
    attempt: int = 1
    resend: bool = False


@dataclass(frozen=True)
class Receipt:
    """What the agency answered: its application number, when it accepted, and its raw status code."""

    application_id: str
    accepted_at: datetime
    agency_status: str
    sla_due_date: Any = None  # a date when the agency says, else None


@dataclass(frozen=True)
class FieldProblem:
    """One problem of a form: the field (dotted path, empty for the whole form) and a message in Indonesian."""

    field: str
    message: str


# A form field says where the portal may pre-fill it from: ``"x-prefill": "identity.name"`` (a standard OIDC claim
# of the signed-in citizen's ID token) or ``"x-prefill": "document.NIB"`` (the number of a document the citizen
# holds: the output document of one of their completed applications). Pre-filled values are only a default the
# citizen can change; nothing is stored.
PREFILL = "x-prefill"
IDENTITY_CLAIMS = ("name", "birthdate")
PREFILL_SOURCES = (*(f"identity.{claim}" for claim in IDENTITY_CLAIMS),
                   *(f"document.{document.value}" for document in Document))


def prefill_sources(schema: Mapping[str, Any]) -> dict[str, str]:
    """The form's fields that may be pre-filled, each with its source (``identity.<claim>`` or
    ``document.<code>``)."""
    return {name: str(spec[PREFILL]) for name, spec in (schema.get("properties") or {}).items()
            if isinstance(spec, Mapping) and PREFILL in spec}


class FormSchemas:
    """The JSON Schemas (draft 2020-12) of the forms an adapter's services need, one file per service code."""

    def __init__(self, schemas: Mapping[str, dict[str, Any]]) -> None:
        self._schemas = dict(schemas)
        for code, schema in self._schemas.items():
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as exc:
                raise ConfigError(f"form schema of service {code} is not a valid JSON Schema: {exc.message}") from exc
            for name, source in prefill_sources(schema).items():
                if source not in PREFILL_SOURCES:
                    raise ConfigError(f"form schema of service {code}: field {name!r} has unknown {PREFILL!r} source "
                                      f"{source!r}; known sources: {', '.join(PREFILL_SOURCES)}")

    @classmethod
    def load(cls, folder: Path) -> FormSchemas:
        """Every ``<service code>.json`` in ``folder`` (none when the folder does not exist)."""
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        return cls({path.stem: json.loads(path.read_text(encoding="utf-8")) for path in files})

    def codes(self) -> list[str]:
        return sorted(self._schemas)

    def get(self, service_code: str) -> dict[str, Any] | None:
        return self._schemas.get(service_code)

    def __contains__(self, service_code: object) -> bool:
        return service_code in self._schemas


_MESSAGES = {
    "required": "wajib diisi",
    "type": "jenis isian tidak sesuai",
    "minLength": "terlalu pendek",
    "maxLength": "terlalu panjang",
    "pattern": "format tidak sesuai",
    "minimum": "nilai terlalu kecil",
    "exclusiveMinimum": "nilai terlalu kecil",
    "maximum": "nilai terlalu besar",
    "exclusiveMaximum": "nilai terlalu besar",
    "enum": "pilihan tidak dikenal",
    "additionalProperties": "isian tidak dikenal",
    "format": "format tidak sesuai",
}


def form_problems(schema: Mapping[str, Any], form: Mapping[str, Any]) -> list[FieldProblem]:
    """What is wrong with ``form`` under ``schema``, one problem per field, in Indonesian (empty when valid).

    The messages never echo the value entered (it may be personal data)."""
    problems: dict[str, FieldProblem] = {}
    for error in sorted(Draft202012Validator(schema).iter_errors(dict(form)), key=lambda e: list(e.path)):
        path = [str(p) for p in error.path]
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [r for r in error.validator_value if r not in error.instance]
            for name in missing:
                key = ".".join([*path, str(name)])
                problems.setdefault(key, FieldProblem(key, _MESSAGES["required"]))
            continue
        key = ".".join(path)
        title = _title(schema, error.path) if key else ""
        message = _MESSAGES.get(str(error.validator), "isian tidak valid")
        problems.setdefault(key, FieldProblem(key, f"{title}: {message}" if title else message))
    return list(problems.values())


def _title(schema: Mapping[str, Any], path: Any) -> str:
    node: Any = schema
    for part in path:
        node = (node.get("properties") or {}).get(part) if isinstance(node, Mapping) else None
        if node is None:
            return ""
    return str(node.get("title", "")) if isinstance(node, Mapping) else ""
