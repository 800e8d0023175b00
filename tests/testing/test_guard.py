"""The loopback guard: every test runs under it; beyond loopback a connection fails at once and nothing is sent."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mpp_bus.testing import NetworkBlocked, loopback_only
from mpp_bus.testing.guard import is_local


@pytest.fixture
def attempts() -> Iterator[list[Any]]:
    """Addresses that reached the real ``connect``: installed beneath a guard, it sees whatever the guard lets by."""
    seen: list[Any] = []
    real = socket.socket.connect

    def spy(self: socket.socket, address: Any) -> None:
        seen.append(address)
        return real(self, address)

    socket.socket.connect = spy  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        socket.socket.connect = real  # type: ignore[method-assign]


@pytest.mark.parametrize("address", ["10.255.255.1", "192.0.2.1", "2001:db8::1"])
def test_a_connection_beyond_loopback_fails_at_once_and_sends_nothing(attempts: list[Any], address: str) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with loopback_only() as refused, socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)  # a real attempt at a black-holed address would hang this long
        start = time.perf_counter()
        with pytest.raises(NetworkBlocked, match=f"a connection to {address} port 80: tests may reach only"):
            sock.connect((address, 80))
        with pytest.raises(NetworkBlocked):
            sock.connect_ex((address, 80))
    assert time.perf_counter() - start < 0.5
    assert attempts == [] and len(refused) == 2


def test_the_suite_runs_every_test_under_the_guard(network_guard: list[str]) -> None:
    with pytest.raises(NetworkBlocked, match="192.0.2.1"):
        socket.create_connection(("192.0.2.1", 443), timeout=10)
    # requests does not take the refusal for an agency that is down: it reaches the test as it is.
    with pytest.raises(NetworkBlocked):
        requests.get("http://10.255.255.1:8080/", timeout=10)
    assert len(network_guard) == 2
    network_guard.clear()  # refused on purpose: the guard would fail this test at teardown otherwise


def test_a_refusal_the_code_swallowed_is_still_reported() -> None:
    with loopback_only() as refused, contextlib.suppress(Exception):  # code under test that hides every error
        socket.create_connection(("10.255.255.1", 80), timeout=10)
    assert refused == ["a connection to 10.255.255.1 port 80"]


def test_a_dns_look_up_is_refused_before_a_resolver_is_asked() -> None:
    with loopback_only() as refused:
        with pytest.raises(NetworkBlocked, match="a DNS look-up of 'agency.example.org'"):
            socket.getaddrinfo("agency.example.org", 443)
        with pytest.raises(socket.gaierror):  # RFC 6761: never resolves, so no resolver is needed to say so
            socket.getaddrinfo("agency-down.invalid", 80)
    assert refused == ["a DNS look-up of 'agency.example.org'"]


def test_loopback_and_unix_sockets_stay_open(tmp_path: Any) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server, loopback_only() as refused:
        port = server.getsockname()[1]
        for host in ("127.0.0.1", "localhost"):
            with socket.create_connection((host, port), timeout=5):
                pass
        path = str(tmp_path / "s.sock")
        with socket.socket(socket.AF_UNIX) as listener, socket.socket(socket.AF_UNIX) as client:
            listener.bind(path)
            listener.listen()
            client.connect(path)
    assert refused == []


@pytest.mark.parametrize(("host", "local"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("::ffff:127.0.0.1", True),
    ("localhost", True), ("api.localhost", True), ("0.0.0.0", True),
    ("10.255.255.1", False), ("192.0.2.1", False), ("::ffff:192.0.2.1", False), ("example.org", False), (None, False),
])
def test_what_counts_as_loopback(host: Any, local: bool) -> None:
    assert is_local(host) is local
