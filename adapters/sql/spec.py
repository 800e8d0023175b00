"""The spec of a ``sql`` agency: which view or query serves each stream, and how its columns map.

It lives in the agency instance's ``config.spec`` or in a YAML file named by ``config.spec_file``::

    statuses: statuses.yaml                  # the same tables as the declarative REST type
    vocabulary: vocabulary.yaml
    streams:
      catalog:
        view: v_layanan                      # a view (or table) the agency granted us ...
        id: kode
        fields: {code: kode, name: nama, sla_working_days: {from: sla_hari, as: int}}
      applications:
        query: "SELECT p.*, s.kode AS status_kode FROM permohonan p JOIN status s ON s.id = p.status_id"
        mode: incremental                    # ... or a query; keyset on (update time, id)
        incremental: {field: diubah_pada, as: "datetime@Asia/Jakarta"}
        id: no_permohonan
        fields: {...}

Field mappings and converters are the declarative type's (``mpp_bus.declarative``): a column name, or
``{from, as, default}``. The database's credentials come from the agency's connection, never from this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mpp_bus.contract import StreamName, SyncMode
from mpp_bus.declarative.spec import FieldSpec, IncrementalSpec, StreamDef
from mpp_bus.errors import ConfigError


class SqlStreamDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    view: str | None = None
    query: str | None = None
    mode: SyncMode = SyncMode.FULL
    id: str
    fields: dict[str, FieldSpec]
    incremental: IncrementalSpec | None = None
    max_page_size: Annotated[int, Field(ge=1)] = 5000

    # The same shorthand as a REST stream (`code: kode` for `code: {from: kode}`).
    _shorthand = field_validator("fields", mode="before")(StreamDef._shorthand.__func__)  # type: ignore[attr-defined]

    @model_validator(mode="after")
    def _one_source(self) -> SqlStreamDef:
        if (self.view is None) == (self.query is None):
            raise ValueError("give exactly one of `view` and `query`")
        if self.mode is SyncMode.INCREMENTAL and self.incremental is None:
            raise ValueError("an incremental stream needs `incremental: {field: <update time column>}`")
        return self


class SqlSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    statuses: str | dict[str, Any] | None = None
    vocabulary: str | dict[str, Any] | None = None
    streams: dict[StreamName, SqlStreamDef]
    source: str = Field(default="<spec>", exclude=True)
    root: Path | None = Field(default=None, exclude=True)


def load_sql_spec(doc: Any, *, source: str, root: Path | None) -> SqlSpec:
    """Validate a spec document; errors name the source and the field."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: a SQL spec must be a mapping with `streams:`")
    try:
        return SqlSpec.model_validate({**doc, "source": source, "root": root})
    except ValidationError as exc:
        problems = "; ".join(f"`{'.'.join(str(p) for p in e['loc'])}`: {e['msg']}"
                             for e in exc.errors(include_input=False, include_url=False))
        raise ConfigError(f"{source}: invalid SQL spec: {problems}") from None


def read_sql_spec(path: Path) -> SqlSpec:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the SQL spec {path} ({exc.strerror}); check `spec_file`") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"the SQL spec {path} is not valid YAML: {exc}") from exc
    return load_sql_spec(doc, source=str(path), root=path.parent)
