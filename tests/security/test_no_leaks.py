"""After full runs, faulty ones included: no clear NIK or citizen name in the store, the logs, exception messages or
the quarantine, and no agency credential in the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import requests

from mock_agencies import MockAgencies
from mpp_bus.errors import MppBusError
from tests.cli.test_cli import dump_text
from tests.reliability.conftest import ADMIN, CONNECTIONS, DATASETS, agencies_doc, make_bus, set_fault, truth


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockAgencies]:
    with MockAgencies(seed=31, citizens=300, applications=300) as running:
        yield running


def citizen_names(mocks: MockAgencies) -> set[str]:
    body = requests.get(f"{mocks.urls['dukcapil']}/admin/citizens", params={"start": 0, "limit": 300},
                        headers=ADMIN, timeout=10).json()
    return {c["nama_lengkap"] for c in body["citizens"]}


def test_no_nik_name_or_credential_anywhere_after_full_and_faulty_runs(
    db_url: str, mocks: MockAgencies, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bus = make_bus(db_url, agencies_doc(mocks.urls, retry={"attempts": 2, "max_seconds": 5, "initial_wait": 0}))
    messages: list[str] = []
    for agency_id in DATASETS:
        for profile in ("malformed", "out_of_order", "duplicates", "maintenance"):
            set_fault(mocks, agency_id, profile, **({} if profile == "maintenance" else {"rate": 0.2}))
            try:
                for stream in ("catalog", "applications"):
                    bus.sync(agency_id, stream, full_refresh=True)
            except MppBusError as exc:
                messages.extend([str(exc), repr(exc)])
            finally:
                set_fault(mocks, agency_id, "none")
    with bus.adapter("oss") as adapter:
        messages.append(adapter.check().message)
    assert any("503" in m for m in messages), "the maintenance runs must have failed with a message"
    quarantine = bus.store.quarantine_items(limit=10_000)
    assert len(quarantine) > 20

    niks = set().union(*(truth(mocks, a).niks for a in DATASETS))
    names = {n for n in citizen_names(mocks) if len(n) > 6}
    secrets = {c["password"] for c in CONNECTIONS.values()}
    texts = [caplog.text, *messages, *dump_text(db_url),
             *(f"{q.record_id} {q.reason} {q.payload}" for q in quarantine)]
    blob = "\n".join(texts)
    assert [n for n in niks if n in blob] == []
    assert [n for n in names if n in blob] == []
    assert [s for s in secrets if s in blob] == []
