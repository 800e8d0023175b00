"""Property: whatever an agency puts in a page, each adapter's mapping turns every item into a canonical record or
a reject, and the run through the engine never crashes."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpp_bus.config import AgencyInstance
from mpp_bus.contract import Page, StreamName, build_adapter
from mpp_bus.engine import SyncEngine
from mpp_bus.privacy import NikHasher
from mpp_bus.store import create_store
from mpp_bus.testing.transport import FunctionTransport, Reply, Request, session_for
from mpp_bus.transport import KeysetPage

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=40),
                    st.sampled_from(["3314014507900001", "2025-02-30", "31/02/2025 10:00", "ISSUED", "10", ""]))
JSONISH = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                       max_leaves=12)
LICENSING_KEYS = ["id", "service_code", "applicant_nik", "status", "status_at", "submitted_at", "sla_due_date",
                  "document_number", "updated_at"]
TAX_KEYS = ["no_permohonan", "kode_layanan", "npwp_or_nik", "kode_status", "tgl_status", "tgl_pengajuan",
            "jatuh_tempo", "no_dokumen", "terakhir_diubah"]


def items(keys: list[str]) -> st.SearchStrategy[list[Any]]:
    shaped = st.fixed_dictionaries({}, optional={k: JSONISH for k in keys})
    return st.lists(st.one_of(shaped, JSONISH), max_size=6)


def instance(adapter: str, config: dict[str, Any]) -> AgencyInstance:
    return AgencyInstance(id=adapter, adapter=adapter, name=adapter, level="pusat", config=config,
                          retry={"attempts": 1})


def agency(records: list[Any]) -> Any:
    def handler(request: Request) -> Reply:
        if request.path.endswith("/oauth/token"):
            return Reply(200, {"access_token": "t", "token_type": "Bearer", "expires_in": 3600})
        if request.path.endswith("/applications"):
            return Reply(200, {"data": records, "next_cursor": None})
        return Reply(200, {"hasil": records, "halaman": 1, "total_halaman": 1, "total_data": len(records)})
    return handler


STORE = create_store("sqlite://", upgrade=True)
ENGINE = SyncEngine(STORE, NikHasher(b"p" * 32))
CONFIGS = {
    "licensing": ({"base_url": "http://licensing.test", "tenant": "oss"}, {"login": "c", "password": "s"},
                  LICENSING_KEYS),
    "tax": ({"base_url": "http://tax.test"}, {"password": "k"}, TAX_KEYS),
}


def sync_through_engine(adapter_name: str, records: list[Any]) -> None:
    config, connection, _ = CONFIGS[adapter_name]
    adapter = build_adapter(instance(adapter_name, config), connection,
                            session=session_for(FunctionTransport(agency(records))))
    result = ENGINE.sync(adapter, StreamName.APPLICATIONS, full_refresh=True)
    assert result.ok
    assert result.read == result.stored + result.unchanged + result.stale + result.quarantined


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items(LICENSING_KEYS))
def test_licensing_never_crashes_on_arbitrary_payloads(records: list[Any]) -> None:
    sync_through_engine("licensing", records)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items(TAX_KEYS))
def test_tax_declarative_mapping_never_crashes_on_arbitrary_payloads(records: list[Any]) -> None:
    sync_through_engine("tax", records)


DUKCAPIL_FIELDS = ["NomorPermohonan", "KodeLayanan", "NikPemohon", "StatusKode", "WaktuStatus", "WaktuPengajuan",
                   "BatasSla", "NomorDokumen", "DiperbaruiPada"]
VALUES = st.one_of(JSONISH, st.datetimes(timezones=st.just(UTC)), st.dates())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional={k: VALUES for k in DUKCAPIL_FIELDS}), max_size=6))
def test_dukcapil_mapping_never_crashes_on_arbitrary_objects(raw: list[dict[str, Any]]) -> None:
    adapter = build_adapter(instance("dukcapil", {"wsdl_url": "http://dukcapil.test/ws?wsdl"}), {"password": "x"})
    page = KeysetPage(None)
    for fields in raw:
        p = SimpleNamespace(**{k: fields.get(k) for k in DUKCAPIL_FIELDS})
        # as read_applications feeds each Permohonan of a SOAP page
        page.add(p, p.NomorPermohonan, lambda p=p: p.DiperbaruiPada,
                 lambda updated, p=p: adapter._application(p, updated))
    result: Page = page.page(page_token=None)
    assert len(result.records) + len(result.rejects) <= len(raw)
    for record in result.records:
        assert isinstance(record["source_updated_at"], datetime)
