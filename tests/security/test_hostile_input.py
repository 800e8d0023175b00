"""Hostile values: SQL metacharacters and odd Unicode are stored literally, invalid NIKs are quarantined without
being repeated, a broken agency config names the field, and the NIK secret is required in production."""

from __future__ import annotations

import pytest

from mpp_bus.config import Settings, parse_agencies
from mpp_bus.engine import SyncEngine
from mpp_bus.errors import ConfigError
from mpp_bus.privacy import NikHasher
from mpp_bus.store import create_store
from tests.engine.fake_agency import FakeAgencyAdapter, application, make_nik

ODD = [
    "PRM-'; DROP TABLE applications; --",
    'PRM-" OR 1=1 --',
    "PRM-%_\\\\' UNION SELECT *",
    "PRM-\u202eKEBALIK\u202c",  # right-to-left override
    "PRM-\u200d\u200b\ufeffzero-width",
    "PRM-Ṩ̷̛̥ragen-ᬅᬓ᭄ᬱᬭ-漢字-😀",
]


def test_sql_metacharacters_and_odd_unicode_are_stored_literally(db_url: str) -> None:
    store = create_store(db_url, upgrade=True)
    adapter = FakeAgencyAdapter.for_agency()
    records = [application(i) for i in range(len(ODD))]
    for record, odd in zip(records, ODD, strict=True):
        record["application_id"] = odd
        record["service_code"] = odd[:60]
        record["agency_status"] = odd[:60]
    adapter.records["applications"] = records
    result = SyncEngine(store, NikHasher(b"s" * 32)).sync(adapter, "applications")
    assert result.stored == len(ODD) and result.quarantined == 0
    for odd in ODD:
        [entry] = store.status_history(adapter.agency_id, odd)
        assert entry.agency_status == odd[:60]
    assert {s.agency_id: s.applications for s in store.agency_summaries()} == {adapter.agency_id: len(ODD)}
    store.dispose()


BAD_NIKS = {
    "wrong length": "331401450790001",
    "impossible birth date": "3314013102900001",  # 31 February
    "region 00": "0014014507900001",
    "serial 0000": "3314014507900000",
    "letters": "33140145079O0001",
}


def test_invalid_niks_are_quarantined_with_the_reason_and_never_repeated(sqlite_url: str) -> None:
    store = create_store(sqlite_url, upgrade=True)
    adapter = FakeAgencyAdapter.for_agency()
    adapter.records["applications"] = [application(i, nik=nik) for i, nik in enumerate(BAD_NIKS.values())] + [
        application(99, nik=make_nik(99))]
    result = SyncEngine(store, NikHasher(b"s" * 32)).sync(adapter, "applications")
    assert result.stored == 1 and result.quarantined == len(BAD_NIKS)
    items = store.quarantine_items()
    assert len(items) == len(BAD_NIKS) and all("nik" in i.reason.lower() for i in items)
    kept = " ".join(f"{i.reason} {i.payload}" for i in items)
    assert not any(nik in kept for nik in BAD_NIKS.values())
    store.dispose()


@pytest.mark.parametrize(("entry", "field"), [
    ({"page_size": "many"}, "page_size"),
    ({"retry": {"attempts": 0}}, "retry.attempts"),
    ({"breaker": {"failure_threshold": -1}}, "breaker.failure_threshold"),
    ({"retry": {"max_second": 5}}, "retry.max_second"),
    ({"level": "desa"}, "level"),
    ({"region_code": "33-14"}, "region_code"),
])
def test_a_broken_agency_config_names_the_field(entry: dict[str, object], field: str) -> None:
    base = {"id": "oss", "adapter": "licensing", "name": "OSS", "level": "pusat", "config": {}}
    with pytest.raises(ConfigError) as raised:
        parse_agencies({"agencies": [{**base, **entry}]}, source="agencies.yaml")
    assert f"field `{field}`" in str(raised.value) and "agencies.yaml: agency oss" in str(raised.value)


def test_the_nik_secret_is_required_in_production_with_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="MPP_NIK_HMAC_SECRET is required outside development"):
        Settings(environment="production", nik_hmac_secret=None).nik_secret()
    with pytest.raises(ConfigError, match="shorter than 16 bytes"):
        Settings(environment="production", nik_hmac_secret="short").nik_secret()
