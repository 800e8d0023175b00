"""``mpp-bus new-adapter NAME``: a new agency adapter package that passes its own tests as generated.

The package holds the adapter on the SDK (config, streams, mapping), its status and vocabulary tables, the
conformance tests, a recorded-response fixture (made from ``example_agency``, no network) and the entry point.
"""

from __future__ import annotations

from mpp_bus.scaffold.generate import Scaffold, scaffold

__all__ = ["Scaffold", "scaffold"]
