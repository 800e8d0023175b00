"""``RestAdapter``: the adapter type ``rest``, an agency system wired by a spec instead of Python.

Bodies are JSON, XML (the SDK's hardened parser; records and fields by element and attribute paths) or CSV.
Incremental streams assume records ordered by ``(update time, id)`` and a "changed since T" filter that is inclusive
at one-second resolution unless the stream's ``since:`` says otherwise (exclusive, minute or day: see
``SinceFilter``). With a positional paginator (page numbers, offsets) pages shift when records change between two
requests, so after a page that moved the position the read asks again for the first page since the new position
(never walking page 2, 3 of a list that changed under it); it steps to the next page only when a whole page sat at
one instant. With a token paginator (cursor, next URL, Link header) the token carries the position.

An incremental applications stream is read in one pydantic-core pass per page where the spec allows it (see
``mpp_bus.declarative.onepass``): its fields compiled once into a validator with aliases and converters, the page's
items validated straight into canonical records that the engine does not validate again. A page that does not
validate whole is mapped item by item (``_record``), so each bad record is rejected with its own reason; both ways
store the same records, rejects and cursor.

Cursor: ``{"updated": <ISO UTC of the last record seen>, "id": <its id>, "seen": {<id>: <version>} of the records
handled at that second (see ``Keyset``), <cursor_key>: <the agency's page token>}``.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import requests
from pydantic import SecretStr, TypeAdapter, ValidationError

from mpp_bus.canonical import Application
from mpp_bus.canonical.records import CanonicalRecords
from mpp_bus.config.agencies import AgencyInstance
from mpp_bus.config.connections import env_var
from mpp_bus.contract import CONDITIONAL, AdapterConfig, Cursor, Page, StatusMapping, StreamName, StreamSpec
from mpp_bus.declarative.onepass import one_pass
from mpp_bus.declarative.spec import FieldSpec, RestSpec, StreamDef, load_spec, read_spec_file
from mpp_bus.errors import ConfigError, SkippableError
from mpp_bus.transport import (
    NO_RETRY,
    AgencyAdapter,
    Converter,
    HttpClient,
    Keyset,
    PageResponse,
    Paginator,
    SinceFilter,
    Vocabulary,
    auth_strategy,
    checked_record_times,
    converter,
    dig,
    keyset_read,
    map_items,
    paginator,
    zone,
)


class RestConfig(AdapterConfig):
    """Config of a declarative agency: where the spec is, and the credentials from the connection."""

    base_url: str | None = None
    spec: dict[str, Any] | None = None
    spec_file: str | None = None
    vars: dict[str, str] = {}
    username: str | None = None
    secret: SecretStr | None = None
    connection_fields: ClassVar[dict[str, str]] = {"login": "username", "password": "secret"}


class _Field:
    """One canonical field: where it comes from (or its constant) and how it is converted."""

    def __init__(self, name: str, spec: FieldSpec, conv: Converter | None, dotted: bool) -> None:
        source = spec.source or ""
        self.name, self.conv = name, conv
        self.path = tuple(source.split(".")) if dotted else (source,)
        self.default, self.has_default = spec.default, spec.has_default
        self.const, self.has_const = spec.const, spec.has_const

    def value(self, item: Mapping[str, Any]) -> Any:
        if self.has_const:
            return self.const
        value = dig(item, self.path)
        if value is None or value == "":
            if not self.has_default:
                raise SkippableError(f"field `{'.'.join(self.path)}` is missing (canonical `{self.name}`)")
            value = self.default
            if value is None:
                return None
        return self.conv.read(value, item) if self.conv else value


class _Stream:
    """A stream of the spec, compiled: converters and paginator options checked once."""

    def __init__(self, name: StreamName, d: StreamDef, adapter: RestAdapter) -> None:
        self.name, self.d = name, d
        dotted = d.format == "json"  # CSV columns and XML paths are names of their own, not dotted paths
        self.fields = [_Field(f, s, adapter.conv(s.convert) if s.convert else None, dotted)
                       for f, s in d.fields.items()]
        self.records_path = tuple(d.records.split(".")) if d.records and dotted else ()
        self.id_path = tuple(d.id.split(".")) if dotted else (d.id,)
        self.updated = adapter.conv(d.incremental.convert) if d.incremental else None
        if d.mode.value == "incremental" and d.incremental is None:
            raise ConfigError(f"stream {name.value}: an incremental stream needs `incremental: {{field: ...}}`")
        if d.since is not None and d.incremental is None:
            raise ConfigError(f"stream {name.value}: `since` describes an incremental stream's filter; add "
                              "`incremental: {field: ...}`")
        since = d.since
        self.since_filter = SinceFilter(since.inclusive, since.resolution, zone(since.zone)) if since else \
            SinceFilter()
        self.since_writer = adapter.conv(since.convert) if since and since.convert else self.updated
        self.conditional = d.conditional or d.etag
        self.xml_items: Any = None
        if d.format == "xml":
            from mpp_bus.declarative.paths import xml_reader, xml_records

            used = {d.id, *(f.source for f in d.fields.values() if f.source)}
            used |= {c.convert.partition(":")[2] for c in d.fields.values()
                     if c.convert and c.convert.startswith("describe:")}
            if d.incremental:
                used.add(d.incremental.field)
            find, read = xml_records(d.records), xml_reader(sorted(used))
            self.xml_items = lambda root: [read(e) for e in find(root)]
        self.new_paginator(adapter.agency_id)  # fail now on an unknown paginator or option
        # The applications page in one pydantic-core pass (see ``onepass``); None: item by item. Set it to None to
        # read item by item (the benchmark compares both).
        self.one_pass: TypeAdapter[Any] | None = None
        if name is StreamName.APPLICATIONS:
            self.one_pass = one_pass(d, adapter.conv)

    def new_paginator(self, agency: str) -> Paginator | None:
        p = self.d.paginator
        return paginator(p.type, agency=agency, **p.options) if p else None

    @property
    def spec(self) -> StreamSpec:
        return StreamSpec(self.name, self.d.mode, self.d.incremental.field if self.d.incremental else None)

    def items(self, body: Any) -> list[Any]:
        if self.xml_items is not None:
            found_items: list[Any] = self.xml_items(body)
            return found_items
        found = dig(body, self.records_path) if self.records_path else body
        return list(found or [])

    def canonical(self, items: list[Any], tries: _Tries) -> list[Any]:
        """The page's items as canonical records in one pass, or the items themselves when the stream has no
        one-pass validator, when ``tries`` says to skip this page, or when the page does not validate whole (each
        item is then mapped, or rejected, alone)."""
        if self.one_pass is None or not items or not tries.now():
            return items
        try:
            records = CanonicalRecords(self.one_pass.validate_python(items), Application, sources=items)
        except ValidationError:
            tries.failed()
            return items
        tries.passed()
        return records

    def record_id(self, item: Any) -> str | None:
        value = dig(item, self.id_path) if isinstance(item, Mapping) else None
        return None if value in (None, "") else str(value)


class _Tries:
    """When a read tries the one-pass route: on every page until one does not validate whole, then after 1, 2, 4 ...
    up to ``MOST`` pages read item by item, and on every page again once one passes. Both routes store the same, so
    this only bounds what an agency that keeps serving a bad record a page costs: a failed try is a whole page's
    conversions done twice."""

    MOST = 16

    def __init__(self) -> None:
        self.skip, self.wait = 0, 1

    def now(self) -> bool:
        if self.skip:
            self.skip -= 1
            return False
        return True

    def failed(self) -> None:
        self.skip, self.wait = self.wait, min(self.wait * 2, self.MOST)

    def passed(self) -> None:
        self.wait = 1


class RestAdapter(AgencyAdapter[RestConfig]):
    """An agency whose API is plain REST JSON, described by a spec (see ``mpp_bus.declarative.spec``).

    Example agencies file entry::

        - id: dpmptsp-3471
          adapter: rest
          name: DPMPTSP Kota Yogyakarta
          level: kabupaten_kota
          config:
            base_url: https://perizinan.jogjakota.go.id
            spec_file: specs/jogja.yaml

    A shipped agency type can subclass it with its spec beside the code: ``spec_path = HERE / "spec.yaml"``.
    """

    name = "rest"
    version = "1.0.0"
    wraps = "any plain REST/JSON agency API, described by a declarative spec"
    config_model = RestConfig
    spec_path: ClassVar[Path | None] = None

    def __init__(self, instance: AgencyInstance, config: RestConfig, *,
                 session: requests.Session | None = None) -> None:
        super().__init__(instance, config, session=session)
        self.spec = self._load_spec(config)
        self.statuses = self._table(self.spec.statuses, "statuses", StatusMapping.load, _inline_statuses)
        self.vocab = self._table(self.spec.vocabulary, "vocabulary", Vocabulary.load, _inline_vocabulary)
        self.status_mapping = self.statuses  # type: ignore[misc]  # the instance's table, for the kit and engine
        self.compiled = {name: _Stream(name, d, self) for name, d in self.spec.streams.items()}
        self.stream_specs = tuple(s.spec for s in self.compiled.values())  # type: ignore[misc]  # per instance
        base_url = config.base_url or self.spec.base_url
        if not base_url:
            raise ConfigError(f"agency {instance.id}: set `base_url` in its config or in the REST spec")
        self.http = self.uses(HttpClient.for_instance(instance, base_url, auth=self._auth(base_url),
                                                      session=self.session))

    # --- building ------------------------------------------------------------------------------------------------

    def _load_spec(self, config: RestConfig) -> RestSpec:
        if config.spec is not None:
            return load_spec(config.spec, source=f"agency {self.agency_id} config.spec", root=None)
        path = Path(config.spec_file) if config.spec_file else self.spec_path
        if path is None:
            raise ConfigError(f"agency {self.agency_id}: a `rest` adapter needs `spec` or `spec_file` in its config")
        return read_spec_file(path)

    def _table(self, value: Any, what: str, load: Any, inline: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, dict):
            return inline(value, f"{self.spec.source} {what}")
        path = Path(value)
        if not path.is_absolute() and self.spec.root is not None:
            path = self.spec.root / path
        return load(path)

    def _auth(self, base_url: str) -> Any:
        a = self.spec.auth
        if a.type != "none" and self.config.secret is None:
            connection = self.instance.connection_id
            raise ConfigError(f"agency {self.agency_id} (adapter {self.instance.adapter}): credential `secret` is "
                              f"missing: set the password of the Airflow Connection `{connection}` or the "
                              f"environment variable {env_var(connection)}")
        token_url = a.token_url
        if token_url and "://" not in token_url:
            token_url = base_url.rstrip("/") + "/" + token_url.lstrip("/")
        return auth_strategy(a.type, secret=self.config.secret, username=self.config.username, header=a.header,
                             token_url=token_url, scope=a.scope, agency=self.agency_id,
                             timeout=self.instance.timeout_seconds, session=self.session)

    def conv(self, spec: str) -> Converter:
        return converter(spec, statuses=self.statuses, vocabulary=self.vocab)

    # --- verbs ---------------------------------------------------------------------------------------------------

    def probe(self) -> object:
        check = self.spec.check
        first = next(iter(self.compiled.values()))
        if check is None:
            return self._get(first, self._render(first.d.path), {}, retry=NO_RETRY)[1]
        return self._get(first, self._render(check.path), self._params(check.params, None, 1), retry=NO_RETRY)[1]

    def _get(self, s: _Stream, path: str, params: Mapping[str, Any], headers: Mapping[str, str] | None = None,
             ok: tuple[int, ...] = (200,), retry: Any = None) -> tuple[Any, Any]:
        return self.http.fetch(path, params, headers, ok, retry, format=s.d.format, encoding=s.d.encoding,
                               delimiter=s.d.delimiter)

    def read_catalog(self, cursor: Cursor | None) -> Iterator[Page]:
        return self._read(self.compiled[StreamName.CATALOG], cursor)

    def read_applications(self, cursor: Cursor | None) -> Iterator[Page]:
        return self._read(self.compiled[StreamName.APPLICATIONS], cursor)

    def _read(self, s: _Stream, cursor: Cursor | None) -> Iterator[Page]:
        return self._incremental(s, cursor) if s.updated is not None else self._full(s, cursor)

    # --- full streams --------------------------------------------------------------------------------------------

    def _full(self, s: _Stream, cursor: Cursor | None) -> Iterator[Page]:
        """Every page of a full read. A ``conditional`` stream sends the validators of the last complete read (the
        engine keeps them, see ``CONDITIONAL``) with its first request; a 304 is one empty "not modified" page."""
        pager = s.new_paginator(self.agency_id)
        path: str | None = None
        params = {**self._params(s.d.params, None, self._page_size(s)), **(pager.first() if pager else {})}
        held = (cursor or {}).get(CONDITIONAL) if s.conditional else None
        validators: dict[str, str] | None = None
        while True:
            if s.conditional and path is None:
                resp, body = self._get(s, self._render(s.d.path), params, _conditional_headers(held), (200, 304))
                if resp.status == 304:
                    yield Page([], None, not_modified=True, validators=held)
                    return
                validators = {k: resp.headers[h] for k, h in (("etag", "ETag"), ("last_modified", "Last-Modified"))
                              if resp.headers.get(h)} or None
            else:
                resp, body = self._get(s, path or self._render(s.d.path), params)
            items = s.items(body)
            records, rejects = map_items(items, lambda item: self._record(s, item, None), s.record_id)
            token = pager.next_token(PageResponse(body, resp.headers, len(items))) if pager else None
            yield Page(records, None, rejects, validators=validators)
            if token is None or not items or pager is None:
                return
            path, params = pager.apply(token, params)

    # --- incremental streams -------------------------------------------------------------------------------------

    def _incremental(self, s: _Stream, cursor: Cursor | None) -> Iterator[Page]:
        assert s.d.incremental is not None and s.updated is not None
        pager = s.new_paginator(self.agency_id)
        first = pager.first().get(pager.param) if pager and pager.positional else None
        tries = _Tries()

        def fetch(position: Keyset | None, token: Any) -> tuple[list[Any], PageResponse]:
            path, params = self._incremental_request(s, pager, token, first, position)
            resp, body = self._get(s, path, params)
            items = s.items(body)
            return s.canonical(items, tries), PageResponse(body, resp.headers, len(items))

        return keyset_read(cursor, agency=self.agency_id, token_key=s.d.incremental.cursor_key, fetch=fetch,
                           paginator=pager, stop_when_empty=True, record_id=s.record_id,
                           updated=partial(self._updated, s), build=partial(self._record, s),
                           check=checked_record_times)

    def _incremental_request(self, s: _Stream, pager: Paginator | None, token: Any, first: Any,
                             position: Keyset | None) -> tuple[str, dict[str, Any]]:
        since = None
        if position is not None and s.since_writer is not None:
            since = s.since_writer.write(position.since(s.since_filter))
        params = self._params(s.d.params, since, self._page_size(s))
        if since is not None and s.d.since is not None and s.d.since.param:
            params[s.d.since.param] = since
        if pager is None:
            return self._render(s.d.path), params
        if token is None or token == first:
            return self._render(s.d.path), {**params, **pager.first()}
        if not pager.positional:
            params = self._params(s.d.params, None, self._page_size(s))  # the token carries the position
        url, params = pager.apply(token, params)
        return url or self._render(s.d.path), params

    # --- mapping -------------------------------------------------------------------------------------------------

    @staticmethod
    def _updated(s: _Stream, item: Any) -> datetime:
        assert s.updated is not None and s.d.incremental is not None  # only incremental streams read by keyset
        return s.updated.read(dig(item, (s.d.incremental.field,)), item)

    def _record(self, s: _Stream, item: Any, updated: datetime | None) -> dict[str, Any]:
        if not isinstance(item, Mapping):
            raise SkippableError("a record that is not an object")
        record: dict[str, Any] = {"agency_id": self.agency_id}
        for f in s.fields:
            record[f.name] = f.value(item)
        if s.name is StreamName.APPLICATIONS:
            if updated is not None:
                record.setdefault("source_updated_at", updated)
            checked_record_times(record)
        return record

    # --- templates -----------------------------------------------------------------------------------------------

    def _page_size(self, s: _Stream) -> int:
        return min(self.instance.page_size, s.d.max_page_size)

    def _values(self, since: str | None, page_size: int) -> dict[str, Any]:
        return {**self.config.vars, "page_size": page_size, "since": since}

    def _render(self, template: str) -> str:
        return _fill(template, self._values(None, 0), what="path") or template

    def _params(self, params: Mapping[str, Any], since: str | None, page_size: int) -> dict[str, Any]:
        values = self._values(since, page_size)
        out: dict[str, Any] = {}
        for name, value in params.items():
            filled = _fill(value, values, what=f"parameter {name}") if isinstance(value, str) else value
            if filled is not None:
                out[name] = filled
        return out


def _fill(template: str, values: Mapping[str, Any], *, what: str) -> str | None:
    """``template`` with ``{name}`` filled from ``values``; None when a value it needs is None (no cursor yet)."""
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    unknown = [n for n in names if n not in values]
    if unknown:
        raise ConfigError(f"{what}: unknown template value {{{unknown[0]}}}; known: "
                          f"{', '.join('{' + k + '}' for k in sorted(values))} (add others under config.vars)")
    if any(values[n] is None for n in names):
        return None
    return template.format(**values)


def _conditional_headers(validators: Any) -> dict[str, str] | None:
    if not isinstance(validators, Mapping):
        return None
    headers = {h: str(validators[k]) for k, h in (("etag", "If-None-Match"), ("last_modified", "If-Modified-Since"))
               if validators.get(k)}
    return headers or None


def _inline_statuses(doc: dict[str, Any], source: str) -> StatusMapping:
    return StatusMapping.from_document(doc, source)  # normalise: and aliases: work inline too


def _inline_vocabulary(doc: dict[str, Any], source: str) -> Vocabulary:
    return Vocabulary.from_document(doc, source)
