"""Server-side sessions of the citizen pages.

The cookie holds only a random id (256 bits). The store keeps the session under the SHA-256 of that id, with the
caller's subject, roles, and the NIK only as its keyed hash and masked form; the ID token (needed as
``id_token_hint`` at logout) and a sign-in's PKCE verifier and nonce are sealed (AES-GCM) with a key derived from
the id, so a copy of the table alone opens nothing and reads nothing. Sessions end after
``MPP_API_SESSION_IDLE_SECONDS`` without use or ``MPP_API_SESSION_ABSOLUTE_SECONDS`` after sign-in, whichever
comes first, and at "Keluar".

Example::

    sessions = SessionManager(store, settings, environment="production")
    cookie = sessions.create(principal, id_token)     # Set-Cookie: mpp_sesi=<cookie>; HttpOnly; Secure; SameSite=Lax
    who = sessions.principal(cookie)                   # None once it expired or ended
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Response

from mpp_bus.api.auth import Principal, profile_claims
from mpp_bus.api.settings import ApiSettings
from mpp_bus.privacy import nik_problem
from mpp_bus.store import SessionRow, Store

SESSION_COOKIE = "mpp_sesi"
SIGN_IN_COOKIE = "mpp_masuk"
SESSION = "session"
SIGN_IN = "sign_in"
TOUCH_EVERY = timedelta(seconds=60)  # refreshing last-seen on every page view would be a write per click
DEFAULT_RETURN = "/lacak"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _derive(cookie: str, purpose: bytes) -> bytes:
    return hmac.new(cookie.encode("ascii", "replace"), purpose, hashlib.sha256).digest()


def id_hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("ascii", "replace")).hexdigest()


def seal(cookie: str, data: dict[str, Any]) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_derive(cookie, b"mpp-bus session seal")).encrypt(nonce, json.dumps(data).encode(), None)
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(cookie: str, text: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
        data = json.loads(AESGCM(_derive(cookie, b"mpp-bus session seal")).decrypt(raw[:12], raw[12:], None))
    except (InvalidTag, ValueError):
        return None
    return data if isinstance(data, dict) else None


def csrf_token(cookie: str) -> str:
    """The session's CSRF token for its forms ("Keluar"): derived from the id, so nothing more is stored."""
    return base64.urlsafe_b64encode(_derive(cookie, b"mpp-bus csrf")).rstrip(b"=").decode("ascii")


def csrf_ok(cookie: str | None, sent: str | None) -> bool:
    return bool(cookie and sent) and hmac.compare_digest(csrf_token(cookie or "").encode(), (sent or "").encode())


def safe_return_path(value: str | None) -> str:
    """A same-site relative path to return to after sign-in; anything else (another host, a scheme, ``//host``,
    backslashes, control characters) becomes ``/lacak``."""
    if not value or len(value) > 500 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return DEFAULT_RETURN
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return DEFAULT_RETURN
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith("/auth/"):
        return DEFAULT_RETURN
    return value


class SessionManager:
    """Creates, finds and ends sessions and sign-ins under way, in the portal store."""

    def __init__(self, store: Store, settings: ApiSettings, environment: str,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.table = store.portal_sessions
        self.settings = settings
        self.environment = environment
        self.clock = clock

    @property
    def secure_cookies(self) -> bool:
        return self.settings.cookie_secure or self.environment != "development"

    # --- sign-in under way ------------------------------------------------------------------------------------

    def begin_sign_in(self, data: dict[str, Any]) -> str:
        cookie, now = secrets.token_urlsafe(32), self.clock()
        self.table.purge(now)  # sign-ins abandoned at the provider and sessions past their end go here
        self.table.add(SessionRow(id_hash=id_hash(cookie), kind=SIGN_IN, sealed=seal(cookie, data), created_at=now,
                                  last_seen_at=now, expires_at=now + timedelta(seconds=self.settings.sign_in_seconds)))
        return cookie

    def finish_sign_in(self, cookie: str | None) -> dict[str, Any] | None:
        """What ``begin_sign_in`` kept, once: the row is gone afterwards, whatever the outcome."""
        if not cookie:
            return None
        row = self.table.take(id_hash(cookie))
        if row is None or row.kind != SIGN_IN or row.expires_at <= self.clock():
            return None
        return unseal(cookie, row.sealed)

    # --- sessions ---------------------------------------------------------------------------------------------

    def create(self, who: Principal, id_token: str | None) -> str:
        cookie, now = secrets.token_urlsafe(32), self.clock()
        self.table.add(SessionRow(
            id_hash=id_hash(cookie), kind=SESSION, sealed=seal(cookie, {"id_token": id_token}), created_at=now,
            last_seen_at=now, expires_at=now + timedelta(seconds=self.settings.session_absolute_seconds),
            subject=who.subject, roles=tuple(sorted(who.roles)), nik_hash=who.nik_hash, nik_masked=who.nik_masked))
        return cookie

    def principal(self, cookie: str | None) -> Principal | None:
        """The signed-in caller, or None when there is no session, or it was ended, idle too long or too old."""
        if not cookie or len(cookie) > 200:
            return None
        key = id_hash(cookie)
        row = self.table.get(key)
        if row is None or row.kind != SESSION:
            return None
        now = self.clock()
        if row.expires_at <= now or now - row.last_seen_at >= timedelta(seconds=self.settings.session_idle_seconds):
            self.table.delete(key)
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            self.table.touch(key, now)
        return Principal(row.subject or "", frozenset(row.roles), row.nik_hash, row.nik_masked)

    def clear_nik(self, cookie: str | None) -> str | None:
        """The signed-in citizen's NIK in clear, read from the ID token sealed in their session, for the one use that
        needs it: sealing an application the agency must receive with its applicant's NIK. The token was verified at
        sign-in and the seal is authenticated, so its signature and expiry are not checked again here."""
        nik = self._id_token_claims(cookie).get(self.settings.nik_claim)
        return nik if isinstance(nik, str) and not nik_problem(nik) else None

    def identity(self, cookie: str | None) -> dict[str, str]:
        """The signed-in citizen's profile as the sign-on asserted it in the ID token (the standard claims ``name``
        and ``birthdate`` where present), to pre-fill forms; read from the sealed token, never stored apart."""
        return profile_claims(self._id_token_claims(cookie))

    def _id_token_claims(self, cookie: str | None) -> dict[str, Any]:
        if not cookie or self.principal(cookie) is None:
            return {}
        row = self.table.get(id_hash(cookie))
        data = unseal(cookie, row.sealed) if row is not None else None
        token = (data or {}).get("id_token")
        if not isinstance(token, str):
            return {}
        try:
            return dict(jwt.decode(token, options={"verify_signature": False}))
        except jwt.InvalidTokenError:
            return {}

    def end(self, cookie: str | None) -> str | None:
        """Delete the session; returns its ID token (for ``id_token_hint``) when there was one."""
        if not cookie:
            return None
        row = self.table.take(id_hash(cookie))
        if row is None or row.kind != SESSION:
            return None
        data = unseal(cookie, row.sealed) or {}
        token = data.get("id_token")
        return token if isinstance(token, str) else None

    # --- cookies ----------------------------------------------------------------------------------------------

    def set_cookie(self, response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
        response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", path="/",
                            secure=self.secure_cookies)

    def clear_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=self.secure_cookies)
