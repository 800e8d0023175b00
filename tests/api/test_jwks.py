"""The API as the single sign-on's resource server: RS256 through its JWKS (cached, refreshed on an unknown kid, not
more often than allowed), a maximum token lifetime, and failing closed without an explicit development set-up."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from mpp_bus.api import ApiSettings, build_context, create_app
from mpp_bus.api.jwks import JwksError, JwksKeys
from mpp_bus.api.settings import _DEVELOPMENT_JWT_SECRET
from mpp_bus.config import Settings
from mpp_bus.errors import ConfigError
from tests.api.seed import SITI

ISSUER = "https://sso.example"


class Jwks:
    """A JWKS endpoint on loopback whose keys a test can rotate."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.requests = 0
        self.add("k1")
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                jwks.requests += 1
                body = json.dumps({"keys": [
                    {**json.loads(RSAAlgorithm.to_jwk(k.public_key())), "kid": kid, "use": "sig", "alg": "RS256"}
                    for kid, k in jwks.keys.items()]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def token(self, kid: str, lifetime: int = 300, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": "mpp-bus-api", "sub": "warga", "nik": SITI, "roles": ["citizen"], "iat": now,
                "exp": now + lifetime, **claims}
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    server = Jwks()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _client(seeded: Any, jwks: Jwks, environment: str = "production", **extra: Any) -> TestClient:
    settings = ApiSettings(jwt_algorithm="RS256", jwks_url=jwks.url, jwt_issuer=ISSUER, jwt_audience="mpp-bus-api",
                           **extra)
    return TestClient(create_app(build_context(seeded.store, settings, environment=environment,
                                               hasher=seeded.hasher)))


def _get(client: TestClient, token: str, path: str = "/api/v1/me/applications") -> int:
    return client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code


def test_jwks_tokens_are_accepted_and_a_rotated_key_is_picked_up(seeded, jwks):
    client = _client(seeded, jwks, jwks_min_refresh_seconds=0)
    assert _get(client, jwks.token("k1")) == 200
    assert _get(client, jwks.token("k1")) == 200 and jwks.requests == 1  # cached
    jwks.add("k2")  # the provider rotates: a token names a kid the cache does not know
    assert _get(client, jwks.token("k2")) == 200 and jwks.requests == 2


def test_unknown_kids_do_not_hammer_the_provider(jwks):
    now = [1000.0]
    keys = JwksKeys(lambda: jwks.url, min_refresh_seconds=30, clock=lambda: now[0])
    keys.key_for(jwks.token("k1"))
    for _ in range(20):
        with pytest.raises(JwksError):
            keys.key_for(_forged_kid(jwks))
    assert jwks.requests == 1
    now[0] += 31
    with pytest.raises(JwksError):
        keys.key_for(_forged_kid(jwks))
    assert jwks.requests == 2


def _forged_kid(jwks: Jwks) -> str:
    return jwt.encode({"sub": "x"}, jwks.keys["k1"], algorithm="RS256", headers={"kid": "unknown"})


def test_a_token_living_100_years_is_refused(seeded, jwks):
    client = _client(seeded, jwks)
    response = client.get("/api/v1/me/applications",
                          headers={"Authorization": f"Bearer {jwks.token('k1', lifetime=100 * 365 * 86400)}"})
    assert response.status_code == 401 and "lives longer" in response.json()["detail"]
    no_iat = jwks.token("k1", iat=None)
    assert _get(client, no_iat) == 401


def test_with_the_environment_unset_the_development_key_opens_nothing(seeded, jwks, monkeypatch):
    monkeypatch.delenv("MPP_ENVIRONMENT", raising=False)
    environment = Settings().environment
    assert environment == "production"
    now = int(time.time())
    forged = jwt.encode({"sub": "ops", "roles": ["admin"], "iat": now, "exp": now + 600}, _DEVELOPMENT_JWT_SECRET,
                        algorithm="HS256")
    client = _client(seeded, jwks, environment)
    assert _get(client, forged, "/api/v1/admin/health") == 401
    # nor can HS256 be switched on with the published key outside an explicit development set-up
    for env in ("production", "test"):
        with pytest.raises(ConfigError):
            build_context(seeded.store, ApiSettings(), environment=env, hasher=seeded.hasher)


def test_docs_are_off_in_production_unless_enabled(seeded, jwks):
    client = _client(seeded, jwks)
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404
    enabled = _client(seeded, jwks, docs_enabled=True)
    assert enabled.get("/openapi.json").status_code == 200


def test_production_session_cookies_are_secure(seeded, jwks):
    ctx = build_context(seeded.store, ApiSettings(jwt_algorithm="RS256", jwks_url=jwks.url), environment="production",
                        hasher=seeded.hasher)
    from fastapi import Response

    response = Response()
    ctx.sessions.set_cookie(response, "mpp_sesi", "x")
    cookie = response.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
