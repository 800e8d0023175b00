"""The single sign-on's signing keys, from its JWKS: cached, refreshed when a token names an unknown ``kid`` (the
provider rotated its key), but never more often than a minimum interval, so forged ``kid``s cannot make the API
hammer the provider.

Example::

    keys = JwksKeys(lambda: "https://sso.example/jwks.json")
    claims = jwt.decode(token, keys.key_for(token), algorithms=["RS256"], ...)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
import requests


class JwksError(Exception):
    """No key can check this token: its ``kid`` is unknown or the provider's keys cannot be fetched."""


class JwksKeys:
    """RS256 public keys by ``kid``, fetched from a JWKS URL (resolved lazily, e.g. through discovery)."""

    def __init__(self, url: Callable[[], str], *, min_refresh_seconds: float = 30.0, cache_seconds: float = 3600.0,
                 timeout: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._url = url
        self.min_refresh_seconds = min_refresh_seconds
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self.fetches = 0

    def key_for(self, token: str) -> jwt.PyJWK:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise JwksError(f"the token is not a JWT: {exc}") from None
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise JwksError("the token names no key ('kid' header)")
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.cache_seconds
            may_refresh = self._fetched_at is None or now - self._fetched_at >= self.min_refresh_seconds
            if stale or (kid not in self._keys and may_refresh):
                self._refresh(now)
            key = self._keys.get(kid)
        if key is None:
            raise JwksError("the token is signed with a key the single sign-on does not publish")
        return key

    def _refresh(self, now: float) -> None:
        try:
            response = requests.get(self._url(), timeout=self.timeout, headers={"Accept": "application/json"})
            response.raise_for_status()
            document: Any = response.json()
        except (requests.RequestException, ValueError) as exc:
            if self._keys:  # keep serving the keys we have; a provider blip must not sign everyone out
                self._fetched_at = now - self.cache_seconds + self.min_refresh_seconds  # retry, but not at once
                return
            raise JwksError(f"the single sign-on's keys cannot be fetched ({type(exc).__name__})") from None
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(entry, algorithm="RS256")
            except jwt.PyJWKError:
                continue
            if isinstance(entry.get("kid"), str):
                keys[entry["kid"]] = key
        self._keys, self._fetched_at = keys, now
        self.fetches += 1
