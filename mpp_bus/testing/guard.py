"""The network guard: inside it any real socket connection fails, so an offline test cannot quietly go online."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class NetworkBlocked(RuntimeError):
    """A test in offline mode tried to open a real connection."""


@contextmanager
def no_network() -> Iterator[None]:
    """Make ``socket.connect`` and ``socket.create_connection`` raise ``NetworkBlocked`` inside the block."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise NetworkBlocked("a real network connection in an offline test; use the recorded responses")

    saved = socket.socket.connect, socket.socket.connect_ex, socket.create_connection
    socket.socket.connect = refuse  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign,assignment]
    socket.create_connection = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection = saved  # type: ignore[method-assign]
