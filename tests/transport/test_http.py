"""HttpClient: error translation at the boundary, retries, Retry-After; driven by a fake requests adapter."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from mpp_bus.config import RetryConfig
from mpp_bus.errors import AuthError, FatalError, RateLimitedError, RetriableError
from mpp_bus.transport import HttpClient, parse_retry_after

NIK = "3314014507900001"
Handler = Callable[[requests.PreparedRequest], "requests.Response | Exception"]


class FakeAdapter(BaseAdapter):
    """A requests transport wrapping a plain function: request in, response (or exception) out."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.calls: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def,override]
        self.calls.append(request)
        out = self.handler(request)
        if isinstance(out, Exception):
            raise out
        out.request = request
        return out

    def close(self) -> None:
        pass


def response(status: int = 200, body: bytes = b"{}", headers: dict[str, str] | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = body
    resp.headers = CaseInsensitiveDict(headers or {})
    return resp


def client(handler: Handler, attempts: int = 3, sleeps: list[float] | None = None) -> tuple[HttpClient, FakeAdapter]:
    session = requests.Session()
    fake = FakeAdapter(handler)
    session.mount("http://", fake)
    retry = RetryConfig(attempts=attempts, max_seconds=60, initial_wait=0.5, max_wait=4, jitter=0)
    recorded = sleeps if sleeps is not None else []
    return HttpClient("http://agency.test/", agency="djp", retry=retry, session=session,
                      sleep=recorded.append), fake


@pytest.mark.parametrize(
    ("status", "headers", "error"),
    [
        (401, {}, AuthError),
        (403, {}, AuthError),
        (400, {}, FatalError),
        (404, {}, FatalError),
        (408, {}, RetriableError),
        (500, {}, RetriableError),
        (502, {}, RetriableError),
        (503, {}, RetriableError),
        (429, {}, RateLimitedError),
        (429, {"Retry-After": "7"}, RateLimitedError),
        (503, {"Retry-After": "60"}, RateLimitedError),
    ],
)
def test_status_translation(status, headers, error):
    http, _ = client(lambda r: response(status, b'{"pesan": "x"}', headers), attempts=1)
    with pytest.raises(error) as info:
        http.get_json("/v2/permohonan", {"sejak": NIK})
    assert type(info.value) is error
    text = str(info.value)
    assert "djp" in text and "/v2/permohonan" in text and f"HTTP {status}" in text
    assert NIK not in text
    if "Retry-After" in headers:
        assert info.value.retry_after == float(headers["Retry-After"])


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectTimeout("boom"),
        requests.ReadTimeout("boom"),
        requests.ConnectionError("refused"),
        requests.exceptions.ChunkedEncodingError("dropped mid-body"),
    ],
)
def test_transport_failures_are_retriable_and_chained(exc):
    http, _ = client(lambda r: exc, attempts=1)
    with pytest.raises(RetriableError) as info:
        http.get_json("/api/v1/oss/applications", {"q": NIK})
    assert info.value.__cause__ is exc
    assert NIK not in str(info.value)


def test_bad_url_is_fatal():
    http = HttpClient("notaurl", agency="x", retry=RetryConfig(attempts=1))
    with pytest.raises(FatalError):
        http.get_json("/x")


@pytest.mark.parametrize("body", [b'{"hasil": [', b"<html>maintenance</html>", b"\xff\xfe"])
def test_truncated_or_invalid_json_is_retriable(body):
    http, _ = client(lambda r: response(200, body), attempts=1)
    with pytest.raises(RetriableError, match="not valid JSON"):
        http.get_json("/v2/layanan")


def test_retries_are_bounded_by_attempts():
    sleeps: list[float] = []
    http, fake = client(lambda r: response(500), attempts=4, sleeps=sleeps)
    with pytest.raises(RetriableError):
        http.get_json("/x")
    assert len(fake.calls) == 4
    assert sleeps == [0.5, 1.0, 2.0]  # exponential, jitter 0


def test_fatal_errors_are_not_retried():
    http, fake = client(lambda r: response(404), attempts=5)
    with pytest.raises(FatalError):
        http.get_json("/x")
    assert len(fake.calls) == 1


def test_retry_after_is_honoured_then_succeeds():
    answers = iter([response(429, headers={"Retry-After": "7"}), response(200, b'{"ok": true}')])
    sleeps: list[float] = []
    http, fake = client(lambda r: next(answers), sleeps=sleeps)
    assert http.get_json("/x") == {"ok": True}
    assert sleeps == [7.0]


def test_truncated_body_is_retried_then_succeeds():
    answers = iter([response(200, b'{"data": [1, 2'), response(200, b'{"data": [1, 2]}')])
    http, _ = client(lambda r: next(answers))
    assert http.get_json("/x") == {"data": [1, 2]}


def test_raw_get_gives_status_and_headers_for_etags():
    http, fake = client(lambda r: response(304, b"", {"ETag": '"abc"'}))
    raw = http.get("/v2/layanan", headers={"If-None-Match": '"abc"'}, ok=(200, 304))
    assert raw.status == 304 and raw.headers["ETag"] == '"abc"'
    assert fake.calls[0].headers["If-None-Match"] == '"abc"'


def test_parse_retry_after_forms():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=lambda: 1445412480.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_maintenance_is_maintenance_with_the_agencys_message_and_wait():
    body = (b'{"error": {"code": "maintenance", "message": "Sistem sedang dalam pemeliharaan terjadwal. '
            b'Hubungi 081234567890"}}')
    http, _ = client(lambda r: response(503, body, {"Retry-After": "60"}), attempts=1)
    with pytest.raises(RateLimitedError) as info:
        http.get_json("/v2/permohonan")
    error = info.value
    assert error.maintenance and error.retry_after == 60
    assert error.agency_message is not None and "pemeliharaan terjadwal" in error.agency_message
    text = str(error)
    assert "maintenance" in text and "pemeliharaan terjadwal" in text and "60 s" in text
    assert "rate limiting" not in text and "081234567890" not in text


def test_429_is_still_rate_limiting_not_maintenance():
    http, _ = client(lambda r: response(429, b'{"message": "Terlalu banyak"}', {"Retry-After": "2"}), attempts=1)
    with pytest.raises(RateLimitedError) as info:
        http.get_json("/v2/permohonan")
    assert not info.value.maintenance and "rate limiting" in str(info.value)


def test_multipart_files_are_sent_again_whole_on_a_retry():
    answers = iter([response(503, headers={"Retry-After": "1"}), response(201, b'{"id": "A-1"}')])
    http, fake = client(lambda r: next(answers))
    content = b"\x89PNG\r\n\x1a\n\x00\xff"
    files = [("application", (None, b'{"service_code": "IUMK"}', "application/json")),
             ("DENAH_LOKASI", ("denah.png", content, "image/png"))]
    resp = http.request("POST", "/applications", files=files, headers={"Idempotency-Key": "k"}, ok=(201,))
    assert resp.status == 201 and len(fake.calls) == 2
    bodies = [call.body for call in fake.calls]
    for call, body in zip(fake.calls, bodies, strict=True):
        assert isinstance(body, bytes) and call.headers["Content-Type"].startswith("multipart/form-data; boundary=")
        assert content in body and b'filename="denah.png"' in body and b'name="application"' in body
