"""The HTTP transport: one pooled ``requests.Session`` per agency, with timeouts, retries and error translation.

Every failure leaves this module as an ``mpp_bus.errors`` type chosen by what the caller should do next:

    timeout, connection refused/dropped, truncated or invalid JSON, 408, 5xx   -> RetriableError
    429                                                                         -> RateLimitedError(retry_after)
    503 with Retry-After (a maintenance window; the agency's message is kept)   -> RateLimitedError(maintenance=True)
    401, 403                                                                    -> AuthError
    any other 4xx, redirect loops, malformed URLs                               -> FatalError

Messages name the agency, the method and the URL path; never the query string (it may carry a NIK or a date range
of personal data) and never a credential.
"""

from __future__ import annotations

import csv
import email.utils
import io
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import orjson
import requests
from requests.auth import AuthBase

from mpp_bus.config.agencies import AgencyInstance, RetryConfig
from mpp_bus.errors import AdapterError, AuthError, ConfigError, FatalError, RateLimitedError, RetriableError
from mpp_bus.privacy import redact_text
from mpp_bus.transport.retry import retry_policy

Params = Mapping[str, Any] | None
# One multipart part: (field name, (filename or None for a plain field, content, content type)).
FilePart = tuple[str, tuple[str | None, bytes, str]]
T = TypeVar("T")

# A page of 1,000 records is well under 1 MiB; a body past this bound is a broken or hostile agency, never data.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
CHUNK_BYTES = 256 * 1024
BODY_FORMATS = ("json", "xml", "csv")
ACCEPT = {"xml": "application/xml, text/xml;q=0.9", "csv": "text/csv, text/plain;q=0.9"}


@dataclass(frozen=True)
class RawResponse:
    """A response body with its status and headers, for callers that need more than JSON (ETags, 304)."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self, *, agency: str = "", path: str = "") -> Any:
        return parse_json(self.content, agency=agency, path=path)


class HttpClient:
    """A JSON-over-HTTP client for one agency.

    Example::

        client = HttpClient.for_instance(instance, "http://127.0.0.1:8703", auth=ApiKeyAuth("X-DJP-Key", key))
        layanan = client.get_json("/v2/layanan")["layanan"]
    """

    def __init__(
        self,
        base_url: str,
        *,
        agency: str,
        timeout: float = 30.0,
        retry: RetryConfig | None = None,
        auth: AuthBase | None = None,
        session: requests.Session | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.agency = agency
        self.max_response_bytes = max_response_bytes
        self.timeout = timeout
        self.retry = retry or RetryConfig()
        self.session = session or requests.Session()
        # The auth goes with each request, not on the session: a session shared with the OAuth2 token fetch would
        # otherwise sign the token request with the token it is fetching.
        self.auth = auth
        self.session.headers.update({"Accept": "application/json", **(headers or {})})
        self._sleep = sleep

    @classmethod
    def for_instance(cls, instance: AgencyInstance, base_url: str, **kwargs: Any) -> HttpClient:
        """A client with the instance's timeout and retry policy."""
        kwargs.setdefault("timeout", instance.timeout_seconds)
        kwargs.setdefault("retry", instance.retry)
        return cls(base_url, agency=instance.id, **kwargs)

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/"))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, Any] | None = None,
        ok: tuple[int, ...] = (200,),
        retry: RetryConfig | None = None,
        json: Any = None,
        files: Sequence[FilePart] | None = None,
    ) -> RawResponse:
        """Send one request (retried per the policy); a status outside ``ok`` or 2xx raises a typed error.
        ``json`` is a body sent as JSON; ``files`` a ``multipart/form-data`` body, one part per
        ``(name, (filename or None, bytes, content type))`` (bytes, not open files, so a retry sends the same parts
        again). Retry a POST only when the agency de-duplicates it (an idempotency key)."""
        policy = retry_policy(retry or self.retry, sleep=self._sleep)
        return policy(self._send, method, path, params, headers, data, ok, json, files)

    def get(self, path: str, params: Params = None, headers: Mapping[str, str] | None = None,
            ok: tuple[int, ...] = (200,), retry: RetryConfig | None = None) -> RawResponse:
        return self.request("GET", path, params=params, headers=headers, ok=ok, retry=retry)

    def get_json(self, path: str, params: Params = None, headers: Mapping[str, str] | None = None,
                 retry: RetryConfig | None = None) -> Any:
        """GET ``path`` and parse the JSON body; a truncated body is retried like a dropped connection."""
        policy = retry_policy(retry or self.retry, sleep=self._sleep)
        return policy(self._get_json_once, path, params, headers)

    def get_parsed(self, path: str, parse: Callable[[bytes], T], params: Params = None,
                   headers: Mapping[str, str] | None = None, retry: RetryConfig | None = None) -> T:
        """GET ``path`` and hand its body to ``parse`` (e.g. a pydantic-core ``validate_json`` straight from the
        bytes); sending and parsing are retried together, so ``parse`` raising ``RetriableError`` (a truncated body,
        see ``parse_json``) fetches the page again."""
        policy = retry_policy(retry or self.retry, sleep=self._sleep)
        # tenacity's wrapper returns Any; the value is what ``parse`` returned.
        return policy(self._get_parsed_once, path, parse, params, headers)  # type: ignore[no-any-return]

    def _get_parsed_once(self, path: str, parse: Callable[[bytes], T], params: Params,
                         headers: Mapping[str, str] | None) -> T:
        return parse(self._send("GET", path, params, headers, None, (200,)).content)

    def fetch_json(self, path: str, params: Params = None, headers: Mapping[str, str] | None = None,
                   ok: tuple[int, ...] = (200,), retry: RetryConfig | None = None) -> tuple[RawResponse, Any]:
        """GET ``path``: the response (for its headers and status) and its parsed JSON body, or None when the
        body is empty (a 304); sending and parsing are retried together, so a truncated body is fetched again.
        ``path`` may be an absolute URL (a next-page link)."""
        policy = retry_policy(retry or self.retry, sleep=self._sleep)
        return policy(self._fetch_json_once, path, params, headers, ok)

    def _fetch_json_once(self, path: str, params: Params, headers: Mapping[str, str] | None,
                         ok: tuple[int, ...]) -> tuple[RawResponse, Any]:
        resp = self._send("GET", path, params, headers, None, ok)
        return resp, (parse_json(resp.content, agency=self.agency, path=path) if resp.content else None)

    def fetch(self, path: str, params: Params = None, headers: Mapping[str, str] | None = None,
              ok: tuple[int, ...] = (200,), retry: RetryConfig | None = None, *, format: str = "json",
              encoding: str = "utf-8", delimiter: str = ",") -> tuple[RawResponse, Any]:
        """GET ``path`` and parse its body as ``format``: ``json`` (any JSON value), ``xml`` (the root element,
        through the shared hardened parser: no DTD, no entities, size capped) or ``csv`` (a list of dicts keyed by
        the header row, in the declared ``encoding``). The body is None when empty (a 304). Sending and parsing are
        retried together, like ``fetch_json``."""
        if format not in BODY_FORMATS:
            raise ConfigError(f"unknown body format {format!r}; known formats: {', '.join(BODY_FORMATS)}")
        if format in ACCEPT:
            headers = {"Accept": ACCEPT[format], **(headers or {})}
        policy = retry_policy(retry or self.retry, sleep=self._sleep)
        return policy(self._fetch_once, path, params, headers, ok, format, encoding, delimiter)  # type: ignore[no-any-return]  # noqa: E501

    def _fetch_once(self, path: str, params: Params, headers: Mapping[str, str] | None, ok: tuple[int, ...],
                    format: str, encoding: str, delimiter: str) -> tuple[RawResponse, Any]:
        resp = self._send("GET", path, params, headers, None, ok)
        if not resp.content:
            return resp, None
        if format == "xml":
            from mpp_bus.transport.xml import parse_xml  # lxml is loaded by the processes that read XML only

            return resp, parse_xml(resp.content, agency=self.agency, what=_where("GET", path),
                                   max_bytes=self.max_response_bytes)
        if format == "csv":
            return resp, parse_csv(resp.content, agency=self.agency, path=path, encoding=encoding,
                                   delimiter=delimiter)
        return resp, parse_json(resp.content, agency=self.agency, path=path)

    def _get_json_once(self, path: str, params: Params, headers: Mapping[str, str] | None) -> Any:
        return parse_json(self._send("GET", path, params, headers, None, (200,)).content, agency=self.agency,
                          path=path)

    def _send(self, method: str, path: str, params: Params, headers: Mapping[str, str] | None,
              data: Mapping[str, Any] | None, ok: tuple[int, ...], json: Any = None,
              files: Sequence[FilePart] | None = None) -> RawResponse:
        try:
            resp = self.session.request(method, self.url(path), params=params, headers=headers, data=data,
                                        json=json, files=list(files) if files else None, auth=self.auth,
                                        timeout=self.timeout, stream=True)
            if resp.status_code not in ok:
                body = error_body(resp) if resp.status_code == 503 else None
                if resp.raw is not None:
                    resp.close()
                raise error_for_status(resp.status_code, resp.headers, agency=self.agency, method=method, path=path,
                                       body=body)
            content = read_bounded(resp, self.max_response_bytes, agency=self.agency, method=method, path=path)
        except AdapterError as exc:  # raised by an auth strategy (token endpoint) or above; already typed
            exc.located(agency=self.agency)
            raise
        except requests.RequestException as exc:
            raise translate_request_error(exc, agency=self.agency, method=method, path=path,
                                          timeout=self.timeout) from exc
        return RawResponse(resp.status_code, resp.headers, content)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_bounded(resp: requests.Response, limit: int, *, agency: str, method: str, path: str) -> bytes:
    """The body of a streamed response, refused with ``FatalError`` once it passes ``limit`` bytes (announced or
    actually sent): an endless or gigantic body must not exhaust the worker's memory."""
    if resp.raw is None:  # built in memory (a test transport): already read
        if len(resp.content) > limit:
            raise _too_large(agency, method, path, limit)
        return resp.content
    try:
        announced = resp.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) > limit:
            raise _too_large(agency, method, path, limit)
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_content(CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise _too_large(agency, method, path, limit)
            chunks.append(chunk)
        content = b"".join(chunks)
        resp._content = content  # noqa: SLF001 - later readers (zeep) get the bounded body, not a second read
        return content
    finally:
        resp.close()


def _too_large(agency: str, method: str, path: str, limit: int) -> FatalError:
    return FatalError(f"{_where(method, path)}: the response is larger than {limit:,} bytes, the bound for one "
                      f"page; lower the agency's page_size or report it to the agency", agency=agency)


def _where(method: str, path: str) -> str:
    return f"{method} {urlsplit(path).path or '/'}"


def translate_request_error(
    exc: requests.RequestException, *, agency: str, method: str, path: str, timeout: float | None = None
) -> AdapterError:
    """The ``mpp_bus`` error for a ``requests`` failure (the caller chains it with ``from``)."""
    where = _where(method, path)
    if isinstance(exc, requests.Timeout):
        after = f" after {timeout:g} s" if timeout else ""
        return RetriableError(f"{where} timed out{after}; the agency is slow or down, retry later", agency=agency)
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return RetriableError(f"{where}: the connection dropped while reading the response; retry", agency=agency)
    if isinstance(exc, requests.ConnectionError):
        return RetriableError(f"{where}: cannot connect to the agency ({type(exc).__name__}); check that it is "
                              f"up and reachable from this host, then retry", agency=agency)
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema, requests.TooManyRedirects)):
        return FatalError(f"{where}: {type(exc).__name__}; check the agency's base URL in its config", agency=agency)
    return RetriableError(f"{where}: {type(exc).__name__} while talking to the agency; retry", agency=agency)


def error_for_status(status: int, headers: Mapping[str, str], *, agency: str, method: str, path: str,
                     body: bytes | None = None) -> AdapterError:
    """The ``mpp_bus`` error for an unexpected HTTP status; ``body`` (the start of the response) lets a maintenance
    answer carry the agency's own message."""
    where = _where(method, path)
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if status == 503 and retry_after is not None:
        # An announced window, not a request to slow down: say so, with the agency's words and its wait.
        said = agency_message(body)
        quoted = f' and said "{said}"' if said else ""
        return RateLimitedError(
            f"{where}: the agency is down for maintenance (HTTP 503){quoted}; it asked to wait {retry_after:g} s. "
            f"What to do: nothing on our side; retries wait for the window, or ask the agency when it ends",
            retry_after=retry_after, maintenance=True, agency_message=said, agency=agency)
    if status == 429:
        wait = f"; it asked to wait {retry_after:g} s" if retry_after is not None else ""
        return RateLimitedError(f"{where}: the agency is rate limiting us (HTTP {status}){wait}; slow down or retry "
                                f"later", retry_after=retry_after, agency=agency)
    if status in (401, 403):
        return AuthError(f"{where}: the agency refused our credentials (HTTP {status}); check the credentials in "
                         f"the agency's connection", agency=agency)
    if status == 408 or status >= 500:
        return RetriableError(f"{where}: the agency answered HTTP {status}; retry later", agency=agency)
    if 400 <= status < 500:
        return FatalError(f"{where}: the agency refused the request (HTTP {status}); check the adapter config "
                          f"(base URL, tenant) or report it to the agency", agency=agency)
    return FatalError(f"{where}: unexpected HTTP {status}; report it to the adapter's maintainers", agency=agency)


MESSAGE_BYTES = 4096  # enough for an error body's message; never the whole of a misbehaving response
_MESSAGE_KEYS = ("message", "pesan", "error_description", "detail", "keterangan", "error")


def agency_message(body: bytes | None, *, limit: int = 200) -> str | None:
    """What the agency said in an error body (JSON ``message``-like field, or plain text), redacted and capped."""
    if not body:
        return None
    text: Any = None
    try:
        parsed = orjson.loads(body)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, dict):
        for container in (parsed, parsed.get("error"), parsed.get("errors")):
            if isinstance(container, dict):
                text = next((container[k] for k in _MESSAGE_KEYS if isinstance(container.get(k), str)), None)
            if text:
                break
    elif isinstance(parsed, str):
        text = parsed
    if text is None and parsed is None:
        decoded = body[:MESSAGE_BYTES].decode("utf-8", "replace")
        # An HTML error page says nothing useful in a log line.
        text = None if "<" in decoded[:100] else decoded
    if not text:
        return None
    text = " ".join(str(text).split())
    return redact_text(text[:limit] + ("..." if len(text) > limit else ""))


def error_body(resp: requests.Response) -> bytes | None:
    """The first bytes of an error response, for ``error_for_status``; None when they cannot be read."""
    try:
        if resp.raw is None:
            return resp.content[:MESSAGE_BYTES]
        return resp.raw.read(MESSAGE_BYTES, decode_content=True)
    except (requests.RequestException, OSError, ValueError):
        return None


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


# orjson parses a page of 1,000 records about four times faster than the standard library.
_loads: Callable[[bytes], Any] = orjson.loads


def parse_json(content: bytes, *, agency: str, path: str) -> Any:
    """Parse a JSON body; a truncated or invalid body is retriable (agencies drop connections mid-body)."""
    try:
        return _loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RetriableError(f"{_where('GET', path)}: the response is not valid JSON ({len(content)} bytes, "
                             f"truncated?); retry", agency=agency) from exc


def parse_csv(content: bytes, *, agency: str = "", path: str = "", encoding: str = "utf-8",
              delimiter: str = ",") -> list[dict[str, str]]:
    """A CSV body as one dict per row, keyed by its header row, decoded in the agency's declared ``encoding``.
    A body that does not decode, or a row longer than the header, is a broken export: ``FatalError``."""
    where = _where("GET", path)
    try:
        text = content.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise FatalError(f"{where}: the CSV body is not {encoding}; declare the agency's encoding in its spec",
                         agency=agency) from exc
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter, strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise FatalError(f"{where}: the CSV body is malformed (line {reader.line_num}); report it to the agency",
                         agency=agency) from exc
    if any(None in row for row in rows):
        raise FatalError(f"{where}: a CSV row has more fields than the header row; report it to the agency",
                         agency=agency)
    return rows
