"""Issue 12, items 4 and 5: no personal data in logs or the audit log, the purpose vocabulary, atomic and fair
identity limits, and web hygiene (headers, CSRF, body limit, report limits, Indonesian error pages)."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient

from mpp_bus.api import build_context, create_app
from mpp_bus.api.logs import redact_server_logs
from mpp_bus.errors import RetriableError
from mpp_bus.privacy import NikHasher, RedactingFilter
from mpp_bus.store import create_store
from tests.api.seed import SITI, api_settings, seed

SPACED = "3314 0145 0790 0001"
DOTTED = "3314.0145.0790.0001"
BODY = {"nik": SITI, "name": "Siti Rahayu", "birth_date": "1990-07-05"}


@dataclass(frozen=True)
class Match:
    nik_found: bool
    name_matches: bool
    birth_date_matches: bool


class Registry:
    def __init__(self) -> None:
        self.calls = 0
        self.down = False
        self._lock = threading.Lock()

    def __call__(self, nik: str, name: str, birth_date: date) -> Match:
        with self._lock:
            self.calls += 1
        if self.down:
            raise RetriableError("registry timed out", agency="dukcapil")
        return Match(nik == SITI, name == "Siti Rahayu", birth_date == date(1990, 7, 5))


@pytest.fixture
def sqlite_file_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'portal.db'}"


@pytest.fixture(params=["sqlite_file", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request) -> str:
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def env(store_url: str) -> Iterator[tuple]:
    store = create_store(store_url, upgrade=True)
    seeded = seed(store)
    registry = Registry()
    settings = api_settings(verify_limit_per_nik=5, verify_limit_per_caller=100, verify_limit_per_nik_global=50,
                            report_live_per_minute=2, max_body_bytes=64 * 1024)
    ctx = build_context(store, settings, environment="test", hasher=seeded.hasher, identity=registry)
    app = create_app(ctx)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, seeded, registry
    finally:
        store.dispose()


def audit_text(seeded) -> str:
    return repr(seeded.store.audit_entries(limit=1000))


def verifier(seeded, name: str = "portal-signup") -> dict[str, str]:
    return seeded.headers(name, roles=["identity_verifier"])


# --- no personal data in logs ---------------------------------------------------------------------------------------

def test_a_nik_in_a_path_query_or_header_reaches_neither_the_audit_log_nor_the_logs(env):
    client, seeded, _ = env
    siti, admin = seeded.headers("siti", nik=SITI), seeded.headers("ops", roles=["admin"])
    # The access log is read by a handler of its own: another library (Airflow) may have reconfigured the root
    # logging that pytest's caplog listens on, earlier in the same test session.
    access = logging.getLogger("uvicorn.access")
    lines: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    redact_server_logs(("uvicorn.access",))  # what the app factory does in the server process
    for existing in access.handlers + access.filters:
        if isinstance(existing, RedactingFilter):
            handler.addFilter(existing)
    handler.addFilter(RedactingFilter())
    previous = access.level, access.disabled
    access.setLevel(logging.INFO)
    access.disabled = False
    access.addHandler(handler)
    try:
        for nik in (SITI, SPACED, DOTTED):
            client.get(f"/api/v1/me/applications/oss/{nik}", headers=siti)
            client.get("/layanan", params={"q": nik})
            # What uvicorn's access log writes for a request, with its arguments as uvicorn passes them.
            access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1", "GET", f"/layanan?q={nik}", "1.1", 200)
    finally:
        access.removeHandler(handler)
        access.setLevel(previous[0])
        access.disabled = previous[1]
    logged = "\n".join(lines)
    audit = client.get("/api/v1/admin/audit", headers=admin)
    assert audit.status_code == 200
    for nik in (SITI, SPACED, DOTTED):
        assert nik not in audit_text(seeded) and nik not in audit.text
        assert nik not in logged
    assert len([e for e in audit.json() if e["action"] == "applications.read"]) == 3  # every read was audited
    assert "33************01" in logged


def test_the_access_log_formatter_still_works_after_redaction():
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1", "GET", f"/layanan?q={SITI}", "1.1", 200), None)
    assert RedactingFilter().filter(record)
    line = AccessFormatter(fmt="%(client_addr)s %(request_line)s %(status_code)s", use_colors=False).format(record)
    assert SITI not in line and "/layanan?q=33************01" in line


def test_purpose_comes_from_the_vocabulary(env):
    client, seeded, _ = env
    siti = seeded.headers("siti", nik=SITI)
    refused = client.get("/api/v1/me/applications", headers={**siti, "X-Purpose": f"curiosity {SPACED}"})
    assert refused.status_code == 400
    assert "tracking" in refused.json()["detail"] and SPACED not in refused.text
    ok = client.get("/api/v1/me/applications", headers={**siti, "X-Purpose": "  TRACKING "})
    assert ok.status_code == 200
    assert [e.purpose for e in seeded.store.audit_entries()] == ["tracking"]


# --- identity verification limits -----------------------------------------------------------------------------------

def test_twenty_concurrent_tries_let_exactly_the_limit_through(env):
    client, seeded, registry = env
    headers = verifier(seeded)
    codes: list[int] = []
    barrier = threading.Barrier(20)

    def attempt() -> None:
        barrier.wait()
        codes.append(client.post("/api/v1/identity/verify", json={**BODY, "name": "Tebakan"},
                                 headers=headers).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] * 5 + [429] * 15
    assert registry.calls == 5


def test_a_strangers_wrong_guesses_do_not_lock_the_owner_out(env):
    client, seeded, _ = env
    stranger = verifier(seeded, "someone-else")
    guesses = [client.post("/api/v1/identity/verify", json={**BODY, "name": f"Tebakan {i}"},
                           headers=stranger).status_code for i in range(7)]
    assert guesses == [200] * 5 + [429] * 2
    owner = client.post("/api/v1/identity/verify", json=BODY, headers=verifier(seeded))
    assert owner.status_code == 200 and owner.json()["matches"]


def test_registry_outages_do_not_count(env):
    client, seeded, registry = env
    headers = verifier(seeded)
    registry.down = True
    assert {client.post("/api/v1/identity/verify", json=BODY, headers=headers).status_code
            for _ in range(8)} == {503}
    registry.down = False
    assert client.post("/api/v1/identity/verify", json=BODY, headers=headers).status_code == 200


@pytest.mark.parametrize("nik", ["３３１４０１４５０７９００００１", "٣٣١٤٠١٤٥٠٧٩٠٠٠٠١"])
def test_non_ascii_digits_are_refused_with_422(env, nik):
    client, seeded, registry = env
    response = client.post("/api/v1/identity/verify", json={**BODY, "nik": nik}, headers=verifier(seeded))
    assert response.status_code == 422 and nik not in response.text
    assert registry.calls == 0


# --- web hygiene ----------------------------------------------------------------------------------------------------

def _csp(response) -> str:
    return response.headers["content-security-policy"]


def test_security_headers_on_pages_api_and_errors(env):
    client, seeded, _ = env
    for response in (client.get("/masuk"), client.get("/api/v1/catalog/services", headers=seeded.headers("x")),
                     client.get("/tidak-ada"), client.get("/api/v1/tidak-ada")):
        csp = _csp(response)
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] in ("same-origin", "strict-origin-when-cross-origin")
        assert "camera=()" in response.headers["permissions-policy"]


def test_the_pages_inline_style_is_allowed_by_its_hash(env):
    client, _, _ = env
    page = client.get("/masuk")
    for style in re.findall(r"<style>(.*?)</style>", page.text, re.S):
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in _csp(page)


def test_every_form_handler_checks_csrf():
    from mpp_bus.api.csrf import require_csrf

    app = create_app(build_context(create_store("sqlite://", upgrade=True), api_settings(), environment="test",
                                   hasher=NikHasher(b"0" * 32)))
    for route in app.routes:
        if "POST" in getattr(route, "methods", ()) and not route.path.startswith("/api/"):
            assert any(d.call is require_csrf for d in route.dependant.dependencies), route.path


def test_cross_site_and_tokenless_posts_are_refused(env):
    # Sign-in happens at the SSO provider now; the pages' own forms (Keluar, Ajukan Permohonan) carry the token.
    client, seeded, _ = env
    ctx = client.app.state.context
    client.cookies.set("mpp_sesi", ctx.sessions.create(ctx.tokens.principal(seeded.token("siti", nik=SITI)), None))
    page = client.get("/lacak")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    body = f"csrf_token={token}"
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        refused = client.post("/keluar", content=body, headers={**form_type, **headers}, follow_redirects=False)
        assert refused.status_code == 403 and 'lang="id"' in refused.text
        assert client.get("/lacak", follow_redirects=False).status_code == 200  # still signed in
    tokenless = client.post("/keluar", content="", headers=form_type, follow_redirects=False)
    assert tokenless.status_code == 403
    ok = client.post("/keluar", content=body, headers={**form_type, "Sec-Fetch-Site": "same-origin"},
                     follow_redirects=False)
    assert ok.status_code == 303
    assert client.get("/lacak", follow_redirects=False).status_code == 303  # signed out


def test_a_30_mb_body_is_refused(env):
    client, _, _ = env
    big = b"token=" + b"a" * (30 * 1024 * 1024)
    declared = client.post("/masuk", content=big, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        for _ in range(30):
            yield b"a" * (1024 * 1024)

    streamed = client.post("/api/v1/identity/verify", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_the_performance_report_is_cached_and_live_calls_rate_limited(env, monkeypatch):
    client, seeded, _ = env
    from mpp_bus import reports

    calls = []
    real = reports.performance
    monkeypatch.setattr(reports, "performance", lambda *a, **k: calls.append(1) or real(*a, **k))
    headers = seeded.headers("siapa-saja")
    first = client.get("/api/v1/reports/performance", params={"live": "true"}, headers=headers)
    again = client.get("/api/v1/reports/performance", params={"live": "true"}, headers=headers)
    assert first.status_code == again.status_code == 200 and first.json() == again.json() and len(calls) == 1
    codes = [client.get("/api/v1/reports/performance", params={"live": "true", "agency": f"a{i}"},
                        headers=headers) for i in range(3)]
    assert [c.status_code for c in codes] == [200, 429, 429]
    assert int(codes[-1].headers["Retry-After"]) > 0


def test_bad_urls_answer_indonesian_pages_or_api_json(env):
    client, _, _ = env
    page = client.get("/tidak-ada")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "Halaman tidak ditemukan" in page.text and 'lang="id"' in page.text
    api = client.get("/api/v1/tidak-ada")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
    invalid = client.get("/layanan", params={"halaman": "nol"})
    assert invalid.status_code == 422 and "Isian tidak valid" in invalid.text


def test_a_crash_on_a_page_is_an_indonesian_500(env, monkeypatch):
    client, seeded, _ = env
    from mpp_bus.api import pages

    monkeypatch.setattr(pages, "SIGN_IN_REASONS", _Broken())
    response = client.get("/masuk")
    assert response.status_code == 500 and "Terjadi gangguan" in response.text
    assert "frame-ancestors 'none'" in _csp(response)


class _Broken:
    def get(self, *_args: object) -> None:
        raise RuntimeError("boom")
