"""The one-pass route of a declarative applications stream: the spec's ``fields`` compiled once into a
``mapped_record_type`` validator, so a page's items become canonical records in one pydantic-core call instead of
one Python dict per record that the engine then validates.

Each field reads its source as an alias (a JSON dotted path as an ``AliasPath``; an XML path or a CSV column as the
key the readers produce), runs the spec's converter before the canonical rules, and takes its ``default`` for a
missing or empty value, exactly as ``_Field.value`` does; a constant is a converter that ignores the value. A
record that fails anything fails the page's call, and the adapter then maps that page item by item, so every bad
record is rejected with its own reason as before.

A spec the validator cannot follow exactly is not compiled (``one_pass`` answers None) and its stream keeps the
item-by-item route: a full stream, a field the canonical model does not have (the engine would refuse every
record), a required canonical field the spec leaves out, an ``application_id`` that is not the stream's ``id`` as
it is, times the record checks would compare as text, a converter that reads the whole item (``describe``), or a
JSON path that could step into an attribute of a value (what ``dig`` does and an ``AliasPath`` does not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from pydantic import AliasPath, TypeAdapter

from mpp_bus.canonical import Application
from mpp_bus.canonical.records import mapped_record_type
from mpp_bus.declarative.spec import FieldSpec, StreamDef
from mpp_bus.transport import Converter
from mpp_bus.transport.records import RECORD_ERRORS

Convert = Callable[[str], Converter]

_NO_ITEM: Mapping[str, Any] = MappingProxyType({})  # what a converter reading one value gets for the whole item
_ADAPTER_FIELDS = ("agency_id", "source_updated_at")  # set by the adapter and the read, not by the spec's fields
# Names ``dig`` would find as attributes of a JSON value that is not an object (``"text".upper``): a path through one
# is left to the item-by-item route.
_ATTRIBUTES = frozenset(name for kind in (str, int, float, bool, list) for name in dir(kind))


def one_pass(d: StreamDef, convert: Convert) -> TypeAdapter[Any] | None:
    """The validator of a page of ``d``'s items (a list) into canonical ``Application`` records without
    ``agency_id``, or None when the spec asks for something it cannot reproduce exactly (see the module)."""
    if not _fits(d):
        return None
    assert d.incremental is not None  # _fits: an incremental stream
    dotted = d.format == "json"
    updated = convert(d.incremental.convert)
    aliases: dict[str, str | AliasPath] = {"source_updated_at": d.incremental.field}
    converters: dict[str, Callable[[Any], Any]] = {"source_updated_at": _as_is(updated)}
    missing: dict[str, Any] = {}
    required = ["source_updated_at"]
    for name, f in d.fields.items():
        if f.has_const:
            converters[name], missing[name] = _constant(f.const), f.const
            continue
        path = (f.source or "").split(".") if dotted else [f.source or ""]
        aliases[name] = path[0] if len(path) == 1 else AliasPath(*path)
        converters[name] = _value(f, convert(f.convert) if f.convert else None, untrimmed=name == "application_id")
        if f.has_default:
            missing[name] = None  # a missing key reads as an empty value: the default, through the converter
        else:
            required.append(name)
    left_out = ["agency_id", *(n for n in Application.model_fields if n not in d.fields and n not in _ADAPTER_FIELDS)]
    record = mapped_record_type(Application, aliases=aliases, converters=converters, omit=left_out, missing=missing,
                                required=required)
    items: Any = list  # a TypedDict built at run time from the spec: a value to the type checker
    return TypeAdapter(items[record])


def _fits(d: StreamDef) -> bool:
    """Whether the validator reproduces the item-by-item route of ``d`` exactly."""
    fields = d.fields
    if d.incremental is None or _name(d.incremental.convert) != "datetime":
        return False  # a full read has no keyset; an update time that is not an aware datetime is rejected per item
    if any(n in fields for n in _ADAPTER_FIELDS) or any(n not in Application.model_fields for n in fields):
        return False
    needed = [n for n, info in Application.model_fields.items() if info.is_required() and n not in _ADAPTER_FIELDS]
    if any(n not in fields for n in needed):
        return False
    ident = fields["application_id"]
    if ident.has_const or ident.has_default or ident.source != d.id or ident.convert not in (None, "str"):
        return False  # the keyset reads the id from `id`; the record's must be that same text
    for when in ("submitted_at", "status_at"):  # compared with the update time before the canonical rules run
        if fields[when].has_const or _name(fields[when].convert) != "datetime":
            return False
    return all(_simple(f, d.format == "json") for f in fields.values())


def _simple(f: FieldSpec, dotted: bool) -> bool:
    if f.convert is not None and _name(f.convert) == "describe":
        return False  # reads another field of the item
    steps = (f.source or "").split(".") if dotted else []
    return not any(step in _ATTRIBUTES for step in steps[1:])


def _name(spec: str | None) -> str:
    return (spec or "").partition(":")[0].partition("@")[0].strip()


def _value(f: FieldSpec, conv: Converter | None, *, untrimmed: bool = False) -> Callable[[Any], Any]:
    """``_Field.value`` on the value its alias found (None when the key is missing). A record's mapping failure (a
    skippable record, a bad code, a value of the wrong type) becomes a ValueError, the only kind pydantic collects:
    the page then goes item by item, where the reject names the field and the reason. With ``untrimmed``, a value
    the canonical rules would trim fails too: the id, which the keyset (and so the cursor) keeps as served."""
    read = conv.read if conv is not None else None
    has_default, default = f.has_default, f.default

    def value(raw: Any) -> Any:
        if raw is None or raw == "":
            if not has_default:
                raise ValueError("missing")
            raw = default
            if raw is None:
                return None
        try:
            out = read(raw, _NO_ITEM) if read is not None else raw
        except RECORD_ERRORS as exc:
            raise ValueError(type(exc).__name__) from None
        if untrimmed and isinstance(out, str) and out != out.strip():
            raise ValueError("an id with spaces around it")
        return out

    return value


def _as_is(conv: Converter) -> Callable[[Any], Any]:
    """The update time's converter, given the value as found, even an empty one (as the keyset read does)."""
    read = conv.read

    def value(raw: Any) -> Any:
        try:
            return read(raw, _NO_ITEM)
        except RECORD_ERRORS as exc:
            raise ValueError(type(exc).__name__) from None

    return value


def _constant(const: Any) -> Callable[[Any], Any]:
    return lambda _: const
