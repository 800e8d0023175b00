"""Signing in to the citizen pages through the real SSO MPP Digital (the mock identity provider on loopback): the
relying party's flow end to end, the server-side session, logout here and at the provider, and the refusals."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import uvicorn

from mock_agencies import MockAgencies
from mock_agencies.launcher import free_port
from mpp_bus.api import ApiSettings, build_context, create_app
from mpp_bus.api.context import ApiContext
from mpp_bus.api.session import SESSION_COOKIE, SIGN_IN_COOKIE, safe_return_path
from mpp_bus.privacy import NikHasher
from mpp_bus.store import Store, create_store

ADMIN = {"X-Admin-Token": "mock-admin"}
DEMO_PASSWORD = "Demo-MPP-2024"


@dataclass
class Portal:
    base: str
    sso: str
    store: Store
    ctx: ApiContext
    citizens: list[dict[str, str]]
    lookups: list[str]


def _form_value(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} field in the page"
    return found.group(1).replace("&amp;", "&")


def sign_in(http: requests.Session, portal: Portal, nik: str, password: str = DEMO_PASSWORD,
            start: str = "/lacak") -> requests.Response:
    """Open a page, press "Masuk dengan SSO MPP Digital", fill in the provider's form; returns the last answer."""
    page = http.get(portal.base + start)
    assert urlsplit(page.url).path == "/masuk"
    href = re.search(r'id="tombol-sso" href="([^"]+)"', page.text)
    assert href
    login = http.get(portal.base + href.group(1).replace("&amp;", "&"))
    if login.url.startswith(portal.base):
        return login  # still signed in at the provider: single sign-on, no form
    assert login.url.startswith(portal.sso + "/masuk")
    return http.post(portal.sso + "/masuk", data={"nik": nik, "kata_sandi": password,
                                                  "csrf": _form_value(login.text, "csrf"),
                                                  "lanjut": _form_value(login.text, "lanjut")})


@pytest.fixture
def portal(sqlite_url: str) -> Iterator[Portal]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"MOCK_SSO_REDIRECT_URIS": f"{base}/auth/callback", "MOCK_SSO_POST_LOGOUT_REDIRECT_URIS": f"{base}/"}
    with MockAgencies(citizens=40, applications=10, env=env,
                      sso_options=["--sso-demo-users", "3", "--sso-bus-api", base]) as mocks:
        citizens = requests.get(f"{mocks.urls['dukcapil']}/admin/citizens", params={"limit": 10}, headers=ADMIN,
                                timeout=10).json()["citizens"]
        lookups: list[str] = []

        def identity(nik: str, name: str, birth_date: date) -> SimpleNamespace:
            # stands for Dukcapil here; the browser test asks the mock Dukcapil through the adapter
            lookups.append("asked")
            known = {c["nik"]: c for c in citizens}.get(nik)
            return SimpleNamespace(nik_found=known is not None,
                                   name_matches=bool(known) and known["nama_lengkap"].lower() == name.lower(),
                                   birth_date_matches=bool(known) and known["tanggal_lahir"] == birth_date.isoformat())

        settings = ApiSettings(jwt_algorithm="RS256", jwt_audience="mpp-bus-api", oidc_issuer=mocks.sso_url,
                               oidc_client_secret="portal-rahasia", oidc_redirect_uri=f"{base}/auth/callback",
                               oidc_post_logout_redirect_uri=f"{base}/", jwks_min_refresh_seconds=0)  # type: ignore[arg-type]  # pydantic turns the str into SecretStr
        store = create_store(sqlite_url, upgrade=True)
        ctx = build_context(store, settings, environment="development", hasher=NikHasher(b"k" * 32),
                            identity=identity)
        server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.05)
        try:
            yield Portal(base, mocks.sso_url, store, ctx, citizens, lookups)
        finally:
            server.should_exit = True
            thread.join(10)
            store.dispose()


def test_sign_in_session_logout_and_back(portal: Portal) -> None:
    http = requests.Session()
    nik = portal.citizens[0]["nik"]
    page = sign_in(http, portal, nik)
    assert page.status_code == 200 and page.url == f"{portal.base}/lacak" and "Lacak Permohonan" in page.text
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Pragma"] == "no-cache"
    set_cookies = [h for r in page.history for h in r.raw.headers.getlist("Set-Cookie") if SESSION_COOKIE in h]
    assert set_cookies and all("HttpOnly" in h and "SameSite=lax" in h for h in set_cookies)
    cookie = http.cookies.get(SESSION_COOKIE, domain="127.0.0.1")
    assert cookie and nik not in cookie and "." not in cookie and len(cookie) >= 40  # opaque: no NIK, no JWT
    assert portal.store.portal_sessions.count() == 1  # the sign-in under way was used up
    with portal.store.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.exec_driver_sql("SELECT * FROM portal_sessions") for v in row)
    assert nik not in dump and cookie not in dump and "eyJ" not in dump  # no NIK, no id, no token in clear

    # Keluar: a POST with the session's CSRF token; without it nothing happens
    assert http.post(f"{portal.base}/keluar", data={"csrf_token": "salah"}, allow_redirects=False).status_code == 403
    assert portal.store.portal_sessions.count() == 1
    out = http.post(f"{portal.base}/keluar", data={"csrf_token": _form_value(page.text, "csrf_token")},
                    allow_redirects=False)
    target = urlsplit(out.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{portal.sso}/logout"
    query = parse_qs(target.query)
    assert query["post_logout_redirect_uri"] == [f"{portal.base}/"] and query["id_token_hint"][0].count(".") == 2
    assert portal.store.portal_sessions.count() == 0
    after = http.get(out.headers["Location"])
    assert after.url.startswith(f"{portal.base}/masuk")

    # Back after logout, and the old cookie kept by an attacker: nothing opens
    back = requests.get(f"{portal.base}/lacak", cookies={SESSION_COOKIE: cookie}, allow_redirects=False)
    assert back.status_code == 303 and back.headers["Location"].startswith("/masuk")
    assert "Lacak Permohonan" not in back.text
    # and the provider's session ended too: signing in asks for the password again
    again = http.get(f"{portal.base}/auth/masuk")
    assert again.url.startswith(portal.sso + "/masuk")


def test_open_redirect_refused_and_key_rotation_picked_up(portal: Portal) -> None:
    for bad in ("https://evil.example/x", "//evil.example/x", "/\\evil.example", "/auth/callback", "lacak"):
        assert safe_return_path(bad) == "/lacak"
    assert safe_return_path("/layanan?q=pajak") == "/layanan?q=pajak"
    rotated = requests.post(f"{portal.sso}/admin/keys/rotate", headers=ADMIN, timeout=10).json()["kid"]
    http = requests.Session()
    http.get(f"{portal.base}/masuk")
    page = sign_in(http, portal, portal.citizens[1]["nik"], start="/masuk?lanjut=//evil.example/x")
    assert page.url == f"{portal.base}/lacak"  # not evil.example: the ID token signed by the new key was accepted
    assert rotated


def test_a_forged_or_replayed_callback_opens_nothing(portal: Portal) -> None:
    http = requests.Session()
    start = http.get(f"{portal.base}/auth/masuk", allow_redirects=False)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    # a callback without this browser's sign-in cookie (login CSRF), or with a wrong state, is refused
    stranger = requests.get(f"{portal.base}/auth/callback", params={"code": "x", "state": state},
                            allow_redirects=False)
    assert stranger.headers["Location"].startswith("/masuk?alasan=gagal-masuk")
    wrong = http.get(f"{portal.base}/auth/callback", params={"code": "x", "state": "lain"}, allow_redirects=False)
    assert wrong.headers["Location"].startswith("/masuk?alasan=gagal-masuk")
    assert http.cookies.get(SIGN_IN_COOKIE) is None and portal.store.portal_sessions.count() == 0


def test_sessions_end_when_idle_or_too_old(portal: Portal) -> None:
    http = requests.Session()
    sign_in(http, portal, portal.citizens[2]["nik"])
    cookie = http.cookies.get(SESSION_COOKIE, domain="127.0.0.1")
    sessions = portal.ctx.sessions
    assert sessions.principal(cookie) is not None
    now = sessions.clock()
    idle = portal.ctx.settings.session_idle_seconds
    sessions.clock = lambda: now + timedelta(seconds=idle + 1)
    assert sessions.principal(cookie) is None and portal.store.portal_sessions.count() == 0  # idle: gone from the store
    sign_in(http, portal, portal.citizens[2]["nik"])
    cookie = http.cookies.get(SESSION_COOKIE, domain="127.0.0.1")
    absolute = portal.ctx.settings.session_absolute_seconds
    step = now
    while step < now + timedelta(seconds=absolute + idle // 2):  # kept busy, it still ends at the absolute lifetime
        step += timedelta(seconds=idle // 2)
        sessions.clock = lambda at=step: at
        alive = sessions.principal(cookie)
    assert alive is None


def test_sign_up_through_the_provider_is_verified_by_the_bus(portal: Portal) -> None:
    """The provider's service-account token (client credentials, role identity_verifier) is accepted by
    POST /api/v1/identity/verify, so sign-up works end to end; then the new citizen signs in."""
    citizen = portal.citizens[7]  # not a demo account
    http = requests.Session()
    form = http.get(f"{portal.sso}/daftar")
    answer = http.post(f"{portal.sso}/daftar", data={
        "nik": citizen["nik"], "nama": citizen["nama_lengkap"], "tgl_lahir": citizen["tanggal_lahir"],
        "kata_sandi": "Rahasia-Warga-1", "ulangi_kata_sandi": "Rahasia-Warga-1",
        "csrf": _form_value(form.text, "csrf"), "lanjut": ""}, allow_redirects=False)
    assert answer.status_code == 303 and "terdaftar=1" in answer.headers["Location"], answer.text[-300:]
    assert portal.lookups == ["asked"]
    page = sign_in(requests.Session(), portal, citizen["nik"], "Rahasia-Warga-1")
    assert page.url == f"{portal.base}/lacak"
