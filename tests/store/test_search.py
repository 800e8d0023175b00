"""Catalog search on both stores: the same queries, on the mock agencies' own catalogs, find the same services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mock_agencies.catalogs import DUKCAPIL_SERVICES, OSS_SERVICES, TAX_SERVICES, regional_services
from mpp_bus.canonical import Agency, Level
from mpp_bus.store import CatalogFilter, create_store
from mpp_bus.store import state as st

T0 = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)
AGENCIES = {
    "dukcapil-3314": ("Disdukcapil Kabupaten Sragen", DUKCAPIL_SERVICES),
    "oss": ("Kementerian Investasi/BKPM (OSS)", OSS_SERVICES),
    "dpmptsp-3314": ("DPMPTSP Kabupaten Sragen", regional_services("dpmptsp-3314", "Kabupaten Sragen")),
    "djp": ("Direktorat Jenderal Pajak", TAX_SERVICES),
}


@pytest.fixture
def store(db_url):
    store = create_store(db_url, upgrade=True)
    with store.engine.begin() as conn:
        for agency_id, (name, catalog) in AGENCIES.items():
            st.register_agency(conn, Agency(id=agency_id, name=name, level=Level.PUSAT), adapter="x", now=T0)
            st.upsert_services(conn, [_row(agency_id, s) for s in catalog])
    yield store
    store.dispose()


def _row(agency_id, s):
    return {"agency_id": agency_id, "code": s.code, "name": s.name, "description": s.description,
            "category": s.category, "requirements": [], "output_document": s.output_document,
            "sla_working_days": s.sla_days, "fee_idr": s.fee_idr, "legal_basis": s.legal_basis, "channels": [],
            "locations": [], "content_hash": s.code, "seen_generation": 1, "withdrawn_at": None,
            "source_updated_at": None, "synced_at": T0}


def search(store, text, limit=5):
    total, rows = store.search_services(CatalogFilter(text=text), limit=limit, offset=0)
    return total, [f"{r.agency_id}/{r.code}" for r in rows]


@pytest.mark.parametrize(("query", "expected"), [
    ("apotek izin", "dpmptsp-3314/APOTEK"),
    ("izin apotek", "dpmptsp-3314/APOTEK"),  # word order does not matter
    ("SIA", "dpmptsp-3314/APOTEK"),  # the licence's common abbreviation
    ("praktek dokter", "dpmptsp-3314/SIP-DOKTER"),  # the everyday spelling of "praktik"
    ("dokter praktik", "dpmptsp-3314/SIP-DOKTER"),
    ("PBG", "dpmptsp-3314/PBG"),
    ("IMB", "dpmptsp-3314/PBG"),  # the old name of the building permit
    ("perizinan bangunn", "dpmptsp-3314/PBG"),  # a typo
    ("gedung bangunan persetujuan", "dpmptsp-3314/PBG"),
    ("SIUP", "oss/NIB"),  # replaced by the NIB
    ("TDP", "oss/NIB"),
    ("akta kelahran", "dukcapil-3314/AKTA-LAHIR"),
    ("kartu keluarga baru", "dukcapil-3314/KK-BARU"),
    ("daftar npwp", "djp/NPWP-01"),
])
def test_the_best_match_comes_first(store, query, expected):
    total, found = search(store, query)
    assert found and found[0] == expected, (query, found)
    assert total >= 1


def test_words_that_match_nothing_find_nothing(store):
    assert search(store, "zzqx wvyk") == (0, [])
    assert search(store, "100%_") == (0, [])
    assert search(store, "   ")[0] > 0  # no words: every service, as without a query


def test_the_index_follows_changes_to_services(store):
    with store.engine.begin() as conn:
        st.upsert_services(conn, [{**_row("djp", TAX_SERVICES[0]), "name": "Pendaftaran Nomor Pokok Kapal Terbang",
                                   "content_hash": "changed"}])
    assert search(store, "kapal terbang")[1][:1] == ["djp/NPWP-01"]
    assert search(store, "SIUP")[1][:1] == ["oss/NIB"]
