"""Airflow tests: every one runs with its own AIRFLOW_HOME under a temporary folder.

Airflow reads AIRFLOW_HOME once, when it is first imported, so the in-process tests (DAG integrity) get a home for
the session, set here before anything imports Airflow; the tests that run Airflow commands give each command its
own home (``airflow_env``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

_SESSION_HOME = tempfile.mkdtemp(prefix="mpp-airflow-home-")
os.environ["AIRFLOW_HOME"] = _SESSION_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"

CONNECTIONS = {
    "AIRFLOW_CONN_MPP_DUKCAPIL": {"conn_type": "generic", "login": "mpp-bus", "password": "dukcapil-rahasia"},
    "AIRFLOW_CONN_MPP_LICENSING": {"conn_type": "generic", "login": "mpp-bus", "password": "oss-rahasia"},
    "AIRFLOW_CONN_MPP_TAX": {"conn_type": "generic", "password": "djp-rahasia"},
}


@pytest.fixture(scope="session", autouse=True)
def _remove_session_home() -> Iterator[None]:
    yield
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


def agencies_doc(urls: Mapping[str, str]) -> dict[str, object]:
    """The shipped instances, pointed at mocks on free ports, with fast transport retries."""
    fast = {"attempts": 2, "max_seconds": 5, "initial_wait": 0, "max_wait": 0.1, "jitter": 0}
    doc = yaml.safe_load((ROOT / "agencies.yaml").read_text(encoding="utf-8"))
    doc["defaults"] = {**doc.get("defaults", {}), "page_size": 100, "timeout_seconds": 5, "retry": fast}
    for agency in doc["agencies"]:
        config = agency["config"]
        if "wsdl_url" in config:
            config["wsdl_url"] = f"{urls['dukcapil']}/ws/dukcapil?wsdl"
        elif agency["adapter"] == "licensing":
            config["base_url"] = urls["licensing"]
        else:
            config["base_url"] = urls["tax"]
    return doc


def write_agencies(path: Path, urls: Mapping[str, str]) -> Path:
    path.write_text(yaml.safe_dump(agencies_doc(urls), sort_keys=False), encoding="utf-8")
    return path


def airflow_env(home: Path, agencies_file: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of an Airflow command: its own home and metadata database, the bus's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MPP_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "MPP_AGENCIES_FILE": str(agencies_file),
        "MPP_DATABASE_URL": database_url,
        "MPP_ENVIRONMENT": "test",
        "MPP_NIK_HMAC_SECRET": "test-secret-of-at-least-32-bytes-long",
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        **{k: json.dumps(v) for k, v in CONNECTIONS.items()},
    })
    env.update(extra)
    return env


def run(command: list[str], env: Mapping[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run a command to completion (its own process group, killed on timeout) and return its output."""
    with subprocess.Popen(command, env=dict(env), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, start_new_session=True) as process:
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            out, _ = process.communicate()
            raise AssertionError(f"{' '.join(command[:4])} timed out after {timeout} s:\n{out[-4000:]}") from None
    return subprocess.CompletedProcess(command, process.returncode, out, "")
