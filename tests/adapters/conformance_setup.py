"""How the conformance kit builds each shipped adapter, and how its recorded responses are made.

Re-record after changing what an adapter asks of its agency::

    python -m tests.adapters.conformance_setup
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.dukcapil import DukcapilAdapter
from adapters.licensing import LicensingAdapter
from adapters.tax import TaxAdapter
from mock_agencies.catalogs import DUKCAPIL_LIFECYCLE, LICENSING_LIFECYCLE, TAX_LIFECYCLE
from mpp_bus.config import AgencyInstance, RetryConfig
from mpp_bus.contract import Adapter

RECORDED = Path(__file__).parent / "recorded"
PAGE_SIZE = 25
QUICK = RetryConfig(attempts=2, max_seconds=2, initial_wait=0, max_wait=0.01, jitter=0)
TYPES: dict[str, type[Adapter[Any]]] = {"dukcapil": DukcapilAdapter, "licensing": LicensingAdapter, "tax": TaxAdapter}
CONNECTIONS = {
    "dukcapil": {"login": "mpp-bus", "password": "dukcapil-rahasia"},
    "licensing": {"login": "mpp-bus", "password": "oss-rahasia"},
    "tax": {"password": "djp-rahasia"},
}
STATUSES = {"dukcapil": DUKCAPIL_LIFECYCLE.statuses, "licensing": LICENSING_LIFECYCLE.statuses,
            "tax": TAX_LIFECYCLE.statuses}


def kit_instance(agency: str, url: str) -> AgencyInstance:
    config = {"dukcapil": {"wsdl_url": f"{url}/ws/dukcapil?wsdl"},
              "licensing": {"base_url": url, "tenant": "dpmptsp-3314"},
              "tax": {"base_url": url}}[agency]
    return AgencyInstance(id=f"kit-{agency}", adapter=agency, name=f"Kit {agency}", level="pusat",
                          page_size=PAGE_SIZE, timeout_seconds=5, retry=QUICK, config=config)


def record_all() -> None:
    from mock_agencies import MockAgencies
    from mpp_bus.testing import record

    with MockAgencies(seed=11, citizens=200, applications=80) as mocks:
        for agency, adapter_type in TYPES.items():
            url = mocks.urls[agency]
            record(lambda session, a=agency, t=adapter_type, u=url: t.from_instance(kit_instance(a, u),
                                                                                   CONNECTIONS[a], session=session),
                   RECORDED / f"{agency}.json")


if __name__ == "__main__":
    record_all()
