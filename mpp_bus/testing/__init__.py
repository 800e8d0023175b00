"""The adapter test kit: the conformance suite, fake and replaying transports, the recorder and the network guards.

    from mpp_bus.testing import AdapterConformance      # subclass it in an adapter's test module
    from mpp_bus.testing import record                  # record an agency's responses for offline runs
    from mpp_bus.testing import FunctionTransport, session_for, no_network

Importing it needs pytest (a test dependency), not Airflow.
"""

from __future__ import annotations

from mpp_bus.testing.conformance import AdapterConformance
from mpp_bus.testing.guard import NetworkBlocked, loopback_only, no_network
from mpp_bus.testing.record import record
from mpp_bus.testing.scenarios import exercise, read_all
from mpp_bus.testing.transport import (
    UNREACHABLE_HOST,
    Cassette,
    FunctionTransport,
    RecordingTransport,
    ReplayTransport,
    Reply,
    Request,
    request_key,
    session_for,
)

__all__ = [
    "UNREACHABLE_HOST",
    "AdapterConformance",
    "Cassette",
    "FunctionTransport",
    "NetworkBlocked",
    "RecordingTransport",
    "ReplayTransport",
    "Reply",
    "Request",
    "exercise",
    "loopback_only",
    "no_network",
    "read_all",
    "record",
    "request_key",
    "session_for",
]
