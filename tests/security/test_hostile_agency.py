"""A hostile agency: SOAP with a DTD, external entities or entity expansion is refused before anything is expanded
or fetched; oversized responses are cut off. Served by a tiny local server that impersonates Dukcapil with the real
WSDL of the mock."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from mock_agencies import MockAgencies
from mpp_bus.errors import FatalError
from mpp_bus.store import FAILED
from mpp_bus.transport import HttpClient
from tests.reliability.conftest import agencies_doc, make_bus

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "urn:mpp:mock:dukcapil:v1"


def response(doctype: str, value: str) -> bytes:
    return (f'<?xml version="1.0"?>{doctype}<s:Envelope xmlns:s="{ENV}"><s:Body>'
            f'<GetApplicationsChangedSinceResponse xmlns="{NS}"><GetApplicationsChangedSinceResult><Items>'
            f"<Permohonan><NomorPermohonan>{value}</NomorPermohonan></Permohonan></Items>"
            f"</GetApplicationsChangedSinceResult></GetApplicationsChangedSinceResponse></s:Body></s:Envelope>"
            ).encode()


LAUGHS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
HOSTILE = {
    "billion_laughs": response(f'<!DOCTYPE s:Envelope [<!ENTITY lol0 "lol">{LAUGHS}]>', "&lol9;"),
    "external_entity": response('<!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>', "&xxe;"),
    "external_dtd": response('<!DOCTYPE s:Envelope SYSTEM "EVIL/evil.dtd">', "DKP000000001"),
    "internal_dtd": response('<!DOCTYPE s:Envelope [<!ELEMENT s:Envelope ANY>]>', "DKP000000001"),
}


@dataclass
class Impostor:
    url: str = ""
    wsdl: bytes = b""
    answer: bytes = b""
    paths: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockAgencies]:
    with MockAgencies(seed=3, citizens=50, applications=20) as running:
        yield running


@pytest.fixture
def impostor(mocks: MockAgencies) -> Iterator[Impostor]:
    state = Impostor()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            state.paths.append(self.path)
            self._send(state.wsdl if "wsdl" in self.path else b"<!ENTITY stolen 'x'>")

        def do_POST(self) -> None:  # noqa: N802
            state.paths.append(self.path)
            self.rfile.read(int(self.headers["Content-Length"]))
            self._send(state.answer)

        def _send(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    real = requests.get(f"{mocks.urls['dukcapil']}/ws/dukcapil?wsdl", timeout=10).content
    state.wsdl = real.replace(mocks.urls["dukcapil"].encode(), state.url.encode())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_soap_is_refused_as_fatal_and_nothing_is_expanded_or_fetched(
    kind: str, impostor: Impostor, sqlite_url: str
) -> None:
    impostor.answer = HOSTILE[kind].replace(b"EVIL", impostor.url.encode())
    bus = make_bus(sqlite_url, agencies_doc({"dukcapil": impostor.url, "licensing": "", "tax": ""}))
    with pytest.raises(FatalError) as raised:
        bus.sync("dukcapil", "applications")
    message = str(raised.value)
    assert "DTD" in message and "lol" not in message and len(message) < 500
    assert not any("evil" in p for p in impostor.paths), "the external DTD was fetched"
    [run] = bus.store.recent_runs(agency_id="dukcapil")
    assert run.status == FAILED and run.read == 0
    assert bus.store.agency_summaries("dukcapil")[0].applications == 0


def test_a_hostile_wsdl_is_refused(impostor: Impostor, sqlite_url: str) -> None:
    impostor.wsdl = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + impostor.wsdl
    bus = make_bus(sqlite_url, agencies_doc({"dukcapil": impostor.url, "licensing": "", "tax": ""}))
    with pytest.raises(FatalError, match="DTD"):
        bus.sync("dukcapil", "applications")


@dataclass
class Big:
    body: bytes
    length: str | None = None


@pytest.fixture
def big_server() -> Iterator[tuple[str, Big]]:
    state = Big(b"")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", state.length or str(len(state.body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(state.body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_an_oversized_response_is_refused_without_reading_it_all(big_server: tuple[str, Big]) -> None:
    url, state = big_server
    client = HttpClient(url, agency="oss", timeout=5, max_response_bytes=100_000)
    state.body = b'{"data": ["' + b"x" * 300_000 + b'"]}'
    with pytest.raises(FatalError, match="larger than 100,000 bytes"):
        client.get_json("/api")
    state.length = str(10**12)  # announced: refused before a byte of the body is read
    with pytest.raises(FatalError, match="larger than"):
        client.get_json("/api")
    state.body, state.length = b'{"data": []}', None
    assert client.get_json("/api") == {"data": []}
