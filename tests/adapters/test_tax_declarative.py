"""The tax adapter runs declaratively with the same results as its former Python adapter.

``recorded/tax_python_adapter_run.json`` is a run of the Python tax adapter (version 1.0.0) against the mock tax
office (seed 11, 400 citizens, 240 applications, pages of 50): every canonical record and every page cursor.
Changed since on purpose, and only there: categories are the canonical ones (the tax vocabulary's `categories`),
the EFIN description is the mock's Indonesian text, and each record carries the office's revision note (status 25).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import to_jsonable_python

from adapters.tax import TaxAdapter
from mock_agencies import MockAgencies
from mpp_bus.config import AgencyInstance
from mpp_bus.contract import StreamName, registry
from mpp_bus.declarative import RestAdapter

BEFORE = json.loads((Path(__file__).parent / "recorded" / "tax_python_adapter_run.json").read_text("utf-8"))
SPEC = Path(__file__).resolve().parents[2] / "adapters" / "tax" / "spec.yaml"
KEY = {"password": "djp-rahasia"}


@pytest.fixture(scope="module")
def tax_url() -> Iterator[str]:
    # Its own mocks: the shared ones are advanced by other tests, this comparison needs the seeded data as it was.
    with MockAgencies(seed=11, citizens=400, applications=240, env={"MOCK_TIMELINE": "2025"}) as mocks:
        yield mocks.urls["tax"]


def tax_instance(url: str, adapter: str = "tax", **config: Any) -> AgencyInstance:
    return AgencyInstance(id="test-tax", adapter=adapter, name="tax", level="pusat", page_size=50, timeout_seconds=5,
                          config={"base_url": url, **config})


def run(adapter: Any) -> dict[str, Any]:
    out = {}
    with adapter:
        for stream in ("catalog", "applications"):
            pages = list(adapter.read(StreamName(stream), None))
            # The recording predates the versions a keyset cursor keeps of its last second (`seen`).
            out[stream] = {"records": to_jsonable_python([r for p in pages for r in p.records]),
                           "cursors": [p.cursor and {k: v for k, v in p.cursor.items() if k != "seen"}
                                       for p in pages]}
    return out


def test_the_tax_entry_point_is_the_declarative_type():
    assert issubclass(TaxAdapter, RestAdapter)
    assert TaxAdapter.spec_path == SPEC


def test_declarative_tax_yields_the_records_and_cursors_of_the_python_adapter(tax_url):
    after = run(TaxAdapter.from_instance(tax_instance(tax_url), KEY))
    assert len(after["applications"]["records"]) == 240
    assert after == BEFORE


def test_the_generic_rest_type_with_the_shipped_spec_gives_the_same(tax_url, monkeypatch):
    # Registered as the `rest` entry point, as the distribution does.
    fake = {"rest": EntryPoint("rest", "mpp_bus.declarative:RestAdapter", registry.GROUP)}
    monkeypatch.setattr(registry, "adapter_entry_points", lambda: fake)
    adapter = registry.build_adapter(tax_instance(tax_url, "rest", spec_file=str(SPEC)), KEY)
    assert type(adapter) is RestAdapter
    assert run(adapter) == BEFORE
