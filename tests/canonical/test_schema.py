from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from mpp_bus.canonical import ENTITIES, Application
from mpp_bus.canonical.schema import drift, schema_errors, schema_for, validator

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
NIK = "3314054101900001"


def test_committed_schemas_match_the_models() -> None:
    assert drift(SCHEMAS) == [], "run `mpp-bus schemas write` and commit schemas/"


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_schemas_are_valid_draft_2020_12_with_stable_ids(entity: str) -> None:
    schema = schema_for(entity)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://schemas.mpp-bus.id/") and schema["version"]
    validator(entity)  # check_schema raises on an invalid schema


def application(**overrides: object) -> dict[str, object]:
    now = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    return {
        "agency_id": "oss",
        "application_id": "OSS-1",
        "service_code": "NIB",
        "applicant_nik": NIK,
        "status": "submitted",
        "agency_status": "SUBMITTED",
        "status_at": now,
        "submitted_at": now,
        "source_updated_at": now,
        **overrides,
    }


def test_model_and_json_schema_agree_on_a_valid_record() -> None:
    record = Application.model_validate(application())
    assert schema_errors("application", record.model_dump(mode="json")) == []


@pytest.mark.parametrize(
    "field,value",
    [("applicant_nik", "3314050000000001"), ("status", "done"), ("status_at", datetime(2026, 1, 1))],
)
def test_model_rejects_bad_values_without_echoing_them(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        Application.model_validate(application(**{field: value}))
    details = info.value.errors(include_input=False)
    assert details[0]["loc"] == (field,)
    assert NIK[:10] not in str(details)


def test_schema_errors_never_repeat_the_nik() -> None:
    problems = schema_errors("application", {**application(), "applicant_nik": "33140541019000012",
                                              "status_at": "x", "submitted_at": "x", "source_updated_at": "x"})
    assert any("applicant_nik" in p for p in problems)
    assert not any("33140541019000012" in p for p in problems)
