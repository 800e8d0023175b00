"""Runnable stand-ins for the agency systems mpp-bus syncs from: Dukcapil (SOAP), licensing (REST, many tenants)
and tax (REST, another style). They stand for someone else's system and share no code with the bus.

Start all three with ``python -m mock_agencies serve``, or from Python::

    from mock_agencies import MockAgencies

    with MockAgencies(seed=2024, citizens=1000, applications=500) as mocks:
        print(mocks.urls["licensing"])
"""

from __future__ import annotations

from mock_agencies.launcher import AGENCIES, MockAgencies

__all__ = ["AGENCIES", "MockAgencies"]
