"""SoapClient against a tiny local SOAP server: WS-Security, fault translation and hostile XML refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from zeep.exceptions import Fault

from mpp_bus.config import RetryConfig
from mpp_bus.errors import AuthError, FatalError, RateLimitedError, RetriableError
from mpp_bus.transport import SoapClient, fault_error

WSDL = (Path(__file__).parent / "fixtures" / "ping.wsdl").read_text()
ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def envelope(body: str, prolog: str = "<?xml version='1.0' encoding='UTF-8'?>") -> bytes:
    return f'{prolog}<s:Envelope xmlns:s="{ENV}"><s:Body>{body}</s:Body></s:Envelope>'.encode()


OK = envelope('<p:PingResponse xmlns:p="urn:test:ping"><p:Echo>pong</p:Echo></p:PingResponse>')


def fault(code: str, text: str) -> bytes:
    return envelope(f"<s:Fault><faultcode>s:{code}</faultcode><faultstring>{text}</faultstring></s:Fault>")


@dataclass
class Server:
    url: str = ""
    answers: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self._send(200, WSDL.replace("ENDPOINT", state.url + "/ws").encode(), {})

        def do_POST(self) -> None:  # noqa: N802
            state.received.append(self.rfile.read(int(self.headers["Content-Length"])))
            status, body, headers = state.answers.pop(0) if state.answers else (200, OK, {})
            self._send(status, body, headers)

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", headers.pop("Content-Type", "text/xml; charset=utf-8"))
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def soap(server: Server, attempts: int = 1) -> SoapClient:
    return SoapClient(server.url + "/ws?wsdl", agency="dukcapil", timeout=5, username="mpp-bus",
                      password="sek-rahasia", retry=RetryConfig(attempts=attempts, initial_wait=0, jitter=0),
                      sleep=lambda s: None)


def test_call_signs_with_username_token_password_text(server):
    assert soap(server).call("Ping", Text="hi") == "pong"
    sent = server.received[0].decode()
    assert "UsernameToken" in sent and "sek-rahasia" in sent and "#PasswordText" in sent


@pytest.mark.parametrize(
    ("code", "error"),
    [("Client.Authentication", AuthError), ("Client.InvalidArgument", FatalError), ("Server", RetriableError)],
)
def test_faults_are_translated_by_code(server, code, error):
    server.answers.append((500, fault(code, "NIK 3314014507900001 ditolak"), {}))
    with pytest.raises(error) as info:
        soap(server).call("Ping", Text="hi")
    assert type(info.value) is error
    assert "3314014507900001" not in str(info.value)
    assert isinstance(info.value.__cause__, Fault)


def test_server_faults_are_retried(server):
    server.answers.append((500, fault("Server", "sibuk"), {}))
    assert soap(server, attempts=2).call("Ping") == "pong"


def test_gateway_429_with_retry_after(server):
    server.answers.append((429, b"429 Terlalu banyak", {"Content-Type": "text/plain", "Retry-After": "3"}))
    with pytest.raises(RateLimitedError) as info:
        soap(server).call("Ping")
    assert info.value.retry_after == 3.0


def test_truncated_xml_is_retriable_not_recovered(server):
    server.answers.append((200, OK[: len(OK) // 2], {}))
    with pytest.raises(RetriableError, match="not valid SOAP XML"):
        soap(server).call("Ping")


@pytest.mark.parametrize(
    "body",
    [
        envelope('<p:PingResponse xmlns:p="urn:test:ping"><p:Echo>&x;</p:Echo></p:PingResponse>',
                 "<?xml version='1.0'?><!DOCTYPE s:Envelope [<!ENTITY x \"boom\">]>"),
        envelope('<p:PingResponse xmlns:p="urn:test:ping"><p:Echo>&x;</p:Echo></p:PingResponse>',
                 '<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>'),
        envelope('<p:PingResponse xmlns:p="urn:test:ping"><p:Echo>x</p:Echo></p:PingResponse>',
                 '<?xml version="1.0"?><!DOCTYPE s:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">'),
    ],
    ids=["entity-expansion", "external-entity", "external-dtd"],
)
def test_xml_with_a_dtd_or_entities_is_refused(server, body):
    server.answers.append((200, body, {}))
    with pytest.raises(FatalError, match="DTD or entities"):
        soap(server).call("Ping")


def test_agency_down_is_retriable():
    client = SoapClient("http://127.0.0.1:9/ws?wsdl", agency="dukcapil", timeout=1,
                        retry=RetryConfig(attempts=1))
    with pytest.raises(RetriableError, match="cannot connect"):
        client.call("Ping")


def test_fault_error_without_a_code_is_fatal():
    assert type(fault_error(Fault("?", code=None), agency="x", operation="Op")) is FatalError
