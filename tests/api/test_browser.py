"""End to end in a real headless Chromium (Debian's, driven by its chromedriver): sign in, track, search the catalog.

The API runs as its own process (``python -m mpp_bus.api``) on a free port over a seeded SQLite store, and is
stopped by its PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mpp_bus.store import create_store
from tests.api.seed import JWT_SECRET, SECRET, SITI, seed

CHROMIUM = os.environ.get("MPP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MPP_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
ROOT = Path(__file__).parents[2]

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


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[str, object]]:
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    store = create_store(url, upgrade=True)
    seeded = seed(store)
    store.dispose()
    port = _free_port()
    env = {**os.environ, "MPP_DATABASE_URL": url, "MPP_ENVIRONMENT": "test", "MPP_NIK_HMAC_SECRET": SECRET.decode(),
           "MPP_API_JWT_SECRET": JWT_SECRET, "MPP_AGENCIES_FILE": str(ROOT / "agencies.yaml")}
    log = (tmp_path / "api.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "mpp_bus.api", "--port", str(port), "--log-level", "warning"],
                               env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
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
        yield f"http://127.0.0.1:{port}", seeded
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


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


def test_a_citizen_signs_in_tracks_applications_and_searches_the_catalog(server, browser):
    base, seeded = server
    wait = WebDriverWait(browser, 15)

    browser.get(f"{base}/lacak")
    assert browser.current_url.startswith(f"{base}/masuk")
    assert "Silakan masuk" in browser.find_element(By.ID, "pesan").text

    browser.find_element(By.ID, "token").send_keys(seeded.token("siti", nik=SITI))
    browser.find_element(By.ID, "tombol-masuk").click()
    wait.until(ec.title_contains("Lacak Permohonan"))
    cards = browser.find_elements(By.CSS_SELECTOR, "article.permohonan")
    assert {c.find_element(By.CSS_SELECTOR, ".nomor").text for c in cards} == {"PRM-1", "DJP-1"}
    pbg = browser.find_element(By.ID, "permohonan-dpmptsp-3314-PRM-1")
    assert "Selesai" in pbg.find_element(By.CSS_SELECTOR, ".status").text
    assert "DPMPTSP Kabupaten Sragen" in pbg.find_element(By.CSS_SELECTOR, ".instansi").text
    assert "terakhir diperbarui" in pbg.find_element(By.CSS_SELECTOR, ".kesegaran").text
    pbg.find_element(By.CSS_SELECTOR, "details.riwayat summary").click()
    history = [li.text for li in pbg.find_elements(By.CSS_SELECTOR, "details.riwayat li")]
    assert [h.split(": ")[-1] for h in history] == ["diajukan", "diverifikasi", "selesai"]
    djp = browser.find_element(By.ID, "permohonan-djp-DJP-1")
    assert "Melewati batas waktu layanan" in djp.text
    assert "PRM-2" not in browser.page_source and SITI not in browser.page_source

    browser.find_element(By.LINK_TEXT, "Cari Layanan").click()
    wait.until(ec.title_contains("Cari Layanan"))
    browser.find_element(By.ID, "q").send_keys("bangunan")
    browser.find_element(By.ID, "tombol-cari").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "jumlah"), "1 layanan ditemukan"))
    browser.find_element(By.LINK_TEXT, "Persetujuan Bangunan Gedung").click()
    wait.until(ec.presence_of_element_located((By.ID, "persyaratan")))
    requirements = browser.find_element(By.ID, "persyaratan").text
    assert "KTP elektronik" in requirements and "Sertifikat tanah" in requirements

    browser.find_element(By.ID, "keluar").click()
    wait.until(ec.presence_of_element_located((By.ID, "pesan")))
    assert "Anda telah keluar" in browser.find_element(By.ID, "pesan").text
    browser.get(f"{base}/lacak")
    assert browser.current_url.startswith(f"{base}/masuk")
