"""CSRF protection for the citizen pages' forms: a double-submit token plus an Origin / Sec-Fetch-Site check.

A page that shows a form puts a hidden field in it; the same random token sits in a ``SameSite=Strict`` cookie
(``mpp_csrf``). A POST is accepted only when the field equals the cookie and the browser says the request came from
this site. A cross-site page can neither read the cookie nor set it for our site, so it cannot forge the pair; the
browser's ``Sec-Fetch-Site`` and ``Origin`` headers refuse the rest (they are checked when present, which modern
browsers always do on a POST).

In a template (``request`` is in every template's context)::

    <form method="post" action="/keluar">{{ csrf_field(request) }} ... </form>

On the handler::

    @router.post("/keluar", dependencies=[Depends(require_csrf)])

``CsrfCookieMiddleware`` sets the cookie on the response of a page that handed out a new token.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, status
from markupsafe import Markup
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mpp_bus.api.forms import parse_form

CSRF_COOKIE = "mpp_csrf"
CSRF_FIELD = "csrf_token"
_STATE_KEY = "csrf_new_token"
# Browsers say "same-origin" for our own pages and "none" for a typed address or a bookmark.
_SAFE_FETCH_SITES = {"same-origin", "none"}


def csrf_token(request: Request) -> str:
    """The token of this browser: the one in its cookie, or a new one that the middleware will set."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    state: dict[str, Any] = request.scope.setdefault("state", {})
    if _STATE_KEY not in state:
        state[_STATE_KEY] = secrets.token_urlsafe(32)
    token: str = state[_STATE_KEY]
    return token


def csrf_field(request: Request) -> Markup:
    """The hidden form field carrying the token (a Jinja global)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token(request))


def _refused(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, f"request refused: {reason}")


def _same_origin(request: Request, url: str) -> bool:
    parts = urlsplit(url)
    own = urlsplit(str(request.base_url))
    return (parts.scheme, parts.netloc) == (own.scheme, own.netloc)


async def require_csrf(request: Request) -> None:
    """A dependency for every state-changing form handler: 403 unless the request comes from our own page."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in _SAFE_FETCH_SITES:
        raise _refused("the form was sent from another site")
    origin = request.headers.get("origin")
    if origin is not None and not _same_origin(request, origin):  # "null" included: sandboxed or privacy-redirected
        raise _refused("the form was sent from another site")
    referer = request.headers.get("referer")
    if origin is None and referer and not _same_origin(request, referer):
        raise _refused("the form was sent from another site")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    # The body is read (and cached by Starlette) here, so the handler can read it again.
    sent = parse_form(await request.body(), request.headers.get("content-type", "")).value(CSRF_FIELD)
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise _refused("the form has expired; open the page again and resend it")


class CsrfCookieMiddleware:
    """Sets the CSRF cookie on responses whose page handed out a new token."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                token = scope.get("state", {}).get(_STATE_KEY)
                if token:
                    cookie = f"{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
                    if self.secure:
                        cookie += "; Secure"
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode("latin-1"))]
            await send(message)

        await self.app(scope, receive, send_with_cookie)
