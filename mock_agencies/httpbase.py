"""What the three mock servers share: a threaded HTTP/1.1 server, health, admin endpoints and fault injection."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from mock_agencies.admin import ADMIN_TOKEN
from mock_agencies.datasets import App, Dataset
from mock_agencies.faults import CallFault, Faults
from mock_agencies.population import Population
from mock_agencies.timefmt import rfc3339

TRUTH_LIMIT = 200_000  # the truth lists every record; beyond this it would be too big to be useful


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any  # http.client.HTTPMessage: case-insensitive get()
    body: bytes
    client: str = ""


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # send the headers and part of the body, then close the connection


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, "application/json", headers or {})


class Served(Protocol):
    """What a server thread serves: an agency, or the SSO provider."""

    agency: str

    def handle(self, request: Request) -> Response: ...


class AgencyServer:
    """One agency: routes, datasets and a fault profile. Subclasses implement `handle_data` and `error`."""

    agency = "agency"

    def __init__(self, seed: int, population: Population, size: int, faults: Faults) -> None:
        self.seed = seed
        self.population = population
        self.size = size
        self.faults = faults
        # Every submission request received (replays and duplicates included), so tests can count what arrived.
        self.received: list[dict[str, Any]] = []
        self._received_lock = threading.Lock()

    def note_received(self, **entry: Any) -> None:
        with self._received_lock:
            self.received.append({"at": time.time(), **entry})

    # --- to implement ----------------------------------------------------------------------------------------------

    def handle_data(self, request: Request) -> Response:
        raise NotImplementedError

    def error(self, status: int, code: str, message: str, retry_after: int | None = None) -> Response:
        raise NotImplementedError

    def dataset(self, name: str | None) -> Dataset | None:
        raise NotImplementedError

    def truth_row(self, record: App) -> dict[str, object]:
        return {"id": record.id, "status": record.status, "updated_at": rfc3339(record.updated_at),
                "service_code": record.service.code, "applicant_nik": record.nik}

    # --- dispatch --------------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path == "/health":
            return json_response(200, {"status": "ok", "agency": self.agency})
        if request.path.startswith("/admin/"):
            if request.headers.get("X-Admin-Token") != ADMIN_TOKEN:
                return json_response(403, {"error": "admin token missing or wrong (X-Admin-Token)"})
            return self.handle_admin(request)
        return self.handle_data(request)

    def with_faults(self, produce: Callable[[], Response]) -> Response:
        """Run one data call under the current fault profile."""
        fault: CallFault = self.faults.next_call()
        if fault.kind == "maintenance":
            return self.error(503, "maintenance", "Sistem sedang dalam pemeliharaan terjadwal. Silakan coba lagi "
                              "nanti.", retry_after=60)
        if fault.kind == "rate_limit":
            return self.error(429, "rate_limited", "Terlalu banyak permintaan.", retry_after=1)
        if fault.kind == "error":
            return self.error(fault.status, "server_error", "Kesalahan internal pada sistem layanan.")
        if fault.kind == "slow":
            time.sleep(fault.delay)
        response = produce()
        # A submission's 201 is dropped or cut like a page: the agency has created it, the client never hears so.
        if response.status in (200, 201) and fault.kind == "drop":
            response.drop = True
        elif response.status in (200, 201) and fault.kind == "truncate":
            response.body = response.body[: max(1, len(response.body) * 2 // 3)]
        return response

    def shape_page(self, dataset: Dataset, records: list[App]) -> list[tuple[App, int | None]]:
        """Apply the record-level faults to one page: corruption, duplicates within it, stale copies after it."""
        faults = self.faults
        seed = dataset.seed
        out: list[tuple[App, int | None]] = []
        for record in records:
            out.append((record, faults.corruption(seed, record.index)))
            if faults.duplicated(seed, record.index):
                out.append((record, None))
        if faults.profile == "out_of_order":
            for record in records:
                if faults.served_stale(seed, record.index):
                    stale = dataset.stale_version(record.index)
                    if stale is not None:
                        out.append((stale, None))
        return out

    # --- admin -----------------------------------------------------------------------------------------------------

    def handle_admin(self, request: Request) -> Response:
        route = (request.method, request.path)
        try:
            if route == ("POST", "/admin/advance"):
                return self.admin_advance(_json_body(request))
            if route == ("POST", "/admin/faults"):
                body = _json_body(request)
                self.faults.set(str(body.get("profile", "none")), _opt_float(body.get("rate")),
                                _opt_float(body.get("delay")))
                return json_response(200, self.faults.describe())
            if route == ("GET", "/admin/faults"):
                return json_response(200, self.faults.describe())
            if route == ("GET", "/admin/truth"):
                return self.admin_truth(request.query.get("dataset"))
            if route == ("GET", "/admin/citizens"):
                return self.admin_citizens(request.query)
            if route == ("GET", "/admin/submissions"):
                dataset = request.query.get("dataset")
                with self._received_lock:
                    received = [r for r in self.received if not dataset or r.get("dataset") == dataset]
                return json_response(200, {"agency": self.agency, "received": received})
        except ValueError as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(404, {"error": f"no admin route {request.method} {request.path}"})

    def admin_advance(self, body: dict[str, Any]) -> Response:
        dataset = self.dataset(body.get("dataset"))
        if dataset is None:
            return json_response(404, {"error": f"unknown dataset {body.get('dataset')!r}"})
        count = int(body.get("count", 1))
        if not 0 < count <= 100_000:
            raise ValueError("count must be between 1 and 100000")
        return json_response(200, {"dataset": dataset.name, "advanced": dataset.advance(count)})

    def admin_truth(self, name: str | None) -> Response:
        dataset = self.dataset(name)
        if dataset is None:
            return json_response(404, {"error": f"unknown dataset {name!r}"})
        if dataset.size > TRUTH_LIMIT:
            raise ValueError(f"the truth is only served for datasets of at most {TRUTH_LIMIT} records")
        records, corrupted = [], []
        for record in dataset.iter_all():
            if self.faults.corruption(dataset.seed, record.index) is not None:
                corrupted.append(record.id)
            else:
                records.append(self.truth_row(record))
        return json_response(200, {"dataset": dataset.name, "agency": self.agency, "profile": self.faults.profile,
                                   "count": len(records), "records": records, "corrupted": corrupted})

    def admin_citizens(self, query: dict[str, str]) -> Response:
        start = int(query.get("start", "0"))
        limit = min(int(query.get("limit", "10")), 1000)
        end = min(self.population.count, start + limit)
        return json_response(200, {"citizens": [self.population.citizen(i).public_dict()
                                                for i in range(max(0, start), end)]})


def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _opt_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


# --- HTTP plumbing -------------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a sync client reuses its connection for every page
    server_version = "MockAgency/1.0"
    # The headers and the body go out in two writes; with Nagle's algorithm a short body then waits for the
    # client's delayed ACK, 40 ms per response on Linux.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet: logs would carry query NIKs
        return

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        request = Request(self.command, parts.path, query, self.headers, body, self.client_address[0])
        try:
            response = self.server.app.handle(request)
        except Exception as exc:  # a bug in the mock must still answer, not hang the client
            response = json_response(500, {"error": f"mock server error: {type(exc).__name__}"})
        self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.drop:
            self.send_header("Connection", "close")
        self.end_headers()
        if response.drop:
            self.wfile.write(response.body[: max(1, len(response.body) // 3)])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = _serve
    do_POST = _serve
    do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: Served) -> None:
        self.app = app
        super().__init__(address, _Handler)


def start_server(app: Served, host: str, port: int) -> tuple[_Server, threading.Thread]:
    server = _Server((host, port), app)
    thread = threading.Thread(target=server.serve_forever, name=f"mock-{app.agency}", daemon=True)
    thread.start()
    return server, thread
