"""The floor: a minimal hand-written loop that leaves the store as a full sync does, to measure the engine against.

``python -m mpp_bus.bench.floor`` with its spec as JSON on stdin, in a fresh process like the engine's scenarios
(``child.py``); the result is one JSON object on stdout. ``mpp-bus bench`` runs it beside each full sync, against the
same mock agency and a fresh database of its own, and reports ``engine / floor``.

This module is deliberately independent of the bus: it talks to the agency with ``requests`` and to the database
with psycopg and sqlite3 directly, never through the engine, the adapters or the store's SQLAlchemy layer. It calls
the store only to create and migrate its fresh database (the runner does that), so the tables it fills are the
store's own. What it does per page is the least work that gives the same stored result as the engine's full sync:

- fetch one page (REST: a GET with the OAuth2 bearer token; SOAP: a plain POST of the envelope with the WS-Security
  UsernameToken the agency requires);
- parse and validate the whole page in one pydantic-core pass (REST: ``validate_json`` on the response bytes; SOAP:
  an lxml walk into one dict per record, then one ``validate_python`` of the page's list), checking what the
  canonical model checks cheaply there: required fields, times with a zone, dates, the NIK as 16 digits, and a known
  agency status;
- per record: the NIK's HMAC and mask, the canonical status, the content hash and the history idempotency key (the
  engine's formulas, so rows compare equal), the application row and its history row;
- write: PostgreSQL, binary COPY into temporary staging tables, then one guarded upsert of applications
  (``INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE excluded.source_updated_at > ...``) and one insert of
  history (``ON CONFLICT DO NOTHING`` on the idempotency key) in one round trip; SQLite, the same two statements
  with ``executemany``; one commit per page, as durable as the engine's (``synchronous_commit`` off per page on
  PostgreSQL, WAL with ``synchronous=NORMAL`` on SQLite).

What it skips, because a full sync into an empty store does not need it for the rows it leaves: the agency and
cursor rows, the sync-run record and its counts, the writer lock, the circuit breaker, retries, quarantine
bookkeeping (an invalid record fails the floor instead), the lifecycle decisions against stored state (the store is
empty, and the upsert's guard still keeps time from going backwards), the NIK's region and birth-date checks beyond
its shape, the read-ahead thread, and the planner statistics refresh after a large run. The engine's
``engine / floor`` ratio is thus what those guarantees plus its own overheads cost.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from xml.sax.saxutils import escape

import psycopg
import requests
from lxml import etree
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from mpp_bus.bench.common import BENCH_NIK_KEY, peak_rss_mib
from mpp_bus.privacy import NikHasher, redact_text

# --- the agencies' pages, as one pydantic-core validator each ---------------------------------------------------

Nik = Annotated[str, StringConstraints(pattern=r"^[0-9]{16}$")]
# The adapters' status tables (adapters/*/statuses.yaml), copied: the floor reads no adapter.
LICENSING_STATUSES = {"SUBMITTED": "submitted", "REVISION_REQUIRED": "needs_revision", "VERIFICATION": "verified",
                      "PROCESSING": "in_process", "APPROVED": "approved", "ISSUED": "completed",
                      "REJECTED": "rejected", "CANCELLED": "cancelled"}
DUKCAPIL_STATUSES = {"BARU": "submitted", "PERBAIKAN": "needs_revision", "VERIFIKASI": "verified",
                     "PROSES": "in_process", "TERBIT": "completed", "DITOLAK": "rejected", "BATAL": "cancelled"}
LicensingStatus = Literal["SUBMITTED", "REVISION_REQUIRED", "VERIFICATION", "PROCESSING", "APPROVED", "ISSUED",
                          "REJECTED", "CANCELLED"]
DukcapilStatus = Literal["BARU", "PERBAIKAN", "VERIFIKASI", "PROSES", "TERBIT", "DITOLAK", "BATAL"]


class RestApplication(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    service_code: str
    applicant_nik: Nik
    status: LicensingStatus
    status_at: AwareDatetime
    submitted_at: AwareDatetime
    sla_due_date: date | None = None
    document_number: str | None = None
    revision_note: str | None = None
    updated_at: AwareDatetime


class RestPage(BaseModel):
    data: list[RestApplication]
    next_cursor: str | None = None


NOTE_LENGTH = 1000  # Application.revision_note's limit

SOAP_NS = "urn:mpp:mock:dukcapil:v1"
_T = f"{{{SOAP_NS}}}"


class SoapApplication(BaseModel):
    """Fields by their namespaced element names, so the walk keys each dict by ``child.tag`` as lxml gives it."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(alias="{urn:mpp:mock:dukcapil:v1}NomorPermohonan")
    service_code: str = Field(alias="{urn:mpp:mock:dukcapil:v1}KodeLayanan")
    applicant_nik: Nik = Field(alias="{urn:mpp:mock:dukcapil:v1}NikPemohon")
    status: DukcapilStatus = Field(alias="{urn:mpp:mock:dukcapil:v1}StatusKode")
    status_at: AwareDatetime = Field(alias="{urn:mpp:mock:dukcapil:v1}WaktuStatus")
    submitted_at: AwareDatetime = Field(alias="{urn:mpp:mock:dukcapil:v1}WaktuPengajuan")
    sla_due_date: date | None = Field(None, alias="{urn:mpp:mock:dukcapil:v1}BatasSla")
    document_number: str | None = Field(None, alias="{urn:mpp:mock:dukcapil:v1}NomorDokumen")
    updated_at: AwareDatetime = Field(alias="{urn:mpp:mock:dukcapil:v1}DiperbaruiPada")


REST_PAGE = TypeAdapter(RestPage)
SOAP_ITEMS = TypeAdapter(list[SoapApplication])
Application = RestApplication | SoapApplication
Page = tuple[Sequence[Application], float]
"""One validated page and the seconds spent validating it."""

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
# No DTD, no entities, no network: as safe as the adapters' parsing.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class Fetched:
    """Seconds spent waiting for the agency, added up by the page readers."""

    def __init__(self) -> None:
        self.seconds = 0.0


def rest_pages(base_url: str, tenant: str, connection: dict[str, Any], page_size: int,
               fetched: Fetched) -> Iterator[Page]:
    """The licensing agency's applications from the start, one validated page at a time."""
    clock = time.perf_counter
    with requests.Session() as session:
        token = session.post(f"{base_url}/oauth/token", timeout=60, data={
            "grant_type": "client_credentials", "client_id": connection["login"],
            "client_secret": connection["password"]})
        token.raise_for_status()
        session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        url = f"{base_url}/api/v1/{tenant}/applications"
        params: dict[str, Any] = {"limit": page_size}
        while True:
            started = clock()
            response = session.get(url, params=params, timeout=120)
            response.raise_for_status()
            body = response.content
            parsed = clock()
            fetched.seconds += parsed - started
            page = REST_PAGE.validate_json(body)
            yield page.data, clock() - parsed
            if page.next_cursor is None:
                return
            params = {"limit": page_size, "cursor": page.next_cursor}


def soap_pages(base_url: str, connection: dict[str, Any], page_size: int, fetched: Fetched) -> Iterator[Page]:
    """Dukcapil's applications from the start, one validated page at a time."""
    clock = time.perf_counter
    security = (f'<soap-env:Header><wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken>'
                f"<wsse:Username>{escape(connection['login'])}</wsse:Username>"
                f'<wsse:Password Type="{PASSWORD_TEXT}">{escape(connection["password"])}</wsse:Password>'
                "</wsse:UsernameToken></wsse:Security></soap-env:Header>")
    items_tag, token_tag = f"{_T}Items", f"{_T}NextPageToken"
    token: str | None = None
    with requests.Session() as session:
        while True:
            envelope = (f"<?xml version='1.0' encoding='utf-8'?>\n<soap-env:Envelope xmlns:soap-env=\"{SOAP_ENV}\">"
                        f'{security}<soap-env:Body><ns0:GetApplicationsChangedSince xmlns:ns0="{SOAP_NS}">'
                        "<ns0:Since>1970-01-01T00:00:00+00:00</ns0:Since>"
                        + (f"<ns0:PageToken>{escape(token)}</ns0:PageToken>" if token else "")
                        + f"<ns0:PageSize>{page_size}</ns0:PageSize></ns0:GetApplicationsChangedSince>"
                        "</soap-env:Body></soap-env:Envelope>")
            started = clock()
            response = session.post(f"{base_url}/ws/dukcapil", data=envelope.encode(), timeout=120, headers={
                "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"GetApplicationsChangedSince"'})
            response.raise_for_status()
            body = response.content
            parsed = clock()
            fetched.seconds += parsed - started
            root = etree.fromstring(body, _PARSER)
            # Envelope / Body / GetApplicationsChangedSinceResponse / GetApplicationsChangedSinceResult
            result = root[-1][0][0]
            items: list[dict[str, str | None]] = []
            token = None
            for part in result:
                if part.tag == items_tag:
                    items = [{child.tag: child.text for child in element} for element in part]
                elif part.tag == token_tag:
                    token = part.text or None
            yield SOAP_ITEMS.validate_python(items), clock() - parsed
            if token is None:
                return


# --- rows: the engine's formulas, so the two stores compare equal -------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def prepare(page: Sequence[Application], agency_id: str, statuses: dict[str, str], nik_hash: Callable[[str], str],
            now: datetime, time_enc: Callable[[datetime], Any], date_enc: Callable[[date | None], Any]) -> Rows:
    """Application rows (one per id, the newest) and history rows (one per record) of one page."""
    sha256, blake2b = hashlib.sha256, hashlib.blake2b
    epoch, micro, utc = _EPOCH, _MICRO, UTC
    now_enc = time_enc(now)
    stars = "*" * 12
    winners: dict[str, tuple[Any, ...]] = {}
    events: list[tuple[Any, ...]] = []
    for r in page:
        app_id, nik, agency_status, updated = r.id, r.applicant_nik, r.status, r.updated_at
        status = statuses[agency_status]
        status_at = r.status_at.astimezone(utc)
        hashed = nik_hash(nik)
        due, document, service, submitted = r.sla_due_date, r.document_number, r.service_code, r.submitted_at
        # The agency's note on what to fix, as the store keeps it: whitespace collapsed, cut, personal data masked.
        note = getattr(r, "revision_note", None)
        note = redact_text(" ".join(note.split())[:NOTE_LENGTH]) or None if note else None
        content_hash = blake2b(
            f"{service}|{hashed}|{status}|{agency_status}|{(status_at - epoch) // micro}|"
            f"{(submitted - epoch) // micro}|{due and due.toordinal()}|{document}|"
            f"{(updated - epoch) // micro}{f'|{note}' if note else ''}".encode(),
            digest_size=16,
        ).hexdigest()
        key = sha256(f"{agency_id}|{app_id}|{agency_status}|{status_at.isoformat()}".encode()).hexdigest()
        status_at_enc, updated_enc = time_enc(status_at), time_enc(updated)
        row = (agency_id, app_id, service, hashed, f"{nik[:2]}{stars}{nik[-2:]}", status, agency_status,
               status_at_enc, time_enc(submitted), date_enc(due), document, updated_enc, content_hash, note, now_enc)
        held = winners.get(app_id)
        # An id twice in one page (agencies that stamp to the second): the newer wins and both are history, as in
        # the engine; an equal time with equal content is the same record again. The lifecycle is not judged here.
        if held is None or updated_enc > held[11]:
            winners[app_id] = row
            applied = True
        elif updated_enc == held[11] and content_hash == held[12]:
            continue
        else:
            applied = False
        events.append((agency_id, app_id, status, agency_status, status_at_enc, key, applied, now_enc))
    return list(winners.values()), events


# --- the two stores ----------------------------------------------------------------------------------------------

APP_COLUMNS = ("agency_id", "application_id", "service_code", "nik_hash", "nik_masked", "status", "agency_status",
               "status_at", "submitted_at", "sla_due_date", "output_document", "source_updated_at", "content_hash",
               "revision_note", "synced_at")
EVENT_COLUMNS = ("agency_id", "application_id", "status", "agency_status", "occurred_at", "idempotency_key",
                 "applied", "recorded_at")
_APPS, _EVENTS = ", ".join(APP_COLUMNS), ", ".join(EVENT_COLUMNS)
_UPDATES = ", ".join(f"{c} = excluded.{c}" for c in APP_COLUMNS[2:])
_UPSERT_GUARD = ("ON CONFLICT (agency_id, application_id) DO UPDATE SET " + _UPDATES
                 + " WHERE excluded.source_updated_at > applications.source_updated_at")
_EVENT_GUARD = "ON CONFLICT (application_id, agency_id, idempotency_key) DO NOTHING"
_PG_TIME = "timestamptz"
_PG_APP_TYPES = ["text"] * 7 + [_PG_TIME, _PG_TIME, "date", "text", _PG_TIME, "text", "text", _PG_TIME]
_PG_EVENT_TYPES = ["text"] * 4 + [_PG_TIME, "text", "bool", _PG_TIME]


def _same(value: Any) -> Any:
    return value


class PostgresFloor:
    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(conninfo(url))
        with self.conn.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE floor_apps ON COMMIT DELETE ROWS AS SELECT {_APPS} FROM applications "
                        "WITH NO DATA")
            cur.execute(f"CREATE TEMP TABLE floor_events ON COMMIT DELETE ROWS AS SELECT {_EVENTS} "
                        "FROM status_events WITH NO DATA")
        self.conn.commit()
        self.statements = ("SET LOCAL synchronous_commit TO OFF; "
                           f"INSERT INTO applications ({_APPS}) SELECT {_APPS} FROM floor_apps {_UPSERT_GUARD}; "
                           f"INSERT INTO status_events ({_EVENTS}) SELECT {_EVENTS} FROM floor_events {_EVENT_GUARD}")

    # Aware datetimes and dates as they are: binary COPY sends the instant whatever the zone.
    time_enc = staticmethod(_same)
    date_enc = staticmethod(_same)

    def write(self, rows: Rows) -> None:
        apps, events = rows
        with self.conn.cursor() as cur:
            for table, types, data in (("floor_apps", _PG_APP_TYPES, apps), ("floor_events", _PG_EVENT_TYPES, events)):
                columns = _APPS if table == "floor_apps" else _EVENTS
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(types)
                    write_row = copy.write_row
                    for row in data:
                        write_row(row)
            cur.execute(self.statements)
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


def _sqlite_time(value: datetime) -> str:
    # The text the store keeps for an aware datetime (mpp_bus.store.types.sqlite_time, which imports SQLAlchemy).
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


class SqliteFloor:
    time_enc = staticmethod(_sqlite_time)
    date_enc = staticmethod(_sqlite_date)

    def __init__(self, url: str) -> None:
        self.conn = sqlite3.connect(sqlite_path(url), timeout=30)
        # The store's own settings (mpp_bus.store.database): the same durability and page cache as the engine's.
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", "cache_size=-32768",
                       "wal_autocheckpoint=10000"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.upsert = f"INSERT INTO applications ({_APPS}) VALUES ({', '.join('?' * len(APP_COLUMNS))}) {_UPSERT_GUARD}"
        self.insert_events = (f"INSERT INTO status_events ({_EVENTS}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))}) "
                              f"{_EVENT_GUARD}")

    def write(self, rows: Rows) -> None:
        apps, events = rows
        self.conn.executemany(self.upsert, apps)
        self.conn.executemany(self.insert_events, events)
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


def conninfo(url: str) -> str:
    """A libpq URL from the store's SQLAlchemy-style one (``postgresql+psycopg://...``)."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.startswith("postgres") else url


def sqlite_path(url: str) -> str:
    if not url.startswith("sqlite:///"):
        raise ValueError("expected a sqlite:///path URL")
    return url[len("sqlite:///"):]


# --- the loop ----------------------------------------------------------------------------------------------------


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Spec: ``{"path": "rest" | "soap", "store_url", "url": the agency's base URL, "agency_id", "connection",
    "page_size", "tenant" (REST)}``."""
    clock = time.perf_counter
    store_url: str = spec["store_url"]
    store: PostgresFloor | SqliteFloor = (SqliteFloor(store_url) if store_url.startswith("sqlite")
                                          else PostgresFloor(store_url))
    fetched = Fetched()
    if spec["path"] == "rest":
        pages = rest_pages(spec["url"], spec["tenant"], spec["connection"], spec["page_size"], fetched)
        statuses = LICENSING_STATUSES
    else:
        pages = soap_pages(spec["url"], spec["connection"], spec["page_size"], fetched)
        statuses = DUKCAPIL_STATUSES
    nik_hash = NikHasher(BENCH_NIK_KEY).hash
    agency_id: str = spec["agency_id"]
    validate = mapped = written = 0.0
    read = stored = events = 0
    try:
        started = clock()
        for page, validated in pages:
            validate += validated
            prepared = clock()
            rows = prepare(page, agency_id, statuses, nik_hash, datetime.now(UTC), store.time_enc, store.date_enc)
            writing = clock()
            store.write(rows)
            mapped += writing - prepared
            written += clock() - writing
            read += len(page)
            stored += len(rows[0])
            events += len(rows[1])
        seconds = clock() - started
    finally:
        store.close()
    return {
        "read": read, "stored": stored, "events": events, "seconds": round(seconds, 4),
        "records_per_s": round(read / seconds) if seconds > 0 else None,
        "stages": {"fetch": round(fetched.seconds, 4), "validate": round(validate, 4), "map": round(mapped, 4),
                   "write": round(written, 4)},
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


# --- the same stored result? -------------------------------------------------------------------------------------


def stored_fingerprint(store_url: str, agency_id: str) -> dict[str, Any]:
    """Counts and an order-independent digest of an agency's application and history rows, leaving out only what
    differs between any two runs (when a row was synced or recorded, the history's surrogate id).

    Two stores of the same kind with equal fingerprints hold the same rows. Read in the driver after a full sync."""
    apps = f"SELECT {', '.join(APP_COLUMNS[:-1])} FROM applications WHERE agency_id = "
    history = f"SELECT {', '.join(EVENT_COLUMNS[:-1])} FROM status_events WHERE agency_id = "
    out: dict[str, Any] = {}
    if store_url.startswith("sqlite"):
        with sqlite3.connect(sqlite_path(store_url)) as conn:
            for name, query in (("applications", apps), ("status_events", history)):
                out[name] = _digest(conn.execute(query + "?", (agency_id,)))
        conn.close()
        return out
    with psycopg.connect(conninfo(store_url)) as pg:
        for name, query in (("applications", apps), ("status_events", history)):
            # A server-side cursor: the driver's memory stays flat however many rows the agency has.
            with pg.cursor(name=f"fingerprint_{name}") as cur:
                cur.itersize = 10_000
                cur.execute(query + "%s", (agency_id,))
                out[name] = _digest(cur)
    return out


def _digest(rows: Any) -> dict[str, Any]:
    count = total = 0
    blake2b = hashlib.blake2b
    for row in rows:
        count += 1
        total += int.from_bytes(blake2b(repr(tuple(row)).encode(), digest_size=8).digest(), "big")
    return {"rows": count, "digest": f"{total % (1 << 64):016x}"}


def main() -> int:
    print(json.dumps(run(json.load(sys.stdin))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
