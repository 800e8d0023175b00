"""Fixtures: a seeded store, the app on it, and a test client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mpp_bus.api import build_context, create_app
from mpp_bus.store import create_store
from tests.api.seed import Seeded, seed


@pytest.fixture
def seeded(db_url: str) -> Iterator[Seeded]:
    """Each API test runs on SQLite and on PostgreSQL."""
    store = create_store(db_url, upgrade=True)
    try:
        yield seed(store)
    finally:
        store.dispose()


@pytest.fixture
def ctx(seeded: Seeded):
    return build_context(seeded.store, seeded.settings, environment="test", hasher=seeded.hasher)


@pytest.fixture
def client(ctx) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c
