"""Tokens: HS256 in development, RS256 with a public key in production; anything else answers 401."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from mpp_bus.api import ApiSettings, AuthenticationError, TokenVerifier, build_context, create_app
from mpp_bus.errors import ConfigError
from tests.api.seed import JWT_SECRET, SITI, api_settings


def _claims(**extra):
    # Built when the module is collected: valid long enough for a slow full run to reach these tests.
    now = int(time.time())
    return {"sub": "siti", "iat": now, "exp": now + 3000, "nik": SITI, **extra}


@pytest.mark.parametrize("headers, why", [
    ({}, "a bearer token is required"),
    ({"Authorization": "Basic c2l0aTpwdw=="}, "a bearer token is required"),
    ({"Authorization": "Bearer not-a-jwt"}, "not valid"),
    ({"Authorization": "Bearer " + jwt.encode(_claims(), "another-secret-of-32-characters!!", "HS256")}, "not valid"),
    ({"Authorization": "Bearer " + jwt.encode(_claims(exp=int(time.time()) - 3600), JWT_SECRET, "HS256")}, "expired"),
    ({"Authorization": "Bearer " + jwt.encode({"nik": SITI, "exp": int(time.time()) + 3000}, JWT_SECRET, "HS256")},
     "not valid"),
    ({"Authorization": "Bearer " + jwt.encode(_claims(nik="1234"), JWT_SECRET, "HS256")}, "not a valid NIK"),
])
def test_bad_tokens_answer_401(client, headers, why):
    response = client.get("/api/v1/me/applications", headers=headers)
    assert response.status_code == 401
    assert why in response.json()["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unsigned_token_is_refused(seeded):
    verifier = TokenVerifier(seeded.settings, "test", seeded.hasher)
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    with pytest.raises(AuthenticationError):
        verifier.principal(unsigned)


@pytest.fixture(scope="module")
def rsa_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key, public


def test_production_verifies_rs256_with_the_configured_public_key(seeded, rsa_key, tmp_path):
    key, public = rsa_key
    pem = tmp_path / "sso.pem"
    pem.write_text(public)
    settings = ApiSettings(jwt_algorithm="RS256", jwt_public_key_file=pem, jwt_issuer="https://sso.example",
                           jwt_audience="mpp-portal", roles_claim="realm_access.roles")
    ctx = build_context(seeded.store, settings, environment="production", hasher=seeded.hasher)
    client = TestClient(create_app(ctx))
    good = jwt.encode(_claims(iss="https://sso.example", aud="mpp-portal",
                              realm_access={"roles": ["admin"]}), key, algorithm="RS256")
    assert client.get("/api/v1/me/applications", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    assert client.get("/api/v1/admin/runs", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    # An HS256 token signed with the public key as secret (algorithm confusion) is refused.
    forged = jwt.encode(_claims(iss="https://sso.example", aud="mpp-portal"), JWT_SECRET, algorithm="HS256")
    wrong_audience = jwt.encode(_claims(iss="https://sso.example", aud="elsewhere"), key, algorithm="RS256")
    for token in (forged, wrong_audience):
        assert client.get("/api/v1/me/applications", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_hs256_is_refused_in_production_and_rs256_needs_a_key():
    with pytest.raises(ConfigError, match="development only"):
        api_settings().verification_key("production")
    with pytest.raises(ConfigError, match="public key"):
        ApiSettings(jwt_algorithm="RS256").verification_key("production")
    with pytest.raises(ConfigError, match="shorter than 32"):
        ApiSettings(jwt_secret="short").verification_key("development")  # type: ignore[arg-type]
