"""Bulk-validation twins of the canonical models: the same fields and rules, validated into plain dicts.

The engine validates every record of every page. Building a frozen pydantic model per record, then reading it back
field by field, costs more than the checks themselves; a ``TypedDict`` made from the model keeps its annotations,
constraints and config (so a record passes or fails exactly as it would against the model) and gives a dict.
Fields with a default are optional keys: read them with ``.get``.

``mapped_record_type`` goes one step further for an adapter's bulk read: the same rules, with the agency's own field
names as aliases and converters for its codes, so one pydantic-core pass turns the agency's bytes (or the dicts of
an XML walk) straight into canonical records. Those records travel as ``CanonicalRecords`` and the engine does not
validate them again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Annotated, Any, NotRequired, cast

from pydantic import AliasPath, BaseModel, BeforeValidator, ConfigDict, Field, with_config
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


class CanonicalRecords(list[Any]):
    """A page's records validated by the rules of the canonical ``model`` through a ``mapped_record_type``, on the
    adapter's side: the engine takes them as they are instead of validating them again. The validator leaves
    ``agency_id`` out; whoever wraps the records sets it to the agency whose adapter read them (``KeysetPage``
    does).

    Build one only from the output of a ``mapped_record_type`` validator; any other record belongs in a plain
    list, which the engine validates. ``sources``, when given, are the agency items the records were validated
    from, in the same order: a keyset read then takes each record's version (and a reject's payload) from its
    item, as it does for a page mapped item by item, so the cursor does not depend on which way a page went."""

    __slots__ = ("model", "sources")

    def __init__(self, records: Iterable[Any], model: type[BaseModel], sources: Sequence[Any] | None = None) -> None:
        super().__init__(records)
        self.model = model
        self.sources = sources


def mapped_record_type(
    model: type[BaseModel],
    *,
    aliases: Mapping[str, str | AliasPath],
    converters: Mapping[str, Callable[[Any], Any]] | None = None,
    omit: Iterable[str] = ("agency_id",),
    missing: Mapping[str, Any] | None = None,
    required: Iterable[str] = (),
) -> Any:
    """``model``'s record type read from an agency's own field names: ``aliases`` maps a canonical field to the
    agency's key (two fields may read one key, e.g. ``status`` and ``agency_status``; an ``AliasPath`` reads a
    nested key), ``converters`` run on the agency's value before the canonical rules (a code table's ``get``: an
    unknown code then fails the field). Fields in ``omit`` are left out (``agency_id``: the adapter's own). Keys the
    agency sends beyond these are ignored.

    ``missing`` gives a field the input it takes when the agency leaves its key out: that input goes through the
    field's converter and rules as a sent value would, and the field is optional even where the model requires it.
    A field in ``required`` must be sent even where the model has a default (a mapping that has none for it).

    Checks across fields are left to the caller's loop over the page: a Python validator on each record costs
    pydantic-core several times the check itself.

    Example::

        Record = mapped_record_type(Application, aliases={"application_id": "id", "agency_status": "status", ...},
                                    converters={"status": statuses.table.get})
        page = TypeAdapter(list[Record]).validate_json(body)
    """
    converters, missing = converters or {}, missing or {}
    left_out, must = set(omit), set(required)
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in left_out:
            continue
        metadata: list[Any] = list(info.metadata)
        if name in converters:
            metadata.append(BeforeValidator(_refusing(converters[name])))
        if name in aliases:
            metadata.append(Field(validation_alias=aliases[name]))
        if name in missing:  # validated as input: a default pydantic took as it is would skip the converter
            metadata.append(Field(default=missing[name], validate_default=True))
        annotation: Any = Annotated[(info.annotation, *metadata)] if metadata else info.annotation
        optional = name in missing or (not info.is_required() and name not in must)
        fields[name] = NotRequired[annotation] if optional else annotation
    config = cast(ConfigDict, {"extra": "ignore", **{k: v for k, v in model.model_config.items()
                                                      if k == "str_strip_whitespace"}})
    # As in record_type: a TypedDict whose fields are only known at run time.
    return with_config(config)(TypedDict(f"{model.__name__}Mapped", fields))  # type: ignore[operator]


ApplicationRecord = record_type(Application)
"""An ``Application`` as a validated dict (``sla_due_date`` and ``output_document`` may be absent)."""

__all__ = ["ApplicationRecord", "CanonicalRecords", "mapped_record_type", "record_type"]


def _refusing(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` with a TypeError (a list or a mapping where an agency code belongs: ``dict.get`` cannot hash it)
    turned into a validation error of that record, as pydantic only collects ValueErrors."""

    def converted(value: Any) -> Any:
        try:
            return convert(value)
        except TypeError:
            raise ValueError(f"a {type(value).__name__} where a code was expected") from None

    return converted
