"""Alerts through Airflow notifiers, mailed to a real SMTP server the test starts (aiosmtpd): one alert per outage and
per stale agency, however many retries or report runs see it; each names the agency, stream, error class and what
to do."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from aiosmtpd.controller import Controller

from mpp_bus.airflow.alerts import MppFailureNotifier
from mpp_bus.airflow.operators import MppReportOperator
from mpp_bus.errors import AuthError
from mpp_bus.store import create_store
from tests.api.seed import seed

NIK = "3314014507900001"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox(monkeypatch) -> Iterator[Inbox]:
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_MPP_ALERTS_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": controller.port,
        "extra": {"from": "mpp-bus@portal.test", "to": "ops@portal.test"}}))
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def bus_env(db_url, tmp_path: Path, monkeypatch) -> Path:
    store = create_store(db_url, upgrade=True)
    try:
        seed(store)
    finally:
        store.dispose()
    doc = {"agencies": [
        {"id": "dpmptsp-3314", "adapter": "licensing", "name": "DPMPTSP Kabupaten Sragen", "level": "kabupaten_kota",
         "region_code": "33.14", "schedule": "@hourly", "connection_id": "mpp_licensing",
         "config": {"base_url": "http://127.0.0.1:9", "tenant": "dpmptsp-3314"}},
        {"id": "dpmptsp-3273", "adapter": "licensing", "name": "DPMPTSP Kota Bandung", "level": "kabupaten_kota",
         "region_code": "32.73", "schedule": "@hourly", "connection_id": "mpp_licensing",
         "config": {"base_url": "http://127.0.0.1:9", "tenant": "dpmptsp-3273"}},
        {"id": "djp-baru", "adapter": "licensing", "name": "Kantor Pajak Baru", "level": "pusat",
         "schedule": "@daily", "connection_id": "mpp_licensing",
         "config": {"base_url": "http://127.0.0.1:9", "tenant": "x"}},
    ]}
    path = tmp_path / "agencies.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    monkeypatch.setenv("MPP_DATABASE_URL", db_url)
    monkeypatch.setenv("MPP_AGENCIES_FILE", str(path))
    monkeypatch.setenv("MPP_ENVIRONMENT", "test")
    monkeypatch.setenv("MPP_NIK_HMAC_SECRET", "test-secret-of-at-least-32-bytes-long")
    return path


def test_one_staleness_alert_per_stale_agency(inbox: Inbox, bus_env: Path) -> None:
    report = MppReportOperator(task_id="write_report", agencies_file=str(bus_env))
    first = report.execute({})
    # Seeded Sragen synced just now; the two never-synced agencies are stale.
    assert first["stale"] == 2 and first["alerts_sent"] == 2
    for _ in range(3):  # the report runs again whenever data lands: no new mail while they stay stale
        assert report.execute({})["alerts_sent"] == 0
    subjects = sorted(str(m["Subject"]) for m in inbox.messages)
    assert len(subjects) == 2
    assert "Kota Bandung (dpmptsp-3273)" in subjects[0] and "stale" in subjects[0]
    assert "Kantor Pajak Baru (djp-baru)" in subjects[1]
    body = inbox.messages[0].get_payload()
    assert "What to do:" in body and "Error class: Stale" in body


def test_report_refreshes_at_most_once_per_interval(bus_env: Path) -> None:
    report = MppReportOperator(task_id="write_report", agencies_file=str(bus_env), min_refresh_seconds=600)
    assert report.execute({})["refreshed"] is True
    assert report.execute({})["refreshed"] is False


def test_failure_alert_once_per_outage_naming_agency_stream_class_and_advice(inbox: Inbox, bus_env: Path) -> None:
    notifier = MppFailureNotifier(agency_id="dpmptsp-3314", agency_name="DPMPTSP Kabupaten Sragen",
                                  agencies_file=str(bus_env))
    error = AuthError(f"POST /oauth/token: the agency refused our credentials (HTTP 403) for {NIK}",
                      agency="dpmptsp-3314")
    context = {"ti": SimpleNamespace(task_id="sync_applications"), "exception": error}
    for _ in range(3):  # three failed runs of the same outage
        notifier.notify(context)
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    subject, body = str(mail["Subject"]), str(mail.get_payload())
    assert "DPMPTSP Kabupaten Sragen (dpmptsp-3314)" in subject and "applications" in subject
    assert "AuthError" in subject and "Error class: AuthError" in body
    assert "Stream: applications" in body and "Connection" in body
    assert NIK not in body and NIK not in subject

    # A clean run resolves the alert; the next outage alerts again.
    from datetime import UTC, datetime

    store = create_store(notifier_url())
    try:
        assert store.resolve_alert("dpmptsp-3314", "failure", now=datetime.now(UTC))
    finally:
        store.dispose()
    notifier.notify(context)
    assert len(inbox.messages) == 2


def notifier_url() -> str:
    import os

    return os.environ["MPP_DATABASE_URL"]
