"""Auth strategies, usable as ``requests`` auth: API key header, bearer token, basic, OAuth2 client credentials.

Secrets are held as ``SecretStr`` and only revealed when a request is signed, so a repr or a log line of a strategy
never shows them.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import requests
from pydantic import SecretStr
from requests.auth import AuthBase

from mpp_bus.errors import AuthError, ConfigError, FatalError
from mpp_bus.transport.http import MESSAGE_BYTES, error_for_status, parse_json, translate_request_error


def _secret(value: str | SecretStr) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


class ApiKeyAuth(AuthBase):
    """A static key in a header, e.g. ``ApiKeyAuth("X-DJP-Key", key)``."""

    def __init__(self, header: str, key: str | SecretStr) -> None:
        self.header = header
        self._key = _secret(key)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers[self.header] = self._key.get_secret_value()
        return r

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={self.header!r})"


class BearerAuth(AuthBase):
    """A fixed bearer token."""

    def __init__(self, token: str | SecretStr) -> None:
        self._token = _secret(token)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        return r

    def __repr__(self) -> str:
        return "BearerAuth()"


class BasicAuth(AuthBase):
    """HTTP basic auth."""

    def __init__(self, username: str, password: str | SecretStr) -> None:
        self.username = username
        self._password = _secret(password)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        pair = f"{self.username}:{self._password.get_secret_value()}".encode()
        r.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return r

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r})"


class OAuth2ClientCredentials(AuthBase):
    """OAuth2 client credentials: the token is fetched lazily, cached until shortly before it expires, and
    refreshed once when the agency answers 401 (it may have restarted and forgotten our token).

    Example::

        auth = OAuth2ClientCredentials(base_url + "/oauth/token", config.client_id, config.client_secret,
                                       agency="oss")
        client = HttpClient.for_instance(instance, base_url, auth=auth)
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | SecretStr,
        *,
        agency: str = "",
        scope: str | None = None,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        leeway_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = _secret(client_secret)
        self.agency = agency
        self.scope = scope
        self.timeout = timeout
        self._session = session or requests.Session()
        self.leeway = leeway_seconds
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.fetches = 0  # how many tokens were fetched: observable, and handy in tests

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def token(self, *, refresh: bool = False) -> str:
        with self._lock:
            if refresh or self._token is None or self._clock() >= self._expires_at:
                self._token, lifetime = self._fetch()
                self._expires_at = self._clock() + max(0.0, lifetime - self.leeway)
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._secret.get_secret_value()}
        if self.scope:
            form["scope"] = self.scope
        path = urlparse(self.token_url).path
        try:
            resp = self._session.post(self.token_url, data=form, timeout=self.timeout,
                                      headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise translate_request_error(exc, agency=self.agency, method="POST", path=path,
                                          timeout=self.timeout) from exc
        if resp.status_code in (400, 401, 403):
            # RFC 6749 answers a bad client with 400 invalid_client or 401: both mean fix the credentials.
            raise AuthError(f"POST {path}: the agency refused the client credentials (HTTP {resp.status_code}); "
                            f"check client id and secret in the agency's connection", agency=self.agency)
        if resp.status_code != 200:
            raise error_for_status(resp.status_code, resp.headers, agency=self.agency, method="POST", path=path,
                                   body=resp.content[:MESSAGE_BYTES])
        self.fetches += 1
        body: Any = parse_json(resp.content, agency=self.agency, path=path)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise FatalError(f"POST {path}: the token response has no access_token; report it to the agency",
                             agency=self.agency)
        return str(token), float(body.get("expires_in") or 300)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token()}"
        r.register_hook("response", self._retry_on_401)
        return r

    def _retry_on_401(self, resp: requests.Response, **kwargs: Any) -> requests.Response:
        if resp.status_code != 401 or getattr(resp.request, "_mpp_refreshed", False):
            return resp
        resp.content  # noqa: B018 - drain the body so the pooled connection can be reused
        resp.close()
        retry = resp.request.copy()
        retry.headers["Authorization"] = f"Bearer {self.token(refresh=True)}"
        retry._mpp_refreshed = True  # type: ignore[attr-defined]  # refresh once, never loop
        new = resp.connection.send(retry, **kwargs)
        new.history.append(resp)
        new.request = retry
        return new


AUTH_TYPES = ("api_key", "basic", "bearer", "oauth2_client_credentials", "none")
"""Auth strategies by name, for declarative adapters (SOAP's WS-Security lives on ``SoapClient``)."""


def auth_strategy(
    kind: str,
    *,
    secret: str | SecretStr | None = None,
    username: str | None = None,
    header: str = "X-API-Key",
    token_url: str | None = None,
    scope: str | None = None,
    agency: str = "",
    timeout: float = 30.0,
    session: requests.Session | None = None,
) -> AuthBase | None:
    """The auth strategy called ``kind``; an unknown name fails with the known ones, a missing secret says where
    to put it. Example: ``auth_strategy("api_key", header="X-DJP-Key", secret=config.secret)``."""
    if kind not in AUTH_TYPES:
        raise ConfigError(f"unknown auth type {kind!r}; known auth types: {', '.join(AUTH_TYPES)}")
    if kind == "none":
        return None
    if secret is None:
        raise ConfigError(f"auth {kind!r} needs a secret: set the password of the agency's connection")
    if kind == "api_key":
        return ApiKeyAuth(header, secret)
    if kind == "bearer":
        return BearerAuth(secret)
    if not username:
        raise ConfigError(f"auth {kind!r} needs a user or client id: set the login of the agency's connection")
    if kind == "basic":
        return BasicAuth(username, secret)
    if not token_url:
        raise ConfigError("auth 'oauth2_client_credentials' needs `token_url`")
    return OAuth2ClientCredentials(token_url, username, secret, agency=agency, scope=scope, timeout=timeout,
                                   session=session)
