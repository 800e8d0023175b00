"""Every shipped adapter passes the conformance kit: offline against its recorded responses, and live against the
mock agencies."""

from __future__ import annotations

from typing import Any

import pytest

from mpp_bus.config import AgencyInstance
from mpp_bus.testing import AdapterConformance

from .conformance_setup import CONNECTIONS, RECORDED, STATUSES, TYPES, kit_instance


class _Shipped(AdapterConformance):
    agency: str

    def instance(self, url: str) -> AgencyInstance:
        return kit_instance(self.agency, url)


class TestDukcapilRecorded(_Shipped):
    agency, adapter_type, connection = "dukcapil", TYPES["dukcapil"], CONNECTIONS["dukcapil"]
    recorded, agency_statuses = RECORDED / "dukcapil.json", STATUSES["dukcapil"]


class TestLicensingRecorded(_Shipped):
    agency, adapter_type, connection = "licensing", TYPES["licensing"], CONNECTIONS["licensing"]
    recorded, agency_statuses = RECORDED / "licensing.json", STATUSES["licensing"]


class TestTaxRecorded(_Shipped):
    agency, adapter_type, connection = "tax", TYPES["tax"], CONNECTIONS["tax"]
    recorded, agency_statuses = RECORDED / "tax.json", STATUSES["tax"]


class _Live(_Shipped):
    mode = "live"

    @pytest.fixture(scope="class")
    @classmethod
    def agency_url(cls, mocks: Any) -> str:
        return str(mocks.urls[cls.agency])


class TestDukcapilLive(_Live, TestDukcapilRecorded):
    pass


class TestLicensingLive(_Live, TestLicensingRecorded):
    pass


class TestTaxLive(_Live, TestTaxRecorded):
    pass
