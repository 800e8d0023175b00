"""Validation of a whole page against the canonical model, splitting good records from bad ones.

A page is validated in one call (several times faster than record by record), into dicts by the model's own rules
(``canonical.records``: building a model instance per record would cost more than the checks); only when it fails
are the bad indexes picked out of the errors. Reasons come from ``errors(include_input=False)`` and payloads are
redacted, so a NIK in a bad record never reaches the quarantine in clear.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from mpp_bus.canonical.records import record_type
from mpp_bus.privacy import redact, redact_text

MAX_RECORD_ID = 300


@dataclass(frozen=True)
class Invalid:
    """A record that did not validate: where it was, why, and a redacted copy."""

    index: int
    record_id: str | None
    reason: str
    payload: Any


@cache
def _page_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[record_type(model)])  # type: ignore[misc, arg-type]  # a TypedDict built at run time


def record_id_of(record: Any, id_field: str) -> str | None:
    """The record's id for the quarantine, redacted (an id may embed a NIK)."""
    value = record.get(id_field) if isinstance(record, Mapping) else None
    if value is None or isinstance(value, (dict, list)):
        return None
    return redact_text(str(value))[:MAX_RECORD_ID]


def invalid(index: int, record: Any, id_field: str, reason: str) -> Invalid:
    return Invalid(index, record_id_of(record, id_field), redact_text(reason), redact(record))


def validate_page(
    model: type[BaseModel], records: Sequence[Any], id_field: str
) -> tuple[list[tuple[int, Any]], list[Invalid]]:
    """(index, validated record) of the good records, in page order, and the bad ones with their reasons.

    A validated record is a dict holding ``model``'s fields; those with a default may be absent."""
    adapter = _page_adapter(model)
    try:
        return list(enumerate(adapter.validate_python(records))), []
    except ValidationError as exc:
        problems = _problems(exc)
    good_indexes = [i for i in range(len(records)) if i not in problems]
    good = adapter.validate_python([records[i] for i in good_indexes]) if good_indexes else []
    bad = [invalid(i, records[i], id_field, "; ".join(msgs)) for i, msgs in sorted(problems.items())]
    return list(zip(good_indexes, good, strict=True)), bad


def _problems(exc: ValidationError) -> dict[int, list[str]]:
    problems: dict[int, list[str]] = {}
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = err["loc"]
        if not loc or not isinstance(loc[0], int):  # the page itself is not a list: every record is suspect
            raise exc
        field = ".".join(str(p) for p in loc[1:]) or "(record)"
        problems.setdefault(loc[0], []).append(f"{field}: {err['msg']}")
    return problems
