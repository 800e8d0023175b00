"""Bulk-validation twins of the canonical models: the same fields and rules, validated into plain dicts.

The engine validates every record of every page. Building a frozen pydantic model per record, then reading it back
field by field, costs more than the checks themselves; a ``TypedDict`` made from the model keeps its annotations,
constraints and config (so a record passes or fails exactly as it would against the model) and gives a dict.
Fields with a default are optional keys: read them with ``.get``.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, NotRequired, cast

from pydantic import BaseModel, ConfigDict, with_config
from typing_extensions import TypedDict

from mpp_bus.canonical.entities import Application


@cache
def record_type(model: type[BaseModel]) -> Any:
    """A ``TypedDict`` with ``model``'s fields, their constraints and the model's config (``extra``, stripping)."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        fields[name] = annotation if info.is_required() else NotRequired[annotation]
    config = cast(ConfigDict, {k: v for k, v in model.model_config.items() if k in ("extra", "str_strip_whitespace")})
    # A TypedDict whose fields are only known at run time: mypy cannot follow the functional form with a variable.
    return with_config(config)(TypedDict(f"{model.__name__}Record", fields))  # type: ignore[operator]


ApplicationRecord = record_type(Application)
"""An ``Application`` as a validated dict (``sla_due_date`` and ``output_document`` may be absent)."""

__all__ = ["ApplicationRecord", "record_type"]
