"""Web hygiene for the API and the citizen pages: security headers, a request body limit, and error pages.

- ``SecurityHeadersMiddleware`` puts a strict Content-Security-Policy (``default-src 'self'``, no inline code unless
  its hash is listed, ``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``, a same-origin
  ``Referrer-Policy`` and a minimal ``Permissions-Policy`` on every response. The only inline code the pages have is
  the stylesheet of ``templates/base.html``; its hash is computed from the template at start, so editing the style
  needs no change here, and text injected into a page would never match a hash.
- ``BodyLimitMiddleware`` refuses a body larger than ``MPP_API_MAX_BODY_BYTES`` with 413, from ``Content-Length``
  before reading anything, and while streaming when the length is not declared (or is a lie).
- ``install_error_pages`` answers errors under ``/api`` (and the OpenAPI document) in JSON, as before, and everywhere
  else with an Indonesian HTML page (404, 422, 500 and the rest), never echoing what the caller sent.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mpp_bus.api.pages import templates
from mpp_bus.privacy import redact_text

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
# Swagger UI and ReDoc load their code from a CDN and start it with an inline script that FastAPI writes.
DOCS_PATHS = ("/docs", "/redoc")
_DOCS_CDN = "https://cdn.jsdelivr.net"
_INLINE = re.compile(r"<(style|script)(?:\s[^>]*)?>(.*?)</\1>", re.S | re.I)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def inline_hashes(templates: Path = TEMPLATES) -> dict[str, list[str]]:
    """CSP hashes of the static inline ``<style>`` and ``<script>`` blocks of the page templates, by tag."""
    found: dict[str, list[str]] = {"style": [], "script": []}
    for template in sorted(templates.glob("*.html")):
        for tag, body in _INLINE.findall(template.read_text(encoding="utf-8")):
            if "{{" in body or "{%" in body:  # rendered per request: cannot be hashed ahead, so it stays blocked
                log.warning("inline %s in %s holds template code and will be blocked by the CSP", tag, template.name)
                continue
            found[tag.lower()].append(_sha256(body))
    return found


def content_security_policy(hashes: dict[str, list[str]], form_targets: Iterable[str] = ()) -> str:
    """``form_targets``: other origins a form's answer may redirect to (form-action governs the redirects too), such
    as the single sign-on's logout after "Keluar"."""
    def sources(tag: str) -> str:
        return " ".join(["'self'", *sorted(set(hashes.get(tag, [])))])

    form_action = " ".join(["'self'", *sorted(set(form_targets))])
    return (f"default-src 'self'; script-src {sources('script')}; style-src {sources('style')}; "
            f"img-src 'self' data:; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'; "
            "object-src 'none'")


def docs_policy(body: bytes) -> str:
    """The policy of the interactive documentation: its CDN, and the hash of the inline script FastAPI wrote (the
    page does not depend on the request, so hashing the body does not let injected code in)."""
    scripts = [_sha256(b) for tag, b in _INLINE.findall(body.decode("utf-8", "replace")) if tag.lower() == "script"]
    return (f"default-src 'self'; script-src 'self' {_DOCS_CDN} {' '.join(scripts)}; "
            f"style-src 'self' {_DOCS_CDN} 'unsafe-inline'; img-src 'self' data: https://fastapi.tiangolo.com; "
            "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "Cross-Origin-Opener-Policy": "same-origin",
}


def security_headers(policy: str) -> dict[str, str]:
    return {**BASE_HEADERS, "Content-Security-Policy": policy}


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response (a header the handler already set is kept)."""

    def __init__(self, app: ASGIApp, *, policy: str | None = None) -> None:
        self.app = app
        self.policy = policy or content_security_policy(inline_hashes())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in DOCS_PATHS:
            await self._docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _merged(message.get("headers", []), security_headers(self.policy))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The documentation page is small and the same for everyone: hold it to hash its inline script.
        start: Message | None = None
        chunks: list[bytes] = []

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and start is not None:
                    body = b"".join(chunks)
                    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                    headers.append((b"content-length", str(len(body)).encode()))
                    await send({**start, "headers": _merged(headers, security_headers(docs_policy(body)))})
                    await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, hold)


def _merged(headers: Iterable[tuple[bytes, bytes]], extra: dict[str, str]) -> list[tuple[bytes, bytes]]:
    merged = list(headers)
    present = {name.lower() for name, _ in merged}
    merged.extend((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in extra.items()
                  if name.lower().encode("latin-1") not in present)
    return merged


class BodyTooLarge(StarletteHTTPException):
    """Raised while reading a body past the limit; an HTTP exception, so FastAPI answers 413 wherever it surfaces."""

    def __init__(self, limit: int) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, f"the request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, by_prefix: Mapping[str, int] | None = None) -> None:
        """``by_prefix``: another limit for the paths starting with a prefix (uploads of scanned documents)."""
        self.app = app
        self.max_bytes = max_bytes
        self.by_prefix = dict(by_prefix or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        max_bytes = next((limit for prefix, limit in self.by_prefix.items() if path.startswith(prefix)),
                         self.max_bytes)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > max_bytes
            except ValueError:
                too_large = False  # the server refuses a malformed length itself
            if too_large:
                await _refuse_body(scope, receive, send, max_bytes)
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse_body(scope, receive, send, max_bytes)


async def _refuse_body(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    request = Request(scope)
    response = error_response(request, status.HTTP_413_CONTENT_TOO_LARGE,
                              f"the request body is larger than {limit} bytes")
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


# --- error pages ----------------------------------------------------------------------------------------------------

PAGES = {
    400: ("Permintaan tidak valid", "Permintaan Anda tidak dapat diproses. Periksa kembali isian Anda."),
    401: ("Perlu masuk", "Silakan masuk terlebih dahulu untuk melanjutkan."),
    403: ("Akses ditolak", "Permintaan ini ditolak. Jika Anda mengirim formulir, buka kembali halamannya lalu "
                           "kirim ulang."),
    404: ("Halaman tidak ditemukan", "Halaman yang Anda cari tidak ada atau sudah dipindahkan."),
    405: ("Permintaan tidak didukung", "Halaman ini tidak dapat dibuka dengan cara tersebut."),
    413: ("Data terlalu besar", "Data yang Anda kirim melebihi batas ukuran yang diizinkan."),
    422: ("Isian tidak valid", "Sebagian isian tidak sesuai format. Periksa kembali lalu coba lagi."),
    429: ("Terlalu banyak permintaan", "Anda mengirim terlalu banyak permintaan. Tunggu sebentar lalu coba lagi."),
    500: ("Terjadi gangguan", "Maaf, terjadi gangguan pada sistem kami. Silakan coba beberapa saat lagi."),
}
_JSON_PREFIXES = ("/api/", "/openapi.json")


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith(_JSON_PREFIXES)


def error_response(request: Request, code: int, detail: object, headers: dict[str, str] | None = None) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": detail}, status_code=code, headers=headers)
    title, message = PAGES.get(code, PAGES[500] if code >= 500 else PAGES[400])
    return templates.TemplateResponse(request, "pesan.html", {"judul": title, "pesan": message},
                                      status_code=code, headers=headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    return error_response(request, exc.status_code, exc.detail, getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    # FastAPI echoes the offending input by default; a NIK or a name must never come back in an error body.
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors()]
    return error_response(request, status.HTTP_422_UNPROCESSABLE_CONTENT, jsonable_encoder(errors))


async def _server_error(request: Request, exc: Exception) -> Response:
    # Starlette answers this outside every middleware, so the security headers are set here too.
    log.error("unhandled error on %s %s: %s", request.method, redact_text(request.url.path), type(exc).__name__)
    response = error_response(request, status.HTTP_500_INTERNAL_SERVER_ERROR, "internal server error")
    if not wants_json(request):
        response.headers.update(security_headers(content_security_policy(inline_hashes())))
    else:
        response.headers.update(BASE_HEADERS)
    return response


def install_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]  # Starlette types handlers as taking Exception
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]  # as above
    app.add_exception_handler(Exception, _server_error)
