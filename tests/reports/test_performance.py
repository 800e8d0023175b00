"""Performance per agency and service, from the status history; the stored snapshot; the API and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from mpp_bus import reports
from mpp_bus.api import build_context, create_app
from mpp_bus.store import create_store
from tests.api.seed import SITI, seed

AS_OF = datetime(2025, 3, 12, 5, 0, tzinfo=UTC)


@pytest.fixture
def seeded(db_url):
    store = create_store(db_url, upgrade=True)
    try:
        yield seed(store)
    finally:
        store.dispose()


def by_service(rows):
    return {(r.agency_id, r.service_code): r for r in rows}


def test_share_within_sla_median_and_backlog(seeded):
    rows = by_service(reports.performance(seeded.store, as_of=AS_OF))
    assert set(rows) == {("dpmptsp-3314", "PBG"), ("dpmptsp-3314", "SIP"), ("djp", "NPWP-OP")}
    pbg = rows["dpmptsp-3314", "PBG"]
    # PRM-1 completed after 4 days (due 17 March), PRM-2 rejected after 20 days: one of two within SLA.
    assert (pbg.applications, pbg.finished, pbg.finished_within_sla) == (2, 2, 1)
    assert pbg.share_within_sla == 0.5 and pbg.median_processing_days == 12.0
    assert (pbg.backlog, pbg.overdue_backlog) == (0, 0)
    sip = rows["dpmptsp-3314", "SIP"]
    # No due date from the agency: 5 working days from Monday 3 March is Monday 10 March, past on the 12th.
    assert (sip.finished, sip.backlog, sip.overdue_backlog, sip.share_within_sla) == (0, 1, 1, None)
    npwp = rows["djp", "NPWP-OP"]
    # DJP-2 was cancelled by the citizen: neither finished nor backlog.
    assert (npwp.applications, npwp.finished, npwp.backlog, npwp.overdue_backlog) == (2, 0, 1, 1)
    assert npwp.agency_name == "Direktorat Jenderal Pajak" and npwp.service_name == "Pendaftaran NPWP Orang Pribadi"


def test_before_the_due_date_nothing_is_overdue(seeded):
    early = by_service(reports.performance(seeded.store, as_of=datetime(2025, 3, 4, tzinfo=UTC)))
    assert early["djp", "NPWP-OP"].overdue_backlog == 0 and early["dpmptsp-3314", "SIP"].overdue_backlog == 0


def test_filters(seeded):
    assert [r.service_code for r in reports.performance(seeded.store, agency_id="djp")] == ["NPWP-OP"]
    assert [r.agency_id for r in reports.performance(seeded.store, service_code="SIP")] == ["dpmptsp-3314"]


def test_refresh_replaces_the_snapshot_and_latest_serves_it(seeded):
    assert reports.latest(seeded.store) is None
    first = reports.refresh(seeded.store, as_of=AS_OF)
    again = reports.refresh(seeded.store, as_of=AS_OF)
    stamp, stored = reports.latest(seeded.store)
    assert stamp == AS_OF and stored == again == first
    assert [r.service_code for r in reports.latest(seeded.store, agency_id="djp")[1]] == ["NPWP-OP"]


def test_served_by_the_api_from_the_snapshot_or_live(seeded):
    ctx = build_context(seeded.store, seeded.settings, environment="test", hasher=seeded.hasher)
    client = TestClient(create_app(ctx))
    headers = seeded.headers("siti", nik=SITI)
    assert client.get("/api/v1/reports/performance").status_code == 401
    live = client.get("/api/v1/reports/performance", params={"agency": "dpmptsp-3314"}, headers=headers).json()
    assert [r["service_code"] for r in live["rows"]] == ["PBG", "SIP"]
    reports.refresh(seeded.store, as_of=AS_OF)
    snapshot = client.get("/api/v1/reports/performance", headers=headers).json()
    assert snapshot["computed_at"] == "2025-03-12T05:00:00Z" and len(snapshot["rows"]) == 3
    fresh = client.get("/api/v1/reports/performance", params={"live": "true"}, headers=headers).json()
    assert fresh["computed_at"] != snapshot["computed_at"]


def test_cli_prints_and_refreshes(seeded, db_url, capsys):
    import argparse

    from mpp_bus.cli.report import register

    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--agencies")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--database-url", db_url, "report", "performance", "--json", "--refresh"])
    assert args.run(args) == 0
    printed = capsys.readouterr().out
    assert '"service_code": "PBG"' in printed and '"share_within_sla": 0.5' in printed
    assert reports.latest(seeded.store) is not None
