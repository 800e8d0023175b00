"""Identity verification for sign-up: needs the verifier role, rate-limited per NIK and per caller, audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mpp_bus.api import build_context, create_app
from mpp_bus.errors import AuthError, CircuitOpenError, RateLimitedError
from mpp_bus.store.tables import audit_log
from tests.api.seed import BUDI, SITI, api_settings

BODY = {"nik": SITI, "name": "Siti Rahayu", "birth_date": "1990-07-05"}


@dataclass(frozen=True)
class Match:
    nik_found: bool
    name_matches: bool
    birth_date_matches: bool


class Registry:
    """Stands in for the Dukcapil adapter's look-up: knows one person."""

    def __init__(self) -> None:
        self.calls = 0
        self.error: Exception | None = None

    def __call__(self, nik: str, name: str, birth_date: date) -> Match:
        self.calls += 1
        if self.error:
            raise self.error
        known = nik == SITI
        return Match(known, known and name == "Siti Rahayu", known and birth_date == date(1990, 7, 5))


@pytest.fixture
def registry():
    return Registry()


@pytest.fixture
def verifying(seeded, registry):
    settings = api_settings(verify_limit_per_nik=3, verify_limit_per_caller=5)
    ctx = build_context(seeded.store, settings, environment="test", hasher=seeded.hasher, identity=registry)
    with TestClient(create_app(ctx)) as c:
        yield c, seeded.headers("portal-signup", roles=["identity_verifier"])


def test_answers_three_booleans(verifying, registry):
    client, headers = verifying
    ok = client.post("/api/v1/identity/verify", json=BODY, headers=headers)
    assert ok.status_code == 200
    assert ok.json() == {"nik_found": True, "name_matches": True, "birth_date_matches": True, "matches": True}
    wrong = client.post("/api/v1/identity/verify", json={**BODY, "name": "Siti R"}, headers=headers).json()
    assert wrong["nik_found"] and not wrong["name_matches"] and not wrong["matches"]
    assert registry.calls == 2


def test_needs_the_verifier_role(verifying, seeded, registry):
    client, _ = verifying
    assert client.post("/api/v1/identity/verify", json=BODY).status_code == 401
    citizen = client.post("/api/v1/identity/verify", json=BODY, headers=seeded.headers("siti", nik=SITI))
    assert citizen.status_code == 403
    assert registry.calls == 0


def test_rate_limited_per_nik_then_per_caller_and_every_attempt_audited(verifying, seeded, registry):
    client, headers = verifying
    answers = [client.post("/api/v1/identity/verify", json=BODY, headers=headers).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = client.post("/api/v1/identity/verify", json=BODY, headers=headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # Another NIK still goes through until the caller's own limit (5 attempts) is used up.
    other = {**BODY, "nik": BUDI}
    assert [client.post("/api/v1/identity/verify", json=other, headers=headers).status_code
            for _ in range(3)] == [200, 200, 429]
    assert registry.calls == 5
    with seeded.store.engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.action == "identity.verify")).all()
    assert [r.outcome for r in rows].count("rate_limited") == 3 and len(rows) == 8
    assert {r.subject_nik_hash for r in rows} == {seeded.hasher.hash(SITI), seeded.hasher.hash(BUDI)}
    assert all(r.actor == "portal-signup" and r.actor_role == "identity_verifier" for r in rows)
    assert SITI not in repr(rows) and "Siti" not in repr(rows)


@pytest.mark.parametrize("error, code", [
    (RateLimitedError("slow down", retry_after=12, agency="dukcapil"), 503),
    (CircuitOpenError("dukcapil", 40), 503),
    (AuthError("bad credentials", agency="dukcapil"), 502),
])
def test_registry_failures_are_answered_and_audited(verifying, seeded, registry, error, code):
    client, headers = verifying
    registry.error = error
    response = client.post("/api/v1/identity/verify", json=BODY, headers=headers)
    assert response.status_code == code
    if code == 503:
        assert int(response.headers["Retry-After"]) in (12, 40)
    with seeded.store.engine.connect() as conn:
        assert conn.execute(select(audit_log.c.outcome)).scalars().all() == ["failed"]


def test_without_a_registry_the_look_up_is_unavailable(client, seeded):
    headers = seeded.headers("portal-signup", roles=["identity_verifier"])
    assert client.post("/api/v1/identity/verify", json=BODY, headers=headers).status_code == 503


def test_validation_errors_never_echo_the_nik_or_name(verifying):
    client, headers = verifying
    response = client.post("/api/v1/identity/verify", json={**BODY, "nik": "33140145079000019",
                                                            "birth_date": "not a date"}, headers=headers)
    assert response.status_code == 422
    assert "33140145079000019" not in response.text and "Siti" not in response.text
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {("body", "nik"), ("body", "birth_date")}
