"""JSON Schemas of the canonical entities: generated from the models, committed under ``schemas/``.

The committed files are the published contract. ``mpp-bus schemas write`` regenerates them; a test fails when the
models and the files drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from mpp_bus.canonical.entities import ENTITIES

SCHEMA_VERSION = "1.0.0"
BASE_ID = "https://schemas.mpp-bus.id"


def schema_id(entity: str) -> str:
    return f"{BASE_ID}/{entity}/{SCHEMA_VERSION}/schema.json"


@cache
def schema_for(entity: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one entity, with its stable ``$id`` and version."""
    try:
        model = ENTITIES[entity]
    except KeyError:
        raise KeyError(f"unknown entity {entity!r}; known: {', '.join(sorted(ENTITIES))}") from None
    body = model.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id(entity),
        "version": SCHEMA_VERSION,
        **body,
    }


def render(entity: str) -> str:
    return json.dumps(schema_for(entity), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_all(directory: Path) -> list[Path]:
    """Write every entity's schema into ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for entity in sorted(ENTITIES):
        path = directory / f"{entity}.schema.json"
        path.write_text(render(entity), encoding="utf-8")
        paths.append(path)
    return paths


def drift(directory: Path) -> list[str]:
    """Names of the entities whose committed schema differs from the models (empty when in sync)."""
    return [
        entity
        for entity in sorted(ENTITIES)
        if not (directory / f"{entity}.schema.json").exists()
        or (directory / f"{entity}.schema.json").read_text(encoding="utf-8") != render(entity)
    ]


@cache
def validator(entity: str) -> Draft202012Validator:
    """A compiled validator for one entity, built once per process."""
    schema = schema_for(entity)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(entity: str, record: Mapping[str, Any]) -> list[str]:
    """Problems of a JSON-mode record against its schema, as messages that never repeat a field's value."""
    return [_describe(e) for e in validator(entity).iter_errors(record)]


def _describe(error: ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(record)"
    return f"{where}: fails '{error.validator}' ({error.validator_value!r})" if error.validator != "required" else (
        f"{where}: {error.message}"
    )
