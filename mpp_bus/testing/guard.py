"""Network guards for tests: ``no_network`` (any real connection fails: offline conformance runs) and
``loopback_only`` (only this machine's loopback may be reached: the test suite's autouse guard).

Both patch ``socket.socket.connect``/``connect_ex`` for the duration of a ``with`` block, so a refused connection
fails before a packet is sent, whatever library opened the socket (requests, zeep, redis, asyncio).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class NetworkBlocked(RuntimeError):
    """A test tried to open a connection its guard forbids (not an ``OSError``: no client may mistake it for an
    agency that is down and retry)."""


@contextmanager
def no_network() -> Iterator[None]:
    """Make ``socket.connect`` and ``socket.create_connection`` raise ``NetworkBlocked`` inside the block."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise NetworkBlocked("a real network connection in an offline test; use the recorded responses")

    saved = socket.socket.connect, socket.socket.connect_ex, socket.create_connection
    # setattr: the guard replaces the socket functions on purpose, for the length of the block.
    setattr(socket.socket, "connect", refuse)  # noqa: B010
    setattr(socket.socket, "connect_ex", refuse)  # noqa: B010
    setattr(socket, "create_connection", refuse)  # noqa: B010
    try:
        yield
    finally:
        for owner, name, original in zip((socket.socket, socket.socket, socket), ("connect", "connect_ex",
                                         "create_connection"), saved, strict=True):
            setattr(owner, name, original)


LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_INET = (socket.AF_INET, socket.AF_INET6)


def is_local(host: object) -> bool:
    """True for a loopback address (127.0.0.0/8, ::1, also IPv4-mapped), an unspecified one (0.0.0.0, ::: a bind,
    or a connect that Linux sends to loopback) and the names of loopback (``localhost``, ``*.localhost``)."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    address = _ip(name)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is not part of the address
    except ValueError:
        return None


@contextmanager
def loopback_only(refused: list[str] | None = None) -> Iterator[list[str]]:
    """Inside the block a connection to anything but loopback (or a unix socket) raises ``NetworkBlocked`` before
    it is attempted, and so does a name lookup that would ask a DNS server: only loopback names, IP literals and
    this host's own name are resolved. Names under ``.invalid`` (RFC 6761: they never resolve) fail as a resolver
    would, with ``socket.gaierror``, without asking one. Every refusal is also appended to ``refused`` (yielded),
    so a caller can fail a test whose code swallowed the error.

    Example::

        with loopback_only() as refused:
            socket.create_connection(("192.0.2.1", 80))   # NetworkBlocked: nothing is sent
    """
    seen: list[str] = refused if refused is not None else []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo
    own_name = socket.gethostname().lower()

    def refuse(what: str) -> NetworkBlocked:
        seen.append(what)
        return NetworkBlocked(f"{what}: tests may reach only this machine's loopback (127.0.0.0/8, ::1, localhost, "
                              f"unix sockets); pass a fake or recorded transport in (mpp_bus.testing.session_for) "
                              f"or serve the agency on 127.0.0.1")

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in _INET and isinstance(address, tuple) and address and not is_local(address[0]):
            raise refuse(f"a connection to {address[0]} port {address[1] if len(address) > 1 else '?'}")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        if name is None or name == "" or is_local(name):  # no host: a wildcard bind
            return real_getaddrinfo(host, *args, **kwargs)
        name = str(name).strip("[]").lower().rstrip(".")
        if _ip(name) is not None or name == own_name:  # no resolver is asked; connect() checks the address
            return real_getaddrinfo(host, *args, **kwargs)
        if name == "invalid" or name.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        raise refuse(f"a DNS look-up of {name!r}")

    # setattr: the same calls, checked first, for the length of the block.
    setattr(socket.socket, "connect", connect)  # noqa: B010
    setattr(socket.socket, "connect_ex", connect_ex)  # noqa: B010
    socket.getaddrinfo = getaddrinfo
    try:
        yield seen
    finally:
        setattr(socket.socket, "connect", real_connect)  # noqa: B010
        setattr(socket.socket, "connect_ex", real_connect_ex)  # noqa: B010
        socket.getaddrinfo = real_getaddrinfo
