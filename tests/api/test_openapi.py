"""The committed OpenAPI document matches the code, and schemathesis finds no server error against it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from mpp_bus.api import build_context, create_app, openapi_document
from mpp_bus.api.app import reference_app
from mpp_bus.engine.outbox import Outbox
from mpp_bus.engine.uploads import UploadStore
from mpp_bus.privacy import Sealer
from mpp_bus.store import create_store
from tests.api.seed import SITI, Seeded, api_settings, seed

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_committed_document_matches_the_code():
    assert COMMITTED.read_text(encoding="utf-8") == openapi_document(reference_app()), (
        "docs/openapi.json is out of date: run `mpp-bus api openapi write` and commit it"
    )


def test_every_operation_is_documented_as_authenticated():
    app = reference_app()
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/api/v1/catalog/"):  # the catalog is public information
                assert "security" not in operation, f"{method.upper()} {path}"
                continue
            assert operation.get("security") == [{"HTTPBearer": []}], f"{method.upper()} {path}"


class AlwaysKnown:
    def __call__(self, nik: str, name: str, birth_date: date):
        from types import SimpleNamespace

        return SimpleNamespace(nik_found=True, name_matches=len(name) > 3, birth_date_matches=birth_date.day == 5)


@pytest.fixture
def seeded(sqlite_url: str):
    """Fuzzing covers the HTTP layer: one database is enough (the query tests run on both)."""
    store = create_store(sqlite_url, upgrade=True)
    try:
        yield seed(store)
    finally:
        store.dispose()


@pytest.fixture
def fuzzed(seeded: Seeded, tmp_path: Path):
    settings_ = api_settings(verify_limit_per_nik=10_000, verify_limit_per_caller=10_000)
    # The write side too: any service takes a free-form application, so submissions get past the catalog.
    ctx = build_context(seeded.store, settings_, environment="test", hasher=seeded.hasher, identity=AlwaysKnown(),
                        outbox=Outbox(seeded.store, seeded.hasher, Sealer(b"f" * 32)),
                        uploads=UploadStore(tmp_path / "uploads"), forms=lambda agency, code: {"type": "object"})
    app = create_app(ctx)
    # One token that may call everything: a citizen who is also an admin and an identity verifier.
    token = seeded.token("fuzzer", nik=SITI, roles=["admin", "identity_verifier"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.headers = {"Authorization": f"Bearer {token}"}
    return schema


def test_no_server_error(fuzzed):
    """Positive and negative cases for every operation (``fuzzed`` carries the token): nothing answers 5xx."""
    operations = [result.ok() for result in fuzzed.get_all_operations()]
    assert len(operations) >= 12
    seen: set[tuple[str, int]] = set()
    for operation in operations:
        fuzz(operation, fuzzed.config.headers, seen)
    # Cases got past authentication and validation, and invalid ones were refused as such.
    answered = {label for label, code in seen if code == 200}
    assert answered >= {op.label for op in operations if "{" not in op.path}, seen
    assert any(code == 422 for _, code in seen)


def fuzz(operation, headers: dict[str, str], seen: set[tuple[str, int]]) -> None:
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
           | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case) -> None:
        response = case.call(headers=headers)
        seen.add((operation.label, response.status_code))
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
        )

    call()


def test_the_fuzzing_token_reaches_the_endpoints(fuzzed, seeded):
    # Guards the test above: with a rejected token every case would answer 401 and prove nothing.
    token = fuzzed.config.headers["Authorization"]
    app_client = TestClient(fuzzed.app)
    for path in ("/api/v1/me/applications", "/api/v1/admin/runs", "/api/v1/catalog/services"):
        assert app_client.get(path, headers={"Authorization": token}).status_code == 200
