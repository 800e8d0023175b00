from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mock_agencies import MockAgencies

ADMIN = {"X-Admin-Token": "mock-admin"}


class Admin:
    """The admin side of running mock agencies, and ready-made clients for their data side."""

    def __init__(self, mocks: MockAgencies) -> None:
        self.mocks = mocks

    def faults(self, agency: str, profile: str, **options: Any) -> dict[str, Any]:
        response = requests.post(f"{self.mocks.urls[agency]}/admin/faults", json={"profile": profile, **options},
                                 headers=ADMIN, timeout=5)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def truth(self, agency: str, dataset: str) -> dict[str, Any]:
        response = requests.get(f"{self.mocks.urls[agency]}/admin/truth", params={"dataset": dataset},
                                headers=ADMIN, timeout=10)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def advance(self, agency: str, dataset: str, count: int) -> list[str]:
        response = requests.post(f"{self.mocks.urls[agency]}/admin/advance", json={"dataset": dataset,
                                                                                  "count": count},
                                 headers=ADMIN, timeout=5)
        response.raise_for_status()
        return response.json()["advanced"]  # type: ignore[no-any-return]

    def citizens(self, start: int, limit: int) -> list[dict[str, Any]]:
        response = requests.get(f"{self.mocks.urls['dukcapil']}/admin/citizens",
                                params={"start": start, "limit": limit}, headers=ADMIN, timeout=5)
        response.raise_for_status()
        return response.json()["citizens"]  # type: ignore[no-any-return]

    def licensing(self) -> requests.Session:
        session = requests.Session()
        token = session.post(f"{self.mocks.urls['licensing']}/oauth/token",
                             data={"grant_type": "client_credentials", "client_id": "mpp-bus",
                                   "client_secret": "oss-rahasia"}, timeout=5)
        token.raise_for_status()
        session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        return session

    def tax(self) -> requests.Session:
        session = requests.Session()
        session.headers["X-DJP-Key"] = "djp-rahasia"
        return session


@pytest.fixture(scope="session")
def mocks() -> Iterator[MockAgencies]:
    with MockAgencies(seed=7, citizens=500, applications=400) as running:
        yield running


@pytest.fixture
def admin(mocks: MockAgencies) -> Iterator[Admin]:
    """Admin access; whatever fault profile a test sets is cleared afterwards."""
    yield Admin(mocks)
    for url in mocks.urls.values():
        requests.post(f"{url}/admin/faults", json={"profile": "none"}, headers=ADMIN, timeout=5).raise_for_status()
