"""The declarative REST spec: an agency wired by configuration alone, as data.

A spec lives in the agency instance's ``config.spec`` or in a YAML file named by ``config.spec_file``::

    base_url: https://pajak.example.go.id        # or the instance's config.base_url
    auth: {type: api_key, header: X-DJP-Key}      # api_key | basic | bearer | oauth2_client_credentials | none
    statuses: statuses.yaml                       # a file beside the spec, or inline {version: 1, statuses: {...}}
    vocabulary: vocabulary.yaml                   # documents and channels (needed by documents/channels/describe)
    check: {path: /v2/permohonan, params: {halaman: 1, per_halaman: 1}}
    streams:
      catalog:
        path: /v2/layanan
        mode: full
        conditional: true                         # If-None-Match/If-Modified-Since; a 304 keeps what is stored
        records: layanan                          # where the records are in the body (dotted)
        id: kode_layanan
        fields:                                   # canonical field: source field, or {from, as, default}
          code: kode_layanan
          fee_idr: {from: tarif, as: int, default: 0}
      applications:
        path: /v2/permohonan
        mode: incremental
        params: {per_halaman: "{page_size}", sejak: "{since}"}   # {since}: the resume time; dropped when none
        paginator: {type: page_number, page_field: halaman, total_field: total_halaman}
        incremental: {field: terakhir_diubah, as: "datetime:DD-MM-YYYY HH:mm:ss@Asia/Jakarta"}
        records: hasil
        id: no_permohonan
        fields: {...}

Odd agencies (see docs/tutorial.md, chapter 2)::

      applications:
        path: /api/permohonan
        format: xml                               # json (default) | xml | csv (with `encoding:`, `delimiter:`)
        records: ./permohonan                     # xml: an ElementPath from the root element
        id: "@no"                                 # xml: `@attr`, `a/b/@attr`, `a/b` or `a/b/text()`, `a/b[]`
        paginator: {type: link_header, positional: true}   # an offset inside the Link URL
        incremental: {field: diubah/text(), as: "datetime:DD-MM-YYYY HH:mm@Asia/Jakarta"}
        since: {param: sejak, inclusive: false, resolution: minute}   # "> T" compared to the minute
        fields:
          agency_status: status/text()
          output_document: {const: null}          # the same value for every record
      catalog:
        conditional: true                         # If-None-Match / If-Modified-Since; a 304 keeps what is stored

XML paths: ``@attr`` is an attribute of the record element, ``a/b`` (or ``a/b/text()``) the text of its first
``a/b`` descendant, ``a/b/@attr`` an attribute of it, ``.`` the record's own text, and ``a/b[]`` the texts of every
``a/b`` as a list. They are lxml ElementPath expressions, evaluated on the hardened parser's tree. CSV fields are the
header's column names. JSON fields are dotted paths.

Templates in paths and parameters take ``{page_size}``, ``{since}`` and the instance's ``config.vars``
(``/api/v1/{tenant}/services``). Converters are those of ``mpp_bus.transport.convert``. Every strategy name
(auth, paginator, converter) is checked when the adapter is built; an unknown one fails with the known ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mpp_bus.contract import StreamName, SyncMode
from mpp_bus.errors import ConfigError


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AuthSpec(_Spec):
    type: str = "none"
    header: str = "X-API-Key"
    token_url: str | None = None  # relative to base_url unless absolute
    scope: str | None = None


class PaginatorSpec(_Spec):
    """``type`` plus the options of that paginator (``page_field``, ``total_field``, ``field``, ``limit``...)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class FieldSpec(_Spec):
    source: Annotated[str | None, Field(alias="from")] = None
    convert: Annotated[str | None, Field(alias="as")] = None
    default: Any = None
    has_default: bool = False
    const: Any = None  # the same value for every record (`{const: X}`), instead of `from`
    has_const: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        if (self.source is None) == (not self.has_const):
            raise ValueError("a field takes either `from` (where the value is) or `const` (the value itself)")
        return self


class IncrementalSpec(_Spec):
    field: str  # the source field with the record's update time
    convert: Annotated[str, Field(alias="as")] = "datetime"
    cursor_key: str = "token"  # the name of the agency's page token in the stored cursor


class SinceSpec(_Spec):
    """How the agency's "changed since" filter behaves, and where its value goes."""

    param: str | None = None  # the query parameter; without it, the `{since}` template value alone
    convert: Annotated[str | None, Field(alias="format")] = None  # how to write it; default: incremental's `as`
    inclusive: bool = True
    resolution: Literal["second", "minute", "day"] = "second"
    zone: str = "UTC"  # where a day starts, for `resolution: day`


class StreamDef(_Spec):
    path: str
    mode: SyncMode = SyncMode.FULL
    params: dict[str, Any] = Field(default_factory=dict)
    paginator: PaginatorSpec | None = None
    records: str = ""
    id: str
    fields: dict[str, FieldSpec]
    incremental: IncrementalSpec | None = None
    since: SinceSpec | None = None
    etag: bool = False  # the former name of `conditional`
    conditional: bool = False
    format: Literal["json", "xml", "csv"] = "json"
    encoding: str = "utf-8"  # csv: the declared encoding of the export
    delimiter: str = ","  # csv
    max_page_size: Annotated[int, Field(ge=1)] = 1000

    @field_validator("fields", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for name, spec in value.items():
            if isinstance(spec, str):
                spec = {"from": spec}
            elif isinstance(spec, dict):
                spec = {**spec, "has_default": "default" in spec, "has_const": "const" in spec}
            out[name] = spec
        return out


class CheckSpec(_Spec):
    path: str
    params: dict[str, Any] = Field(default_factory=dict)


class RestSpec(_Spec):
    """The whole declarative description of one agency system."""

    base_url: str | None = None
    auth: AuthSpec = AuthSpec()
    statuses: str | dict[str, Any] | None = None
    vocabulary: str | dict[str, Any] | None = None
    check: CheckSpec | None = None
    streams: dict[StreamName, StreamDef]
    source: str = Field(default="<spec>", exclude=True)
    root: Path | None = Field(default=None, exclude=True)


def load_spec(doc: Any, *, source: str, root: Path | None) -> RestSpec:
    """Validate a spec document; errors name the source and the field."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: a REST spec must be a mapping with `streams:`")
    try:
        return RestSpec.model_validate({**doc, "source": source, "root": root})
    except ValidationError as exc:
        problems = "; ".join(f"`{'.'.join(str(p) for p in e['loc'])}`: {e['msg']}"
                             for e in exc.errors(include_input=False, include_url=False))
        raise ConfigError(f"{source}: invalid REST spec: {problems}") from None


def read_spec_file(path: Path) -> RestSpec:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the REST spec {path} ({exc.strerror}); check `spec_file`") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"the REST spec {path} is not valid YAML: {exc}") from exc
    return load_spec(doc, source=str(path), root=path.parent)
