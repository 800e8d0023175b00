"""Start the mock agencies as a child process for tests and demos, and stop it again by its PID."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from types import TracebackType

AGENCIES = ("dukcapil", "licensing", "tax", "provinsi")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class MockAgencies:
    """Run `python -m mock_agencies serve` in a subprocess for the duration of a `with` block.

    Example::

        with MockAgencies(seed=7, citizens=500, applications=300, faults={"tax": "flaky"}) as mocks:
            requests.get(mocks.urls["tax"] + "/health")

    ports: None picks free ports; a dict maps agency -> port (missing agencies get free ports).
    faults: agency -> profile, optionally with options ("slow:delay=0.5", "flaky:rate=0.3").
    sso_port / sso_options: the SSO provider's port (free if None) and extra `--sso-*` flags for it.
    today: "YYYY-MM-DD" to pin the day the generated timeline ends on (tests); default today in WIB.
    """

    def __init__(self, ports: Mapping[str, int] | None = None, seed: int = 2024, citizens: int = 1000,
                 applications: int = 500, faults: Mapping[str, str] | None = None, host: str = "127.0.0.1",
                 token_ttl: int | None = None, rate_limit: float | None = None, startup_timeout: float = 30.0,
                 env: Mapping[str, str] | None = None, today: str | None = None, sso_port: int | None = None,
                 sso_options: Sequence[str] = ()) -> None:
        unknown = set(ports or {}) | set(faults or {})
        unknown -= set(AGENCIES)
        if unknown:
            raise ValueError(f"unknown agencies {sorted(unknown)}; known: {', '.join(AGENCIES)}")
        self.host = host
        self.ports: dict[str, int] = {a: (ports or {}).get(a) or free_port(host) for a in AGENCIES}
        self.urls: dict[str, str] = {a: f"http://{host}:{p}" for a, p in self.ports.items()}
        self.seed, self.citizens, self.applications = seed, citizens, applications
        self.faults = dict(faults or {})
        self.token_ttl, self.rate_limit = token_ttl, rate_limit
        self.today = today  # YYYY-MM-DD the generated timeline ends on; None: the child's MOCK_TODAY or its date
        # The SSO identity provider runs beside the agencies, not among them (it has no datasets or faults).
        self.sso_port = sso_port or free_port(host)
        self.sso_url = f"http://{host}:{self.sso_port}"
        self.sso_options = list(sso_options)
        self.startup_timeout = startup_timeout
        self.env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "mock_agencies", "serve", "--host", self.host,
               "--dukcapil-port", str(self.ports["dukcapil"]), "--licensing-port", str(self.ports["licensing"]),
               "--tax-port", str(self.ports["tax"]), "--provinsi-port", str(self.ports["provinsi"]),
               "--seed", str(self.seed), "--citizens", str(self.citizens),
               "--applications", str(self.applications)]
        if self.token_ttl is not None:
            cmd += ["--token-ttl", str(self.token_ttl)]
        if self.rate_limit is not None:
            cmd += ["--rate-limit", str(self.rate_limit)]
        cmd += ["--sso-port", str(self.sso_port), *self.sso_options]
        if self.today is not None:
            cmd += ["--today", self.today]
        if self.faults:
            cmd += ["--faults", *(f"{a}={p}" for a, p in self.faults.items())]
        return cmd

    def start(self) -> MockAgencies:
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        # a file, not a pipe: a pipe nobody reads fills up and blocks the servers
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop(), outlives this method
        self.process = subprocess.Popen(self.command(), env=env, stdout=subprocess.DEVNULL, stderr=self._stderr)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        pending = {*AGENCIES, "sso"}
        while pending:
            if self.process.poll() is not None:
                self._stderr.seek(0)
                err = self._stderr.read().decode(errors="replace")
                raise RuntimeError(f"mock agencies exited with code {self.process.returncode}: {err[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"mock agencies not healthy after {self.startup_timeout}s: {sorted(pending)}")
            for agency in sorted(pending):
                try:
                    url = self.sso_url if agency == "sso" else self.urls[agency]
                    with urllib.request.urlopen(url + "/health", timeout=1) as response:
                        if response.status == 200:
                            pending.discard(agency)
                except (urllib.error.URLError, OSError):
                    pass
            if pending:
                time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()  # SIGTERM to this PID only
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self._stderr.close()
        self.returncode = process.returncode

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def __enter__(self) -> MockAgencies:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
