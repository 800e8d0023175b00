"""SSO MPP Digital, the mock OpenID Connect provider: discovery, keys, code + PKCE, refresh, logout, sign-up."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from mock_agencies import MockAgencies

REDIRECT = "http://127.0.0.1:8080/auth/callback"
PASSWORD = "Demo-MPP-2024"


class StubBus(BaseHTTPRequestHandler):
    """The bus's identity verification: matches only the citizen the test names; records what it was sent."""

    expected: dict[str, str] = {}  # noqa: RUF012 - set by the fixture
    seen: list[dict[str, Any]] = []  # noqa: RUF012

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        StubBus.seen.append({"body": body, "auth": self.headers.get("Authorization"),
                             "purpose": self.headers.get("X-Purpose"), "path": self.path})
        ok = body == StubBus.expected
        data = json.dumps({"nik_found": ok, "name_matches": ok, "birth_date_matches": ok, "matches": ok}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@pytest.fixture(scope="module")
def bus() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubBus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sso(bus: str) -> Iterator[MockAgencies]:
    with MockAgencies(seed=5, citizens=50, applications=20, sso_options=["--sso-bus-api", bus,
                                                                        "--sso-demo-users", "5"]) as mocks:
        yield mocks


def citizen(mocks: MockAgencies, index: int) -> dict[str, Any]:
    return requests.get(f"{mocks.urls['dukcapil']}/admin/citizens", params={"start": index, "limit": 1},
                        headers={"X-Admin-Token": "mock-admin"}, timeout=5).json()["citizens"][0]  # type: ignore[no-any-return]


def form_csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=5)
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def sign_in(session: requests.Session, base: str, nik: str, password: str = PASSWORD) -> tuple[str, str]:
    """The browser's part of the code flow; returns (code, verifier). The nonce is checked in the ID token."""
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_hex(8)  # a nonce used twice is a replay
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": "mpp-portal", "redirect_uri": REDIRECT, "scope": "openid nik",
              "state": "s1", "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"}
    first = session.get(f"{base}/authorize", params=params, allow_redirects=False, timeout=5)
    assert first.status_code == 303 and first.headers["Location"].startswith("/masuk?")
    login_url = base + first.headers["Location"]
    csrf = form_csrf(session, login_url)
    target = parse_qs(urlsplit(login_url).query)["lanjut"][0]
    posted = session.post(f"{base}/masuk", data={"csrf": csrf, "lanjut": target, "nik": nik, "kata_sandi": password},
                          allow_redirects=False, timeout=5)
    assert posted.status_code == 303, posted.text
    back = session.get(base + posted.headers["Location"], allow_redirects=False, timeout=5)
    assert back.status_code == 302
    location = urlsplit(back.headers["Location"])
    assert location._replace(query="").geturl() == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["s1"]
    return query["code"][0], verifier


def token(base: str, **data: str) -> requests.Response:
    return requests.post(f"{base}/token", data=data, auth=("mpp-portal", "portal-rahasia"), timeout=5)


def test_discovery_and_jwks(sso: MockAgencies) -> None:
    meta = requests.get(f"{sso.sso_url}/.well-known/openid-configuration", timeout=5).json()
    assert meta["issuer"] == sso.sso_url
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["end_session_endpoint"] == f"{sso.sso_url}/logout"
    keys = requests.get(meta["jwks_uri"], timeout=5).json()["keys"]
    assert keys and all(k["kty"] == "RSA" and k["kid"] and "d" not in k for k in keys)


def test_code_flow_with_pkce_refresh_userinfo_and_rotation(sso: MockAgencies) -> None:
    base = sso.sso_url
    person = citizen(sso, 0)
    code, verifier = sign_in(requests.Session(), base, person["nik"])
    assert token(base, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                 code_verifier="x" * 50).json()["error"] == "invalid_grant"  # wrong verifier; the code is spent
    code, verifier = sign_in(requests.Session(), base, person["nik"])
    answer = token(base, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    jwks = KeySet.import_key_set(requests.get(f"{base}/jwks.json", timeout=5).json())
    access = jwt.decode(tokens["access_token"], jwks, algorithms=["RS256"])
    ident = jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"])
    assert access.claims["nik"] == ident.claims["nik"] == person["nik"]
    assert access.claims["roles"] == ["citizen"] and access.claims["iss"] == base
    assert access.claims["aud"] == "mpp-bus-api" and access.claims["exp"] - access.claims["iat"] <= 600
    assert ident.claims["aud"] == "mpp-portal" and len(ident.claims["nonce"]) == 16
    # The standard profile claims the portal pre-fills forms from.
    assert ident.claims["name"] == person["nama_lengkap"] and ident.claims["birthdate"] == person["tanggal_lahir"]
    assert access.header["kid"] in {k.kid for k in jwks}
    info = requests.get(f"{base}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=5)
    assert info.json()["nik"] == person["nik"]

    refreshed = token(base, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert refreshed["access_token"] and refreshed["refresh_token"] != tokens["refresh_token"]
    assert token(base, grant_type="refresh_token",
                 refresh_token=tokens["refresh_token"]).json()["error"] == "invalid_grant"  # used once

    old_kid = access.header["kid"]
    assert requests.post(f"{base}/admin/keys/rotate", timeout=5).status_code == 403
    new_kid = requests.post(f"{base}/admin/keys/rotate", headers={"X-Admin-Token": "mock-admin"},
                            timeout=5).json()["kid"]
    kids = {k["kid"] for k in requests.get(f"{base}/jwks.json", timeout=5).json()["keys"]}
    assert {old_kid, new_kid} <= kids  # the old key stays published for the tokens it signed
    again = token(base, grant_type="refresh_token", refresh_token=refreshed["refresh_token"]).json()
    assert jwt.decode(again["access_token"], KeySet.import_key_set(
        requests.get(f"{base}/jwks.json", timeout=5).json()), algorithms=["RS256"]).header["kid"] == new_kid


def test_pkce_is_required(sso: MockAgencies) -> None:
    params = {"response_type": "code", "client_id": "mpp-portal", "redirect_uri": REDIRECT, "scope": "openid"}
    answer = requests.get(f"{sso.sso_url}/authorize", params=params, allow_redirects=False, timeout=5)
    assert answer.status_code == 302 and "error=invalid_request" in answer.headers["Location"]
    plain = {**params, "code_challenge": "a" * 43, "code_challenge_method": "plain"}
    answer = requests.get(f"{sso.sso_url}/authorize", params=plain, allow_redirects=False, timeout=5)
    assert "error=invalid_request" in answer.headers["Location"]


def test_logout_ends_the_session_and_checks_the_redirect(sso: MockAgencies) -> None:
    base = sso.sso_url
    browser = requests.Session()
    code, verifier = sign_in(browser, base, citizen(sso, 1)["nik"])
    tokens = token(base, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                   code_verifier=verifier).json()
    evil = browser.get(f"{base}/logout", params={"id_token_hint": tokens["id_token"],
                                                 "post_logout_redirect_uri": "https://evil.example/"},
                       allow_redirects=False, timeout=5)
    assert "evil.example" not in evil.headers.get("Location", "")
    code, verifier = sign_in(browser, base, citizen(sso, 1)["nik"])
    tokens = token(base, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                   code_verifier=verifier).json()
    out = browser.get(f"{base}/logout", params={"id_token_hint": tokens["id_token"], "state": "z",
                                                "post_logout_redirect_uri": "http://127.0.0.1:8080/"},
                      allow_redirects=False, timeout=5)
    assert out.status_code == 302 and out.headers["Location"] == "http://127.0.0.1:8080/?state=z"
    assert token(base, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).status_code == 400
    params = {"response_type": "code", "client_id": "mpp-portal", "redirect_uri": REDIRECT, "scope": "openid",
              "code_challenge": "a" * 43, "code_challenge_method": "S256"}
    again = browser.get(f"{base}/authorize", params=params, allow_redirects=False, timeout=5)
    assert again.headers["Location"].startswith("/masuk?")  # signed out at the provider too


def test_wrong_password_is_refused_in_indonesian_and_limited(sso: MockAgencies) -> None:
    base = sso.sso_url
    browser = requests.Session()
    csrf = form_csrf(browser, f"{base}/masuk")
    nik = citizen(sso, 2)["nik"]
    statuses = []
    for _ in range(6):
        answer = browser.post(f"{base}/masuk", data={"csrf": csrf, "nik": nik, "kata_sandi": "salah-sekali"},
                              allow_redirects=False, timeout=5)
        statuses.append(answer.status_code)
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    assert "NIK atau kata sandi salah" in browser.post(f"{base}/masuk", data={"csrf": csrf, "nik": "1" * 16,
                                                                              "kata_sandi": "x"}, timeout=5).text
    no_csrf = requests.post(f"{base}/masuk", data={"nik": nik, "kata_sandi": PASSWORD}, allow_redirects=False,
                            timeout=5)
    assert no_csrf.status_code == 403
    assert "frame-ancestors 'none'" in no_csrf.headers["Content-Security-Policy"]
    assert no_csrf.headers["X-Content-Type-Options"] == "nosniff"


def test_sign_up_verifies_through_the_bus(sso: MockAgencies) -> None:
    base = sso.sso_url
    person = citizen(sso, 30)  # not a demo user
    StubBus.expected = {"nik": person["nik"], "name": person["nama_lengkap"], "birth_date": person["tanggal_lahir"]}
    browser = requests.Session()
    csrf = form_csrf(browser, f"{base}/daftar")
    form = {"csrf": csrf, "nik": person["nik"], "nama": person["nama_lengkap"], "tgl_lahir": "1999-01-01",
            "kata_sandi": "kata-sandi-baru", "ulangi_kata_sandi": "kata-sandi-baru"}
    refused = browser.post(f"{base}/daftar", data=form, allow_redirects=False, timeout=5)
    assert refused.status_code == 422 and "tidak cocok" in refused.text
    seen = StubBus.seen[-1]
    assert seen["path"] == "/api/v1/identity/verify" and seen["purpose"]
    claims = jwt.decode(seen["auth"].split()[1], KeySet.import_key_set(
        requests.get(f"{base}/jwks.json", timeout=5).json()), algorithms=["RS256"]).claims
    assert claims["roles"] == ["identity_verifier"] and claims["sub"] == "sso-mpp-digital"
    form["tgl_lahir"] = person["tanggal_lahir"]
    created = browser.post(f"{base}/daftar", data=form, allow_redirects=False, timeout=5)
    assert created.status_code == 303, created.text
    code, verifier = sign_in(requests.Session(), base, person["nik"], "kata-sandi-baru")
    signed_up = token(base, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert signed_up.status_code == 200
    ident = jwt.decode(signed_up.json()["id_token"], KeySet.import_key_set(
        requests.get(f"{base}/jwks.json", timeout=5).json()), algorithms=["RS256"]).claims
    assert ident["birthdate"] == person["tanggal_lahir"]  # as Dukcapil confirmed it at sign-up


def test_sign_up_without_verification_is_refused() -> None:
    with MockAgencies(seed=5, citizens=20, applications=5, env={"MOCK_SSO_BUS_API_URL": ""}) as mocks:
        page = requests.get(f"{mocks.sso_url}/daftar", timeout=5)
        assert page.status_code == 503 and "Verifikasi identitas sedang tidak tersedia" in page.text
