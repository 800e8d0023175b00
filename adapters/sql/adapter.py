"""``SqlAdapter``: the adapter type ``sql``, for a regional system with no API whose office grants a read-only view
(or a query) in its own database. Everything specific to the agency is a spec (see ``adapters.sql.spec``).

This is the one adapter that imports SQLAlchemy: it reads the AGENCY's database, never the portal store (the layer
contract ``one-room-speaks-sql`` names this exception).

- Incremental streams read by keyset on ``(update time, id)``: ``WHERE t >= :since ORDER BY t, id`` with bound
  parameters only, through the SDK's one keyset loop (``keyset_read``), so a record changed again within the boundary
  instant, even one with a lower id than the last read, is delivered and a replay of one already handled is not.
- Rows are streamed (a server-side cursor, ``yield_per``) and cut into pages: memory stays flat however big the view.
- Full streams are read whole, ordered by id; the engine withdraws catalog entries that are no longer there.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import URL, Engine, MappingResult

from adapters.sql.spec import SqlSpec, SqlStreamDef, load_sql_spec, read_sql_spec
from mpp_bus.config.agencies import AgencyInstance
from mpp_bus.config.connections import env_var
from mpp_bus.contract import AdapterConfig, Cursor, Page, StatusMapping, StreamName, StreamSpec
from mpp_bus.declarative.adapter import _Field, _inline_vocabulary
from mpp_bus.errors import ConfigError, FatalError, RetriableError
from mpp_bus.transport import (
    AgencyAdapter,
    Converter,
    Keyset,
    PageResponse,
    Paginator,
    Vocabulary,
    checked_record_times,
    converter,
    keyset_read,
    map_items,
    zone,
)

# Airflow connection types -> SQLAlchemy drivers the bus ships (the `sql` extra brings PyMySQL).
DRIVERS = {"mysql": "mysql+pymysql", "mariadb": "mysql+pymysql", "postgres": "postgresql+psycopg",
           "postgresql": "postgresql+psycopg"}
# Config keys that would put a credential in the agencies file.
_SECRET_KEYS = ("url", "password")


class SqlConfig(AdapterConfig):
    """Where the agency's database is. Everything but ``spec``/``spec_file`` comes from the connection: its type,
    host, port, schema (the database), login and password; or ``extra.url``, a whole SQLAlchemy URL."""

    spec: dict[str, Any] | None = None
    spec_file: str | None = None
    conn_type: str | None = None
    driver: str | None = None  # a SQLAlchemy dialect+driver overriding the one of the connection type
    host: str | None = None
    port: int | None = None
    database: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    url: SecretStr | None = None
    connection_fields: ClassVar[dict[str, str]] = {"conn_type": "conn_type", "host": "host", "port": "port",
                                                    "schema": "database", "login": "username",
                                                    "password": "password"}

    def sqlalchemy_url(self, agency: str, connection_id: str) -> URL:
        if self.url is not None:
            return sa.make_url(self.url.get_secret_value())
        drivername = self.driver or DRIVERS.get((self.conn_type or "").lower())
        if drivername is None or not self.host:
            raise ConfigError(f"agency {agency} (adapter sql): the Airflow Connection `{connection_id}` (or the "
                              f"environment variable {env_var(connection_id)}) must give the database: a conn_type "
                              f"among {', '.join(sorted(DRIVERS))} (or `driver`), a host, port, schema, login and "
                              "password, or `extra.url`")
        return URL.create(drivername, username=self.username,
                          password=self.password.get_secret_value() if self.password else None,
                          host=self.host, port=self.port, database=self.database)


class _Stream:
    """A stream of the spec, compiled: converters checked once, the SELECT written once."""

    def __init__(self, name: StreamName, d: SqlStreamDef, adapter: SqlAdapter) -> None:
        self.name, self.d = name, d
        # Column names are names of their own, never dotted paths.
        self.fields = [_Field(f, s, adapter.conv(s.convert) if s.convert else None, False)
                       for f, s in d.fields.items()]
        self.updated: Converter | None = adapter.conv(d.incremental.convert) if d.incremental else None
        # A column without an offset is in the zone of its converter (`datetime@Asia/Jakarta`); the bound `since`
        # is written in it so the database compares like with like.
        tz = d.incremental.convert.partition("@")[2] if d.incremental else ""
        self.zone = zone(tz) if tz else None
        quote = adapter.engine.dialect.identifier_preparer.quote
        source = quote(d.view) if d.view else f"({d.query}) AS mpp_source"
        id_col = quote(d.id)
        if d.incremental is None:
            self.select = f"SELECT * FROM {source} ORDER BY {id_col}"
            self.select_since = self.select
        else:
            t = quote(d.incremental.field)
            self.select = f"SELECT * FROM {source} ORDER BY {t}, {id_col}"
            self.select_since = f"SELECT * FROM {source} WHERE {t} >= :since ORDER BY {t}, {id_col}"

    @property
    def spec(self) -> StreamSpec:
        return StreamSpec(self.name, self.d.mode, self.d.incremental.field if self.d.incremental else None)

    def record_id(self, row: Mapping[str, Any]) -> str | None:
        value = row.get(self.d.id)
        return None if value in (None, "") else str(value)

    def since(self, position: Keyset) -> datetime:
        moment = position.updated
        return moment.astimezone(self.zone).replace(tzinfo=None) if self.zone else moment


class _Partitions(Paginator):
    """Pages of one streamed result: there is a next page while the last one was full. Tokens are unique per read
    (a resumed cursor's token only tells the read to open the query again from its keyset position)."""

    def __init__(self, size: int, *, agency: str) -> None:
        super().__init__(agency=agency)
        self.size, self.prefix, self.counter = size, secrets.token_hex(4), itertools.count(1)

    def extract(self, response: Any) -> str | None:
        count = response.count if isinstance(response, PageResponse) else 0
        return f"{self.prefix}-{next(self.counter)}" if count >= self.size else None


class SqlAdapter(AgencyAdapter[SqlConfig]):
    """An agency read from a view or query in its own database, described by a spec (see ``adapters.sql.spec``).

    Example agencies file entry (the database's address and credentials are in the connection)::

        - id: dpmptsp-3372
          adapter: sql
          name: DPMPTSP Kota Surakarta
          level: kabupaten_kota
          connection_id: surakarta_db     # AIRFLOW_CONN_SURAKARTA_DB='mysql://mpp:...@10.1.2.3:3306/sipp'
          config: {spec_file: specs/surakarta.yaml}
    """

    name = "sql"
    version = "1.0.0"
    wraps = "a read-only view or query in an agency's own database (MariaDB/MySQL, PostgreSQL), by spec"
    config_model = SqlConfig
    spec_path: ClassVar[Path | None] = None

    def __init__(self, instance: AgencyInstance, config: SqlConfig, **options: Any) -> None:
        super().__init__(instance, config, **options)
        given = [k for k in _SECRET_KEYS if k in instance.config]
        if given:
            raise ConfigError(f"agency {instance.id} (adapter sql): `{given[0]}` is in the agencies file; credentials "
                              f"belong in the Airflow Connection `{instance.connection_id}` or the environment "
                              f"variable {env_var(instance.connection_id)}")
        self.spec = self._load_spec(config)
        self.statuses: StatusMapping | None = self._table(self.spec.statuses, "statuses")
        self.vocab: Vocabulary | None = self._table(self.spec.vocabulary, "vocabulary")
        self.status_mapping = self.statuses  # type: ignore[misc]  # the instance's table, for the kit and engine
        self.engine: Engine = sa.create_engine(
            config.sqlalchemy_url(instance.id, instance.connection_id), pool_pre_ping=True,
            connect_args=_connect_timeout(config, instance.timeout_seconds))
        self.compiled = {name: _Stream(name, d, self) for name, d in self.spec.streams.items()}
        self.stream_specs = tuple(s.spec for s in self.compiled.values())  # type: ignore[misc]  # per instance

    # --- building ------------------------------------------------------------------------------------------------

    def _load_spec(self, config: SqlConfig) -> SqlSpec:
        if config.spec is not None:
            return load_sql_spec(config.spec, source=f"agency {self.agency_id} config.spec", root=None)
        path = Path(config.spec_file) if config.spec_file else self.spec_path
        if path is None:
            raise ConfigError(f"agency {self.agency_id}: a `sql` adapter needs `spec` or `spec_file` in its config")
        return read_sql_spec(path)

    def _table(self, value: Any, what: str) -> Any:
        if value is None:
            return None
        source = f"{self.spec.source} {what}"
        if isinstance(value, dict):
            return StatusMapping.from_document(value, source) if what == "statuses" else \
                _inline_vocabulary(value, source)
        path = Path(value)
        if not path.is_absolute() and self.spec.root is not None:
            path = self.spec.root / path
        return StatusMapping.load(path) if what == "statuses" else Vocabulary.load(path)

    def conv(self, spec: str) -> Converter:
        return converter(spec, statuses=self.statuses, vocabulary=self.vocab)

    # --- verbs ---------------------------------------------------------------------------------------------------

    def probe(self) -> object:
        with self._errors(), self.engine.connect() as conn:
            for s in self.compiled.values():  # can we read every view, not only log in
                conn.execute(sa.text(f"SELECT * FROM ({s.select}) AS mpp_probe WHERE 1 = 0")).all()
        return True

    def read_catalog(self, cursor: Cursor | None) -> Iterator[Page]:
        return self._read(self.compiled[StreamName.CATALOG], cursor)

    def read_applications(self, cursor: Cursor | None) -> Iterator[Page]:
        return self._read(self.compiled[StreamName.APPLICATIONS], cursor)

    def _read(self, s: _Stream, cursor: Cursor | None) -> Iterator[Page]:
        return self._incremental(s, cursor) if s.updated is not None else self._full(s)

    def _page_size(self, s: _Stream) -> int:
        return min(self.instance.page_size, s.d.max_page_size)

    def _full(self, s: _Stream) -> Iterator[Page]:
        with self._errors(), self.engine.connect() as conn:
            result = self._stream(conn, s.select, {}, self._page_size(s))
            for rows in result.partitions():
                records, rejects = map_items(rows, lambda row: self._record(s, row, None), s.record_id, _payload)
                yield Page(records, None, rejects)

    def _incremental(self, s: _Stream, cursor: Cursor | None) -> Iterator[Page]:
        assert s.d.incremental is not None
        size = self._page_size(s)
        open_: dict[str, Any] = {}  # the connection and the partitions of the streamed result, once opened

        def fetch(position: Keyset | None, token: Any) -> tuple[list[Any], PageResponse]:
            if "pages" not in open_:  # the first page, or a read resumed from a cursor: query from the position
                conn = open_["conn"] = self.engine.connect()
                sql, params = (s.select, {}) if position is None else (s.select_since, {"since": s.since(position)})
                open_["pages"] = self._stream(conn, sql, params, size).partitions()
            rows: list[Any] = list(next(open_["pages"], []))
            return rows, PageResponse(None, {}, len(rows))

        try:
            with self._errors():
                yield from keyset_read(cursor, agency=self.agency_id, token_key=s.d.incremental.cursor_key,
                                       fetch=fetch, paginator=_Partitions(size, agency=self.agency_id),
                                       stop_when_empty=True, record_id=s.record_id,
                                       updated=partial(self._updated, s), build=partial(self._record, s),
                                       payload=_payload)
        finally:
            if "conn" in open_:
                open_["conn"].close()

    @staticmethod
    def _stream(conn: sa.Connection, sql: str, params: Mapping[str, Any], size: int) -> MappingResult:
        # stream_results: a server-side cursor (PyMySQL's SSCursor, a psycopg named cursor), fetched `size` rows
        # at a time, so the whole view is never in memory.
        return conn.execution_options(stream_results=True, yield_per=size).execute(sa.text(sql), dict(params)) \
            .mappings()

    def _errors(self) -> AbstractContextManager[None]:
        return _translate(self.agency_id)

    # --- mapping -------------------------------------------------------------------------------------------------

    @staticmethod
    def _updated(s: _Stream, row: Mapping[str, Any]) -> datetime:
        assert s.updated is not None and s.d.incremental is not None
        return s.updated.read(row.get(s.d.incremental.field), row)

    def _record(self, s: _Stream, row: Mapping[str, Any], updated: datetime | None) -> dict[str, Any]:
        record: dict[str, Any] = {"agency_id": self.agency_id}
        for f in s.fields:
            record[f.name] = f.value(row)
        if s.name is StreamName.APPLICATIONS:
            if updated is not None:
                record.setdefault("source_updated_at", updated)
            checked_record_times(record)
        return record

    def close(self) -> None:
        self.engine.dispose()
        super().close()


def _payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as plain JSON values, for a quarantine payload (the engine redacts it)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, bytes):
            value = value.hex()
        out[str(key)] = value
    return out


def _connect_timeout(config: SqlConfig, seconds: float) -> dict[str, Any]:
    url = config.sqlalchemy_url("", "") if (config.url or config.host) else None
    if url is None:
        return {}
    name = url.get_backend_name()
    if name in ("mysql", "mariadb", "postgresql"):
        return {"connect_timeout": max(1, int(seconds))}
    return {}


@contextmanager
def _translate(agency: str) -> Iterator[None]:
    """Database errors as the bus's error types, located at the agency: a lost or refused connection is retriable;
    a query the database refuses (a view dropped, a column renamed, access denied) is fatal until someone acts. The
    message names the driver's error type only: its text may quote the SQL and its parameters."""
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        problem = type(exc.orig).__name__ if isinstance(exc, sa.exc.DBAPIError) else type(exc).__name__
        if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError):
            raise RetriableError(f"the agency's database is unreachable or failing ({problem}); it is retried, or "
                                 "check the host and port of its connection", agency=agency) from exc
        raise FatalError(f"the agency's database refused the read ({problem}); check that the view or query of the "
                         "spec still exists and the connection's login may read it", agency=agency) from exc
