"""The shipped adapters against the real mock agency servers (started once per session, small datasets)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from adapters.dukcapil import DukcapilAdapter
from adapters.licensing import LicensingAdapter
from adapters.tax import TaxAdapter
from mock_agencies import MockAgencies
from mpp_bus.config import AgencyInstance, RetryConfig
from mpp_bus.contract import Adapter

ADMIN = {"X-Admin-Token": "mock-admin"}
FAST_RETRY = RetryConfig(attempts=3, max_seconds=5, initial_wait=0, max_wait=0.05, jitter=0)
APPLICATIONS = 240
PAGE_SIZE = 50


@pytest.fixture(scope="session")
def mocks() -> Iterator[MockAgencies]:
    with MockAgencies(seed=11, citizens=400, applications=APPLICATIONS) as running:
        yield running


def instance(adapter: str, base_url: str, **overrides: Any) -> AgencyInstance:
    config = {
        "dukcapil": {"wsdl_url": f"{base_url}/ws/dukcapil?wsdl"},
        "licensing": {"base_url": base_url, "tenant": "dpmptsp-3314"},
        "tax": {"base_url": base_url},
    }[adapter]
    values: dict[str, Any] = {"id": f"test-{adapter}", "adapter": adapter, "name": adapter, "level": "pusat",
                              "page_size": PAGE_SIZE, "timeout_seconds": 5, "retry": FAST_RETRY, "config": config}
    return AgencyInstance(**{**values, **overrides})


GOOD = {
    "dukcapil": {"login": "mpp-bus", "password": "dukcapil-rahasia"},
    "licensing": {"login": "mpp-bus", "password": "oss-rahasia"},
    "tax": {"password": "djp-rahasia"},
}
TYPES: dict[str, type[Adapter]] = {"dukcapil": DukcapilAdapter, "licensing": LicensingAdapter, "tax": TaxAdapter}
DATASET = {"dukcapil": "dukcapil", "licensing": "dpmptsp-3314", "tax": "tax"}


class Kit:
    """What the tests need of the running mocks: build an adapter, call an admin endpoint."""

    applications = APPLICATIONS
    page_size = PAGE_SIZE
    types = TYPES
    dataset = DATASET

    def __init__(self, mocks: MockAgencies) -> None:
        self.mocks = mocks
        self.urls = mocks.urls

    def build(self, agency: str, connection: dict[str, Any] | None = None, **overrides: Any) -> Adapter:
        adapter = TYPES[agency].from_instance(instance(agency, self.urls[agency], **overrides),
                                              connection or GOOD[agency])
        return adapter

    def admin(self, agency: str, method: str, path: str, **kwargs: Any) -> Any:
        resp = requests.request(method, self.urls[agency] + path, headers=ADMIN, timeout=10, **kwargs)
        resp.raise_for_status()
        return resp.json()


@pytest.fixture(scope="session")
def kit(mocks: MockAgencies) -> Kit:
    return Kit(mocks)


@pytest.fixture(params=["dukcapil", "licensing", "tax"])
def agency(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def faults(kit: Kit) -> Iterator[Any]:
    """Switch a fault profile on for one test; always switched back off."""
    touched: list[str] = []

    def set_profile(agency: str, profile: str, **options: Any) -> None:
        touched.append(agency)
        kit.admin(agency, "POST", "/admin/faults", json={"profile": profile, **options})

    yield set_profile
    for agency in touched:
        kit.admin(agency, "POST", "/admin/faults", json={"profile": "none"})
