"""End to end in a real headless Chromium (Debian's, driven by its chromedriver): a citizen signs up at SSO MPP
Digital (verified against the mock Dukcapil through the bus's identity API), signs in through it, sees applications
from several agencies, signs out, and Back shows nothing.

The mock agencies (with the SSO provider) run as their own process; the bus syncs them into a SQLite store; the API
runs as its own process (``python -m mpp_bus.api``) on a free port. Both are stopped by their PIDs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from mock_agencies import MockAgencies
from mpp_bus.bus import Bus
from mpp_bus.config import Settings
from tests.api.seed import SECRET

CHROMIUM = os.environ.get("MPP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MPP_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
ROOT = Path(__file__).parents[2]
CONNECTIONS = {  # the mock agencies' published demo credentials
    "AIRFLOW_CONN_MPP_DUKCAPIL": {"conn_type": "http", "login": "mpp-bus", "password": "dukcapil-rahasia"},
    "AIRFLOW_CONN_MPP_LICENSING": {"conn_type": "http", "login": "mpp-bus", "password": "oss-rahasia"},
    "AIRFLOW_CONN_MPP_TAX": {"conn_type": "http", "password": "djp-rahasia"},
}
PASSWORD = "Rahasia-Warga-2024"
OUTBOX_KEY = "bXBwLWJ1cy1icm93c2VyLXRlc3Qtb3V0Ym94LWtleSE="  # 32 bytes, base64: a test key

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _require_browser() -> None:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = f"Chromium ({CHROMIUM}) and chromedriver ({CHROMEDRIVER}) are needed: run `make browser`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Portal:
    base: str
    sso: str
    citizen: dict[str, str]
    bus_settings: Settings | None = None
    mocks: MockAgencies | None = None


def _agencies_file(path: Path, mocks: MockAgencies) -> Path:
    config = yaml.safe_load((ROOT / "agencies.yaml").read_text())
    # the agencies the mocks stand for, under the repository's own configuration
    config["agencies"] = [a for a in config["agencies"] if a["id"] in {"dukcapil", "oss", "dpmptsp-3314", "djp"}]
    urls = {"dukcapil": mocks.urls["dukcapil"], "licensing": mocks.urls["licensing"], "tax": mocks.urls["tax"]}
    for agency in config["agencies"]:
        cfg = agency.setdefault("config", {})
        if "wsdl_url" in cfg:
            cfg["wsdl_url"] = f"{urls['dukcapil']}/ws/dukcapil?wsdl"
        elif agency["adapter"] == "licensing":
            cfg["base_url"] = urls["licensing"]
        elif "base_url" in cfg:
            cfg["base_url"] = urls["tax"]
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def server(tmp_path, monkeypatch, request) -> Iterator[Portal]:
    _require_browser()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    for name, value in CONNECTIONS.items():
        monkeypatch.setenv(name, json.dumps(value))
    sso_env = {"MOCK_SSO_REDIRECT_URIS": f"{base}/auth/callback", "MOCK_SSO_POST_LOGOUT_REDIRECT_URIS": f"{base}/"}
    holding = getattr(request, "param", None)  # a citizen holding the output of this OSS service
    # enough applications that OSS has issued some of each service
    with MockAgencies(citizens=60, applications=300 if holding else 20, env=sso_env,
                      sso_options=["--sso-bus-api", base]) as mocks:
        agencies = _agencies_file(tmp_path / "agencies.yaml", mocks)
        url = f"sqlite:///{tmp_path / 'portal.db'}"
        uploads = tmp_path / "uploads"
        bus_settings = Settings(database_url=url, agencies_file=agencies, environment="test",  # type: ignore[arg-type]  # str to SecretStr
                                nik_hmac_secret=SECRET.decode(), outbox_key=OUTBOX_KEY, upload_dir=uploads)
        bus = Bus.from_settings(bus_settings)
        bus.store.upgrade()
        for instance in bus.selected([]):
            for stream in bus.streams_of(instance.id):
                bus.sync(instance.id, stream, full_refresh=True)
        bus.store.dispose()
        citizen = _citizen(mocks, holding)
        env = {**os.environ, "MPP_DATABASE_URL": url, "MPP_ENVIRONMENT": "development",
               "MPP_NIK_HMAC_SECRET": SECRET.decode(), "MPP_AGENCIES_FILE": str(agencies),
               "MPP_API_JWT_ALGORITHM": "RS256", "MPP_API_JWT_AUDIENCE": "mpp-bus-api",
               "MPP_API_OIDC_ISSUER": mocks.sso_url, "MPP_API_OIDC_CLIENT_SECRET": "portal-rahasia",
               "MPP_API_OIDC_REDIRECT_URI": f"{base}/auth/callback",
               "MPP_API_OIDC_POST_LOGOUT_REDIRECT_URI": f"{base}/", "MPP_OUTBOX_KEY": OUTBOX_KEY,
               "MPP_UPLOAD_DIR": str(uploads)}
        log = (tmp_path / "api.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "mpp_bus.api", "--port", str(port), "--log-level",
                                    "warning"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the API did not start: " + (tmp_path / "api.log").read_text()) from None
                    time.sleep(0.2)
            yield Portal(base, mocks.sso_url, citizen, bus_settings, mocks)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            log.close()


def _citizen(mocks: MockAgencies, holding: str | None) -> dict[str, str]:
    """A citizen of the mock population: the fourth, or (``holding`` a service code of OSS) one whose application
    for that service OSS has issued."""
    admin = {"X-Admin-Token": "mock-admin"}
    everyone = requests.get(f"{mocks.urls['dukcapil']}/admin/citizens", params={"start": 0, "limit": 1000},
                            headers=admin, timeout=10).json()["citizens"]
    if holding is None:
        return dict(everyone[3])
    truth = requests.get(f"{mocks.urls['licensing']}/admin/truth", params={"dataset": "oss"}, headers=admin,
                         timeout=10).json()
    holders = {r["applicant_nik"] for r in truth["records"] if r["service_code"] == holding and r["status"] == "ISSUED"}
    return dict(next(c for c in everyone if c["nik"] in holders))


@pytest.fixture
def browser(tmp_path) -> Iterator[object]:
    _require_browser()
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _fill(browser, name: str, value: str) -> None:
    field = browser.find_element(By.NAME, name)
    # a date input takes keys in the browser's locale; set its value directly
    browser.execute_script("arguments[0].value = arguments[1]", field, value)


def test_a_citizen_signs_up_signs_in_tracks_and_signs_out(server, browser):
    base, sso, citizen = server.base, server.sso, server.citizen
    wait = WebDriverWait(browser, 20)

    browser.get(f"{base}/lacak")
    assert browser.current_url.startswith(f"{base}/masuk")
    assert "Silakan masuk" in browser.find_element(By.ID, "pesan").text
    browser.find_element(By.ID, "tombol-sso").click()
    wait.until(ec.url_contains(f"{sso}/masuk"))

    # sign up: the provider asks the bus, which asks the mock Dukcapil
    browser.find_element(By.LINK_TEXT, "Daftar").click()
    wait.until(ec.url_contains("/daftar"))
    for name, value in (("nik", citizen["nik"]), ("nama", citizen["nama_lengkap"]),
                        ("tgl_lahir", citizen["tanggal_lahir"]), ("kata_sandi", PASSWORD),
                        ("ulangi_kata_sandi", PASSWORD)):
        _fill(browser, name, value)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(ec.url_contains("terdaftar=1"))

    # sign in at the provider, back to the page asked for
    _fill(browser, "nik", citizen["nik"])
    _fill(browser, "kata_sandi", PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(ec.title_contains("Lacak Permohonan"))
    assert browser.current_url == f"{base}/lacak"
    cards = browser.find_elements(By.CSS_SELECTOR, "article.permohonan")
    agencies = {c.get_attribute("data-instansi") for c in cards}
    assert len(agencies) >= 3, agencies
    assert citizen["nik"] not in browser.page_source and citizen["nama_lengkap"] not in browser.page_source
    old_cookie = browser.get_cookie("mpp_sesi")
    assert old_cookie and old_cookie["httpOnly"] and citizen["nik"] not in old_cookie["value"]

    # sign out here and at the provider
    browser.find_element(By.ID, "keluar").click()
    wait.until(ec.url_contains(f"{base}/masuk"))
    assert browser.get_cookie("mpp_sesi") is None

    # Back: the personal page is not kept, and asking again shows no application
    browser.back()
    wait.until(ec.url_contains(f"{base}/masuk"))
    assert not browser.find_elements(By.CSS_SELECTOR, "article.permohonan")
    assert "Lacak Permohonan" not in browser.title

    # the old cookie, replayed, opens nothing
    replay = requests.get(f"{base}/lacak", cookies={"mpp_sesi": old_cookie["value"]}, allow_redirects=False,
                          timeout=10)
    assert replay.status_code == 303 and replay.headers["Location"].startswith("/masuk")


def _sign_up_and_in(browser, wait, sso: str, citizen: dict[str, str]) -> None:
    """From the provider's sign-in page: sign up (verified against the mock Dukcapil), then sign in."""
    browser.find_element(By.LINK_TEXT, "Daftar").click()
    wait.until(ec.url_contains("/daftar"))
    for name, value in (("nik", citizen["nik"]), ("nama", citizen["nama_lengkap"]),
                        ("tgl_lahir", citizen["tanggal_lahir"]), ("kata_sandi", PASSWORD),
                        ("ulangi_kata_sandi", PASSWORD)):
        _fill(browser, name, value)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(ec.url_contains("terdaftar=1"))
    _fill(browser, "nik", citizen["nik"])
    _fill(browser, "kata_sandi", PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


@pytest.mark.parametrize("server", ["NIB"], indirect=True)
def test_a_citizen_holding_a_nib_applies_for_a_regional_licence(server, browser, tmp_path):
    base, citizen = server.base, server.citizen
    wait = WebDriverWait(browser, 20)
    service = f"{base}/layanan/dpmptsp-3314/REKLAME"

    browser.get(service)
    browser.find_element(By.ID, "masuk-ajukan").click()
    wait.until(ec.url_contains(f"{base}/masuk"))
    browser.find_element(By.ID, "tombol-sso").click()
    wait.until(ec.url_contains(f"{server.sso}/masuk"))
    _sign_up_and_in(browser, wait, server.sso, citizen)
    wait.until(ec.title_contains("Ajukan Permohonan"))

    # the NIB issued by OSS is held: no file asked for it; only what is missing is uploaded
    nib = browser.find_element(By.ID, "syarat-NIB")
    assert "Sudah dimiliki" in nib.text
    assert not browser.find_elements(By.NAME, "dokumen_NIB")
    for name, value in (("nama_usaha", "Toko Sukowati Asri"), ("alamat_usaha", "Jl. Raya Sukowati No. 12, Sragen"),
                        ("modal_usaha", "25000000"), ("lokasi_reklame", "Simpang Empat Pasar Bunder"),
                        ("ukuran_m2", "4,5")):
        browser.find_element(By.NAME, name).send_keys(value)
    scan = tmp_path / "dokumen.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    uploads = browser.find_elements(By.CSS_SELECTOR, "input[type=file]")
    assert uploads
    for field in uploads:
        field.send_keys(str(scan))
    browser.find_element(By.ID, "kirim-pengajuan").click()
    wait.until(ec.title_contains("Bukti Pengajuan"))
    reference = browser.find_element(By.ID, "nomor-pengajuan").text
    assert reference.startswith("MPP-") and citizen["nik"] not in browser.page_source

    # the dispatcher carries it to the regional office; the receipt shows at once in Lacak Permohonan
    bus = Bus.from_settings(server.bus_settings)
    try:
        assert bus.dispatch("dpmptsp-3314").delivered == 1
    finally:
        bus.store.dispose()
    browser.get(f"{base}/lacak")
    wait.until(ec.title_contains("Lacak Permohonan"))
    entry = browser.find_element(By.ID, f"pengajuan-{reference}")
    assert "terkirim" in entry.text
    number = entry.find_element(By.CSS_SELECTOR, ".nomor-instansi").text
    assert browser.find_elements(By.ID, f"permohonan-dpmptsp-3314-{number}")
