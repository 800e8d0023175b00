"""The bulk-validation twins accept and refuse exactly what their models do, for the same reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from mpp_bus.canonical import Application, Service
from mpp_bus.canonical.records import ApplicationRecord, record_type

NOW = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
APPLICATION: dict[str, Any] = {
    "agency_id": "oss", "application_id": "OSS-0001", "service_code": "SIUP", "applicant_nik": "3314015505900001",
    "status": "submitted", "agency_status": "NEW", "status_at": NOW, "submitted_at": NOW,
    "sla_due_date": date(2024, 5, 8), "output_document": None, "revision_note": None, "source_updated_at": NOW,
}
SERVICE: dict[str, Any] = {
    "agency_id": "oss", "code": "SIUP", "name": "Surat Izin Usaha", "category": "perizinan_usaha",
    "sla_working_days": 5, "fee_idr": 0,
}


def _errors(validate: Any, value: Any) -> list[tuple[tuple[Any, ...], str]] | None:
    try:
        validate(value)
    except ValidationError as exc:
        return sorted((tuple(e["loc"]), e["type"]) for e in exc.errors(include_input=False))
    return None


def _variants(base: dict[str, Any], changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [dict(base)]
    for change in changes:
        record = {**base, **change}
        out.append({k: v for k, v in record.items() if v is not _MISSING})
    return out


_MISSING = object()
APPLICATION_CASES = _variants(APPLICATION, [
    {"application_id": " padded "}, {"application_id": ""}, {"application_id": "x" * 200}, {"agency_id": ""},
    {"applicant_nik": "3314011313900001"}, {"applicant_nik": "33140155059000012"}, {"applicant_nik": 3314015505900001},
    {"status": "on_hold"}, {"status_at": datetime(2024, 5, 1)}, {"submitted_at": "2024-05-01T08:30:00+07:00"},
    {"sla_due_date": "not a date"}, {"sla_due_date": _MISSING}, {"output_document": "x" * 301},
    {"output_document": _MISSING}, {"unexpected": 1}, {"source_updated_at": _MISSING}, {"agency_status": "x" * 65},
])
SERVICE_CASES = _variants(SERVICE, [
    {"requirements": ["ktp"]}, {"requirements": ["no-such-document"]}, {"fee_idr": -1}, {"sla_working_days": 4000},
    {"locations": ["33.14"]}, {"locations": ["3314"]}, {"name": ""}, {"description": _MISSING}, {"extra": True},
])


@pytest.mark.parametrize(("model", "cases"), [(Application, APPLICATION_CASES), (Service, SERVICE_CASES)])
def test_twin_agrees_with_its_model(model: type[BaseModel], cases: list[dict[str, Any]]) -> None:
    twin = TypeAdapter(record_type(model))
    for case in cases:
        assert _errors(twin.validate_python, case) == _errors(model.model_validate, case), case


def test_twin_gives_the_models_values_as_a_dict() -> None:
    record = TypeAdapter(ApplicationRecord).validate_python({**APPLICATION, "application_id": " OSS-0001 "})
    model = Application.model_validate({**APPLICATION, "application_id": " OSS-0001 "})
    assert record == model.model_dump()
