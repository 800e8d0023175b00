"""The *MPP agencies* page in the real Airflow UI, in a headless Chromium (Debian's, driven by its chromedriver).

A real ``airflow api-server`` (SimpleAuthManager, an admin password file, SQLite metadata: the page needs neither a
scheduler nor a DAG processor) serves the UI and the bus's plugin over a migrated portal store. The admin signs in,
opens the page from the navigation and finds every configured agency with a link to its DAG. The server is stopped
by its PID.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mock_agencies.launcher import free_port
from mpp_bus.config import load_agencies

from .conftest import BIN, ROOT, airflow_env, run

CHROMIUM = os.environ.get("MPP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MPP_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
PASSWORD = "rahasia-admin-uji"
# An API server's start dominates: about 80 s on a loaded 2-core machine.
pytestmark = pytest.mark.slow
INSTANCES = [i for i in load_agencies(ROOT / "agencies.yaml") if i.enabled]

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _require_browser() -> None:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = f"Chromium ({CHROMIUM}) and chromedriver ({CHROMEDRIVER}) are needed: run `make browser`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def airflow_ui(tmp_path: Path) -> Iterator[str]:
    _require_browser()
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    (home / "passwords.json").write_text(json.dumps({"admin": PASSWORD}), encoding="utf-8")
    (home / "passwords.json").chmod(0o600)
    env = airflow_env(
        home, ROOT / "agencies.yaml", f"sqlite:///{tmp_path / 'portal.db'}",
        AIRFLOW__API__PORT=str(port), AIRFLOW__API__WORKERS="1",
        AIRFLOW__API_AUTH__JWT_SECRET="test-jwt-secret-of-at-least-32-bytes",
        AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
    )
    for command in ([str(BIN / "airflow"), "db", "migrate"], [str(BIN / "mpp-bus"), "db", "upgrade"]):
        done = run(command, env)
        assert done.returncode == 0, done.stdout[-3000:]
    log = (tmp_path / "api-server.log").open("wb")
    process = subprocess.Popen([str(BIN / "airflow"), "api-server", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/api/v2/monitor/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the API server did not start:\n"
                                     + (tmp_path / "api-server.log").read_text(errors="replace")[-4000:])
            time.sleep(0.5)
        yield base
    finally:
        # Its own process group: the server's workers go with it.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        log.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    _require_browser()
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def test_an_admin_signs_in_and_finds_the_agencies_page_in_the_airflow_ui(airflow_ui: str, browser: WebDriver) -> None:
    wait = WebDriverWait(browser, 60)
    browser.get(f"{airflow_ui}/")
    wait.until(ec.presence_of_element_located((By.NAME, "username"))).send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    # The plugin's view sits in the navigation's Browse menu.
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button[aria-label='Browse']"))).click()
    wait.until(ec.element_to_be_clickable((By.XPATH, "//*[@role='menuitem'][normalize-space()='MPP agencies'] | "
                                                     "//*[@role='menu']//a[normalize-space()='MPP agencies']"))).click()
    wait.until(lambda driver: "/plugin/mpp-agencies" in driver.current_url)

    # The UI shows the page in a frame: the plugin's own HTML, served under /mpp-bus behind Airflow's sign-in.
    frame = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "iframe[src*='/mpp-bus/agencies']")))
    browser.switch_to.frame(frame)
    wait.until(ec.presence_of_element_located((By.ID, "mpp-agencies")))
    rows = browser.find_elements(By.CSS_SELECTOR, "#mpp-agencies tbody tr")
    assert {row.get_attribute("data-agency") for row in rows} == {i.id for i in INSTANCES}
    for instance in INSTANCES:
        row = browser.find_element(By.CSS_SELECTOR, f"tr[data-agency='{instance.id}']")
        assert instance.name in row.text and "never" in row.text
        link = row.find_element(By.LINK_TEXT, f"mpp_sync__{instance.id}")
        assert link.get_attribute("href") == f"{airflow_ui}/dags/mpp_sync__{instance.id}"
    browser.switch_to.default_content()

    # Without a session the page is refused: it is for signed-in Airflow users only.
    assert requests.get(f"{airflow_ui}/mpp-bus/agencies", timeout=10).status_code in (401, 403)
