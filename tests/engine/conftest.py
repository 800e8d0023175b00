"""Fixtures of the engine tests: a migrated store on each database, an engine and a fake agency."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mpp_bus.engine import SyncEngine
from mpp_bus.privacy import NikHasher
from mpp_bus.store import Store, create_store

from .fake_agency import FakeAgencyAdapter

SECRET = b"engine-tests-nik-secret-0123456789"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = create_store(db_url, upgrade=True)
    yield store
    store.dispose()


@pytest.fixture
def hasher() -> NikHasher:
    return NikHasher(SECRET)


@pytest.fixture
def engine(store: Store, hasher: NikHasher) -> SyncEngine:
    return SyncEngine(store, hasher)


@pytest.fixture
def agency() -> FakeAgencyAdapter:
    return FakeAgencyAdapter.for_agency(page_size=10)
