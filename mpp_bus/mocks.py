"""The mock agencies seen from the bus: a child process and its admin endpoints, reached over HTTP only.

The mock agencies stand for someone else's system and ship as their own distribution (``mpp-bus-mock-agencies``,
``pip install ./mock_agencies``), so the bus never imports them. The demo and the benchmark start
``python -m mock_agencies serve`` as a child process, read the URL each server prints when it is ready, call the admin
endpoints with requests and stop the child by its PID::

    with MockAgencyProcess(seed=2024, citizens=1000, applications=500) as mocks:
        advance(mocks.urls["tax"], "tax", 10)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from types import TracebackType
from typing import IO

import requests

AGENCIES = ("dukcapil", "licensing", "tax", "provinsi")
# The mock agencies' published demo admin token (``X-Admin-Token``); a real agency has no such endpoint.
ADMIN_TOKEN = "mock-admin"
# What ``python -m mock_agencies serve`` prints once a server accepts connections.
_READY = re.compile(r"^mock-agencies: (\w+) ready at (http://\S+)", re.MULTILINE)
_INSTALL_HINT = "the mock agencies are their own distribution: `pip install -e ./mock_agencies` from the repository"


class MockAgencyProcess:
    """``python -m mock_agencies serve`` in a child process for the duration of a ``with`` block.

    ports: agency -> port; an agency left out (or ``ports=None``) gets a free port chosen by the server itself,
    and ``urls`` holds the address each server printed when it was ready.
    """

    def __init__(self, ports: Mapping[str, int] | None = None, *, seed: int = 2024, citizens: int = 1000,
                 applications: int = 500, host: str = "127.0.0.1", rate_limit: float | None = None,
                 startup_timeout: float = 30.0, sso_port: int = 0) -> None:
        unknown = set(ports or {}) - set(AGENCIES)
        if unknown:
            raise ValueError(f"unknown agencies {sorted(unknown)}; known: {', '.join(AGENCIES)}")
        self.ports = {agency: (ports or {}).get(agency, 0) for agency in AGENCIES}
        self.host, self.seed, self.citizens, self.applications = host, seed, citizens, applications
        self.rate_limit = rate_limit
        # 0: a free port, like the agencies; a fixed default would collide with any other mock set running here.
        self.sso_port = sso_port
        self.startup_timeout = startup_timeout
        self.urls: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self._stdout: IO[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "mock_agencies", "serve", "--host", self.host,
               "--dukcapil-port", str(self.ports["dukcapil"]), "--licensing-port", str(self.ports["licensing"]),
               "--tax-port", str(self.ports["tax"]), "--provinsi-port", str(self.ports["provinsi"]),
               "--seed", str(self.seed), "--citizens", str(self.citizens),
               "--applications", str(self.applications)]
        if self.rate_limit is not None:
            cmd += ["--rate-limit", str(self.rate_limit)]
        cmd += ["--sso-port", str(self.sso_port)]
        return cmd

    def start(self) -> MockAgencyProcess:
        # Files, not pipes: a pipe nobody reads fills up and blocks the servers.
        self._stdout = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop(), outlives this method
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop(), outlives this method
        self.process = subprocess.Popen(self.command(), stdout=self._stdout, stderr=self._stderr)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None and self._stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            self._stdout.seek(0)
            self.urls = {m[1]: m[2] for m in _READY.finditer(self._stdout.read().decode(errors="replace"))}
            if set(self.urls) >= set(AGENCIES):
                return
            if self.process.poll() is not None:
                raise RuntimeError(self._exit_message())
            if time.monotonic() > deadline:
                missing = sorted(set(AGENCIES) - set(self.urls))
                raise TimeoutError(f"mock agencies not ready after {self.startup_timeout}s: {', '.join(missing)}")
            time.sleep(0.05)

    def _exit_message(self) -> str:
        assert self.process is not None and self._stderr is not None
        self._stderr.seek(0)
        err = self._stderr.read().decode(errors="replace")
        hint = f"; {_INSTALL_HINT}" if "No module named mock_agencies" in err else ""
        return f"mock agencies exited with code {self.process.returncode}{hint}: {err[-2000:]}"

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()  # SIGTERM to this PID only
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        for file in (self._stdout, self._stderr):
            if file is not None:
                file.close()
        self._stdout = self._stderr = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def __enter__(self) -> MockAgencyProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def advance(url: str, dataset: str, count: int, *, session: requests.Session | None = None,
            timeout: float = 10) -> list[str]:
    """Ask the mock agency at ``url`` to move ``count`` applications of ``dataset`` forward; returns their ids.

    ``dataset`` is a licensing tenant, or empty for an agency with one dataset (Dukcapil, tax).
    """
    body = {"dataset": dataset, "count": count}
    http = session or requests.Session()
    try:
        response = http.post(f"{url}/admin/advance", json=body, headers={"X-Admin-Token": ADMIN_TOKEN},
                             timeout=timeout)
        response.raise_for_status()
        return [str(i) for i in response.json()["advanced"]]
    finally:
        if session is None:
            http.close()
