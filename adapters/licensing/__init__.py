"""Business licensing, OSS style: REST over OAuth2 client credentials, one system serving many regional tenants."""

from __future__ import annotations

from adapters.licensing.adapter import LicensingAdapter, LicensingConfig

__all__ = ["LicensingAdapter", "LicensingConfig"]
