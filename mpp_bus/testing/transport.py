"""Fake transports for adapter tests: a plain function as the agency, a replay of recorded responses, a recorder.

They are ``requests`` transport adapters. ``session_for(t)`` is a ``requests.Session`` that sends everything through
``t``; an adapter built with it (``from_instance(instance, connection, session=session_for(t))``) sends its HTTP
calls, its OAuth2 token fetch and zeep's WSDL and SOAP calls there, so it is tested exactly as it runs, with no
network and nothing patched for the rest of the process.

Example::

    def agency(request: Request) -> Reply:
        return Reply(200, {"data": [], "next": None})

    with Adapter.from_instance(instance, connection, session=session_for(FunctionTransport(agency))) as adapter:
        list(adapter.read(StreamName.CATALOG, None))
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict

from mpp_bus.errors import FatalError

CASSETTE_VERSION = 1
UNREACHABLE_HOST = "agency-down.invalid"  # a host every fake transport refuses, to test an agency that is down
KEPT_HEADERS = ("Content-Type", "ETag", "Link", "Retry-After", "Location", "Cache-Control")
_SECRET_KEYS = re.compile(r"(secret|password|passwd|token|api_?key)", re.I)
_SECRET_XML = re.compile(rb"<([\w:]*(?:Password|Nonce|Created))\b[^>]*>.*?</\1>", re.S)
_TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")


@dataclass(frozen=True)
class Request:
    """What a fake agency sees of a request."""

    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(frozen=True)
class Reply:
    """A fake agency's answer: a body (dict/list as JSON, str or bytes) with status and headers."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return b"" if self.body is None else json.dumps(self.body, ensure_ascii=False).encode()


def _request(prepared: requests.PreparedRequest) -> Request:
    parts = urlsplit(prepared.url or "")
    body = prepared.body or b""
    headers = {k: v if isinstance(v, str) else v.decode("latin-1") for k, v in prepared.headers.items()}
    data = body.encode() if isinstance(body, str) else bytes(body)  # type: ignore[arg-type]  # prepared: bytes
    return Request(str(prepared.method), parts.path or "/", dict(parse_qsl(parts.query, keep_blank_values=True)),
                   headers, data)


def _response(prepared: requests.PreparedRequest, reply: Reply) -> requests.Response:
    resp = requests.Response()
    resp.status_code = reply.status
    resp._content = reply.content()
    headers = {"Content-Type": "application/json", **reply.headers}
    resp.headers = CaseInsensitiveDict(headers)
    resp.url = prepared.url or ""
    resp.request = prepared
    resp.encoding = "utf-8"
    return resp


def _refuse_unreachable(prepared: requests.PreparedRequest) -> None:
    if urlsplit(prepared.url or "").hostname == UNREACHABLE_HOST:
        raise requests.ConnectionError(f"{UNREACHABLE_HOST} is down (a fake transport)")


class FunctionTransport(BaseAdapter):
    """The agency is a plain function ``Request -> Reply``."""

    def __init__(self, handler: Callable[[Request], Reply]) -> None:
        super().__init__()
        self.handler = handler
        self.requests: list[Request] = []

    def send(  # type: ignore[override]  # requests passes its options as keywords; none matter here
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        _refuse_unreachable(request)
        seen = _request(request)
        self.requests.append(seen)
        return _response(request, self.handler(seen))

    def close(self) -> None:
        pass


def request_key(request: Request) -> str:
    """How a recorded response is found again: method, path, sorted query and a digest of the body with its
    secrets (passwords, nonces, client secrets) removed."""
    body = request.body
    if body and body.lstrip().startswith(b"<"):
        body = _SECRET_XML.sub(b"", body)
    elif body:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        body = urlencode(sorted((k, v) for k, v in pairs if not _SECRET_KEYS.search(k))).encode()
    query = urlencode(sorted(request.query.items()))
    digest = hashlib.sha256(body).hexdigest()[:16] if body else "-"
    return f"{request.method} {request.path}?{query} {digest}"


def _stored_body(content: bytes, content_type: str) -> dict[str, str]:
    if "json" in content_type:
        try:
            doc = json.loads(content)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and any(k in doc for k in _TOKEN_FIELDS):
            doc = {k: ("recorded-token" if k in _TOKEN_FIELDS else v) for k, v in doc.items()}
            return {"text": json.dumps(doc)}
    try:
        return {"text": content.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(content).decode("ascii")}


class NotRecorded(FatalError, requests.ConnectionError):
    """A replayed read asked for a request the recording does not hold. Fatal: retrying with backoff cannot make it
    appear, the recording must be made again. (Also a ``requests.ConnectionError``, what a transport raises; the
    SDK's clients keep an already typed error as it is.)"""


class Cassette:
    """Recorded agency responses by request key, kept as a JSON file beside the adapter's tests."""

    def __init__(self, interactions: dict[str, list[dict[str, Any]]] | None = None, adapter: str = "",
                 path: Path | None = None, *, streams: list[str] | None = None, max_records: int | None = None,
                 redacted: bool = False, agency: str | None = None) -> None:
        self.interactions = interactions or {}
        self.adapter = adapter
        self.path = path
        self.streams = streams  # None: every stream the adapter offers was recorded
        self.max_records = max_records  # None: every read was recorded to its end
        self.redacted = redacted  # personal values replaced (``mpp_bus.testing.pseudonymise``)
        self.agency = agency  # the agency instance it was recorded from (``mpp-bus record AGENCY``)

    @classmethod
    def load(cls, path: Path) -> Cassette:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FileNotFoundError(f"no recorded responses at {path}: record them with `mpp-bus record AGENCY "
                                    f"--output {path}` (or `mpp_bus.testing.record(build, path)`) against a test "
                                    "system") from exc
        return cls(doc["interactions"], doc.get("adapter", ""), path, streams=doc.get("streams"),
                   max_records=doc.get("max_records"), redacted=bool(doc.get("redacted", False)),
                   agency=doc.get("agency"))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        doc: dict[str, Any] = {"version": CASSETTE_VERSION, "adapter": self.adapter,
                               "interactions": self.interactions}
        # Written only when set, so a full recording's file stays as it was.
        extra = {"agency": self.agency, "streams": self.streams, "max_records": self.max_records,
                 "redacted": self.redacted or None}
        doc.update({k: v for k, v in extra.items() if v is not None})
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")

    def add(self, request: Request, resp: requests.Response) -> None:
        headers = {h: resp.headers[h] for h in KEPT_HEADERS if h in resp.headers}
        entry = {"status": resp.status_code, "headers": headers,
                 **_stored_body(resp.content, resp.headers.get("Content-Type", ""))}
        self.interactions.setdefault(request_key(request), []).append(entry)


class ReplayTransport(BaseAdapter):
    """Answers from a cassette; each key serves its responses in order and then repeats the last. A request that
    was never recorded fails at once (``NotRecorded``, fatal), naming what is missing and how to record it."""

    def __init__(self, cassette: Cassette) -> None:
        super().__init__()
        self.cassette = cassette
        self._served: dict[str, int] = {}

    def send(  # type: ignore[override]  # requests passes its options as keywords; none matter here
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        _refuse_unreachable(request)
        key = request_key(_request(request))
        answers = self.cassette.interactions.get(key)
        if not answers:
            path = self.cassette.path or "the recording"
            of = f" a `{self.cassette.adapter}` adapter" if self.cassette.adapter else " the adapter"
            agency = self.cassette.agency or "AGENCY"
            raise NotRecorded(f"the request {key} is not in the recorded responses ({path}): the adapter asks for "
                              f"something the recording lacks; record it again with `mpp-bus record {agency} "
                              f"--output {path}` (the agency id of{of} instance on a test system, never production; "
                              f"or `mpp_bus.testing.record(build, Path('{path}'))`)")
        index = self._served.get(key, 0)
        self._served[key] = index + 1
        entry = answers[min(index, len(answers) - 1)]
        body = base64.b64decode(entry["base64"]) if "base64" in entry else entry.get("text", "").encode()
        return _response(request, Reply(entry["status"], body, entry.get("headers", {})))

    def close(self) -> None:
        pass


class RecordingTransport(BaseAdapter):
    """Sends through ``inner`` (the real network by default) and keeps every answer in a cassette."""

    def __init__(self, cassette: Cassette, inner: BaseAdapter | None = None) -> None:
        super().__init__()
        self.cassette = cassette
        self.inner = inner or HTTPAdapter()

    def send(  # type: ignore[override]  # requests passes its options as keywords; none matter here
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        resp = self.inner.send(request, **kwargs)
        self.cassette.add(_request(request), resp)
        return resp

    def close(self) -> None:
        self.inner.close()


def session_for(transport: BaseAdapter) -> requests.Session:
    """A new session that sends every request, whatever its host, through ``transport``: what a test passes to an
    adapter (``session=``) or a client instead of the network."""
    session = requests.Session()
    session.mount("http://", transport)
    session.mount("https://", transport)
    return session
